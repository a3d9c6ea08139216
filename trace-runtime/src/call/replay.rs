//! A call's part in a replay: its path noted as it starts, and what it asks the replay.

use std::sync::Arc;

use trace_core::Map;

use super::state::CallState;
use super::{Call, OpenCall};
use crate::replay::Divergence;
use crate::replay::run::{Lookup, ReplayRun};

/// Gives the call the replay of its scope, and notes its path there.
pub(super) fn register(state: &mut CallState, replay: Option<Arc<ReplayRun>>) {
    if let Some(run) = &replay {
        let names = state.event.names();
        run.register(state.event.id(), state.event.parent(), &names.kind, &names.name);
    }
    state.replay = replay;
}

impl Call {
    /// Whether the call runs in a scope that replays.
    #[inline]
    pub fn is_replaying(&self) -> bool {
        self.open.as_ref().is_some_and(|open| open.state.replay.is_some())
    }

    /// What the replay says of this call: run it, return the recorded answer, or diverge.
    pub(crate) fn replay_lookup(&mut self) -> Option<Lookup> {
        let OpenCall { state, .. } = self.open.as_mut()?;
        let run = state.replay.clone()?;
        let id = state.event.id();
        Some(run.lookup(id, || {
            let (text, inputs, _) = state.captured.finish();
            let inputs = inputs.slice(text);
            if inputs.is_empty() {
                Map::new()
            } else {
                serde_json::from_slice(inputs).unwrap_or_default()
            }
        }))
    }

    /// Whether the replay gives this call's items no earlier than they came when recorded.
    pub(crate) fn replay_waits_between_items(&self) -> bool {
        self.open
            .as_ref()
            .and_then(|open| open.state.replay.as_ref())
            .is_some_and(|run| run.waits_between_items())
    }

    /// Keeps a divergence in the replay and the session's metadata; `true` when the call
    /// is to run its body (the replay goes live), `false` when it is to fail.
    pub(crate) fn replay_diverged(&mut self, divergence: Divergence) -> bool {
        let Some(OpenCall { session, state }) = self.open.as_mut() else {
            return true;
        };
        let Some(run) = state.replay.clone() else {
            return true;
        };
        if run.divergence().is_none() {
            session.set_metadata("replay.diverged", divergence.to_string());
        }
        run.diverged(divergence)
    }

    /// Takes a recorded answer for this call: counts it, and puts the recorded metadata in
    /// its event (what its body recorded there, as `current_call()` does, which does not
    /// run this time).
    pub(crate) fn answered(&mut self, metadata: Map) {
        if let Some(open) = self.open.as_mut() {
            if let Some(run) = &open.state.replay {
                run.count_answered();
            }
            for (key, value) in metadata {
                open.state.metadata.insert(key, value);
            }
        }
    }
}
