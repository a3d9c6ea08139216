//! [`CallRecord`] and [`LlmUsage`]: what the functions named in a macro's options see.

use std::time::Duration;

use serde_json::Value;

use crate::{ErrorRecord, Event, EventKind, Map, Outcome};

/// The event a traced function is recording, as seen by the functions named in the
/// macro's `metadata = …` and `message = …` options.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    event: &'a Event,
}

impl<'a> CallRecord<'a> {
    /// A view of `event`.
    pub fn new(event: &'a Event) -> Self {
        CallRecord { event }
    }

    /// The event's kind.
    pub fn kind(&self) -> &'a EventKind {
        &self.event.kind
    }

    /// The event's system id.
    pub fn system_id(&self) -> &'a str {
        &self.event.system_id
    }

    /// The event's name.
    pub fn name(&self) -> &'a str {
        &self.event.name
    }

    /// The captured arguments.
    pub fn inputs(&self) -> &'a Map {
        &self.event.inputs
    }

    /// The captured return value.
    pub fn output(&self) -> Option<&'a Value> {
        self.event.output.as_ref()
    }

    /// The error, when the call failed.
    pub fn error(&self) -> Option<&'a ErrorRecord> {
        self.event.error.as_ref()
    }

    /// How the call ended.
    pub fn outcome(&self) -> Outcome {
        self.event.outcome
    }

    /// How long the call took.
    pub fn duration(&self) -> Duration {
        self.event.duration
    }
}

/// Token usage of a language-model response. A `#[trace_llm_call]` function whose return
/// value (or `Ok` value) implements it records `gen_ai.usage.input_tokens` and
/// `gen_ai.usage.output_tokens` in the event's metadata.
///
/// ```
/// use agent_trace::LlmUsage;
/// struct Completion { text: String, prompt_tokens: u64, completion_tokens: u64 }
/// impl LlmUsage for Completion {
///     fn input_tokens(&self) -> Option<u64> { Some(self.prompt_tokens) }
///     fn output_tokens(&self) -> Option<u64> { Some(self.completion_tokens) }
/// }
/// ```
pub trait LlmUsage {
    /// Tokens in the prompt.
    fn input_tokens(&self) -> Option<u64>;
    /// Tokens in the completion.
    fn output_tokens(&self) -> Option<u64>;
}

/// The metadata keys a call records about a language model (OpenTelemetry GenAI names):
/// one home for the writers (attribute options, `current_call()`, `LlmUsage`) and the
/// OTLP export that reads them.
pub mod genai_keys {
    /// The model the call asked for.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// The provider of the model.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// Input (prompt) tokens.
    pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output (completion) tokens.
    pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
}
