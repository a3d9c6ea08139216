//! A session's chunks of recorded events: pushing events into the open one, sealing it
//! when full, and streaming it to the sinks that want running sessions' events.

use std::sync::Arc;

use trace_core::{Event, EventChunk, Events};

use super::{Refused, Session, SessionState};
use crate::recorded::{Chunk, Closing, RecordedEvent};
use crate::sink::EventBatch;
use crate::sync::lock;
use crate::tracer::stats::Counters;

/// How many events a chunk of recorded events holds before it is sealed (and, when a sink
/// wants running sessions' events, streamed).
const CHUNK_EVENTS: usize = 256;
/// How many a session's first chunk holds (most sessions are short).
const FIRST_CHUNK_EVENTS: usize = 32;
/// The bytes of captured text a chunk starts with room for, per event.
const TEXT_PER_EVENT: usize = 64;

impl Session {
    /// Adds the event `opened`, closed as `closing` says, whose captured values are in
    /// `text` — or refuses it if the session has ended ([`refusal`](Self::refusal) makes
    /// the error); `decoded` is the event for the hooks, when there are any. Seals the open
    /// chunk when it is full, and streams it if a sink wants running sessions' events.
    pub(crate) fn push_recorded(
        &self,
        opened: &RecordedEvent,
        closing: &mut Closing,
        text: &[u8],
        decoded: Option<Event>,
    ) -> Result<(), Refused> {
        let tracer = &self.inner.tracer;
        let mut state = lock(&self.inner.state);
        if state.ended {
            return Err(Refused);
        }
        state.failed |= closing.outcome.is_failure();
        if !state.open.has_room_for(text.len()) {
            state.seal(&tracer.counters);
        }
        // A session's first chunk is small (most sessions are short), the others full-size;
        // each gets its room at once rather than growing by copies.
        let chunk_events = if state.sealed.is_empty() {
            FIRST_CHUNK_EVENTS
        } else {
            CHUNK_EVENTS
        };
        if state.open.is_empty() && !state.open.has_spare_capacity() {
            state.open = Chunk::with_room(state.open.base(), chunk_events, chunk_events * TEXT_PER_EVENT);
        }
        state.open.push(opened, closing, text);
        let batch = if state.open.len() >= chunk_events {
            let sealed = state.seal(&tracer.counters);
            sealed
                .filter(|_| tracer.streams())
                .map(|chunk| state.batch(&self.inner.id, chunk))
        } else {
            None
        };
        drop(state);
        if let Some(batch) = batch {
            self.inner.stream(batch);
        }
        if let Some(event) = decoded {
            self.run_hooks(|hook, id| hook.on_event(id, &event));
        }
        Ok(())
    }
}

impl SessionState {
    /// Seals the open chunk, if it holds events, counting them in `events_recorded`;
    /// returns it.
    pub(super) fn seal(&mut self, counters: &Counters) -> Option<Arc<Chunk>> {
        if self.open.is_empty() {
            return None;
        }
        Counters::add(&counters.events_recorded, self.open.len());
        // The next chunk gets its room when its first event arrives (none may).
        let next = Chunk::empty(self.open.base());
        let sealed = Arc::new(std::mem::replace(&mut self.open, next));
        self.sealed.push(Arc::clone(&sealed));
        Some(sealed)
    }

    /// The events not streamed yet (and the metadata, if it changed), as a batch.
    pub(super) fn take_unstreamed(&mut self, session_id: &str, counters: &Counters) -> Option<EventBatch> {
        if self.ended {
            return None;
        }
        let chunk = self.seal(counters)?;
        Some(self.batch(session_id, chunk))
    }

    /// A sealed chunk as a batch to stream, with the metadata and labels if they changed.
    fn batch(&mut self, session_id: &str, chunk: Arc<Chunk>) -> EventBatch {
        let metadata = std::mem::take(&mut self.metadata_changed).then(|| self.metadata.clone());
        let labels = std::mem::take(&mut self.labels_changed).then(|| self.labels.clone());
        EventBatch {
            session_id: session_id.to_owned(),
            events: Events::from_chunks(vec![chunk as Arc<dyn EventChunk>]),
            metadata,
            labels,
        }
    }
}
