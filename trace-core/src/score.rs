//! [`Score`]: a judgement of a session or of one of its calls, given while it runs or at
//! any time after — by a person, an evaluator or code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A judgement of a session (`event: None`) or of one of its events: a number or a label,
/// with who gave it and when.
///
/// Rewards ([`Reward`](crate::Reward)) are what the program measured while it ran;
/// scores are what was judged of it, also later and from elsewhere (a reviewer, an
/// evaluation job): `TraceStore::open_writable(path)?.add_score(..)` adds one to a stored
/// session, from any process.
///
/// ```
/// use agent_trace::{Score, ScoreSource};
/// let score = Score::number("accuracy", 0.92, ScoreSource::Evaluator).comment("3 of 40 wrong");
/// assert_eq!(score.value.as_number(), Some(0.92));
/// let verdict = Score::label("tone", "polite", ScoreSource::Human).for_event(7);
/// assert_eq!(verdict.event, Some(7));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// What is judged (`"accuracy"`, `"tone"`).
    pub name: String,
    /// The judgement.
    pub value: ScoreValue,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who gave it.
    pub source: ScoreSource,
    /// When it was given.
    pub at: DateTime<Utc>,
    /// The event judged, or `None` for the whole session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
}

/// A score's value: a number, or a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScoreValue {
    /// A number (must be finite).
    Number(f64),
    /// A label (`"correct"`, `"polite"`).
    Label(String),
}

impl ScoreValue {
    /// The number, for a numeric score.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ScoreValue::Number(value) => Some(*value),
            ScoreValue::Label(_) => None,
        }
    }

    /// The label, for a labelled score.
    pub fn as_label(&self) -> Option<&str> {
        match self {
            ScoreValue::Number(_) => None,
            ScoreValue::Label(label) => Some(label),
        }
    }
}

/// Who gave a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// A person.
    Human,
    /// An evaluator (an LLM judge, an evaluation job).
    Evaluator,
    /// The program itself, or a check in code.
    Code,
}

impl ScoreSource {
    /// Its name as stored: `human`, `evaluator`, `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreSource::Human => "human",
            ScoreSource::Evaluator => "evaluator",
            ScoreSource::Code => "code",
        }
    }

    /// The source a stored name names.
    pub fn from_name(name: &str) -> Option<ScoreSource> {
        match name {
            "human" => Some(ScoreSource::Human),
            "evaluator" => Some(ScoreSource::Evaluator),
            "code" => Some(ScoreSource::Code),
            _ => None,
        }
    }
}

impl Score {
    /// A numeric score of the whole session, given now.
    pub fn number(name: impl Into<String>, value: f64, source: ScoreSource) -> Score {
        Score {
            name: name.into(),
            value: ScoreValue::Number(value),
            comment: None,
            source,
            at: Utc::now(),
            event: None,
        }
    }

    /// A labelled score of the whole session, given now.
    pub fn label(name: impl Into<String>, label: impl Into<String>, source: ScoreSource) -> Score {
        Score {
            value: ScoreValue::Label(label.into()),
            ..Score::number(name, 0.0, source)
        }
    }

    /// The same score, of event `event`.
    #[must_use]
    pub fn for_event(mut self, event: u64) -> Score {
        self.event = Some(event);
        self
    }

    /// The same score, with a comment.
    #[must_use]
    pub fn comment(mut self, comment: impl Into<String>) -> Score {
        self.comment = Some(comment.into());
        self
    }

    /// What is wrong with it, if anything: an empty name, a number that is not finite.
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() {
            return Some("a score needs a name".to_owned());
        }
        match self.value {
            ScoreValue::Number(value) if !value.is_finite() => {
                Some(format!("score {:?} is {value}; a score must be finite", self.name))
            }
            _ => None,
        }
    }
}
