//! Events per second into the SQLite store: the tracer's background writer (events
//! streamed in batches, one transaction per batch), from the first recorded event until
//! `flush` returns, against one autocommitted `INSERT` per event into the same tables with
//! the same compact encoding (recording not timed) — what batching buys.
//!
//! Run with `cargo bench --bench store`; `STORE_BENCH_EVENTS` sets the events per run
//! (default 200,000). Each mode runs three times on a fresh file; the median is printed.
//! Results: `docs/performance.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_trace::{EventKind, SessionTrace, SessionTracer, SqliteSink, TracerContext, enter};

const EVENTS_PER_SESSION: usize = 1000;

/// A way to store `events` events in the file at the path; returns how long it took.
type Mode = fn(&Path, usize) -> Duration;

fn fresh_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agent-trace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// Records `sessions` sessions of small events (two inputs, an output) into `tracer`.
fn record(tracer: &SessionTracer, sessions: usize) -> Vec<SessionTrace> {
    (0..sessions)
        .map(|s| {
            let session = tracer.start_session();
            TracerContext::new(&session).sync_scope(|| {
                for i in 0..EVENTS_PER_SESSION {
                    let mut span = enter(EventKind::Tool, "agent", "step");
                    span.record_input("session", s);
                    span.record_input("i", i);
                    span.finish_ok(i * 2).expect("the session is open");
                }
            });
            session.end().expect("the session ends once")
        })
        .collect()
}

/// The tracer's writer: recording, streaming and committing, until `flush` returns.
fn through_the_writer(path: &Path, events: usize) -> Duration {
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(path).expect("a database"))
        .build();
    let start = Instant::now();
    record(&tracer, events / EVENTS_PER_SESSION);
    tracer.flush().expect("the store writes");
    let elapsed = start.elapsed();
    assert_eq!(tracer.stats().events_written as usize, events, "every event written");
    elapsed
}

/// One autocommitted INSERT per event, same schema, same JSON encoding of the values.
fn one_insert_per_event(path: &Path, events: usize) -> Duration {
    drop(SqliteSink::open(path).expect("a database")); // creates the schema
    let traces = record(&SessionTracer::default(), events / EVENTS_PER_SESSION);
    let connection = rusqlite::Connection::open(path).expect("the database");
    connection.pragma_update(None, "journal_mode", "WAL").expect("WAL");
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    let start = Instant::now();
    let mut session = connection
        .prepare("INSERT INTO sessions (session_id, started_at, status) VALUES (?1, ?2, 'running')")
        .expect("the statement");
    let mut insert = connection
        .prepare("INSERT INTO events (sid, id, name, outcome, data) VALUES (?1, ?2, ?3, ?4, ?5)")
        .expect("the statement");
    for trace in &traces {
        session
            .execute(rusqlite::params![
                trace.session_id,
                trace.started_at.timestamp_nanos_opt()
            ])
            .expect("the insert");
        let sid = connection.last_insert_rowid();
        for event in &trace.events {
            let data = compact_json(event);
            insert
                .execute(rusqlite::params![
                    sid,
                    event.id as i64,
                    event.name,
                    event.outcome.to_string(),
                    data
                ])
                .expect("the insert");
        }
    }
    start.elapsed()
}

/// The store's compact form of an event's `data` column (id, name and outcome are columns;
/// empty fields left out; the start as integer nanoseconds), for these events.
fn compact_json(event: &agent_trace::Event) -> String {
    let mut data = serde_json::json!({
        "kind": event.kind,
        "system_id": event.system_id,
        "started_ns": event.started_at.timestamp_nanos_opt(),
        "duration_ns": event.duration.as_nanos() as u64,
        "inputs": event.inputs,
    });
    if let Some(output) = &event.output {
        data["output"] = output.clone();
    }
    data.to_string()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo bench -- --list` asks which benchmarks exist: these two modes.
    }
    let events: usize = std::env::var("STORE_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let events = events.max(EVENTS_PER_SESSION) / EVENTS_PER_SESSION * EVENTS_PER_SESSION;
    println!("store: {events} events per run, median of 3 runs");
    let modes: [(&str, Mode); 2] = [
        ("writer (batched, streamed)", through_the_writer),
        ("one INSERT per event", one_insert_per_event),
    ];
    // `cargo bench --bench store -- writer` runs only the modes whose name contains "writer".
    let only: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let mut rates = Vec::new();
    for (name, run) in modes {
        if !only.is_empty() && !only.iter().any(|word| name.contains(word.as_str())) {
            continue;
        }
        let elapsed = median(
            (0..3)
                .map(|i| run(&fresh_file(&format!("{i}-{}", name.len())), events))
                .collect(),
        );
        let rate = events as f64 / elapsed.as_secs_f64();
        println!("{name:<28} {:>10.0} events/s  ({:.2} s)", rate, elapsed.as_secs_f64());
        rates.push(rate);
    }
    if let [writer, one_by_one] = rates[..] {
        println!(
            "batching: {:.1}x the events/s of one INSERT per event",
            writer / one_by_one
        );
    }
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("agent-trace-bench-{}", std::process::id())));
}
