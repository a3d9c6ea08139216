//! [`Node<T>`]: a value that knows its place in the session's computation graph.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::Value;
use trace_core::capture;
use trace_core::graph::{NodeId, NodeKind, Updates};

use crate::sync::lock;

/// A value with an id in the current session's graph. Dereferences to the value.
///
/// Made by [`node`], [`node_named`] and [`parameter`], and returned by `#[bundle]`
/// functions; a `#[bundle]` function's `Node` arguments become the dependencies of its
/// result. Outside a scope a node is a plain value in no graph (`id()` is
/// `NodeId::DETACHED`).
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, node, parameter};
/// let session = SessionTracer::default().start_session();
/// let (x, threshold) = TracerContext::new(&session).sync_scope(|| (node(0.7), parameter("threshold", 0.5)));
/// assert!(*x > *threshold);
/// assert_eq!(session.graph().parameters["threshold"].node, threshold.id());
/// ```
pub struct Node<T> {
    id: NodeId,
    value: T,
}

impl<T> Node<T> {
    /// The node's id in its graph.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, taken out of the node.
    pub fn into_value(self) -> T {
        self.value
    }

    /// A node from its parts (used by `#[bundle]` expansions).
    #[doc(hidden)]
    pub fn from_parts(id: NodeId, value: T) -> Node<T> {
        Node { id, value }
    }
}

impl<T> Deref for Node<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Clone> Clone for Node<T> {
    fn clone(&self) -> Self {
        Node {
            id: self.id,
            value: self.value.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("value", &self.value)
            .finish()
    }
}

/// A node serializes as its value.
impl<T: Serialize> Serialize for Node<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// A constant input of the current session's graph.
pub fn node<T: Serialize>(value: T) -> Node<T> {
    node_named("input", value)
}

/// A named constant input of the current session's graph.
pub fn node_named<T: Serialize>(name: impl Into<String>, value: T) -> Node<T> {
    let id = crate::current_session().map_or(NodeId::DETACHED, |session| {
        let name = name.into();
        let captured = session.policy().apply(&name, capture::to_value(&value));
        session.add_graph_node(NodeKind::Input, name, captured, Vec::new())
    });
    Node { id, value }
}

/// A trainable parameter of the current session's graph: an optimizer may change it.
///
/// If the tracer's [`ParameterStore`] holds a value for `name` that decodes as `T`, that
/// value is used instead of `initial`: that is how updates from an optimizer reach the
/// next episode. A parameter asked for twice in a session is one node.
pub fn parameter<T: Serialize + DeserializeOwned>(name: impl Into<String>, initial: T) -> Node<T> {
    let name = name.into();
    let Some(session) = crate::current_session() else {
        return Node {
            id: NodeId::DETACHED,
            value: initial,
        };
    };
    let value = session
        .parameters()
        .get(&name)
        .and_then(|stored| serde_json::from_value::<T>(stored).ok())
        .unwrap_or(initial);
    let captured = capture::to_value(&value);
    let id = session.register_parameter(&name, captured, true, None);
    Node { id, value }
}

/// Parameter values that outlive a session: optimizers' updates go here, and
/// [`parameter`] reads them. Cheap to clone; clones share the values.
///
/// ```
/// use agent_trace::{ParameterStore, SessionTracer};
/// let store = ParameterStore::new();
/// store.set("threshold", 0.8);
/// let tracer = SessionTracer::builder().parameters(store.clone()).build();
/// # drop(tracer);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParameterStore {
    values: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl ParameterStore {
    /// An empty store.
    pub fn new() -> ParameterStore {
        ParameterStore::default()
    }

    /// The value stored for a parameter.
    pub fn get(&self, name: &str) -> Option<Value> {
        lock(&self.values).get(name).cloned()
    }

    /// Stores a value for a parameter.
    pub fn set(&self, name: impl Into<String>, value: impl Serialize) {
        lock(&self.values).insert(name.into(), capture::to_value(&value));
    }

    /// Stores every update.
    pub fn apply(&self, updates: &Updates) {
        let mut values = lock(&self.values);
        for (name, value) in &updates.0 {
            values.insert(name.clone(), value.clone());
        }
    }

    /// Every stored value.
    pub fn values(&self) -> BTreeMap<String, Value> {
        lock(&self.values).clone()
    }
}
