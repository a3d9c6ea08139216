//! [`Call`]: a traced call in progress — the one place where a call becomes an event.
//!
//! Hand-written spans ([`SpanGuard`](crate::SpanGuard)), the `tracing` bridge and the
//! attribute macros all record through it, so a call traced one way and a call traced
//! another cannot differ.
//!
//! What a call captures is written as JSON text as it goes ([`CapturedText`]); when it
//! ends, its fixed fields and that text are pushed to the session as a recorded event. No
//! `serde_json::Value` is built unless a function named in the macro's options needs one.

mod site_hooks;
mod state;

use std::any::Any;
use std::borrow::Cow;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use trace_core::graph::NodeId;
use trace_core::recorded::{self, Closing, EventNames, Names, RecordedEvent, Start};
use trace_core::{ErrorRecord, EventKind, Map, Outcome};

use crate::TraceError;
use crate::captured::{CapturedText, Plain};
use crate::context::{self, with_frame};
use crate::session::{Refused, Session};
use crate::site::CallSite;

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

/// What a call keeps while it runs.
pub(crate) struct CallState {
    /// The event as it opened: id, parent, names, turn and timestep.
    event: RecordedEvent,
    /// The task's previous parent, when this call made itself the task's parent for as
    /// long as it lives (hand-written guards do; macro calls enter around each poll).
    restore: Option<Option<u64>>,
    /// When the call started: this long after its session did.
    start: Duration,
    /// Whether the duration is recorded (`include_timing`).
    timed: bool,
    captured: CapturedText,
    metadata: Map,
    site: Option<&'static CallSite>,
    /// For a `#[bundle]` call: its reserved graph node and the nodes it depends on.
    graph_node: Option<(NodeId, Vec<NodeId>)>,
}

