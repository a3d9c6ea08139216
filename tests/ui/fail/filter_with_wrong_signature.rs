fn drop_secrets(_: &str) {}

#[agent_trace::trace_agent(arg_filter = drop_secrets)]
fn decide(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1);
}
