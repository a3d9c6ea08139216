//! The whole-process cost of tracing: 1,000,000 calls of the same function per mode, each
//! mode in its own process, reporting wall time, CPU time (user + system) per call — the
//! background writer's included — the events recorded (counted, not assumed) and the peak
//! resident memory.
//!
//! ```sh
//! cargo run --release --example overhead_report            # every mode
//! cargo run --release --example overhead_report -- sqlite  # one mode, in this process
//! ```
//!
//! Modes: `plain`, `disabled` (traced, no scope), `no_sink`, `counting` (a sink that
//! counts events), `json` (a sink that serializes every event to JSON bytes), `jsonl` (a
//! JSON-lines file), `sqlite`.
//! Calls run in sessions of 1,000. Linux only (reads `/proc/self`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agent_trace::sink::Sink;
use agent_trace::{JsonlSink, SessionTracer, SqliteSink, TracerContext};

const CALLS: u64 = 1_000_000;
const PER_SESSION: u64 = 1_000;
const MODES: &[&str] = &["plain", "disabled", "no_sink", "counting", "json", "jsonl", "sqlite"];

#[path = "../benches/common/memory.rs"]
mod memory;
#[path = "../benches/common/sinks.rs"]
mod sinks;
#[path = "../benches/common/subject.rs"]
mod subject;

use memory::peak_rss;
use sinks::{Counting, JsonBytes};
use subject::{plain, settle_clock, traced};

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 1/100 s).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn run_sessions(tracer: &SessionTracer) -> u64 {
    let mut recorded = 0;
    for s in 0..CALLS / PER_SESSION {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for i in 0..PER_SESSION {
                let _ = std::hint::black_box(traced(std::hint::black_box(s * PER_SESSION + i), "agent"));
            }
        });
        recorded += session.end().map_or(0, |trace| trace.events.len() as u64);
    }
    recorded
}

/// Wall time, CPU time and peak memory when a mode's work is done — taken before the
/// events are counted, which may read a file back.
struct Measured {
    wall: Duration,
    cpu: Duration,
    peak: u64,
}

impl Measured {
    fn since(start: Instant, cpu_before: Duration) -> Measured {
        Measured {
            wall: start.elapsed(),
            cpu: cpu_time().saturating_sub(cpu_before),
            peak: peak_rss(),
        }
    }
}

/// Runs `mode`; returns what it measured and the events it recorded or wrote, counted.
fn run(mode: &str) -> Result<(Measured, u64), String> {
    let (start, cpu_before) = (Instant::now(), cpu_time());
    let done = || Measured::since(start, cpu_before);
    Ok(match mode {
        "plain" => {
            for i in 0..CALLS {
                let _ = std::hint::black_box(plain(std::hint::black_box(i), "agent"));
            }
            (done(), 0)
        }
        "disabled" => {
            for i in 0..CALLS {
                let _ = std::hint::black_box(traced(std::hint::black_box(i), "agent"));
            }
            (done(), 0)
        }
        "no_sink" => {
            let recorded = run_sessions(&SessionTracer::default());
            (done(), recorded)
        }
        "counting" => {
            let sink = Counting::default();
            let events = Arc::clone(&sink.events);
            run_into(sink)?;
            (done(), events.load(Ordering::Relaxed))
        }
        "json" => {
            let sink = JsonBytes::default();
            let events = Arc::clone(&sink.events);
            run_into(sink)?;
            (done(), events.load(Ordering::Relaxed))
        }
        "jsonl" => {
            let path = std::env::temp_dir().join(format!("agent-trace-report-{}.jsonl", std::process::id()));
            let tracer = SessionTracer::builder()
                .sink(JsonlSink::open(&path).map_err(|e| e.to_string())?)
                .build();
            run_sessions(&tracer);
            tracer.flush().map_err(|e| e.to_string())?;
            let measured = done();
            drop(tracer);
            let written = count_jsonl_events(&path);
            let _ = std::fs::remove_file(&path);
            (measured, written?)
        }
        "sqlite" => {
            let path = std::env::temp_dir().join(format!("agent-trace-report-{}.db", std::process::id()));
            let tracer = SessionTracer::builder()
                .sink(SqliteSink::open(&path).map_err(|e| e.to_string())?)
                .build();
            run_sessions(&tracer);
            tracer.flush().map_err(|e| e.to_string())?;
            let measured = done();
            let stored_events = count_stored_events(&path);
            drop(tracer);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            (measured, stored_events?)
        }
        other => return Err(format!("unknown mode {other}; modes: {}", MODES.join(", "))),
    })
}

/// Runs the sessions into `sink`, until every event is written.
fn run_into(sink: impl Sink + 'static) -> Result<(), String> {
    let tracer = SessionTracer::builder().sink(sink).build();
    run_sessions(&tracer);
    tracer.flush().map_err(|e| e.to_string())
}

/// The events in a JSON-lines file of traces, counted line by line without keeping them.
fn count_jsonl_events(path: &std::path::Path) -> Result<u64, String> {
    #[derive(serde::Deserialize)]
    struct Line {
        events: Vec<serde::de::IgnoredAny>,
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut events = 0;
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        let line: Line = serde_json::from_str(&line.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        events += line.events.len() as u64;
    }
    Ok(events)
}

/// The event rows in a store.
fn count_stored_events(path: &std::path::Path) -> Result<u64, String> {
    let connection = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    let rows: i64 = connection
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    Ok(rows.unsigned_abs())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(mode) = std::env::args().nth(1) {
        if !matches!(mode.as_str(), "plain" | "disabled") {
            settle_clock();
        }
        let (Measured { wall, cpu, peak }, events) = run(&mode)?;
        println!(
            "{mode:<9} {:>8.1} ms wall {:>8.1} ns/call wall {:>8.1} ns/call cpu {events:>8} events {:>6.1} MB peak",
            wall.as_secs_f64() * 1e3,
            wall.as_nanos() as f64 / CALLS as f64,
            cpu.as_nanos() as f64 / CALLS as f64,
            peak as f64 / 1e6,
        );
        return Ok(());
    }
    println!("{CALLS} calls per mode, each mode in its own process:");
    for mode in MODES {
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg(mode)
            .status()?;
        if !status.success() {
            return Err(format!("mode {mode} failed").into());
        }
    }
    Ok(())
}
