//! [`current_call`]: the traced call the code runs in, for the body to add to its own event
//! (as `tracing`'s `Span::current().record(..)` does).

use serde::Serialize;
use serde_json::Value;
use trace_core::{LlmRequest, LlmUsage, Reward, genai_keys};

use crate::context::with_frame;
use crate::error::TraceError;
use crate::session::Session;

/// The traced call the current code runs in — the innermost call of the task (a traced
/// function's body, or a span opened by hand) — for the body to record into its own event:
/// metadata, the model or token usage when only the body knows them, a reward. Outside a scope,
/// or in a scope outside any call, every method does nothing.
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, current_call, trace_llm_call};
///
/// #[trace_llm_call]
/// fn complete(prompt: &str) -> String {
///     let call = current_call();
///     call.set_model("gpt-5-mini"); // known only once the client has picked it
///     call.record("prompt_chars", prompt.len());
///     call.set_usage(Some(12), Some(3));
///     "Paris".to_owned()
/// }
///
/// let session = SessionTracer::default().start_session();
/// TracerContext::new(&session).sync_scope(|| complete("Capital of France?"));
/// let trace = session.end()?;
/// let event = &trace.events[0];
/// assert_eq!(event.metadata["gen_ai.request.model"], "gpt-5-mini");
/// assert_eq!(event.metadata["prompt_chars"], 18);
/// assert_eq!(event.metadata["gen_ai.usage.output_tokens"], 3);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
pub fn current_call() -> CurrentCall {
    let target = with_frame(|frame| frame.parent.get().map(|id| (frame.session.clone(), id))).flatten();
    CurrentCall { target }
}

/// A handle on the call the code runs in ([`current_call`]).
#[derive(Debug, Clone)]
#[must_use = "a handle records only what its methods are given"]
pub struct CurrentCall {
    target: Option<(Session, u64)>,
}

impl CurrentCall {
    /// Whether there is a call to record into.
    pub fn is_recording(&self) -> bool {
        self.target.is_some()
    }

    /// Records `key: value` in the call's metadata (replacing an entry of the same key),
    /// captured under the tracer's capture policy.
    pub fn record(&self, key: impl Into<String>, value: impl Serialize) {
        if let Some((session, id)) = &self.target {
            let key = key.into();
            let value = crate::capture::capture_value(session.policy(), &key, &value);
            session.note_for_call(*id, key, value);
        }
    }

    /// Sets the model the call asked (`gen_ai.request.model`).
    pub fn set_model(&self, model: &str) {
        self.set(genai_keys::REQUEST_MODEL, Value::from(model));
    }

    /// Sets the call's token usage (`gen_ai.usage.input_tokens` / `output_tokens`).
    pub fn set_usage(&self, input_tokens: Option<u64>, output_tokens: Option<u64>) {
        if let Some(tokens) = input_tokens {
            self.set(genai_keys::INPUT_TOKENS, Value::from(tokens));
        }
        if let Some(tokens) = output_tokens {
            self.set(genai_keys::OUTPUT_TOKENS, Value::from(tokens));
        }
    }

    /// Records each detail of a response's usage under its GenAI key, as a
    /// `#[trace_llm_call]` function's return value does ([`LlmUsage`]).
    pub fn record_usage(&self, usage: &impl LlmUsage) {
        if let Some((session, id)) = &self.target {
            crate::call::usage_details(usage, session.policy(), |key, value| {
                session.note_for_call(*id, key.to_owned(), value);
            });
        }
    }

    /// Records each parameter of a request under its GenAI key, as a `#[trace_llm_call]`
    /// function's argument does ([`LlmRequest`]).
    pub fn record_request(&self, request: &impl LlmRequest) {
        if let Some((session, id)) = &self.target {
            crate::call::request_details(request, session.policy(), |key, value| {
                session.note_for_call(*id, key.to_owned(), value);
            });
        }
    }

    /// Gives the call's event a reward: what the body measured, such as an environment
    /// step's reward (as `Session::record_reward` with `Reward::for_event` does; a value that
    /// is not finite is refused). Outside a call it does nothing.
    ///
    /// ```
    /// use agent_trace::{SessionTracer, TracerContext, current_call, trace_env};
    ///
    /// #[trace_env]
    /// fn step(action: &str) -> &'static str {
    ///     let reward = if action == "collect" { 1.0 } else { 0.0 };
    ///     current_call().record_reward("step", reward).expect("a finite reward");
    ///     "collected"
    /// }
    ///
    /// let session = SessionTracer::default().start_session();
    /// TracerContext::new(&session).sync_scope(|| step("collect"));
    /// let trace = session.end()?;
    /// assert_eq!(trace.rewards[0].event, Some(trace.events[0].id));
    /// assert_eq!(trace.rewards[0].value, 1.0);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn record_reward(&self, name: impl Into<String>, value: f64) -> Result<(), TraceError> {
        match &self.target {
            Some((session, id)) => session.record_reward(Reward::for_event(*id, name, value)),
            None => Ok(()),
        }
    }

    fn set(&self, key: &str, value: Value) {
        if let Some((session, id)) = &self.target {
            session.note_for_call(*id, key.to_owned(), value);
        }
    }
}
