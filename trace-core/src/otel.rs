//! A session as OpenTelemetry spans, with attributes of both the OpenInference and the
//! OpenTelemetry GenAI conventions — what an OTLP exporter sends. Pure data: converting
//! these records to an SDK's types and shipping them is the exporter's job.
//!
//! | agent-trace | span |
//! |---|---|
//! | the session | a root span `session`, kind CHAIN, `session.id`, metadata as `metadata.<key>` |
//! | a timestep | a span `timestep <index>` (or its name) under the root |
//! | an event | a span named after the event under its parent event, else its timestep, else the root, with its real start and duration |
//! | a message | a span event on its timestep's span (else the root) |
//! | a reward | a span event `reward` on its event's span, or on the root for an outcome reward |
//!
//! Ids are derived from the session id (a UUID's 16 bytes become the trace id) and the
//! event ids, so the same session always maps to the same spans.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Event, EventKind, Outcome, SessionStatus, SessionTrace};

/// A span attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// Text (JSON text for structured values).
    String(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// A span's status.
#[derive(Debug, Clone, PartialEq)]
pub enum SpanStatus {
    /// Nothing to say.
    Unset,
    /// Failed, with a description.
    Error(String),
}

/// Something that happened during a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// Its name.
    pub name: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Its attributes.
    pub attributes: Vec<(String, AttributeValue)>,
}

/// One span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The trace (the session).
    pub trace_id: [u8; 16],
    /// The span.
    pub span_id: [u8; 8],
    /// Its parent span, `None` for the root.
    pub parent_span_id: Option<[u8; 8]>,
    /// Its name.
    pub name: String,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ended.
    pub end: DateTime<Utc>,
    /// Its attributes.
    pub attributes: Vec<(String, AttributeValue)>,
    /// Its status.
    pub status: SpanStatus,
    /// What happened during it.
    pub events: Vec<SpanEvent>,
}

