use futures_util::stream::{self, Stream};

#[agent_trace::bundle(replay = true)]
fn bundle_replayed(x: u8) -> u8 {
    x
}

#[agent_trace::trace_tool_call(replay = true)]
fn streamed_words() -> impl Stream<Item = &'static str> {
    stream::empty()
}

#[agent_trace::trace_env(replay = true)]
fn borrowed(text: &str) -> &str {
    text
}

#[agent_trace::trace_agent(replay = true)]
fn shown() -> impl std::fmt::Display {
    5
}

#[agent_trace::trace_llm_call(replay = "yes")]
fn not_a_flag() -> u8 {
    1
}

fn main() {}
