//! [`Chunk`]: a chunk of a session's recorded events and the text of what they captured,
//! and the memory chunks are made of — a dropped chunk's vectors, emptied, are kept for the
//! next chunk any session starts, so that a process that records session after session
//! reuses the same memory rather than having the allocator hand pages back to the system
//! and fault them in again.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use trace_core::{EventChunk, RecordParts};

use super::{Closing, NONE, RecordedEvent, TextSpan};
use crate::sync::lock;

/// Chunks' memory kept, at most: about 1.3 MiB of full-size chunks.
const SPARE_CHUNKS: usize = 32;
/// Text buffers past this size are not kept.
const KEPT_TEXT: usize = 1 << 20;

/// The emptied memory of dropped chunks.
pub(crate) struct ChunkPool {
    spare: Mutex<Vec<(Vec<RecordedEvent>, Vec<u8>)>>,
}

/// The pool every session's chunks come from.
static POOL: ChunkPool = ChunkPool::new();

impl ChunkPool {
    const fn new() -> ChunkPool {
        ChunkPool {
            spare: Mutex::new(Vec::new()),
        }
    }

    /// Keeps a dropped chunk's emptied memory, unless enough is kept already.
    fn keep(&self, mut events: Vec<RecordedEvent>, mut text: Vec<u8>) {
        if events.capacity() == 0 || text.capacity() > KEPT_TEXT {
            return;
        }
        events.clear();
        text.clear();
        let mut spare = lock(&self.spare);
        if spare.len() < SPARE_CHUNKS {
            spare.push((events, text));
        }
    }
}

/// A chunk of a session's recorded events and the text of their captured values.
#[derive(Debug)]
pub(crate) struct Chunk {
    base: DateTime<Utc>,
    /// `base` in nanoseconds since the Unix epoch, when it fits (every start time up to
    /// 2262): event starts are this plus their offset.
    base_nanos: Option<i64>,
    events: Vec<RecordedEvent>,
    /// Whether the events' ids increase in the order they were pushed (calls that contain
    /// others finish after them, so often they do not).
    ascending: bool,
    text: Vec<u8>,
    /// Where the chunk's memory goes when it is dropped.
    pool: &'static ChunkPool,
}

impl std::fmt::Debug for ChunkPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkPool")
    }
}

impl Chunk {
    /// An empty chunk with no room yet, of a session that started at `base`.
    pub(crate) fn empty(base: DateTime<Utc>) -> Chunk {
        Chunk {
            base,
            base_nanos: nanos_since_epoch(base),
            events: Vec::new(),
            ascending: true,
            text: Vec::new(),
            pool: &POOL,
        }
    }

    /// An empty chunk with room for `events` events and `text` bytes, in kept memory if
    /// there is some.
    pub(crate) fn with_room(base: DateTime<Utc>, events: usize, text: usize) -> Chunk {
        Chunk::from_pool(&POOL, base, events, text)
    }

    fn from_pool(pool: &'static ChunkPool, base: DateTime<Utc>, events: usize, text: usize) -> Chunk {
        let (mut kept_events, mut kept_text) = lock(&pool.spare).pop().unwrap_or_default();
        kept_events.reserve(events);
        kept_text.reserve(text);
        Chunk {
            base,
            base_nanos: nanos_since_epoch(base),
            events: kept_events,
            ascending: true,
            text: kept_text,
            pool,
        }
    }

    /// Whether the chunk has room for an event without growing.
    pub(crate) fn has_spare_capacity(&self) -> bool {
        self.events.len() < self.events.capacity()
    }

    /// Whether the chunk's text can take `len` more bytes (its spans are 32-bit).
    pub(crate) fn has_room_for(&self, len: usize) -> bool {
        self.text.len().saturating_add(len) < NONE as usize
    }

