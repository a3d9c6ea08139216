//! [`SessionTracer`]: starts sessions and owns the sinks they are written to.

use std::fmt;
use std::sync::Arc;

use trace_core::{CapturePolicy, SessionTrace};

use crate::session::Session;
use crate::stats::{Counters, TracerStats};
use crate::writer::Writer;
use crate::{Sink, TraceError};

/// The default capacity of the writer's queue, in ended sessions.
const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Starts sessions and hands the ended ones to its sinks. Cheap to clone; all clones share
/// the same sinks and counters.
///
/// With no sink, sessions live only in memory: `Session::end` still returns the whole
/// trace. With sinks, ended sessions are written by a background thread; [`flush`] waits
/// for it, and dropping the last handle (tracer or session) flushes too.
///
/// [`flush`]: SessionTracer::flush
#[derive(Clone)]
pub struct SessionTracer {
    pub(crate) shared: Arc<TracerShared>,
}

/// What every handle of one tracer shares.
pub(crate) struct TracerShared {
    pub(crate) counters: Arc<Counters>,
    pub(crate) policy: CapturePolicy,
    writer: Option<Writer>,
}

impl TracerShared {
    /// Hands an ended session to the sinks, if there are any.
    pub(crate) fn write(&self, trace: &SessionTrace) -> Result<(), TraceError> {
        match &self.writer {
            Some(writer) => writer.write(Arc::new(trace.clone())),
            None => Ok(()),
        }
    }
}

impl SessionTracer {
    /// Starts configuring a tracer.
    pub fn builder() -> SessionTracerBuilder {
        SessionTracerBuilder {
            sinks: Vec::new(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            policy: CapturePolicy::default(),
        }
    }

    /// Starts a new session, with a fresh UUID as its id.
    pub fn start_session(&self) -> Session {
        Session::start(Arc::clone(&self.shared), uuid::Uuid::new_v4().to_string())
    }

    /// Starts a new session with the given id (for ids that come from elsewhere, such as a
    /// request id). Ids should be unique; the tracer does not check.
    pub fn start_session_with_id(&self, session_id: impl Into<String>) -> Session {
        Session::start(Arc::clone(&self.shared), session_id.into())
    }

    /// Ends a session this tracer started; the same as `session.end()`, except that a
    /// session from another tracer is refused with [`TraceError::ForeignSession`].
    pub fn end_session(&self, session: &Session) -> Result<SessionTrace, TraceError> {
        if !Arc::ptr_eq(&self.shared, session.tracer()) {
            return Err(TraceError::ForeignSession {
                session_id: session.id().to_owned(),
            });
        }
        session.end()
    }

    /// Returns once every sink has written and flushed every session ended before the call.
    ///
    /// Returns the first sink error since the previous flush, if any.
    pub fn flush(&self) -> Result<(), TraceError> {
        match &self.shared.writer {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }

    /// A snapshot of the tracer's counters.
    pub fn stats(&self) -> TracerStats {
        self.shared.counters.snapshot()
    }
}

impl fmt::Debug for SessionTracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTracer")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Default for SessionTracer {
    /// A tracer with no sink: sessions live in memory only.
    fn default() -> Self {
        SessionTracer::builder().build()
    }
}

/// Configures a [`SessionTracer`].
///
/// ```
/// use agent_trace::{MemorySink, SessionTracer};
/// let tracer = SessionTracer::builder().sink(MemorySink::new()).queue_capacity(64).build();
/// # drop(tracer);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct SessionTracerBuilder {
    sinks: Vec<Box<dyn Sink>>,
    queue_capacity: usize,
    policy: CapturePolicy,
}

impl SessionTracerBuilder {
    /// Adds a sink; every ended session is written to every sink, in the order added.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// How many ended sessions may wait for the writer before `end()` waits (default 1024,
    /// at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets how captured values are cut and redacted (default: [`CapturePolicy::default`]).
    pub fn capture(mut self, policy: CapturePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Builds the tracer, starting its writer thread if it has sinks.
    ///
    /// # Panics
    ///
    /// If the operating system cannot start a thread (see [`try_build`](Self::try_build)).
    pub fn build(self) -> SessionTracer {
        match self.try_build() {
            Ok(tracer) => tracer,
            Err(error) => panic!("agent-trace could not start its writer thread: {error}"),
        }
    }

    /// Builds the tracer, or says why its writer thread could not be started.
    pub fn try_build(self) -> Result<SessionTracer, std::io::Error> {
        let counters = Arc::new(Counters::default());
        let writer = if self.sinks.is_empty() {
            None
        } else {
            Some(Writer::start(self.sinks, self.queue_capacity, Arc::clone(&counters))?)
        };
        Ok(SessionTracer {
            shared: Arc::new(TracerShared {
                counters,
                policy: self.policy,
                writer,
            }),
        })
    }
}
