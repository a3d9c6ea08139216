//! Sinks: what they receive, what they keep on disk, and how their failures are reported.

mod support;

use std::sync::{Arc, Mutex};
use support::TempDir;

use agent_trace::sink::{Record, Sink, SinkError};
use agent_trace::{
    EventKind, Hook, JsonlSink, MemorySink, Message, SessionTrace, SessionTracer, TraceError, TracerContext,
};
use serde_json::json;

fn record_episode(tracer: &SessionTracer, turns: u32) -> SessionTrace {
    let session = tracer.start_session();
    session.set_metadata("turns", turns);
    TracerContext::new(&session).sync_scope(|| {
        for turn in 0..turns {
            agent_trace::set_turn_number(turn);
            session.timestep(turn);
            let mut decide = agent_trace::enter(EventKind::Agent, "agent", "decide");
            decide.record_input("observation", json!({"turn": turn, "text": "a \"quoted\"\nline"}));
            agent_trace::enter(EventKind::Llm, "agent", "complete")
                .finish_ok("noop")
                .unwrap();
            decide.finish_ok(["noop"]).unwrap();
            session
                .record_message(Message::new("agent", "environment", "action", json!("noop")))
                .unwrap();
        }
    });
    session.end().unwrap()
}

#[test]
fn jsonl_written_flushed_and_read_back_equals_what_end_returned() {
    let dir = TempDir::new("jsonl-roundtrip");
    let path = dir.0.join("traces.jsonl");
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&path).unwrap()).build();
    let first = record_episode(&tracer, 2);
    let second = record_episode(&tracer, 3);
    tracer.flush().unwrap();
    assert_eq!(JsonlSink::read(&path).unwrap(), vec![first.clone(), second.clone()]);

    // Reopening appends rather than truncating.
    drop(tracer);
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&path).unwrap()).build();
    let third = record_episode(&tracer, 1);
    drop(tracer); // dropping the last handle flushes
    assert_eq!(JsonlSink::read(&path).unwrap(), vec![first, second, third]);
}

#[test]
fn every_sink_receives_every_session() {
    let dir = TempDir::new("two-sinks");
    let path = dir.0.join("traces.jsonl");
    let memory = MemorySink::new();
    let tracer = SessionTracer::builder()
        .sink(memory.clone())
        .sink(JsonlSink::open(&path).unwrap())
        .build();
    let trace = record_episode(&tracer, 1);
    tracer.flush().unwrap();
    assert_eq!(memory.sessions(), vec![trace.clone()]);
    assert_eq!(JsonlSink::read(&path).unwrap(), vec![trace]);
    assert_eq!(tracer.stats().sessions_written, 2);
}

/// A sink that streams and keeps, per record, how many events it carried.
#[derive(Clone, Default)]
struct Streaming(Arc<Mutex<Vec<(&'static str, usize)>>>);

impl Sink for Streaming {
    fn name(&self) -> &str {
        "streaming"
    }
    fn write_session(&mut self, _: &SessionTrace) -> Result<(), SinkError> {
        unreachable!("the writer hands a streaming sink batches")
    }
    fn write_batch(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        let mut seen = self.0.lock().unwrap();
        for record in batch {
            match record {
                Record::Events(batch) => seen.push(("events", batch.events.len())),
                Record::SessionEnded(trace) => seen.push(("ended", trace.events.len())),
                _ => {}
            }
        }
        Ok(())
    }
    fn wants_streamed_events(&self) -> bool {
        true
    }
}

impl Streaming {
    /// Events streamed, and events in the ended record.
    fn totals(&self) -> (usize, usize) {
        let seen = self.0.lock().unwrap();
        let sum = |kind| seen.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n).sum();
        (sum("events"), sum("ended"))
    }
}

struct NoOpHook;
impl Hook for NoOpHook {}

#[test]
fn streamed_events_are_not_repeated_in_the_ended_record_unless_another_reader_needs_them() {
    // Every sink streams: the ended record leaves the events out.
    let alone = Streaming::default();
    let tracer = SessionTracer::builder().sink(alone.clone()).build();
    let trace = record_episode(&tracer, 40);
    tracer.flush().unwrap();
    assert_eq!(alone.totals(), (trace.events.len(), 0));
    assert_eq!(tracer.stats().events_written, trace.events.len() as u64);

    // Beside a sink that reads whole traces, and with a hook that reads them, it is repeated.
    let beside = Streaming::default();
    let memory = MemorySink::new();
    let tracer = SessionTracer::builder()
        .sink(beside.clone())
        .sink(memory.clone())
        .build();
    let trace = record_episode(&tracer, 40);
    tracer.flush().unwrap();
    assert_eq!(beside.totals(), (trace.events.len(), trace.events.len()));
    assert_eq!(memory.sessions(), vec![trace.clone()]);
    // Each sink counts each event once.
    assert_eq!(tracer.stats().events_written, 2 * trace.events.len() as u64);

    let hooked = Streaming::default();
    let tracer = SessionTracer::builder().sink(hooked.clone()).hook(NoOpHook).build();
    let trace = record_episode(&tracer, 40);
    tracer.flush().unwrap();
    assert_eq!(hooked.totals(), (trace.events.len(), trace.events.len()));
}

#[test]
fn opening_a_directory_as_a_jsonl_file_names_the_path() {
    let dir = TempDir::new("jsonl-dir");
    let error = JsonlSink::open(&dir.0).unwrap_err();
    assert!(matches!(error, SinkError::Open { ref path, .. } if *path == dir.0));
    assert!(error.to_string().contains(&dir.0.display().to_string()), "{error}");
}

#[test]
fn reading_a_corrupted_jsonl_file_names_the_path_and_line() {
    let dir = TempDir::new("jsonl-corrupt");
    let path = dir.0.join("traces.jsonl");
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&path).unwrap()).build();
    record_episode(&tracer, 1);
    drop(tracer);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n{\"session_id\": 3\n");
    std::fs::write(&path, text).unwrap();
    let error = JsonlSink::read(&path).unwrap_err();
    assert!(matches!(error, SinkError::Decode { line: 3, .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!("{}:3:", path.display())),
        "{error}"
    );
}

