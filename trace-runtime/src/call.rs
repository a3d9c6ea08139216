//! [`Call`]: a traced call in progress — the one place where a call becomes an event.
//!
//! Hand-written spans ([`SpanGuard`](crate::SpanGuard)) and the attribute macros both
//! record through it, so a hand-traced call and a macro-traced call cannot differ.

use std::any::Any;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use trace_core::graph::{GraphNode, NodeId, NodeKind};
use trace_core::{CallRecord, ErrorRecord, Event, EventKind, Map, Message, Outcome};

use crate::TraceError;
use crate::context::{self, with_frame};
use crate::session::Session;
use crate::site::CallSite;

/// A traced call in progress; recorded when it is finished, or dropped (then as
/// `Cancelled`, or `Panicked` while the thread panics).
pub struct Call {
    /// Boxed so that `Option<Call>` — all a traced function holds outside a scope — is two
    /// words, not the whole call.
    open: Option<Box<OpenCall>>,
}

struct OpenCall {
    session: Session,
    id: u64,
    parent: Option<u64>,
    /// The task's previous parent, when this call made itself the task's parent for as
    /// long as it lives (hand-written guards do; macro calls enter around each poll).
    restore: Option<Option<u64>>,
    kind: EventKind,
    system_id: Cow<'static, str>,
    name: Cow<'static, str>,
    module_path: Cow<'static, str>,
    turn: Option<u32>,
    timestep: Option<u32>,
    started_at: DateTime<Utc>,
    /// `None` when the call is not timed (`include_timing = false`).
    start: Option<Instant>,
    inputs: Map,
    metadata: Map,
    site: Option<&'static CallSite>,
    /// For a `#[bundle]` call: its reserved graph node and the nodes it depends on.
    graph_node: Option<(NodeId, Vec<NodeId>)>,
}

