#[agent_trace::trace_env(skip(action, action))]
fn step(action: u32) -> u32 {
    action
}

fn main() {
    let _ = step(1);
}
