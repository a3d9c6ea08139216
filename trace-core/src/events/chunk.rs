//! [`EventChunk`]: events kept in a recorder's own form, read through [`RecordParts`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{ErrorRecord, EventKind, Map, Outcome};

/// A chunk of events kept in the form a recorder wrote them in — for `trace-runtime`, whose
/// sessions record every event as a few fixed fields and the JSON text of what it captured,
/// and share the chunks (with the sinks, with the trace `end()` returns) without copying.
///
/// [`Events::from_chunks`](super::Events::from_chunks) holds such chunks; it reads each
/// event as its [`RecordParts`], and decodes an [`Event`](crate::Event) from them only when
/// one is asked for.
///
/// ```
/// use std::sync::Arc;
/// use trace_core::{EventChunk, EventKind, Events, Outcome, RecordParts};
///
/// /// One event, always the same.
/// struct Constant(EventKind);
///
/// impl EventChunk for Constant {
///     fn len(&self) -> usize {
///         1
///     }
///     fn id(&self, _index: usize) -> u64 {
///         1
///     }
///     fn parts(&self, _index: usize) -> RecordParts<'_> {
///         RecordParts {
///             id: 1,
///             parent: None,
///             kind: &self.0,
///             system_id: "agent",
///             name: "decide",
///             module_path: "",
///             turn: Some(0),
///             timestep: None,
///             started_at: chrono::DateTime::UNIX_EPOCH,
///             duration: std::time::Duration::from_micros(3),
///             outcome: Outcome::Ok,
///             error: None,
///             metadata: None,
///             inputs: br#"{"x":1}"#,
///             output: Some(b"2"),
///         }
///     }
/// }
///
/// let events = Events::from_chunks(vec![Arc::new(Constant(EventKind::Agent))]);
/// assert_eq!(events.records().next().map(|record| record.name()), Some("decide"));
/// assert_eq!(events[0].inputs["x"], 1);
/// ```
pub trait EventChunk: Send + Sync {
    /// How many events the chunk holds.
    fn len(&self) -> usize;

    /// Whether it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id of the event at `index` (below [`len`](Self::len)).
    fn id(&self, index: usize) -> u64;

    /// The first and last ids when the chunk holds events in increasing id order; `None`
    /// when it does not (or holds none). By default, found by reading every id; a recorder
    /// that knows it as it goes says so at once.
    fn ascending_ids(&self) -> Option<(u64, u64)> {
        let mut ids = (0..self.len()).map(|index| self.id(index));
        let first = ids.next()?;
        let mut last = first;
        for id in ids {
            if id <= last {
                return None;
            }
            last = id;
        }
        Some((first, last))
    }

    /// The event at `index` (below [`len`](Self::len)).
    fn parts(&self, index: usize) -> RecordParts<'_>;
}

/// One event of an [`EventChunk`], as its fields and the JSON text of what it captured.
///
/// `inputs` is the JSON text of the arguments' object (empty for none) and `output` the
/// JSON text of the output; both are copied as they are into JSON written from the event
/// (`EventRecord::write_json`), so they must be valid JSON. Text that is not is decoded as
/// the `$unserializable` marker.
#[derive(Debug, Clone, Copy)]
pub struct RecordParts<'a> {
    /// The event's id.
    pub id: u64,
    /// The id of the call it ran inside.
    pub parent: Option<u64>,
    /// Its kind.
    pub kind: &'a EventKind,
    /// Its system id.
    pub system_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The module it was made from (empty when unknown).
    pub module_path: &'a str,
    /// Its turn.
    pub turn: Option<u32>,
    /// Its timestep.
    pub timestep: Option<u32>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: Outcome,
    /// Its error.
    pub error: Option<&'a ErrorRecord>,
    /// Its metadata (`None`: none).
    pub metadata: Option<&'a Map>,
    /// The JSON text of its arguments' object; empty for none.
    pub inputs: &'a [u8],
    /// The JSON text of its output, if it has one.
    pub output: Option<&'a [u8]>,
}
