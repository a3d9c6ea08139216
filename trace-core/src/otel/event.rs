//! An event as a span: its name and attributes under the OpenTelemetry GenAI and the
//! OpenInference conventions.

use serde_json::{Map, Value};

use super::{AttributeValue, Attributes, Content, SpanRecord, SpanStatus, attribute, chat, int, text};
use crate::{Event, EventKind, Outcome, genai_keys};

/// The request parameters OpenInference groups as `llm.invocation_parameters`, by their
/// GenAI key and the name they have there.
const INVOCATION_PARAMETERS: [(&str, &str); 9] = [
    (genai_keys::REQUEST_TEMPERATURE, "temperature"),
    (genai_keys::REQUEST_MAX_TOKENS, "max_tokens"),
    (genai_keys::REQUEST_TOP_P, "top_p"),
    (genai_keys::REQUEST_TOP_K, "top_k"),
    (genai_keys::REQUEST_FREQUENCY_PENALTY, "frequency_penalty"),
    (genai_keys::REQUEST_PRESENCE_PENALTY, "presence_penalty"),
    (genai_keys::REQUEST_STOP_SEQUENCES, "stop"),
    (genai_keys::REQUEST_SEED, "seed"),
    (genai_keys::REQUEST_STREAM, "stream"),
];

pub(super) fn event_span(
    event: &Event,
    content: &Content,
    trace_id: [u8; 16],
    span: [u8; 8],
    parent: [u8; 8],
) -> SpanRecord {
    let mut attributes = vec![
        ("openinference.span.kind".into(), text(openinference_kind(&event.kind))),
        ("agent_trace.event_id".into(), int(event.id)),
        ("agent_trace.kind".into(), text(&event.kind.to_string())),
        ("agent_trace.system_id".into(), text(&event.system_id)),
        ("agent_trace.outcome".into(), text(&event.outcome.to_string())),
    ];
    if content.inputs {
        attributes.push((
            "input.value".into(),
            text(&Value::Object(event.inputs.clone()).to_string()),
        ));
        attributes.push(("input.mime_type".into(), text("application/json")));
    }
    if let (Some(output), true) = (&event.output, content.outputs) {
        attributes.push(("output.value".into(), text(&output.to_string())));
        attributes.push(("output.mime_type".into(), text("application/json")));
    }
    let operation = operation_name(event);
    if let Some(operation) = operation {
        attributes.push(("gen_ai.operation.name".into(), text(operation)));
    }
    if let Some(turn) = event.turn {
        attributes.push(("agent_trace.turn".into(), int(u64::from(turn))));
    }
    match event.kind {
        EventKind::Tool => {
            attributes.push(("tool.name".into(), text(&event.name)));
            attributes.push(("gen_ai.tool.name".into(), text(&event.name)));
            attributes.push(("gen_ai.tool.type".into(), text("function")));
        }
        EventKind::Agent => {
            attributes.push(("gen_ai.agent.name".into(), text(&event.name)));
            attributes.push(("agent.name".into(), text(&event.name)));
        }
        EventKind::Llm => llm_attributes(event, content, &mut attributes),
        _ => {}
    }
    let mut other = Map::new();
    for (key, value) in &event.metadata {
        // A stream's items kept for a replay are its output again, item by item: they do
        // not leave (the output does, as `content` says).
        if key == crate::stream_keys::REPLAY_ITEMS {
            continue;
        }
        // The GenAI keys the macros record are already the conventions' names.
        if key.starts_with("gen_ai.") {
            if !attributes.iter().any(|(name, _)| name == key) {
                attributes.push((key.clone(), attribute(value)));
            }
        } else {
            attributes.push((format!("metadata.{key}"), attribute(value)));
            other.insert(key.clone(), value.clone());
        }
    }
    if !other.is_empty() {
        attributes.push(("metadata".into(), text(&Value::Object(other).to_string())));
    }
    let status = match (event.outcome, &event.error) {
        (Outcome::Err | Outcome::Panicked, Some(error)) => {
            attributes.push(("error.type".into(), text(&error.kind)));
            attributes.push(("exception.message".into(), text(&error.message)));
            SpanStatus::Error(error.message.clone())
        }
        (Outcome::Err | Outcome::Panicked, None) => SpanStatus::Error(event.outcome.to_string()),
        (Outcome::Cancelled, _) => {
            attributes.push(("cancelled".into(), AttributeValue::Bool(true)));
            SpanStatus::Unset
        }
        (Outcome::Ok, _) => SpanStatus::Unset,
    };
    SpanRecord {
        trace_id,
        span_id: span,
        parent_span_id: Some(parent),
        name: span_name(event, operation),
        start: event.started_at,
        end: event.ended_at(),
        attributes,
        status,
        events: Vec::new(),
    }
}

