//! Memory for sessions' chunks of recorded events: a dropped chunk's vectors, emptied, are
//! kept for the next chunk any session starts, so that a process that records session
//! after session reuses the same memory rather than having the allocator hand pages back
//! to the system and fault them in again.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use trace_core::recorded::{RecordedEvent, RecordedEvents};

use crate::sync::lock;

/// Chunks' memory kept, at most: about 1.3 MiB of full-size chunks.
const SPARE_CHUNKS: usize = 32;
/// Text buffers past this size are not kept.
const KEPT_TEXT: usize = 1 << 20;

static SPARE: Mutex<Vec<(Vec<RecordedEvent>, Vec<u8>)>> = Mutex::new(Vec::new());

/// An empty chunk with room for `events` events and `text` bytes, in kept memory if there
/// is some; its memory is kept again when it is dropped.
pub(super) fn fresh(base: DateTime<Utc>, events: usize, text: usize) -> RecordedEvents {
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
