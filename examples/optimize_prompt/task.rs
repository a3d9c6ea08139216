//! The task: classify short reviews as positive or negative. The "model" is scripted — it
//! scores a review by the share of the prompt template's cue words it contains — so the
//! example runs with no network; the template and the decision threshold are the
//! trainable parameters an optimizer tunes from the accuracy on a labelled set.

use std::collections::BTreeMap;

use agent_trace::graph::{Feedback, InferenceGraph, NodeId, Optimizer, SearchOptimizer};
use agent_trace::{Node, SessionTracer, TracerContext, bundle, node_named, parameter};
use serde_json::{Value, json};

/// Reviews and whether each is positive; shipped with the example.
pub const LABELLED: &[(&str, bool)] = &[
    ("great battery and a bright screen", true),
    ("the screen cracked in a week", false),
    ("fast delivery, works great", true),
    ("terrible support, never again", false),
    ("love the sound, great value", true),
    ("stopped working after a day", false),
    ("excellent build quality", true),
    ("broken on arrival, refund please", false),
    ("works as described, happy", true),
    ("awful smell and cheap plastic", false),
    ("my kids love it", true),
    ("battery died, poor quality", false),
];

/// Prompt templates to try; the cue words are what the scripted model looks for.
pub const TEMPLATES: &[&str] = &[
    "Is this review positive? Cues: good, nice",
    "Is this review positive? Cues: great, love, excellent, happy, works",
    "Is this review positive? Cues: great, love",
];

/// Thresholds to try.
pub const THRESHOLDS: &[f64] = &[0.9, 0.5, 0.2];

/// The scripted model: the share of the template's cue words (after `Cues:`) in the text,
/// scaled so that one cue is a strong signal.
fn scripted_score(template: &str, text: &str) -> f64 {
    let cues: Vec<&str> = template
        .split("Cues:")
        .nth(1)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let hits = cues
        .iter()
        .filter(|cue| text.split(|c: char| !c.is_alphanumeric()).any(|word| word == **cue))
        .count();
    (hits as f64 * 0.6).min(1.0)
}

/// Classifies one review: positive when the model's score passes the threshold.
#[bundle(
    trainable,
    description = "Classifies a review as positive when the model's cue score reaches the threshold."
)]
pub fn classify(review: Node<String>, template: &Node<String>, threshold: &Node<f64>) -> bool {
    scripted_score(template, &review) >= **threshold
}

/// The share of predictions that match the labels.
#[bundle(description = "The share of predictions equal to the labels.")]
pub fn accuracy(predictions: Vec<Node<bool>>, labels: Vec<bool>) -> f64 {
    let right = predictions
        .iter()
        .zip(&labels)
        .filter(|(prediction, label)| ***prediction == **label)
        .count();
    right as f64 / labels.len().max(1) as f64
}

/// One round: classify the labelled set in a new session of `tracer` with the current
/// parameters; returns the accuracy, the graph and the accuracy's node.
pub fn run_round(tracer: &SessionTracer) -> (f64, InferenceGraph, NodeId) {
    let session = tracer.start_session();
    let result = TracerContext::new(&session).sync_scope(|| {
        let template = parameter("prompt_template", TEMPLATES[0].to_owned());
        let threshold = parameter("threshold", THRESHOLDS[0]);
        let predictions: Vec<Node<bool>> = LABELLED
            .iter()
            .enumerate()
            .map(|(i, (text, _))| {
                classify(
                    node_named(format!("review_{i}"), (*text).to_owned()),
                    &template,
                    &threshold,
                )
            })
            .collect();
        accuracy(predictions, LABELLED.iter().map(|(_, label)| *label).collect())
    });
    let graph = session.graph();
    let _ = session.end();
    (*result, graph, result.id())
}

/// The search over the example's candidates.
pub fn search_optimizer() -> SearchOptimizer {
    let mut candidates: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    candidates.insert("prompt_template".into(), TEMPLATES.iter().map(|t| json!(t)).collect());
    candidates.insert("threshold".into(), THRESHOLDS.iter().map(|t| json!(t)).collect());
    SearchOptimizer::new(candidates)
}

/// Runs `rounds` rounds of classify → score → backward → optimize; returns the accuracy of
/// each round and the last round's graph.
pub fn optimize(tracer: &SessionTracer, optimizer: &mut impl Optimizer, rounds: usize) -> (Vec<f64>, InferenceGraph) {
    let mut scores = Vec::new();
    let mut last_graph = InferenceGraph::default();
    for _ in 0..rounds {
        let (score, graph, output) = run_round(tracer);
        scores.push(score);
        let feedback = Feedback::scored(
            format!(
                "accuracy {score:.2} on {} labelled reviews; higher is better",
                LABELLED.len()
            ),
            score,
        );
        let propagation = graph.backward(output, feedback);
        if let Ok(updates) = optimizer.step(&propagation) {
            tracer.parameters().apply(&updates);
        }
        last_graph = graph;
    }
    (scores, last_graph)
}
