#[agent_trace::trace_agent]
fn decide(observation: u32) -> u32 {
    "not a number"
}

fn main() {
    let _ = decide(1);
}
