//! Replay: a program run again against a recorded session, its LLM and tool calls
//! answered from the recording (docs/replay.md).
//!
//! A [`Replay`] holds the recorded session's events, indexed by where each call was made:
//! its kind and name and those of the calls it ran inside (its *path*). A scope run with
//! [`TracerContext::replaying`](crate::TracerContext::replaying) gives every traced call
//! its path as it starts (`run::ReplayRun`); a call that replays (`#[trace_llm_call]`
//! and `#[trace_tool_call]` by default, `replay = true` on any attribute) takes the next
//! recorded call of its path and returns what it returned, without running its body.

mod divergence;
mod errors;
pub(crate) mod run;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use divergence::Divergence;
pub use errors::{FromRecordedError, RecordedError};
use trace_core::{ErrorRecord, Event, SessionTrace};

use crate::error::SinkError;
use crate::sync::lock;

/// What a replay does when the program asks for a call the recording cannot answer: one
/// it does not have, one with other inputs (under [`Replay::strict_inputs`]), or one whose
/// recorded answer does not decode into the function's return type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDivergence {
    /// The call panics with the [`Divergence`] (recorded as panicked); the replay keeps it
    /// ([`Replay::divergence`]).
    #[default]
    Fail,
    /// The call runs its real body, and so does every call after it: the rest of the run
    /// is live. The replay keeps the first divergence.
    Live,
}

/// A recorded session to run a program against: its LLM and tool calls are answered from
/// the recording, deterministically, with no network and no cost.
///
/// ```
/// use agent_trace::{Replay, SessionTracer, TracerContext, trace_llm_call};
///
/// #[trace_llm_call]
/// fn complete(prompt: &str) -> String {
///     format!("{prompt}, live at {:?}", std::time::Instant::now())
/// }
///
/// let tracer = SessionTracer::default();
/// let session = tracer.start_session();
/// let recorded_answer = TracerContext::new(&session).sync_scope(|| complete("hello"));
/// let recorded = session.end()?;
///
/// // Again, answered from the recording: the body does not run.
/// let replay = Replay::from_trace(&recorded);
/// let session = tracer.start_session();
/// let answer = TracerContext::new(&session).replaying(&replay).sync_scope(|| complete("hello"));
/// assert_eq!(answer, recorded_answer);
/// assert!(replay.divergence().is_none());
/// agent_trace::assert_parity!(recorded, session.end()?);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Replay {
    recording: Arc<Recording>,
    options: Options,
    /// The run of the scope that replays it now (or last).
    last_run: Arc<Mutex<Option<Arc<run::ReplayRun>>>>,
}

/// How a replay matches and what it does when it cannot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub(crate) strict_inputs: bool,
    pub(crate) on_divergence: OnDivergence,
    pub(crate) wait_between_items: bool,
}

/// A recorded session's events, by path.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) session_id: String,
    pub(crate) events: Vec<Event>,
    /// For each path, the indexes in `events` of its calls, in the order they started.
    pub(crate) by_path: HashMap<String, Vec<usize>>,
}

/// Why a replay could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The store could not be read.
    #[cfg(feature = "sqlite")]
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// The file of sessions could not be read.
    #[error(transparent)]
    File(#[from] SinkError),
    /// The store or file has no such session.
    #[error("{source_name}: no session {session_id} to replay")]
    NoSuchSession {
        /// The store or file.
        source_name: String,
        /// The session asked for.
        session_id: String,
    },
    /// The file holds several sessions and none was named.
    #[error("{source_name} holds {count} sessions: name the one to replay")]
    WhichSession {
        /// The file.
        source_name: String,
        /// How many sessions it holds.
        count: usize,
    },
}

impl Replay {
    /// A replay of `trace`.
    pub fn from_trace(trace: &SessionTrace) -> Replay {
        Replay {
            recording: Arc::new(Recording::of(trace)),
            options: Options::default(),
            last_run: Arc::default(),
        }
    }

    /// A replay of the stored session `id` (an id, or the start of exactly one).
    ///
    /// ```no_run
    /// use agent_trace::{Replay, TraceStore};
    /// let replay = Replay::from_store(&TraceStore::open("traces.db")?, "d03ab3")?;
    /// # Ok::<(), agent_trace::replay::ReplayError>(())
    /// ```
    #[cfg(feature = "sqlite")]
    pub fn from_store(store: &crate::TraceStore, id: &str) -> Result<Replay, ReplayError> {
        let session_id = store.resolve(id)?;
        match store.get(&session_id)? {
            Some(trace) => Ok(Replay::from_trace(&trace)),
            None => Err(ReplayError::NoSuchSession {
                source_name: store.path().display().to_string(),
                session_id,
            }),
        }
    }

    /// A replay of a session in a JSON-lines file (as `JsonlSink` writes, or `agent-trace
    /// export`): the one with id `session_id`, or, when `None`, the file's only session.
    pub fn from_jsonl(path: impl AsRef<Path>, session_id: Option<&str>) -> Result<Replay, ReplayError> {
        Ok(Replay::from_trace(&read_jsonl(path.as_ref(), session_id)?))
    }

