//! Where calls' state comes from: a box this thread used for an earlier call, reset, or a
//! new one. Reusing boxes (and the text buffers inside them) keeps a traced call free of
//! allocation once the thread has warmed up.

use std::cell::RefCell;
use trace_core::Map;
use trace_core::recorded::{Names, RecordedEvent};

use super::CallState;
use crate::captured::CapturedText;
use crate::session::Session;

/// Boxes kept per thread: enough for calls nested this deep, or open at once on the
/// thread's tasks, to allocate nothing.
const SPARE_STATES: usize = 32;

thread_local! {
    // The boxes themselves are what is reused: a call holds its state boxed.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<CallState>>> = const { RefCell::new(Vec::new()) };
}

impl CallState {
    /// The state of a call that starts now, at the session's current turn and timestep,
    /// with nothing captured yet.
    pub(super) fn starting(session: &Session, id: u64, parent: Option<u64>, names: Names) -> Box<CallState> {
        let event = RecordedEvent::opened(id, parent, names, session.turn(), session.current_timestep());
        let start = session.elapsed();
        match take_spare() {
            Some(mut state) => {
                state.event = event;
                state.restore = None;
                state.start = start;
                state.timed = true;
                state.site = None;
                state
            }
            None => Box::new(CallState {
                event,
                restore: None,
                start,
                timed: true,
                captured: CapturedText::new(),
                metadata: Map::new(),
                site: None,
                graph_node: None,
            }),
        }
    }
}

fn take_spare() -> Option<Box<CallState>> {
    SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
}

/// Keeps a finished call's box for the thread's next call, emptied.
pub(super) fn give_back(mut state: Box<CallState>) {
    if !state.captured.reset() {
        return;
    }
    // Both are taken when the call closes; an empty map costs as much to clear as to drop.
    if !state.metadata.is_empty() {
        state.metadata = Map::new();
    }
    state.graph_node = None;
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_STATES
        {
            spare.push(state);
        }
    });
}
