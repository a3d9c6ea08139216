//! The `tracing` bridge: spans and events of code that uses `tracing` appear in the session,
//! under the traced call they ran in, with traced calls inside them under them.
#![cfg(feature = "tracing")]

use agent_trace::{EventKind, SessionTrace, SessionTracer, TracerContext, TracingLayer, trace_agent, trace_tool_call};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

#[trace_tool_call]
fn parse(body: &str) -> usize {
    body.len()
}

#[tracing::instrument(skip(body))]
fn fetch(url: &str, body: &str) -> usize {
    tracing::info!(status = 200, "fetched {url}");
    parse(body)
}

#[trace_agent]
fn decide(turn: u32) -> usize {
    fetch("http://localhost/state", if turn == 0 { "{}" } else { "{\"hp\": 3}" })
}

fn event<'a>(trace: &'a SessionTrace, name: &str) -> &'a agent_trace::Event {
    trace
        .events
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no event {name}: {:#?}", trace.events))
}

#[test]
fn an_instrumented_function_called_from_a_traced_one_is_recorded_in_between() {
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new());
    let session = SessionTracer::default().start_session();
    let total = tracing::subscriber::with_default(subscriber, || {
        TracerContext::new(&session).sync_scope(|| decide(0) + decide(1))
    });
    assert_eq!(total, 2 + 9);
    let trace = session.end().unwrap();
    assert_eq!(trace.events.len(), 8, "{:#?}", trace.events);

    let (decide, fetch, log, parse) = (&trace.events[0], &trace.events[1], &trace.events[2], &trace.events[3]);
    assert_eq!(
        (decide.name.as_str(), fetch.name.as_str(), parse.name.as_str()),
        ("decide", "fetch", "parse")
    );
    assert_eq!(
        (fetch.kind.clone(), fetch.system_id.as_str()),
        (EventKind::Runtime, "tracing")
    );
    assert_eq!(
        fetch.parent,
        Some(decide.id),
        "the span sits under the traced call it ran in"
    );
    assert_eq!(fetch.inputs["url"], json!("http://localhost/state"));
    assert!(!fetch.inputs.contains_key("body"), "skipped fields stay skipped");
    assert!(fetch.module_path.ends_with("tracing_bridge"), "{}", fetch.module_path);
    assert!(fetch.duration > std::time::Duration::ZERO);

    assert_eq!(log.kind, EventKind::Custom("tracing".into()));
    assert_eq!(log.name, "fetched http://localhost/state");
    assert_eq!(log.parent, Some(fetch.id));
    assert_eq!(log.inputs["status"], json!(200));
    assert_eq!(log.metadata["level"], json!("INFO"));

    assert_eq!(
        parse.parent,
        Some(fetch.id),
        "a traced call inside the span sits under it"
    );
    assert_eq!(event(&trace, "parse").inputs["body"], json!("{}"));
}

#[tracing::instrument]
async fn wait_and_log(label: &'static str) -> &'static str {
    tokio::task::yield_now().await;
    tracing::warn!("{label} waited");
    parse(label);
    label
}

#[trace_agent]
async fn fan_out() -> (&'static str, &'static str) {
    tokio::join!(wait_and_log("a"), wait_and_log("b"))
}

#[test]
fn spans_of_concurrent_futures_keep_their_own_children() {
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new());
    let session = SessionTracer::default().start_session();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(TracerContext::new(&session).scope(fan_out()))
    });
    let trace = session.end().unwrap();
    let by_id = |id: u64| trace.events.iter().find(|e| e.id == id).unwrap();
    let children: Vec<_> = trace
        .events
        .iter()
        .filter(|e| e.name == "parse" || e.kind == EventKind::Custom("tracing".into()))
        .collect();
    assert_eq!(
        children.len(),
        4,
        "a parse and a warning under each span: {:#?}",
        trace.events
    );
    for child in trace
        .events
        .iter()
        .filter(|e| e.name == "parse" || e.kind == EventKind::Custom("tracing".into()))
    {
        let span = by_id(child.parent.expect("under a span"));
        assert_eq!(span.name, "wait_and_log");
        let label = span.inputs["label"].as_str().unwrap();
        assert!(
            child
                .inputs
                .values()
                .any(|v| v.as_str().is_some_and(|s| s.starts_with(label)))
                || child.name.starts_with(label),
            "{child:?} under {span:?}"
        );
    }
    assert_eq!(trace.events.iter().filter(|e| e.name == "wait_and_log").count(), 2);
}

#[test]
fn outside_a_scope_the_layer_records_nothing() {
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new());
    let tracer = SessionTracer::default();
    let total = tracing::subscriber::with_default(subscriber, || decide(0));
    assert_eq!(total, 2);
    assert_eq!(tracer.stats().events_recorded, 0);
}
