//! The form a session records events in: each event's fixed fields packed into about a
//! hundred bytes ([`RecordedEvent`]), and the JSON text of what it captured, in chunks
//! ([`Chunk`]) that the session seals and shares — with the sinks, with the trace `end()`
//! returns — without copying. trace-core reads them through its `EventChunk` trait.

mod chunk;

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use trace_core::{ErrorRecord, Event, EventKind, EventRecord, Map, Outcome, RecordParts};

pub(crate) use chunk::Chunk;

/// Who made a call and what it was: the names every event of a call site shares.
///
/// A traced function's names live in its `static` call site (the macro builds it); a span
/// opened by hand shares one allocation among the clones of its record.
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
pub(crate) enum Names {
    /// A traced function's names, in its call site.
    Static(&'static EventNames),
    /// Names made at run time.
    Shared(Arc<EventNames>),
}

impl Names {
    /// Names made at run time.
    pub(crate) fn shared(
        kind: EventKind,
        system_id: Cow<'static, str>,
        name: Cow<'static, str>,
        module_path: Cow<'static, str>,
    ) -> Names {
        Names::Shared(Arc::new(EventNames {
            kind,
            system_id,
            name,
            module_path,
        }))
    }
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
pub(crate) struct TextSpan {
    /// The first byte.
    pub(crate) start: usize,
    /// One past the last byte.
    pub(crate) end: usize,
}

impl TextSpan {
    /// The bytes from `start` to `end`.
    pub(crate) fn new(start: usize, end: usize) -> TextSpan {
        TextSpan { start, end }
    }

