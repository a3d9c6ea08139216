//! A session as OpenTelemetry spans, with attributes of both the OpenInference and the
//! OpenTelemetry GenAI conventions — what an OTLP exporter sends. Pure data: converting
//! these records to an SDK's types and shipping them is the exporter's job.
//!
//! | agent-trace | span |
//! |---|---|
//! | the session | a root span `session`, kind CHAIN, `session.id`, metadata as `metadata.<key>` |
//! | a timestep | a span `timestep <index>` (or its name) under the root |
//! | an event | a span under its parent event, else its timestep, else the root, with its real start and duration, named `chat {model}` (LLM), `execute_tool {tool}`, `invoke_agent {name}`, else after the event |
//! | a message | a span event on its timestep's span (else the root) |
//! | a reward | a span event `reward` on its event's span, or on the root for an outcome reward |
//!
//! Ids are derived from the session id (a UUID's 16 bytes become the trace id) and the
//! event ids, so the same session always maps to the same spans. What of the captured
//! content leaves is [`Content`]'s to say.

mod chat;
mod event;
mod ids;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Event, SessionStatus, SessionTrace};
pub use event::{genai_operation, openinference_kind};
use ids::span_id;
pub use ids::trace_id;

/// A span's attributes, in the order they were added.
type Attributes = Vec<(String, AttributeValue)>;

/// What of the captured content the spans carry. By default: the inputs and the output as
/// OpenInference's `input.value` / `output.value` and, for an LLM event whose inputs are chat
/// messages, `llm.input_messages.*` / `llm.output_messages.*`; not the GenAI convention's
/// `gen_ai.input.messages` / `gen_ai.output.messages`, which that convention makes opt-in.
///
/// [`Content::from_env`] reads the switches the conventions define:
///
/// | variable | effect when `true` (any case) |
/// |---|---|
/// | `OPENINFERENCE_HIDE_INPUTS` | no inputs at all: no `input.value`, no input messages of either convention |
/// | `OPENINFERENCE_HIDE_OUTPUTS` | no output at all |
/// | `OPENINFERENCE_HIDE_INPUT_MESSAGES` | no `llm.input_messages.*` |
/// | `OPENINFERENCE_HIDE_OUTPUT_MESSAGES` | no `llm.output_messages.*` |
/// | `OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS` | no `llm.invocation_parameters` (the `gen_ai.request.*` attributes stay) |
/// | `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` | `gen_ai.input.messages` and `gen_ai.output.messages` too (any other value: not) |
///
/// ```
/// use agent_trace::otel::Content;
/// // Token counts, models and names, but no prompt and no answer.
/// let metadata_only = Content::default().inputs(false).outputs(false);
/// # let _ = metadata_only;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content {
    inputs: bool,
    outputs: bool,
    input_messages: bool,
    output_messages: bool,
    genai_messages: bool,
    invocation_parameters: bool,
}

impl Default for Content {
    fn default() -> Self {
        Content {
            inputs: true,
            outputs: true,
            input_messages: true,
            output_messages: true,
            genai_messages: false,
            invocation_parameters: true,
        }
    }
}

impl Content {
    /// The default, changed by the environment's switches (see above).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The default, changed by the switches `lookup` gives (a variable's value by name).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let on = |name: &str| lookup(name).is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        Content {
            inputs: !on("OPENINFERENCE_HIDE_INPUTS"),
            outputs: !on("OPENINFERENCE_HIDE_OUTPUTS"),
            input_messages: !on("OPENINFERENCE_HIDE_INPUT_MESSAGES"),
            output_messages: !on("OPENINFERENCE_HIDE_OUTPUT_MESSAGES"),
            genai_messages: on("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"),
            invocation_parameters: !on("OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS"),
        }
    }

    /// Whether the inputs leave (`input.value`, input messages of both conventions).
    #[must_use]
    pub fn inputs(mut self, on: bool) -> Self {
        self.inputs = on;
        self
    }

    /// Whether the output leaves (`output.value`, output messages of both conventions).
    #[must_use]
    pub fn outputs(mut self, on: bool) -> Self {
        self.outputs = on;
        self
    }

    /// Whether chat messages leave as OpenInference's `llm.input_messages.*` and
    /// `llm.output_messages.*` (when the inputs, or the output, do).
    #[must_use]
    pub fn chat_messages(mut self, on: bool) -> Self {
        self.input_messages = on;
        self.output_messages = on;
        self
    }

    /// Whether chat messages leave as the GenAI convention's `gen_ai.input.messages` and
    /// `gen_ai.output.messages` (when the inputs, or the output, do).
    #[must_use]
    pub fn genai_messages(mut self, on: bool) -> Self {
        self.genai_messages = on;
        self
    }
}

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
    /// A list of texts.
    StringArray(Vec<String>),
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

