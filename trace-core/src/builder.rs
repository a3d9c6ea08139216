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

/// Where a session puts a recorded event: what the session decides, not the caller.
///
/// Used by the recording runtime; users do not build it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct EventPlacement {
    /// The id the session gave the event.
    pub id: u64,
    /// The parent to use when the builder names none.
    pub parent: Option<u64>,
    /// The session's turn.
    pub turn: Option<u32>,
    /// The open timestep's index.
    pub timestep: Option<u32>,
    /// Now: when the event is recorded; the default start is this minus its duration.
    pub now: DateTime<Utc>,
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

    /// Turns the description into an event at the place the session chose.
    #[doc(hidden)]
    pub fn place(self, placement: EventPlacement) -> Event {
        let outcome = self.effective_outcome();
        let started_at = self.started_at.unwrap_or_else(|| {
            chrono::Duration::from_std(self.duration)
                .ok()
                .and_then(|elapsed| placement.now.checked_sub_signed(elapsed))
                .unwrap_or(placement.now)
        });
        Event {
            id: placement.id,
            parent: self.parent.or(placement.parent),
            kind: self.kind,
            system_id: self.system_id,
            name: self.name,
            module_path: self.module_path,
            turn: placement.turn,
            timestep: placement.timestep,
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
