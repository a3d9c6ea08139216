//! [`Hook`]: code of yours that runs at each step of recording and saving.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use trace_core::{ErrorRecord, Event, Message, SessionTrace, TimeStep};

use super::stats::Counters;

/// What a hook returns: an error is counted and reported, never propagated.
pub type HookResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Callbacks at each step of recording and saving, registered with
/// `SessionTracerBuilder::hook`. Every method has a default that does nothing.
///
/// Hooks run on the thread that records (session, timestep, event and message hooks) or on
/// the writer thread (`before_save`, `after_save`). A hook that returns an error or panics
/// is counted in `stats().hook_errors` and reported by `last_error()`; recording carries on.
///
/// ```
/// use agent_trace::{Event, Hook, HookResult, SessionTracer};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// #[derive(Default)]
/// struct CountFailures(AtomicUsize);
///
/// impl Hook for CountFailures {
///     fn on_event(&self, _session_id: &str, event: &Event) -> HookResult {
///         if event.outcome.is_failure() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///         Ok(())
///     }
/// }
///
/// let tracer = SessionTracer::builder().hook(CountFailures::default()).build();
/// # drop(tracer);
/// ```
#[allow(unused_variables)]
pub trait Hook: Send + Sync {
    /// A session started.
    fn on_session_start(&self, session_id: &str) -> HookResult {
        Ok(())
    }
    /// A session ended (before it is handed to the sinks).
    fn on_session_end(&self, trace: &SessionTrace) -> HookResult {
        Ok(())
    }
    /// A timestep opened.
    fn on_timestep_start(&self, session_id: &str, timestep: &TimeStep) -> HookResult {
        Ok(())
    }
    /// A timestep closed.
    fn on_timestep_end(&self, session_id: &str, timestep: &TimeStep) -> HookResult {
        Ok(())
    }
    /// An event was recorded.
    fn on_event(&self, session_id: &str, event: &Event) -> HookResult {
        Ok(())
    }
    /// A message was recorded.
    fn on_message(&self, session_id: &str, message: &Message) -> HookResult {
        Ok(())
    }
    /// An ended session is about to be written to the sinks.
    fn before_save(&self, trace: &SessionTrace) -> HookResult {
        Ok(())
    }
    /// An ended session was written by every sink.
    fn after_save(&self, trace: &SessionTrace) -> HookResult {
        Ok(())
    }
    /// A traced function (`name`, in `module_path`) was called outside any scope while a
    /// session of this tracer ran — on a thread or task the context was not carried to —
    /// so its call recorded nothing. Called once per function, for the first such call;
    /// every one is counted in `stats().calls_outside_scope`. Carry the context with
    /// `agent_trace::spawn`, `in_current_context()` or `with_current_context(..)`.
    fn on_call_outside_scope(&self, name: &str, module_path: &str) -> HookResult {
        Ok(())
    }
}

/// The registered hooks, run so that none can break recording.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    hooks: Arc<[Arc<dyn Hook>]>,
}

impl Hooks {
    pub(crate) fn new(hooks: Vec<Arc<dyn Hook>>) -> Hooks {
        Hooks { hooks: hooks.into() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Runs `call` on every hook, counting errors and panics.
    pub(crate) fn run(&self, counters: &Counters, call: impl Fn(&dyn Hook) -> HookResult) {
        for hook in self.hooks.iter() {
            let failure = match catch_unwind(AssertUnwindSafe(|| call(hook.as_ref()))) {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => format!("a hook failed: {error}"),
                Err(payload) => format!("a hook panicked: {}", ErrorRecord::from_panic(payload.as_ref()).message),
            };
            Counters::bump(&counters.hook_errors);
            counters.set_last_error(failure);
        }
    }
}
