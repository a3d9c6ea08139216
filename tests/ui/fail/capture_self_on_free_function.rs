#[agent_trace::trace_agent(capture_self)]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