/// A sink that fails its first `failures` writes, then keeps what it is given.
struct Flaky {
    failures: usize,
    kept: Arc<Mutex<Vec<String>>>,
}

impl Sink for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(SinkError::Other {
                sink: "flaky".into(),
                message: format!("refused {}", trace.session_id),
            });
        }
        self.kept.lock().unwrap().push(trace.session_id.clone());
        Ok(())
    }
}

#[test]
fn a_failing_sink_is_retried_until_it_writes_and_nothing_is_lost() {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let memory = MemorySink::new();
    let tracer = SessionTracer::builder()
        .sink(Flaky {
            failures: 1,
            kept: kept.clone(),
        })
        .sink(memory.clone())
        .build();
    let first = record_episode(&tracer, 1);
    let second = record_episode(&tracer, 1);

    tracer.flush().unwrap();
    assert_eq!(
        *kept.lock().unwrap(),
        vec![first.session_id.clone(), second.session_id.clone()],
        "the failed write was retried"
    );
    let stats = tracer.stats();
    assert_eq!(stats.write_errors, 1);
    assert!(stats.retries >= 1);
    assert_eq!(
        tracer.last_error(),
        Some(format!("sink `flaky` failed: refused {}", first.session_id))
    );
    assert_eq!(
        memory.sessions().len(),
        2,
        "one failing sink must not keep sessions from the others"
    );
}

struct Panicking;

impl Sink for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }

    fn write_session(&mut self, _: &SessionTrace) -> Result<(), SinkError> {
        panic!("sink bug")
    }
}

#[test]
fn a_panicking_sink_is_reported_and_the_writer_carries_on() {
    let memory = MemorySink::new();
    let tracer = SessionTracer::builder()
        .sink(Panicking)
        .sink(memory.clone())
        .close_timeout(std::time::Duration::from_millis(50))
        .build();
    record_episode(&tracer, 1);
    let error = tracer.flush().unwrap_err();
    assert!(
        matches!(&error, TraceError::Sink(SinkError::Pending { sink, records, .. }) if sink == "panicking" && *records >= 1),
        "{error}"
    );
    assert!(
        error.to_string().contains("sink `panicking` panicked: sink bug"),
        "{error}"
    );
    record_episode(&tracer, 1);
    assert!(tracer.flush().is_err());
    assert_eq!(memory.sessions().len(), 2);
    assert!(tracer.stats().write_errors >= 2);
    assert_eq!(
        tracer.last_error().as_deref(),
        Some("sink `panicking` panicked: sink bug")
    );
}

#[test]
fn a_small_queue_makes_end_wait_instead_of_dropping() {
    let memory = MemorySink::new();
    let tracer = SessionTracer::builder().sink(memory.clone()).queue_capacity(1).build();
    for _ in 0..50 {
        record_episode(&tracer, 1);
    }
    tracer.flush().unwrap();
    assert_eq!(memory.sessions().len(), 50);
    // One record in the queue, one the writer has just taken, and this thread waiting to
    // add the next: never more.
    let high_water = tracer.stats().queue_high_water;
    assert!(
        (1..=3).contains(&high_water),
        "queue held {high_water} with a capacity of 1"
    );
}