/// The spans of a session, with all of the content [`Content::default`] lets out: the root
/// first, then timesteps, then events by id.
pub fn session_spans(trace: &SessionTrace) -> Vec<SpanRecord> {
    session_spans_with(trace, &Content::default())
}

/// The spans of a session, with what `content` lets out of the captured values.
pub fn session_spans_with(trace: &SessionTrace, content: &Content) -> Vec<SpanRecord> {
    let trace_id = trace_id(&trace.session_id);
    let root_id = span_id(&trace.session_id, "session", 0);
    let end_of_events = trace.events.iter().map(Event::ended_at).max();
    let root_end = trace
        .ended_at
        .or(end_of_events)
        .unwrap_or(trace.started_at)
        .max(trace.started_at);
    // The session's own user and tags, else what its metadata says under the names
    // programs used before there were fields for them.
    let user = trace.user.as_deref().or_else(|| {
        ["user.id", "user_id"]
            .into_iter()
            .find_map(|key| trace.metadata.get(key).and_then(Value::as_str))
    });
    let tags: Option<Vec<String>> = if trace.tags.is_empty() {
        ["tag.tags", "tags"].into_iter().find_map(|key| {
            let list = trace.metadata.get(key)?.as_array()?;
            list.iter().map(|tag| tag.as_str().map(str::to_owned)).collect()
        })
    } else {
        Some(trace.tags.clone())
    };
    let common = |attributes: &mut Attributes| {
        attributes.push(("session.id".into(), text(&trace.session_id)));
        attributes.push(("gen_ai.conversation.id".into(), text(&trace.session_id)));
        if let Some(user) = user {
            attributes.push(("user.id".into(), text(user)));
        }
        if let Some(tags) = &tags {
            attributes.push(("tag.tags".into(), AttributeValue::StringArray(tags.clone())));
        }
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
    if let Some(name) = &trace.name {
        root.attributes.push(("agent_trace.session.name".into(), text(name)));
    }
    for (key, value) in &trace.metadata {
        root.attributes.push((format!("metadata.{key}"), attribute(value)));
    }
    if !trace.metadata.is_empty() {
        let metadata = Value::Object(trace.metadata.clone()).to_string();
        root.attributes.push(("metadata".into(), text(&metadata)));
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
        let mut span = event::event_span(
            event,
            content,
            trace_id,
            span_id(&trace.session_id, "event", event.id),
            parent,
        );
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
    // Scores, as the GenAI convention's evaluation results, on the span they judge.
    for score in &trace.scores {
        let event = score_event(score);
        let target = score
            .event
            .filter(|id| known.contains(id))
            .map(|id| span_id(&trace.session_id, "event", id))
            .and_then(|id| spans.iter_mut().find(|span| span.span_id == id));
        match target {
            Some(span) => span.events.push(event),
            None => root.events.push(event),
        }
    }
    spans.insert(0, root);
    spans
}

/// A score as a `gen_ai.evaluation.result` event.
fn score_event(score: &crate::Score) -> SpanEvent {
    let mut attributes = vec![
        ("gen_ai.evaluation.name".into(), text(&score.name)),
        ("agent_trace.score.source".into(), text(score.source.as_str())),
    ];
    match &score.value {
        crate::ScoreValue::Number(value) => {
            attributes.push(("gen_ai.evaluation.score.value".into(), AttributeValue::Float(*value)));
        }
        crate::ScoreValue::Label(label) => {
            attributes.push(("gen_ai.evaluation.score.label".into(), text(label)));
        }
    }
    if let Some(comment) = &score.comment {
        attributes.push(("gen_ai.evaluation.explanation".into(), text(comment)));
    }
    SpanEvent {
        name: "gen_ai.evaluation.result".into(),
        at: score.at,
        attributes,
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
