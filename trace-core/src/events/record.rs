//! [`EventRecord`]: one event read in whatever form it is kept, and [`Records`], the
//! events of an [`Events`](super::Events) in id order.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use serde_json::Value;

use super::chunk::{EventChunk, RecordParts};
use crate::json::JsonText;
use crate::{ErrorRecord, Event, EventKind, Map, Outcome};

/// One event, read without decoding it into an [`Event`]: its fields, and what it
/// captured as it was recorded. It serializes exactly as the `Event` would.
#[derive(Clone, Copy)]
pub struct EventRecord<'a> {
    inner: Inner<'a>,
}

#[derive(Clone, Copy)]
enum Inner<'a> {
    Recorded(RecordParts<'a>),
    Decoded(&'a Event),
}

impl<'a> EventRecord<'a> {
    /// An event read from its parts (see [`EventChunk`]).
    pub fn from_parts(parts: RecordParts<'a>) -> EventRecord<'a> {
        EventRecord {
            inner: Inner::Recorded(parts),
        }
    }

    /// The event's id.
    pub fn id(&self) -> u64 {
        match self.inner {
            Inner::Recorded(parts) => parts.id,
            Inner::Decoded(event) => event.id,
        }
    }

    /// The id of the call it ran inside.
    pub fn parent(&self) -> Option<u64> {
        match self.inner {
            Inner::Recorded(parts) => parts.parent,
            Inner::Decoded(event) => event.parent,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> &'a EventKind {
        match self.inner {
            Inner::Recorded(parts) => parts.kind,
            Inner::Decoded(event) => &event.kind,
        }
    }

    /// Its system id.
    pub fn system_id(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(parts) => parts.system_id,
            Inner::Decoded(event) => &event.system_id,
        }
    }

    /// Its name.
    pub fn name(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(parts) => parts.name,
            Inner::Decoded(event) => &event.name,
        }
    }

    /// The module it was made from.
    pub fn module_path(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(parts) => parts.module_path,
            Inner::Decoded(event) => &event.module_path,
        }
    }

    /// Its turn.
    pub fn turn(&self) -> Option<u32> {
        match self.inner {
            Inner::Recorded(parts) => parts.turn,
            Inner::Decoded(event) => event.turn,
        }
    }

    /// Its timestep.
    pub fn timestep(&self) -> Option<u32> {
        match self.inner {
            Inner::Recorded(parts) => parts.timestep,
            Inner::Decoded(event) => event.timestep,
        }
    }

    /// When it started.
    pub fn started_at(&self) -> DateTime<Utc> {
        match self.inner {
            Inner::Recorded(parts) => parts.started_at,
            Inner::Decoded(event) => event.started_at,
        }
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        match self.inner {
            Inner::Recorded(parts) => parts.duration,
            Inner::Decoded(event) => event.duration,
        }
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        match self.inner {
            Inner::Recorded(parts) => parts.outcome,
            Inner::Decoded(event) => event.outcome,
        }
    }

    /// Its error.
    pub fn error(&self) -> Option<&'a ErrorRecord> {
        match self.inner {
            Inner::Recorded(parts) => parts.error,
            Inner::Decoded(event) => event.error.as_ref(),
        }
    }

    /// Its metadata.
    pub fn metadata(&self) -> &'a Map {
        static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);
        match self.inner {
            Inner::Recorded(parts) => parts.metadata.unwrap_or(&EMPTY),
            Inner::Decoded(event) => &event.metadata,
        }
    }

    /// The JSON text of its arguments' object; empty when it has none.
    pub fn inputs_json(&self) -> Cow<'a, [u8]> {
        match self.inner {
            Inner::Recorded(parts) => Cow::Borrowed(parts.inputs),
            Inner::Decoded(event) if event.inputs.is_empty() => Cow::Borrowed(&[]),
            Inner::Decoded(event) => Cow::Owned(serde_json::to_vec(&event.inputs).unwrap_or_default()),
        }
    }

    /// The JSON text of its output, if it has one.
    pub fn output_json(&self) -> Option<Cow<'a, [u8]>> {
        match self.inner {
            Inner::Recorded(parts) => parts.output.map(Cow::Borrowed),
            Inner::Decoded(event) => event
                .output
                .as_ref()
                .map(|value| Cow::Owned(serde_json::to_vec(value).unwrap_or_default())),
        }
    }

    /// The recorded JSON text of its arguments and of its output, for a recorded event.
    pub(crate) fn recorded_json(&self) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        match self.inner {
            Inner::Recorded(parts) => Some((parts.inputs, parts.output)),
            Inner::Decoded(_) => None,
        }
    }

    /// The event, decoded.
    pub fn to_event(&self) -> Event {
        let parts = match self.inner {
            Inner::Recorded(parts) => parts,
            Inner::Decoded(event) => return event.clone(),
        };
        Event {
            id: parts.id,
            parent: parts.parent,
            kind: parts.kind.clone(),
            system_id: parts.system_id.to_owned(),
            name: parts.name.to_owned(),
            module_path: parts.module_path.to_owned(),
            turn: parts.turn,
            timestep: parts.timestep,
            started_at: parts.started_at,
            duration: parts.duration,
            inputs: decode_inputs(parts.inputs),
            output: parts.output.map(decode_value),
            error: parts.error.cloned(),
            outcome: parts.outcome,
            metadata: parts.metadata.cloned().unwrap_or_default(),
        }
    }
}

