//! [`Node<T>`]: a value that knows its place in the session's computation graph, the free
//! functions that make nodes in the current scope's session, and [`Dependencies`], how a
//! `#[bundle]` call finds the nodes among its arguments.

use std::fmt;
use std::ops::Deref;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use trace_core::capture;
use trace_core::graph::{NodeId, NodeKind};

use crate::context::current_session;

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
    let id = current_session().map_or(NodeId::DETACHED, |session| {
        let name = name.into();
        let captured = crate::capture::capture_value(session.policy(), &name, &value);
        session.add_graph_node(NodeKind::Input, name, captured, Vec::new())
    });
    Node { id, value }
}

/// A trainable parameter of the current session's graph: an optimizer may change it.
///
/// If the tracer's [`ParameterStore`](crate::ParameterStore) holds a value for `name` that decodes as `T`, that
/// value is used instead of `initial`: that is how updates from an optimizer reach the
/// next episode. A parameter asked for twice in a session is one node.
pub fn parameter<T: Serialize + DeserializeOwned>(name: impl Into<String>, initial: T) -> Node<T> {
    let name = name.into();
    let Some(session) = current_session() else {
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

/// Finds the graph nodes in a `#[bundle]` argument: `Node`s, by value or reference, and
/// inside `Option`, `Vec`, slices, arrays, boxes and tuples of such.
pub trait Dependencies {
    /// Appends the ids of the nodes inside.
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>);
}

impl<T> Dependencies for Node<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        if !self.id().is_detached() {
            nodes.push(self.id());
        }
    }
}

impl<T: Dependencies + ?Sized> Dependencies for &T {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies + ?Sized> Dependencies for &mut T {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies + ?Sized> Dependencies for Box<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies> Dependencies for Option<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        if let Some(inner) = self {
            inner.collect_nodes(nodes);
        }
    }
}

impl<T: Dependencies> Dependencies for [T] {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

impl<T: Dependencies, const N: usize> Dependencies for [T; N] {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

impl<T: Dependencies> Dependencies for Vec<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

macro_rules! leaf_dependencies {
    ($($leaf:ty),*) => {$(
        impl Dependencies for $leaf {
            fn collect_nodes(&self, _: &mut Vec<NodeId>) {}
        }
    )*};
}

leaf_dependencies!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    ()
);

macro_rules! tuple_dependencies {
    ($(($($name:ident),+))*) => {$(
        impl<$($name: Dependencies),+> Dependencies for ($($name,)+) {
            #[allow(non_snake_case)]
            fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
                let ($($name,)+) = self;
                $($name.collect_nodes(nodes);)+
            }
        }
    )*};
}

tuple_dependencies!((A)(A, B)(A, B, C)(A, B, C, D)(A, B, C, D, E)(A, B, C, D, E, F));
