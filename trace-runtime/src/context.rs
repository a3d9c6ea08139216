//! The tracer context: which session, and which traced call, the running task records into.
//!
//! The context lives in a `tokio` task-local, so it follows a task across `.await`s and
//! threads and never leaks into other tasks. A task spawned inside a scope is traced only
//! when the context is carried into it with [`spawn`] or [`ContextExt::in_current_context`];
//! a plain `tokio::spawn` starts with no context and records nothing.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use crate::replay::Replay;
use crate::replay::run::ReplayRun;
use crate::session::Session;

tokio::task_local! {
    static FRAME: Frame;
}

thread_local! {
    /// How many scopes this thread is inside right now (a `scope` future being polled, a
    /// `sync_scope` closure running). While it is zero no code on this thread can find a
    /// frame, so a traced function skips the task-local lookup: one read of a
    /// thread-local, whatever other threads and tasks do.
    static ENTERED: Cell<usize> = const { Cell::new(0) };
}

/// Whether this thread is inside no scope.
#[inline(always)]
pub(crate) fn no_scope_is_entered() -> bool {
    ENTERED.with(Cell::get) == 0
}

/// Counts this thread as inside a scope for as long as it lives.
struct Entered;

impl Entered {
    #[inline]
    fn new() -> Entered {
        ENTERED.with(|entered| entered.set(entered.get() + 1));
        Entered
    }
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        ENTERED.with(|entered| entered.set(entered.get() - 1));
    }
}

/// The context of one task: its session, the traced call it is in, and the replay its
/// calls are answered from, if any.
pub(crate) struct Frame {
    pub(crate) session: Session,
    pub(crate) parent: Cell<Option<u64>>,
    pub(crate) replay: Option<Arc<ReplayRun>>,
}

impl Frame {
    fn new(session: Session, parent: Option<u64>, replay: Option<Arc<ReplayRun>>) -> Frame {
        Frame {
            session,
            parent: Cell::new(parent),
            replay,
        }
    }

    /// A frame for another task: same session, same parent call, same replay.
    fn fork(&self) -> Frame {
        Frame::new(self.session.clone(), self.parent.get(), self.replay.clone())
    }
}

/// Runs `f` on the current task's frame, if there is one.
pub(crate) fn with_frame<R>(f: impl FnOnce(&Frame) -> R) -> Option<R> {
    FRAME.try_with(f).ok()
}

/// The traced call the current task is in, if the task runs in a scope of `session`.
pub(crate) fn current_parent(session: &Session) -> Option<u64> {
    with_frame(|frame| frame.session.same_session(session).then(|| frame.parent.get()))
        .flatten()
        .flatten()
}

/// The session of the current scope; `None` outside any scope.
///
/// ```
/// assert!(agent_trace::current_session().is_none());
/// ```
pub fn current_session() -> Option<Session> {
    with_frame(|frame| frame.session.clone())
}

/// Sets the turn of the current scope's session; events started from now on carry it.
/// Outside a scope it does nothing.
pub fn set_turn_number(turn: u32) {
    with_frame(|frame| frame.session.set_turn(turn));
}

/// Makes a session the current one for a future or a closure.
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, current_session};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), agent_trace::TraceError> {
/// let session = SessionTracer::default().start_session();
/// let id = TracerContext::new(&session)
///     .scope(async { current_session().map(|s| s.id().to_owned()) })
///     .await;
/// assert_eq!(id.as_deref(), Some(session.id()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TracerContext {
    session: Session,
    replay: Option<Replay>,
}

impl TracerContext {
    /// A context for `session`.
    pub fn new(session: &Session) -> TracerContext {
        TracerContext {
            session: session.clone(),
            replay: None,
        }
    }

