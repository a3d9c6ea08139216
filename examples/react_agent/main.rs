//! The main job: a ReAct agent plays a small grid world (gather 3 wood and 2 stone, in the
//! spirit of Crafter), traced with the attribute macros; the session is written to a trace
//! file and printed as a tree.
//!
//! ```sh
//! cargo run --release --example react_agent -- --turns 12 --seed 7 --sessions 1
//! ```
//!
//! Options: `--turns N` (default 12), `--seed S` (default 7), `--sessions N` episodes run
//! concurrently with seeds S, S+1, … (default 1), `--db PATH` the trace database (default
//! `traces.db`, created if missing),
//! `--latency-ms MS` the scripted policy's simulated latency (default 3), `--faults` to
//! inject a tool error (turn 2), a panicking tool (turn 4) and a hung environment step
//! (step 6, cancelled by the runtime's timeout), `--stream` to have the scripted policy
//! answer as a stream of chunks (the LLM events then show the time to the first chunk and
//! cached prompt tokens). Built with the feature `otlp`,
//! `--otlp URL` also exports the sessions to an OTLP/HTTP collector (such as Phoenix:
//! `http://127.0.0.1:6006/v1/traces`) and `--project NAME` names the project (default
//! `react-agent`).
//!
//! The "LLM" is `ScriptedPolicy`: a fixed rule with simulated tokens and latency, not a
//! model. Implement the `Policy` trait for a real client to plug one in.
//!
//! Read the database back with `agent_trace::TraceStore` (see the README).

mod agent;
mod world;

use std::error::Error;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use agent_trace::{SessionTrace, SessionTracer, SessionTracerBuilder, SqliteSink, TracerContext};

use crate::agent::{EpisodeConfig, Faults, run_episode};

struct Options {
    turns: u32,
    seed: u64,
    sessions: u32,
    db: PathBuf,
    latency: Duration,
    faults: bool,
    stream: bool,
    otlp: Option<String>,
    project: String,
}

const USAGE: &str = "options: --turns N, --seed S, --sessions N, --db PATH, --latency-ms MS, --faults, --stream, \
                     --otlp URL and --project NAME (with the feature otlp)";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        turns: 12,
        seed: 7,
        sessions: 1,
        db: PathBuf::from("traces.db"),
        latency: Duration::from_millis(3),
        faults: false,
        stream: false,
        otlp: None,
        project: "react-agent".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value; {USAGE}"));
        let number =
            |name: &str, text: String| text.parse::<u64>().map_err(|error| format!("{name} {text:?}: {error}"));
        match flag.as_str() {
            "--turns" => options.turns = number("--turns", value("--turns")?)? as u32,
            "--seed" => options.seed = number("--seed", value("--seed")?)?,
            "--sessions" => options.sessions = number("--sessions", value("--sessions")?)?.max(1) as u32,
            "--db" => options.db = PathBuf::from(value("--db")?),
            "--latency-ms" => options.latency = Duration::from_millis(number("--latency-ms", value("--latency-ms")?)?),
            "--faults" => options.faults = true,
            "--stream" => options.stream = true,
            "--otlp" if cfg!(feature = "otlp") => options.otlp = Some(value("--otlp")?),
            "--project" => options.project = value("--project")?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}; {USAGE}")),
        }
    }
    Ok(options)
}

/// Adds the OTLP sink when `--otlp` asks for it.
#[cfg(feature = "otlp")]
fn with_export(builder: SessionTracerBuilder, options: &Options) -> Result<SessionTracerBuilder, Box<dyn Error>> {
    let Some(endpoint) = &options.otlp else {
        return Ok(builder);
    };
    let sink = agent_trace::OtlpSink::builder()
        .endpoint(endpoint)
        .service_name("react-agent")
        .project(&options.project)
        .build()?;
    Ok(builder.sink(sink))
}

#[cfg(not(feature = "otlp"))]
fn with_export(builder: SessionTracerBuilder, _: &Options) -> Result<SessionTracerBuilder, Box<dyn Error>> {
    Ok(builder)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_options()?;
    let tracer = with_export(SessionTracer::builder().sink(SqliteSink::open(&options.db)?), &options)?.build();
    let faults = if options.faults {
        Faults {
            tool_error_turn: Some(2),
            tool_panic_turn: Some(4),
            env_error_step: None,
            slow_step: Some(6),
        }
    } else {
        Faults::default()
    };
    if options.faults {
        // The panicking tool is part of the demo; say so in one line instead of a backtrace.
        std::panic::set_hook(Box::new(|info| eprintln!("(injected fault) {info}")));
    }

    let mut episodes = Vec::new();
    for index in 0..options.sessions {
        let session = tracer.start_session();
        let mut config = EpisodeConfig::new(options.seed + u64::from(index), options.turns);
        config.llm_latency = options.latency;
        config.faults = faults;
        config.stream = options.stream;
        session.set_metadata("example", "react_agent");
        session.set_metadata("seed", config.seed);
        episodes.push(tokio::spawn(async move {
            let result = TracerContext::new(&session).try_scope(run_episode(&config)).await;
            (result.map_err(|error| error.to_string()), session.end())
        }));
    }

    let mut traces: Vec<SessionTrace> = Vec::new();
    for episode in episodes {
        let (result, trace) = episode.await?;
        let trace = trace?;
        if let Err(error) = result {
            eprintln!("episode {} failed: {error}", trace.session_id);
        }
        traces.push(trace);
    }
    tracer.flush()?;

    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for trace in traces.iter().take(3) {
        print!("{}", trace.display_tree().color(color));
    }
    if traces.len() > 3 {
        println!("… and {} more sessions", traces.len() - 3);
    }
    println!("{} session(s) stored in {}", traces.len(), options.db.display());
    if let Some(endpoint) = &options.otlp {
        println!("and exported to {endpoint} (project {})", options.project);
    }
    Ok(())
}
