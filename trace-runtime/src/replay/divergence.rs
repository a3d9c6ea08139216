//! [`Divergence`]: where a replayed run stopped matching its recording.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a replayed run first asked for what its recording could not give: the call, the
/// recorded event it was matched with (if any), and the field that differs.
///
/// ```
/// use agent_trace::replay::Divergence;
/// let divergence = Divergence {
///     path: "agent decide/llm complete".into(),
///     index: 3,
///     recorded_event: Some(14),
///     replayed_event: Some(15),
///     field: "inputs.prompt".into(),
///     recorded: Some("Turn 3.".into()),
///     replayed: Some("Turn 3!".into()),
///     reason: "the inputs differ".into(),
/// };
/// assert_eq!(
///     divergence.to_string(),
///     "call 4 of agent decide/llm complete (recorded event 14): inputs.prompt: the inputs differ \
///      (recorded \"Turn 3.\", replayed \"Turn 3!\")"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The call's path: its kind and name, after those of the calls it ran inside,
    /// outermost first, joined by `/` (`runtime run_episode/agent decide/llm complete`).
    pub path: String,
    /// Which call of that path, from 0.
    pub index: usize,
    /// The recorded event it was matched with; `None` when the recording has no such call.
    pub recorded_event: Option<u64>,
    /// The replayed run's event, if it records one.
    pub replayed_event: Option<u64>,
    /// What differs: `call` (no recorded call there), `inputs.<name>`, `output`, `error`,
    /// `outcome` or `return type`.
    pub field: String,
    /// The recorded value, where there is one.
    pub recorded: Option<Value>,
    /// The replayed run's value, where there is one.
    pub replayed: Option<Value>,
    /// Why it could not be answered.
    pub reason: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {} of {}", self.index + 1, self.path)?;
        if let Some(event) = self.recorded_event {
            write!(f, " (recorded event {event})")?;
        }
        write!(f, ": {}: {}", self.field, self.reason)?;
        match (&self.recorded, &self.replayed) {
            (Some(recorded), Some(replayed)) => {
                write!(f, " (recorded {}, replayed {})", short(recorded), short(replayed))
            }
            (Some(recorded), None) => write!(f, " (recorded {})", short(recorded)),
            (None, Some(replayed)) => write!(f, " (replayed {})", short(replayed)),
            (None, None) => Ok(()),
        }
    }
}

/// A value's JSON text, cut to about 200 characters for a message.
fn short(value: &Value) -> String {
    const SHOWN: usize = 200;
    let text = value.to_string();
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
