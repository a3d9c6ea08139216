#[agent_trace::trace_agent]
struct Agent {
    name: String,
}

fn main() {
    let agent = Agent { name: String::new() };
    let _ = agent.name;
}
