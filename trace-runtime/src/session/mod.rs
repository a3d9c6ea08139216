//! [`Session`]: one traced run of an agent, from `start_session` to `end`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use trace_core::graph::InferenceGraph;
use trace_core::{
    Event, EventChunk, Events, Map, Message, Reward, Score, SessionLabels, SessionStatus, SessionTrace, TimeStep,
};

use crate::clock::SessionClock;
use crate::error::TraceError;
use crate::recorded::{Chunk, RecordedEvent};
use crate::sink::{EventBatch, Record, SessionStart};
use crate::sync::lock;
use crate::tracer::TracerShared;
use crate::tracer::hooks::{Hook, HookResult};
use crate::tracer::stats::Counters;

mod call_notes;
mod chunks;
mod graph;
mod live;
pub(crate) use live::{call_outside_scope, sessions_running};
mod timesteps;

pub(crate) use live::LiveSessions;

/// "No turn" / "no timestep" in the atomics that hold an `Option<u32>`.
const NONE: u64 = u64::MAX;

/// One traced run of an agent. Cheap to clone; all clones are the same session.
///
/// Events are recorded into it by traced functions inside a
/// [`TracerContext`](crate::TracerContext) scope, or by hand with [`record_event`] and
/// [`enter`]. [`end`] closes it and returns the whole trace.
///
/// A session whose last handle is dropped without `end()` is ended then, with status
/// `Cancelled` (or `Error` if anything in it failed), and written to the sinks: nothing
/// recorded is lost.
///
/// [`record_event`]: Session::record_event
/// [`enter`]: Session::enter
/// [`end`]: Session::end
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    id: String,
    tracer: Arc<TracerShared>,
    started_at: DateTime<Utc>,
    /// Time since `started_at`, on a monotonic clock.
    clock: SessionClock,
    /// Whether the tracer has hooks (read on every event: kept here, beside the rest a
    /// call reads, rather than behind the tracer's pointer).
    event_hooks: bool,
    next_event_id: AtomicU64,
    turn: AtomicU64,
    timestep: AtomicU64,
    next_node_id: AtomicU64,
    state: Mutex<SessionState>,
    /// What bodies recorded into their own open calls (`current_call()`), by event id.
    call_notes: call_notes::CallNotes,
}

struct SessionState {
    ended: bool,
    /// The chunk events are recorded into.
    open: Chunk,
    /// Full chunks, in recording order; each was streamed when sealed, if the tracer streams.
    sealed: Vec<Arc<Chunk>>,
    messages: Vec<Message>,
    timesteps: Vec<TimeStep>,
    rewards: Vec<Reward>,
    scores: Vec<Score>,
    metadata: Map,
    labels: SessionLabels,
    graph: InferenceGraph,
    /// The metadata changed since it was last streamed.
    metadata_changed: bool,
    /// The labels (user, name, tags) changed since they were last streamed.
    labels_changed: bool,
    /// An event ended in `Err`/`Panicked`, or a scope's result was an error.
    failed: bool,
    /// A scope was dropped before it completed.
    cancelled: bool,
    /// A batch of streamed events was not queued (the overflow policy dropped it): the
    /// ended session's record must carry every event.
    stream_broken: bool,
}

impl SessionState {
    fn new(base: DateTime<Utc>) -> SessionState {
        SessionState {
            ended: false,
            open: Chunk::empty(base),
            sealed: Vec::new(),
            messages: Vec::new(),
            timesteps: Vec::new(),
            rewards: Vec::new(),
            scores: Vec::new(),
            metadata: Map::new(),
            labels: SessionLabels::default(),
            graph: InferenceGraph::default(),
            metadata_changed: false,
            labels_changed: false,
            failed: false,
            cancelled: false,
            stream_broken: false,
        }
    }
}

