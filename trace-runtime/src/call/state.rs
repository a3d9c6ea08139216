//! [`CallState`]: what a call keeps while it runs, from the moment it opens to the moment
//! it is closed into a recorded event — and where that state comes from: a box this thread
//! used for an earlier call, reset, or a new one. Reusing boxes (and the text buffers
//! inside them) keeps a traced call free of allocation once the thread has warmed up.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use trace_core::graph::NodeId;
use trace_core::{ErrorRecord, Map, Outcome};

use super::site::{self, CallSite};
use crate::capture::CapturedText;
use crate::context::with_frame;
use crate::recorded::{Closing, Names, RecordedEvent, Start};
use crate::replay::run::ReplayRun;
use crate::session::{Refused, Session};

/// Boxes kept per thread: enough for calls nested this deep, or open at once on the
/// thread's tasks, to allocate nothing.
const SPARE_STATES: usize = 32;

thread_local! {
    // The boxes themselves are what is reused: a call holds its state boxed.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<CallState>>> = const { RefCell::new(Vec::new()) };
}

/// What a call keeps while it runs.
pub(super) struct CallState {
    /// The event as it opened: id, parent, names, turn and timestep.
    pub(super) event: RecordedEvent,
    /// The task's previous parent, when this call made itself the task's parent for as
    /// long as it lives (hand-written guards do; macro calls enter around each poll).
    pub(super) restore: Option<Option<u64>>,
    /// When the call started: this long after its session did.
    start: Duration,
    /// Whether the duration is recorded (`include_timing`).
    timed: bool,
    pub(super) captured: CapturedText,
    pub(super) metadata: Map,
    pub(super) site: Option<&'static CallSite>,
    /// For a `#[bundle]` call: its reserved graph node and the nodes it depends on.
    pub(super) graph_node: Option<(NodeId, Vec<NodeId>)>,
    /// The replay the call's scope runs against, if it replays.
    pub(super) replay: Option<Arc<ReplayRun>>,
}

impl CallState {
    /// The state of a call of `site` (none for a call opened by hand) that starts now, at
    /// the session's current turn and timestep, with nothing captured yet.
    pub(super) fn starting(
        session: &Session,
        id: u64,
        parent: Option<u64>,
        names: Names,
        site: Option<&'static CallSite>,
    ) -> Box<CallState> {
        let event = RecordedEvent::opened(id, parent, names, session.turn(), session.current_timestep());
        let start = session.elapsed();
        let timed = site.is_none_or(|site| site.include_timing);
        let mut state = match take_spare() {
            Some(mut state) => {
                state.event = event;
                state.restore = None;
                state.start = start;
                state.timed = timed;
                state.site = site;
                state.replay = None;
                state
            }
            None => Box::new(CallState {
                event,
                restore: None,
                start,
                timed,
                captured: CapturedText::new(),
                metadata: Map::new(),
                site,
                graph_node: None,
                replay: None,
            }),
        };
        if let Some(site) = site
            && (site.model.is_some() || site.provider.is_some() || site.include_memory)
        {
            site::opening_metadata(site, &mut state.metadata);
        }
        state
    }

    /// When the call started, after its session did.
    pub(super) fn start(&self) -> Duration {
        self.start
    }

    /// Closes the call into its event, pushed to `session` — unless the session has ended.
    pub(super) fn close(
        &mut self,
        session: &Session,
        outcome: Outcome,
        error: Option<ErrorRecord>,
    ) -> Result<(), Refused> {
        let duration = if self.timed {
            session.elapsed().saturating_sub(self.start)
        } else {
            Duration::ZERO
        };
        if let Some(previous) = self.restore {
            with_frame(|frame| {
                if frame.session.same_session(session) {
                    frame.parent.set(previous);
                }
            });
        }
        if let Some(notes) = session.take_call_notes(self.event.id()) {
            self.metadata.extend(notes);
        }
        let site = self.site;
        if site.is_some_and(|site| site.include_memory) {
            site::closing_metadata(&mut self.metadata);
        }
        let (text, inputs, output) = self.captured.finish();
        let mut closing = Closing {
            start: Start::SinceBase(self.start),
            duration,
            outcome,
            inputs,
            output,
            error: error.map(Box::new),
            metadata: (!self.metadata.is_empty()).then(|| std::mem::take(&mut self.metadata)),
        };
        let wants_event = session.has_event_hooks() || site.is_some_and(CallSite::reads_the_event);
        if !wants_event {
            return session.push_recorded(&self.event, &mut closing, text, None);
        }
        // A function named in the options, or a hook, reads the event: decode it for them.
        let mut decoded = RecordedEvent::decode_closing(&self.event, &closing, text, session.started_at());
        let mut messages = Vec::new();
        if let Some(site) = site {
            site.after_call(&mut decoded, &mut messages, session.counters());
            closing.metadata = Some(decoded.metadata.clone());
            if site.arg_filter.is_some() || site.result_filter.is_some() {
                // The event records what the filters made of its values.
                self.captured.replace(&decoded.inputs, decoded.output.as_ref());
            }
        }
        if let Some((node, dependencies)) = self.graph_node.take() {
            session.insert_graph_node(site::graph_node(node, dependencies, &decoded, site));
        }
        let (text, inputs, output) = self.captured.finish();
        (closing.inputs, closing.output) = (inputs, output);
        session.push_recorded(&self.event, &mut closing, text, Some(decoded))?;
        for message in messages {
            // The event was recorded: the session was open a moment ago, and a message
            // refused now is counted as refused.
            let _ = session.record_message(message);
        }
        Ok(())
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
    state.replay = None;
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_STATES
        {
            spare.push(state);
        }
    });
}
