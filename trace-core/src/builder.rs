//! [`EventBuilder`]: an event described by hand, placed in a session when recorded.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::capture;
use crate::{ErrorRecord, Event, EventKind, Map, Outcome};

/// An event described by hand (see [`Event::builder`]).
///
/// The session that records it gives it its id, turn and timestep, exactly as it does for
/// an event recorded by a traced function. Values are captured with [`capture::to_value`],
/// so a value that cannot be serialized becomes a marker rather than an error.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an event builder records nothing until it is passed to `Session::record_event`"]
pub struct EventBuilder {
    kind: EventKind,
    system_id: String,
    name: String,
    module_path: String,
    parent: Option<u64>,
    started_at: Option<DateTime<Utc>>,
    duration: Duration,
    inputs: Map,
    output: Option<Value>,
    error: Option<ErrorRecord>,
    outcome: Option<Outcome>,
    metadata: Map,
}

impl EventBuilder {
    pub(crate) fn new(kind: EventKind, system_id: String, name: String) -> Self {
        EventBuilder {
            kind,
            system_id,
            name,
            module_path: String::new(),
            parent: None,
            started_at: None,
            duration: Duration::ZERO,
            inputs: Map::new(),
            output: None,
            error: None,
            outcome: None,
            metadata: Map::new(),
        }
    }

    /// Adds a captured argument.
    pub fn input(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.inputs.insert(name.into(), capture::to_value(&value));
        self
    }

    /// Sets the captured return value.
    pub fn output(mut self, value: impl Serialize) -> Self {
        self.output = Some(capture::to_value(&value));
        self
    }

    /// Sets the error; unless [`outcome`](Self::outcome) says otherwise the outcome becomes
    /// [`Outcome::Err`].
    pub fn error(mut self, error: impl Into<ErrorRecord>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Sets the outcome (by default `Err` when an error is set, else `Ok`).
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.metadata.insert(key.into(), capture::to_value(&value));
        self
    }

    /// Sets how long the call took (default zero).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Sets the parent event; by default it is the traced call the recording code runs in.
    pub fn parent(mut self, id: u64) -> Self {
        self.parent = Some(id);
        self
    }

    /// Sets when the call started; by default, the moment of recording minus its duration.
    pub fn started_at(mut self, at: DateTime<Utc>) -> Self {
        self.started_at = Some(at);
        self
    }

    /// Sets the module the call was made from (`module_path!()`).
    pub fn module_path(mut self, module_path: impl Into<String>) -> Self {
        self.module_path = module_path.into();
        self
    }

    /// The outcome the event will have.
    pub fn effective_outcome(&self) -> Outcome {
        match (self.outcome, &self.error) {
            (Some(outcome), _) => outcome,
            (None, Some(_)) => Outcome::Err,
            (None, None) => Outcome::Ok,
        }
    }

    /// The event described, as recorded at `now` outside any session: id 0, no turn and
    /// no timestep, the parent if one was set, and, unless a start was set, started at `now`
    /// minus its duration. A session that records it gives it its id, turn and timestep
    /// (and a parent, when none was set).
    ///
    /// ```
    /// use agent_trace::{Event, EventKind, Outcome};
    /// let now = chrono::Utc::now();
    /// let event = Event::builder(EventKind::Tool, "agent", "search")
    ///     .input("query", "rust")
    ///     .duration(std::time::Duration::from_secs(2))
    ///     .into_event(now);
    /// assert_eq!((event.id, event.outcome), (0, Outcome::Ok));
    /// assert_eq!(event.started_at, now - chrono::Duration::seconds(2));
    /// ```
    pub fn into_event(self, now: DateTime<Utc>) -> Event {
        let outcome = self.effective_outcome();
        let started_at = self.started_at.unwrap_or_else(|| {
            chrono::Duration::from_std(self.duration)
                .ok()
                .and_then(|elapsed| now.checked_sub_signed(elapsed))
                .unwrap_or(now)
        });
        Event {
            id: 0,
            parent: self.parent,
            kind: self.kind,
            system_id: self.system_id,
            name: self.name,
            module_path: self.module_path,
            turn: None,
            timestep: None,
            started_at,
            duration: self.duration,
            inputs: self.inputs,
            output: self.output,
            error: self.error,
            outcome,
            metadata: self.metadata,
        }
    }
}