impl Call {
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
        let mut open = OpenCall::starting(session, id, restore.flatten(), kind, system_id, name, Cow::Borrowed(""));
        open.restore = restore;
        Call {
            open: Some(Box::new(open)),
        }
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
        let open = OpenCall::starting(
            session,
            id,
            parent,
            kind,
            system_id.into(),
            name.into(),
            module_path.into(),
        );
        Call {
            open: Some(Box::new(open)),
        }
    }

    /// Opens the call of a traced function, if the current task runs in a scope.
    ///
    /// When no scope is open anywhere in the process this is one relaxed load of a static
    /// and a branch; otherwise one task-local lookup. Outside a scope there is no
    /// allocation and no clock read.
    #[inline(always)]
    pub fn start(site: &'static CallSite) -> Option<Call> {
        if context::no_scope_is_open() {
            return None;
        }
        Call::start_in_scope(site)
    }

    #[inline(never)]
    fn start_in_scope(site: &'static CallSite) -> Option<Call> {
        let (session, parent) = with_frame(|frame| (frame.session.clone(), frame.parent.get()))?;
        Some(Call::start_in(session, parent, site))
    }

    #[cold]
    #[inline(never)]
    fn start_in(session: Session, parent: Option<u64>, site: &'static CallSite) -> Call {
        if site.auto_timestep {
            let turn = session.turn().unwrap_or_else(|| session.timestep_count());
            match site.timestep_name {
                Some(name) => session.timestep_named(turn, name),
                None => session.timestep(turn),
            };
        }
        let mut metadata = Map::new();
        if let Some(model) = site.model {
            metadata.insert("gen_ai.request.model".to_owned(), Value::from(model));
        }
        if let Some(provider) = site.provider {
            metadata.insert("gen_ai.provider.name".to_owned(), Value::from(provider));
        }
        if site.include_memory {
            metadata.insert("memory.rss_before_bytes".to_owned(), resident_memory());
        }
        let id = session.next_event_id();
        let (system_id, name, module_path) = (site.system_id.into(), site.name.into(), site.module_path.into());
        let mut open = OpenCall::starting(session, id, parent, site.kind.clone(), system_id, name, module_path);
        open.metadata = metadata;
        open.site = Some(site);
        if !site.include_timing {
            open.start = None;
        }
        Call {
            open: Some(Box::new(open)),
        }
    }

    /// The event's id, or `None` once the call is closed.
    pub fn id(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.id)
    }

    /// The capture policy of the call's tracer.
    pub fn policy(&self) -> &trace_core::CapturePolicy {
        match &self.open {
            Some(open) => open.session.policy(),
            None => default_policy(),
        }
    }

    /// Records an argument, already captured under the policy.
    pub fn input(&mut self, name: impl Into<String>, value: Value) {
        if let Some(open) = &mut self.open {
            open.inputs.insert(name.into(), value);
        }
    }

    /// Records a metadata entry, already captured under the policy.
    pub fn metadata(&mut self, key: impl Into<String>, value: Value) {
        if let Some(open) = &mut self.open {
            open.metadata.insert(key.into(), value);
        }
    }

    /// Sets the module the call was made from.
    pub(crate) fn set_module_path(&mut self, module_path: Cow<'static, str>) {
        if let Some(open) = &mut self.open {
            open.module_path = module_path;
        }
    }

    /// Makes this `#[bundle]` call a node of the graph, computed from `dependencies` (and,
    /// for a trainable function, from its code parameter); returns the node's id.
    pub fn bundle(&mut self, mut dependencies: Vec<NodeId>) -> NodeId {
        let Some(open) = &mut self.open else {
            return NodeId::DETACHED;
        };
        let Some(bundle) = open.site.and_then(|site| site.bundle.as_ref()) else {
            return NodeId::DETACHED;
        };
        if let (Some(code), Some(site)) = (bundle.code, open.site) {
            let name = format!("{}::{}::code", site.module_path, site.name);
            let description = Some(format!("the source code of {}", site.name));
            dependencies.push(
                open.session
                    .register_parameter(&name, Value::from(code), true, description),
            );
        }
        let id = open.session.next_node_id();
        open.graph_node = Some((id, dependencies));
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
    /// [`exit`]: Call::exit
    #[inline]
    pub fn enter_task(&self) -> Option<Option<u64>> {
        let open = self.open.as_ref()?;
        with_frame(|frame| {
            frame
                .session
                .same_session(&open.session)
                .then(|| frame.parent.replace(Some(open.id)))
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

    /// Closes the call as returned, with `output` (`None`: a function without a value).
    pub fn finish_ok(mut self, output: Option<Value>) -> Result<(), TraceError> {
        let output = match (output, self.open.as_ref().and_then(|open| open.site?.result_filter)) {
            (Some(value), Some(filter)) => Some(filter(&value)),
            (output, _) => output,
        };
        self.close(Outcome::Ok, output, None)
    }

    /// Closes the call as failed with `error`.
    pub fn finish_err(mut self, error: ErrorRecord) -> Result<(), TraceError> {
        self.close(Outcome::Err, None, Some(error))
    }

    /// Closes the call as panicked, with the payload of the panic.
    pub fn finish_panic(mut self, payload: &(dyn Any + Send)) -> Result<(), TraceError> {
        self.close(Outcome::Panicked, None, Some(ErrorRecord::from_panic(payload)))
    }

    fn close(&mut self, outcome: Outcome, output: Option<Value>, error: Option<ErrorRecord>) -> Result<(), TraceError> {
        match self.open.take() {
            Some(open) => (*open).close(outcome, output, error),
            None => Ok(()),
        }
    }
}

impl OpenCall {
    /// A call that starts now, at the session's current turn and timestep, with nothing
    /// captured yet.
    fn starting(
        session: Session,
        id: u64,
        parent: Option<u64>,
        kind: EventKind,
        system_id: Cow<'static, str>,
        name: Cow<'static, str>,
        module_path: Cow<'static, str>,
    ) -> OpenCall {
        let start = Instant::now();
        OpenCall {
            id,
            parent,
            restore: None,
            kind,
            system_id,
            name,
            module_path,
            turn: session.turn(),
            timestep: session.current_timestep(),
            started_at: session.wall_time(start),
            start: Some(start),
            inputs: Map::new(),
            metadata: Map::new(),
            site: None,
            graph_node: None,
            session,
        }
    }

    fn close(mut self, outcome: Outcome, output: Option<Value>, error: Option<ErrorRecord>) -> Result<(), TraceError> {
        let duration = self.start.map(|start| start.elapsed()).unwrap_or_default();
        if let Some(previous) = self.restore {
            with_frame(|frame| {
                if frame.session.same_session(&self.session) {
                    frame.parent.set(previous);
                }
            });
        }
        if let Some(filter) = self.site.and_then(|site| site.arg_filter) {
            self.run_arg_filter(filter);
        }
        if self.site.is_some_and(|site| site.include_memory) {
            self.metadata
                .insert("memory.rss_after_bytes".to_owned(), resident_memory());
        }
        let mut event = Event {
            id: self.id,
            parent: self.parent,
            kind: self.kind,
            system_id: self.system_id.into_owned(),
            name: self.name.into_owned(),
            module_path: self.module_path.into_owned(),
            turn: self.turn,
            timestep: self.timestep,
            started_at: self.started_at,
            duration,
            inputs: self.inputs,
            output,
            error,
            outcome,
            metadata: self.metadata,
        };
        let mut messages = Vec::new();
        if let Some(site) = self.site {
            site.after_call(&mut event, &mut messages, self.session.counters());
        }
        if let Some((id, dependencies)) = self.graph_node.take() {
            self.session
                .insert_graph_node(graph_node(id, dependencies, &event, self.site));
        }
        self.session.push_event(event)?;
        for message in messages {
            self.session.record_message(message)?;
        }
        Ok(())
    }

    /// Runs the user's `arg_filter`; a panic in it is counted and leaves the inputs as they were.
    fn run_arg_filter(&mut self, filter: fn(&mut Map)) {
        let mut inputs = self.inputs.clone();
        match catch_unwind(AssertUnwindSafe(|| filter(&mut inputs))) {
            Ok(()) => self.inputs = inputs,
            Err(_) => crate::stats::Counters::bump(&self.session.counters().hook_errors),
        }
    }
}

impl CallSite {
    /// Runs the site's hooks on a finished event: metadata, error handler, messages.
    fn after_call(&self, event: &mut Event, messages: &mut Vec<Message>, counters: &crate::stats::Counters) {
        let guarded = |hook: &mut dyn FnMut()| {
            if catch_unwind(AssertUnwindSafe(hook)).is_err() {
                crate::stats::Counters::bump(&counters.hook_errors);
            }
        };
        if let Some(metadata) = self.metadata {
            let mut extra = Map::new();
            guarded(&mut || extra = metadata(&CallRecord::new(event)));
            event.metadata.extend(extra);
        }
        if let (Some(handler), Some(error)) = (self.error_handler, event.error.as_ref()) {
            guarded(&mut || handler(error));
        }
        if let Some(tool) = self.tool {
            let result = match (&event.output, &event.error) {
                (_, Some(error)) => trace_core::capture::to_value(error),
                (Some(output), None) => output.clone(),
                (None, None) => Value::Null,
            };
            let content = serde_json::json!({ "tool": tool, "args": event.inputs, "result": result });
            messages.push(Message::new(
                event.system_id.clone(),
                "environment",
                "tool_call",
                content,
            ));
        }
        if let Some(message) = self.message {
            let mut made = None;
            guarded(&mut || made = message(&CallRecord::new(event)));
            messages.extend(made);
        }
    }
}

/// The graph node of a finished `#[bundle]` call: an operation holding the output, or an
/// error node holding the error (and, like every call node, the failing call's inputs).
fn graph_node(id: NodeId, dependencies: Vec<NodeId>, event: &Event, site: Option<&'static CallSite>) -> GraphNode {
    let failed = event.outcome != Outcome::Ok;
    let error = match (&event.error, event.outcome) {
        (Some(error), _) => Some(error.clone()),
        (None, Outcome::Cancelled) => Some(ErrorRecord::new("cancelled", "the call was dropped before it finished")),
        _ => None,
    };
    GraphNode {
        id,
        kind: if failed { NodeKind::Error } else { NodeKind::Operation },
        name: event.name.clone(),
        value: if failed {
            error.as_ref().map_or(Value::Null, trace_core::capture::to_value)
        } else {
            event.output.clone().unwrap_or(Value::Null)
        },
        dependencies,
        event: Some(event.id),
        inputs: event.inputs.clone(),
        description: site
            .and_then(|s| s.bundle.as_ref())
            .and_then(|b| b.description)
            .map(str::to_owned),
        error,
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
                None,
                Some(ErrorRecord::new(
                    ErrorRecord::PANIC_KIND,
                    "panicked while the call was open",
                )),
            )
        } else {
            self.close(Outcome::Cancelled, None, None)
        };
    }
}

fn default_policy() -> &'static trace_core::CapturePolicy {
    static DEFAULT: std::sync::OnceLock<trace_core::CapturePolicy> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(trace_core::CapturePolicy::default)
}

/// The process's resident memory in bytes, from `/proc/self/status` (`null` where that
/// cannot be read).
fn resident_memory() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(Value::Null, |kib| Value::from(kib * 1024))
}
