//! The data model of agent-trace: what a traced agent session *is*, independent of how it
//! was recorded or where it is stored.
//!
//! Everything here is plain data (`serde` round-trips through JSON) plus pure logic:
//! [`capture`] turns user values into JSON values without ever panicking, and [`parity`]
//! compares two traces field by field. Nothing in this crate needs a runtime; the
//! recording machinery lives in `trace-runtime`, and users reach both through the
//! `agent-trace` crate.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

mod builder;
mod call_record;
pub mod capture;
mod chat;
#[cfg(any(feature = "async-openai", feature = "genai"))]
mod clients;
pub mod dataset;
pub mod duration_nanos;
mod event;
mod events;
pub mod graph;
pub mod json;
mod message;
pub mod otel;
pub mod parity;
mod policy;
mod reward;
mod score;
mod totals;
mod trace;
mod tree;

pub use builder::EventBuilder;
pub use call_record::{Accumulate, CallRecord, LlmRequest, LlmUsage, genai_keys, stream_keys};
pub use event::{ErrorRecord, Event, EventKind, Outcome};
pub use events::{EventChunk, EventRecord, Events, RecordParts, Records};
pub use message::Message;
pub use policy::{
    CapturePolicy, DEFAULT_MAX_DEPTH, DEFAULT_REDACTED_KEYS, MAX_DEPTH_LIMIT, PatternError, REDACTED, TRUNCATED_KEY,
    depth_marker, truncated,
};
pub use reward::Reward;
pub use score::{Score, ScoreSource, ScoreValue};
pub use totals::{ModelPrice, PriceError, Pricing, TokenCounts, Totals};
pub use trace::{SessionLabels, SessionStatus, SessionTrace, TimeStep};
pub use tree::TreeDisplay;

/// A JSON object: the type of `inputs` and `metadata` maps.
pub type Map = serde_json::Map<String, serde_json::Value>;
