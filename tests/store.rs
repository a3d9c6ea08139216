//! The embedded store, as a user meets it: write sessions with `SqliteSink`, read them with
//! `TraceStore`, survive crashes, locks and bad files, and lose nothing.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use support::TempDir;

use agent_trace::store::StoreError;
use agent_trace::{
    ErrorRecord, Event, EventKind, Hook, HookResult, Message, Overflow, Reward, Sampling, SessionStatus, SessionTrace,
    SessionTracer, SqliteSink, TraceFilter, TraceStore, TracerContext, enter, set_turn_number, trace_agent,
    trace_tool_call,
};
use serde_json::json;

fn tracer_for(path: &Path) -> SessionTracer {
    SessionTracer::builder().sink(SqliteSink::open(path).unwrap()).build()
}

#[trace_tool_call(tool = "lookup")]
fn lookup(key: &str) -> Result<u32, std::io::Error> {
    key.parse::<u32>().map_err(std::io::Error::other)
}

#[trace_agent]
fn decide(turn: u32) -> u32 {
    let _ = lookup(if turn == 1 { "one" } else { "7" });
    turn * 2
}

/// A session with every field of the data model populated.
fn rich_session(tracer: &SessionTracer) -> SessionTrace {
    let session = tracer.start_session();
    session.set_metadata("env", "gridworld");
    session.set_metadata("seed", 42);
    TracerContext::new(&session).sync_scope(|| {
        for turn in 0..3 {
            set_turn_number(turn);
            session.timestep_named(turn, format!("turn {turn}"));
            decide(turn);
            session
                .record_message(Message::new(
                    "environment",
                    "agent",
                    "observation",
                    json!({"turn": turn}),
                ))
                .unwrap();
        }
        let custom = session
            .record_event(
                Event::builder(EventKind::Custom("retriever".into()), "memory", "recall")
                    .input("query", "wood")
                    .error(ErrorRecord {
                        kind: "Timeout".into(),
                        message: "slow".into(),
                        chain: vec!["network".into()],
                    })
                    .metadata("attempt", 2)
                    .duration(Duration::from_micros(1500)),
            )
            .unwrap();
        session
            .record_reward(Reward::for_event(custom, "penalty", -0.5))
            .unwrap();
        let mut cancelled = enter(EventKind::Tool, "agent", "abandoned");
        cancelled.record_input("why", "timeout");
        drop(cancelled);
    });
    session.record_reward(Reward::outcome("goal_reached", 1.0)).unwrap();
    session.end().unwrap()
}

#[test]
fn a_session_with_every_field_reads_back_equal_to_what_end_returned() {
    let dir = TempDir::new("roundtrip");
    let tracer = tracer_for(&dir.db());
    let trace = rich_session(&tracer);
    tracer.flush().unwrap();
    assert!(
        trace.events.len() >= 8 && !trace.messages.is_empty() && trace.rewards.len() == 2 && trace.timesteps.len() == 3
    );

    let store = TraceStore::open(dir.db()).unwrap();
    assert_eq!(store.get(&trace.session_id).unwrap(), Some(trace.clone()));
    assert_eq!(store.get("no-such-session").unwrap(), None);
    assert_eq!(store.count().unwrap(), 1);
    let summary = &store.list(&TraceFilter::default()).unwrap()[0];
    assert_eq!(
        (summary.status, summary.event_count, summary.error_count),
        (SessionStatus::Error, trace.events.len(), trace.error_count())
    );
    assert_eq!(summary.metadata["seed"], json!(42));
}

#[test]
fn a_version_one_database_is_migrated_and_its_events_read_back() {
    let dir = TempDir::new("version-one");
    let trace = rich_session(&tracer_for(&dir.db()));
    // Make the file what version 1 wrote: the whole event as JSON in `data`.
    let connection = rusqlite::Connection::open(dir.db()).unwrap();
    for event in &trace.events {
        connection
            .execute(
                "UPDATE events SET data = ?1 WHERE id = ?2",
                rusqlite::params![serde_json::to_string(event).unwrap(), event.id as i64],
            )
            .unwrap();
    }
    // … and without what version 3 added.
    connection
        .execute_batch(&format!(
            "{UNDO_SINCE_VERSION_FOUR} DROP INDEX sessions_by_user; DROP TABLE session_tags; ALTER TABLE sessions DROP COLUMN user_id; \
             ALTER TABLE sessions DROP COLUMN name; ALTER TABLE sessions DROP COLUMN tags; PRAGMA user_version = 1;"
        ))
        .unwrap();
    drop(connection);

    drop(SqliteSink::open(dir.db()).unwrap()); // migrates
    let store = TraceStore::open(dir.db()).unwrap();
    assert_eq!(store.get(&trace.session_id).unwrap(), Some(trace));
    let version: i64 = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

const CRASH_CHILD: &str = "AGENT_TRACE_CRASH_CHILD_DB";

/// SQL that takes out of a store what schema versions 4 and 5 added.
const UNDO_SINCE_VERSION_FOUR: &str = "DROP TABLE scores; DROP INDEX sessions_by_cost; DROP INDEX sessions_by_tokens; \
    ALTER TABLE sessions DROP COLUMN input_tokens; ALTER TABLE sessions DROP COLUMN output_tokens; \
    ALTER TABLE sessions DROP COLUMN cached_input_tokens; ALTER TABLE sessions DROP COLUMN reasoning_tokens; \
    ALTER TABLE sessions DROP COLUMN tokens_by_model; ALTER TABLE sessions DROP COLUMN cost;";

#[test]
fn events_flushed_before_a_crash_are_on_disk_and_the_session_is_running() {
    if let Some(path) = std::env::var_os(CRASH_CHILD) {
        // The child: record, flush, and die mid-session without any cleanup.
        let tracer = tracer_for(Path::new(&path));
        let session = tracer.start_session_with_id("crashed-session");
        session.set_metadata("role", "child");
        TracerContext::new(&session).sync_scope(|| {
            for i in 0..10_000u32 {
                let mut span = enter(EventKind::Tool, "agent", "step");
                span.record_input("i", i);
                span.finish_ok(i).unwrap();
            }
        });
        tracer.flush().unwrap();
        std::process::abort();
    }
    let dir = TempDir::new("crash");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "events_flushed_before_a_crash_are_on_disk_and_the_session_is_running",
            "--test-threads",
            "1",
        ])
        .env(CRASH_CHILD, dir.db())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts");

    let store = TraceStore::open(dir.db()).unwrap();
    let trace = store.get("crashed-session").unwrap().expect("the session row survives");
    assert_eq!(trace.status, SessionStatus::Running);
    assert_eq!(trace.ended_at, None);
    assert_eq!(trace.events.len(), 10_000);
    assert!(trace.events.iter().enumerate().all(|(i, e)| e.inputs["i"] == json!(i)));
    assert_eq!(
        trace.metadata["role"],
        json!("child"),
        "metadata set while running is streamed too"
    );
    let running = store
        .list(&TraceFilter {
            status: Some(SessionStatus::Running),
            ..TraceFilter::default()
        })
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].event_count, 10_000);
}

