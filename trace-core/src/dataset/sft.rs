//! Chat-format records for supervised fine-tuning: one per LLM call, or one per session.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ancestry, Skipped};
use crate::{Event, EventKind, Outcome, SessionTrace, chat};

/// What a fine-tuning record is made of: one LLM call, or a whole session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Per {
    /// One record per LLM call: its input messages, then its output message.
    #[default]
    Call,
    /// One record per session: the conversation of its LLM calls in order.
    Session,
}

/// A chat-format record for supervised fine-tuning: the messages, and where they come from.
///
/// Serialized as `{"messages": [...], "metadata": {...}}`, the shape fine-tuning tools read
/// (`messages` is a list of `{"role", "content", …}` objects).
///
/// ```
/// use agent_trace::dataset::{self, Per};
/// use agent_trace::{Event, EventKind, SessionTracer};
///
/// let session = SessionTracer::default().start_session();
/// session.record_event(
///     Event::builder(EventKind::Llm, "agent", "complete").input("prompt", "Capital of France?").output("Paris"),
/// )?;
/// let trace = session.end()?;
/// let (records, skipped) = dataset::sft_records(&trace, Per::Call);
/// assert_eq!(records[0].messages[0], serde_json::json!({"role": "user", "content": "Capital of France?"}));
/// assert_eq!(records[0].messages[1], serde_json::json!({"role": "assistant", "content": "Paris"}));
/// assert_eq!(skipped.total(), 0);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRecord {
    /// The conversation: input messages, then the model's answers.
    pub messages: Vec<Value>,
    /// Where the messages come from.
    pub metadata: SftSource,
}

/// Where an [`SftRecord`] comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftSource {
    /// The session.
    pub session_id: String,
    /// The ids of the LLM calls whose messages the record holds, in order.
    pub events: Vec<u64>,
    /// The models that answered them (`gen_ai.response.model`, else `gen_ai.request.model`),
    /// each once, in order of first use.
    pub models: Vec<String>,
    /// The turn of the call (for a record of one call made on a turn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// One LLM call read as chat: its input messages and its output message.
struct ChatCall<'a> {
    event: &'a Event,
    inputs: Vec<Cow<'a, Value>>,
    output: Cow<'a, Value>,
}

/// The LLM calls that read as chat, in id order, and the ones that did not, counted.
/// An LLM call made inside another is part of it: only outermost calls count.
fn chat_calls(trace: &SessionTrace) -> (Vec<ChatCall<'_>>, Skipped) {
    let events: &[Event] = &trace.events;
    let ancestry = Ancestry::of(events);
    let mut skipped = Skipped::default();
    let mut calls = Vec::new();
    for event in events {
        if event.kind != EventKind::Llm || ancestry.inside(event, &EventKind::Llm) {
            continue;
        }
        if event.outcome != Outcome::Ok {
            skipped.failed_calls += 1;
            continue;
        }
        let held = chat::held_messages(&event.inputs);
        // A value cut or not captured could have been a message: the call is incomplete,
        // whether or not a message was found beside it.
        let (inputs, incomplete) = if held.is_empty() {
            let incomplete = event.inputs.values().any(chat::is_incomplete);
            (chat::text_messages(&event.inputs), incomplete)
        } else {
            let incomplete = held.iter().any(|message| chat::is_incomplete(message));
            (held, incomplete)
        };
        let incomplete = incomplete || event.output.as_ref().is_some_and(chat::is_incomplete);
        let output = event.output.as_ref().and_then(chat::output_message);
        if incomplete {
            skipped.incomplete_calls += 1;
            continue;
        }
        if inputs.is_empty() {
            skipped.calls_without_input += 1;
            continue;
        }
        let Some(output) = output else {
            skipped.calls_without_output += 1;
            continue;
        };
        calls.push(ChatCall { event, inputs, output });
    }
    (calls, skipped)
}

fn source(trace: &SessionTrace, calls: &[ChatCall<'_>], turn: Option<u32>) -> SftSource {
    let mut models: Vec<String> = Vec::new();
    for model in calls
        .iter()
        .filter_map(|call| crate::totals::named_model(&call.event.metadata))
    {
        if !models.iter().any(|known| known == model) {
            models.push(model.to_owned());
        }
    }
    SftSource {
        session_id: trace.session_id.clone(),
        events: calls.iter().map(|call| call.event.id).collect(),
        models,
        turn,
    }
}

/// The fine-tuning records of a session, and the LLM calls that gave none, counted.
///
/// The messages are read from each LLM event's inputs and output in the chat-message shape
/// (docs/sessions.md, "Datasets"): a message is an object with a string `role` and a
/// `content`; the inputs' messages are the arguments that are messages, lists of them or
/// requests with `messages`, by argument name, else the text arguments (first a `system`
/// message for an argument named `system`, `system_prompt` or `instructions`, then a
/// `user` message for each other); the output is a
/// message, a response's `message` (or its first `choices` entry's), or text, taken as an
/// `assistant` message. A call that did not end `Ok`, whose inputs or output hold no
/// message, or whose messages hold a value capture did not keep whole (cut at the capture
/// limits, not serializable) gives no record; an LLM call inside another is part of it.
///
/// With [`Per::Session`], the record is the conversation of the session's calls in order:
/// each call adds its input messages after the longest start of them that the conversation
/// already begins with (a call that re-sends the history adds only what is new; a leading
/// system prompt sent each time stays once), then its output message.
pub fn sft_records(trace: &SessionTrace, per: Per) -> (Vec<SftRecord>, Skipped) {
    let (calls, mut skipped) = chat_calls(trace);
    let records = match per {
        Per::Call => calls
            .iter()
            .map(|call| {
                let mut messages: Vec<Value> = call.inputs.iter().map(|message| message.clone().into_owned()).collect();
                messages.push(call.output.clone().into_owned());
                SftRecord {
                    messages,
                    metadata: source(trace, std::slice::from_ref(call), call.event.turn),
                }
            })
            .collect(),
        Per::Session if calls.is_empty() => Vec::new(),
        Per::Session => {
            let mut messages: Vec<Value> = Vec::new();
            for call in &calls {
                let known = call
                    .inputs
                    .iter()
                    .zip(&messages)
                    .take_while(|(input, message)| input.as_ref() == *message)
                    .count();
                messages.extend(call.inputs[known..].iter().map(|message| message.clone().into_owned()));
                messages.push(call.output.clone().into_owned());
            }
            vec![SftRecord {
                messages,
                metadata: source(trace, &calls, None),
            }]
        }
    };
    if records.is_empty() {
        skipped.empty_sessions += 1;
    }
    (records, skipped)
}
