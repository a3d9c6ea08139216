//! Faults and bad input a demanding user throws at the SDK, one test per row of
//! docs/reliability.md, named after its case. Cases that could take the process down run in
//! a child process (the test binary re-running itself).

mod support;

use std::fmt;

use agent_trace::{CapturePolicy, SessionTracer, SqliteSink, TraceStore, TracerContext, trace_tool_call};
use serde_json::{Value, json};
use support::{TempDir, is_child, only_event, run_child, spawn_child, traced};

/// A value whose `Debug` impl panics (and which has no `Serialize`).
struct PanicsInDebug;

impl fmt::Debug for PanicsInDebug {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("debug exploded")
    }
}

#[trace_tool_call]
fn takes_a_panicking_debug(label: &str, _value: PanicsInDebug) -> usize {
    label.len()
}

#[trace_tool_call]
fn returns_a_panicking_debug(n: u32) -> (u32, PanicsInDebug) {
    (n, PanicsInDebug)
}

fn unserializable(reason: &str) -> Value {
    json!({ "$unserializable": reason })
}

/// A tracer into a fresh store, and the store's directory.
fn store_tracer(name: &str) -> (SessionTracer, TempDir) {
    let dir = TempDir::new(name);
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).expect("a store"))
        .build();
    (tracer, dir)
}

#[test]
fn argument_whose_debug_panics() {
    let (tracer, dir) = store_tracer("debug-argument");
    let session = tracer.start_session_with_id("debug-argument");
    let returned = TracerContext::new(&session).sync_scope(|| takes_a_panicking_debug("four", PanicsInDebug));
    assert_eq!(returned, 4, "the body ran and its value came back");
    let trace = session.end().unwrap();
    let event = only_event(&trace);
    assert_eq!(
        event.inputs["label"],
        json!("four"),
        "the sibling argument keeps its value"
    );
    assert_eq!(
        event.inputs["_value"],
        unserializable("Debug implementation panicked: debug exploded")
    );
    assert_eq!(event.output, Some(json!(4)));
    tracer.flush().unwrap();
    let stored = TraceStore::open(dir.db())
        .unwrap()
        .get("debug-argument")
        .unwrap()
        .unwrap();
    assert_eq!(stored.events[0].inputs, event.inputs, "the stored session reads back");
}

#[test]
fn result_whose_debug_panics() {
    let ((n, _), trace) = traced(|| returns_a_panicking_debug(7));
    assert_eq!(n, 7, "the return value reaches the caller");
    assert_eq!(
        only_event(&trace).output,
        Some(unserializable("Debug implementation panicked: debug exploded"))
    );
}

/// `depth` arrays, one inside the other, around `1`.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| Value::Array(vec![inner]))
}

/// How many arrays deep `value` goes before something else.
fn array_depth(mut value: &Value) -> usize {
    let mut depth = 0;
    while let Value::Array(items) = value {
        depth += 1;
        value = &items[0];
    }
    depth
}

#[trace_tool_call]
fn takes_a_deep_value(name: &str, deep: Value) -> usize {
    drop(deep);
    name.len()
}

#[test]
fn value_nested_200_deep() {
    let (tracer, dir) = store_tracer("deep-200");
    let session = tracer.start_session_with_id("deep-200");
    TracerContext::new(&session).sync_scope(|| {
        takes_a_deep_value("first", nested(200));
        takes_a_deep_value("second", json!([1, 2]));
    });
    let trace = session.end().unwrap();
    tracer.flush().unwrap();
    let stored = TraceStore::open(dir.db()).unwrap().get("deep-200").unwrap().unwrap();
    assert_eq!(stored.events, trace.events, "the whole session reads back");
    let first = &stored.events[0].inputs;
    assert_eq!(
        first["name"],
        json!("first"),
        "the sibling argument keeps its name and value"
    );
    assert_eq!(array_depth(&first["deep"]), 64);
    let mut innermost = &first["deep"];
    while let Value::Array(items) = innermost {
        innermost = &items[0];
    }
    assert_eq!(innermost, &json!({"$truncated": true, "depth": 64}));
    assert_eq!(stored.events[1].inputs["deep"], json!([1, 2]));
}

