//! [`Message`]: something one component sent another during a session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Something one component (agent, environment, tool) sent another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the session, in recording order (given by the session).
    pub id: u64,
    /// Who sent it.
    pub source_id: String,
    /// Who it was for.
    pub target_id: String,
    /// What sort of message it is (`"observation"`, `"tool_call"`, …).
    pub message_type: String,
    /// What it said.
    pub content: Value,
    /// The timestep open when it was sent (filled in by the session when `None`).
    pub timestep: Option<u32>,
    /// When it was sent.
    #[serde(serialize_with = "crate::json::serialize_time")]
    pub at: DateTime<Utc>,
}

impl Message {
    /// A message sent now; the session gives it its id and timestep when it is recorded.
    ///
    /// ```
    /// use agent_trace::Message;
    /// use serde_json::json;
    /// let msg = Message::new("agent", "environment", "action", json!({"move": "left"}));
    /// assert_eq!(msg.timestep, None);
    /// ```
    pub fn new(
        source_id: impl Into<String>,
        target_id: impl Into<String>,
        message_type: impl Into<String>,
        content: Value,
    ) -> Self {
        Message {
            id: 0,
            source_id: source_id.into(),
            target_id: target_id.into(),
            message_type: message_type.into(),
            content,
            timestep: None,
            at: Utc::now(),
        }
    }
}
