//! [`EventRecord`]: one event read in whatever form it is kept, and [`Records`], the
//! events of an [`Events`](super::Events) in id order.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::recorded::{RecordedEvent, RecordedEvents};
use super::transcode::JsonText;
use crate::{ErrorRecord, Event, EventKind, Map, Outcome};

/// One event, read without decoding it into an [`Event`]: its fields, and what it
/// captured as it was recorded. It serializes exactly as the `Event` would.
#[derive(Clone, Copy)]
pub struct EventRecord<'a> {
    inner: Inner<'a>,
}

#[derive(Clone, Copy)]
enum Inner<'a> {
    Recorded(&'a RecordedEvents, &'a RecordedEvent),
    Decoded(&'a Event),
}

impl<'a> EventRecord<'a> {
    /// The event's id.
    pub fn id(&self) -> u64 {
        match self.inner {
            Inner::Recorded(_, event) => event.id(),
            Inner::Decoded(event) => event.id,
        }
    }

    /// The id of the call it ran inside.
    pub fn parent(&self) -> Option<u64> {
        match self.inner {
            Inner::Recorded(_, event) => event.parent(),
            Inner::Decoded(event) => event.parent,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> &'a EventKind {
        match self.inner {
            Inner::Recorded(_, event) => &event.names().kind,
            Inner::Decoded(event) => &event.kind,
        }
    }

    /// Its system id.
    pub fn system_id(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(_, event) => &event.names().system_id,
            Inner::Decoded(event) => &event.system_id,
        }
    }

    /// Its name.
    pub fn name(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(_, event) => &event.names().name,
            Inner::Decoded(event) => &event.name,
        }
    }

    /// The module it was made from.
    pub fn module_path(&self) -> &'a str {
        match self.inner {
            Inner::Recorded(_, event) => &event.names().module_path,
            Inner::Decoded(event) => &event.module_path,
        }
    }

    /// Its turn.
    pub fn turn(&self) -> Option<u32> {
        match self.inner {
            Inner::Recorded(_, event) => event.turn(),
            Inner::Decoded(event) => event.turn,
        }
    }

    /// Its timestep.
    pub fn timestep(&self) -> Option<u32> {
        match self.inner {
            Inner::Recorded(_, event) => event.timestep(),
            Inner::Decoded(event) => event.timestep,
        }
    }

    /// When it started.
    pub fn started_at(&self) -> DateTime<Utc> {
        match self.inner {
            Inner::Recorded(chunk, event) => event.start().at(chunk.base()),
            Inner::Decoded(event) => event.started_at,
        }
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        match self.inner {
            Inner::Recorded(_, event) => event.duration(),
            Inner::Decoded(event) => event.duration,
        }
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        match self.inner {
            Inner::Recorded(_, event) => event.outcome(),
            Inner::Decoded(event) => event.outcome,
        }
    }

    /// Its error.
    pub fn error(&self) -> Option<&'a ErrorRecord> {
        match self.inner {
            Inner::Recorded(_, event) => event.error(),
            Inner::Decoded(event) => event.error.as_ref(),
        }
    }

    /// Its metadata.
    pub fn metadata(&self) -> &'a Map {
        static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);
        match self.inner {
            Inner::Recorded(_, event) => event.metadata().unwrap_or(&EMPTY),
            Inner::Decoded(event) => &event.metadata,
        }
    }

    /// The JSON text of its arguments' object; empty when it has none.
    pub fn inputs_json(&self) -> Cow<'a, [u8]> {
        match self.inner {
            Inner::Recorded(chunk, event) => Cow::Borrowed(chunk.text(event.inputs())),
            Inner::Decoded(event) if event.inputs.is_empty() => Cow::Borrowed(&[]),
            Inner::Decoded(event) => Cow::Owned(serde_json::to_vec(&event.inputs).unwrap_or_default()),
        }
    }

    /// The JSON text of its output, if it has one.
    pub fn output_json(&self) -> Option<Cow<'a, [u8]>> {
        match self.inner {
            Inner::Recorded(chunk, event) => event.output().map(|span| Cow::Borrowed(chunk.text(span))),
            Inner::Decoded(event) => event
                .output
                .as_ref()
                .map(|value| Cow::Owned(serde_json::to_vec(value).unwrap_or_default())),
        }
    }

    /// The recorded text of its arguments and of its output, for a recorded event.
    pub(super) fn recorded_texts(&self) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        match self.inner {
            Inner::Recorded(chunk, event) => {
                Some((chunk.text(event.inputs()), event.output().map(|span| chunk.text(span))))
            }
            Inner::Decoded(_) => None,
        }
    }

    /// The event, decoded.
    pub fn to_event(&self) -> Event {
        match self.inner {
            Inner::Recorded(chunk, event) => chunk.decode(event),
            Inner::Decoded(event) => event.clone(),
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
        let (chunk, event) = match self.inner {
            Inner::Decoded(event) => return event.serialize(serializer),
            Inner::Recorded(chunk, event) => (chunk, event),
        };
        let names = event.names();
        let mut out = serializer.serialize_struct("Event", 15)?;
        out.serialize_field("id", &event.id())?;
        out.serialize_field("parent", &event.parent())?;
        out.serialize_field("kind", &names.kind)?;
        out.serialize_field("system_id", &*names.system_id)?;
        out.serialize_field("name", &*names.name)?;
        out.serialize_field("module_path", &*names.module_path)?;
        out.serialize_field("turn", &event.turn())?;
        out.serialize_field("timestep", &event.timestep())?;
        out.serialize_field("started_at", &Rfc3339(event.start().at(chunk.base())))?;
        out.serialize_field("duration_ns", &Nanos(event.duration()))?;
        out.serialize_field("inputs", &JsonText(chunk.text(event.inputs())))?;
        out.serialize_field("output", &event.output().map(|span| JsonText(chunk.text(span))))?;
        out.serialize_field("error", &event.error())?;
        out.serialize_field("outcome", &event.outcome())?;
        out.serialize_field("metadata", self.metadata())?;
        out.end()
    }
}