#[test]
fn a_reader_lists_and_gets_while_a_writer_inserts() {
    let dir = TempDir::new("concurrent");
    let tracer = tracer_for(&dir.db());
    rich_session(&tracer);
    tracer.flush().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (tracer, done) = (tracer.clone(), done.clone());
        std::thread::spawn(move || {
            let mut written = 0;
            while !done.load(Ordering::Relaxed) {
                rich_session(&tracer);
                written += 1;
                if written % 5 == 0 {
                    tracer.flush().unwrap();
                }
            }
            tracer.flush().unwrap();
            written
        })
    };
    let store = TraceStore::open(dir.db()).unwrap();
    let mut reads = 0;
    let mut last_count = 0;
    let deadline = std::time::Instant::now() + Duration::from_millis(800);
    while std::time::Instant::now() < deadline {
        let sessions = store
            .list(&TraceFilter {
                limit: Some(5),
                ..TraceFilter::default()
            })
            .unwrap();
        for summary in &sessions {
            let trace = store.get(&summary.session_id).unwrap().unwrap();
            assert_eq!(trace.session_id, summary.session_id);
        }
        let count = store.count().unwrap();
        assert!(count >= last_count, "sessions never disappear");
        last_count = count;
        reads += 1;
    }
    done.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(reads > 10 && written > 5, "{reads} reads, {written} sessions written");
    assert_eq!(store.count().unwrap(), written + 1);
}

#[test]
fn a_million_events_through_the_blocking_queue_are_all_stored_within_its_bound() {
    let dir = TempDir::new("burst");
    let capacity = 64;
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap())
        .queue_capacity(capacity)
        .build();
    for _ in 0..1000 {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for _ in 0..1000 {
                enter(EventKind::Tool, "agent", "step").finish().unwrap();
            }
        });
        session.end().unwrap();
    }
    tracer.flush().unwrap();
    let stats = tracer.stats();
    assert_eq!((stats.events_recorded, stats.dropped_events), (1_000_000, 0));
    assert_eq!(stats.events_written, 1_000_000, "every streamed event was written once");
    assert!(
        stats.queue_high_water <= capacity as u64 + 2,
        "the queue held {} with a capacity of {capacity}",
        stats.queue_high_water
    );
    let store = TraceStore::open(dir.db()).unwrap();
    let stored: usize = store
        .list(&TraceFilter::default())
        .unwrap()
        .iter()
        .map(|s| s.event_count)
        .sum();
    assert_eq!((store.count().unwrap(), stored), (1000, 1_000_000));
}

