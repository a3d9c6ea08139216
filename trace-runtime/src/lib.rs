//! The recording side of agent-trace: sessions, the tracer context, hand-written spans and
//! the sinks that keep ended sessions. Use it through the `agent-trace` crate.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

#[cfg(feature = "tracing")]
mod bridge;
mod call;
mod captured;
mod clock;
mod context;
mod error;
mod hooks;
mod node;
mod session;
mod sink;
mod site;
mod span;
mod stats;
#[cfg(feature = "sqlite")]
mod store;
mod sync;
mod tracer;
mod writer;

#[doc(hidden)]
pub mod private;
mod sampling;

#[cfg(feature = "tracing")]
pub use bridge::TracingLayer;
pub use context::{ContextExt, Scope, TracerContext, WithContext, current_session, set_turn_number, spawn};
pub use error::{SinkError, TraceError};
pub use hooks::{Hook, HookResult};
pub use node::{Node, ParameterStore, node, node_named, parameter};
pub use sampling::Sampling;
pub use session::Session;
#[cfg(feature = "sqlite")]
pub use sink::SqliteSink;
pub use sink::{EventBatch, JsonlSink, MemorySink, Record, SessionStart, Sink, SinkReport};
#[cfg(feature = "otlp")]
pub use sink::{OtlpSink, OtlpSinkBuilder};
pub use span::{SpanGuard, enter};
pub use stats::TracerStats;
#[cfg(feature = "sqlite")]
pub use store::{SessionSummary, StoreError, TraceFilter, TraceStore};
pub use tracer::{SessionTracer, SessionTracerBuilder};
pub use writer::Overflow;
