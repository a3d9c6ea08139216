//! Optimizers: turning a [`Propagation`] into new parameter values.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Propagation;

/// New values for parameters, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Updates(pub BTreeMap<String, Value>);

/// Why an optimizer could not propose updates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    /// The reply holds no JSON object.
    #[error("the optimizer's reply holds no JSON object: {excerpt:?}")]
    NoJson {
        /// The start of the reply.
        excerpt: String,
    },
    /// The reply's JSON does not parse.
    #[error("the optimizer's reply is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The reply has no `suggestion` object.
    #[error(
        "the optimizer's reply has no \"suggestion\" object (expected {{\"reasoning\": …, \"answer\": …, \"suggestion\": {{name: value}}}})"
    )]
    MissingSuggestion,
    /// The reply suggests a value for a parameter that is not trainable here.
    #[error("the optimizer suggested `{name}`, which is not a trainable parameter of this problem; those are: {known}")]
    UnknownParameter {
        /// The name suggested.
        name: String,
        /// The trainable parameters.
        known: String,
    },
    /// A search needs scored feedback.
    #[error("this optimizer needs a score in the feedback (Feedback::scored)")]
    MissingScore,
    /// The propagation reached no trainable parameter.
    #[error("the output depends on no trainable parameter: nothing to optimize")]
    NothingToOptimize,
    /// The language model client failed.
    #[error("the language model client failed: {0}")]
    Client(String),
}

impl Updates {
    /// Parses a language model's reply of the form
    /// `{"reasoning": …, "answer": …, "suggestion": {"<parameter>": <value>}}` (surrounding
    /// text and a code fence are allowed), keeping only trainable parameters of
    /// `propagation`.
    ///
    /// ```
    /// # use agent_trace::graph::{InferenceGraph, NodeId, Updates, Propagation, Feedback};
    /// # let propagation = Propagation { output: NodeId(1), feedback: "x".into(), graph: InferenceGraph::default(), parameters: vec![] };
    /// let reply = r#"Here you go: {"reasoning": "too strict", "answer": "", "suggestion": {}}"#;
    /// assert!(Updates::from_llm_reply(reply, &propagation)?.0.is_empty());
    /// # Ok::<(), agent_trace::graph::OptimizeError>(())
    /// ```
    pub fn from_llm_reply(reply: &str, propagation: &Propagation) -> Result<Updates, OptimizeError> {
        let (Some(start), Some(end)) = (reply.find('{'), reply.rfind('}')) else {
            return Err(OptimizeError::NoJson {
                excerpt: reply.chars().take(80).collect(),
            });
        };
        if end < start {
            return Err(OptimizeError::NoJson {
                excerpt: reply.chars().take(80).collect(),
            });
        }
        let parsed: Value = serde_json::from_str(&reply[start..=end]).map_err(OptimizeError::InvalidJson)?;
        let Some(Value::Object(suggestion)) = parsed.get("suggestion") else {
            return Err(OptimizeError::MissingSuggestion);
        };
        let known: BTreeSet<&str> = propagation.parameters.iter().map(|p| p.name.as_str()).collect();
        let mut updates = BTreeMap::new();
        for (name, value) in suggestion {
            if !known.contains(name.as_str()) {
                let known = known.iter().copied().collect::<Vec<_>>().join(", ");
                return Err(OptimizeError::UnknownParameter {
                    name: name.clone(),
                    known,
                });
            }
            updates.insert(name.clone(), value.clone());
        }
        Ok(Updates(updates))
    }
}

/// Something that proposes new parameter values from a propagation.
pub trait Optimizer {
    /// Proposes updates for the propagation's trainable parameters.
    fn step(&mut self, propagation: &Propagation) -> Result<Updates, OptimizeError>;
}

