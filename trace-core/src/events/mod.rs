//! [`Events`]: a session's events, as recorded or as decoded `Event`s; and
//! [`EventRecord`]: one of them, read without decoding it.
//!
//! A traced call does not build `serde_json::Value`s: it writes what it captures as JSON
//! text, and the session keeps its events in that recorded form, in chunks that the trace,
//! the sinks and the writer thread share. The `Event`s — maps of values, owned strings —
//! are decoded the first time someone reads them, once, and kept.

mod chunk;
mod record;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use chunk::{EventChunk, RecordParts};
pub use record::{EventRecord, Records};

use crate::Event;

/// The events of a session, sorted by id (call-start order).
///
/// `Events` dereferences to `Vec<Event>`: index it, iterate it, push to it as to a vector.
/// A trace that `Session::end` returned holds its events as they were recorded — their
/// fields, and what they captured as JSON text — and decodes them into `Event`s the first
/// time they are read; [`len`](Events::len), [`records`](Events::records), cloning and
/// serializing do not decode.
///
/// ```
/// use agent_trace::{Event, EventKind, SessionTracer};
/// let session = SessionTracer::default().start_session();
/// session.record_event(Event::builder(EventKind::Tool, "agent", "search").input("query", "rust"))?;
/// let trace = session.end()?;
/// assert_eq!(trace.events.len(), 1); // not decoded
/// let names: Vec<&str> = trace.events.records().map(|record| record.name()).collect();
/// assert_eq!(names, ["search"]); // not decoded either
/// assert_eq!(trace.events[0].inputs["query"], "rust"); // decoded, once
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
pub struct Events {
    repr: Repr,
}

enum Repr {
    /// As a session recorded them, decoded on first read.
    Recorded {
        chunks: Vec<Arc<dyn EventChunk>>,
        len: usize,
        decoded: OnceLock<Vec<Event>>,
    },
    /// As `Event`s.
    Decoded(Vec<Event>),
}

impl Events {
    /// No events.
    pub fn new() -> Events {
        Events {
            repr: Repr::Decoded(Vec::new()),
        }
    }

    /// The events of chunks kept in a recorder's own form (see [`EventChunk`]), in id order
    /// when read whatever the order of the chunks; they are decoded the first time they are
    /// read as `Event`s.
    pub fn from_chunks(chunks: Vec<Arc<dyn EventChunk>>) -> Events {
        let len = chunks.iter().map(|chunk| chunk.len()).sum();
        Events {
            repr: Repr::Recorded {
                chunks,
                len,
                decoded: OnceLock::new(),
            },
        }
    }

    /// The recorded chunks, if the events are in recorded form and have not been changed.
    fn recorded_chunks(&self) -> Option<&[Arc<dyn EventChunk>]> {
        match &self.repr {
            Repr::Recorded { chunks, .. } => Some(chunks),
            Repr::Decoded(_) => None,
        }
    }

    /// How many events there are (without decoding them).
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Recorded { len, .. } => *len,
            Repr::Decoded(events) => events.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events in id order, read without decoding them: for sinks and exporters that
    /// turn each into something else (a row, a line of JSON) and need no `Event`.
    pub fn records(&self) -> Records<'_> {
        match &self.repr {
            Repr::Recorded { chunks, .. } => Records::recorded(chunks),
            Repr::Decoded(events) => Records::decoded(events),
        }
    }

    /// The events as a vector (decoding them if they are not yet).
    pub fn into_vec(self) -> Vec<Event> {
        match self.repr {
            Repr::Decoded(events) => events,
            Repr::Recorded { chunks, decoded, .. } => decoded.into_inner().unwrap_or_else(|| decode_all(&chunks)),
        }
    }

    fn decoded(&self) -> &Vec<Event> {
        match &self.repr {
            Repr::Decoded(events) => events,
            Repr::Recorded { chunks, decoded, .. } => decoded.get_or_init(|| decode_all(chunks)),
        }
    }
}

/// Every event of the chunks, decoded, in id order.
fn decode_all(chunks: &[Arc<dyn EventChunk>]) -> Vec<Event> {
    Records::recorded(chunks).map(|record| record.to_event()).collect()
}

impl Deref for Events {
    type Target = Vec<Event>;

    fn deref(&self) -> &Vec<Event> {
        self.decoded()
    }
}

impl DerefMut for Events {
    /// Decodes the events if they are not yet; from then on they are plain `Event`s.
    fn deref_mut(&mut self) -> &mut Vec<Event> {
        if let Repr::Recorded { chunks, decoded, .. } = &mut self.repr {
            let events = decoded.take().unwrap_or_else(|| decode_all(chunks));
            self.repr = Repr::Decoded(events);
        }
        match &mut self.repr {
            Repr::Decoded(events) => events,
            Repr::Recorded { .. } => unreachable!("just decoded"),
        }
    }
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Clone for Events {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Recorded { chunks, len, decoded } => Repr::Recorded {
                chunks: chunks.clone(),
                len: *len,
                decoded: decoded.clone(),
            },
            Repr::Decoded(events) => Repr::Decoded(events.clone()),
        };
        Events { repr }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Events {
    fn eq(&self, other: &Events) -> bool {
        if let (Some(mine), Some(theirs)) = (self.recorded_chunks(), other.recorded_chunks())
            && mine.len() == theirs.len()
            && mine
                .iter()
                .zip(theirs)
                .all(|(a, b)| std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)))
        {
            return true;
        }
        self.decoded() == other.decoded()
    }
}

impl PartialEq<Vec<Event>> for Events {
    fn eq(&self, other: &Vec<Event>) -> bool {
        self.decoded() == other
    }
}

impl PartialEq<Events> for Vec<Event> {
    fn eq(&self, other: &Events) -> bool {
        self == other.decoded()
    }
}

impl From<Vec<Event>> for Events {
    fn from(events: Vec<Event>) -> Self {
        Events {
            repr: Repr::Decoded(events),
        }
    }
}

impl From<Events> for Vec<Event> {
    fn from(events: Events) -> Self {
        events.into_vec()
    }
}

impl FromIterator<Event> for Events {
    fn from_iter<I: IntoIterator<Item = Event>>(iter: I) -> Self {
        Events::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl IntoIterator for Events {
    type Item = Event;
    type IntoIter = std::vec::IntoIter<Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.decoded().iter()
    }
}

impl<'a> IntoIterator for &'a mut Events {
    type Item = &'a mut Event;
    type IntoIter = std::slice::IterMut<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.deref_mut().iter_mut()
    }
}

impl Serialize for Events {
    /// A sequence of events in id order — the same as a `Vec<Event>`'s, whichever form the
    /// events are in; recorded ones are written without being decoded.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Decoded(events) => events.serialize(serializer),
            Repr::Recorded { .. } => serializer.collect_seq(self.records()),
        }
    }
}

impl<'de> Deserialize<'de> for Events {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Event>::deserialize(deserializer).map(Events::from)
    }
}
