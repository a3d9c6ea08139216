#[agent_trace::trace_tool_call(skip(querry))]
fn search(query: &str, page: u32) -> usize {
    query.len() + page as usize
}

fn main() {
    let _ = search("a", 1);
}
