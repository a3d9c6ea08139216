use agent_trace::Accumulate;
use futures_util::stream::{self, Stream};

/// Accumulates numbers, not the strings the stream yields.
#[derive(Default)]
struct Sum(u64);

impl Accumulate<u64> for Sum {
    type Output = u64;
    fn push(&mut self, item: &u64) {
        self.0 += item;
    }
    fn output(&self) -> u64 {
        self.0
    }
}

#[agent_trace::trace_llm_call(accumulate = Sum)]
fn chat() -> impl Stream<Item = String> {
    stream::iter(vec![String::from("hello")])
}

fn main() {}