#[test]
fn writes_that_fail_on_a_locked_database_are_retried_and_nothing_is_lost() {
    let dir = TempDir::new("locked");
    let sink = SqliteSink::open(dir.db())
        .unwrap()
        .busy_timeout(Duration::from_millis(20))
        .unwrap();
    let tracer = SessionTracer::builder().sink(sink).build();
    let first = rich_session(&tracer);
    tracer.flush().unwrap();

    // Another process takes the write lock.
    let locker = rusqlite::Connection::open(dir.db()).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let during: Vec<SessionTrace> = (0..3).map(|_| rich_session(&tracer)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let error = tracer.flush().unwrap_err();
    assert!(error.to_string().contains("unwritten records"), "{error}");
    assert!(
        tracer.last_error().unwrap().contains("database is locked"),
        "{:?}",
        tracer.last_error()
    );
    assert!(
        tracer.last_error().unwrap().contains(&dir.db().display().to_string()),
        "the error names the file"
    );
    assert!(tracer.stats().write_errors > 0);

    // The lock goes away; the kept records are written.
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    tracer.flush().unwrap();
    assert!(tracer.stats().retries > 0);
    let store = TraceStore::open(dir.db()).unwrap();
    for trace in std::iter::once(&first).chain(&during) {
        assert_eq!(store.get(&trace.session_id).unwrap().as_ref(), Some(trace));
    }
}

#[test]
fn bad_paths_and_files_give_errors_that_name_the_path() {
    let dir = TempDir::new("bad");
    let named = |error: StoreError, path: &Path| {
        assert!(error.to_string().contains(&path.display().to_string()), "{error}");
        error
    };

    assert!(matches!(
        named(SqliteSink::open(&dir.0).unwrap_err(), &dir.0),
        StoreError::IsDirectory { .. }
    ));
    assert!(matches!(
        named(TraceStore::open(&dir.0).unwrap_err(), &dir.0),
        StoreError::IsDirectory { .. }
    ));

    let missing = dir.0.join("missing.db");
    assert!(matches!(
        named(TraceStore::open(&missing).unwrap_err(), &missing),
        StoreError::NotFound { .. }
    ));

    let text = dir.0.join("notes.txt");
    std::fs::write(
        &text,
        "these are not the traces you are looking for, not at all, no".repeat(200),
    )
    .unwrap();
    assert!(matches!(
        named(SqliteSink::open(&text).unwrap_err(), &text),
        StoreError::NotADatabase { .. }
    ));
    assert!(matches!(
        named(TraceStore::open(&text).unwrap_err(), &text),
        StoreError::NotADatabase { .. }
    ));

    let newer = dir.0.join("newer.db");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let error = named(TraceStore::open(&newer).unwrap_err(), &newer);
    assert!(
        matches!(
            error,
            StoreError::NewerSchema {
                found: 99,
                supported: 5,
                ..
            }
        ),
        "{error}"
    );

    let foreign = dir.0.join("other-app.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER)")
        .unwrap();
    assert!(matches!(
        named(SqliteSink::open(&foreign).unwrap_err(), &foreign),
        StoreError::NotATraceStore { .. }
    ));

    let corrupt = dir.db();
    let tracer = tracer_for(&corrupt);
    let trace = rich_session(&tracer);
    drop(tracer);
    let raw = rusqlite::Connection::open(&corrupt).unwrap();
    raw.execute("UPDATE events SET data = '{not json' WHERE id = 1", [])
        .unwrap();
    // A row that does not decode no longer fails its session (docs/reliability.md): the
    // session reads, the row's event with what could be read of it.
    let back = TraceStore::open(&corrupt)
        .unwrap()
        .get(&trace.session_id)
        .unwrap()
        .unwrap();
    assert_eq!(back.events.len(), trace.events.len());
    assert_eq!(back.events[0].name, trace.events[0].name);
    assert!(back.events[0].metadata.contains_key("$unreadable.started_at"));
    assert_eq!(back.events[1..], trace.events[1..]);
}

#[test]
fn list_filters_and_orders_newest_first_and_purge_deletes_old_sessions() {
    let dir = TempDir::new("filters");
    let tracer = tracer_for(&dir.db());
    let mut ids = Vec::new();
    for n in 0..6u32 {
        let session = tracer.start_session();
        session.set_metadata("n", n);
        session.set_metadata("env", if n % 2 == 0 { "even" } else { "odd" });
        TracerContext::new(&session).sync_scope(|| {
            if n == 3 {
                let _ = lookup("not a number");
            } else {
                decide(0);
            }
        });
        session.record_reward(Reward::outcome("score", f64::from(n))).unwrap();
        ids.push(session.end().unwrap().session_id);
        std::thread::sleep(Duration::from_millis(3));
    }
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let listed = |filter: TraceFilter| -> Vec<String> {
        store.list(&filter).unwrap().into_iter().map(|s| s.session_id).collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    assert_eq!(listed(TraceFilter::default()), newest_first);
    assert_eq!(
        listed(TraceFilter {
            limit: Some(2),
            ..TraceFilter::default()
        }),
        newest_first[..2]
    );
    assert_eq!(
        listed(TraceFilter {
            status: Some(SessionStatus::Error),
            ..TraceFilter::default()
        }),
        [ids[3].clone()]
    );
    assert_eq!(
        listed(TraceFilter {
            metadata: Some(("env".into(), json!("odd"))),
            ..TraceFilter::default()
        }),
        [ids[5].clone(), ids[3].clone(), ids[1].clone()]
    );
    assert_eq!(
        listed(TraceFilter {
            metadata: Some(("n".into(), json!(4))),
            ..TraceFilter::default()
        }),
        [ids[4].clone()]
    );
    assert_eq!(
        listed(TraceFilter {
            metadata: Some(("env".into(), json!("odd"))),
            limit: Some(1),
            ..TraceFilter::default()
        }),
        [ids[5].clone()]
    );
    assert_eq!(
        listed(TraceFilter {
            min_reward: Some(4.0),
            ..TraceFilter::default()
        }),
        [ids[5].clone(), ids[4].clone()]
    );
    assert_eq!(
        listed(TraceFilter {
            system_id: Some("agent".into()),
            ..TraceFilter::default()
        })
        .len(),
        6
    );
    assert!(
        listed(TraceFilter {
            system_id: Some("nobody".into()),
            ..TraceFilter::default()
        })
        .is_empty()
    );
    let third = store.get(&ids[2]).unwrap().unwrap().started_at;
    assert_eq!(
        listed(TraceFilter {
            started_after: Some(third),
            ..TraceFilter::default()
        }),
        newest_first[..4]
    );
    assert_eq!(
        listed(TraceFilter {
            started_before: Some(third),
            ..TraceFilter::default()
        }),
        newest_first[4..]
    );

    assert_eq!(store.purge_older_than(Duration::from_secs(3600)).unwrap(), 0);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(store.purge_older_than(Duration::from_millis(10)).unwrap(), 6);
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(
        store.get(&ids[0]).unwrap(),
        None,
        "purged sessions are gone with their events"
    );
}

fn run_sessions(sampling: Sampling, path: &Path, ids: &[String], fail: bool) -> SessionTracer {
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(path).unwrap())
        .sampling(sampling)
        .build();
    for id in ids {
        let session = tracer.start_session_with_id(id.clone());
        TracerContext::new(&session).sync_scope(|| {
            let _ = lookup(if fail { "x" } else { "1" });
        });
        session.end().unwrap();
    }
    tracer.flush().unwrap();
    tracer
}

#[test]
fn sampling_keeps_errors_and_a_deterministic_share_of_successes() {
    let dir = TempDir::new("sampling");
    let ids = |prefix: &str| -> Vec<String> { (0..200).map(|i| format!("{prefix}-{i}")).collect() };

    let none = run_sessions(
        Sampling {
            keep_errors: true,
            success_fraction: 0.0,
        },
        &dir.0.join("none.db"),
        &ids("a"),
        false,
    );
    assert_eq!(
        TraceStore::open(dir.0.join("none.db")).unwrap().count().unwrap(),
        0,
        "streamed events are erased too"
    );
    assert_eq!(none.stats().sessions_sampled_out, 200);

    run_sessions(
        Sampling {
            keep_errors: true,
            success_fraction: 0.0,
        },
        &dir.0.join("errors.db"),
        &ids("b"),
        true,
    );
    assert_eq!(
        TraceStore::open(dir.0.join("errors.db")).unwrap().count().unwrap(),
        200,
        "errors are kept"
    );

    run_sessions(
        Sampling {
            keep_errors: true,
            success_fraction: 1.0,
        },
        &dir.0.join("all.db"),
        &ids("c"),
        false,
    );
    assert_eq!(TraceStore::open(dir.0.join("all.db")).unwrap().count().unwrap(), 200);

    let tenth = Sampling {
        keep_errors: false,
        success_fraction: 0.1,
    };
    run_sessions(tenth, &dir.0.join("tenth-1.db"), &ids("d"), false);
    run_sessions(tenth, &dir.0.join("tenth-2.db"), &ids("d"), false);
    let kept = |file: &str| -> Vec<String> {
        let store = TraceStore::open(dir.0.join(file)).unwrap();
        let mut ids: Vec<String> = store
            .list(&TraceFilter::default())
            .unwrap()
            .into_iter()
            .map(|s| s.session_id)
            .collect();
        ids.sort();
        ids
    };
    let (first, second) = (kept("tenth-1.db"), kept("tenth-2.db"));
    assert_eq!(first, second, "the same ids, the same decisions");
    assert!(
        (5..=40).contains(&first.len()),
        "about a tenth of 200 kept: {}",
        first.len()
    );
    assert!(
        tenth.keeps("d-0", SessionStatus::Running),
        "running sessions are always kept"
    );

    let invalid = SessionTracer::builder()
        .sampling(Sampling {
            keep_errors: true,
            success_fraction: 1.5,
        })
        .try_build();
    assert_eq!(
        invalid.unwrap_err().to_string(),
        "sampling success_fraction must be between 0.0 and 1.0, got 1.5"
    );
}

#[derive(Clone, Default)]
struct CountingHook {
    calls: Arc<[AtomicUsize; 8]>,
}

impl CountingHook {
    fn bump(&self, which: usize) -> HookResult {
        self.calls[which].fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Hook for CountingHook {
    fn on_session_start(&self, _: &str) -> HookResult {
        self.bump(0)
    }
    fn on_session_end(&self, _: &SessionTrace) -> HookResult {
        self.bump(1)
    }
    fn on_timestep_start(&self, _: &str, _: &agent_trace::TimeStep) -> HookResult {
        self.bump(2)
    }
    fn on_timestep_end(&self, _: &str, _: &agent_trace::TimeStep) -> HookResult {
        self.bump(3)
    }
    fn on_event(&self, _: &str, _: &Event) -> HookResult {
        self.bump(4)
    }
    fn on_message(&self, _: &str, _: &Message) -> HookResult {
        self.bump(5)
    }
    fn before_save(&self, _: &SessionTrace) -> HookResult {
        self.bump(6)
    }
    fn after_save(&self, _: &SessionTrace) -> HookResult {
        self.bump(7)
    }
}

struct BrokenHook;

impl Hook for BrokenHook {
    fn on_event(&self, _: &str, _: &Event) -> HookResult {
        panic!("hook bug")
    }
    fn on_message(&self, _: &str, _: &Message) -> HookResult {
        Err("refused".into())
    }
}

#[test]
fn hooks_see_every_step_and_a_broken_hook_never_breaks_recording() {
    let dir = TempDir::new("hooks");
    let counting = CountingHook::default();
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap())
        .hook(BrokenHook)
        .hook(counting.clone())
        .build();
    let trace = rich_session(&tracer);
    tracer.flush().unwrap();
    let calls: Vec<usize> = counting.calls.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(calls, vec![1, 1, 3, 3, trace.events.len(), trace.messages.len(), 1, 1]);
    let stats = tracer.stats();
    assert_eq!(stats.hook_errors as usize, trace.events.len() + trace.messages.len());
    assert_eq!(
        TraceStore::open(dir.db()).unwrap().get(&trace.session_id).unwrap(),
        Some(trace)
    );
}

/// A sink that takes its time, so that the queue fills.
struct Slow(SqliteSink);

impl agent_trace::sink::Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), agent_trace::sink::SinkError> {
        self.0.write_session(trace)
    }
    fn write_batch(&mut self, batch: &[agent_trace::sink::Record]) -> Result<(), agent_trace::sink::SinkError> {
        std::thread::sleep(Duration::from_millis(2));
        self.0.write_batch(batch)
    }
    fn wants_streamed_events(&self) -> bool {
        self.0.wants_streamed_events()
    }
}