    /// Answers the scope's LLM and tool calls (and those of any function traced with
    /// `replay = true`) from `replay`'s recording instead of running their bodies
    /// (docs/replay.md). The session records the run as usual, with its metadata
    /// `replay.of` naming the recorded session (and `replay.diverged`, the divergence, if
    /// it diverges). Each scope is a new run of the replay.
    ///
    /// ```
    /// use agent_trace::{Replay, SessionTracer, TracerContext, trace_tool_call};
    ///
    /// #[trace_tool_call]
    /// fn roll_die() -> u32 {
    ///     (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() % 6) + 1
    /// }
    ///
    /// let tracer = SessionTracer::default();
    /// let session = tracer.start_session();
    /// let rolled = TracerContext::new(&session).sync_scope(|| [roll_die(), roll_die()]);
    /// let replay = Replay::from_trace(&session.end()?);
    ///
    /// let again = tracer.start_session();
    /// assert_eq!(TracerContext::new(&again).replaying(&replay).sync_scope(|| [roll_die(), roll_die()]), rolled);
    /// assert_eq!(replay.answered(), 2);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn replaying(mut self, replay: &Replay) -> TracerContext {
        self.replay = Some(replay.clone());
        self
    }

    /// The frame the scope runs in: a new run of its replay, if it replays.
    fn frame(self) -> Frame {
        let run = self.replay.map(|replay| {
            let run = replay.start_run();
            self.session.set_metadata("replay.of", run.recorded_session());
            run
        });
        Frame::new(self.session, None, run)
    }

    /// Runs `future` with the session as the current one.
    ///
    /// If the future panics the session's status becomes `Error`; if it is dropped before
    /// it completes, `Cancelled`.
    pub fn scope<F: Future>(self, future: F) -> Scope<F> {
        self.scope_with(future, |_| false)
    }

    /// Like [`scope`](Self::scope), for a future whose `Err` result marks the session's
    /// status `Error`.
    pub fn try_scope<F, T, E>(self, future: F) -> Scope<F>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.scope_with(future, Result::is_err)
    }

    fn scope_with<F: Future>(self, future: F, is_error: fn(&F::Output) -> bool) -> Scope<F> {
        let watch = ScopeWatch {
            session: self.session.clone(),
            is_error,
            done: false,
        };
        Scope {
            inner: FRAME.scope(self.frame(), future),
            watch,
        }
    }

    /// Runs `f` with the session as the current one, for code that is not async.
    ///
    /// If `f` panics the session's status becomes `Error`.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        self.sync_scope_with(f, |_| false)
    }

    /// Like [`sync_scope`](Self::sync_scope), for a closure whose `Err` result marks the
    /// session's status `Error`.
    pub fn try_sync_scope<T, E>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.sync_scope_with(f, Result::is_err)
    }

    fn sync_scope_with<R>(self, f: impl FnOnce() -> R, is_error: fn(&R) -> bool) -> R {
        let mut watch = ScopeWatch {
            session: self.session.clone(),
            is_error,
            done: false,
        };
        let entered = Entered::new();
        let output = FRAME.sync_scope(self.frame(), f);
        drop(entered);
        watch.complete(&output);
        output
    }
}

/// Watches a scope: marks its session when the scope fails, panics or is dropped early.
struct ScopeWatch<T> {
    session: Session,
    is_error: fn(&T) -> bool,
    done: bool,
}

impl<T> ScopeWatch<T> {
    fn complete(&mut self, output: &T) {
        self.done = true;
        if (self.is_error)(output) {
            self.session.mark_error();
        }
    }
}

impl<T> Drop for ScopeWatch<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if std::thread::panicking() {
            self.session.mark_error();
        } else {
            self.session.mark_cancelled();
        }
    }
}

pin_project! {
    /// The future returned by [`TracerContext::scope`] and [`TracerContext::try_scope`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Scope<F: Future> {
        #[pin]
        inner: TaskLocalFuture<Frame, F>,
        watch: ScopeWatch<F::Output>,
    }
}

impl<F: Future> Future for Scope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let entered = Entered::new();
        let output = this.inner.poll(cx);
        drop(entered);
        let output = std::task::ready!(output);
        this.watch.complete(&output);
        Poll::Ready(output)
    }
}

/// Carries the current context into a future that will run elsewhere (another task).
pub trait ContextExt: Future + Sized {
    /// Wraps the future so that it runs in the current scope's session, under the current
    /// traced call. Outside a scope the future runs as it is.
    fn in_current_context(self) -> WithContext<Self> {
        let inner = match with_frame(Frame::fork) {
            Some(frame) => WithContextInner::Scoped {
                future: FRAME.scope(frame, self),
            },
            None => WithContextInner::Plain { future: self },
        };
        WithContext { inner }
    }
}

impl<F: Future> ContextExt for F {}

pin_project! {
    /// The future returned by [`ContextExt::in_current_context`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: WithContextInner<F>,
    }
}

pin_project! {
    #[project = WithContextProjection]
    enum WithContextInner<F> {
        Scoped { #[pin] future: TaskLocalFuture<Frame, F> },
        Plain { #[pin] future: F },
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project().inner.project() {
            WithContextProjection::Scoped { future } => {
                let _entered = Entered::new();
                future.poll(cx)
            }
            WithContextProjection::Plain { future } => future.poll(cx),
        }
    }
}

/// Wraps a closure so that, wherever it runs — a thread of its own, `spawn_blocking`, a
/// pool — it runs in the current scope's session, under the current traced call, as
/// [`ContextExt::in_current_context`] does for a future. Outside a scope the closure runs
/// as it is.
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, trace_tool_call, with_current_context};
///
/// #[trace_tool_call]
/// fn hash(data: &[u8]) -> usize { data.len() }
///
/// let session = SessionTracer::default().start_session();
/// TracerContext::new(&session).sync_scope(|| {
///     let worker = std::thread::spawn(with_current_context(|| hash(b"abc")));
///     worker.join().unwrap()
/// });
/// assert_eq!(session.end()?.events.len(), 1);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
pub fn with_current_context<F, R>(f: F) -> impl FnOnce() -> R + Send
where
    F: FnOnce() -> R + Send,
{
    let frame = with_frame(Frame::fork);
    move || match frame {
        Some(frame) => {
            let _entered = Entered::new();
            FRAME.sync_scope(frame, f)
        }
        None => f(),
    }
}

/// Spawns a task on the current tokio runtime, carrying the current context into it: its
/// events belong to the current session, under the current traced call.
///
/// A plain `tokio::spawn` does not carry the context: its events are not recorded.
///
/// # Panics
///
/// Like `tokio::spawn`, when called outside a tokio runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_context())
}
