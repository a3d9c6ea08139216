//! The form a session records events in: the fixed fields of each event, and the JSON
//! text of what it captured, in chunks that the session seals and shares (with the sinks,
//! with the trace `end()` returns) without copying.
//!
//! Public for the crates of this project, not an API: users see [`Events`](super::Events)
//! and [`EventRecord`](super::EventRecord).

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{ErrorRecord, Event, EventKind, Map, Outcome};

/// Who made a call and what it was: the names every event of a call site shares.
///
/// A traced function's names live in a `static` (the macro builds it); a span opened by
/// hand shares one allocation among the clones of its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNames {
    /// The event kind.
    pub kind: EventKind,
    /// The system id.
    pub system_id: Cow<'static, str>,
    /// The call's name.
    pub name: Cow<'static, str>,
    /// The module the call was made from (empty when unknown).
    pub module_path: Cow<'static, str>,
}

/// The names of a recorded event: a call site's, or its own.
#[derive(Debug, Clone)]
pub enum Names {
    /// A traced function's names, in its call site.
    Static(&'static EventNames),
    /// Names made at run time.
    Shared(Arc<EventNames>),
}

impl Deref for Names {
    type Target = EventNames;

    fn deref(&self) -> &EventNames {
        match self {
            Names::Static(names) => names,
            Names::Shared(names) => names,
        }
    }
}

/// A range of bytes in a chunk's text (or, before the event is pushed, in its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSpan {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl TextSpan {
    /// The span of `len` bytes from `start`.
    pub fn new(start: usize, end: usize) -> TextSpan {
        TextSpan { start, end }
    }

    fn slice(self, text: &[u8]) -> &[u8] {
        text.get(self.start..self.end).unwrap_or_default()
    }
}

/// When a recorded event started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// This long after its chunk's base time (the session's start): what traced calls use,
    /// read off the monotonic clock.
    SinceBase(Duration),
    /// At this time (an event described by hand with its own start).
    At(DateTime<Utc>),
}

/// One recorded event, as a session records it: an event's fields packed into a hundred
/// bytes or so (most events have no error and no metadata: those are boxed), with the
/// captured values as spans of its chunk's text.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    id: u64,
    parent: Option<u64>,
    names: Names,
    turn: Option<u32>,
    timestep: Option<u32>,
    /// Nanoseconds since the chunk's base; [`LONG`]: see `rare`.
    start: u64,
    /// Nanoseconds; [`LONG`]: see `rare`.
    duration: u64,
    inputs: [u32; 2],
    /// `[NONE, NONE]` when there is no output.
    output: [u32; 2],
    outcome: Outcome,
    rare: Option<Box<Rare>>,
}

/// What few events have.
#[derive(Debug, Clone, Default)]
struct Rare {
    error: Option<ErrorRecord>,
    metadata: Map,
    /// A start that is not an offset from the base that fits 64 bits of nanoseconds.
    start: Option<Start>,
    /// A duration past 584 years.
    duration: Option<Duration>,
}

/// "Look in `rare`" for the start and duration.
const LONG: u64 = u64::MAX;
/// No output.
const NONE: u32 = u32::MAX;

/// How an event ended: what is known of a call when it ends ([`RecordedEvent::closed`]).
#[derive(Debug, Clone)]
pub struct Closing {
    /// When it started.
    pub start: Start,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: Outcome,
    /// The JSON object of its arguments in the text it is pushed with; empty for none.
    pub inputs: TextSpan,
    /// The JSON text of its output, if it has one.
    pub output: Option<TextSpan>,
    /// Its error (boxed: few events have one, and this is moved on every event).
    pub error: Option<Box<ErrorRecord>>,
    /// Its metadata (`None`: none; most events have none, and an empty map costs as
    /// much to drop as to move).
    pub metadata: Option<Map>,
}

impl RecordedEvent {
    /// An event as it opens: what is known of a call when it starts. [`closed`] completes
    /// it.
    ///
    /// [`closed`]: RecordedEvent::closed
    pub fn opened(id: u64, parent: Option<u64>, names: Names, turn: Option<u32>, timestep: Option<u32>) -> Self {
        RecordedEvent {
            id,
            parent,
            names,
            turn,
            timestep,
            start: 0,
            duration: 0,
            inputs: [0, 0],
            output: [NONE, NONE],
            outcome: Outcome::Ok,
            rare: None,
        }
    }

