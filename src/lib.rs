#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

#[doc(inline)]
pub use trace_core::{
    CallRecord, CapturePolicy, ErrorRecord, Event, EventBuilder, EventKind, EventRecord, Events, LlmUsage, Map,
    Message, Outcome, Records, Reward, SessionStatus, SessionTrace, TimeStep,
};
#[doc(inline)]
pub use trace_core::{assert_parity, capture, graph, otel, parity};
#[doc(inline)]
pub use trace_macros::{bundle, trace_agent, trace_env, trace_llm_call, trace_runtime, trace_tool_call};
#[cfg(feature = "tracing")]
#[doc(inline)]
pub use trace_runtime::TracingLayer;
#[doc(inline)]
pub use trace_runtime::{
    ContextExt, EventBatch, Hook, HookResult, JsonlSink, MemorySink, Node, Overflow, ParameterStore, Record, Sampling,
    Scope, Session, SessionStart, SessionTracer, SessionTracerBuilder, Sink, SinkError, SinkReport, SpanGuard,
    TraceError, TracerContext, TracerStats, WithContext, current_session, enter, node, node_named, parameter,
    set_turn_number, spawn,
};
#[cfg(feature = "otlp")]
#[doc(inline)]
pub use trace_runtime::{OtlpSink, OtlpSinkBuilder};
#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use trace_runtime::{SessionSummary, SqliteSink, StoreError, TraceFilter, TraceStore};

/// What the attribute macros' expansions call. Not a stable API: names here change
/// without notice.
#[doc(hidden)]
pub mod __private {
    pub use trace_runtime::private::*;
}

/// The names most programs need, for a glob import: `use agent_trace::prelude::*;`.
pub mod prelude {
    pub use trace_core::{ErrorRecord, EventKind, Message, Outcome, SessionStatus, SessionTrace};
    pub use trace_macros::{bundle, trace_agent, trace_env, trace_llm_call, trace_runtime, trace_tool_call};
    pub use trace_runtime::{
        ContextExt, Node, Session, SessionTracer, TracerContext, current_session, node, parameter, set_turn_number,
    };
}