impl SpanRecord {
    /// The value of an attribute.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The spans of a session: the root first, then timesteps, then events by id.
pub fn session_spans(trace: &SessionTrace) -> Vec<SpanRecord> {
    let trace_id = trace_id(&trace.session_id);
    let root_id = span_id(&trace.session_id, "session", 0);
    let end_of_events = trace.events.iter().map(event_end).max();
    let root_end = trace
        .ended_at
        .or(end_of_events)
        .unwrap_or(trace.started_at)
        .max(trace.started_at);
    let common = |attributes: &mut Vec<(String, AttributeValue)>| {
        attributes.push(("session.id".into(), text(&trace.session_id)));
        attributes.push(("gen_ai.conversation.id".into(), text(&trace.session_id)));
    };

    let mut root = SpanRecord {
        trace_id,
        span_id: root_id,
        parent_span_id: None,
        name: "session".into(),
        start: trace.started_at,
        end: root_end,
        attributes: vec![
            ("openinference.span.kind".into(), text("CHAIN")),
            ("agent_trace.status".into(), text(&trace.status.to_string())),
        ],
        status: if trace.status == SessionStatus::Error {
            SpanStatus::Error("the session failed".into())
        } else {
            SpanStatus::Unset
        },
        events: Vec::new(),
    };
    common(&mut root.attributes);
    for (key, value) in &trace.metadata {
        root.attributes.push((format!("metadata.{key}"), attribute(value)));
    }

    let timestep_span = |index: u32| span_id(&trace.session_id, "timestep", u64::from(index));
    let mut spans = Vec::new();
    for step in &trace.timesteps {
        let mut span = SpanRecord {
            trace_id,
            span_id: timestep_span(step.index),
            parent_span_id: Some(root_id),
            name: step.name.clone().unwrap_or_else(|| format!("timestep {}", step.index)),
            start: step.started_at,
            end: step.ended_at.unwrap_or(root_end).max(step.started_at),
            attributes: vec![
                ("openinference.span.kind".into(), text("CHAIN")),
                ("agent_trace.timestep".into(), int(u64::from(step.index))),
            ],
            status: SpanStatus::Unset,
            events: Vec::new(),
        };
        if let Some(turn) = step.turn {
            span.attributes.push(("agent_trace.turn".into(), int(u64::from(turn))));
        }
        common(&mut span.attributes);
        spans.push(span);
    }

    let known: std::collections::BTreeSet<u64> = trace.events.iter().map(|e| e.id).collect();
    for event in &trace.events {
        let parent = match (event.parent.filter(|p| known.contains(p)), event.timestep) {
            (Some(parent), _) => span_id(&trace.session_id, "event", parent),
            (None, Some(step)) if trace.timesteps.iter().any(|t| t.index == step) => timestep_span(step),
            _ => root_id,
        };
        let mut span = event_span(event, trace_id, span_id(&trace.session_id, "event", event.id), parent);
        common(&mut span.attributes);
        for reward in trace.rewards.iter().filter(|r| r.event == Some(event.id)) {
            span.events.push(reward_event(reward, span.end));
        }
        spans.push(span);
    }

    for message in &trace.messages {
        let at = SpanEvent {
            name: message.message_type.clone(),
            at: message.at,
            attributes: vec![
                ("message.source_id".into(), text(&message.source_id)),
                ("message.target_id".into(), text(&message.target_id)),
                ("message.content".into(), attribute(&message.content)),
            ],
        };
        let target = message
            .timestep
            .map(timestep_span)
            .and_then(|id| spans.iter_mut().find(|s| s.span_id == id));
        match target {
            Some(span) => span.events.push(at),
            None => root.events.push(at),
        }
    }
    for reward in trace.rewards.iter().filter(|r| r.event.is_none()) {
        root.events.push(reward_event(reward, root_end));
    }
    spans.insert(0, root);
    spans
}

fn event_span(event: &Event, trace_id: [u8; 16], span: [u8; 8], parent: [u8; 8]) -> SpanRecord {
    let mut attributes = vec![
        ("openinference.span.kind".into(), text(openinference_kind(&event.kind))),
        ("agent_trace.event_id".into(), int(event.id)),
        ("agent_trace.kind".into(), text(&event.kind.to_string())),
        ("agent_trace.system_id".into(), text(&event.system_id)),
        ("agent_trace.outcome".into(), text(&event.outcome.to_string())),
        (
            "input.value".into(),
            text(&Value::Object(event.inputs.clone()).to_string()),
        ),
        ("input.mime_type".into(), text("application/json")),
    ];
    if let Some(operation) = genai_operation(&event.kind) {
        attributes.push(("gen_ai.operation.name".into(), text(operation)));
    }
    if let Some(output) = &event.output {
        attributes.push(("output.value".into(), text(&output.to_string())));
        attributes.push(("output.mime_type".into(), text("application/json")));
    }
    if let Some(turn) = event.turn {
        attributes.push(("agent_trace.turn".into(), int(u64::from(turn))));
    }
    match event.kind {
        EventKind::Tool => {
            attributes.push(("tool.name".into(), text(&event.name)));
            attributes.push(("gen_ai.tool.name".into(), text(&event.name)));
        }
        EventKind::Agent => attributes.push(("gen_ai.agent.name".into(), text(&event.system_id))),
        _ => {}
    }
    let number = |key: &str| event.metadata.get(key).and_then(Value::as_u64);
    if let Some(model) = event
        .metadata
        .get(crate::genai_keys::REQUEST_MODEL)
        .and_then(Value::as_str)
    {
        attributes.push(("llm.model_name".into(), text(model)));
    }
    if let (Some(input), Some(output)) = (
        number(crate::genai_keys::INPUT_TOKENS),
        number(crate::genai_keys::OUTPUT_TOKENS),
    ) {
        attributes.push(("llm.token_count.total".into(), int(input + output)));
    }
    if let Some(input) = number(crate::genai_keys::INPUT_TOKENS) {
        attributes.push(("llm.token_count.prompt".into(), int(input)));
    }
    if let Some(output) = number(crate::genai_keys::OUTPUT_TOKENS) {
        attributes.push(("llm.token_count.completion".into(), int(output)));
    }
    for (key, value) in &event.metadata {
        // The GenAI keys the macros record are already the conventions' names.
        let name = if key.starts_with("gen_ai.") {
            key.clone()
        } else {
            format!("metadata.{key}")
        };
        attributes.push((name, attribute(value)));
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
        name: event.name.clone(),
        start: event.started_at,
        end: event_end(event),
        attributes,
        status,
        events: Vec::new(),
    }
}

fn reward_event(reward: &crate::Reward, at: DateTime<Utc>) -> SpanEvent {
    SpanEvent {
        name: "reward".into(),
        at,
        attributes: vec![
            ("reward.name".into(), text(&reward.name)),
            ("reward.value".into(), AttributeValue::Float(reward.value)),
        ],
    }
}

fn event_end(event: &Event) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(event.duration)
        .ok()
        .and_then(|d| event.started_at.checked_add_signed(d))
        .unwrap_or(event.started_at)
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

fn text(value: &str) -> AttributeValue {
    AttributeValue::String(value.to_owned())
}

fn int(value: u64) -> AttributeValue {
    AttributeValue::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

/// A metadata value as an attribute: scalars as they are, the rest as JSON text.
fn attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(AttributeValue::Int)
            .unwrap_or_else(|| AttributeValue::Float(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => AttributeValue::String(s.clone()),
        other => AttributeValue::String(other.to_string()),
    }
}

/// The trace id of a session: a UUID's 16 bytes, else a stable hash of the id.
pub fn trace_id(session_id: &str) -> [u8; 16] {
    let hex: String = session_id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        let mut bytes = [0u8; 16];
        let parsed = (0..16).all(|i| match u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) {
            Ok(byte) => {
                bytes[i] = byte;
                true
            }
            Err(_) => false,
        });
        if parsed && bytes != [0; 16] {
            return bytes;
        }
    }
    let high = hash(session_id, 0x51);
    let low = hash(session_id, 0xa7);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes
}

/// A span id, stable for (session, what, number), never zero.
fn span_id(session_id: &str, what: &str, number: u64) -> [u8; 8] {
    let id = hash(&format!("{session_id}/{what}/{number}"), 0x3c).max(1);
    id.to_be_bytes()
}

/// FNV-1a with a seed byte, then the SplitMix64 finalizer.
fn hash(text: &str, seed: u8) -> u64 {
    let fnv = std::iter::once(seed)
        .chain(text.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let mut z = fnv;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
