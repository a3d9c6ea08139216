mod reexported {
    pub use agent_trace as for_agents;
}

#[agent_trace::trace_agent(crate = "reexported::for_agents")]
fn decide(observation: u32) -> u32 {
    observation
}

#[agent_trace::trace_tool_call(crate = "::agent_trace")]
fn search(query: &str) -> usize {
    query.len()
}

fn main() {
    assert_eq!(decide(1) + search("ab") as u32, 3);
}