struct Rfc3339(DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::rfc3339::serialize(&self.0, serializer)
    }
}

struct Nanos(Duration);

impl Serialize for Nanos {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::duration_nanos::serialize(&self.0, serializer)
    }
}

/// The events of an [`Events`](super::Events) in id order ([`Events::records`](super::Events::records)).
pub struct Records<'a> {
    inner: RecordsInner<'a>,
    remaining: usize,
}

enum RecordsInner<'a> {
    /// Chunks whose events are in id order as they stand.
    InOrder {
        chunks: std::slice::Iter<'a, Arc<RecordedEvents>>,
        current: Option<(&'a RecordedEvents, std::slice::Iter<'a, RecordedEvent>)>,
    },
    /// Events put in id order.
    Sorted(std::vec::IntoIter<(&'a RecordedEvents, &'a RecordedEvent)>),
    Decoded(std::slice::Iter<'a, Event>),
}

impl<'a> Records<'a> {
    pub(super) fn recorded(chunks: &'a [Arc<RecordedEvents>]) -> Records<'a> {
        let all = || {
            chunks
                .iter()
                .flat_map(|chunk| chunk.events().iter().map(move |event| (&**chunk, event)))
        };
        let remaining = chunks.iter().map(|chunk| chunk.len()).sum();
        let mut previous = 0;
        let in_order = all().all(|(_, event)| {
            let ordered = event.id() > previous;
            previous = event.id();
            ordered
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
            sorted.sort_unstable_by_key(|(_, event)| event.id());
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
                let (chunk, event) = events.next()?;
                Inner::Recorded(chunk, event)
            }
            RecordsInner::InOrder { chunks, current } => loop {
                if let Some((chunk, events)) = current
                    && let Some(event) = events.next()
                {
                    break Inner::Recorded(chunk, event);
                }
                let chunk = chunks.next()?;
                *current = Some((&**chunk, chunk.events().iter()));
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
