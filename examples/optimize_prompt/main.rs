//! Optimizes a classifier's prompt template and threshold from feedback, in the style of
//! Microsoft's Trace: the program is traced as a graph (`#[bundle]`, `parameter`, `node`),
//! feedback on its output (the accuracy on a labelled set) is propagated back to the
//! trainable parameters, and an optimizer proposes new values for the next round.
//!
//! ```sh
//! cargo run --release --example optimize_prompt -- --rounds 6 --dot optimize_prompt.dot
//! ```
//!
//! The optimizer here is `SearchOptimizer` (candidate values, no network). The "model" is
//! scripted. Prints the accuracy of each round and writes the last round's graph as DOT.

mod task;

use std::error::Error;
use std::path::PathBuf;

use agent_trace::SessionTracer;

fn main() -> Result<(), Box<dyn Error>> {
    let mut rounds = 6;
    let mut dot = PathBuf::from("optimize_prompt.dot");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--dot" => dot = PathBuf::from(args.next().ok_or("--dot needs a value")?),
            other => return Err(format!("unknown option {other}; options: --rounds N, --dot PATH").into()),
        }
    }
    let tracer = SessionTracer::default();
    let (scores, graph) = task::optimize(&tracer, &mut task::search_optimizer(), rounds);
    for (round, score) in scores.iter().enumerate() {
        println!("round {round}: accuracy {score:.2}");
    }
    for (name, value) in tracer.parameters().values() {
        println!("{name} = {value}");
    }
    std::fs::write(&dot, graph.to_dot())?;
    println!(
        "graph of the last round ({} nodes) written to {}",
        graph.nodes.len(),
        dot.display()
    );
    Ok(())
}
