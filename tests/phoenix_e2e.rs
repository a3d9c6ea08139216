//! End to end against a real Arize Phoenix server: an episode of the example agent, with
//! its faults and its policy streaming, is exported by `OtlpSink` and read back through
//! Phoenix's REST API — span names, parent links, span kinds, token counts (cached ones
//! too), error statuses, the streamed calls' time to first chunk and output, and the
//! session's user and tags must match the session.
//!
//! `.ci/run` starts Phoenix (in a private network namespace) and sets
//! `AGENT_TRACE_PHOENIX_URL`. Outside CI the test is skipped, with a message, when that is
//! not set; in CI (`CI` set) a missing Phoenix fails it.
#![cfg(feature = "otlp")]

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

#[path = "support/phoenix.rs"]
mod phoenix;

use std::collections::HashMap;
use std::time::Duration;

use agent_trace::otel::{AttributeValue, SpanRecord, SpanStatus, session_spans};
use agent_trace::{EventKind, OtlpSink, SessionStatus, SessionTrace, SessionTracer, TracerContext};
use phoenix::{env_url, hex, phoenix_url, spans_in_phoenix};
use serde_json::Value;

/// An episode with a failing tool, a panicking tool and a cancelled environment step, its
/// policy answering as a stream, for a user with tags.
fn episode(tracer: &SessionTracer) -> SessionTrace {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = tracer.start_session();
    session.set_metadata("user.id", "ada");
    session.set_metadata("tags", serde_json::json!(["e2e", "streamed"]));
    let mut config = agent::EpisodeConfig::new(11, 8);
    config.stream = true;
    config.llm_latency = Duration::from_millis(2);
    config.faults = agent::Faults {
        tool_error_turn: Some(2),
        tool_panic_turn: Some(4),
        slow_step: Some(5),
        ..agent::Faults::default()
    };
    config.step_timeout = Duration::from_millis(30);
    let _ = runtime.block_on(TracerContext::new(&session).try_scope(agent::run_episode(&config)));
    session.end().unwrap()
}

fn int_attribute(record: &SpanRecord, key: &str) -> Option<i64> {
    match record.attribute(key) {
        Some(AttributeValue::Int(value)) => Some(*value),
        _ => None,
    }
}

#[test]
fn an_episode_exported_to_phoenix_reads_back_with_its_tree_kinds_tokens_and_errors() {
    let Some(base) = phoenix_url() else { return };
    let project = format!("agent-trace-e2e-{}", std::process::id());
    let sink = OtlpSink::builder()
        .endpoint(format!("{base}/v1/traces"))
        .project(&project);
    exported_episode_matches(&base, &project, sink.build().unwrap());
}

#[cfg(feature = "otlp-grpc")]
#[test]
fn the_same_over_grpc() {
    let (Some(base), Some(grpc)) = (phoenix_url(), env_url(phoenix::GRPC_URL_VAR)) else {
        return;
    };
    let project = format!("agent-trace-e2e-grpc-{}", std::process::id());
    let sink = OtlpSink::builder().grpc().endpoint(grpc).project(&project);
    exported_episode_matches(&base, &project, sink.build().unwrap());
}