    /// The event `opened`, completed with how it ended (its error and metadata are taken
    /// out of `closing`); its spans are moved `shift` bytes on.
    #[inline]
    pub fn closed(opened: &RecordedEvent, closing: &mut Closing, shift: u32) -> RecordedEvent {
        let start_nanos = match closing.start {
            Start::SinceBase(elapsed) => u64::try_from(elapsed.as_nanos()).ok().filter(|&nanos| nanos != LONG),
            Start::At(_) => None,
        };
        let duration_nanos = u64::try_from(closing.duration.as_nanos())
            .ok()
            .filter(|&nanos| nanos != LONG);
        let (error, metadata) = (
            closing.error.take(),
            closing.metadata.take().filter(|map| !map.is_empty()),
        );
        let rare =
            (error.is_some() || metadata.is_some() || start_nanos.is_none() || duration_nanos.is_none()).then(|| {
                Box::new(Rare {
                    error: error.map(|error| *error),
                    metadata: metadata.unwrap_or_default(),
                    start: start_nanos.is_none().then_some(closing.start),
                    duration: duration_nanos.is_none().then_some(closing.duration),
                })
            });
        let (inputs, output) = (closing.inputs, closing.output);
        // Spans over 4 GiB are caught by the chunk before it calls this.
        RecordedEvent {
            id: opened.id,
            parent: opened.parent,
            names: opened.names.clone(),
            turn: opened.turn,
            timestep: opened.timestep,
            start: start_nanos.unwrap_or(LONG),
            duration: duration_nanos.unwrap_or(LONG),
            inputs: [inputs.start as u32 + shift, inputs.end as u32 + shift],
            output: output.map_or([NONE, NONE], |span| {
                [span.start as u32 + shift, span.end as u32 + shift]
            }),
            outcome: closing.outcome,
            rare,
        }
    }

    /// The event's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its parent's id.
    pub fn parent(&self) -> Option<u64> {
        self.parent
    }

    /// Its kind, system id, name and module.
    pub fn names(&self) -> &EventNames {
        &self.names
    }

    /// Its turn.
    pub fn turn(&self) -> Option<u32> {
        self.turn
    }

    /// Its timestep.
    pub fn timestep(&self) -> Option<u32> {
        self.timestep
    }

    /// When it started.
    pub fn start(&self) -> Start {
        match self.rare.as_ref().and_then(|rare| rare.start) {
            Some(start) => start,
            None => Start::SinceBase(Duration::from_nanos(self.start)),
        }
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        match self.rare.as_ref().and_then(|rare| rare.duration) {
            Some(duration) => duration,
            None => Duration::from_nanos(self.duration),
        }
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Its error.
    pub fn error(&self) -> Option<&ErrorRecord> {
        self.rare.as_ref()?.error.as_ref()
    }

    /// Its metadata, if it has any.
    pub fn metadata(&self) -> Option<&Map> {
        self.rare
            .as_ref()
            .map(|rare| &rare.metadata)
            .filter(|map| !map.is_empty())
    }

    /// The span of its arguments' object (empty: none).
    pub fn inputs(&self) -> TextSpan {
        TextSpan::new(self.inputs[0] as usize, self.inputs[1] as usize)
    }

    /// The span of its output's text.
    pub fn output(&self) -> Option<TextSpan> {
        (self.output[0] != NONE).then(|| TextSpan::new(self.output[0] as usize, self.output[1] as usize))
    }
}

/// A chunk of a session's recorded events and the text of their captured values.
#[derive(Debug, Clone)]
pub struct RecordedEvents {
    base: DateTime<Utc>,
    events: Vec<RecordedEvent>,
    text: Vec<u8>,
    /// Where the chunk's memory goes when it is dropped, emptied, if anywhere.
    recycle: Option<Recycle>,
}

/// Takes the emptied memory of a dropped chunk, to make another chunk with it.
pub type Recycle = fn(Vec<RecordedEvent>, Vec<u8>);

impl RecordedEvents {
    /// An empty chunk of a session that started at `base`, with room for `capacity` events.
    pub fn new(base: DateTime<Utc>, capacity: usize) -> RecordedEvents {
        RecordedEvents {
            base,
            events: Vec::with_capacity(capacity),
            text: Vec::new(),
            recycle: None,
        }
    }