#[trace_tool_call]
fn reads_a_deep_value(deep: &Value) -> bool {
    deep.is_array()
}

#[test]
fn value_nested_10000_deep_on_a_2_mib_stack() {
    const NAME: &str = "value_nested_10000_deep_on_a_2_mib_stack";
    if is_child(NAME) {
        // Built and dropped on a large stack: only the capture runs on the small one.
        let deep = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| nested(10_000))
            .unwrap()
            .join()
            .unwrap();
        let (deep, trace) = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let session = SessionTracer::default().start_session();
                // Cloning or dropping it recurses too: the program keeps it and reads it.
                assert!(TracerContext::new(&session).sync_scope(|| reads_a_deep_value(&deep)));
                (deep, session.end().unwrap())
            })
            .unwrap()
            .join()
            .unwrap();
        let event = only_event(&trace);
        assert_eq!(array_depth(&event.inputs["deep"]), 64);
        println!("recorded: depth {}", array_depth(&event.inputs["deep"]));
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || drop(deep))
            .unwrap()
            .join()
            .unwrap();
        return;
    }
    let output = run_child(NAME, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("recorded: depth 64"),
        "the child records the value and exits normally: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[trace_tool_call]
fn takes_a_long_text(text: String) -> usize {
    text.len()
}

#[test]
fn string_argument_of_100_mb() {
    let text = "abc \"quoted\"\n".repeat(100_000_000 / 13);
    let len = text.len();
    let (returned, trace) = traced(|| takes_a_long_text(text));
    assert_eq!(returned, len);
    let captured = &only_event(&trace).inputs["text"];
    assert_eq!(captured["$truncated"], json!(true));
    // Every 13-byte piece escapes to 16 bytes, and the quotes around the whole.
    assert_eq!(captured["len"], json!(len / 13 * 16 + 2));
    let head = captured["head"].as_str().unwrap();
    assert!(head.len() <= 64 * 1024 && head.len() > 60 * 1024, "{}", head.len());
    assert!(head.starts_with(r#""abc \"quoted\"\nabc"#), "{}", &head[..40]);
}

#[trace_tool_call]
fn sends_headers(url: &str, headers: Vec<(String, String)>) -> usize {
    url.len() + headers.len()
}

#[test]
fn bearer_token_in_a_list_of_pairs() {
    let headers = vec![
        (
            "Authorization".to_owned(),
            "Bearer eyJhbGciOi.secret-value-123".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    let (_, trace) = traced(|| sends_headers("https://api.example.com", headers));
    let inputs = &only_event(&trace).inputs;
    assert_eq!(
        inputs["headers"],
        json!([["Authorization", "Bearer [REDACTED]"], ["Accept", "application/json"]])
    );
    let text = serde_json::to_string(&trace).unwrap();
    assert!(!text.contains("secret-value-123"), "the token is nowhere in the trace");
}

#[derive(Debug)]
#[allow(dead_code)]
struct ClientConfig {
    base_url: &'static str,
    key: &'static str,
}

#[trace_tool_call]
fn connects(config: ClientConfig, prompt: &str) -> usize {
    config.base_url.len() + prompt.len()
}

#[test]
fn secrets_inside_values_are_redacted_at_any_depth() {
    let config = ClientConfig {
        base_url: "https://api.example.com",
        key: "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    };
    let (_, trace) = traced(|| connects(config, "my AWS key is AKIAIOSFODNN7EXAMPLE, keep it"));
    let inputs = &only_event(&trace).inputs;
    assert_eq!(
        inputs["config"],
        json!(r#"ClientConfig { base_url: "https://api.example.com", key: "[REDACTED]" }"#),
        "a value captured through `Debug` is redacted too"
    );
    assert_eq!(inputs["prompt"], json!("my AWS key is [REDACTED], keep it"));
}

#[test]
fn redaction_patterns_of_ones_own_and_the_off_switch() {
    let policy = CapturePolicy::default()
        .redact_known_secrets(false)
        .redact_pattern(r"\b\d{3}-\d{2}-\d{4}\b")
        .unwrap();
    let session = SessionTracer::builder().capture(policy).build().start_session();
    TracerContext::new(&session).sync_scope(|| {
        sends_headers(
            "ssn 123-45-6789",
            vec![("Authorization".to_owned(), "Bearer abcdefgh12345678".to_owned())],
        )
    });
    let trace = session.end().unwrap();
    let inputs = &only_event(&trace).inputs;
    assert_eq!(inputs["url"], json!("ssn [REDACTED]"));
    assert_eq!(
        inputs["headers"][0][1],
        json!("Bearer abcdefgh12345678"),
        "built-in shapes off"
    );
    let error = CapturePolicy::default().redact_pattern("(unclosed").unwrap_err();
    assert!(error.to_string().contains("`(unclosed`"), "{error}");
}

#[test]
fn redaction_function_that_panics() {
    let policy = CapturePolicy::default().redact_with(|name, _| {
        if name == "url" {
            panic!("redactor exploded")
        }
    });
    let session = SessionTracer::builder().capture(policy).build().start_session();
    let returned = TracerContext::new(&session).sync_scope(|| sends_headers("abc", Vec::new()));
    assert_eq!(returned, 3);
    let trace = session.end().unwrap();
    let inputs = &only_event(&trace).inputs;
    assert_eq!(
        inputs["url"],
        unserializable("redact_with function panicked: redactor exploded")
    );
    assert_eq!(inputs["headers"], json!([]));
}

/// An error whose `Display` impl panics.
#[derive(Debug)]
struct PanicsInDisplay;

impl fmt::Display for PanicsInDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("display exploded")
    }
}

impl std::error::Error for PanicsInDisplay {}

#[trace_tool_call]
fn fails_with_a_panicking_display(n: u32) -> Result<u32, PanicsInDisplay> {
    if n == 0 { Err(PanicsInDisplay) } else { Ok(n) }
}

#[test]
fn error_whose_display_panics() {
    let (returned, trace) = traced(|| fails_with_a_panicking_display(0));
    assert!(returned.is_err(), "the caller gets the error");
    let error = only_event(&trace).error.as_ref().unwrap();
    assert_eq!(error.message, "<Display implementation panicked: display exploded>");
    assert!(error.kind.ends_with("PanicsInDisplay"), "{}", error.kind);
}

#[trace_tool_call]
fn looks_up(query: &str, limit: u32) -> Vec<u32> {
    (0..limit.min(query.len() as u32)).collect()
}

/// A store holding one session of three calls, and the `data` of its second event.
fn store_of_three(name: &str) -> (TempDir, String) {
    let (tracer, dir) = store_tracer(name);
    let session = tracer.start_session_with_id(name);
    TracerContext::new(&session).sync_scope(|| {
        looks_up("first", 2);
        looks_up("second", 3);
        looks_up("third", 1);
    });
    session.end().unwrap();
    tracer.flush().unwrap();
    drop(tracer);
    let data: String = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("SELECT data FROM events WHERE id = 2", [], |row| row.get(0))
        .unwrap();
    (dir, data)
}

fn set_event_data(dir: &TempDir, data: &str) {
    let connection = rusqlite::Connection::open(dir.db()).unwrap();
    let changed = connection
        .execute("UPDATE events SET data = ?1 WHERE id = 2", [data])
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn stored_event_cut_off_mid_value() {
    let (dir, data) = store_of_three("cut-off-row");
    // What an older version left when a `Debug` impl panicked mid-write.
    let broken = data.replace(r#""inputs":{"#, r#""inputs":{"value":""#);
    assert_ne!(broken, data);
    set_event_data(&dir, &broken);
    let trace = TraceStore::open(dir.db()).unwrap().get("cut-off-row").unwrap().unwrap();
    assert_eq!(trace.events.len(), 3, "the session reads, every event in it");
    assert_eq!(trace.events[0].inputs["query"], json!("first"));
    assert_eq!(trace.events[2].inputs["query"], json!("third"));
    let broken = &trace.events[1];
    assert_eq!((broken.id, broken.name.as_str()), (2, "looks_up"));
    assert_eq!(
        broken.system_id, trace.events[0].system_id,
        "the store's own fields read"
    );
    assert!(broken.duration > std::time::Duration::ZERO);
    let reason = broken.inputs["$unreadable"].as_str().expect("the inputs' marker");
    assert!(!reason.is_empty());
    assert_eq!(broken.output, Some(json!([0, 1, 2])), "the output beside it reads");
}

#[test]
fn stored_value_nested_past_the_reading_depth() {
    let (dir, data) = store_of_three("too-deep-row");
    let deep = serde_json::to_string(&nested(200)).unwrap();
    let broken = data.replace(r#""query":"second""#, &format!(r#""query":{deep}"#));
    set_event_data(&dir, &broken);
    let trace = TraceStore::open(dir.db())
        .unwrap()
        .get("too-deep-row")
        .unwrap()
        .unwrap();
    assert_eq!(trace.events.len(), 3);
    let reason = trace.events[1].inputs["$unreadable"]
        .as_str()
        .expect("the inputs' marker");
    assert!(reason.contains("recursion limit"), "{reason}");
    assert_eq!(trace.events[1].output, Some(json!([0, 1, 2])));
    assert_eq!(trace.events[2].inputs["limit"], json!(1));
}

#[test]
fn stored_row_that_is_not_json_at_all() {
    let (dir, _) = store_of_three("garbage-row");
    set_event_data(&dir, "\u{1}not json");
    let store = TraceStore::open(dir.db()).unwrap();
    let trace = store.get("garbage-row").unwrap().unwrap();
    assert_eq!(trace.events.len(), 3);
    let broken = &trace.events[1];
    assert_eq!(broken.name, "looks_up", "the columns read");
    assert!(
        broken.metadata.contains_key("$unreadable.started_at"),
        "{:?}",
        broken.metadata
    );
    assert_eq!(trace.events[2].inputs["query"], json!("third"));
}

#[test]
fn stored_session_metadata_unreadable() {
    let (dir, _) = store_of_three("bad-metadata");
    rusqlite::Connection::open(dir.db())
        .unwrap()
        .execute("UPDATE sessions SET metadata = '{\"a\":', messages = 'null x'", [])
        .unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let trace = store.get("bad-metadata").unwrap().unwrap();
    assert_eq!(trace.events.len(), 3);
    assert!(
        trace.metadata.contains_key("$unreadable.metadata"),
        "{:?}",
        trace.metadata
    );
    assert!(
        trace.metadata.contains_key("$unreadable.messages"),
        "{:?}",
        trace.metadata
    );
    let listed = store.list(&agent_trace::TraceFilter::default()).unwrap();
    assert_eq!(listed.len(), 1, "the session is listed");
}

/// `n` tool calls in a new session of `tracer` with id `id`, ended.
fn session_of(tracer: &SessionTracer, id: &str, n: u32) {
    let session = tracer.start_session_with_id(id);
    TracerContext::new(&session).sync_scope(|| {
        for i in 0..n {
            looks_up("call", i % 4);
        }
    });
    session.end().unwrap();
}

fn stored_events(dir: &TempDir, session_id: &str) -> usize {
    TraceStore::open(dir.db())
        .unwrap()
        .get(session_id)
        .unwrap()
        .map_or(0, |trace| trace.events.len())
}

#[test]
fn store_file_deleted_while_running() {
    let (tracer, dir) = store_tracer("deleted-file");
    session_of(&tracer, "before", 100);
    tracer.flush().unwrap();
    std::fs::remove_file(dir.db()).unwrap();
    session_of(&tracer, "after", 100);
    tracer.flush().unwrap();
    let stats = tracer.stats();
    assert_eq!(stats.write_errors, 1, "the deletion is counted");
    let error = tracer.last_error().unwrap();
    assert!(
        error.contains(&dir.db().display().to_string()) && error.contains("deleted"),
        "{error}"
    );
    assert_eq!(
        stored_events(&dir, "after"),
        100,
        "what came after is in the file at the path"
    );
    assert_eq!(stored_events(&dir, "before"), 0);
    drop(tracer);
    let integrity: String = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn store_folder_removed_while_running() {
    let parent = TempDir::new("removed-folder");
    let folder = parent.0.join("store");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("traces.db");
    let tracer = SessionTracer::builder().sink(SqliteSink::open(&path).unwrap()).build();
    session_of(&tracer, "before", 10);
    tracer.flush().unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    session_of(&tracer, "after", 100);
    let error = tracer
        .flush()
        .expect_err("nothing can be written while the folder is gone");
    assert!(error.to_string().contains("store"), "{error}");
    assert!(tracer.stats().write_errors >= 1);
    assert_eq!(
        tracer.stats().events_written,
        10,
        "nothing unwritten is counted as written"
    );
    std::fs::create_dir_all(&folder).unwrap();
    tracer.flush().expect("written once the folder is back");
    drop(tracer);
    let trace = TraceStore::open(&path).unwrap().get("after").unwrap().unwrap();
    assert_eq!(trace.events.len(), 100);
}

const STORE_PATH: &str = "AGENT_TRACE_TEST_STORE";
const START_SIGNAL: &str = "AGENT_TRACE_TEST_START";
const WRITERS: usize = 4;
const SESSIONS_PER_WRITER: usize = 50;
const EVENTS_PER_SESSION: u32 = 100;

/// In a child: waits for the start signal (a file), opens the store, writes its sessions
/// with a flush after each, and prints how many opens and flushes failed.
fn write_as_one_of_many() {
    let path = std::env::var_os(STORE_PATH).expect("the store's path");
    let signal = std::env::var_os(START_SIGNAL).expect("the start signal");
    while !std::path::Path::new(&signal).exists() {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let sink = match SqliteSink::open(&path) {
        Ok(sink) => sink,
        Err(error) => {
            println!("open failed: {error}");
            return;
        }
    };
    let tracer = SessionTracer::builder().sink(sink).build();
    let mut failures = 0;
    for n in 0..SESSIONS_PER_WRITER {
        session_of(&tracer, &format!("{}-{n}", std::process::id()), EVENTS_PER_SESSION);
        if let Err(error) = tracer.flush() {
            failures += 1;
            eprintln!("flush failed: {error}");
        }
    }
    println!(
        "flush errors: {failures}; write errors: {}",
        tracer.stats().write_errors
    );
}

/// Runs `WRITERS` children of `name` into `path` at once; returns what they printed.
fn many_writers(name: &str, dir: &TempDir, path: &std::path::Path) -> Vec<String> {
    let signal = dir.0.join("start");
    let children: Vec<_> = (0..WRITERS)
        .map(|_| {
            spawn_child(
                name,
                &[(STORE_PATH, path.as_os_str()), (START_SIGNAL, signal.as_os_str())],
            )
        })
        .collect();
    std::fs::write(&signal, b"go").unwrap();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(
                output.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            stdout
        })
        .collect()
}

fn assert_every_event_stored(path: &std::path::Path, reports: &[String]) {
    for report in reports {
        assert!(report.contains("flush errors: 0; write errors: 0"), "{report}");
    }
    let connection = rusqlite::Connection::open(path).unwrap();
    let events: i64 = connection
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        events as usize,
        WRITERS * SESSIONS_PER_WRITER * EVENTS_PER_SESSION as usize
    );
    let sessions: i64 = connection
        .query_row("SELECT count(*) FROM sessions WHERE status = 'success'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(sessions as usize, WRITERS * SESSIONS_PER_WRITER);
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn four_processes_writing_one_existing_store() {
    const NAME: &str = "four_processes_writing_one_existing_store";
    if is_child(NAME) {
        return write_as_one_of_many();
    }
    let dir = TempDir::new("many-writers");
    drop(SqliteSink::open(dir.db()).unwrap());
    let reports = many_writers(NAME, &dir, &dir.db());
    assert_every_event_stored(&dir.db(), &reports);
}

#[test]
fn four_processes_creating_one_new_store_at_once() {
    const NAME: &str = "four_processes_creating_one_new_store_at_once";
    if is_child(NAME) {
        return write_as_one_of_many();
    }
    let dir = TempDir::new("many-creators");
    let reports = many_writers(NAME, &dir, &dir.db());
    assert_every_event_stored(&dir.db(), &reports);
}

/// What a slow streaming sink was given.
#[derive(Default)]
struct Received {
    starts: usize,
    streamed_events: usize,
    ended: Vec<agent_trace::SessionTrace>,
}

/// A sink that takes its time over every batch.
struct SlowSink(std::sync::Arc<std::sync::Mutex<Received>>);

impl agent_trace::sink::Sink for SlowSink {
    fn name(&self) -> &str {
        "slow"
    }

    fn write_session(&mut self, trace: &agent_trace::SessionTrace) -> Result<(), agent_trace::sink::SinkError> {
        self.0.lock().unwrap().ended.push(trace.clone());
        Ok(())
    }

    fn write_batch(&mut self, batch: &[agent_trace::sink::Record]) -> Result<(), agent_trace::sink::SinkError> {
        use agent_trace::sink::Record;
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut received = self.0.lock().unwrap();
        for record in batch {
            match record {
                Record::SessionStarted(_) => received.starts += 1,
                Record::Events(events) => received.streamed_events += events.events.len(),
                Record::SessionEnded(trace) => received.ended.push((**trace).clone()),
                _ => {}
            }
        }
        Ok(())
    }

    fn wants_streamed_events(&self) -> bool {
        true
    }
}

#[test]
fn drop_newest_under_a_slow_sink() {
    const SESSIONS: usize = 20;
    const EVENTS: u32 = 1000;
    let received = std::sync::Arc::default();
    let tracer = SessionTracer::builder()
        .sink(SlowSink(std::sync::Arc::clone(&received)))
        .queue_capacity(1)
        .overflow(agent_trace::Overflow::DropNewest)
        .build();
    for n in 0..SESSIONS {
        session_of(&tracer, &format!("session-{n}"), EVENTS);
    }
    tracer.flush().unwrap();
    let stats = tracer.stats();
    let received = received.lock().unwrap();
    assert!(stats.dropped_records > 0, "the test drops batches: {stats:?}");
    assert_eq!(received.starts, SESSIONS, "every start waits");
    assert_eq!(
        received.streamed_events + stats.dropped_events as usize,
        SESSIONS * EVENTS as usize,
        "every event not streamed is counted as dropped"
    );
    assert_eq!(received.ended.len(), SESSIONS);
    for trace in &received.ended {
        let streamed_all = trace.events.is_empty();
        assert!(
            streamed_all || trace.events.len() == EVENTS as usize,
            "the ended trace holds them all"
        );
    }
}

/// A small tmpfs mounted for the test, unmounted when dropped; `None` (with a message)
/// where this process may not mount one.
struct SmallDisk(TempDir);

impl SmallDisk {
    fn mount(name: &str, size: &str) -> Option<SmallDisk> {
        let dir = TempDir::new(name);
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir.0)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(SmallDisk(dir)),
            Ok(output) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("skipped: cannot run mount: {error}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0.0).status();
    }
}

/// Fills the file system `dir` is on; returns the filler, to be removed to make room.
fn fill_disk(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    for size in [4096, 512, 1] {
        while file.write_all(&chunk[..size]).is_ok() {}
    }
    filler
}

#[test]
fn disk_full_and_staying_full() {
    let Some(disk) = SmallDisk::mount("full-disk", "4m") else {
        return;
    };
    let path = disk.0.db();
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(&path).unwrap())
        .queue_capacity(4)
        .block_timeout(std::time::Duration::from_millis(200))
        .build();
    session_of(&tracer, "before", 10);
    tracer.flush().unwrap();
    let filler = fill_disk(&disk.0.0);
    // Every end returns: the agent goes on (this loop would hang without the timeout).
    for n in 0..200 {
        session_of(&tracer, &format!("while-full-{n}"), 50);
    }
    let stats = tracer.stats();
    assert!(stats.dropped_records > 0 && stats.dropped_events > 0, "{stats:?}");
    let error = tracer.last_error().unwrap();
    assert!(error.contains("dropped") && error.contains("full"), "{error}");
    std::fs::remove_file(filler).unwrap();
    tracer.flush().expect("what is pending is written once there is room");
    session_of(&tracer, "after", 50);
    tracer.flush().expect("written once there is room");
    assert_eq!(stored_events(&disk.0, "after"), 50, "new sessions are written");
    assert_eq!(stored_events(&disk.0, "before"), 10);
    drop(tracer);
}

/// A value whose `Serialize` impl panics after writing part of itself.
struct PanicsMidSerialize;

impl serde::Serialize for PanicsMidSerialize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("written", "already")?;
        panic!("serialize exploded")
    }
}

/// A value whose `Serialize` impl returns an error.
struct RefusesToSerialize;

impl serde::Serialize for RefusesToSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refuses to serialize"))
    }
}

#[trace_tool_call]
fn takes_bad_values(_first: PanicsMidSerialize, _second: RefusesToSerialize, ratio: f64) -> f64 {
    ratio
}

#[test]
fn argument_whose_serialize_panics_or_fails_and_a_non_finite_float() {
    let (returned, trace) = traced(|| takes_bad_values(PanicsMidSerialize, RefusesToSerialize, f64::NAN));
    assert!(returned.is_nan());
    let event = only_event(&trace);
    assert_eq!(
        event.inputs["_first"],
        unserializable("Serialize implementation panicked: serialize exploded"),
        "what it wrote before panicking is rolled back"
    );
    assert_eq!(event.inputs["_second"], unserializable("refuses to serialize"));
    assert_eq!(event.inputs["ratio"], Value::Null);
    assert_eq!(event.output, Some(Value::Null));
}

/// The functions a hook was told were called outside any scope.
struct OutsideCalls(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl agent_trace::Hook for OutsideCalls {
    fn on_call_outside_scope(&self, name: &str, _module_path: &str) -> agent_trace::HookResult {
        self.0.lock().unwrap().push(name.to_owned());
        Ok(())
    }
}

#[trace_tool_call]
fn work_elsewhere(n: u32) -> u32 {
    n + 1
}

#[test]
fn traced_calls_on_threads_the_context_was_not_carried_to() {
    const NAME: &str = "traced_calls_on_threads_the_context_was_not_carried_to";
    if !is_child(NAME) {
        // The count is the process's: counted alone, in a child.
        let output = run_child(NAME, &[]);
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let reported = std::sync::Arc::default();
    let tracer = SessionTracer::builder()
        .hook(OutsideCalls(std::sync::Arc::clone(&reported)))
        .build();
    work_elsewhere(0);
    assert_eq!(
        tracer.stats().calls_outside_scope,
        0,
        "no session runs: nothing is lost"
    );
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| {
        // Lost: a plain thread, twice.
        std::thread::spawn(|| work_elsewhere(1)).join().unwrap();
        std::thread::spawn(|| work_elsewhere(2)).join().unwrap();
        // Carried: recorded.
        std::thread::spawn(agent_trace::with_current_context(|| work_elsewhere(3)))
            .join()
            .unwrap();
    });
    let trace = session.end().unwrap();
    assert_eq!(only_event(&trace).inputs["n"], json!(3));
    assert_eq!(tracer.stats().calls_outside_scope, 2);
    assert_eq!(
        *reported.lock().unwrap(),
        ["work_elsewhere"],
        "reported once per function"
    );
    work_elsewhere(4);
    assert_eq!(tracer.stats().calls_outside_scope, 2, "no session runs any more");
}
