//! The recording side of agent-trace: sessions, the tracer context, hand-written spans and
//! the sinks that keep ended sessions. Use it through the `agent-trace` crate.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

mod call;
mod context;
mod error;
mod session;
mod sink;
mod site;
mod span;
mod stats;
mod sync;
mod tracer;
mod writer;

#[doc(hidden)]
pub mod private;

pub use context::{ContextExt, Scope, TracerContext, WithContext, current_session, set_turn_number, spawn};
pub use error::{SinkError, TraceError};
pub use session::Session;
pub use sink::{JsonlSink, MemorySink, Sink};
pub use span::{SpanGuard, enter};
pub use stats::TracerStats;
pub use tracer::{SessionTracer, SessionTracerBuilder};
