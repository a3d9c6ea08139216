//! Where traces go: the [`Sink`] trait, the [`Record`]s it is given, and the sinks that
//! ship with the runtime.

mod jsonl;
mod memory;
#[cfg(feature = "otlp")]
mod otlp;

use std::sync::Arc;

use chrono::{DateTime, Utc};
pub use jsonl::JsonlSink;
pub use memory::MemorySink;
#[cfg(feature = "otlp")]
pub use otlp::{OtlpSink, OtlpSinkBuilder};
use trace_core::{Events, Map, SessionLabels, SessionTrace};

use crate::error::SinkError;

/// A session that started: the first record of every session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStart {
    /// The session's id.
    pub session_id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// Events of a running session, streamed while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBatch {
    /// The session's id.
    pub session_id: String,
    /// Finished events (in id order when read; see [`Events`]).
    pub events: Events,
    /// The session's metadata, when it changed since the previous batch.
    pub metadata: Option<Map>,
    /// The session's user, name and tags, when they changed since the previous batch.
    pub labels: Option<SessionLabels>,
}

/// What the background writer hands a sink. Cheap to clone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Record {
    /// A session started.
    SessionStarted(Arc<SessionStart>),
    /// Events of a running session, sent when a sink
    /// [wants them](Sink::wants_streamed_events). A session's events all arrive in such
    /// batches before its `SessionEnded`, unless the tracer's overflow policy dropped a batch
    /// (counted in `stats().dropped_events`); the ended trace then holds them all.
    Events(Arc<EventBatch>),
    /// A session ended, with its trace.
    ///
    /// A sink that does not [want streamed events](Sink::wants_streamed_events) gets the
    /// whole trace. A sink that does may find `events` empty: when every sink of the tracer
    /// streams, no hook is registered and no batch was dropped, the events all arrived in
    /// `Events` records already and are not copied again. Otherwise `events` holds them all,
    /// including those streamed before — so such a sink stores the events of both records,
    /// each once by id.
    SessionEnded(Arc<SessionTrace>),
    /// A session ended but sampling did not keep it: forget what was streamed of it.
    SessionDiscarded(Arc<str>),
}

impl Record {
    /// How many events the record carries.
    pub fn event_count(&self) -> usize {
        match self {
            Record::Events(batch) => batch.events.len(),
            Record::SessionEnded(trace) => trace.events.len(),
            _ => 0,
        }
    }

    /// What the record is, in words (for messages).
    pub(crate) fn description(&self) -> &'static str {
        match self {
            Record::SessionStarted(_) => "the start",
            Record::Events(_) => "a batch of events",
            Record::SessionEnded(_) => "the ended trace",
            Record::SessionDiscarded(_) => "the discard",
        }
    }

    /// The session the record is of.
    pub(crate) fn session_id(&self) -> &str {
        match self {
            Record::SessionStarted(start) => &start.session_id,
            Record::Events(batch) => &batch.session_id,
            Record::SessionEnded(trace) => &trace.session_id,
            Record::SessionDiscarded(session_id) => session_id,
        }
    }
}

/// A destination for traces.
///
/// Sinks are owned by the tracer's background writer thread, which calls them one at a
/// time; that is why the methods take `&mut self` and the trait asks only for `Send`.
///
/// A simple sink implements [`write_session`](Sink::write_session), called once per
/// ended session. A store that wants events while sessions run (so that a crash loses
/// nothing that was flushed) overrides [`write_batch`](Sink::write_batch), which receives
/// every [`Record`] in order, many at a time — one transaction's worth.
///
/// A write that fails (returns an error or panics) is counted in `stats().write_errors`,
/// reported by `last_error()` and by the next `flush()`, and retried with backoff with the
/// same records, in order, until it succeeds: nothing the writer took is dropped. (While
/// a sink keeps failing, the writer stops taking records; those that then wait longer than
/// the tracer's block timeout for room are dropped and counted, so that the program is not
/// stalled.)
///
/// ```
/// use agent_trace::SessionTrace;
/// use agent_trace::sink::{Sink, SinkError};
///
/// /// Counts the events of every session it is given.
/// struct EventCounter(usize);
///
/// impl Sink for EventCounter {
///     fn name(&self) -> &str { "event-counter" }
///     fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
///         self.0 += trace.events.len();
///         Ok(())
///     }
/// }
/// ```
pub trait Sink: Send {
    /// A short name for error messages and stats, such as `"jsonl"`.
    fn name(&self) -> &str;

    /// Writes one ended session.
    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError>;

    /// Writes a batch of records; by default, every ended session with
    /// [`write_session`](Sink::write_session). When it fails, the same batch (plus what
    /// arrived since) is offered again later, so it should be all-or-nothing.
    fn write_batch(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        for record in batch {
            if let Record::SessionEnded(trace) = record {
                self.write_session(trace)?;
            }
        }
        Ok(())
    }

    /// Makes everything written so far durable (or visible, for in-memory sinks).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Whether the sink wants sessions' events while they run (`Record::Events`), not only
    /// in the ended trace. Streaming copies every event once more, so the tracer streams
    /// only when a sink says yes (default: no). A sink that says yes overrides
    /// [`write_batch`](Sink::write_batch) and takes events from both `Events` and
    /// `SessionEnded` records (see [`Record::SessionEnded`]).
    fn wants_streamed_events(&self) -> bool {
        false
    }

    /// What the sink did in the background since it was last asked — for a sink that hands
    /// its work to a thread of its own (such as `OtlpSink`), so that failures there show in
    /// the tracer's stats and `last_error()`. The writer asks after every write and flush.
    /// Default: nothing to report.
    fn take_report(&mut self) -> SinkReport {
        SinkReport::default()
    }
}

/// What a sink did in the background since it was last asked ([`Sink::take_report`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkReport {
    /// Attempts that failed (counted in `stats().write_errors`).
    pub failures: u64,
    /// Attempts that repeated a failed one (`stats().retries`).
    pub retries: u64,
    /// Events the sink gave up on (`stats().dropped_events`).
    pub dropped_events: u64,
    /// The latest failure's message (`last_error()`).
    pub last_error: Option<String>,
}

impl SinkReport {
    /// A report of these counts and message.
    pub fn new(failures: u64, retries: u64, dropped_events: u64, last_error: Option<String>) -> SinkReport {
        SinkReport {
            failures,
            retries,
            dropped_events,
            last_error,
        }
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        (**self).write_session(trace)
    }

    fn write_batch(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        (**self).write_batch(batch)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }

    fn wants_streamed_events(&self) -> bool {
        (**self).wants_streamed_events()
    }

    fn take_report(&mut self) -> SinkReport {
        (**self).take_report()
    }
}
