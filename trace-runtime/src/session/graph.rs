//! The session's part in the computation graph: its nodes and parameters.

use std::sync::atomic::Ordering;

use serde_json::Value;
use trace_core::Map;
use trace_core::graph::{GraphNode, InferenceGraph, NodeId, NodeKind, Parameter, Updates};

use super::Session;
use crate::sync::lock;
use crate::tracer::parameters::ParameterStore;

impl Session {
    /// The session's computation graph so far (see `Node` and `#[bundle]`).
    pub fn graph(&self) -> InferenceGraph {
        let mut graph = lock(&self.inner.state).graph.clone();
        graph.index();
        graph
    }

    /// Stores an optimizer's updates in the tracer's parameter store, where `parameter`
    /// finds them in the next session.
    pub fn apply(&self, updates: &Updates) {
        self.parameters().apply(updates);
    }

    pub(crate) fn parameters(&self) -> &ParameterStore {
        &self.inner.tracer.parameters
    }

    /// Reserves a graph node id.
    pub(crate) fn next_node_id(&self) -> NodeId {
        NodeId(self.inner.next_node_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Adds a node to the graph; returns its id.
    pub(crate) fn add_graph_node(
        &self,
        kind: NodeKind,
        name: String,
        value: Value,
        dependencies: Vec<NodeId>,
    ) -> NodeId {
        let id = self.next_node_id();
        self.insert_graph_node(GraphNode {
            id,
            kind,
            name,
            value,
            dependencies,
            event: None,
            inputs: Map::new(),
            description: None,
            error: None,
        });
        id
    }

    /// Inserts a node whose id was reserved.
    pub(crate) fn insert_graph_node(&self, node: GraphNode) {
        let mut state = lock(&self.inner.state);
        if state.ended {
            drop(state);
            self.count_rejected();
            return;
        }
        state.graph.nodes.push(node);
    }

    /// The node of a parameter, made on first use.
    pub(crate) fn register_parameter(
        &self,
        name: &str,
        value: Value,
        trainable: bool,
        description: Option<String>,
    ) -> NodeId {
        if let Some(existing) = lock(&self.inner.state).graph.parameters.get(name) {
            return existing.node;
        }
        let id = self.next_node_id();
        let mut state = lock(&self.inner.state);
        if let Some(existing) = state.graph.parameters.get(name) {
            return existing.node;
        }
        state.graph.nodes.push(GraphNode {
            id,
            kind: NodeKind::Parameter,
            name: name.to_owned(),
            value: value.clone(),
            dependencies: Vec::new(),
            event: None,
            inputs: Map::new(),
            description: description.clone(),
            error: None,
        });
        state.graph.parameters.insert(
            name.to_owned(),
            Parameter {
                node: id,
                value,
                trainable,
                description,
            },
        );
        id
    }
}
