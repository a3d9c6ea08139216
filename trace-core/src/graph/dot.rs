//! Rendering a graph as Graphviz DOT.

use std::fmt::Write;

use super::{InferenceGraph, NodeKind};

/// The longest value shown in a label.
const VALUE_PREVIEW: usize = 48;

impl InferenceGraph {
    /// The graph in Graphviz DOT: inputs as boxes, parameters filled (trainable ones gold),
    /// operations as ellipses, errors red, outputs as double octagons, an edge from each
    /// dependency. Labels are escaped, so any value renders.
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph inference {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n");
        for node in &self.nodes {
            let is_output = self.output_ids.contains(&node.id);
            let shape = match node.kind {
                _ if is_output => "doubleoctagon",
                NodeKind::Input => "box",
                NodeKind::Parameter => "box",
                NodeKind::Operation | NodeKind::Error => "ellipse",
            };
            let style = match node.kind {
                NodeKind::Parameter => {
                    let trainable = self.parameters.values().any(|p| p.node == node.id && p.trainable);
                    if trainable {
                        ", style=\"filled,rounded\", fillcolor=\"gold\""
                    } else {
                        ", style=\"filled,rounded\", fillcolor=\"lightgrey\""
                    }
                }
                NodeKind::Error => ", color=\"red\", fontcolor=\"red\"",
                _ => "",
            };
            let value = match &node.value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let label = format!("{} {}\n{}", node.id, node.name, preview(&value));
            let _ = writeln!(
                dot,
                "  {} [label=\"{}\", shape={shape}{style}];",
                node.id,
                escape(&label)
            );
        }
        for node in &self.nodes {
            for dep in &node.dependencies {
                let _ = writeln!(dot, "  {dep} -> {};", node.id);
            }
        }
        dot.push_str("}\n");
        dot
    }
}

fn preview(text: &str) -> String {
    if text.chars().count() <= VALUE_PREVIEW {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(VALUE_PREVIEW).collect();
        format!("{cut}…")
    }
}

/// Escapes a DOT string: backslashes, quotes and line breaks.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}
