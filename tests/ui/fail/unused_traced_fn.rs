#![deny(dead_code)]

#[agent_trace::trace_tool_call]
fn never_called(query: &str) -> usize {
    query.len()
}

fn main() {}
