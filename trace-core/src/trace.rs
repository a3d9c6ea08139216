//! [`SessionTrace`]: everything recorded in one session, with its [`TimeStep`]s and
//! [`SessionStatus`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::graph::InferenceGraph;
use crate::{Events, Map, Message, Reward};

/// Everything recorded in one session: its events, timesteps, messages and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTrace {
    /// The session's unique id (a UUID unless the user chose one).
    pub session_id: String,
    /// When the session started.
    pub started_at: DateTime<Utc>,
    /// When the session ended; `None` while it runs.
    pub ended_at: Option<DateTime<Utc>>,
    /// How the session went.
    pub status: SessionStatus,
    /// The timesteps opened during the session, by index.
    pub timesteps: Vec<TimeStep>,
    /// The traced calls, sorted by id (call-start order); decoded when first read (see
    /// [`Events`]).
    pub events: Events,
    /// The messages recorded, by id.
    pub messages: Vec<Message>,
    /// The rewards recorded, in recording order.
    #[serde(default)]
    pub rewards: Vec<Reward>,
    /// The scores given, while it ran or after (see [`Score`](crate::Score)), in the order
    /// given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<crate::Score>,
    /// The computation graph recorded by `Node<T>` and `#[bundle]` (empty if none was).
    #[serde(default, skip_serializing_if = "InferenceGraph::is_empty")]
    pub graph: InferenceGraph,
    /// The user the session was for (`Session::set_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The session's name (`Session::set_name`): what it was, for a person reading a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The session's tags (`Session::add_tag`), in the order they were added, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Metadata set on the session.
    pub metadata: Map,
}

/// A session's user, name and tags, as a sink receives them while it runs
/// (a sink's `EventBatch::labels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLabels {
    /// The user the session was for.
    pub user: Option<String>,
    /// The session's name.
    pub name: Option<String>,
    /// Its tags, each once.
    pub tags: Vec<String>,
}

/// How a session went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// It has not ended yet.
    Running,
    /// It ended and nothing in it failed.
    Success,
    /// An event ended in `Err` or `Panicked`, or the scope's result was an error.
    Error,
    /// Its scope was dropped before it completed, or the user said so.
    Cancelled,
}

impl SessionTrace {
    /// The sum of the outcome rewards (those not given to an event).
    pub fn outcome_reward(&self) -> f64 {
        self.rewards
            .iter()
            .filter(|reward| reward.event.is_none())
            .map(|reward| reward.value)
            .sum()
    }

    /// How many events ended in `Err` or `Panicked`.
    pub fn error_count(&self) -> usize {
        self.events
            .records()
            .filter(|event| event.outcome().is_failure())
            .count()
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionStatus::Running => "running",
            SessionStatus::Success => "success",
            SessionStatus::Error => "error",
            SessionStatus::Cancelled => "cancelled",
        })
    }
}

/// A step of the session (usually one turn of the agent loop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeStep {
    /// Position among the session's timesteps, from 0.
    pub index: u32,
    /// The turn it belongs to.
    pub turn: Option<u32>,
    /// An optional name.
    pub name: Option<String>,
    /// When it was opened.
    pub started_at: DateTime<Utc>,
    /// When it was closed; `None` while open.
    pub ended_at: Option<DateTime<Utc>>,
    /// Metadata set on the timestep.
    pub metadata: Map,
}
