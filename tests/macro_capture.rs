//! How traced functions capture values — including values that fight back — and how their
//! calls end: panics, cancellation, concurrency, and no scope at all.

mod support;

use std::time::Duration;

use agent_trace::{
    CapturePolicy, EventKind, Outcome, SessionTracer, TracerContext, assert_parity, trace_agent, trace_tool_call,
};
use serde_json::json;
use support::{only_event, traced, traced_async};

#[derive(Debug)]
struct DebugOnly {
    hp: u8,
}

struct Neither;

#[trace_agent]
fn three_kinds(serialized: Vec<u8>, debugged: DebugOnly, opaque: Neither) -> u8 {
    let Neither = opaque;
    serialized.len() as u8 + debugged.hp
}

#[test]
fn serialize_then_debug_then_type_name() {
    let (_, trace) = traced(|| three_kinds(vec![1, 2], DebugOnly { hp: 3 }, Neither));
    let inputs = &only_event(&trace).inputs;
    assert_eq!(inputs["serialized"], json!([1, 2]));
    assert_eq!(inputs["debugged"], json!("DebugOnly { hp: 3 }"));
    assert_eq!(inputs["opaque"], json!("<macro_capture::Neither>"));
}

struct FailingSerialize;

impl serde::Serialize for FailingSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot serialize a socket"))
    }
}

struct PanickingSerialize;

impl serde::Serialize for PanickingSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("serialize bug")
    }
}

#[trace_tool_call]
fn hostile(
    failing: FailingSerialize,
    panicking: PanickingSerialize,
    nan: f64,
    huge: String,
    bytes: Vec<u8>,
    os: std::ffi::OsString,
) -> usize {
    let _ = (failing, panicking, nan, bytes, os);
    huge.len()
}

#[test]
fn hostile_values_become_markers_and_the_call_still_runs() {
    let huge = "x".repeat(100 * 1024 * 1024);
    #[cfg(unix)]
    let os = std::os::unix::ffi::OsStringExt::from_vec(vec![0xff, 0xfe, b'a']);
    #[cfg(not(unix))]
    let os = std::ffi::OsString::from("a");
    let (len, trace) = traced(|| {
        hostile(
            FailingSerialize,
            PanickingSerialize,
            f64::NAN,
            huge,
            vec![0xff, 0xc3, 0x28],
            os,
        )
    });
    assert_eq!(len, 100 * 1024 * 1024, "the call ran and returned normally");

    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(
        event.inputs["failing"],
        json!({"$unserializable": "cannot serialize a socket"})
    );
    assert!(
        event.inputs["panicking"]["$unserializable"]
            .as_str()
            .unwrap()
            .contains("serialize bug")
    );
    assert_eq!(event.inputs["nan"], json!(null));
    let cut = &event.inputs["huge"];
    assert_eq!(cut["$truncated"], json!(true));
    assert_eq!(
        cut["len"],
        json!(100 * 1024 * 1024 + 2),
        "the length of the whole JSON text"
    );
    assert_eq!(cut["head"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(event.inputs["bytes"], json!([0xff, 0xc3, 0x28]));
    assert!(
        event.inputs["os"].is_object() || event.inputs["os"].is_string(),
        "{}",
        event.inputs["os"]
    );
    assert_eq!(event.output, Some(json!(100 * 1024 * 1024)));
}

#[trace_tool_call]
fn login(user: &str, api_key: &str, config: serde_json::Value) -> bool {
    !user.is_empty() && !api_key.is_empty() && config.is_object()
}

#[test]
fn secrets_are_redacted_by_argument_name_and_at_any_depth() {
    let config = json!({"endpoint": "local", "auth": {"Password": "hunter2", "retries": 2}});
    let (_, trace) = traced(|| login("ada", "sk-123", config));
    let inputs = &trace.events[0].inputs;
    assert_eq!(inputs["user"], json!("ada"));
    assert_eq!(inputs["api_key"], json!("[REDACTED]"));
    assert_eq!(
        inputs["config"],
        json!({"endpoint": "local", "auth": {"Password": "[REDACTED]", "retries": 2}})
    );
    let message_args = &trace.messages[0].content["args"];
    assert_eq!(
        message_args["api_key"],
        json!("[REDACTED]"),
        "the tool_call message carries the redacted arguments"
    );
}

#[test]
fn the_tracers_capture_policy_applies() {
    let tracer = SessionTracer::builder()
        .capture(CapturePolicy::default().max_value_bytes(8).redact_key("user"))
        .build();
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| login("ada", "k", json!({"list": [1, 2, 3, 4, 5]})));
    let inputs = &session.end().unwrap().events[0].inputs;
    assert_eq!(inputs["user"], json!("[REDACTED]"));
    assert_eq!(
        inputs["config"],
        json!({"$truncated": true, "len": 20, "head": "{\"list\":"})
    );
}

#[trace_agent]
fn panics_sync(turn: u32) -> u32 {
    if turn > 1 {
        panic!("turn {turn} is too late");
    }
    turn
}

#[test]
fn a_panic_is_recorded_with_its_message_and_keeps_unwinding() {
    let session = SessionTracer::default().start_session();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        TracerContext::new(&session).sync_scope(|| panics_sync(2))
    }));
    let payload = result.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("turn 2 is too late")
    );
    let trace = session.end().unwrap();
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Panicked);
    assert_eq!(
        event.error.as_ref().map(|e| (e.kind.as_str(), e.message.as_str())),
        Some(("panic", "turn 2 is too late"))
    );
    assert_eq!(trace.status, agent_trace::SessionStatus::Error);
}

