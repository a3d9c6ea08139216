// `fields` takes `key = expression` pairs; a bare name or a value of its own says so.
#[agent_trace::trace_agent(fields(user))]
fn decide(observation: u32, user: &str) -> u32 {
    let _ = user;
    observation
}

#[agent_trace::trace_agent(fields = 1)]
fn act(observation: u32) -> u32 {
    observation
}

#[agent_trace::trace_agent(fields(user.id = 1, user.id = 2))]
fn observe(observation: u32) -> u32 {
    observation
}

fn main() {
    let _ = decide(1, "ada");
    let _ = act(1);
    let _ = observe(1);
}
