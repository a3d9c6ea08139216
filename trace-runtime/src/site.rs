//! [`CallSite`]: what a traced function's attribute said, as a `static` in its body.

use serde_json::Value;
use trace_core::recorded::EventNames;
use trace_core::{CallRecord, ErrorRecord, Map, Message};

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
    /// The tool's name: a tool call also records a `tool_call` message (tool calls).
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