#[trace_agent]
async fn panics_async() -> u32 {
    tokio::task::yield_now().await;
    panic!("async failure")
}

#[tokio::test]
async fn an_async_panic_is_recorded_too() {
    let session = SessionTracer::default().start_session();
    let task = tokio::spawn(TracerContext::new(&session).scope(panics_async()));
    assert!(task.await.unwrap_err().is_panic());
    let trace = session.end().unwrap();
    assert_eq!(only_event(&trace).outcome, Outcome::Panicked);
    assert_eq!(only_event(&trace).error.as_ref().unwrap().message, "async failure");
}

#[trace_tool_call]
async fn slow_tool(seconds: u64) -> u64 {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    seconds
}

#[trace_agent]
async fn act_with_timeout() -> Option<u64> {
    tokio::time::timeout(Duration::from_millis(20), slow_tool(60))
        .await
        .ok()
}

#[tokio::test]
async fn a_future_dropped_by_a_timeout_is_cancelled() {
    let (value, trace) = traced_async(act_with_timeout()).await;
    assert_eq!(value, None);
    let [act, tool] = &trace.events[..] else {
        panic!("two events expected")
    };
    assert_eq!((act.outcome, act.output.clone()), (Outcome::Ok, Some(json!(null))));
    assert_eq!(
        (tool.outcome, tool.output.clone(), tool.error.clone()),
        (Outcome::Cancelled, None, None)
    );
    assert_eq!(tool.parent, Some(act.id));
    assert!(tool.duration >= Duration::from_millis(20));
    assert!(trace.messages.is_empty() || trace.messages[0].content["result"].is_null());
}

#[trace_tool_call]
async fn leaf(label: &'static str, delay_ms: u64) -> &'static str {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    label
}

#[trace_agent]
async fn branch(label: &'static str, delay_ms: u64) -> &'static str {
    leaf(label, delay_ms).await;
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    leaf(label, 0).await
}

#[trace_agent]
async fn fan_out() -> (&'static str, &'static str) {
    tokio::join!(branch("a", 3), branch("b", 1))
}

#[tokio::test]
async fn concurrent_branches_of_one_task_keep_their_own_parents() {
    let (_, trace) = traced_async(fan_out()).await;
    let by_id = |id: u64| trace.events.iter().find(|e| e.id == id).unwrap();
    let root = &trace.events[0];
    assert_eq!(root.name, "fan_out");
    for event in &trace.events[1..] {
        let parent = by_id(event.parent.expect("everything under fan_out"));
        match event.name.as_str() {
            "branch" => assert_eq!(parent.id, root.id),
            "leaf" => {
                assert_eq!(parent.name, "branch");
                assert_eq!(
                    parent.inputs["label"], event.inputs["label"],
                    "a leaf sits under its own branch"
                );
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(trace.events.len(), 7);
}

#[trace_agent]
async fn spawns_work() -> u32 {
    let handle = agent_trace::spawn(async { leaf("spawned", 1).await.len() as u32 });
    handle.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_spawned_with_the_context_records_under_the_spawning_call() {
    let (value, trace) = traced_async(spawns_work()).await;
    assert_eq!(value, 7);
    assert_eq!(trace.events[1].parent, Some(trace.events[0].id));
}

#[test]
fn outside_a_scope_traced_functions_behave_like_the_original_and_record_nothing() {
    let tracer = SessionTracer::default();
    assert_eq!(three_kinds(vec![1], DebugOnly { hp: 1 }, Neither), 2);
    assert!(std::panic::catch_unwind(|| panics_sync(5)).is_err());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(branch("z", 0)), "z");
    assert_eq!(tracer.stats().events_recorded, 0);
}

#[trace_tool_call]
fn lookup(key: &str) -> Result<u32, std::io::Error> {
    key.parse::<u32>().map_err(std::io::Error::other)
}

fn lookup_by_hand(session: &agent_trace::Session, key: &str) -> Result<u32, std::io::Error> {
    let mut span = session.enter(EventKind::Tool, "agent", "lookup");
    span.record_input("key", key);
    let result = key.parse::<u32>().map_err(std::io::Error::other);
    let tool_result = match &result {
        Ok(value) => {
            span.finish_ok(value).unwrap();
            json!(value)
        }
        Err(error) => {
            let record = agent_trace::ErrorRecord::from_error(error);
            span.finish_err(record.clone()).unwrap();
            json!(record)
        }
    };
    let content = json!({"tool": "lookup", "args": {"key": key}, "result": tool_result});
    session
        .record_message(agent_trace::Message::new("agent", "environment", "tool_call", content))
        .unwrap();
    result
}

#[test]
fn a_macro_traced_call_is_at_parity_with_the_same_call_traced_by_hand() {
    let (_, decorated) = traced(|| (lookup("12"), lookup("twelve")));
    let session = SessionTracer::default().start_session();
    let _ = TracerContext::new(&session)
        .sync_scope(|| (lookup_by_hand(&session, "12"), lookup_by_hand(&session, "twelve")));
    let manual = session.end().unwrap();
    assert_parity!(manual, decorated);
}
