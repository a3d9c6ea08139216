//! A session as OpenTelemetry spans: the tree, the kinds of both conventions, token counts,
//! errors, cancellation, messages and rewards — on a real episode of the example agent.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use std::collections::BTreeSet;

use agent_trace::otel::{AttributeValue, SpanRecord, SpanStatus, session_spans, trace_id};
use agent_trace::{Reward, SessionTrace, SessionTracer, TracerContext};

fn episode() -> SessionTrace {
    let session = SessionTracer::default().start_session();
    session.set_metadata("seed", 3);
    let mut config = agent::EpisodeConfig::new(3, 12);
    config.faults = agent::Faults {
        tool_error_turn: Some(1),
        tool_panic_turn: Some(3),
        slow_step: Some(2),
        env_error_step: None,
    };
    config.step_timeout = std::time::Duration::from_millis(20);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime
        .block_on(TracerContext::new(&session).try_scope(agent::run_episode(&config)))
        .unwrap();
    session.record_reward(Reward::outcome("goal_reached", 1.0)).unwrap();
    session.end().unwrap()
}

fn text(span: &SpanRecord, key: &str) -> String {
    match span.attribute(key) {
        Some(AttributeValue::String(s)) => s.clone(),
        other => panic!("{key} on {}: {other:?}", span.name),
    }
}

#[test]
fn a_session_maps_to_one_tree_of_spans_with_both_conventions() {
    let trace = episode();
    let spans = session_spans(&trace);
    assert_eq!(spans.len(), 1 + trace.timesteps.len() + trace.events.len());
    assert_eq!(spans, session_spans(&trace), "the same session, the same spans");

    let root = &spans[0];
    assert_eq!((root.name.as_str(), root.parent_span_id), ("session", None));
    assert_eq!(text(root, "session.id"), trace.session_id);
    assert_eq!(root.attribute("metadata.seed"), Some(&AttributeValue::Int(3)));
    assert_eq!(
        root.status,
        SpanStatus::Error("the session failed".into()),
        "tool failures make the session an error"
    );
    assert!(root.events.iter().any(|e| {
        e.name == "reward"
            && e.attributes
                .contains(&("reward.value".into(), AttributeValue::Float(1.0)))
    }));

    let uuid: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace.session_id.replace('-', "")[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert!(
        spans.iter().all(|s| s.trace_id[..] == uuid[..]),
        "a UUID session id is the trace id"
    );
    let ids: BTreeSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    assert!(
        spans[1..]
            .iter()
            .all(|s| s.parent_span_id.is_some_and(|p| ids.contains(&p))),
        "every parent exists"
    );
    assert!(spans.iter().all(|s| s.end >= s.start));

    let by_name = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    let span_of = |id: [u8; 8]| spans.iter().find(|s| s.span_id == id).unwrap();

    let llm = by_name("complete").next().unwrap();
    assert_eq!(text(llm, "openinference.span.kind"), "LLM");
    assert_eq!(text(llm, "gen_ai.operation.name"), "chat");
    assert_eq!(text(llm, "llm.model_name"), "scripted-policy");
    assert_eq!(text(llm, "gen_ai.request.model"), "scripted-policy");
    assert_eq!(text(llm, "gen_ai.provider.name"), "agent-trace-example");
    let tokens = |key| match llm.attribute(key) {
        Some(AttributeValue::Int(n)) => *n,
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(
        tokens("llm.token_count.total"),
        tokens("llm.token_count.prompt") + tokens("llm.token_count.completion")
    );
    assert_eq!(tokens("gen_ai.usage.input_tokens"), tokens("llm.token_count.prompt"));
    assert_eq!(span_of(llm.parent_span_id.unwrap()).name, "decide");

    let decide = by_name("decide").next().unwrap();
    assert_eq!(
        (
            text(decide, "openinference.span.kind"),
            text(decide, "gen_ai.operation.name")
        ),
        ("AGENT".into(), "invoke_agent".into())
    );
    assert_eq!(text(decide, "gen_ai.agent.name"), "agent");
    assert_eq!(span_of(decide.parent_span_id.unwrap()).name, "run_episode");
    assert_eq!(
        span_of(by_name("run_episode").next().unwrap().parent_span_id.unwrap()).name,
        "session"
    );

    let scan_error = by_name("scan")
        .find(|s| s.status != SpanStatus::Unset)
        .expect("the broken scanner");
    assert_eq!(
        (
            text(scan_error, "openinference.span.kind"),
            text(scan_error, "tool.name")
        ),
        ("TOOL".into(), "scan".into())
    );
    assert_eq!(text(scan_error, "gen_ai.tool.name"), "scan");
    assert!(text(scan_error, "error.type").ends_with("ToolError"));
    assert_eq!(
        scan_error.status,
        SpanStatus::Error("the scanner is broken on turn 1".into())
    );
    let panicked = by_name("plan_route")
        .find(|s| s.status != SpanStatus::Unset)
        .expect("the crashing planner");
    assert_eq!(text(panicked, "error.type"), "panic");

    let cancelled = by_name("step")
        .find(|s| s.attribute("cancelled").is_some())
        .expect("the hung step");
    assert_eq!(
        (cancelled.attribute("cancelled"), &cancelled.status),
        (Some(&AttributeValue::Bool(true)), &SpanStatus::Unset)
    );
    assert_eq!(text(cancelled, "openinference.span.kind"), "CHAIN");

    let reset = by_name("reset").next().unwrap();
    assert_eq!(text(reset, "input.value"), "{\"seed\":3}");
    assert_eq!(text(reset, "input.mime_type"), "application/json");
    assert!(text(reset, "output.value").starts_with('{'));

    let with_messages: usize = spans
        .iter()
        .map(|s| s.events.iter().filter(|e| e.name != "reward").count())
        .sum();
    assert_eq!(with_messages, trace.messages.len(), "every message is a span event");
    assert!(
        spans
            .iter()
            .filter(|s| s.name.starts_with("timestep"))
            .all(|s| s.parent_span_id == Some(root.span_id))
    );
}

#[test]
fn a_session_id_that_is_not_a_uuid_gets_a_stable_trace_id() {
    let id = trace_id("request-42");
    assert_eq!(id, trace_id("request-42"));
    assert_ne!(id, trace_id("request-43"));
    assert_ne!(id, [0; 16]);
}
