//! What a parity comparison found: [`ValidationReport`] and its [`Difference`]s.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Which part of a trace a [`Difference`] is about, and so which flag of the
/// [`ValidationReport`] it clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// How many events there are (`event_count_match`).
    Count,
    /// An event's kind, system id or name, in order (`event_kinds_match`).
    Kind,
    /// Where an event sits: its parent, turn and timestep, and the session's timesteps
    /// (`structure_match`).
    Structure,
    /// What a call did: inputs, output, error, outcome; the session's status (`state_match`).
    State,
    /// Event and session metadata (`metadata_match`).
    Metadata,
    /// The messages (`message_match`).
    Messages,
}

/// Where in the two traces a [`Difference`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The session as a whole.
    Session,
    /// An event, by its index in each trace's `events` (`None`: absent from that trace).
    Event {
        /// Index in the manual trace.
        manual: Option<usize>,
        /// Index in the decorated trace.
        decorated: Option<usize>,
    },
    /// A timestep, by index.
    TimeStep {
        /// Index in both traces' `timesteps`.
        index: usize,
    },
    /// A message, by its index in each trace's `messages` (`None`: absent from that trace).
    Message {
        /// Index in the manual trace.
        manual: Option<usize>,
        /// Index in the decorated trace.
        decorated: Option<usize>,
    },
}

impl Location {
    /// The event's index in the manual trace, else in the decorated one.
    pub fn event_index(&self) -> Option<usize> {
        match *self {
            Location::Event { manual, decorated } => manual.or(decorated),
            _ => None,
        }
    }
}

/// One field that differs between the manual and the decorated trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// Which flag of the report it clears.
    pub aspect: Aspect,
    /// Where it is.
    pub location: Location,
    /// The field, as a path: `"kind"`, `"inputs.query"`, `"parent"`, `"metadata.model"`, …
    pub field: String,
    /// The manual trace's value (`None`: absent there).
    pub manual: Option<Value>,
    /// The decorated trace's value (`None`: absent there).
    pub decorated: Option<Value>,
}

/// The result of [`compare`](super::compare): one flag per aspect, and every difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Both traces have the same number of events.
    pub event_count_match: bool,
    /// Paired events have the same kind, system id and name, in the same order.
    pub event_kinds_match: bool,
    /// Paired events have the same parent (by position), turn and timestep, and the
    /// sessions have the same timesteps.
    pub structure_match: bool,
    /// Paired events have the same inputs, output, error and outcome, and the sessions the
    /// same status.
    pub state_match: bool,
    /// Paired events, and the sessions, have the same metadata.
    pub metadata_match: bool,
    /// The sessions have the same messages.
    pub message_match: bool,
    /// Every difference found, in trace order.
    pub differences: Vec<Difference>,
}

impl ValidationReport {
    pub(crate) fn from_differences(differences: Vec<Difference>) -> Self {
        let clean = |aspect: Aspect| differences.iter().all(|d| d.aspect != aspect);
        ValidationReport {
            event_count_match: clean(Aspect::Count),
            event_kinds_match: clean(Aspect::Kind),
            structure_match: clean(Aspect::Structure),
            state_match: clean(Aspect::State),
            metadata_match: clean(Aspect::Metadata),
            message_match: clean(Aspect::Messages),
            differences,
        }
    }

    /// Whether the two traces are at parity: no difference at all.
    pub fn is_valid(&self) -> bool {
        self.differences.is_empty()
    }

    /// The differences of one aspect.
    pub fn differences_in(&self, aspect: Aspect) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(move |d| d.aspect == aspect)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn pair(f: &mut fmt::Formatter<'_>, what: &str, m: Option<usize>, d: Option<usize>) -> fmt::Result {
            match (m, d) {
                (Some(m), Some(d)) if m == d => write!(f, "{what} #{m}"),
                (Some(m), Some(d)) => write!(f, "{what} #{m} (decorated #{d})"),
                (Some(m), None) => write!(f, "{what} #{m} (only in manual)"),
                (None, Some(d)) => write!(f, "{what} #{d} (only in decorated)"),
                (None, None) => write!(f, "{what}"),
            }
        }
        match *self {
            Location::Session => f.write_str("session"),
            Location::Event { manual, decorated } => pair(f, "event", manual, decorated),
            Location::TimeStep { index } => write!(f, "timestep #{index}"),
            Location::Message { manual, decorated } => pair(f, "message", manual, decorated),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn side(value: &Option<Value>) -> String {
            value.as_ref().map_or_else(|| "(absent)".to_owned(), Value::to_string)
        }
        write!(
            f,
            "{} `{}`: manual {}, decorated {}",
            self.location,
            self.field,
            side(&self.manual),
            side(&self.decorated)
        )
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_valid() {
            return f.write_str("traces are at parity");
        }
        let flags = [
            ("event count", self.event_count_match),
            ("event kinds", self.event_kinds_match),
            ("structure", self.structure_match),
            ("state", self.state_match),
            ("metadata", self.metadata_match),
            ("messages", self.message_match),
        ];
        let failed: Vec<&str> = flags.iter().filter(|(_, ok)| !ok).map(|(name, _)| *name).collect();
        writeln!(
            f,
            "traces differ in {} ({} differences):",
            failed.join(", "),
            self.differences.len()
        )?;
        for difference in &self.differences {
            writeln!(f, "  - {difference}")?;
        }
        Ok(())
    }
}