#[test]
fn drop_newest_drops_streamed_batches_but_ended_sessions_keep_every_event() {
    let dir = TempDir::new("overflow");
    let tracer = SessionTracer::builder()
        .sink(Slow(SqliteSink::open(dir.db()).unwrap()))
        .queue_capacity(2)
        .overflow(Overflow::DropNewest)
        .build();
    let mut traces = Vec::new();
    for _ in 0..20 {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for _ in 0..2000 {
                enter(EventKind::Tool, "agent", "step").finish().unwrap();
            }
        });
        traces.push(session.end().unwrap());
    }
    tracer.flush().unwrap();
    assert!(tracer.stats().dropped_events > 0, "the queue overflowed");
    let store = TraceStore::open(dir.db()).unwrap();
    for trace in &traces {
        assert_eq!(store.get(&trace.session_id).unwrap().as_ref(), Some(trace));
    }
}

#[test]
fn rewards_are_checked_stored_and_filterable() {
    let session = SessionTracer::default().start_session();
    let error = session.record_reward(Reward::outcome("score", f64::NAN)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("reward `score` of session {} is not a finite number: NaN", session.id())
    );
    let error = session.record_reward(Reward::for_event(99, "score", 1.0)).unwrap_err();
    assert!(error.to_string().contains("names event 99"), "{error}");
    session.end().unwrap();
    assert!(session.record_reward(Reward::outcome("late", 1.0)).is_err());
}

