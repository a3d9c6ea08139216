//! Records a short agent episode by hand into a JSON-lines file and prints it as a tree.
//!
//! ```sh
//! cargo run --release --example record_session -- --turns 3 --out traces.jsonl
//! ```
//!
//! The "agent" here walks towards a goal on a line; its "LLM" is a fixed rule, named as
//! such. The point is the trace: every decision, model call and environment step is an
//! event with its inputs, output, turn, timestep and parent.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use agent_trace::{EventKind, JsonlSink, Message, SessionTrace, SessionTracer, TracerContext, set_turn_number};
use serde_json::json;

struct Options {
    turns: u32,
    out: PathBuf,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        turns: 3,
        out: PathBuf::from("traces.jsonl"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--turns" => options.turns = value()?.parse().map_err(|e| format!("--turns: {e}"))?,
            "--out" => options.out = PathBuf::from(value()?),
            other => {
                return Err(format!("unknown option {other}; options: --turns N, --out PATH"));
            }
        }
    }
    Ok(options)
}

/// A scripted stand-in for a language model: always steps towards the goal.
fn scripted_policy(position: i64, goal: i64) -> &'static str {
    if position < goal { "right" } else { "left" }
}

async fn episode(session: &agent_trace::Session, turns: u32) -> Result<(), agent_trace::TraceError> {
    let goal = 2;
    let mut position = 0i64;
    for turn in 0..turns {
        set_turn_number(turn);
        session.timestep(turn);

        let mut decide = session.enter(EventKind::Agent, "agent", "decide");
        decide.record_input("position", position);
        let mut llm = session.enter(EventKind::Llm, "agent", "scripted_policy");
        llm.record_input(
            "prompt",
            format!("You are at {position}; the goal is at {goal}. Move left or right."),
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        let action = scripted_policy(position, goal);
        llm.record_metadata("gen_ai.usage.output_tokens", 1);
        llm.finish_ok(action)?;
        decide.finish_ok(action)?;

        let mut step = session.enter(EventKind::Environment, "environment", "step");
        step.record_input("action", action);
        position += if action == "right" { 1 } else { -1 };
        let reward = if position == goal { 1.0 } else { 0.0 };
        step.finish_ok(json!({ "position": position, "reward": reward }))?;
        session.record_message(Message::new(
            "environment",
            "agent",
            "observation",
            json!({ "position": position }),
        ))?;
    }
    Ok(())
}

fn print_tree(trace: &SessionTrace) {
    println!(
        "session {} — {} — {} events",
        trace.session_id,
        trace.status,
        trace.events.len()
    );
    let depth_of = |mut parent: Option<u64>| {
        let mut depth = 0;
        while let Some(id) = parent {
            depth += 1;
            parent = trace.events.iter().find(|e| e.id == id).and_then(|e| e.parent);
        }
        depth
    };
    for event in &trace.events {
        let indent = "  ".repeat(depth_of(event.parent) + 1);
        let turn = event.turn.map_or_else(|| "-".to_owned(), |t| t.to_string());
        let output = event.output.as_ref().map_or_else(String::new, |v| format!(" -> {v}"));
        println!(
            "{indent}[turn {turn}] {kind} {name} ({outcome}, {micros} µs){output}",
            kind = event.kind,
            name = event.name,
            outcome = event.outcome,
            micros = event.duration.as_micros(),
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_options()?;
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&options.out)?).build();
    let session = tracer.start_session();
    session.set_metadata("example", "record_session");

    TracerContext::new(&session)
        .try_scope(episode(&session, options.turns))
        .await?;
    let trace = session.end()?;
    tracer.flush()?;

    print_tree(&trace);
    println!("appended to {}", options.out.display());
    Ok(())
}
