//! [`ParameterStore`]: parameter values that outlive a session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use trace_core::capture;
use trace_core::graph::Updates;

use crate::sync::lock;

/// Parameter values that outlive a session: optimizers' updates go here, and
/// [`parameter`](crate::parameter) reads them. Cheap to clone; clones share the values.
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
