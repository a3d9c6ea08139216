//! What a traced body records into its own open call (`current_call().record(..)`): kept
//! beside the session, by event id, until the call closes and takes it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use trace_core::Map;

use super::Session;
use crate::sync::lock;

/// Metadata for calls still open.
#[derive(Default)]
pub(crate) struct CallNotes {
    /// Whether any call has notes: what a closing call reads, without the lock.
    any: AtomicBool,
    notes: Mutex<Vec<(u64, Map)>>,
}

impl Session {
    /// Adds `key: value` to what the open call `id` records in its metadata.
    pub(crate) fn note_for_call(&self, id: u64, key: String, value: Value) {
        let notes = &self.inner.call_notes;
        let mut all = lock(&notes.notes);
        match all.iter_mut().find(|(call, _)| *call == id) {
            Some((_, map)) => {
                map.insert(key, value);
            }
            None => {
                let mut map = Map::new();
                map.insert(key, value);
                all.push((id, map));
            }
        }
        notes.any.store(true, Ordering::Release);
    }

    /// What the body of call `id` recorded into it, taken as it closes.
    #[inline]
    pub(crate) fn take_call_notes(&self, id: u64) -> Option<Map> {
        let notes = &self.inner.call_notes;
        if !notes.any.load(Ordering::Acquire) {
            return None;
        }
        take_slow(notes, id)
    }
}

#[cold]
fn take_slow(notes: &CallNotes, id: u64) -> Option<Map> {
    let mut all = lock(&notes.notes);
    let at = all.iter().position(|(call, _)| *call == id)?;
    let (_, map) = all.swap_remove(at);
    if all.is_empty() {
        notes.any.store(false, Ordering::Release);
    }
    Some(map)
}
