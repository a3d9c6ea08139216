use agent_trace::trace_agent;

#[trace_agent(nmae = "decide")]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
