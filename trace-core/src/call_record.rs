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

/// Token usage and response details of a language-model response. A `#[trace_llm_call]`
/// function whose return value (or `Ok` value) implements it records, in the event's
/// metadata, each detail the response has, under its OpenTelemetry GenAI name:
///
/// | method | metadata key |
/// |---|---|
/// | `input_tokens` | `gen_ai.usage.input_tokens` |
/// | `output_tokens` | `gen_ai.usage.output_tokens` |
/// | `cache_read_input_tokens` | `gen_ai.usage.cache_read.input_tokens` |
/// | `cache_creation_input_tokens` | `gen_ai.usage.cache_creation.input_tokens` |
/// | `reasoning_tokens` | `gen_ai.usage.reasoning.output_tokens` |
/// | `response_model` | `gen_ai.response.model` |
/// | `response_id` | `gen_ai.response.id` |
/// | `finish_reasons` | `gen_ai.response.finish_reasons` (an array) |
///
/// Only the token counts are required; the rest default to nothing. A method that panics
/// records nothing of its own.
///
/// ```
/// use agent_trace::LlmUsage;
/// struct Completion { id: String, prompt_tokens: u64, cached: u64, completion_tokens: u64 }
/// impl LlmUsage for Completion {
///     fn input_tokens(&self) -> Option<u64> { Some(self.prompt_tokens) }
///     fn output_tokens(&self) -> Option<u64> { Some(self.completion_tokens) }
///     fn cache_read_input_tokens(&self) -> Option<u64> { Some(self.cached) }
///     fn response_id(&self) -> Option<&str> { Some(&self.id) }
///     fn finish_reasons(&self) -> Vec<&str> { vec!["stop"] }
/// }
/// ```
pub trait LlmUsage {
    /// Tokens in the prompt.
    fn input_tokens(&self) -> Option<u64>;
    /// Tokens in the completion.
    fn output_tokens(&self) -> Option<u64>;
    /// Prompt tokens served from the provider's cache (included in `input_tokens`).
    fn cache_read_input_tokens(&self) -> Option<u64> {
        None
    }
    /// Prompt tokens written to the provider's cache (included in `input_tokens`).
    fn cache_creation_input_tokens(&self) -> Option<u64> {
        None
    }
    /// Completion tokens spent on reasoning (included in `output_tokens`).
    fn reasoning_tokens(&self) -> Option<u64> {
        None
    }
    /// The model that answered, as the provider names it.
    fn response_model(&self) -> Option<&str> {
        None
    }
    /// The provider's id of the response.
    fn response_id(&self) -> Option<&str> {
        None
    }
    /// Why the model stopped, one reason a choice (`"stop"`, `"length"`, `"tool_calls"`).
    fn finish_reasons(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// The parameters of a language-model request. A `#[trace_llm_call]` function records, in
/// the event's metadata, each parameter an argument of a type implementing it gives (the
/// receiver included: a client that holds its settings), under its OpenTelemetry GenAI
/// name:
///
/// | method | metadata key |
/// |---|---|
/// | `model` | `gen_ai.request.model` |
/// | `temperature` | `gen_ai.request.temperature` |
/// | `max_tokens` | `gen_ai.request.max_tokens` |
/// | `top_p` | `gen_ai.request.top_p` |
/// | `top_k` | `gen_ai.request.top_k` |
/// | `frequency_penalty` | `gen_ai.request.frequency_penalty` |
/// | `presence_penalty` | `gen_ai.request.presence_penalty` |
/// | `stop_sequences` | `gen_ai.request.stop_sequences` (an array) |
/// | `seed` | `gen_ai.request.seed` |
/// | `stream` | `gen_ai.request.stream` |
///
/// Every method defaults to nothing. A method that panics records nothing of its own. The
/// options given on the attribute (`model = ..`) are recorded first; an argument's own
/// model replaces them.
///
/// ```
/// use agent_trace::LlmRequest;
/// struct ChatRequest { model: String, temperature: f32, max_tokens: u32 }
/// impl LlmRequest for ChatRequest {
///     fn model(&self) -> Option<&str> { Some(&self.model) }
///     fn temperature(&self) -> Option<f64> { Some(f64::from(self.temperature)) }
///     fn max_tokens(&self) -> Option<u64> { Some(u64::from(self.max_tokens)) }
/// }
/// ```
pub trait LlmRequest {
    /// The model asked for.
    fn model(&self) -> Option<&str> {
        None
    }
    /// The sampling temperature.
    fn temperature(&self) -> Option<f64> {
        None
    }
    /// The most tokens the response may have.
    fn max_tokens(&self) -> Option<u64> {
        None
    }
    /// Nucleus sampling's probability mass.
    fn top_p(&self) -> Option<f64> {
        None
    }
    /// Top-k sampling's k.
    fn top_k(&self) -> Option<u64> {
        None
    }
    /// The frequency penalty.
    fn frequency_penalty(&self) -> Option<f64> {
        None
    }
    /// The presence penalty.
    fn presence_penalty(&self) -> Option<f64> {
        None
    }
    /// The sequences that stop the generation.
    fn stop_sequences(&self) -> Vec<&str> {
        Vec::new()
    }
    /// The seed asked for.
    fn seed(&self) -> Option<i64> {
        None
    }
    /// Whether the response is asked for as a stream.
    fn stream(&self) -> Option<bool> {
        None
    }
}

impl<T: LlmRequest + ?Sized> LlmRequest for &T {
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn temperature(&self) -> Option<f64> {
        (**self).temperature()
    }
    fn max_tokens(&self) -> Option<u64> {
        (**self).max_tokens()
    }
    fn top_p(&self) -> Option<f64> {
        (**self).top_p()
    }
    fn top_k(&self) -> Option<u64> {
        (**self).top_k()
    }
    fn frequency_penalty(&self) -> Option<f64> {
        (**self).frequency_penalty()
    }
    fn presence_penalty(&self) -> Option<f64> {
        (**self).presence_penalty()
    }
    fn stop_sequences(&self) -> Vec<&str> {
        (**self).stop_sequences()
    }
    fn seed(&self) -> Option<i64> {
        (**self).seed()
    }
    fn stream(&self) -> Option<bool> {
        (**self).stream()
    }
}

/// How the items of a traced function's stream (or iterator) add up to the call's output,
/// for a function that names it with `accumulate = Type`. Without it, text items (and the
/// `Ok` texts of `Result` items) are concatenated and any other item is kept in a list.
///
/// The accumulator starts as its `Default`, is handed every item the stream yields while the
/// call is open, and its `output` is captured, under the capture policy, when the call ends
/// — also when the stream is dropped early (the output of the items so far). A `push` or
/// `output` that panics ends the accumulation there, with the panic's message as the output.
///
/// ```
/// use agent_trace::Accumulate;
///
/// struct Delta { text: String, done: bool }
///
/// /// The text of the deltas and whether the last one said it was done.
/// #[derive(Default)]
/// struct Reply { text: String, done: bool }
///
/// impl Accumulate<Delta> for Reply {
///     type Output = (String, bool);
///     fn push(&mut self, delta: &Delta) {
///         self.text.push_str(&delta.text);
///         self.done = delta.done;
///     }
///     fn output(&self) -> (String, bool) {
///         (self.text.clone(), self.done)
///     }
/// }
///
/// let mut reply = Reply::default();
/// reply.push(&Delta { text: "Hel".into(), done: false });
/// reply.push(&Delta { text: "lo".into(), done: true });
/// assert_eq!(reply.output(), ("Hello".to_owned(), true));
/// ```
pub trait Accumulate<Item: ?Sized>: Default {
    /// What the items amount to.
    type Output: serde::Serialize;
    /// Takes in one item.
    fn push(&mut self, item: &Item);
    /// What the items so far amount to.
    fn output(&self) -> Self::Output;
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
    /// Input tokens served from the provider's cache.
    pub const CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// Input tokens written to the provider's cache.
    pub const CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Output tokens spent on reasoning.
    pub const REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// The model that answered.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// The provider's id of the response.
    pub const RESPONSE_ID: &str = "gen_ai.response.id";
    /// Why the model stopped, one reason a choice.
    pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// The sampling temperature asked for.
    pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
    /// The most tokens the response may have.
    pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    /// Nucleus sampling's probability mass.
    pub const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
    /// Top-k sampling's k.
    pub const REQUEST_TOP_K: &str = "gen_ai.request.top_k";
    /// The frequency penalty.
    pub const REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
    /// The presence penalty.
    pub const REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
    /// The sequences that stop the generation.
    pub const REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
    /// The seed asked for.
    pub const REQUEST_SEED: &str = "gen_ai.request.seed";
    /// Whether the response was asked for, or read, as a stream.
    pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
    /// Seconds from the call to the first item of its streamed response.
    pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
}

/// The metadata keys a call that returned a stream (or an iterator) records about its items.
pub mod stream_keys {
    /// How many items the stream yielded while the call was open.
    pub const ITEMS: &str = "stream.items";
    /// How many of them were `Err` items.
    pub const ERROR_ITEMS: &str = "stream.error_items";
    /// The items themselves, for a replay to give back (functions that replay):
    /// `[{"ok": value} | {"err": error}, …]`, or the truncation marker past the capture
    /// policy's value limit.
    pub const REPLAY_ITEMS: &str = "stream.replay_items";
}
