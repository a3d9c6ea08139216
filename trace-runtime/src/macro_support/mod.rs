//! What the attribute macros' expansions call. Not a stable API: names here change without
//! notice. The facade re-exports it as `agent_trace::__private`.
//!
//! Two parts: `dispatch` chooses, from the concrete types at the traced function, how a
//! value is captured, a return value split and an error recorded (autoref specialization,
//! behind the `capture!`, `finish!` and `nodes!` macros); `run` runs the body as the call.

mod dispatch;
mod items;
mod kept;
mod replay;
mod replay_items;
mod run;

pub use crate::call::{BundleSite, Call, CallSite};
pub use crate::node::Node;
pub use crate::recorded::EventNames;
pub use crate::{
    __agent_trace_capture as capture, __agent_trace_finish as finish, __agent_trace_item as item,
    __agent_trace_nodes as nodes, __agent_trace_replay as replay, __agent_trace_replay_items as replay_items,
    __agent_trace_request as request,
};
pub use dispatch::{
    Capture, CaptureDebug, CaptureOpaque, CapturePlain, CaptureSerialize, ErrorOpaque, ErrorProbe, ErrorViaDebug,
    ErrorViaDisplay, ErrorViaDyn, ErrorViaDynSendSync, ErrorViaError, Never, NodeProbe, NodesNone,
    NodesViaDependencies, RequestNone, RequestProbe, RequestViaTrait, ReturnProbe, Split, SplitResult, SplitValue,
    UsageNone, UsageProbe, UsageViaTrait,
};
pub use items::{
    Accumulator, Builtin, InIter, InStream, ItemOther, ItemText, Items, StreamErrors, TextProbe, iter_body,
    iter_future, stream_body, stream_future,
};
pub use replay::{ReplayNone, ReplayProbe, ReplayResult, ReplayResultOk, ReplayValue, Replayed, replay_unsupported};
pub use replay_items::{
    ItemReplayProbe, ItemSource, KeepNone, KeepProbe, KeepSerialize, KeepText, ReplayItemsNone, ReplayItemsResult,
    ReplayItemsResultOk, ReplayItemsValue, ReplayedItems, iter_items, iter_items_later, live_iter, live_stream,
    stream_items, stream_items_later,
};
pub use run::{
    FromResidual, InCall, TryBranch, capture_inputs, finish_err, finish_ok, finish_with, once, run_prelude, run_sync,
};
pub use serde_json::Value;
pub use trace_core::graph::NodeId;
pub use trace_core::{CallRecord, ErrorRecord, EventKind, Map, Message};
