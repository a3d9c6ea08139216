#[agent_trace::trace_env(name = "step", name = "act")]
fn step(action: u32) -> u32 {
    action
}

fn main() {
    let _ = step(1);
}
