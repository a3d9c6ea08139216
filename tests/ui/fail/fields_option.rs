#[agent_trace::trace_agent(fields(user = 1))]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
