//! Rendering a graph as SVG, laid out here: no Graphviz needed.
//!
//! The layout is layered: a node sits one layer below the lowest of its dependencies
//! (inputs and parameters on top), nodes of a layer side by side in id order, an edge from
//! the bottom of each dependency to the top of the node.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{InferenceGraph, NodeId, NodeKind};

/// The longest text of a node's label line.
const LABEL_CHARS: usize = 28;
const CHAR_WIDTH: f64 = 7.2;
const NODE_HEIGHT: f64 = 46.0;
const LAYER_GAP: f64 = 70.0;
const NODE_GAP: f64 = 24.0;
const MARGIN: f64 = 16.0;

/// A node as drawn: where, how wide, and what it says.
struct Placed {
    x: f64,
    y: f64,
    width: f64,
    title: String,
    detail: String,
    class: &'static str,
}

impl InferenceGraph {
    /// The graph as a standalone SVG document: inputs, parameters (trainable ones marked
    /// `★ trainable`, in gold), operations, errors (red) and outputs (a double border),
    /// each with its name and a preview of its value, an arrow from each dependency. Every
    /// text is escaped, so any value renders; the document has no script.
    ///
    /// ```
    /// use agent_trace::graph::InferenceGraph;
    /// let svg = InferenceGraph::default().to_svg();
    /// assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    /// ```
    pub fn to_svg(&self) -> String {
        let order = self.topological_order();
        let mut layer: BTreeMap<NodeId, usize> = BTreeMap::new();
        for id in &order {
            let depth = self
                .node(*id)
                .map(|node| {
                    node.dependencies
                        .iter()
                        .filter_map(|dependency| layer.get(dependency))
                        .map(|depth| depth + 1)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            layer.insert(*id, depth);
        }
        let mut layers: BTreeMap<usize, Vec<NodeId>> = BTreeMap::new();
        for node in &self.nodes {
            layers
                .entry(layer.get(&node.id).copied().unwrap_or(0))
                .or_default()
                .push(node.id);
        }
        let trainable = |name: &str| self.parameters.get(name).is_some_and(|parameter| parameter.trainable);

        let mut placed: BTreeMap<NodeId, Placed> = BTreeMap::new();
        let mut total_width: f64 = 0.0;
        for (depth, ids) in &layers {
            let mut x = MARGIN;
            for id in ids {
                let Some(node) = self.node(*id) else { continue };
                let class = match node.kind {
                    NodeKind::Parameter if trainable(&node.name) => "trainable",
                    NodeKind::Parameter => "parameter",
                    NodeKind::Input => "input",
                    NodeKind::Operation => "operation",
                    NodeKind::Error => "error",
                };
                let mut title = clip(&node.name);
                if class == "trainable" {
                    title = format!("★ trainable {title}");
                }
                let detail = match &node.error {
                    Some(error) => clip(&error.message),
                    None => clip(&match &node.value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    }),
                };
                let chars = title.chars().count().max(detail.chars().count()).max(6);
                let width = chars as f64 * CHAR_WIDTH + 20.0;
                let y = MARGIN + *depth as f64 * (NODE_HEIGHT + LAYER_GAP);
                placed.insert(
                    *id,
                    Placed {
                        x,
                        y,
                        width,
                        title,
                        detail,
                        class,
                    },
                );
                x += width + NODE_GAP;
            }
            total_width = total_width.max(x - NODE_GAP + MARGIN);
        }
        let height = MARGIN * 2.0 + layers.len() as f64 * (NODE_HEIGHT + LAYER_GAP) - LAYER_GAP;
        let width = total_width.max(MARGIN * 2.0 + 100.0);
        let height = height.max(MARGIN * 2.0 + NODE_HEIGHT);

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
        );
        svg.push_str(concat!(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">",
            "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/></marker></defs>\n",
            "<style>.input{fill:#e8f0fe;stroke:#4a6fa5}.parameter{fill:#eeeeee;stroke:#777}",
            ".trainable{fill:#ffd966;stroke:#b8860b;stroke-width:2}.operation{fill:#ffffff;stroke:#333}",
            ".error{fill:#fde0e0;stroke:#c00;stroke-width:2}.edge{stroke:#666;fill:none}</style>\n",
        ));
        for node in &self.nodes {
            let Some(to) = placed.get(&node.id) else { continue };
            for dependency in &node.dependencies {
                let Some(from) = placed.get(dependency) else { continue };
                let (x1, y1) = (from.x + from.width / 2.0, from.y + NODE_HEIGHT);
                let (x2, y2) = (to.x + to.width / 2.0, to.y);
                let middle = (y1 + y2) / 2.0;
                let _ = writeln!(
                    svg,
                    r#"<path class="edge" d="M{x1:.1},{y1:.1} C{x1:.1},{middle:.1} {x2:.1},{middle:.1} {x2:.1},{y2:.1}" marker-end="url(#arrow)"/>"#
                );
            }
        }
        for node in &self.nodes {
            let Some(at) = placed.get(&node.id) else { continue };
            let _ = writeln!(svg, r#"<g data-node="{}">"#, node.id.0);
            let _ = writeln!(
                svg,
                r#"<rect class="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{NODE_HEIGHT}" rx="6"/>"#,
                at.class, at.x, at.y, at.width
            );
            if self.output_ids.contains(&node.id) {
                let _ = writeln!(
                    svg,
                    r##"<rect fill="none" stroke="#333" x="{:.1}" y="{:.1}" width="{:.1}" height="{}" rx="8"/>"##,
                    at.x - 3.0,
                    at.y - 3.0,
                    at.width + 6.0,
                    NODE_HEIGHT + 6.0
                );
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
                at.x + 10.0,
                at.y + 19.0,
                escape(&at.title)
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" fill="#444">{}</text>"##,
                at.x + 10.0,
                at.y + 36.0,
                escape(&at.detail)
            );
            svg.push_str("</g>\n");
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// A text on one line, cut to [`LABEL_CHARS`].
fn clip(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if line.chars().count() <= LABEL_CHARS {
        line
    } else {
        format!("{}…", line.chars().take(LABEL_CHARS - 1).collect::<String>())
    }
}

/// Text as XML character data.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
