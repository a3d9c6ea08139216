//! The recording side of agent-trace: sessions, the tracer context, hand-written spans and
//! the sinks that keep ended sessions. Use it through the `agent-trace` crate.
//!
//! The modules are layers, each importing only those below it (docs/design.md, "Where
//! things live"):
//!
//! 1. leaves: `sync`, `error`, `clock`, `capture` (values to JSON text under the
//!    capture policy), `recorded` (the form events are kept in); the outputs, `sink`
//!    and `store`;
//! 2. `tracer`: what every handle of a tracer shares — policy, counters, hooks, sampling,
//!    parameters, the writer thread;
//! 3. `session`: ids, clock, chunks of events, timesteps, graph;
//! 4. `context`: the task's frame — its session and current call;
//! 5. `call`: a call's life, from open to recorded event;
//! 6. the front ends: `manual` (hand-written events and spans), `node`, the macros'
//!    `macro_support`, the `tracing` `bridge`, `session_tracer`.
//!
//! The one cycle is between `tracer` and `session`, documented in `tracer`.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

mod capture;
mod clock;
mod error;
mod recorded;
pub mod replay;
mod sink;
#[cfg(feature = "sqlite")]
mod store;
mod sync;

mod tracer;

mod session;

mod context;

mod call;

#[cfg(feature = "tracing")]
mod bridge;
#[doc(hidden)]
mod current_call;
pub mod macro_support;
mod manual;
mod node;
mod session_tracer;
pub mod testing;

#[cfg(feature = "tracing")]
pub use bridge::TracingLayer;
pub use context::{
    ContextExt, Scope, TracerContext, WithContext, current_session, set_turn_number, spawn, with_current_context,
};
pub use current_call::{CurrentCall, current_call};
#[cfg(feature = "sqlite")]
pub use error::{DatasetError, StoreError};
pub use error::{SinkError, TraceError};
pub use manual::{SpanGuard, enter};
pub use node::{Node, node, node_named, parameter};
pub use session::Session;
pub use session_tracer::{SessionTracer, SessionTracerBuilder};
pub use sink::{EventBatch, JsonlSink, MemorySink, Record, SessionStart, Sink, SinkReport};
#[cfg(feature = "otlp")]
pub use sink::{OtlpSink, OtlpSinkBuilder};
#[cfg(feature = "sqlite")]
pub use store::{Order, SessionSummary, SqliteSink, TraceFilter, TraceStore, export_dataset};
pub use tracer::hooks::{Hook, HookResult};
pub use tracer::parameters::ParameterStore;
pub use tracer::sampling::Sampling;
pub use tracer::stats::TracerStats;
pub use tracer::writer::Overflow;