/// Makes a file unwritable, even for root, or writable again: `chmod` alone does not stop
/// root, the immutable attribute does. Returns false where that cannot be done here.
fn set_read_only(path: &Path, read_only: bool) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    let chattr = |flag: &str| {
        !is_root
            || std::process::Command::new("chattr")
                .arg(flag)
                .arg(path)
                .status()
                .is_ok_and(|s| s.success())
    };
    let chmod = |mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).is_ok();
    if read_only {
        chmod(0o444) && chattr("+i")
    } else {
        chattr("-i") && chmod(0o644)
    }
}

#[test]
fn a_database_made_read_only_mid_run_loses_nothing_once_writable_again() {
    let dir = TempDir::new("readonly");
    let tracer = SessionTracer::builder()
        .sink(
            SqliteSink::open(dir.db())
                .unwrap()
                .busy_timeout(Duration::from_millis(20))
                .unwrap(),
        )
        .close_timeout(Duration::from_millis(100))
        .build();
    let before = rich_session(&tracer);
    tracer.flush().unwrap();

    // Not the `-shm` file: SQLite maps it into memory, and an unwritable mapping is a
    // SIGBUS, not an error — nothing makes a live shared-memory file read-only in practice.
    let files: Vec<PathBuf> = ["", "-wal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", dir.db().display())))
        .filter(|p| p.exists())
        .collect();
    let locked: Vec<&PathBuf> = files.iter().filter(|file| set_read_only(file, true)).collect();
    assert_eq!(locked.len(), files.len(), "this test needs chmod, or chattr as root");
    let during: Vec<SessionTrace> = (0..3).map(|_| rich_session(&tracer)).collect();
    let refused = tracer.flush();
    for file in &files {
        assert!(set_read_only(file, false));
    }
    assert!(refused.is_err(), "writes to a read-only database fail");
    assert!(tracer.stats().write_errors > 0);

    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    for trace in std::iter::once(&before).chain(&during) {
        assert_eq!(store.get(&trace.session_id).unwrap().as_ref(), Some(trace));
    }
}

#[test]
fn sessions_are_named_by_a_prefix_and_summaries_carry_tokens_reward_and_duration() {
    let dir = TempDir::new("prefixes");
    let tracer = tracer_for(&dir.db());
    for id in ["alpha-1", "alpha-2", "beta"] {
        let session = tracer.start_session_with_id(id);
        session
            .record_event(
                Event::builder(EventKind::Llm, "agent", "complete")
                    .metadata("gen_ai.usage.input_tokens", 12)
                    .metadata("gen_ai.usage.output_tokens", 5),
            )
            .unwrap();
        // An agent's event that reports the sum of its model calls (as rig's spans do): the
        // tokens are the LLM calls', counted once.
        session
            .record_event(Event::builder(EventKind::Agent, "agent", "run").metadata("gen_ai.usage.input_tokens", 12))
            .unwrap();
        if id == "beta" {
            session.record_reward(Reward::outcome("solved", 0.5)).unwrap();
        }
        session.end().unwrap();
        std::thread::sleep(Duration::from_millis(3));
    }
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    assert_eq!(store.resolve("alpha-2").unwrap(), "alpha-2");
    assert_eq!(store.resolve("be").unwrap(), "beta");
    match store.resolve("alpha") {
        Err(StoreError::AmbiguousSession {
            prefix,
            candidates,
            path,
        }) => {
            assert_eq!(
                (prefix.as_str(), candidates),
                ("alpha", vec!["alpha-1".to_owned(), "alpha-2".to_owned()])
            );
            assert_eq!(path, dir.db());
        }
        other => panic!("{other:?}"),
    }
    let missing = store.resolve("gamma").unwrap_err();
    assert!(matches!(&missing, StoreError::NoSuchSession { id, .. } if id == "gamma"));
    assert!(missing.to_string().ends_with("no session gamma"), "{missing}");
    assert_eq!(store.latest().unwrap().as_deref(), Some("beta"));

    let listed = store.list(&TraceFilter::default()).unwrap();
    let beta = &listed[0];
    assert_eq!(
        (beta.tokens.input, beta.tokens.output, beta.outcome_reward),
        (12, 5, 0.5)
    );
    assert!(beta.duration().is_some());
    assert_eq!(beta.tokens_by_model["(unknown)"].calls, 1);

    let empty = TempDir::new("prefixes-empty");
    drop(SqliteSink::open(empty.db()).unwrap());
    assert_eq!(TraceStore::open(empty.db()).unwrap().latest().unwrap(), None);
}

