#[async_trait::async_trait]
trait Agent {
    async fn decide(&self, turn: u32) -> u32;
}

struct Planner;

#[agent_trace::trace_agent]
#[async_trait::async_trait]
impl Agent for Planner {
    async fn decide(&self, turn: u32) -> u32 {
        turn
    }
}

fn main() {}