impl Call {
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
        let restore = with_frame(|frame| {
            frame
                .session
                .same_session(&session)
                .then(|| frame.parent.replace(Some(id)))
        })
        .flatten();
        let names = shared_names(kind, system_id, name, Cow::Borrowed(""));
        let mut state = CallState::starting(&session, id, restore.flatten(), names);
        state.restore = restore;
        Call::opened(session, state)
    }

    /// Opens a call of `session` under `parent`, for a recorder that enters and exits it
    /// around the code it covers (the `tracing` bridge).
    #[cfg(feature = "tracing")]
    pub(crate) fn open(
        session: Session,
        parent: Option<u64>,
        kind: EventKind,
        system_id: &'static str,
        name: &'static str,
        module_path: &'static str,
    ) -> Call {
        let id = session.next_event_id();
        let names = shared_names(kind, system_id.into(), name.into(), module_path.into());
        let state = CallState::starting(&session, id, parent, names);
        Call::opened(session, state)
    }

    /// Opens the call of a traced `async` function, if the current task runs in a scope.
    /// The call is the task's parent while its future is polled ([`InCall`]).
    ///
    /// When the thread is inside no scope this is one read of a thread-local and a branch;
    /// otherwise one task-local lookup. Outside a scope there is no allocation and no clock
    /// read.
    ///
    /// [`InCall`]: crate::private::InCall
    #[inline(always)]
    pub fn start(site: &'static CallSite) -> Option<Call> {
        if context::no_scope_is_entered() {
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
            return None;
        }
        Call::start_in_scope(site, true)
    }

    #[inline(never)]
    fn start_in_scope(site: &'static CallSite, enter: bool) -> Option<Call> {
        let (session, parent, id) = with_frame(|frame| {
            let session = frame.session.clone();
            let id = session.next_event_id();
            let parent = if enter {
                frame.parent.replace(Some(id))
            } else {
                frame.parent.get()
            };
            (session, parent, id)
        })?;
        if site.auto_timestep {
            let turn = session.turn().unwrap_or_else(|| session.timestep_count());
            match site.timestep_name {
                Some(name) => session.timestep_named(turn, name),
                None => session.timestep(turn),
            };
        }
        let mut state = CallState::starting(&session, id, parent, Names::Static(&site.names));
        if enter {
            state.restore = Some(parent);
        }
        if site.model.is_some() || site.provider.is_some() || site.include_memory {
            site_hooks::opening_metadata(site, &mut state.metadata);
        }
        state.site = Some(site);
        state.timed = site.include_timing;
        Some(Call::opened(session, state))
    }

    /// The event's id, or `None` once the call is closed.
    pub fn id(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.state.event.id())
    }

    /// Captures an argument through `Serialize`, under the tracer's capture policy.
    pub fn capture_input<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input(session.policy(), name, value);
        }
    }

    /// Captures an argument through `Serialize`, with its key already written as JSON
    /// (`"name":`): what the attribute macros capture with.
    pub fn capture_input_keyed<T: Serialize + ?Sized>(&mut self, name: &str, json_key: &str, value: &T) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input_keyed(session.policy(), name, json_key, value);
        }
    }

    /// Captures an argument that is one JSON scalar (a number, a string, …), with its key
    /// already written as JSON: what the attribute macros capture such arguments with.
    pub fn capture_input_plain(&mut self, name: &str, json_key: &str, value: Plain<'_>) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input_plain(session.policy(), name, json_key, value);
        }
    }

    /// Captures an output that is one JSON scalar, under the capture policy (and the site's
    /// `result_filter`).
    pub fn capture_output_plain(&mut self, value: Plain<'_>) {
        let Some(OpenCall { session, state }) = &mut self.open else {
            return;
        };
        match state.site.and_then(|site| site.result_filter) {
            None => state.captured.output_plain(session.policy(), value),
            Some(_) => self.capture_output(&value),
        }
    }

    /// Captures an argument through `Debug`, under the tracer's capture policy.
    pub fn capture_input_debug(&mut self, name: &str, value: &dyn Debug) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input_debug(session.policy(), name, value);
        }
    }

    /// Records an argument whose type can be neither serialized nor debugged: its name.
    pub fn capture_input_opaque(&mut self, name: &str, type_name: &str) {
        if let Some(open) = &mut self.open {
            open.state.captured.input_opaque(name, type_name);
        }
    }

    /// Captures an argument that is already a value, under the tracer's capture policy.
    pub fn capture_input_value(&mut self, name: &str, value: Value) {
        if let Some(OpenCall { session, state }) = &mut self.open {
            state.captured.input_value(session.policy(), name, value);
        }
    }

    /// Captures the output through `Serialize`, under the capture policy (and the site's
    /// `result_filter`).
    pub fn capture_output<T: Serialize + ?Sized>(&mut self, value: &T) {
        let Some(OpenCall { session, state }) = &mut self.open else {
            return;
        };
        match state.site.and_then(|site| site.result_filter) {
            None => state.captured.output(session.policy(), value),
            Some(filter) => {
                let value = session.policy().apply("output", trace_core::capture::to_value(value));
                state.filtered_output(session, filter, value);
            }
        }
    }

    /// Captures the output through `Debug`.
    pub fn capture_output_debug(&mut self, value: &dyn Debug) {
        let Some(OpenCall { session, state }) = &mut self.open else {
            return;
        };
        match state.site.and_then(|site| site.result_filter) {
            None => state.captured.output_debug(session.policy(), value),
            Some(filter) => {
                let value = session.policy().capture_debug("output", value);
                state.filtered_output(session, filter, value);
            }
        }
    }

    /// Records an output whose type can be neither serialized nor debugged: its name.
    pub fn capture_output_opaque(&mut self, type_name: &str) {
        if let Some(open) = &mut self.open {
            open.state.captured.output_opaque(type_name);
        }
    }

    /// Records a metadata entry, already captured under the policy.
    pub fn metadata(&mut self, key: impl Into<String>, value: Value) {
        if let Some(open) = &mut self.open {
            open.state.metadata.insert(key.into(), value);
        }
    }

    /// The capture policy of the call's tracer, if the call records.
    pub(crate) fn policy(&self) -> Option<&trace_core::CapturePolicy> {
        self.open.as_ref().map(|open| open.session.policy())
    }

    /// Sets the module the call was made from.
    pub(crate) fn set_module_path(&mut self, module_path: Cow<'static, str>) {
        if let Some(open) = &mut self.open {
            let event = &open.state.event;
            let names = event.names();
            let names = shared_names(
                names.kind.clone(),
                names.system_id.clone(),
                names.name.clone(),
                module_path,
            );
            open.state.event = RecordedEvent::opened(event.id(), event.parent(), names, event.turn(), event.timestep());
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

    /// Records the token usage of a language-model response.
    pub fn usage(&mut self, input_tokens: Option<u64>, output_tokens: Option<u64>) {
        if let Some(tokens) = input_tokens {
            self.metadata("gen_ai.usage.input_tokens", Value::from(tokens));
        }
        if let Some(tokens) = output_tokens {
            self.metadata("gen_ai.usage.output_tokens", Value::from(tokens));
        }
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

impl CallState {
    /// Records an output value through the site's `result_filter`; a filter that panics is
    /// counted and the value kept as it was.
    fn filtered_output(&mut self, session: &Session, filter: fn(&Value) -> Value, value: Value) {
        let filtered = site_hooks::guarded(session.counters(), || filter(&value));
        self.captured.output_value(filtered.as_ref().unwrap_or(&value));
    }

    fn close(&mut self, session: &Session, outcome: Outcome, error: Option<ErrorRecord>) -> Result<(), Refused> {
        let duration = if self.timed {
            session.elapsed().saturating_sub(self.start)
        } else {
            Duration::ZERO
        };
        if let Some(previous) = self.restore {
            with_frame(|frame| {
                if frame.session.same_session(session) {
                    frame.parent.set(previous);
                }
            });
        }
        let site = self.site;
        if let Some(filter) = site.and_then(|site| site.arg_filter) {
            self.run_arg_filter(session, filter);
        }
        if site.is_some_and(|site| site.include_memory) {
            site_hooks::closing_metadata(&mut self.metadata);
        }
        let (text, inputs, output) = self.captured.finish();
        let mut closing = Closing {
            start: Start::SinceBase(self.start),
            duration,
            outcome,
            inputs,
            output,
            error: error.map(Box::new),
            metadata: (!self.metadata.is_empty()).then(|| std::mem::take(&mut self.metadata)),
        };
        let wants_event = session.has_event_hooks() || site.is_some_and(CallSite::reads_the_event);
        if !wants_event {
            return session.push_recorded(&self.event, &mut closing, text, None);
        }
        // A function named in the options, or a hook, reads the event: decode it for them.
        let mut decoded = recorded::decode_closing(&self.event, &closing, text, session.started_at());
        let mut messages = Vec::new();
        if let Some(site) = site {
            site.after_call(&mut decoded, &mut messages, session.counters());
            closing.metadata = Some(decoded.metadata.clone());
        }
        if let Some((node, dependencies)) = self.graph_node.take() {
            session.insert_graph_node(site_hooks::graph_node(node, dependencies, &decoded, site));
        }
        session.push_recorded(&self.event, &mut closing, text, Some(decoded))?;
        for message in messages {
            // The event was recorded: the session was open a moment ago, and a message
            // refused now is counted as refused.
            let _ = session.record_message(message);
        }
        Ok(())
    }

    /// Runs the user's `arg_filter` on the decoded arguments; a panic in it is counted and
    /// leaves them as they were.
    fn run_arg_filter(&mut self, session: &Session, filter: fn(&mut Map)) {
        let mut inputs = self.captured.decoded_inputs();
        let filtered = site_hooks::guarded(session.counters(), || {
            filter(&mut inputs);
            inputs
        });
        if let Some(inputs) = filtered {
            self.captured.replace_inputs(&inputs);
        }
    }
}

/// Names made at run time.
fn shared_names(
    kind: EventKind,
    system_id: Cow<'static, str>,
    name: Cow<'static, str>,
    module_path: Cow<'static, str>,
) -> Names {
    Names::Shared(Arc::new(EventNames {
        kind,
        system_id,
        name,
        module_path,
    }))
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
