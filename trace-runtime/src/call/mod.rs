//! [`Call`]: a traced call in progress — the one place where a call becomes an event.
//!
//! Hand-written spans ([`SpanGuard`](crate::SpanGuard)), the `tracing` bridge and the
//! attribute macros all record through it, so a call traced one way and a call traced
//! another cannot differ. Its life: it opens ([`Call::start`], [`Call::enter`]) with a
//! [`CallState`] from the thread's spare boxes; what it captures is written as JSON text
//! as it goes ([`CapturedText`](crate::capture::CapturedText)); when it is finished, or
//! dropped, the state is closed into a recorded event pushed to the session
//! ([`CallState::close`]) and the box goes back to the thread. What a traced function's
//! options add lives with its [`CallSite`].

mod llm;
pub(crate) use llm::{request_details, usage_details};
mod replay;
pub(crate) mod site;
mod state;

use std::any::Any;
use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use trace_core::genai_keys;
use trace_core::graph::NodeId;
use trace_core::{ErrorRecord, EventKind, LlmRequest, LlmUsage, Outcome};

use crate::capture::{ArgKey, Source};
use crate::context::{self, with_frame};
use crate::error::TraceError;
use crate::recorded::Names;
use crate::session::{Refused, Session};
pub use site::{BundleSite, CallSite};
use state::CallState;

/// A traced call in progress; recorded when it is finished, or dropped (then as
/// `Cancelled`, or `Panicked` while the thread panics).
pub struct Call {
    open: Option<OpenCall>,
}

/// A call's session and the state it keeps until it ends — the state in a box that the
/// thread reuses for its next call, so that `Option<Call>`, all a traced function holds
/// outside a scope, stays two words.
struct OpenCall {
    session: Session,
    state: Box<CallState>,
}

impl Call {
    /// A call that records nothing (one that is over).
    pub(crate) fn closed() -> Call {
        Call { open: None }
    }

    fn opened(session: Session, state: Box<CallState>) -> Call {
        Call {
            open: Some(OpenCall { session, state }),
        }
    }

    /// Opens a hand-written call that stays the task's parent until it is closed.
    pub(crate) fn enter(
        session: Session,
        kind: EventKind,
        system_id: Cow<'static, str>,
        name: Cow<'static, str>,
    ) -> Call {
        let id = session.next_event_id();
        // Become the task's current call if the task runs in this session; the call it
        // replaces is the parent. Outside such a task there is no parent.
        let found = with_frame(|frame| {
            frame
                .session
                .same_session(&session)
                .then(|| (frame.parent.replace(Some(id)), frame.replay.clone()))
        })
        .flatten();
        let (restore, replay) = found.map_or((None, None), |(restore, replay)| (Some(restore), replay));
        let names = Names::shared(kind, system_id, name, Cow::Borrowed(""));
        let mut state = CallState::starting(&session, id, restore.flatten(), names, None);
        state.restore = restore;
        replay::register(&mut state, replay);
        Call::opened(session, state)
    }

    /// Opens a call of `session` under `parent`, for a recorder that enters and exits it
    /// around the code it covers (the `tracing` bridge).
    #[cfg(feature = "tracing")]
    pub(crate) fn open(
        session: Session,
        parent: Option<u64>,
        kind: EventKind,
        system_id: Cow<'static, str>,
        name: Cow<'static, str>,
        module_path: &'static str,
    ) -> Call {
        let id = session.next_event_id();
        let names = Names::shared(kind, system_id, name, module_path.into());
        let mut state = CallState::starting(&session, id, parent, names, None);
        let replay = with_frame(|frame| frame.session.same_session(&session).then(|| frame.replay.clone()))
            .flatten()
            .flatten();
        replay::register(&mut state, replay);
        Call::opened(session, state)
    }

    /// Opens the call of a traced `async` function, if the current task runs in a scope.
    /// The call is the task's parent while its future is polled
    /// ([`InCall`](crate::macro_support::InCall)).
    ///
    /// When the thread is inside no scope this is one read of a thread-local and a branch;
    /// otherwise one task-local lookup. Outside a scope there is no allocation and no clock
    /// read.
    #[inline(always)]
    pub fn start(site: &'static CallSite) -> Option<Call> {
        if context::no_scope_is_entered() {
            if crate::session::sessions_running() {
                crate::session::call_outside_scope(site);
            }
            return None;
        }
        Call::start_in_scope(site, false)
    }

    /// Opens the call of a traced function that is not `async`: like [`start`], and the
    /// call is the task's parent from now until it is closed.
    ///
    /// [`start`]: Call::start
    #[inline(always)]
    pub fn start_sync(site: &'static CallSite) -> Option<Call> {
        if context::no_scope_is_entered() {
            if crate::session::sessions_running() {
                crate::session::call_outside_scope(site);
            }
            return None;
        }
        Call::start_in_scope(site, true)
    }