    /// An empty chunk in the given memory (emptied first), which it hands to `recycle`,
    /// emptied, when it is dropped.
    pub fn reusing(
        base: DateTime<Utc>,
        mut events: Vec<RecordedEvent>,
        mut text: Vec<u8>,
        recycle: Recycle,
    ) -> RecordedEvents {
        events.clear();
        text.clear();
        RecordedEvents {
            base,
            events,
            text,
            recycle: Some(recycle),
        }
    }

    /// Whether the chunk has room for an event without growing.
    pub fn has_spare_capacity(&self) -> bool {
        self.events.len() < self.events.capacity()
    }

    /// Whether the chunk's text can take `len` more bytes (its spans are 32-bit).
    pub fn has_room_for(&self, len: usize) -> bool {
        self.text.len().saturating_add(len) < NONE as usize
    }

    /// Adds the event `opened`, closed as `closing` says (its error and metadata are taken),
    /// whose spans point into `text`. The event is made where it lands, not moved there.
    /// A text the chunk has no room for (see [`has_room_for`](Self::has_room_for): only
    /// one over 4 GiB, in a fresh chunk) is recorded as the unserializable marker.
    pub fn push(&mut self, opened: &RecordedEvent, closing: &mut Closing, text: &[u8]) {
        if !self.has_room_for(text.len()) {
            let marker = crate::capture::unserializable("the captured text is over 4 GiB");
            let marker = serde_json::to_vec(&marker).unwrap_or_default();
            closing.inputs = TextSpan::new(0, 0);
            closing.output = Some(TextSpan::new(0, marker.len()));
            return self.push(opened, closing, &marker);
        }
        // The room was checked: every offset fits 32 bits.
        let shift = self.text.len() as u32;
        self.text.extend_from_slice(text);
        self.events.push(RecordedEvent::closed(opened, closing, shift));
    }

    /// How many events the chunk holds.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events, in the order they were pushed.
    pub fn events(&self) -> &[RecordedEvent] {
        &self.events
    }

    /// When the session started: event starts are measured from it.
    pub fn base(&self) -> DateTime<Utc> {
        self.base
    }

    /// The bytes of a span of this chunk.
    pub fn text(&self, span: TextSpan) -> &[u8] {
        span.slice(&self.text)
    }