/// What an LLM event adds: the model, the provider, the token counts of both conventions,
/// the invocation parameters, and the messages when its inputs and output are chat messages.
fn llm_attributes(event: &Event, content: &Content, attributes: &mut Attributes) {
    let metadata = &event.metadata;
    let number = |key: &str| metadata.get(key).and_then(Value::as_u64);
    if let Some(model) = model(event) {
        attributes.push(("llm.model_name".into(), text(model)));
    }
    if let Some(provider) = metadata.get(genai_keys::PROVIDER_NAME).and_then(Value::as_str) {
        attributes.push(("llm.provider".into(), text(provider)));
    }
    let input = number(genai_keys::INPUT_TOKENS);
    let output = number(genai_keys::OUTPUT_TOKENS);
    if let (Some(input), Some(output)) = (input, output) {
        attributes.push(("llm.token_count.total".into(), int(input.saturating_add(output))));
    }
    let counts = [
        ("llm.token_count.prompt", input),
        ("llm.token_count.completion", output),
        (
            "llm.token_count.prompt_details.cache_read",
            number(genai_keys::CACHE_READ_INPUT_TOKENS),
        ),
        (
            "llm.token_count.prompt_details.cache_write",
            number(genai_keys::CACHE_CREATION_INPUT_TOKENS),
        ),
        (
            "llm.token_count.completion_details.reasoning",
            number(genai_keys::REASONING_OUTPUT_TOKENS),
        ),
    ];
    for (key, count) in counts {
        if let Some(count) = count {
            attributes.push((key.into(), int(count)));
        }
    }
    let parameters: Map<String, Value> = INVOCATION_PARAMETERS
        .iter()
        .filter_map(|(key, name)| Some(((*name).to_owned(), metadata.get(*key)?.clone())))
        .collect();
    if !parameters.is_empty() && content.invocation_parameters {
        attributes.push((
            "llm.invocation_parameters".into(),
            text(&Value::Object(parameters).to_string()),
        ));
    }
    chat::message_attributes(event, content, attributes);
}

/// The model an LLM event asked for, else the one that answered.
fn model(event: &Event) -> Option<&str> {
    [genai_keys::REQUEST_MODEL, genai_keys::RESPONSE_MODEL]
        .into_iter()
        .find_map(|key| event.metadata.get(key).and_then(Value::as_str))
}

/// The GenAI operation of an event: the one its metadata names (`gen_ai.operation.name`,
/// as the `tracing` bridge records it), else its kind's.
fn operation_name(event: &Event) -> Option<&str> {
    event
        .metadata
        .get("gen_ai.operation.name")
        .and_then(Value::as_str)
        .or_else(|| genai_operation(&event.kind))
}

/// `chat {model}` for an LLM event, `execute_tool {tool}` for a tool, `invoke_agent {name}`
/// for an agent, the event's name for any other.
fn span_name(event: &Event, operation: Option<&str>) -> String {
    let target = match event.kind {
        EventKind::Llm => model(event),
        EventKind::Tool | EventKind::Agent => Some(event.name.as_str()),
        _ => return event.name.clone(),
    };
    match (operation, target) {
        (Some(operation), Some(target)) => format!("{operation} {target}"),
        (Some(operation), None) => operation.to_owned(),
        (None, _) => event.name.clone(),
    }
}

/// OpenInference's span kind for an event kind.
pub fn openinference_kind(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Agent => "AGENT",
        EventKind::Llm => "LLM",
        EventKind::Tool => "TOOL",
        EventKind::Environment | EventKind::Runtime | EventKind::Bundle | EventKind::Custom(_) => "CHAIN",
    }
}

/// The GenAI convention's operation name for an event kind, where it has one.
pub fn genai_operation(kind: &EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Llm => Some("chat"),
        EventKind::Tool => Some("execute_tool"),
        EventKind::Agent => Some("invoke_agent"),
        _ => None,
    }
}