    /// Whether a call must have the recorded call's inputs to be answered (default: no —
    /// calls are matched by their place alone). A call whose inputs differ is a
    /// [`Divergence`] naming the first differing input.
    pub fn strict_inputs(mut self, strict: bool) -> Replay {
        self.options.strict_inputs = strict;
        self
    }

    /// Whether a replayed stream or iterator gives each item no earlier than it came in
    /// the recording, counted from the call's start (default: no — every item at once).
    /// A stream waits without any runtime's timer; an iterator sleeps its thread.
    pub fn wait_between_items(mut self, wait: bool) -> Replay {
        self.options.wait_between_items = wait;
        self
    }

    /// What to do at a divergence (default: [`OnDivergence::Fail`]).
    pub fn on_divergence(mut self, policy: OnDivergence) -> Replay {
        self.options.on_divergence = policy;
        self
    }

    /// The id of the recorded session.
    pub fn session_id(&self) -> &str {
        &self.recording.session_id
    }

    /// The first divergence of the latest run, if it diverged.
    pub fn divergence(&self) -> Option<Divergence> {
        lock(&self.last_run).as_ref().and_then(|run| run.divergence())
    }

    /// How many calls the latest run had answered from the recording.
    pub fn answered(&self) -> usize {
        lock(&self.last_run).as_ref().map_or(0, |run| run.answered())
    }

    /// A new run of the replay, for one scope; the replay reports on it from now on.
    pub(crate) fn start_run(&self) -> Arc<run::ReplayRun> {
        let run = Arc::new(run::ReplayRun::new(self.recording.clone(), self.options));
        *lock(&self.last_run) = Some(run.clone());
        run
    }
}

/// The session `session_id` of a JSON-lines file, or, when `None`, its only session.
pub(crate) fn read_jsonl(path: &Path, session_id: Option<&str>) -> Result<SessionTrace, ReplayError> {
    let mut traces = crate::JsonlSink::read(path)?;
    let source_name = path.display().to_string();
    match session_id {
        Some(id) => match traces.iter().position(|trace| trace.session_id == id) {
            Some(at) => Ok(traces.swap_remove(at)),
            None => Err(ReplayError::NoSuchSession {
                source_name,
                session_id: id.to_owned(),
            }),
        },
        None if traces.len() == 1 => Ok(traces.swap_remove(0)),
        None if traces.is_empty() => Err(ReplayError::NoSuchSession {
            source_name,
            session_id: "(any)".to_owned(),
        }),
        None => Err(ReplayError::WhichSession {
            source_name,
            count: traces.len(),
        }),
    }
}

impl Recording {
    fn of(trace: &SessionTrace) -> Recording {
        let events: Vec<Event> = trace.events.to_vec();
        let index: HashMap<u64, usize> = events.iter().enumerate().map(|(at, event)| (event.id, at)).collect();
        let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, event) in events.iter().enumerate() {
            by_path
                .entry(recorded_path(&events, &index, event))
                .or_default()
                .push(at);
        }
        Recording {
            session_id: trace.session_id.clone(),
            events,
            by_path,
        }
    }
}

/// One step of a path: the kind and name of a call.
pub(crate) fn step(kind: &trace_core::EventKind, name: &str) -> String {
    format!("{} {name}", kind.name())
}

/// The path of a recorded event: its ancestors' steps and its own, outermost first, joined
/// by `/` (a walk bounded by the number of events, so that a cycle of parents ends it).
fn recorded_path(events: &[Event], index: &HashMap<u64, usize>, event: &Event) -> String {
    let mut steps = vec![step(&event.kind, &event.name)];
    let mut parent = event.parent;
    for _ in 0..events.len() {
        let Some(ancestor) = parent.and_then(|id| index.get(&id)).map(|at| &events[*at]) else {
            break;
        };
        steps.push(step(&ancestor.kind, &ancestor.name));
        parent = ancestor.parent;
    }
    steps.reverse();
    steps.join("/")
}

/// A recorded call's answer, as the program gets it back.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The call's path, and which call of it this is.
    pub(crate) path: Arc<str>,
    pub(crate) index: usize,
    /// The recorded event's id.
    pub(crate) event: u64,
    pub(crate) outcome: trace_core::Outcome,
    pub(crate) output: Option<serde_json::Value>,
    pub(crate) error: Option<ErrorRecord>,
    pub(crate) metadata: trace_core::Map,
}

impl Answer {
    /// The divergence of a call this answer does not do for: the replayed event, what
    /// differs, the recorded value, why.
    pub(crate) fn divergence(
        &self,
        replayed_event: Option<u64>,
        field: &str,
        recorded: Option<serde_json::Value>,
        reason: String,
    ) -> Divergence {
        Divergence {
            path: self.path.to_string(),
            index: self.index,
            recorded_event: Some(self.event),
            replayed_event,
            field: field.to_owned(),
            recorded,
            replayed: None,
            reason,
        }
    }
}
