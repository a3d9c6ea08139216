//! The computation graph of a traced program: values ([`GraphNode`]s of kind input,
//! parameter, operation or error) and the dependencies between them, recorded by
//! `Node<T>` and `#[bundle]`. Trainable parameters can be improved from feedback:
//! [`InferenceGraph::backward`] gives each trainable ancestor of an output the subgraph
//! and feedback an [`Optimizer`] needs.

mod backward;
mod dot;
mod optimize;
mod svg;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use backward::{Feedback, ParameterFeedback, Propagation};
pub use optimize::{LlmClient, LlmOptimizer, OptimizeError, Optimizer, SearchOptimizer, Updates};

use crate::ErrorRecord;

/// A node's id in its session's graph; ids increase in creation order. `NodeId::DETACHED`
/// (0) is the id of a node made outside any scope, which is in no graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl NodeId {
    /// The id of a node in no graph.
    pub const DETACHED: NodeId = NodeId(0);

    /// Whether the node is in no graph.
    pub fn is_detached(self) -> bool {
        self == NodeId::DETACHED
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A constant input (`node`, `node_named`).
    Input,
    /// A parameter (`parameter`, or a `#[bundle(trainable)]` function's code).
    Parameter,
    /// The result of a `#[bundle]` call.
    Operation,
    /// A `#[bundle]` call that returned `Err` or panicked.
    Error,
}

/// One value of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    /// Its id.
    pub id: NodeId,
    /// What it is.
    pub kind: NodeKind,
    /// A name: the input's or parameter's name, or the bundled function's.
    pub name: String,
    /// The value, as captured.
    pub value: Value,
    /// The nodes it was computed from, in argument order.
    pub dependencies: Vec<NodeId>,
    /// For an operation or error: the event of the call.
    pub event: Option<u64>,
    /// For an operation or error: the call's captured inputs, by parameter name.
    pub inputs: crate::Map,
    /// What the bundled function does (`#[bundle(description = "…")]`).
    pub description: Option<String>,
    /// For an error node: the error.
    pub error: Option<ErrorRecord>,
}

/// A parameter of the graph, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Its node.
    pub node: NodeId,
    /// Its value.
    pub value: Value,
    /// Whether an optimizer may change it.
    pub trainable: bool,
    /// What it is for.
    pub description: Option<String>,
}

/// A session's computation graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InferenceGraph {
    /// Every node, by id.
    pub nodes: Vec<GraphNode>,
    /// The constant inputs.
    pub input_ids: Vec<NodeId>,
    /// The operations nothing else was computed from: the program's results.
    pub output_ids: Vec<NodeId>,
    /// The parameters by name (as `named_parameters` in torch.fx).
    pub parameters: BTreeMap<String, Parameter>,
}

impl InferenceGraph {
    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&GraphNode> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// Recomputes `input_ids` and `output_ids` from the nodes.
    pub fn index(&mut self) {
        self.nodes.sort_by_key(|node| node.id);
        self.input_ids = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Input)
            .map(|n| n.id)
            .collect();
        let used: BTreeSet<NodeId> = self.nodes.iter().flat_map(|n| n.dependencies.iter().copied()).collect();
        self.output_ids = self
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Operation | NodeKind::Error) && !used.contains(&n.id))
            .map(|n| n.id)
            .collect();
    }

    /// Every node, each after all the nodes it depends on; ties broken by creation order.
    /// Dependencies on nodes the graph does not hold are ignored.
    pub fn topological_order(&self) -> Vec<NodeId> {
        let present: BTreeSet<NodeId> = self.nodes.iter().map(|n| n.id).collect();
        let mut waiting: BTreeMap<NodeId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for node in &self.nodes {
            let deps: BTreeSet<NodeId> = node
                .dependencies
                .iter()
                .copied()
                .filter(|d| present.contains(d))
                .collect();
            waiting.insert(node.id, deps.len());
            for dep in deps {
                dependents.entry(dep).or_default().push(node.id);
            }
        }
        let mut ready: BinaryHeap<Reverse<NodeId>> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| Reverse(*id))
            .collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(Reverse(id)) = ready.pop() {
            order.push(id);
            for dependent in dependents.get(&id).into_iter().flatten() {
                if let Some(count) = waiting.get_mut(dependent) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(Reverse(*dependent));
                    }
                }
            }
        }
        order
    }

    /// Every node `id` depends on, directly or not, by id.
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let parents: BTreeMap<NodeId, &[NodeId]> =
            self.nodes.iter().map(|n| (n.id, n.dependencies.as_slice())).collect();
        walk(id, |node| parents.get(&node).copied().unwrap_or_default().to_vec())
    }

    /// Every node that depends on `id`, directly or not, by id.
    pub fn descendants(&self, id: NodeId) -> Vec<NodeId> {
        let mut children: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for node in &self.nodes {
            for dep in &node.dependencies {
                children.entry(*dep).or_default().push(node.id);
            }
        }
        walk(id, |node| children.get(&node).cloned().unwrap_or_default())
    }

    /// The graph restricted to `ids` (parameters kept when their node is).
    pub fn subgraph(&self, ids: &BTreeSet<NodeId>) -> InferenceGraph {
        let mut graph = InferenceGraph {
            nodes: self.nodes.iter().filter(|n| ids.contains(&n.id)).cloned().collect(),
            parameters: self
                .parameters
                .iter()
                .filter(|(_, p)| ids.contains(&p.node))
                .map(|(k, p)| (k.clone(), p.clone()))
                .collect(),
            ..InferenceGraph::default()
        };
        graph.index();
        graph
    }
}

/// Every node reachable from `start` through `next`, without `start`, sorted.
fn walk(start: NodeId, next: impl Fn(NodeId) -> Vec<NodeId>) -> Vec<NodeId> {
    let mut seen = BTreeSet::new();
    let mut stack = next(start);
    while let Some(node) = stack.pop() {
        if node != start && seen.insert(node) {
            stack.extend(next(node));
        }
    }
    seen.into_iter().collect()
}
