struct Agent;

#[agent_trace::trace_agent]
impl Agent {
    fn decide(&self, turn: u32) -> u32 {
        turn
    }
}

fn main() {
    let _ = Agent.decide(1);
}