    #[inline(never)]
    fn start_in_scope(site: &'static CallSite, enter: bool) -> Option<Call> {
        let found = with_frame(|frame| {
            let session = frame.session.clone();
            let id = session.next_event_id();
            let parent = if enter {
                frame.parent.replace(Some(id))
            } else {
                frame.parent.get()
            };
            (session, parent, id, frame.replay.clone())
        });
        let Some((session, parent, id, replay)) = found else {
            // A thread that is in a scope, on a task that is not.
            crate::session::call_outside_scope(site);
            return None;
        };
        if site.auto_timestep {
            let turn = session.turn().unwrap_or_else(|| session.timestep_count());
            match site.timestep_name {
                Some(name) => session.timestep_named(turn, name),
                None => session.timestep(turn),
            };
        }
        let mut state = CallState::starting(&session, id, parent, Names::Static(&site.names), Some(site));
        if enter {
            state.restore = Some(parent);
        }
        if replay.is_some() {
            replay::register(&mut state, replay);
        }
        Some(Call::opened(session, state))
    }

    /// The event's id, or `None` once the call is closed.
    pub fn id(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.state.event.id())
    }

    /// Captures an argument under the tracer's capture policy.
    pub(crate) fn capture_input<T: Serialize + ?Sized>(&mut self, key: ArgKey<'_>, source: Source<'_, T>) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input(session.policy(), key, source);
        }
    }

    /// Captures the output under the tracer's capture policy (the call site's
    /// `result_filter` runs when the call closes).
    pub(crate) fn capture_output<T: Serialize + ?Sized>(&mut self, source: Source<'_, T>) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.output(session.policy(), source);
        }
    }

    /// Captures one item of a streamed output into the output's list (past the policy's
    /// limit, the item is counted as left out).
    pub(crate) fn capture_output_item<T: Serialize + ?Sized>(&mut self, source: Source<'_, T>) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.output_item(session.policy(), source);
        }
    }

    /// Closes the list of a streamed output, if there is one.
    pub(crate) fn close_output_items(&mut self) {
        if let Some(open) = &mut self.open {
            open.state.captured.close_output_items();
        }
    }

    /// Captures as the output a text of `len` bytes of which `head` was kept.
    pub(crate) fn capture_cut_text(&mut self, head: &str, len: usize) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.output_cut_text(session.policy(), head, len);
        }
    }

    /// How long the call has run, if it records.
    pub(crate) fn elapsed(&self) -> Option<std::time::Duration> {
        let open = self.open.as_ref()?;
        Some(open.session.elapsed().saturating_sub(open.state.start()))
    }

    /// Captures a value into the event's metadata under `key`, under the tracer's capture
    /// policy (`fields(key = ..)`).
    pub(crate) fn capture_field<T: Serialize + ?Sized>(&mut self, key: &str, source: Source<'_, T>) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            let value = crate::capture::capture_source(session.policy(), key, source);
            state.metadata.insert(key.to_owned(), value);
        }
    }

    /// Records a metadata entry, already captured under the policy.
    pub(crate) fn metadata(&mut self, key: impl Into<String>, value: Value) {
        if let Some(open) = &mut self.open {
            open.state.metadata.insert(key.into(), value);
        }
    }

    /// The capture policy of the call's tracer, if the call records.
    pub(crate) fn policy(&self) -> Option<&trace_core::CapturePolicy> {
        self.open.as_ref().map(|open| open.session.policy())
    }

    /// Sets the names and request fields an attribute gave as expressions (`name = …`,
    /// `system_id = …`, `model = …`, `provider = …`): evaluated when the call records.
    pub fn named(&mut self, name: Option<&str>, system_id: Option<&str>, model: Option<&str>, provider: Option<&str>) {
        if name.is_some() || system_id.is_some() {
            self.rename(
                name.map(|name| Cow::Owned(name.to_owned())),
                system_id.map(|id| Cow::Owned(id.to_owned())),
                None,
            );
        }
        if let Some(model) = model {
            self.metadata(genai_keys::REQUEST_MODEL, Value::from(model));
        }
        if let Some(provider) = provider {
            self.metadata(genai_keys::PROVIDER_NAME, Value::from(provider));
        }
    }

    /// Sets the module the call was made from.
    pub(crate) fn set_module_path(&mut self, module_path: Cow<'static, str>) {
        self.rename(None, None, Some(module_path));
    }

    /// Gives the open call another kind and name (the `tracing` bridge, which learns them
    /// from fields recorded after the span began).
    #[cfg(feature = "tracing")]
    pub(crate) fn rekind(&mut self, kind: Option<EventKind>, name: Option<Cow<'static, str>>) {
        self.rename_all(kind, name, None, None);
    }

    /// Gives the open call other names: those given, the rest as they were.
    fn rename(
        &mut self,
        name: Option<Cow<'static, str>>,
        system_id: Option<Cow<'static, str>>,
        module_path: Option<Cow<'static, str>>,
    ) {
        self.rename_all(None, name, system_id, module_path);
    }

    fn rename_all(
        &mut self,
        kind: Option<EventKind>,
        name: Option<Cow<'static, str>>,
        system_id: Option<Cow<'static, str>>,
        module_path: Option<Cow<'static, str>>,
    ) {
        if let Some(open) = &mut self.open {
            let event = &open.state.event;
            let names = event.names();
            let names = Names::shared(
                kind.unwrap_or_else(|| names.kind.clone()),
                system_id.unwrap_or_else(|| names.system_id.clone()),
                name.unwrap_or_else(|| names.name.clone()),
                module_path.unwrap_or_else(|| names.module_path.clone()),
            );
            open.state.event = event.renamed(names);
            let replay = open.state.replay.take();
            replay::register(&mut open.state, replay);
        }
    }

    /// Makes this `#[bundle]` call a node of the graph, computed from `dependencies` (and,
    /// for a trainable function, from its code parameter); returns the node's id.
    pub fn bundle(&mut self, mut dependencies: Vec<NodeId>) -> NodeId {
        let Some(OpenCall { session, state }) = &mut self.open else {
            return NodeId::DETACHED;
        };
        let Some(site) = state.site else {
            return NodeId::DETACHED;
        };
        let Some(bundle) = &site.bundle else {
            return NodeId::DETACHED;
        };
        if let Some(code) = bundle.code {
            let name = format!("{}::{}::code", site.names.module_path, site.names.name);
            let description = Some(format!("the source code of {}", site.names.name));
            dependencies.push(session.register_parameter(&name, Value::from(code), true, description));
        }
        let id = session.next_node_id();
        state.graph_node = Some((id, dependencies));
        id
    }

    /// Records the token usage and response details of a language-model response, each
    /// under its GenAI key; a method of the user's impl that panics records nothing.
    pub fn record_usage<T: LlmUsage + ?Sized>(&mut self, usage: &T) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            llm::usage_details(usage, session.policy(), |key, value| {
                state.metadata.insert(key.to_owned(), value);
            });
        }
    }

    /// Records the parameters of a language-model request, each under its GenAI key; a
    /// method of the user's impl that panics records nothing.
    pub fn record_request<T: LlmRequest + ?Sized>(&mut self, request: &T) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            llm::request_details(request, session.policy(), |key, value| {
                state.metadata.insert(key.to_owned(), value);
            });
        }
    }

    /// Records that the call's response is read as a stream (`gen_ai.request.stream`).
    pub fn streamed(&mut self) {
        self.metadata(genai_keys::REQUEST_STREAM, Value::Bool(true));
    }

    /// Makes this call the current task's parent; returns what to give back to [`exit`].
    ///
    /// [`exit`]: Call::exit_task
    #[inline]
    pub fn enter_task(&self) -> Option<Option<u64>> {
        let open = self.open.as_ref()?;
        with_frame(|frame| {
            frame
                .session
                .same_session(&open.session)
                .then(|| frame.parent.replace(Some(open.state.event.id())))
        })
        .flatten()
    }

    /// Gives the task its previous parent back (see [`enter_task`](Call::enter_task)).
    #[inline]
    pub fn exit_task(&self, previous: Option<Option<u64>>) {
        if let Some(previous) = previous {
            with_frame(|frame| frame.parent.set(previous));
        }
    }

    /// Closes the call as returned, with the output captured (none if nothing was).
    pub fn finish_ok(mut self) -> Result<(), TraceError> {
        self.close(Outcome::Ok, None)
    }

    /// Closes the call as failed with `error`.
    pub fn finish_err(mut self, error: ErrorRecord) -> Result<(), TraceError> {
        self.close(Outcome::Err, Some(error))
    }

    /// Closes the call as panicked, with the payload of the panic.
    pub fn finish_panic(mut self, payload: &(dyn Any + Send)) -> Result<(), TraceError> {
        self.close(Outcome::Panicked, Some(ErrorRecord::from_panic(payload)))
    }

    fn close(&mut self, outcome: Outcome, error: Option<ErrorRecord>) -> Result<(), TraceError> {
        match self.open.take() {
            Some(OpenCall { session, mut state }) => {
                let closed = state.close(&session, outcome, error);
                state::give_back(state);
                closed.map_err(|Refused| session.refusal())
            }
            None => Ok(()),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.open.is_none() {
            return;
        }
        // A refusal (the session ended meanwhile) is counted in the tracer's stats.
        let _ = if std::thread::panicking() {
            self.close(
                Outcome::Panicked,
                Some(ErrorRecord::new(
                    ErrorRecord::PANIC_KIND,
                    "panicked while the call was open",
                )),
            )
        } else {
            self.close(Outcome::Cancelled, None)
        };
    }
}