    /// The event as the data model has it.
    pub fn decode(&self, event: &RecordedEvent) -> Event {
        decode(event, &self.text, self.base)
    }
}

impl Drop for RecordedEvents {
    fn drop(&mut self) {
        if let Some(recycle) = self.recycle {
            let mut events = std::mem::take(&mut self.events);
            events.clear();
            let mut text = std::mem::take(&mut self.text);
            text.clear();
            recycle(events, text);
        }
    }
}

impl Start {
    /// The time this is, for a session that started at `base`.
    pub fn at(self, base: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Start::At(at) => at,
            Start::SinceBase(elapsed) => chrono::TimeDelta::from_std(elapsed)
                .ok()
                .and_then(|delta| base.checked_add_signed(delta))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

/// Decodes the event `opened` closed as `closing`, whose spans point into `text` (for
/// hooks that read an event before it is pushed).
pub fn decode_closing(opened: &RecordedEvent, closing: &Closing, text: &[u8], base: DateTime<Utc>) -> Event {
    decode(&RecordedEvent::closed(opened, &mut closing.clone(), 0), text, base)
}

/// Decodes an event whose spans point into `text`.
pub fn decode(event: &RecordedEvent, text: &[u8], base: DateTime<Utc>) -> Event {
    let names = event.names();
    Event {
        id: event.id,
        parent: event.parent,
        kind: names.kind.clone(),
        system_id: names.system_id.clone().into_owned(),
        name: names.name.clone().into_owned(),
        module_path: names.module_path.clone().into_owned(),
        turn: event.turn,
        timestep: event.timestep,
        started_at: event.start().at(base),
        duration: event.duration(),
        inputs: decode_inputs(event.inputs().slice(text)),
        output: event.output().map(|span| decode_value(span.slice(text))),
        error: event.error().cloned(),
        outcome: event.outcome,
        metadata: event.metadata().cloned().unwrap_or_default(),
    }
}

/// The arguments' object; an empty text is no arguments.
pub fn decode_inputs(text: &[u8]) -> Map {
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

/// A captured value. The runtime writes only valid JSON; text that is not (a damaged copy)
/// becomes the unserializable marker rather than an error.
pub fn decode_value(text: &[u8]) -> Value {
    serde_json::from_slice(text)
        .unwrap_or_else(|error| crate::capture::unserializable(&format!("recorded text is not JSON: {error}")))
}

/// Turns an event described as data into its recorded form, writing its captured values
/// to the end of `text`.
pub fn record(event: Event, text: &mut Vec<u8>) -> (RecordedEvent, Closing) {
    let start = text.len();
    if !event.inputs.is_empty() {
        // A map of JSON values always serializes.
        let _ = serde_json::to_writer(&mut *text, &event.inputs);
    }
    let inputs = TextSpan::new(start, text.len());
    let output = event.output.map(|value| {
        let start = text.len();
        let _ = serde_json::to_writer(&mut *text, &value);
        TextSpan::new(start, text.len())
    });
    let names = Names::Shared(Arc::new(EventNames {
        kind: event.kind,
        system_id: event.system_id.into(),
        name: event.name.into(),
        module_path: event.module_path.into(),
    }));
    let opened = RecordedEvent::opened(event.id, event.parent, names, event.turn, event.timestep);
    let closing = Closing {
        start: Start::At(event.started_at),
        duration: event.duration,
        outcome: event.outcome,
        inputs,
        output,
        error: event.error.map(Box::new),
        metadata: (!event.metadata.is_empty()).then_some(event.metadata),
    };
    (opened, closing)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A vector's length and capacity.
    type Sizes = (usize, usize);

    /// What the test's `Recycle` was handed: the events' and the text's sizes.
    static RECYCLED: Mutex<Vec<(Sizes, Sizes)>> = Mutex::new(Vec::new());

    fn note(events: Vec<RecordedEvent>, text: Vec<u8>) {
        let mut recycled = RECYCLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recycled.push(((events.len(), events.capacity()), (text.len(), text.capacity())));
    }

    fn names() -> Names {
        Names::Shared(Arc::new(EventNames {
            kind: EventKind::Tool,
            system_id: "agent".into(),
            name: "search".into(),
            module_path: "".into(),
        }))
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
        let base = DateTime::<Utc>::UNIX_EPOCH;
        let mut used = Vec::with_capacity(4);
        used.push(RecordedEvent::opened(9, None, names(), None, None));
        let chunk = RecordedEvents::reusing(base, used, b"stale".to_vec(), note);
        assert!(chunk.is_empty(), "the memory it reuses is emptied first");
        let mut chunk = chunk;
        let text = br#"{"q":"rust"}"#;
        chunk.push(
            &RecordedEvent::opened(1, None, names(), Some(0), None),
            &mut closing(text),
            text,
        );
        assert_eq!(chunk.decode(&chunk.events()[0]).inputs["q"], "rust");
        let shared = Arc::new(chunk);
        let copy = Arc::clone(&shared);
        drop(shared);
        assert!(
            RECYCLED.lock().map(|recycled| recycled.is_empty()).unwrap_or(false),
            "still held"
        );
        drop(copy);
        let recycled = RECYCLED.lock().map(|recycled| recycled.clone()).unwrap_or_default();
        assert_eq!(recycled.len(), 1);
        let ((events_len, events_capacity), (text_len, text_capacity)) = recycled[0];
        assert_eq!((events_len, text_len), (0, 0));
        assert!(events_capacity >= 4 && text_capacity >= text.len());
    }
}
