trait Agent {
    #[agent_trace::trace_agent]
    fn decide(&self, observation: u32) -> u32;
}

fn main() {}
