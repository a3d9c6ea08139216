//! [`Reward`]: a score given to a whole session (an outcome reward) or to one event.

use serde::{Deserialize, Serialize};

use crate::Map;

/// A score: for the whole session when `event` is `None` (an outcome reward), else for
/// that event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    /// What is scored (`"goal_reached"`, `"helpfulness"`, …).
    pub name: String,
    /// The score; must be finite.
    pub value: f64,
    /// The event scored, or `None` for the whole session.
    pub event: Option<u64>,
    /// Anything else about the score (who gave it, how).
    pub metadata: Map,
}

impl Reward {
    /// An outcome reward for the whole session.
    ///
    /// ```
    /// let reward = agent_trace::Reward::outcome("goal_reached", 1.0);
    /// assert_eq!(reward.event, None);
    /// ```
    pub fn outcome(name: impl Into<String>, value: f64) -> Reward {
        Reward {
            name: name.into(),
            value,
            event: None,
            metadata: Map::new(),
        }
    }

    /// A reward for one event.
    pub fn for_event(event: u64, name: impl Into<String>, value: f64) -> Reward {
        Reward {
            name: name.into(),
            value,
            event: Some(event),
            metadata: Map::new(),
        }
    }
}
