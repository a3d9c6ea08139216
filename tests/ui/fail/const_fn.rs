#[agent_trace::trace_agent]
const fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