impl Session {
    pub(crate) fn start(tracer: Arc<TracerShared>, id: String) -> Session {
        Counters::bump(&tracer.counters.sessions_started);
        let (started_at, clock) = (Utc::now(), SessionClock::start());
        let event_hooks = !tracer.hooks.is_empty();
        let inner = Arc::new(SessionInner {
            id,
            tracer,
            started_at,
            clock,
            event_hooks,
            next_event_id: AtomicU64::new(1),
            turn: AtomicU64::new(NONE),
            timestep: AtomicU64::new(NONE),
            next_node_id: AtomicU64::new(1),
            state: Mutex::new(SessionState::new(started_at)),
            call_notes: call_notes::CallNotes::default(),
        });
        live::session_started(&inner);
        let tracer = &inner.tracer;
        if tracer.streams() {
            tracer.live.register(&inner);
            tracer.send(Record::SessionStarted(Arc::new(SessionStart {
                session_id: inner.id.clone(),
                started_at,
            })));
        }
        if !tracer.hooks.is_empty() {
            tracer
                .hooks
                .run(&tracer.counters, |hook| hook.on_session_start(&inner.id));
        }
        Session { inner }
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// When the session started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    /// Whether [`end`](Session::end) has been called.
    pub fn is_ended(&self) -> bool {
        lock(&self.inner.state).ended
    }

    /// Whether two handles are the same session.
    pub fn same_session(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Sets a metadata entry on the session (replacing one with the same key).
    ///
    /// After the session has ended this does nothing but count in
    /// `SessionTracer::stats().rejected_after_end`.
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Serialize) {
        let key = key.into();
        let value = crate::capture::capture_value(self.policy(), &key, &value);
        let mut state = lock(&self.inner.state);
        if state.ended {
            self.count_rejected();
            return;
        }
        state.metadata.insert(key, value);
        state.metadata_changed = true;
    }

    /// Sets the user the session is for (replacing one set before): stored in its own
    /// column, filtered on (`TraceFilter::user`), exported over OTLP as `user.id`. Captured
    /// under the capture policy, as any value is.
    ///
    /// ```
    /// use agent_trace::SessionTracer;
    /// let session = SessionTracer::default().start_session();
    /// session.set_user("ada");
    /// session.set_name("checkout flow");
    /// session.add_tag("prod");
    /// session.add_tag("prod"); // once
    /// let trace = session.end()?;
    /// assert_eq!((trace.user.as_deref(), trace.name.as_deref()), (Some("ada"), Some("checkout flow")));
    /// assert_eq!(trace.tags, ["prod"]);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    ///
    /// After the session has ended this (like `set_name` and `add_tag`) does nothing but
    /// count in `SessionTracer::stats().rejected_after_end`.
    pub fn set_user(&self, user: impl Into<String>) {
        let user = self.captured_label("user", user.into());
        self.change_labels(|labels| labels.user = Some(user));
    }

    /// Names the session (replacing a name set before): what it was, for a person reading
    /// a list of sessions.
    pub fn set_name(&self, name: impl Into<String>) {
        let name = self.captured_label("name", name.into());
        self.change_labels(|labels| labels.name = Some(name));
    }

    /// Tags the session; a tag it has already is not added again. `TraceFilter::tag`
    /// finds the sessions that have a tag.
    pub fn add_tag(&self, tag: impl Into<String>) {
        let tag = self.captured_label("tag", tag.into());
        self.change_labels(|labels| {
            if !labels.tags.contains(&tag) {
                labels.tags.push(tag);
            }
        });
    }

    /// A label as the capture policy lets it be kept (a secret in it is redacted).
    fn captured_label(&self, key: &str, text: String) -> String {
        match crate::capture::capture_value(self.policy(), key, &text) {
            serde_json::Value::String(kept) => kept,
            other => other.to_string(),
        }
    }

    fn change_labels(&self, change: impl FnOnce(&mut SessionLabels)) {
        let mut state = lock(&self.inner.state);
        if state.ended {
            self.count_rejected();
            return;
        }
        change(&mut state.labels);
        state.labels_changed = true;
    }

    /// Records an event already placed in the session (its id, parent, turn and timestep
    /// given), its values captured under the tracer's capture policy; returns its id.
    pub(crate) fn record(&self, mut event: Event) -> Result<u64, TraceError> {
        let policy = self.policy();
        policy.apply_to_map(&mut event.inputs);
        policy.apply_to_map(&mut event.metadata);
        event.output = event.output.map(|output| policy.apply("output", output));
        let id = event.id;
        let for_hooks = self.has_event_hooks().then(|| event.clone());
        let mut text = Vec::new();
        let (opened, mut closing) = RecordedEvent::record(event, &mut text);
        self.push_recorded(&opened, &mut closing, &text, for_hooks)
            .map_err(|Refused| self.refusal())?;
        Ok(id)
    }

    /// Records a message; returns its id. A message with no timestep gets the open one.
    /// Its content is captured under the tracer's capture policy.
    pub fn record_message(&self, mut message: Message) -> Result<u64, TraceError> {
        message.content = self.policy().apply("content", std::mem::take(&mut message.content));
        let mut state = lock(&self.inner.state);
        if state.ended {
            drop(state);
            return Err(self.rejected());
        }
        message.id = state.messages.len() as u64 + 1;
        if message.timestep.is_none() {
            message.timestep = self.current_timestep();
        }
        let id = message.id;
        let for_hooks = (!self.inner.tracer.hooks.is_empty()).then(|| message.clone());
        state.messages.push(message);
        drop(state);
        Counters::bump(&self.inner.tracer.counters.messages_recorded);
        if let Some(message) = for_hooks {
            self.run_hooks(|hook, id| hook.on_message(id, &message));
        }
        Ok(id)
    }

    /// Records a reward: for the whole session (`event: None`, an outcome reward) or for
    /// one of its events.
    ///
    /// A value that is not finite, or an event the session does not have, is refused.
    ///
    /// ```
    /// use agent_trace::{Reward, SessionTracer};
    /// let session = SessionTracer::default().start_session();
    /// session.record_reward(Reward::outcome("goal_reached", 1.0))?;
    /// assert_eq!(session.end()?.outcome_reward(), 1.0);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn record_reward(&self, mut reward: Reward) -> Result<(), TraceError> {
        if !reward.value.is_finite() {
            return Err(TraceError::InvalidReward {
                session_id: self.inner.id.clone(),
                name: reward.name,
                value: reward.value,
            });
        }
        if let Some(event) = reward.event
            && (event == 0 || event >= self.inner.next_event_id.load(Ordering::Relaxed))
        {
            return Err(TraceError::UnknownRewardEvent {
                session_id: self.inner.id.clone(),
                name: reward.name,
                event,
            });
        }
        self.policy().apply_to_map(&mut reward.metadata);
        let mut state = lock(&self.inner.state);
        if state.ended {
            drop(state);
            return Err(self.rejected());
        }
        state.rewards.push(reward);
        Ok(())
    }