/// A search over candidate values, with no model and no network: each step records the
/// score of the current values (the feedback's score), then proposes the next untried
/// candidate for one parameter at a time, the others held at the best values so far; when
/// every candidate has been tried it proposes the best values found. Deterministic.
#[derive(Debug, Clone, Default)]
pub struct SearchOptimizer {
    candidates: BTreeMap<String, Vec<Value>>,
    scores: Vec<(BTreeMap<String, Value>, f64)>,
}

impl SearchOptimizer {
    /// A search over `candidates`: for each parameter name, the values to try.
    pub fn new(candidates: BTreeMap<String, Vec<Value>>) -> SearchOptimizer {
        SearchOptimizer {
            candidates,
            scores: Vec::new(),
        }
    }

    /// The best values and score seen so far.
    pub fn best(&self) -> Option<(&BTreeMap<String, Value>, f64)> {
        self.scores.iter().fold(
            None,
            |best: Option<(&BTreeMap<String, Value>, f64)>, (values, score)| match best {
                Some((_, top)) if top >= *score => best,
                _ => Some((values, *score)),
            },
        )
    }
}

impl Optimizer for SearchOptimizer {
    fn step(&mut self, propagation: &Propagation) -> Result<Updates, OptimizeError> {
        let score = propagation.feedback.score.ok_or(OptimizeError::MissingScore)?;
        if propagation.parameters.is_empty() {
            return Err(OptimizeError::NothingToOptimize);
        }
        let current: BTreeMap<String, Value> = propagation
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        self.scores.push((current.clone(), score));
        let best = self.best().map(|(values, _)| values.clone()).unwrap_or(current);
        let tried = |values: &BTreeMap<String, Value>| self.scores.iter().any(|(seen, _)| seen == values);
        for (name, options) in &self.candidates {
            if !best.contains_key(name) {
                continue;
            }
            for option in options {
                let mut proposal = best.clone();
                proposal.insert(name.clone(), option.clone());
                if !tried(&proposal) {
                    return Ok(Updates(
                        proposal.into_iter().filter(|(n, v)| best.get(n) != Some(v)).collect(),
                    ));
                }
            }
        }
        Ok(Updates(best))
    }
}

/// A language model, as an optimizer needs it. Implement it for your client — an HTTP call
/// to a model provider (with `reqwest::blocking`, or `block_on` of an async client).
pub trait LlmClient {
    /// Completes a prompt.
    fn complete(&mut self, prompt: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;
}

/// An optimizer that asks a language model, OptoPrime-style: it sends the propagation's
/// [`problem`](Propagation::problem) with instructions to reply
/// `{"reasoning": …, "answer": …, "suggestion": {name: value}}` and parses the reply.
#[derive(Debug)]
pub struct LlmOptimizer<C> {
    client: C,
}

/// What the optimizer asks the model before the problem.
const INSTRUCTIONS: &str = "You are an optimizer of a traced program. Read the problem below. Reply with one JSON \
object: {\"reasoning\": \"<why>\", \"answer\": \"<empty unless asked>\", \"suggestion\": {\"<variable name>\": <new value>}} \
suggesting new values only for variables listed in #Variables.\n\n";

impl<C: LlmClient> LlmOptimizer<C> {
    /// An optimizer that asks `client`.
    pub fn new(client: C) -> LlmOptimizer<C> {
        LlmOptimizer { client }
    }

    /// The prompt it sends for a propagation.
    pub fn prompt(propagation: &Propagation) -> String {
        format!("{INSTRUCTIONS}{}", propagation.problem())
    }
}

impl<C: LlmClient> Optimizer for LlmOptimizer<C> {
    fn step(&mut self, propagation: &Propagation) -> Result<Updates, OptimizeError> {
        if propagation.parameters.is_empty() {
            return Err(OptimizeError::NothingToOptimize);
        }
        let reply = self
            .client
            .complete(&Self::prompt(propagation))
            .map_err(|error| OptimizeError::Client(error.to_string()))?;
        Updates::from_llm_reply(&reply, propagation)
    }
}
