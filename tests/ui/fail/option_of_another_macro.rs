#[agent_trace::trace_agent(model = "gpt")]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
