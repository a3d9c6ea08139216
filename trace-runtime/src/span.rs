//! [`SpanGuard`]: a traced call opened by hand, recorded when it is finished or dropped.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use trace_core::{ErrorRecord, EventKind, capture};

use crate::TraceError;
use crate::call::Call;

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

/// Opens a span in the current scope's session (see [`Session::enter`](crate::Session::enter)).
/// Outside a scope the guard records nothing.
pub fn enter(
    kind: EventKind,
    system_id: impl Into<Cow<'static, str>>,
    name: impl Into<Cow<'static, str>>,
) -> SpanGuard {
    match crate::current_session() {
        Some(session) => SpanGuard::new(Call::enter(session, kind, system_id.into(), name.into())),
        None => SpanGuard { call: None },
    }
}

impl SpanGuard {
    pub(crate) fn new(call: Call) -> SpanGuard {
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
            call.capture_input(name.as_ref(), &value);
        }
    }

    /// Records a metadata entry of the call.
    pub fn record_metadata(&mut self, key: impl Into<String>, value: impl Serialize) {
        if let Some(call) = &mut self.call
            && let Some(policy) = call.policy()
        {
            let key = key.into();
            let value = policy.apply(&key, capture::to_value(&value));
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
        call.capture_output(&output);
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
