//! [`InferenceGraph::backward`]: from an output and feedback on it, what each trainable
//! parameter that contributed to it needs to be improved.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{GraphNode, InferenceGraph, NodeId, NodeKind};

/// Feedback on an output: what a person or a check said, and optionally a score (higher
/// is better) for optimizers that search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// What was said.
    pub text: String,
    /// A score, higher is better.
    pub score: Option<f64>,
}

impl Feedback {
    /// Feedback with a score.
    pub fn scored(text: impl Into<String>, score: f64) -> Feedback {
        Feedback {
            text: text.into(),
            score: Some(score),
        }
    }
}

impl From<&str> for Feedback {
    fn from(text: &str) -> Feedback {
        Feedback {
            text: text.to_owned(),
            score: None,
        }
    }
}

impl From<String> for Feedback {
    fn from(text: String) -> Feedback {
        Feedback { text, score: None }
    }
}

/// What one trainable parameter receives from [`InferenceGraph::backward`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterFeedback {
    /// The parameter's name.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// Its current value.
    pub value: Value,
    /// The nodes on the paths from the parameter to the output.
    pub subgraph: InferenceGraph,
    /// The feedback on the output.
    pub feedback: String,
}

/// The result of [`InferenceGraph::backward`]: the output's computation and, for every
/// trainable parameter it depends on, that parameter's part in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Propagation {
    /// The output the feedback is about.
    pub output: NodeId,
    /// The feedback.
    pub feedback: Feedback,
    /// The output and everything it was computed from.
    pub graph: InferenceGraph,
    /// The trainable parameters the output depends on, by name.
    pub parameters: Vec<ParameterFeedback>,
}

impl InferenceGraph {
    /// Propagates feedback on `output` back to every trainable parameter it depends on.
    /// Parameters the output does not depend on receive nothing.
    ///
    /// ```
    /// use agent_trace::graph::{GraphNode, InferenceGraph, NodeId, NodeKind, Parameter};
    /// use serde_json::json;
    /// let node = |id, kind, name: &str, deps: Vec<u64>| GraphNode {
    ///     id: NodeId(id), kind, name: name.into(), value: json!(id),
    ///     dependencies: deps.into_iter().map(NodeId).collect(),
    ///     event: None, inputs: Default::default(), description: None, error: None,
    /// };
    /// let mut graph = InferenceGraph {
    ///     nodes: vec![node(1, NodeKind::Parameter, "threshold", vec![]), node(2, NodeKind::Input, "x", vec![]),
    ///                 node(3, NodeKind::Operation, "classify", vec![1, 2])],
    ///     ..InferenceGraph::default()
    /// };
    /// graph.parameters.insert("threshold".into(), Parameter { node: NodeId(1), value: json!(1), trainable: true, description: None });
    /// graph.index();
    /// let propagation = graph.backward(NodeId(3), "the label is wrong");
    /// assert_eq!(propagation.parameters[0].name, "threshold");
    /// assert!(propagation.problem().contains("#Feedback\nthe label is wrong"));
    /// ```
    pub fn backward(&self, output: NodeId, feedback: impl Into<Feedback>) -> Propagation {
        let feedback = feedback.into();
        let mut upstream: BTreeSet<NodeId> = self.ancestors(output).into_iter().collect();
        upstream.insert(output);
        let graph = self.subgraph(&upstream);
        let parameters = self
            .parameters
            .iter()
            .filter(|(_, parameter)| parameter.trainable && upstream.contains(&parameter.node))
            .map(|(name, parameter)| {
                let mut path: BTreeSet<NodeId> = self
                    .descendants(parameter.node)
                    .into_iter()
                    .filter(|id| upstream.contains(id))
                    .collect();
                path.insert(parameter.node);
                ParameterFeedback {
                    name: name.clone(),
                    node: parameter.node,
                    value: parameter.value.clone(),
                    subgraph: self.subgraph(&path),
                    feedback: feedback.text.clone(),
                }
            })
            .collect();
        Propagation {
            output,
            feedback,
            graph,
            parameters,
        }
    }
}

impl Propagation {
    /// The problem as an optimizer prompt presents it, in the sections OptoPrime uses:
    /// `#Instruction #Code #Documentation #Variables #Constraints #Inputs #Others #Outputs
    /// #Feedback`. `#Code` has one line per call, in topological order.
    pub fn problem(&self) -> String {
        let graph = &self.graph;
        let name_of = |id: NodeId| graph.node(id).map_or_else(|| id.to_string(), display_name);
        let trainable: BTreeSet<NodeId> = self.parameters.iter().map(|p| p.node).collect();
        let mut out = String::new();
        out.push_str(
            "#Instruction\nChange the values of the variables in #Variables to improve the output in accordance with #Feedback.\n\n",
        );
        out.push_str("#Code\n");
        for id in graph.topological_order() {
            let Some(node) = graph.node(id) else { continue };
            if matches!(node.kind, NodeKind::Operation | NodeKind::Error) {
                let args: Vec<String> = node.dependencies.iter().map(|dep| name_of(*dep)).collect();
                let _ = writeln!(out, "{} = {}({})", display_name(node), node.name, args.join(", "));
            }
        }
        out.push_str("\n#Documentation\n");
        let mut documented = BTreeSet::new();
        for node in &graph.nodes {
            if let Some(description) = &node.description
                && documented.insert(node.name.clone())
            {
                let _ = writeln!(out, "[{}] {description}", node.name);
            }
        }
        out.push_str("\n#Variables\n");
        for parameter in &self.parameters {
            let _ = writeln!(
                out,
                "({}) {}={}",
                type_name(&parameter.value),
                parameter.name,
                show(&parameter.value)
            );
        }
        out.push_str("\n#Constraints\n");
        for (name, parameter) in &graph.parameters {
            if let Some(description) = parameter
                .description
                .as_ref()
                .filter(|_| trainable.contains(&parameter.node))
            {
                let _ = writeln!(out, "({name}) {description}");
            }
        }
        let mut section = |title: &str, keep: &dyn Fn(&GraphNode) -> bool| {
            let _ = writeln!(out, "\n#{title}");
            for node in graph.nodes.iter().filter(|n| keep(n)) {
                let _ = writeln!(
                    out,
                    "({}) {}={}",
                    type_name(&node.value),
                    display_name(node),
                    show(&node.value)
                );
                if let Some(error) = &node.error {
                    let _ = writeln!(out, "  raised {}: {}", error.kind, error.message);
                }
            }
        };
        section("Inputs", &|n| {
            n.kind == NodeKind::Input || (n.kind == NodeKind::Parameter && !trainable.contains(&n.id))
        });
        section("Others", &|n| {
            matches!(n.kind, NodeKind::Operation | NodeKind::Error) && n.id != self.output
        });
        section("Outputs", &|n| n.id == self.output);
        let _ = write!(out, "\n#Feedback\n{}\n", self.feedback.text);
        out
    }
}

/// How a node is named in the problem: inputs and parameters by name, calls by the
/// function's name and the node's number.
fn display_name(node: &GraphNode) -> String {
    match node.kind {
        NodeKind::Input | NodeKind::Parameter => node.name.clone(),
        NodeKind::Operation | NodeKind::Error => {
            let short = node.name.rsplit("::").next().unwrap_or(&node.name);
            format!("{short}{}", node.id.0)
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
