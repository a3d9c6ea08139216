struct Agent;

impl Agent {
    #[agent_trace::trace_agent(capture_self, skip_all)]
    fn decide(&self, observation: u32) -> u32 {
        observation
    }
}

fn main() {
    let _ = Agent.decide(1);
}
