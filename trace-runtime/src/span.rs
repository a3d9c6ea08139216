//! [`SpanGuard`]: a traced call opened by hand, recorded when it is finished or dropped.
//!
//! This is the one place where a call becomes an event: the attribute macros expand to
//! the same machinery, so a hand-traced call and a macro-traced call cannot differ.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use trace_core::{ErrorRecord, Event, EventKind, Map, Outcome, capture};

use crate::TraceError;
use crate::context::with_frame;
use crate::session::Session;

/// A call traced by hand: an event that started when the guard was made and is recorded
/// when the guard is finished — or dropped.
///
/// While the guard lives, events recorded by the same task in the same session have it as
/// their parent. How the guard ends is the event's outcome:
///
/// | how                          | outcome     | output / error                     |
/// |------------------------------|-------------|------------------------------------|
/// | [`finish`](Self::finish)     | `Ok`        | no output                          |
/// | [`finish_ok`](Self::finish_ok)   | `Ok`    | the value                          |
/// | [`finish_err`](Self::finish_err) | `Err`   | the error                          |
/// | [`finish_panic`](Self::finish_panic) | `Panicked` | the panic's message          |
/// | dropped while panicking      | `Panicked`  | an error of kind `"panic"`         |
/// | dropped otherwise            | `Cancelled` | nothing                            |
///
/// A guard is a task-level marker, like `tracing`'s entered span: two guards alive at once
/// in concurrent branches of one task (`join!`) see each other as parents. Traced
/// functions instrument each future separately and have no such limit.
///
/// A guard made outside any scope by [`enter`] records nothing.
#[must_use = "a span is recorded when it is finished or dropped; dropping it at once records a cancelled call"]
pub struct SpanGuard {
    open: Option<OpenSpan>,
}

/// A traced call in progress.
struct OpenSpan {
    session: Session,
    id: u64,
    parent: Option<u64>,
    /// The task's previous parent, when this span made itself the task's parent.
    restore: Option<Option<u64>>,
    kind: EventKind,
    system_id: Cow<'static, str>,
    name: Cow<'static, str>,
    module_path: Cow<'static, str>,
    turn: Option<u32>,
    timestep: Option<u32>,
    start: Instant,
    inputs: Map,
    metadata: Map,
}

/// Opens a span in the current scope's session (see [`Session::enter`]). Outside a scope
/// the guard records nothing.
pub fn enter(
    kind: EventKind,
    system_id: impl Into<Cow<'static, str>>,
    name: impl Into<Cow<'static, str>>,
) -> SpanGuard {
    match crate::current_session() {
        Some(session) => SpanGuard::enter(session, kind, system_id.into(), name.into()),
        None => SpanGuard { open: None },
    }
}

impl SpanGuard {
    pub(crate) fn enter(
        session: Session,
        kind: EventKind,
        system_id: Cow<'static, str>,
        name: Cow<'static, str>,
    ) -> SpanGuard {
        let id = session.next_event_id();
        // Become the task's current call if the task runs in this session; the call it
        // replaces is the parent. Outside such a task there is no parent.
        let previous = with_frame(|frame| {
            frame
                .session
                .same_session(&session)
                .then(|| frame.parent.replace(Some(id)))
        })
        .flatten();
        let parent = previous.flatten();
        SpanGuard {
            open: Some(OpenSpan {
                id,
                parent,
                restore: previous,
                kind,
                system_id,
                name,
                module_path: Cow::Borrowed(""),
                turn: session.turn(),
                timestep: session.current_timestep(),
                start: Instant::now(),
                inputs: Map::new(),
                metadata: Map::new(),
                session,
            }),
        }
    }

    /// The event's id, or `None` when the guard records nothing.
    pub fn id(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.id)
    }

    /// Whether the guard records an event.
    pub fn is_recording(&self) -> bool {
        self.open.is_some()
    }

    /// Records an argument of the call.
    pub fn record_input(&mut self, name: impl Into<String>, value: impl Serialize) {
        if let Some(open) = &mut self.open {
            open.inputs.insert(name.into(), capture::to_value(&value));
        }
    }

    /// Records a metadata entry of the call.
    pub fn record_metadata(&mut self, key: impl Into<String>, value: impl Serialize) {
        if let Some(open) = &mut self.open {
            open.metadata.insert(key.into(), capture::to_value(&value));
        }
    }

    /// Sets the module the call was made from (`module_path!()`); empty by default.
    pub fn set_module_path(&mut self, module_path: impl Into<Cow<'static, str>>) {
        if let Some(open) = &mut self.open {
            open.module_path = module_path.into();
        }
    }

    /// Records the call as returned, with no output (a function without a return value).
    pub fn finish(self) -> Result<(), TraceError> {
        self.close(Outcome::Ok, None, None)
    }

    /// Records the call as returned with `output`.
    pub fn finish_ok(self, output: impl Serialize) -> Result<(), TraceError> {
        let output = self.open.is_some().then(|| capture::to_value(&output));
        self.close(Outcome::Ok, output, None)
    }

    /// Records the call as failed with `error` (outcome `Err`).
    pub fn finish_err(self, error: impl Into<ErrorRecord>) -> Result<(), TraceError> {
        let error = error.into();
        self.close(Outcome::Err, None, Some(error))
    }

    /// Records the call as panicked, with the payload `std::panic::catch_unwind` returned.
    pub fn finish_panic(self, payload: &(dyn Any + Send)) -> Result<(), TraceError> {
        self.close(
            Outcome::Panicked,
            None,
            Some(ErrorRecord::from_panic(payload)),
        )
    }

    fn close(
        mut self,
        outcome: Outcome,
        output: Option<Value>,
        error: Option<ErrorRecord>,
    ) -> Result<(), TraceError> {
        match self.open.take() {
            Some(open) => open.close(outcome, output, error),
            None => Ok(()),
        }
    }
}

impl OpenSpan {
    fn close(
        self,
        outcome: Outcome,
        output: Option<Value>,
        error: Option<ErrorRecord>,
    ) -> Result<(), TraceError> {
        let duration = self.start.elapsed();
        if let Some(previous) = self.restore {
            with_frame(|frame| {
                if frame.session.same_session(&self.session) {
                    frame.parent.set(previous);
                }
            });
        }
        let event = Event {
            id: self.id,
            parent: self.parent,
            kind: self.kind,
            system_id: self.system_id.into_owned(),
            name: self.name.into_owned(),
            module_path: self.module_path.into_owned(),
            turn: self.turn,
            timestep: self.timestep,
            started_at: self.session.wall_time(self.start),
            duration,
            inputs: self.inputs,
            output,
            error,
            outcome,
            metadata: self.metadata,
        };
        self.session.push_event(event)
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let Some(open) = self.open.take() else { return };
        // A refusal (the session ended meanwhile) is counted in the tracer's stats.
        let _ = if std::thread::panicking() {
            open.close(
                Outcome::Panicked,
                None,
                Some(ErrorRecord::new(
                    ErrorRecord::PANIC_KIND,
                    "panicked while the span was open",
                )),
            )
        } else {
            open.close(Outcome::Cancelled, None, None)
        };
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.open {
            Some(open) => f
                .debug_struct("SpanGuard")
                .field("id", &open.id)
                .field("kind", &open.kind)
                .field("name", &open.name)
                .finish_non_exhaustive(),
            None => f.write_str("SpanGuard(disabled)"),
        }
    }
}
