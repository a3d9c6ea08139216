//! [`CallSite`]: what a traced function's attribute said, as a `static` in its body, and
//! what its options add to each call — metadata, filters, messages, the error handler,
//! graph nodes: everything but the capture itself.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use trace_core::genai_keys;
use trace_core::graph::{GraphNode, NodeId, NodeKind};
use trace_core::{CallRecord, ErrorRecord, Event, Map, Message, Outcome};

use crate::recorded::EventNames;
use crate::tracer::stats::Counters;

/// The options of one traced function, built by the attribute macro as a `static` that
/// names every field (a `static` cannot take the rest from a value with drop glue).
///
/// Not a stable API: only the macros' expansions use it.
#[derive(Debug)]
pub struct CallSite {
    /// The events' kind, system id, name and module (`module_path!()`).
    pub names: EventNames,
    /// Whether the call is timed (`include_timing`).
    pub include_timing: bool,
    /// Whether resident memory is recorded before and after (`include_memory`).
    pub include_memory: bool,
    /// Whether each call opens a timestep (`auto_timestep`).
    pub auto_timestep: bool,
    /// The name of the timesteps it opens (`timestep_name`).
    pub timestep_name: Option<&'static str>,
    /// `gen_ai.request.model` (`model`, LLM calls).
    pub model: Option<&'static str>,
    /// `gen_ai.provider.name` (`provider`, LLM calls).
    pub provider: Option<&'static str>,
    /// The tool's name: a tool call also records a `tool_call` message (tool calls); empty
    /// when the tool is named when the call starts (`tool = <expression>`): then the event's
    /// name.
    pub tool: Option<&'static str>,
    /// `arg_filter`.
    pub arg_filter: Option<fn(&mut Map)>,
    /// `result_filter`.
    pub result_filter: Option<fn(&Value) -> Value>,
    /// `metadata`.
    pub metadata: Option<fn(&CallRecord<'_>) -> Map>,
    /// `message`.
    pub message: Option<fn(&CallRecord<'_>) -> Option<Message>>,
    /// `error_handler`.
    pub error_handler: Option<fn(&ErrorRecord)>,
    /// For `#[bundle]`: how the call joins the graph.
    pub bundle: Option<BundleSite>,
    /// Whether a call of this site made outside any scope, while sessions ran, has been
    /// reported to the hooks (once per site).
    pub outside_reported: std::sync::atomic::AtomicBool,
}

/// What `#[bundle]` adds to a call site.
#[derive(Debug)]
pub struct BundleSite {
    /// `description = "…"`.
    pub description: Option<&'static str>,
    /// For `#[bundle(trainable)]`: the function's source text, a trainable parameter named
    /// `"<module>::<fn>::code"`.
    pub code: Option<&'static str>,
}

impl CallSite {
    /// Whether the site's options read the finished event (and it must be decoded).
    pub(crate) fn reads_the_event(&self) -> bool {
        self.arg_filter.is_some()
            || self.result_filter.is_some()
            || self.metadata.is_some()
            || self.message.is_some()
            || self.tool.is_some()
            || self.error_handler.is_some()
            || self.bundle.is_some()
    }

    /// Runs the site's functions on a finished event, in this order: the filters, then
    /// metadata, the error handler and messages (which see the filtered values). A function
    /// that panics is counted in `hook_errors` and leaves the event as it was.
    pub(crate) fn after_call(&self, event: &mut Event, messages: &mut Vec<Message>, counters: &Counters) {
        if let Some(filter) = self.arg_filter {
            let mut inputs = event.inputs.clone();
            if guarded(counters, || filter(&mut inputs)).is_some() {
                event.inputs = inputs;
            }
        }
        if let (Some(filter), Some(output)) = (self.result_filter, event.output.as_ref())
            && let Some(filtered) = guarded(counters, || filter(output))
        {
            event.output = Some(filtered);
        }
        if let Some(metadata) = self.metadata
            && let Some(extra) = guarded(counters, || metadata(&CallRecord::new(event)))
        {
            event.metadata.extend(extra);
        }
        if let (Some(handler), Some(error)) = (self.error_handler, event.error.as_ref()) {
            guarded(counters, || handler(error));
        }
        if let Some(tool) = self.tool {
            let result = match (&event.output, &event.error) {
                (_, Some(error)) => trace_core::capture::to_value(error),
                (Some(output), None) => output.clone(),
                (None, None) => Value::Null,
            };
            let tool = if tool.is_empty() { event.name.as_str() } else { tool };
            let content = serde_json::json!({ "tool": tool, "args": event.inputs, "result": result });
            messages.push(Message::new(
                event.system_id.clone(),
                "environment",
                "tool_call",
                content,
            ));
        }
        if let Some(message) = self.message
            && let Some(made) = guarded(counters, || message(&CallRecord::new(event)))
        {
            messages.extend(made);
        }
    }
}

/// Runs a function named in the options; a panic is counted in `hook_errors` and gives
/// `None`.
pub(crate) fn guarded<R>(counters: &Counters, function: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(function)) {
        Ok(result) => Some(result),
        Err(_) => {
            Counters::bump(&counters.hook_errors);
            None
        }
    }
}

/// The metadata a call of `site` starts with: model, provider, memory before.
pub(super) fn opening_metadata(site: &CallSite, metadata: &mut Map) {
    if let Some(model) = site.model {
        metadata.insert(genai_keys::REQUEST_MODEL.to_owned(), Value::from(model));
    }
    if let Some(provider) = site.provider {
        metadata.insert(genai_keys::PROVIDER_NAME.to_owned(), Value::from(provider));
    }
    if site.include_memory {
        metadata.insert("memory.rss_before_bytes".to_owned(), resident_memory());
    }
}

/// What a call that records memory adds when it ends.
pub(super) fn closing_metadata(metadata: &mut Map) {
    metadata.insert("memory.rss_after_bytes".to_owned(), resident_memory());
}

/// The graph node of a finished `#[bundle]` call: an operation holding the output, or an
/// error node holding the error (and, like every call node, the failing call's inputs).
pub(super) fn graph_node(id: NodeId, dependencies: Vec<NodeId>, event: &Event, site: Option<&CallSite>) -> GraphNode {
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