    /// Adds the event `opened`, closed as `closing` says (its error and metadata are taken),
    /// whose spans point into `text`. The event is made where it lands, not moved there.
    /// A text the chunk has no room for (see [`has_room_for`](Self::has_room_for): only
    /// one over 4 GiB, in a fresh chunk) is recorded as the unserializable marker.
    pub(crate) fn push(&mut self, opened: &RecordedEvent, closing: &mut Closing, text: &[u8]) {
        if !self.has_room_for(text.len()) {
            let marker = trace_core::capture::unserializable("the captured text is over 4 GiB");
            let mut marker_text = Vec::new();
            trace_core::json::value(&mut marker_text, &marker);
            closing.inputs = TextSpan::new(0, 0);
            closing.output = Some(TextSpan::new(0, marker_text.len()));
            return self.push(opened, closing, &marker_text);
        }
        // The room was checked: every offset fits 32 bits.
        let shift = self.text.len() as u32;
        self.text.extend_from_slice(text);
        if let Some(last) = self.events.last() {
            self.ascending &= last.id() < opened.id();
        }
        self.events.push(RecordedEvent::closed(opened, closing, shift));
    }

    /// How many events the chunk holds.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// When the session started: event starts are measured from it.
    pub(crate) fn base(&self) -> DateTime<Utc> {
        self.base
    }
}

/// `at` in nanoseconds since the Unix epoch, when that fits and `at` is no leap second
/// (whose offsets `chrono` adds its own way).
fn nanos_since_epoch(at: DateTime<Utc>) -> Option<i64> {
    at.timestamp_nanos_opt()
        .filter(|_| at.timestamp_subsec_nanos() < 1_000_000_000)
}

impl EventChunk for Chunk {
    fn len(&self) -> usize {
        self.events.len()
    }

    fn id(&self, index: usize) -> u64 {
        self.events[index].id()
    }

    fn ascending_ids(&self) -> Option<(u64, u64)> {
        let (first, last) = (self.events.first()?, self.events.last()?);
        self.ascending.then(|| (first.id(), last.id()))
    }

    fn parts(&self, index: usize) -> RecordParts<'_> {
        self.events[index].parts(&self.text, self.base, self.base_nanos)
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool
            .keep(std::mem::take(&mut self.events), std::mem::take(&mut self.text));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use trace_core::{EventKind, EventRecord, Outcome};

    use super::*;
    use crate::recorded::{Names, Start};

    fn names() -> Names {
        Names::shared(EventKind::Tool, "agent".into(), "search".into(), "".into())
    }

    fn closing(text: &[u8]) -> Closing {
        Closing {
            start: Start::SinceBase(Duration::from_micros(5)),
            duration: Duration::from_nanos(40),
            outcome: Outcome::Ok,
            inputs: TextSpan::new(0, text.len()),
            output: None,
            error: None,
            metadata: None,
        }
    }

    #[test]
    fn a_dropped_chunk_hands_back_its_memory_emptied_and_a_reused_one_starts_empty() {
        static TEST_POOL: ChunkPool = ChunkPool::new();
        let base = DateTime::<Utc>::UNIX_EPOCH;
        let mut used = Chunk::from_pool(&TEST_POOL, base, 4, 0);
        used.push(
            &RecordedEvent::opened(9, None, names(), None, None),
            &mut closing(b""),
            b"",
        );
        drop(used);
        let mut chunk = Chunk::from_pool(&TEST_POOL, base, 4, 0);
        assert!(chunk.is_empty(), "the memory it reuses is emptied first");
        let text = br#"{"q":"rust"}"#;
        chunk.push(
            &RecordedEvent::opened(1, None, names(), Some(0), None),
            &mut closing(text),
            text,
        );
        assert_eq!(EventRecord::from_parts(chunk.parts(0)).to_event().inputs["q"], "rust");
        let shared = Arc::new(chunk);
        let copy = Arc::clone(&shared);
        drop(shared);
        assert!(lock(&TEST_POOL.spare).is_empty(), "still held");
        drop(copy);
        let spare = lock(&TEST_POOL.spare);
        assert_eq!(spare.len(), 1);
        let (events, kept_text) = &spare[0];
        assert_eq!((events.len(), kept_text.len()), (0, 0));
        assert!(events.capacity() >= 4 && kept_text.capacity() >= text.len());
    }
}