/// Runs an episode into `sink` and compares what Phoenix (at `base`) has in `project`.
fn exported_episode_matches(base: &str, project: &str, sink: OtlpSink) {
    let tracer = SessionTracer::builder().sink(sink).build();
    let trace = episode(&tracer);
    tracer.flush().expect("every export was accepted");

    let expected = session_spans(&trace);
    let trace_id = hex(&expected[0].trace_id);
    let spans = spans_in_phoenix(base, project, &trace_id, expected.len());
    assert_eq!(spans.len(), expected.len(), "one span per session, timestep and event");
    let by_id: HashMap<&str, &Value> = spans
        .iter()
        .map(|span| (span["context"]["span_id"].as_str().unwrap(), span))
        .collect();

    for record in &expected {
        let span = by_id
            .get(hex(&record.span_id).as_str())
            .unwrap_or_else(|| panic!("span {} missing", record.name));
        assert_eq!(span["name"], record.name.as_str());
        assert_eq!(
            span["parent_id"].as_str(),
            record.parent_span_id.map(|id| hex(&id)).as_deref()
        );
        let Some(AttributeValue::String(kind)) = record.attribute("openinference.span.kind") else {
            panic!("every span has a kind")
        };
        assert_eq!(span["span_kind"], kind.as_str(), "{}", record.name);
        let error = matches!(record.status, SpanStatus::Error(_));
        assert_eq!(
            span["status_code"],
            if error { "ERROR" } else { "UNSET" },
            "{}",
            record.name
        );
        for key in [
            "llm.token_count.prompt",
            "llm.token_count.completion",
            "llm.token_count.total",
            "llm.token_count.prompt_details.cache_read",
            "gen_ai.usage.cache_read.input_tokens",
        ] {
            assert_eq!(
                span["attributes"][key].as_i64(),
                int_attribute(record, key),
                "{key} of {}",
                record.name
            );
        }
    }

    // And against the session itself, so that the mapping cannot agree with Phoenix by being empty.
    let count = |kind: &str| spans.iter().filter(|span| span["span_kind"] == kind).count();
    let llm_events = trace.events.iter().filter(|e| e.kind == EventKind::Llm).count();
    assert!(llm_events > 0);
    assert_eq!(count("LLM"), llm_events);
    assert_eq!(
        count("TOOL"),
        trace.events.iter().filter(|e| e.kind == EventKind::Tool).count()
    );
    assert_eq!(
        count("AGENT"),
        trace.events.iter().filter(|e| e.kind == EventKind::Agent).count()
    );
    let failed = trace.events.iter().filter(|e| e.outcome.is_failure()).count();
    assert!(failed >= 2, "the faults failed a tool and panicked one");
    let root_failed = usize::from(trace.status == SessionStatus::Error);
    assert_eq!(
        spans.iter().filter(|span| span["status_code"] == "ERROR").count(),
        failed + root_failed
    );
    let tokens: i64 = spans
        .iter()
        .filter_map(|span| span["attributes"]["llm.token_count.total"].as_i64())
        .sum();
    assert!(tokens > 0, "LLM spans carry token counts");
    let root = spans.iter().find(|span| span["parent_id"].is_null()).unwrap();
    assert_eq!(root["attributes"]["session.id"], trace.session_id.as_str());
    for span in &spans {
        assert_eq!(span["attributes"]["user.id"], "ada", "{}", span["name"]);
        assert_eq!(span["attributes"]["tag.tags"], serde_json::json!(["e2e", "streamed"]));
    }

    // The streamed LLM calls: named by the model, with their time to first chunk, their
    // chunks' text put together as the output, and the cached prompt tokens of later turns.
    let streamed: Vec<&Value> = spans.iter().filter(|span| span["span_kind"] == "LLM").collect();
    assert!(streamed.iter().all(|span| span["name"] == "chat scripted-policy"));
    for span in &streamed {
        let first = span["attributes"]["gen_ai.response.time_to_first_chunk"]
            .as_f64()
            .unwrap();
        assert!(first > 0.0, "{first}");
        assert_eq!(span["attributes"]["gen_ai.request.stream"], true);
        let output: Value = serde_json::from_str(span["attributes"]["output.value"].as_str().unwrap()).unwrap();
        assert!(output.as_str().unwrap().contains("\nAction: "), "{output}");
    }
    let cached: i64 = streamed
        .iter()
        .filter_map(|span| span["attributes"]["llm.token_count.prompt_details.cache_read"].as_i64())
        .sum();
    assert!(cached > 0, "later turns read the instructions from the cache");
    let scans = spans.iter().filter(|span| span["name"] == "execute_tool scan").count();
    assert_eq!(
        scans,
        trace.events.iter().filter(|e| e.name == "scan").count(),
        "a tool span is named by its tool"
    );
    assert!(scans > 0);
}