#[test]
fn users_names_and_tags_are_stored_streamed_and_filtered_on() {
    let dir = TempDir::new("labels");
    let tracer = tracer_for(&dir.db());
    let running = tracer.start_session_with_id("running");
    running.set_user("ada");
    running.add_tag("prod");
    running
        .record_event(Event::builder(EventKind::Tool, "agent", "search"))
        .unwrap();
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let live = store
        .list(&TraceFilter {
            user: Some("ada".into()),
            ..TraceFilter::default()
        })
        .unwrap();
    assert_eq!(
        live.len(),
        1,
        "a running session's user is in the store as soon as its events are"
    );
    assert_eq!(
        (live[0].user.as_deref(), live[0].tags.clone()),
        (Some("ada"), vec!["prod".to_owned()])
    );

    running.set_name("the long one");
    running.add_tag("beta");
    running.end().unwrap();
    for (id, user, failing) in [("b", "bob", false), ("c", "ada", true)] {
        let session = tracer.start_session_with_id(id);
        session.set_user(user);
        session.add_tag("prod");
        let event = Event::builder(EventKind::Tool, "agent", "search");
        let event = if failing {
            event.outcome(agent_trace::Outcome::Err)
        } else {
            event
        };
        session.record_event(event).unwrap();
        session.end().unwrap();
    }
    tracer.flush().unwrap();
    let trace = store.get("running").unwrap().unwrap();
    assert_eq!(
        (trace.user.as_deref(), trace.name.as_deref(), trace.tags.clone()),
        (
            Some("ada"),
            Some("the long one"),
            vec!["prod".to_owned(), "beta".to_owned()]
        )
    );
    let ids = |filter: TraceFilter| -> Vec<String> {
        let mut ids: Vec<String> = store.list(&filter).unwrap().into_iter().map(|s| s.session_id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(TraceFilter {
            user: Some("ada".into()),
            ..TraceFilter::default()
        }),
        ["c", "running"]
    );
    assert_eq!(
        ids(TraceFilter {
            tag: Some("beta".into()),
            ..TraceFilter::default()
        }),
        ["running"]
    );
    assert_eq!(
        ids(TraceFilter {
            tag: Some("prod".into()),
            ..TraceFilter::default()
        }),
        ["b", "c", "running"]
    );
    assert_eq!(
        ids(TraceFilter {
            name: Some("the long one".into()),
            ..TraceFilter::default()
        }),
        ["running"]
    );
    assert_eq!(
        ids(TraceFilter {
            has_errors: Some(true),
            ..TraceFilter::default()
        }),
        ["c"]
    );
    assert_eq!(
        ids(TraceFilter {
            has_errors: Some(false),
            ..TraceFilter::default()
        }),
        ["b", "running"]
    );
    assert!(
        ids(TraceFilter {
            min_duration: Some(Duration::from_secs(3600)),
            ..TraceFilter::default()
        })
        .is_empty()
    );
    assert_eq!(
        ids(TraceFilter {
            max_duration: Some(Duration::from_secs(3600)),
            ..TraceFilter::default()
        })
        .len(),
        3
    );

    // After the end, nothing changes them.
    let ended = tracer.start_session();
    ended.end().unwrap();
    ended.set_user("late");
    ended.add_tag("late");
    assert!(tracer.stats().rejected_after_end >= 2);
}

#[test]
fn a_version_two_store_is_migrated_and_gains_users_names_and_tags() {
    let dir = TempDir::new("version-two");
    let trace = rich_session(&tracer_for(&dir.db()));
    // Make the file what version 2 wrote: no labels' columns, no tags' table.
    let connection = rusqlite::Connection::open(dir.db()).unwrap();
    connection
        .execute_batch(&format!(
            "{UNDO_SINCE_VERSION_FOUR} DROP INDEX sessions_by_user; DROP TABLE session_tags; ALTER TABLE sessions DROP COLUMN user_id; \
             ALTER TABLE sessions DROP COLUMN name; ALTER TABLE sessions DROP COLUMN tags; PRAGMA user_version = 2;"
        ))
        .unwrap();
    drop(connection);

    let tracer = tracer_for(&dir.db()); // migrates
    let store = TraceStore::open(dir.db()).unwrap();
    assert_eq!(
        store.get(&trace.session_id).unwrap(),
        Some(trace.clone()),
        "read as before"
    );
    let session = tracer.start_session();
    session.set_user("ada");
    let id = session.id().to_owned();
    session.end().unwrap();
    tracer.flush().unwrap();
    assert_eq!(store.get(&id).unwrap().unwrap().user.as_deref(), Some("ada"));
    let version: i64 = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

fn llm_call(model: &str, input: u64, cached: u64, output: u64) -> agent_trace::EventBuilder {
    Event::builder(EventKind::Llm, "agent", "complete")
        .metadata("gen_ai.request.model", model)
        .metadata("gen_ai.usage.input_tokens", input)
        .metadata("gen_ai.usage.cache_read.input_tokens", cached)
        .metadata("gen_ai.usage.output_tokens", output)
}

#[test]
fn token_totals_by_model_and_their_cost_are_stored_ordered_on_and_priced_at_read() {
    use agent_trace::store::Order;
    use agent_trace::{ModelPrice, Pricing};
    let dir = TempDir::new("totals");
    let pricing = Pricing::new()
        .model(
            "big",
            ModelPrice::per_million(10.0, 30.0).unwrap().cached_input(1.0).unwrap(),
        )
        .model("small", ModelPrice::per_million(0.5, 1.5).unwrap());
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap().pricing(pricing.clone()))
        .build();
    let running = tracer.start_session_with_id("running");
    running.record_event(llm_call("small", 1000, 0, 100)).unwrap();
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let live = &store.list(&TraceFilter::default()).unwrap()[0];
    assert_eq!(
        (live.tokens.input, live.tokens.output, live.cost),
        (1000, 100, None),
        "counted as events land"
    );

    let costly = tracer.start_session_with_id("costly");
    costly
        .record_event(llm_call("big-2026-01", 2_000_000, 1_000_000, 100_000))
        .unwrap();
    costly.record_event(llm_call("small", 1_000_000, 0, 0)).unwrap();
    let costly = costly.end().unwrap();
    let wordy = tracer.start_session_with_id("wordy");
    wordy.record_event(llm_call("small", 9_000_000, 0, 1_000_000)).unwrap();
    wordy.end().unwrap();
    let unpriced = tracer.start_session_with_id("unpriced");
    unpriced.record_event(llm_call("mystery", 10, 0, 10)).unwrap();
    unpriced.end().unwrap();
    running.end().unwrap();
    tracer.flush().unwrap();

    // In memory, and as stored: by model (a dated model priced by its family's name).
    let totals = costly.totals().priced(&pricing);
    let expected = (1_000_000.0 * 10.0 + 1_000_000.0 * 1.0 + 100_000.0 * 30.0) / 1e6 + 0.5;
    assert!((totals.cost.unwrap() - expected).abs() < 1e-9, "{totals:?}");
    assert_eq!(totals.by_model["big-2026-01"].cached_input, 1_000_000);
    let listed = store.list(&TraceFilter::default()).unwrap();
    let summary = |id: &str| listed.iter().find(|s| s.session_id == id).unwrap().clone();
    assert_eq!(summary("costly").tokens, totals.tokens);
    assert_eq!(summary("costly").tokens_by_model, totals.by_model);
    assert!((summary("costly").cost.unwrap() - expected).abs() < 1e-9);
    assert_eq!(
        summary("unpriced").cost,
        None,
        "a model without a price leaves the cost unknown"
    );
    assert_eq!(summary("running").cost, Some(0.5e-3 + 1.5e-4), "priced at its end");

    let order = |order: Order| -> Vec<String> {
        store
            .list(&TraceFilter {
                order,
                ..TraceFilter::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    assert_eq!(order(Order::Cost), ["costly", "wordy", "running", "unpriced"]);
    assert_eq!(order(Order::Tokens)[..2], ["wordy", "costly"]);
    assert_eq!(order(Order::Duration).len(), 4);

    // Priced again at read time, with other prices.
    let cheap = Pricing::new().model("", ModelPrice::per_million(0.0, 0.0).unwrap());
    let repriced = TraceStore::open(dir.db()).unwrap().pricing(cheap);
    assert!(
        repriced
            .list(&TraceFilter::default())
            .unwrap()
            .iter()
            .all(|s| s.cost == Some(0.0))
    );
    assert!(
        ModelPrice::per_million(-1.0, 0.0)
            .unwrap_err()
            .to_string()
            .contains("not -1")
    );
    assert!(ModelPrice::per_million(1.0, f64::NAN).is_err());
}

#[test]
fn a_version_three_store_gets_its_token_totals_when_migrated() {
    let dir = TempDir::new("version-three");
    let tracer = tracer_for(&dir.db());
    let session = tracer.start_session_with_id("old");
    session.record_event(llm_call("small", 40, 10, 4)).unwrap();
    // An agent's event with the sum of its calls' usage: not counted again.
    let agent = Event::builder(EventKind::Agent, "agent", "run").metadata("gen_ai.usage.input_tokens", 40);
    session.record_event(agent).unwrap();
    session.end().unwrap();
    tracer.flush().unwrap();
    drop(tracer);
    let connection = rusqlite::Connection::open(dir.db()).unwrap();
    connection
        .execute_batch(&format!("{UNDO_SINCE_VERSION_FOUR} PRAGMA user_version = 3;"))
        .unwrap();
    drop(connection);
    drop(SqliteSink::open(dir.db()).unwrap()); // migrates
    let summary = &TraceStore::open(dir.db())
        .unwrap()
        .list(&TraceFilter::default())
        .unwrap()[0];
    assert_eq!(
        (summary.tokens.input, summary.tokens.cached_input, summary.tokens.output),
        (40, 10, 4)
    );
    assert_eq!(summary.tokens_by_model["small"].calls, 1);
}

const SCORER_DB: &str = "AGENT_TRACE_SCORER_DB";

#[test]
fn scores_are_given_while_a_session_runs_and_after_from_another_process() {
    use agent_trace::{Score, ScoreSource, ScoreValue};
    if support::is_child("scores_are_given_while_a_session_runs_and_after_from_another_process") {
        // The child: a reviewer scoring sessions while the parent's tracer writes.
        let db = std::env::var(SCORER_DB).unwrap();
        let store = TraceStore::open_writable(&db).unwrap();
        for round in 0..40 {
            let score = Score::number("review", f64::from(round), ScoreSource::Human).comment(format!("round {round}"));
            store.add_score("scored", None, score).unwrap();
        }
        return;
    }
    let dir = TempDir::new("scores");
    let tracer = tracer_for(&dir.db());
    let session = tracer.start_session_with_id("scored");
    let call = session
        .record_event(Event::builder(EventKind::Tool, "agent", "search"))
        .unwrap();
    session
        .record_score(Score::label("format", "valid", ScoreSource::Code).for_event(call))
        .unwrap();
    let refused = session
        .record_score(Score::number("accuracy", f64::NAN, ScoreSource::Code))
        .unwrap_err();
    assert!(refused.to_string().contains("must be finite"), "{refused}");
    let refused = session
        .record_score(Score::number("accuracy", 1.0, ScoreSource::Code).for_event(99))
        .unwrap_err();
    assert!(refused.to_string().contains("event 99"), "{refused}");
    let ended = session.end().unwrap();
    tracer.flush().unwrap();

    // Another process scores the ended session while this one goes on writing sessions.
    let mut child = support::spawn_child(
        "scores_are_given_while_a_session_runs_and_after_from_another_process",
        &[(SCORER_DB, dir.db().as_os_str())],
    );
    for index in 0..40 {
        let other = tracer.start_session_with_id(format!("busy-{index}"));
        other
            .record_event(Event::builder(EventKind::Tool, "agent", "search"))
            .unwrap();
        other.end().unwrap();
    }
    tracer.flush().unwrap();
    let output = child.wait().unwrap();
    assert!(output.success(), "the scoring process failed");

    let store = TraceStore::open_writable(dir.db()).unwrap();
    store
        .add_score(
            "scor",
            Some(call),
            Score::number("relevance", 0.75, ScoreSource::Evaluator),
        )
        .unwrap();
    let trace = store.get("scored").unwrap().unwrap();
    assert_eq!(trace.scores.len(), 1 + 40 + 1, "nothing lost: {:?}", trace.scores.len());
    assert_eq!(trace.scores[0].value, ScoreValue::Label("valid".into()));
    assert_eq!(trace.scores[0].event, Some(call));
    let reviews: Vec<f64> = trace
        .scores
        .iter()
        .filter(|s| s.name == "review")
        .filter_map(|s| s.value.as_number())
        .collect();
    assert_eq!(reviews, (0..40).map(f64::from).collect::<Vec<_>>());
    assert_eq!(trace.scores.last().unwrap().source, ScoreSource::Evaluator);

    // The session's end written again (a repeated end record) keeps the later scores.
    use agent_trace::sink::Sink as _;
    SqliteSink::open(dir.db()).unwrap().write_session(&ended).unwrap();
    assert_eq!(store.get("scored").unwrap().unwrap().scores.len(), 42);
    assert_eq!(
        store
            .list(&TraceFilter::default().min_score("review", 39.0))
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .list(&TraceFilter::default().min_score("review", 40.0))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list(&TraceFilter::default().min_score("relevance", 0.0))
            .unwrap()
            .is_empty(),
        "an event's score is not the session's"
    );

    // What cannot be scored says why, naming the store and the session.
    let bad = store
        .add_score("scored", Some(999), Score::number("x", 1.0, ScoreSource::Human))
        .unwrap_err();
    assert!(
        bad.to_string()
            .contains("session scored: the score is refused: it has no event 999"),
        "{bad}"
    );
    let nameless = store
        .add_score("scored", None, Score::number(" ", 1.0, ScoreSource::Human))
        .unwrap_err();
    assert!(nameless.to_string().contains("a score needs a name"), "{nameless}");
    assert!(matches!(
        store.add_score("nobody", None, Score::number("x", 1.0, ScoreSource::Human)),
        Err(StoreError::NoSuchSession { .. })
    ));
    let read_only =
        TraceStore::open(dir.db())
            .unwrap()
            .add_score("scored", None, Score::number("x", 1.0, ScoreSource::Human));
    assert!(matches!(read_only, Err(StoreError::ReadOnly { .. })));

    // Over OTLP: evaluation results on the span they judge.
    let spans = agent_trace::otel::session_spans(&trace);
    let on_call = spans.iter().find(|s| s.name == "execute_tool search").unwrap();
    let evaluations: Vec<_> = on_call
        .events
        .iter()
        .filter(|e| e.name == "gen_ai.evaluation.result")
        .collect();
    assert_eq!(evaluations.len(), 2);
    assert!(evaluations.iter().any(|e| e.attributes.contains(&(
        "gen_ai.evaluation.score.label".into(),
        agent_trace::otel::AttributeValue::String("valid".into())
    ))));
    let on_session = spans[0]
        .events
        .iter()
        .filter(|e| e.name == "gen_ai.evaluation.result")
        .count();
    assert_eq!(on_session, 40);
    assert!(
        trace
            .display_tree()
            .to_string()
            .contains("◆ relevance=0.75 (evaluator)")
    );
}
