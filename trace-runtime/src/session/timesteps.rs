//! A session's turn and timesteps: the turn events carry, and the timestep open while
//! they run.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use trace_core::{Map, TimeStep};

use super::{NONE, Session, SessionState, from_slot};
use crate::sync::lock;

impl Session {
    /// Sets the turn that events started from now on carry (see also
    /// [`set_turn_number`](crate::set_turn_number), which acts on the current scope's
    /// session).
    pub fn set_turn(&self, turn: u32) {
        self.inner.turn.store(u64::from(turn), Ordering::Relaxed);
    }

    /// The current turn.
    pub fn turn(&self) -> Option<u32> {
        from_slot(self.inner.turn.load(Ordering::Relaxed))
    }

    /// Opens a new timestep for `turn`, closing the open one; returns its index.
    ///
    /// Events and messages recorded while it is open carry its index. After the session
    /// has ended nothing is opened and the index the timestep would have had is returned.
    pub fn timestep(&self, turn: u32) -> u32 {
        self.open_timestep(turn, None)
    }

    /// Like [`timestep`](Session::timestep), with a name.
    pub fn timestep_named(&self, turn: u32, name: impl Into<String>) -> u32 {
        self.open_timestep(turn, Some(name.into()))
    }

    fn open_timestep(&self, turn: u32, name: Option<String>) -> u32 {
        let now = self.now();
        let mut state = lock(&self.inner.state);
        let index = u32::try_from(state.timesteps.len()).unwrap_or(u32::MAX);
        if state.ended {
            self.count_rejected();
            return index;
        }
        let closed = close_open(&mut state, now);
        let opened = TimeStep {
            index,
            turn: Some(turn),
            name,
            started_at: now,
            ended_at: None,
            metadata: Map::new(),
        };
        state.timesteps.push(opened.clone());
        self.inner.timestep.store(u64::from(index), Ordering::Relaxed);
        drop(state);
        self.run_hooks(|hook, id| {
            if let Some(closed) = &closed {
                hook.on_timestep_end(id, closed)?;
            }
            hook.on_timestep_start(id, &opened)
        });
        index
    }

    /// Closes the open timestep, if any.
    pub fn end_timestep(&self) {
        let now = self.now();
        let mut state = lock(&self.inner.state);
        let closed = close_open(&mut state, now);
        self.inner.timestep.store(NONE, Ordering::Relaxed);
        drop(state);
        if let Some(closed) = closed {
            self.run_hooks(|hook, id| hook.on_timestep_end(id, &closed));
        }
    }

    /// The index of the open timestep.
    pub fn current_timestep(&self) -> Option<u32> {
        from_slot(self.inner.timestep.load(Ordering::Relaxed))
    }
}

/// Closes the open timestep, if any, and returns it as closed.
pub(super) fn close_open(state: &mut SessionState, now: DateTime<Utc>) -> Option<TimeStep> {
    let open = state.timesteps.last_mut().filter(|step| step.ended_at.is_none())?;
    open.ended_at = Some(now);
    Some(open.clone())
}
