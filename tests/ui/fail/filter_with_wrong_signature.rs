fn keep_first(_: &str) -> usize {
    0
}

#[agent_trace::trace_agent(result_filter = keep_first)]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