    pub(crate) fn slice(self, text: &[u8]) -> &[u8] {
        text.get(self.start..self.end).unwrap_or_default()
    }
}

/// When a recorded event started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// This long after its session's start: what traced calls use, read off the session's
    /// monotonic clock.
    SinceBase(Duration),
    /// At this time (an event described by hand with its own start).
    At(DateTime<Utc>),
}

impl Start {
    /// The time this is, for a session that started at `base`.
    fn at(self, base: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Start::At(at) => at,
            Start::SinceBase(elapsed) => chrono::TimeDelta::from_std(elapsed)
                .ok()
                .and_then(|delta| base.checked_add_signed(delta))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

/// One recorded event: an event's fields packed into a hundred bytes or so (most events
/// have no error and no metadata: those are boxed), with the captured values as spans of
/// its chunk's text.
#[derive(Debug, Clone)]
pub(crate) struct RecordedEvent {
    id: u64,
    parent: Option<u64>,
    names: Names,
    turn: Option<u32>,
    timestep: Option<u32>,
    /// Nanoseconds since the session's start; [`LONG`]: see `rare`.
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
/// No output; also the bound on a chunk's text, whose spans are 32-bit.
const NONE: u32 = u32::MAX;

/// How an event ended: what is known of a call when it ends ([`RecordedEvent::closed`]).
#[derive(Debug, Clone)]
pub(crate) struct Closing {
    /// When it started.
    pub(crate) start: Start,
    /// How long it took.
    pub(crate) duration: Duration,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The JSON object of its arguments in the text it is pushed with; empty for none.
    pub(crate) inputs: TextSpan,
    /// The JSON text of its output, if it has one.
    pub(crate) output: Option<TextSpan>,
    /// Its error (boxed: few events have one, and this is moved on every event).
    pub(crate) error: Option<Box<ErrorRecord>>,
    /// Its metadata (`None`: none; most events have none, and an empty map costs as
    /// much to drop as to move).
    pub(crate) metadata: Option<Map>,
}

impl RecordedEvent {
    /// An event as it opens: what is known of a call when it starts. [`closed`] completes
    /// it.
    ///
    /// [`closed`]: RecordedEvent::closed
    pub(crate) fn opened(id: u64, parent: Option<u64>, names: Names, turn: Option<u32>, timestep: Option<u32>) -> Self {
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

    /// The same event with other names.
    pub(crate) fn renamed(&self, names: Names) -> RecordedEvent {
        RecordedEvent::opened(self.id, self.parent, names, self.turn, self.timestep)
    }

    /// The event `opened`, completed with how it ended (its error and metadata are taken
    /// out of `closing`); its spans are moved `shift` bytes on.
    #[inline]
    pub(crate) fn closed(opened: &RecordedEvent, closing: &mut Closing, shift: u32) -> RecordedEvent {
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
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Its kind, system id, name and module.
    pub(crate) fn parent(&self) -> Option<u64> {
        self.parent
    }

    pub(crate) fn names(&self) -> &EventNames {
        &self.names
    }

    fn start(&self) -> Start {
        match self.rare.as_ref().and_then(|rare| rare.start) {
            Some(start) => start,
            None => Start::SinceBase(Duration::from_nanos(self.start)),
        }
    }

    fn duration(&self) -> Duration {
        match self.rare.as_ref().and_then(|rare| rare.duration) {
            Some(duration) => duration,
            None => Duration::from_nanos(self.duration),
        }
    }

    fn span(span: [u32; 2]) -> TextSpan {
        TextSpan::new(span[0] as usize, span[1] as usize)
    }

    /// The event as trace-core reads it, with its spans in `text`, for a session that
    /// started at `base` (`base_nanos` since the Unix epoch, when that fits).
    #[inline]
    pub(crate) fn parts<'a>(&'a self, text: &'a [u8], base: DateTime<Utc>, base_nanos: Option<i64>) -> RecordParts<'a> {
        let names = self.names();
        let (error, metadata) = match &self.rare {
            None => (None, None),
            Some(rare) => (rare.error.as_ref(), Some(&rare.metadata).filter(|map| !map.is_empty())),
        };
        let started_at = match base_nanos {
            // The usual case: an offset from a base in range, in range itself.
            Some(base_nanos) if self.start < i64::MAX as u64 => match base_nanos.checked_add(self.start as i64) {
                Some(nanos) => DateTime::from_timestamp_nanos(nanos),
                None => self.start().at(base),
            },
            _ => self.start().at(base),
        };
        let duration = if self.duration == LONG {
            self.duration()
        } else {
            Duration::from_nanos(self.duration)
        };
        let output = (self.output[0] != NONE).then(|| Self::span(self.output).slice(text));
        RecordParts {
            id: self.id,
            parent: self.parent,
            kind: &names.kind,
            system_id: &names.system_id,
            name: &names.name,
            module_path: &names.module_path,
            turn: self.turn,
            timestep: self.timestep,
            started_at,
            duration,
            outcome: self.outcome,
            error,
            metadata,
            inputs: Self::span(self.inputs).slice(text),
            output,
        }
    }

    /// The event `opened`, closed as `closing` says, whose spans point into `text`, decoded
    /// (for the functions and hooks that read an event before it is pushed).
    pub(crate) fn decode_closing(opened: &RecordedEvent, closing: &Closing, text: &[u8], base: DateTime<Utc>) -> Event {
        let closed = RecordedEvent::closed(opened, &mut closing.clone(), 0);
        EventRecord::from_parts(closed.parts(text, base, None)).to_event()
    }

    /// An event described as data, in its recorded form, its captured values written to
    /// the end of `text`.
    pub(crate) fn record(event: Event, text: &mut Vec<u8>) -> (RecordedEvent, Closing) {
        let start = text.len();
        if !event.inputs.is_empty() {
            trace_core::json::value(text, &event.inputs);
        }
        let inputs = TextSpan::new(start, text.len());
        let output = event.output.map(|value| {
            let start = text.len();
            trace_core::json::value(text, &value);
            TextSpan::new(start, text.len())
        });
        let names = Names::shared(
            event.kind,
            event.system_id.into(),
            event.name.into(),
            event.module_path.into(),
        );
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
}