impl fmt::Debug for EventRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRecord")
            .field("id", &self.id())
            .field("kind", self.kind())
            .field("name", &self.name())
            .field("outcome", &self.outcome())
            .finish_non_exhaustive()
    }
}

impl Serialize for EventRecord<'_> {
    /// The same as the decoded `Event`'s form; captured values are transcoded from their
    /// text, not decoded.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let parts = match self.inner {
            Inner::Decoded(event) => return event.serialize(serializer),
            Inner::Recorded(parts) => parts,
        };
        let mut out = serializer.serialize_struct("Event", 15)?;
        out.serialize_field("id", &parts.id)?;
        out.serialize_field("parent", &parts.parent)?;
        out.serialize_field("kind", parts.kind)?;
        out.serialize_field("system_id", parts.system_id)?;
        out.serialize_field("name", parts.name)?;
        out.serialize_field("module_path", parts.module_path)?;
        out.serialize_field("turn", &parts.turn)?;
        out.serialize_field("timestep", &parts.timestep)?;
        out.serialize_field("started_at", &Rfc3339(parts.started_at))?;
        out.serialize_field("duration_ns", &Nanos(parts.duration))?;
        out.serialize_field("inputs", &JsonText(parts.inputs))?;
        out.serialize_field("output", &parts.output.map(JsonText))?;
        out.serialize_field("error", &parts.error)?;
        out.serialize_field("outcome", &parts.outcome)?;
        out.serialize_field("metadata", self.metadata())?;
        out.end()
    }
}

struct Rfc3339(DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::json::serialize_time(&self.0, serializer)
    }
}

struct Nanos(Duration);

impl Serialize for Nanos {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::duration_nanos::serialize(&self.0, serializer)
    }
}

/// The arguments' object; an empty text is no arguments.
fn decode_inputs(text: &[u8]) -> Map {
    if text.is_empty() {
        return Map::new();
    }
    match decode_value(text) {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert(crate::capture::UNSERIALIZABLE_KEY.to_owned(), other);
            map
        }
    }
}

/// A captured value. Recorders write only valid JSON; text that is not (a damaged copy)
/// becomes the unserializable marker rather than an error.
fn decode_value(text: &[u8]) -> Value {
    serde_json::from_slice(text)
        .unwrap_or_else(|error| crate::capture::unserializable(&format!("recorded text is not JSON: {error}")))
}

/// The events of an [`Events`](super::Events) in id order ([`Events::records`](super::Events::records)).
pub struct Records<'a> {
    inner: RecordsInner<'a>,
    remaining: usize,
}

enum RecordsInner<'a> {
    /// Chunks whose events are in id order as they stand.
    InOrder {
        chunks: std::slice::Iter<'a, Arc<dyn EventChunk>>,
        current: Option<(&'a dyn EventChunk, std::ops::Range<usize>)>,
    },
    /// Events put in id order: each one's chunk and index.
    Sorted(std::vec::IntoIter<(&'a dyn EventChunk, usize)>),
    Decoded(std::slice::Iter<'a, Event>),
}

impl<'a> Records<'a> {
    pub(super) fn recorded(chunks: &'a [Arc<dyn EventChunk>]) -> Records<'a> {
        let all = || {
            chunks
                .iter()
                .flat_map(|chunk| (0..chunk.len()).map(move |index| (&**chunk, index)))
        };
        let remaining = chunks.iter().map(|chunk| chunk.len()).sum();
        let mut previous = 0;
        let in_order = chunks
            .iter()
            .filter(|chunk| !chunk.is_empty())
            .all(|chunk| match chunk.ascending_ids() {
                Some((first, last)) if first > previous => {
                    previous = last;
                    true
                }
                _ => false,
            });
        let inner = if in_order {
            RecordsInner::InOrder {
                chunks: chunks.iter(),
                current: None,
            }
        } else {
            // Calls finish after the calls inside them, so a chunk is in the order calls
            // finished; ids are unique, so an unstable sort gives the one order.
            let mut sorted: Vec<_> = all().collect();
            sorted.sort_unstable_by_key(|(chunk, index)| chunk.id(*index));
            RecordsInner::Sorted(sorted.into_iter())
        };
        Records { inner, remaining }
    }

    pub(super) fn decoded(events: &'a [Event]) -> Records<'a> {
        Records {
            inner: RecordsInner::Decoded(events.iter()),
            remaining: events.len(),
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = EventRecord<'a>;

    fn next(&mut self) -> Option<EventRecord<'a>> {
        let inner = match &mut self.inner {
            RecordsInner::Decoded(events) => Inner::Decoded(events.next()?),
            RecordsInner::Sorted(events) => {
                let (chunk, index) = events.next()?;
                Inner::Recorded(chunk.parts(index))
            }
            RecordsInner::InOrder { chunks, current } => loop {
                if let Some((chunk, indices)) = current
                    && let Some(index) = indices.next()
                {
                    break Inner::Recorded(chunk.parts(index));
                }
                let chunk = chunks.next()?;
                *current = Some((&**chunk, 0..chunk.len()));
            },
        };
        self.remaining -= 1;
        Some(EventRecord { inner })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Records<'_> {}
