#[agent_trace::trace_agent(skip_all, skip(observation))]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
