use std::future::Future;

use futures_util::stream::{self, Stream};

#[agent_trace::trace_llm_call(stream_errors = "retry")]
fn unknown_policy() -> impl Stream<Item = String> {
    stream::empty()
}

#[agent_trace::trace_llm_call(stream_errors = "continue")]
fn not_a_stream() -> String {
    String::new()
}

#[agent_trace::trace_runtime(accumulate = Reply)]
fn returns_nothing() {}

#[agent_trace::trace_runtime(stream)]
fn returns_a_future() -> impl Future<Output = u8> {
    async { 1 }
}

#[agent_trace::trace_runtime(accumulate = 5)]
fn accumulate_not_a_path() -> impl Iterator<Item = u8> {
    0..1
}

#[agent_trace::bundle(stream)]
fn bundle_of_a_stream() -> impl Stream<Item = u8> {
    stream::empty()
}

#[derive(Default)]
struct Reply;

fn main() {}