    /// Records a score of the session or of one of its events ([`Score`]): what was judged
    /// of it while it runs. Scores given after its end go to the store
    /// (`TraceStore::open_writable(..)?.add_score(..)`).
    ///
    /// ```
    /// use agent_trace::{Score, ScoreSource, SessionTracer};
    /// let session = SessionTracer::default().start_session();
    /// session.record_score(Score::number("format_ok", 1.0, ScoreSource::Code))?;
    /// assert!(session.record_score(Score::number("", 1.0, ScoreSource::Code)).is_err());
    /// assert_eq!(session.end()?.scores.len(), 1);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn record_score(&self, score: Score) -> Result<(), TraceError> {
        if let Some(problem) = score.problem() {
            return Err(TraceError::InvalidScore {
                session_id: self.inner.id.clone(),
                problem,
            });
        }
        if let Some(event) = score.event
            && (event == 0 || event >= self.inner.next_event_id.load(Ordering::Relaxed))
        {
            return Err(TraceError::UnknownScoreEvent {
                session_id: self.inner.id.clone(),
                name: score.name,
                event,
            });
        }
        let mut state = lock(&self.inner.state);
        if state.ended {
            drop(state);
            return Err(self.rejected());
        }
        state.scores.push(score);
        Ok(())
    }

    /// Ends the session and returns its whole trace, which is also handed to the sinks
    /// (unless the tracer's sampling does not keep it).
    ///
    /// The open timestep is closed. The status is `Error` if any event ended in `Err` or
    /// `Panicked` or a scope's result was an error, else `Cancelled` if a scope was dropped
    /// before it completed, else `Success`.
    ///
    /// Ending a session twice is [`TraceError::SessionEnded`].
    pub fn end(&self) -> Result<SessionTrace, TraceError> {
        self.inner
            .finish(self.now(), SessionStatus::Success)
            .ok_or_else(|| self.rejected())
    }

    pub(crate) fn tracer(&self) -> &Arc<TracerShared> {
        &self.inner.tracer
    }

    pub(crate) fn policy(&self) -> &trace_core::CapturePolicy {
        &self.inner.tracer.policy
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.tracer.counters
    }

    /// How many timesteps have been opened.
    pub(crate) fn timestep_count(&self) -> u32 {
        u32::try_from(lock(&self.inner.state).timesteps.len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn next_event_id(&self) -> u64 {
        self.inner.next_event_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Now, derived from the session's start and its monotonic clock, so that times in a
    /// session never go backwards.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.now()
    }

    /// How long ago the session started, on its monotonic clock: what event starts are
    /// recorded as.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        self.inner.clock.elapsed()
    }

    /// Whether hooks want every event (then it is decoded for them as it is recorded).
    pub(crate) fn has_event_hooks(&self) -> bool {
        self.inner.event_hooks
    }

    /// Marks the session failed: its status will be `Error`.
    pub(crate) fn mark_error(&self) {
        lock(&self.inner.state).failed = true;
    }

    /// Marks the session cancelled: its status will be `Cancelled` unless it failed.
    pub(crate) fn mark_cancelled(&self) {
        lock(&self.inner.state).cancelled = true;
    }

    fn run_hooks(&self, call: impl Fn(&dyn Hook, &str) -> HookResult) {
        let tracer = &self.inner.tracer;
        if !tracer.hooks.is_empty() {
            tracer.hooks.run(&tracer.counters, |hook| call(hook, &self.inner.id));
        }
    }

    fn count_rejected(&self) {
        Counters::bump(&self.inner.tracer.counters.rejected_after_end);
    }

    fn rejected(&self) -> TraceError {
        self.count_rejected();
        TraceError::SessionEnded {
            session_id: self.inner.id.clone(),
        }
    }

    /// The error for a record this session [`Refused`]; counts the refusal.
    pub(crate) fn refusal(&self) -> TraceError {
        self.rejected()
    }
}

