//! A `tracing` span that follows the OpenTelemetry GenAI conventions (it has a
//! `gen_ai.operation.name`), read as the event our own attributes would record: its kind
//! from the operation, named by the agent, tool or model, its arguments and input messages
//! as inputs, its result or output messages as its output, usage and the other `gen_ai.*`
//! fields in metadata under the same keys, and its outcome from `otel.status_code`,
//! `error.type` (`gen_ai.tool.error.type`) or `gen_ai.tool.call.outcome`.

use std::borrow::Cow;

use serde_json::Value;
use trace_core::{ErrorRecord, EventKind, Map};

use super::record_inputs;
use crate::call::Call;
use crate::capture::Source;

/// The operation name's field.
const OPERATION: &str = "gen_ai.operation.name";

/// The event kind of a span's GenAI operation; `None` for a span that has none.
pub(super) fn kind_of(fields: &Map) -> Option<EventKind> {
    let operation = fields.get(OPERATION)?.as_str()?;
    Some(match operation {
        "chat" | "text_completion" | "generate_content" | "embeddings" => EventKind::Llm,
        "execute_tool" => EventKind::Tool,
        "invoke_agent" | "create_agent" => EventKind::Agent,
        _ => EventKind::Runtime,
    })
}

/// The name a GenAI span's event takes: its agent's, tool's or model's, else `otel.name`.
pub(super) fn name_of(kind: &EventKind, fields: &Map) -> Option<String> {
    let text = |key: &str| fields.get(key).and_then(Value::as_str).filter(|text| !text.is_empty());
    let named = match kind {
        EventKind::Agent => text("gen_ai.agent.name"),
        EventKind::Tool => text("gen_ai.tool.name"),
        EventKind::Llm => text("gen_ai.request.model").or_else(|| text("gen_ai.response.model")),
        _ => text("gen_ai.workflow.name").or_else(|| text("gen_ai.agent.name")),
    };
    named.or_else(|| text("otel.name")).map(str::to_owned)
}

/// Ends the call of a GenAI span with its fields put where our attributes put them.
pub(super) fn finish(mut call: Call, span_name: &str, mut fields: Map) {
    let kind = kind_of(&fields).unwrap_or(EventKind::Runtime);
    let name = name_of(&kind, &fields).unwrap_or_else(|| span_name.to_owned());
    call.rekind(Some(kind), Some(Cow::Owned(name)));

    let error = error_of(&mut fields);
    let mut inputs = Map::new();
    let mut output = None;
    for (key, value) in fields {
        match key.as_str() {
            "gen_ai.tool.call.arguments" => match parsed(value) {
                // A tool's arguments are its inputs, each by name, as a traced fn's are.
                Value::Object(arguments) => inputs.extend(arguments),
                arguments => {
                    inputs.insert("arguments".to_owned(), arguments);
                }
            },
            "gen_ai.input.messages" => {
                inputs.insert("messages".to_owned(), messages(parsed(value)));
            }
            "gen_ai.system_instructions" => {
                inputs.insert("system".to_owned(), instructions(parsed(value)));
            }
            "gen_ai.prompt" => {
                inputs.insert("prompt".to_owned(), parsed(value));
            }
            // A tool's result is its output serialized (`5`, `"text"`, `{..}`).
            "gen_ai.tool.call.result" => output = Some(parsed_any(value)),
            "gen_ai.completion" => output = Some(parsed(value)),
            "gen_ai.output.messages" => {
                let messages = messages(parsed(value));
                // One message is the output; several stay a list.
                output = Some(match messages {
                    Value::Array(mut list) if list.len() == 1 => list.remove(0),
                    messages => messages,
                });
            }
            "otel.name" | "otel.kind" | "otel.status_code" | "otel.status_description" => {}
            // The conventions' other fields, and those of a namespace of their own (a
            // library's markers, `http.*`): metadata.
            _ if key.contains('.') => call.metadata(key, value),
            // The span's own fields: inputs, as any span's are.
            _ => {
                inputs.insert(key, value);
            }
        }
    }
    record_inputs(&mut call, inputs);
    if let Some(output) = &output {
        call.capture_output(Source::<()>::Value(output));
    }
    // A refusal (the session ended meanwhile) is counted in the tracer's stats.
    let _ = match error {
        Some(error) => call.finish_err(error),
        None => call.finish_ok(),
    };
}

/// The error a span reports, if it failed; takes the fields that say so.
fn error_of(fields: &mut Map) -> Option<ErrorRecord> {
    let text = |value: Option<Value>| match value {
        Some(Value::String(text)) => Some(text),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let status = text(fields.remove("otel.status_code"));
    // A tool's outcome stays in metadata ("success", "error", or, in rig, "denied" and
    // "skipped", which are no failure of the tool).
    let outcome = fields
        .get("gen_ai.tool.call.outcome")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let kind = text(fields.remove("error.type")).or_else(|| text(fields.remove("gen_ai.tool.error.type")));
    let message = text(fields.remove("otel.status_description"))
        .or_else(|| text(fields.remove("error.message")))
        .or_else(|| text(fields.remove("exception.message")));
    let failed = status
        .as_deref()
        .is_some_and(|status| status.eq_ignore_ascii_case("error"))
        || outcome
            .as_deref()
            .is_some_and(|outcome| matches!(outcome.to_ascii_lowercase().as_str(), "error" | "failure" | "failed"))
        || kind.is_some();
    failed.then(|| {
        let kind = kind.unwrap_or_else(|| "error".to_owned());
        let message = message.or(outcome).unwrap_or_else(|| kind.clone());
        ErrorRecord::new(kind, message)
    })
}

/// A field the conventions give as JSON text, as the value it is (text that is not JSON
/// stays text).
fn parsed(value: Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => parsed,
            _ => Value::String(text),
        },
        other => other,
    }
}

/// A field that is a value's JSON text, as the value (text that is not JSON stays text).
fn parsed_any(value: Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    }
}

/// Messages in the conventions' form (`{"role", "parts": [{"type": "text", "content"}]}`)
/// as the messages our events hold (`{"role", "content"}`): the text of text parts, or
/// the parts themselves. Messages that already have a `content` stay as they are.
fn messages(value: Value) -> Value {
    match value {
        Value::Array(list) => Value::Array(list.into_iter().map(message).collect()),
        other => other,
    }
}

fn message(value: Value) -> Value {
    let Value::Object(mut object) = value else { return value };
    if object.contains_key("content") || !object.contains_key("role") {
        return Value::Object(object);
    }
    if let Some(parts) = object.remove("parts") {
        object.insert("content".to_owned(), parts_content(parts));
    }
    Value::Object(object)
}

/// The system instructions' text when they are text parts.
fn instructions(value: Value) -> Value {
    match value {
        parts @ Value::Array(_) => parts_content(parts),
        other => other,
    }
}

/// The text of parts that are all text, joined; else the parts.
fn parts_content(parts: Value) -> Value {
    let Value::Array(list) = &parts else { return parts };
    let texts: Option<Vec<&str>> = list
        .iter()
        .map(|part| {
            let is_text = part.get("type").and_then(Value::as_str) == Some("text");
            is_text.then(|| part.get("content").and_then(Value::as_str)).flatten()
        })
        .collect();
    match texts {
        Some(texts) if !texts.is_empty() => Value::String(texts.concat()),
        _ => parts,
    }
}
