#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

#[doc(inline)]
pub use trace_core::{
    Accumulate, CallRecord, CapturePolicy, ErrorRecord, Event, EventBuilder, EventKind, Events, LlmRequest, LlmUsage,
    Map, Message, ModelPrice, Outcome, PatternError, PriceError, Pricing, Reward, Score, ScoreSource, ScoreValue,
    SessionLabels, SessionStatus, SessionTrace, TimeStep, TokenCounts, Totals, TreeDisplay,
};
#[doc(inline)]
pub use trace_core::{assert_parity, capture, graph, otel, parity};
#[doc(inline)]
pub use trace_macros::{bundle, trace_agent, trace_env, trace_llm_call, trace_runtime, trace_tool_call};
#[cfg(feature = "tracing")]
#[doc(inline)]
pub use trace_runtime::TracingLayer;
#[doc(inline)]
pub use trace_runtime::replay::Replay;
#[doc(inline)]
pub use trace_runtime::{
    ContextExt, CurrentCall, Hook, HookResult, Node, Overflow, ParameterStore, Sampling, Scope, Session, SessionTracer,
    SessionTracerBuilder, SpanGuard, TraceError, TracerContext, TracerStats, WithContext, current_call,
    current_session, enter, node, node_named, parameter, set_turn_number, spawn, with_current_context,
};
// The sinks a program picks from, and the store's reader, also at the root (their homes
// are `sink` and `store`).
#[doc(no_inline)]
pub use sink::{JsonlSink, MemorySink};
#[cfg(feature = "otlp")]
#[doc(no_inline)]
pub use sink::{OtlpSink, OtlpSinkBuilder};
#[cfg(feature = "sqlite")]
#[doc(no_inline)]
pub use store::{SqliteSink, TraceFilter, TraceStore};

/// Where ended sessions go: the [`Sink`](sink::Sink) trait, the records a sink is handed,
/// and the sinks that ship with agent-trace.
///
/// A program picks a sink (`SessionTracer::builder().sink(..)`); a sink of your own
/// implements [`Sink`](sink::Sink), and reads events without decoding them through
/// [`EventRecord`](sink::EventRecord)s.
///
/// ```
/// use agent_trace::SessionTrace;
/// use agent_trace::sink::{Sink, SinkError};
///
/// /// Counts the events of every session it is given.
/// struct EventCounter(usize);
///
/// impl Sink for EventCounter {
///     fn name(&self) -> &str { "event-counter" }
///     fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
///         self.0 += trace.events.records().count();
///         Ok(())
///     }
/// }
/// ```
pub mod sink {
    #[doc(inline)]
    pub use trace_core::{EventRecord, Records};
    #[cfg(feature = "sqlite")]
    #[doc(inline)]
    pub use trace_runtime::SqliteSink;
    #[doc(inline)]
    pub use trace_runtime::{EventBatch, JsonlSink, MemorySink, Record, SessionStart, Sink, SinkError, SinkReport};
    #[cfg(feature = "otlp")]
    #[doc(inline)]
    pub use trace_runtime::{OtlpSink, OtlpSinkBuilder};
}

/// The embedded store (feature `sqlite`, on by default): [`SqliteSink`] writes sessions to
/// a SQLite file, [`TraceStore`] reads them back.
///
/// ```
/// use agent_trace::store::{StoreError, TraceFilter, TraceStore};
/// # let dir = std::env::temp_dir().join(format!("agent-trace-store-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let missing = TraceStore::open(dir.join("none.db"));
/// assert!(matches!(missing, Err(StoreError::NotFound { .. })));
/// # let _ = TraceFilter::default();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[cfg(feature = "sqlite")]
pub mod store {
    #[doc(inline)]
    pub use trace_runtime::{Order, SessionSummary, SqliteSink, StoreError, TraceFilter, TraceStore};
}

/// Training data from traces: chat-format records for supervised fine-tuning, trajectories
/// for reinforcement learning (docs/sessions.md, "Datasets").
///
/// [`sft_records`](dataset::sft_records) and [`trajectory`](dataset::trajectory) read one
/// session; [`DatasetWriter`](dataset::DatasetWriter) writes sessions as JSON lines;
/// `export` (feature `sqlite`) writes the stored sessions a [`TraceFilter`] selects.
pub mod dataset {
    #[doc(inline)]
    pub use trace_core::dataset::*;
    #[cfg(feature = "sqlite")]
    #[doc(inline)]
    pub use trace_runtime::{DatasetError, export_dataset as export};
}

/// Replay: a program run again against a recorded session, its LLM and tool calls answered
/// from the recording (docs/replay.md). [`Replay`] is also at the crate's root.
pub mod replay {
    #[doc(inline)]
    pub use trace_runtime::replay::*;
}

/// Cassette tests: a recorded episode replayed in every later run of a test, and checked
/// (docs/replay.md).
pub mod testing {
    #[doc(inline)]
    pub use trace_runtime::testing::*;
}

/// What the attribute macros' expansions call. Not a stable API: names here change
/// without notice.
#[doc(hidden)]
pub mod __private {
    pub use trace_runtime::macro_support::*;
}

/// The names most programs need, for a glob import: `use agent_trace::prelude::*;`.
pub mod prelude {
    pub use trace_core::{ErrorRecord, EventKind, Message, Outcome, SessionStatus, SessionTrace};
    pub use trace_macros::{bundle, trace_agent, trace_env, trace_llm_call, trace_runtime, trace_tool_call};
    pub use trace_runtime::{
        ContextExt, Node, Session, SessionTracer, TracerContext, current_session, node, parameter, set_turn_number,
    };
}
