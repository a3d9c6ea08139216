#[agent_trace::trace_tool_call(systm_id = "planner")]
fn search(query: &str) -> usize {
    query.len()
}

fn main() {
    let _ = search("docs");
}
