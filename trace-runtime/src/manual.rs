//! The manual API: events described by hand ([`Session::record_event`]) and calls traced
//! by hand ([`SpanGuard`], opened by [`Session::enter`] or [`enter`]), recorded when the
//! guard is finished or dropped.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use trace_core::{ErrorRecord, EventBuilder, EventKind};

use crate::call::Call;
use crate::capture::{ArgKey, Source};
use crate::context::{current_parent, current_session};
use crate::error::TraceError;
use crate::session::Session;

impl Session {
    /// Records an event described by hand; returns its id.
    ///
    /// The session gives it its id, turn and timestep, and, unless the builder names one,
    /// its parent: the traced call the caller is running in, if it runs in a scope of this
    /// session.
    ///
    /// ```
    /// use agent_trace::{Event, EventKind, SessionTracer};
    /// let session = SessionTracer::default().start_session();
    /// let id = session.record_event(Event::builder(EventKind::Tool, "agent", "search").input("q", "rust"))?;
    /// assert_eq!(session.end()?.events[0].id, id);
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn record_event(&self, builder: EventBuilder) -> Result<u64, TraceError> {
        let id = self.next_event_id();
        let parent = current_parent(self);
        let (turn, timestep) = (self.turn(), self.current_timestep());
        let mut event = builder.into_event(self.now());
        event.id = id;
        event.parent = event.parent.or(parent);
        event.turn = turn;
        event.timestep = timestep;
        self.record(event)
    }

    /// Opens a span by hand: an event that starts now and ends when the returned guard is
    /// finished or dropped (see [`SpanGuard`]).
    ///
    /// ```
    /// use agent_trace::{EventKind, SessionTracer, TracerContext};
    /// let tracer = SessionTracer::default();
    /// let session = tracer.start_session();
    /// TracerContext::new(&session).sync_scope(|| {
    ///     let mut span = session.enter(EventKind::Tool, "agent", "lookup");
    ///     span.record_input("key", "answer");
    ///     span.finish_ok(42)
    /// })?;
    /// let trace = session.end()?;
    /// assert_eq!(trace.events[0].output, Some(serde_json::json!(42)));
    /// # Ok::<(), agent_trace::TraceError>(())
    /// ```
    pub fn enter(
        &self,
        kind: EventKind,
        system_id: impl Into<Cow<'static, str>>,
        name: impl Into<Cow<'static, str>>,
    ) -> SpanGuard {
        SpanGuard::new(Call::enter(self.clone(), kind, system_id.into(), name.into()))
    }
}

/// A call traced by hand: an event that started when the guard was made and is recorded
/// when the guard is finished — or dropped.
///
/// While the guard lives, events recorded by the same task in the same session have it as
/// their parent. How the guard ends is the event's outcome:
///
/// | how                                  | outcome     | output / error                  |
/// |--------------------------------------|-------------|---------------------------------|
/// | [`finish`](Self::finish)             | `Ok`        | no output                       |
/// | [`finish_ok`](Self::finish_ok)       | `Ok`        | the value                       |
/// | [`finish_err`](Self::finish_err)     | `Err`       | the error                       |
/// | [`finish_panic`](Self::finish_panic) | `Panicked`  | the panic's message             |
/// | dropped while panicking              | `Panicked`  | an error of kind `"panic"`      |
/// | dropped otherwise                    | `Cancelled` | nothing                         |
///
/// Values are captured under the tracer's [`CapturePolicy`](trace_core::CapturePolicy), as the
/// attribute macros capture them; the macros record through the same machinery.
///
/// A guard is a task-level marker, like `tracing`'s entered span: two guards alive at once
/// in concurrent branches of one task (`join!`) see each other as parents. Traced
/// functions instrument each future separately and have no such limit.
///
/// A guard made outside any scope by [`enter`] records nothing.
#[must_use = "a span is recorded when it is finished or dropped; dropping it at once records a cancelled call"]
pub struct SpanGuard {
    call: Option<Call>,
}

/// Opens a span in the current scope's session (see [`Session::enter`]).
/// Outside a scope the guard records nothing.
pub fn enter(
    kind: EventKind,
    system_id: impl Into<Cow<'static, str>>,
    name: impl Into<Cow<'static, str>>,
) -> SpanGuard {
    match current_session() {
        Some(session) => SpanGuard::new(Call::enter(session, kind, system_id.into(), name.into())),
        None => SpanGuard { call: None },
    }
}

impl SpanGuard {
    fn new(call: Call) -> SpanGuard {
        SpanGuard { call: Some(call) }
    }

    /// The event's id, or `None` when the guard records nothing.
    pub fn id(&self) -> Option<u64> {
        self.call.as_ref().and_then(Call::id)
    }

    /// Whether the guard records an event.
    pub fn is_recording(&self) -> bool {
        self.call.is_some()
    }

    /// Records an argument of the call.
    pub fn record_input(&mut self, name: impl AsRef<str>, value: impl Serialize) {
        if let Some(call) = &mut self.call {
            let key = ArgKey {
                name: name.as_ref(),
                json: None,
            };
            call.capture_input(key, Source::Serialize(&value));
        }
    }

    /// Records a metadata entry of the call.
    pub fn record_metadata(&mut self, key: impl Into<String>, value: impl Serialize) {
        if let Some(call) = &mut self.call
            && let Some(policy) = call.policy()
        {
            let key = key.into();
            let value = crate::capture::capture_value(policy, &key, &value);
            call.metadata(key, value);
        }
    }

    /// Sets the module the call was made from (`module_path!()`); empty by default.
    pub fn set_module_path(&mut self, module_path: impl Into<Cow<'static, str>>) {
        if let Some(call) = &mut self.call {
            call.set_module_path(module_path.into());
        }
    }

    /// Records the call as returned, with no output (a function without a return value).
    pub fn finish(mut self) -> Result<(), TraceError> {
        self.call.take().map_or(Ok(()), Call::finish_ok)
    }

    /// Records the call as returned with `output`.
    pub fn finish_ok(mut self, output: impl Serialize) -> Result<(), TraceError> {
        let Some(mut call) = self.call.take() else {
            return Ok(());
        };
        call.capture_output(Source::Serialize(&output));
        call.finish_ok()
    }

    /// Records the call as failed with `error` (outcome `Err`).
    pub fn finish_err(mut self, error: impl Into<ErrorRecord>) -> Result<(), TraceError> {
        let error = error.into();
        self.call.take().map_or(Ok(()), |call| call.finish_err(error))
    }

    /// Records the call as panicked, with the payload `std::panic::catch_unwind` returned.
    pub fn finish_panic(mut self, payload: &(dyn Any + Send)) -> Result<(), TraceError> {
        self.call.take().map_or(Ok(()), |call| call.finish_panic(payload))
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => f.debug_struct("SpanGuard").field("id", &id).finish_non_exhaustive(),
            None => f.write_str("SpanGuard(disabled)"),
        }
    }
}
