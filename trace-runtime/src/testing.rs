//! Cassette tests: record an episode once, then replay it in every later run of the test
//! and check that the program still does what it did (docs/replay.md).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use trace_core::SessionTrace;
use trace_core::parity::{self, ValidationReport};

use crate::replay::{Divergence, Replay, ReplayError};
use crate::{Session, SessionTracer, TraceError, TracerContext};

/// The environment variable that makes a cassette record again over its file (`1`).
pub const RECORD_VARIABLE: &str = "AGENT_TRACE_RECORD";

/// A cassette at `path`: [`run`](Cassette::run) records the session into the file when it is
/// missing (or `AGENT_TRACE_RECORD=1`), and otherwise replays it — LLM and tool calls
/// answered from the file — and checks that the run is the recorded one.
///
/// ```
/// use agent_trace::testing::cassette;
/// use agent_trace::trace_llm_call;
///
/// #[trace_llm_call]
/// fn complete(prompt: &str) -> String {
///     format!("{prompt}!") // a real client would call a provider here
/// }
///
/// # let path = std::env::temp_dir().join(format!("agent-trace-cassette-doc-{}.jsonl", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// // The first run records, the next ones replay.
/// assert_eq!(cassette(&path).run_sync(|| complete("hi")), "hi!");
/// assert_eq!(cassette(&path).run_sync(|| complete("hi")), "hi!");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn cassette(path: impl AsRef<Path>) -> Cassette {
    Cassette {
        path: path.as_ref().to_path_buf(),
        strict_inputs: true,
    }
}

/// A recorded session in a file, for a test ([`cassette`]).
#[derive(Debug, Clone)]
pub struct Cassette {
    path: PathBuf,
    strict_inputs: bool,
}

/// What a run of a [`Cassette`] found wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The program asked for a call the recording does not have, or with other inputs.
    #[error("{}: the run diverged from the recording: {divergence}", path.display())]
    Diverged {
        /// The cassette's file.
        path: PathBuf,
        /// The first divergence.
        divergence: Box<Divergence>,
        /// The replayed run's session.
        replayed: Box<SessionTrace>,
    },
    /// Every call was answered, but the run differs from the recording elsewhere (an
    /// environment call, the session's status or metadata).
    #[error("{}: the run is not the recorded one: {report}", path.display())]
    NotTheRecordedRun {
        /// The cassette's file.
        path: PathBuf,
        /// What differs.
        report: Box<ValidationReport>,
    },
    /// The file could not be read.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The file could not be written.
    #[error("{}: the recording could not be written: {source}", path.display())]
    Write {
        /// The cassette's file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The session could not be ended.
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// How a cassette runs: recording, or replaying.
enum Mode {
    Record,
    Replay(Replay, Box<SessionTrace>),
}

impl Cassette {
    /// Whether a replayed call must have the recorded inputs (default: yes — a changed
    /// prompt is a divergence). With `false`, calls are matched by their place alone.
    pub fn strict_inputs(mut self, strict: bool) -> Cassette {
        self.strict_inputs = strict;
        self
    }

    /// Whether this run records (the file is missing, or `AGENT_TRACE_RECORD=1`).
    pub fn records(&self) -> bool {
        !self.path.exists() || std::env::var(RECORD_VARIABLE).is_ok_and(|value| value == "1")
    }

    fn mode(&self) -> Result<Mode, CassetteError> {
        if self.records() {
            return Ok(Mode::Record);
        }
        let recorded = crate::replay::read_jsonl(&self.path, None)?;
        let replay = Replay::from_trace(&recorded).strict_inputs(self.strict_inputs);
        Ok(Mode::Replay(replay, Box::new(recorded)))
    }

    /// The run's mode, its session, and the context that records or replays it.
    fn begin(&self) -> Result<(Mode, Session, TracerContext), CassetteError> {
        let mode = self.mode()?;
        let session = SessionTracer::default().start_session();
        let context = match &mode {
            Mode::Record => TracerContext::new(&session),
            Mode::Replay(replay, _) => TracerContext::new(&session).replaying(replay),
        };
        Ok((mode, session, context))
    }

    /// Runs `future` in a session: recording it into the file, or replaying the file and
    /// checking the run against it. Returns the future's output.
    pub async fn try_run<F: Future>(self, future: F) -> Result<F::Output, CassetteError> {
        let (mode, session, context) = self.begin()?;
        let ran = CatchUnwind {
            future: context.scope(future),
        }
        .await;
        let trace = session.end()?;
        self.finish(mode, ran, trace)
    }

    /// [`try_run`](Self::try_run) for code that is not async.
    pub fn try_run_sync<R>(self, f: impl FnOnce() -> R) -> Result<R, CassetteError> {
        let (mode, session, context) = self.begin()?;
        let ran = catch_unwind(AssertUnwindSafe(|| context.sync_scope(f)));
        let trace = session.end()?;
        self.finish(mode, ran, trace)
    }

    /// Like [`try_run`](Self::try_run), panicking with the error: for a test.
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        self.try_run(future).await.unwrap_or_else(|error| fail(&error))
    }

    /// Like [`try_run_sync`](Self::try_run_sync), panicking with the error: for a test.
    pub fn run_sync<R>(self, f: impl FnOnce() -> R) -> R {
        self.try_run_sync(f).unwrap_or_else(|error| fail(&error))
    }

    fn finish<T>(&self, mode: Mode, ran: std::thread::Result<T>, trace: SessionTrace) -> Result<T, CassetteError> {
        let (replay, recorded) = match mode {
            Mode::Record => {
                let output = ran.unwrap_or_else(|payload| resume_unwind(payload));
                let mut line = Vec::new();
                trace.write_json(&mut line);
                line.push(b'\n');
                let parent = self.path.parent().filter(|parent| !parent.as_os_str().is_empty());
                parent
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&self.path, line))
                    .map_err(|source| CassetteError::Write {
                        path: self.path.clone(),
                        source,
                    })?;
                return Ok(output);
            }
            Mode::Replay(replay, recorded) => (replay, recorded),
        };
        // A divergence fails the call that diverged; the program may have caught that
        // panic, or not: either way the divergence is the finding.
        if let Some(divergence) = replay.divergence() {
            return Err(CassetteError::Diverged {
                path: self.path.clone(),
                divergence: Box::new(divergence),
                replayed: Box::new(trace),
            });
        }
        let output = ran.unwrap_or_else(|payload| resume_unwind(payload));
        let report = parity::compare(&recorded, &trace);
        if !report.is_valid() {
            return Err(CassetteError::NotTheRecordedRun {
                path: self.path.clone(),
                report: Box::new(report),
            });
        }
        Ok(output)
    }
}

fn fail(error: &CassetteError) -> ! {
    panic!("{error}\n(to record the cassette again: {RECORD_VARIABLE}=1)")
}

pin_project! {
    /// A future whose panic is caught and given back as its output.
    struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
