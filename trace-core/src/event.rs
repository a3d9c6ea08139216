//! One traced call: [`Event`], its [`EventKind`], its [`Outcome`] and, when it failed,
//! its [`ErrorRecord`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;
use crate::builder::EventBuilder;

/// One traced call, from its start to its outcome.
///
/// `id`s are unique within a session and increase in call-start order; a session's
/// events are sorted by `id`. `parent` is the id of the traced call this one ran inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique within the session; increases in call-start order.
    pub id: u64,
    /// The id of the traced call this call ran inside, if any.
    pub parent: Option<u64>,
    /// What sort of component made the call.
    pub kind: EventKind,
    /// Which component (agent, environment, tool, …) made the call.
    pub system_id: String,
    /// The name of the call, by default the function's name.
    pub name: String,
    /// The module the call was made from (empty when the recorder did not say).
    pub module_path: String,
    /// The turn the session was on when the call started.
    pub turn: Option<u32>,
    /// The index of the timestep that was open when the call started.
    pub timestep: Option<u32>,
    /// When the call started (UTC).
    #[serde(serialize_with = "crate::json::serialize_time")]
    pub started_at: DateTime<Utc>,
    /// How long the call took; serialized as integer nanoseconds (`duration_ns`).
    #[serde(rename = "duration_ns", with = "crate::duration_nanos")]
    pub duration: Duration,
    /// The captured arguments, by parameter name.
    pub inputs: Map,
    /// The captured return value (the `Ok` value of a `Result`).
    pub output: Option<Value>,
    /// The error, when the call returned `Err` or panicked.
    pub error: Option<ErrorRecord>,
    /// How the call ended.
    pub outcome: Outcome,
    /// Anything else recorded about the call.
    pub metadata: Map,
}

impl Event {
    /// Starts describing an event by hand; record it with `Session::record_event`.
    ///
    /// ```
    /// use agent_trace::{Event, EventKind};
    /// let builder = Event::builder(EventKind::Tool, "agent", "search")
    ///     .input("query", "rust tracing")
    ///     .output(vec!["tokio-rs/tracing"]);
    /// # let _ = builder;
    /// ```
    pub fn builder(kind: EventKind, system_id: impl Into<String>, name: impl Into<String>) -> EventBuilder {
        EventBuilder::new(kind, system_id.into(), name.into())
    }

    /// When the call ended: its start plus its duration (its start, for a duration past
    /// what a time can hold).
    ///
    /// ```
    /// use agent_trace::{Event, EventKind};
    /// let event = Event::builder(EventKind::Tool, "agent", "search")
    ///     .duration(std::time::Duration::from_millis(5))
    ///     .into_event(chrono::Utc::now());
    /// assert_eq!((event.ended_at() - event.started_at).num_milliseconds(), 5);
    /// ```
    pub fn ended_at(&self) -> DateTime<Utc> {
        chrono::TimeDelta::from_std(self.duration)
            .ok()
            .and_then(|duration| self.started_at.checked_add_signed(duration))
            .unwrap_or(self.started_at)
    }
}

/// What sort of component made a traced call.
///
/// Serialized in snake case: `"agent"`, `"environment"`, …, and `{"custom": "name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The agent deciding what to do (`#[trace_agent]`).
    Agent,
    /// The environment answering an action (`#[trace_env]`).
    Environment,
    /// The runtime around agent and environment (`#[trace_runtime]`).
    Runtime,
    /// A call to a language model (`#[trace_llm_call]`).
    Llm,
    /// A tool the agent used (`#[trace_tool_call]`).
    Tool,
    /// A node of the computation graph (`#[bundle]`).
    Bundle,
    /// Anything else, by the user's own name.
    Custom(String),
}

impl EventKind {
    /// Its name: `"agent"`, `"environment"`, `"runtime"`, `"llm"`, `"tool"`, `"bundle"`, or
    /// a custom kind's own name.
    ///
    /// ```
    /// use agent_trace::EventKind;
    /// assert_eq!(EventKind::Tool.name(), "tool");
    /// let retriever = EventKind::Custom("retriever".into());
    /// assert_eq!((retriever.name(), retriever.to_string()), ("retriever", "custom:retriever".to_owned()));
    /// ```
    pub fn name(&self) -> &str {
        match self {
            EventKind::Agent => "agent",
            EventKind::Environment => "environment",
            EventKind::Runtime => "runtime",
            EventKind::Llm => "llm",
            EventKind::Tool => "tool",
            EventKind::Bundle => "bundle",
            EventKind::Custom(name) => name,
        }
    }
}

impl fmt::Display for EventKind {
    /// The name; a custom kind's as `custom:<name>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Custom(name) => write!(f, "custom:{name}"),
            kind => f.write_str(kind.name()),
        }
    }
}

/// How a traced call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It returned normally (an `Ok` for a `Result`).
    #[default]
    Ok,
    /// It returned an `Err`.
    Err,
    /// Its body unwound with a panic.
    Panicked,
    /// It was dropped before it completed (an async call whose future was dropped).
    Cancelled,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 4] = [Outcome::Ok, Outcome::Err, Outcome::Panicked, Outcome::Cancelled];

    /// Whether this outcome makes the session's status `Error`.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Err | Outcome::Panicked)
    }

    /// Its name, as serialized and displayed: `"ok"`, `"err"`, `"panicked"`, `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Err => "err",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as recorded: its type, its message and the messages of its `source()` chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The error's type name (for a panic: `"panic"`).
    pub kind: String,
    /// The error's `Display` text (for a panic: its payload, when it is a string).
    pub message: String,
    /// The `Display` text of each `source()`, outermost first.
    pub chain: Vec<String>,
}

impl ErrorRecord {
    /// The `kind` of a record made from a panic.
    pub const PANIC_KIND: &'static str = "panic";

    /// A record with the given kind and message and no source chain.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorRecord {
            kind: kind.into(),
            message: message.into(),
            chain: Vec::new(),
        }
    }

    /// Records an error: its type name, its `Display` text and its `source()` chain.
    ///
    /// ```
    /// use agent_trace::ErrorRecord;
    /// let err = std::io::Error::new(std::io::ErrorKind::NotFound, "no such tool");
    /// let record = ErrorRecord::from_error(&err);
    /// assert_eq!(record.message, "no such tool");
    /// ```
    pub fn from_error<E: std::error::Error + ?Sized>(error: &E) -> Self {
        let mut chain = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        ErrorRecord {
            kind: std::any::type_name::<E>().to_owned(),
            message: error.to_string(),
            chain,
        }
    }

    /// Records a panic from its payload (`&str` and `String` payloads keep their text).
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
            (*text).to_owned()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "panic with a non-string payload".to_owned()
        };
        ErrorRecord::new(Self::PANIC_KIND, message)
    }
}

impl<E: std::error::Error + ?Sized> From<&E> for ErrorRecord {
    fn from(error: &E) -> Self {
        ErrorRecord::from_error(error)
    }
}

impl fmt::Display for ErrorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        for cause in &self.chain {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}
