//! [`SessionTracer`]: starts sessions and owns the sinks they are written to.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use trace_core::{CapturePolicy, SessionTrace};

use crate::error::TraceError;
use crate::session::Session;
use crate::sink::Sink;
use crate::tracer::hooks::Hook;
use crate::tracer::parameters::ParameterStore;
use crate::tracer::sampling::Sampling;
use crate::tracer::stats::TracerStats;
use crate::tracer::writer::{Overflow, WriterConfig};
use crate::tracer::{TracerConfig, TracerShared};

/// The default capacity of the writer's queue, in records (a record is a session's start,
/// a batch of its events, or its whole ended trace: the capacity bounds memory).
const DEFAULT_QUEUE_CAPACITY: usize = 32;

/// Starts sessions and hands them to its sinks. Cheap to clone; all clones share the
/// same sinks and counters.
///
/// With no sink, sessions live only in memory: `Session::end` still returns the whole
/// trace. With sinks, a background thread writes: each session's start, its events in
/// batches while it runs, and its whole trace when it ends. [`flush`] waits for it, and
/// dropping the last handle (tracer or session) flushes too.
///
/// [`flush`]: SessionTracer::flush
#[derive(Clone)]
pub struct SessionTracer {
    pub(crate) shared: Arc<TracerShared>,
}

impl SessionTracer {
    /// Starts configuring a tracer.
    pub fn builder() -> SessionTracerBuilder {
        SessionTracerBuilder {
            sinks: Vec::new(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            overflow: Overflow::Block,
            sampling: Sampling::default(),
            policy: CapturePolicy::default(),
            hooks: Vec::new(),
            close_timeout: Duration::from_secs(5),
            block_timeout: Duration::from_secs(5),
            parameters: ParameterStore::new(),
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

    /// Returns once every sink has written and flushed everything recorded before the call,
    /// including the finished events of sessions still running.
    ///
    /// Fails when a sink still cannot write (its records are kept and retried) or cannot
    /// flush. A failure that a retry already mended shows in [`stats`](Self::stats) and
    /// [`last_error`](Self::last_error), not here.
    pub fn flush(&self) -> Result<(), TraceError> {
        self.shared.flush()
    }

    /// A snapshot of the tracer's counters.
    pub fn stats(&self) -> TracerStats {
        self.shared.counters.snapshot()
    }

    /// The store of parameter values that `parameter` reads and `Session::apply` writes.
    pub fn parameters(&self) -> ParameterStore {
        self.shared.parameters.clone()
    }

    /// The latest failure of a sink or a hook, if any.
    pub fn last_error(&self) -> Option<String> {
        self.shared.counters.last_error()
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
/// use agent_trace::{MemorySink, Overflow, SessionTracer};
/// let tracer = SessionTracer::builder()
///     .sink(MemorySink::new())
///     .queue_capacity(64)
///     .overflow(Overflow::DropNewest)
///     .build();
/// # drop(tracer);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct SessionTracerBuilder {
    sinks: Vec<Box<dyn Sink>>,
    queue_capacity: usize,
    overflow: Overflow,
    sampling: Sampling,
    policy: CapturePolicy,
    hooks: Vec<Arc<dyn Hook>>,
    close_timeout: Duration,
    block_timeout: Duration,
    parameters: ParameterStore,
}

impl SessionTracerBuilder {
    /// Adds a sink; every record goes to every sink, in the order added.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// How many records may wait for the writer (default 32, at least 1). A record is a
    /// session's start, a batch of its events, or its whole ended trace.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// What to do when the queue is full (default [`Overflow::Block`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Which ended sessions are written (default: all).
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// Sets how captured values are cut and redacted (default: [`CapturePolicy::default`]).
    pub fn capture(mut self, policy: CapturePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Where `parameter` finds values that optimizers updated (default: an empty store).
    pub fn parameters(mut self, store: ParameterStore) -> Self {
        self.parameters = store;
        self
    }

    /// Adds a hook.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// How long the writer keeps retrying a failing sink when the tracer is dropped, before
    /// it gives up on what that sink has not written (default 5 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How long recording waits for room in the writer's full queue before it drops the
    /// record (default 5 s): a sink that keeps failing — a full disk — then costs the
    /// program one such wait, after which records that find the queue full are dropped at
    /// once (counted in `stats().dropped_records` and `dropped_events`, named in
    /// `last_error()`), until the sink writes again and records fit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agent_trace::{MemorySink, SessionTracer};
    /// let tracer = SessionTracer::builder()
    ///     .sink(MemorySink::new())
    ///     .block_timeout(Duration::from_millis(500))
    ///     .build();
    /// # drop(tracer);
    /// ```
    pub fn block_timeout(mut self, timeout: Duration) -> Self {
        self.block_timeout = timeout;
        self
    }

    /// Builds the tracer, starting its writer thread if it has sinks.
    ///
    /// # Panics
    ///
    /// When [`try_build`](Self::try_build) would fail: a sampling fraction outside
    /// `0.0..=1.0`, or no thread could be started.
    pub fn build(self) -> SessionTracer {
        match self.try_build() {
            Ok(tracer) => tracer,
            Err(error) => panic!("agent-trace: {error}"),
        }
    }

    /// Builds the tracer, or says what is wrong with the configuration.
    pub fn try_build(self) -> Result<SessionTracer, TraceError> {
        let config = TracerConfig {
            policy: self.policy,
            hooks: self.hooks,
            sampling: self.sampling,
            parameters: self.parameters,
            writer: WriterConfig {
                sinks: self.sinks,
                capacity: self.queue_capacity,
                overflow: self.overflow,
                close_timeout: self.close_timeout,
                block_timeout: self.block_timeout,
            },
        };
        Ok(SessionTracer {
            shared: Arc::new(TracerShared::start(config)?),
        })
    }
}
