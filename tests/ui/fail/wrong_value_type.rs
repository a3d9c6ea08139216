#[agent_trace::trace_agent(include_timing = "no")]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
