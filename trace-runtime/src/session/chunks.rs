//! A session's chunks of recorded events: pushing events into the open one, sealing it
//! when full (and streaming it to the sinks that want running sessions' events), and the
//! memory chunks are made of — a dropped chunk's vectors, emptied, are kept for the next
//! chunk any session starts, so that a process that records session after session reuses
//! the same memory rather than having the allocator hand pages back to the system and fault
//! them in again.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use trace_core::recorded::{Closing, RecordedEvent, RecordedEvents};
use trace_core::{Event, Events};

use super::{Refused, Session, SessionState};
use crate::sink::EventBatch;
use crate::stats::Counters;
use crate::sync::lock;

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
            state.open = fresh(state.open.base(), chunk_events, chunk_events * TEXT_PER_EVENT);
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
    pub(super) fn seal(&mut self, counters: &Counters) -> Option<Arc<RecordedEvents>> {
        if self.open.is_empty() {
            return None;
        }
        Counters::add(&counters.events_recorded, self.open.len());
        // The next chunk gets its room when its first event arrives (none may).
        let next = RecordedEvents::new(self.open.base(), 0);
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

    /// A sealed chunk as a batch to stream, with the metadata if it changed.
    fn batch(&mut self, session_id: &str, chunk: Arc<RecordedEvents>) -> EventBatch {
        let metadata = std::mem::take(&mut self.metadata_changed).then(|| self.metadata.clone());
        EventBatch {
            session_id: session_id.to_owned(),
            events: Events::from_recorded(vec![chunk]),
            metadata,
        }
    }
}

/// Chunks' memory kept, at most: about 1.3 MiB of full-size chunks.
const SPARE_CHUNKS: usize = 32;
/// Text buffers past this size are not kept.
const KEPT_TEXT: usize = 1 << 20;

static SPARE: Mutex<Vec<(Vec<RecordedEvent>, Vec<u8>)>> = Mutex::new(Vec::new());

/// An empty chunk with room for `events` events and `text` bytes, in kept memory if there
/// is some; its memory is kept again when it is dropped.
fn fresh(base: DateTime<Utc>, events: usize, text: usize) -> RecordedEvents {
    let (mut kept_events, mut kept_text) = lock(&SPARE).pop().unwrap_or_default();
    kept_events.reserve(events);
    kept_text.reserve(text);
    RecordedEvents::reusing(base, kept_events, kept_text, keep)
}

/// Keeps a dropped chunk's emptied memory, unless enough is kept already.
fn keep(events: Vec<RecordedEvent>, text: Vec<u8>) {
    if events.capacity() == 0 || text.capacity() > KEPT_TEXT {
        return;
    }
    let mut spare = lock(&SPARE);
    if spare.len() < SPARE_CHUNKS {
        spare.push((events, text));
    }
}
