//! What a language-model call records of its request ([`LlmRequest`]) and its response
//! ([`LlmUsage`]): each detail the user's impl gives, under its GenAI key — one reading for
//! the attribute macros and for [`current_call`](crate::current_call).

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use trace_core::{CapturePolicy, LlmRequest, LlmUsage, genai_keys};

/// Reads the details of a user's impl, each guarded: a method that panics gives nothing.
/// Numbers are recorded as they are; texts are captured under the policy, as any value is.
struct Details<'a, F: FnMut(&'static str, Value)> {
    policy: &'a CapturePolicy,
    put: F,
}

impl<F: FnMut(&'static str, Value)> Details<'_, F> {
    fn number(&mut self, key: &'static str, read: impl FnOnce() -> Option<Value>) {
        if let Ok(Some(value)) = catch_unwind(AssertUnwindSafe(read)) {
            (self.put)(key, value);
        }
    }

    fn text(&mut self, key: &'static str, read: impl FnOnce() -> Option<Value>) {
        if let Ok(Some(value)) = catch_unwind(AssertUnwindSafe(read)) {
            let value = crate::capture::capture_value(self.policy, key, &value);
            (self.put)(key, value);
        }
    }
}

fn texts(list: Vec<&str>) -> Option<Value> {
    (!list.is_empty()).then(|| Value::from(list))
}

/// Hands `put` each detail of a response's usage.
pub(crate) fn usage_details<T: LlmUsage + ?Sized>(
    usage: &T,
    policy: &CapturePolicy,
    put: impl FnMut(&'static str, Value),
) {
    let mut details = Details { policy, put };
    details.number(genai_keys::INPUT_TOKENS, || usage.input_tokens().map(Value::from));
    details.number(genai_keys::OUTPUT_TOKENS, || usage.output_tokens().map(Value::from));
    details.number(genai_keys::CACHE_READ_INPUT_TOKENS, || {
        usage.cache_read_input_tokens().map(Value::from)
    });
    details.number(genai_keys::CACHE_CREATION_INPUT_TOKENS, || {
        usage.cache_creation_input_tokens().map(Value::from)
    });
    details.number(genai_keys::REASONING_OUTPUT_TOKENS, || {
        usage.reasoning_tokens().map(Value::from)
    });
    details.text(genai_keys::RESPONSE_MODEL, || usage.response_model().map(Value::from));
    details.text(genai_keys::RESPONSE_ID, || usage.response_id().map(Value::from));
    details.text(genai_keys::RESPONSE_FINISH_REASONS, || texts(usage.finish_reasons()));
}

/// Hands `put` each parameter of a request.
pub(crate) fn request_details<T: LlmRequest + ?Sized>(
    request: &T,
    policy: &CapturePolicy,
    put: impl FnMut(&'static str, Value),
) {
    let mut details = Details { policy, put };
    details.text(genai_keys::REQUEST_MODEL, || request.model().map(Value::from));
    details.number(genai_keys::REQUEST_TEMPERATURE, || {
        request.temperature().map(Value::from)
    });
    details.number(genai_keys::REQUEST_MAX_TOKENS, || request.max_tokens().map(Value::from));
    details.number(genai_keys::REQUEST_TOP_P, || request.top_p().map(Value::from));
    details.number(genai_keys::REQUEST_TOP_K, || request.top_k().map(Value::from));
    details.number(genai_keys::REQUEST_FREQUENCY_PENALTY, || {
        request.frequency_penalty().map(Value::from)
    });
    details.number(genai_keys::REQUEST_PRESENCE_PENALTY, || {
        request.presence_penalty().map(Value::from)
    });
    details.text(genai_keys::REQUEST_STOP_SEQUENCES, || texts(request.stop_sequences()));
    details.number(genai_keys::REQUEST_SEED, || request.seed().map(Value::from));
    details.number(genai_keys::REQUEST_STREAM, || request.stream().map(Value::from));
}