/// A record refused because the session has ended: the error is made (and counted) where
/// it is reported, so that the recording path moves nothing bigger than a flag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused;

impl SessionInner {
    /// Streams a batch of this session's events to the sinks that want them.
    pub(crate) fn stream(&self, batch: EventBatch) {
        if !self.tracer.send(Record::Events(Arc::new(batch))) {
            lock(&self.state).stream_broken = true;
        }
    }

    fn now(&self) -> DateTime<Utc> {
        chrono::TimeDelta::from_std(self.clock.elapsed())
            .ok()
            .and_then(|delta| self.started_at.checked_add_signed(delta))
            .unwrap_or_else(Utc::now)
    }

    /// Ends the session (unless it already was) and hands the trace to the sinks.
    /// `status_if_clean` is the status when nothing failed or was cancelled.
    fn finish(&self, now: DateTime<Utc>, status_if_clean: SessionStatus) -> Option<SessionTrace> {
        let mut state = lock(&self.state);
        if state.ended {
            return None;
        }
        let tail = if self.tracer.streams() {
            state.take_unstreamed(&self.id, &self.tracer.counters)
        } else {
            None
        };
        state.ended = true;
        live::session_ended();
        let closed = timesteps::close_open(&mut state, now);
        self.timestep.store(NONE, Ordering::Relaxed);
        let status = if state.failed {
            SessionStatus::Error
        } else if state.cancelled {
            SessionStatus::Cancelled
        } else {
            status_if_clean
        };
        let stream_broken = state.stream_broken;
        state.seal(&self.tracer.counters);
        let trace = SessionTrace {
            session_id: self.id.clone(),
            started_at: self.started_at,
            ended_at: Some(now),
            status,
            timesteps: std::mem::take(&mut state.timesteps),
            events: Events::from_chunks(
                state
                    .sealed
                    .drain(..)
                    .map(|chunk| chunk as Arc<dyn EventChunk>)
                    .collect(),
            ),
            messages: std::mem::take(&mut state.messages),
            rewards: std::mem::take(&mut state.rewards),
            scores: std::mem::take(&mut state.scores),
            graph: {
                let mut graph = std::mem::take(&mut state.graph);
                graph.index();
                graph
            },
            user: state.labels.user.take(),
            name: state.labels.name.take(),
            tags: std::mem::take(&mut state.labels.tags),
            metadata: std::mem::take(&mut state.metadata),
        };
        drop(state);

        let tracer = &self.tracer;
        Counters::bump(&tracer.counters.sessions_ended);
        if !tracer.hooks.is_empty() {
            tracer.hooks.run(&tracer.counters, |hook| {
                if let Some(closed) = &closed {
                    hook.on_timestep_end(&self.id, closed)?;
                }
                hook.on_session_end(&trace)
            });
        }
        if tracer.has_sinks() {
            let tail_queued = tail.is_none_or(|tail| tracer.send(Record::Events(Arc::new(tail))));
            if tracer.sampling.keeps(&self.id, status) {
                // The copy shares the recorded events with the trace returned.
                let mut ended = trace.clone();
                if tail_queued && !stream_broken && tracer.ended_record_may_omit_streamed() {
                    // Every sink has every event already: they need not read them again.
                    ended.events = Events::new();
                }
                tracer.send(Record::SessionEnded(Arc::new(ended)));
            } else {
                Counters::bump(&tracer.counters.sessions_sampled_out);
                tracer.send(Record::SessionDiscarded(Arc::from(self.id.as_str())));
            }
        }
        Some(trace)
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        let now = self.now();
        // Ended already (the usual case) gives `None`; otherwise the trace went to the sinks.
        let _ = self.finish(now, SessionStatus::Cancelled);
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("started_at", &self.inner.started_at)
            .field("ended", &self.is_ended())
            .finish_non_exhaustive()
    }
}

fn from_slot(slot: u64) -> Option<u32> {
    u32::try_from(slot).ok()
}
