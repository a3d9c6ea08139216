//! The rig agent's session, exported by `OtlpSink` to a real Arize Phoenix server and read
//! back through its REST API: one AGENT span named after the agent, an LLM span per model
//! turn with its token counts, a TOOL span per tool call, nested under the agent.
//!
//! `.ci/run` starts Phoenix and sets `AGENT_TRACE_PHOENIX_URL`; elsewhere the test is
//! skipped with a message (and fails in CI, `CI` set, when Phoenix is missing).
#![cfg(feature = "phoenix")]

use std::time::{Duration, Instant};

use agent_trace::otel::session_spans;
use agent_trace::{OtlpSink, SessionTracer, TracerContext, TracingLayer};
use agent_trace_rig_example::{TURN_USAGE, run_calc_agent};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

const URL_VAR: &str = "AGENT_TRACE_PHOENIX_URL";

fn phoenix_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) => Some(url.trim_end_matches('/').to_owned()),
        Err(_) if std::env::var_os("CI").is_some() => panic!("{URL_VAR} is not set: in CI, .ci/run sets it"),
        Err(_) => {
            eprintln!("skipped: set {URL_VAR} to a running Phoenix, or run .ci/run");
            None
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The trace's spans as Phoenix returns them, polled until all have been ingested.
fn spans_in_phoenix(base: &str, project: &str, trace_id: &str, expected: usize) -> Vec<Value> {
    let client = reqwest::blocking::Client::new();
    let url = format!("{base}/v1/projects/{project}/spans?trace_id={trace_id}&limit=1000");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        match client.get(&url).send() {
            Ok(response) if response.status().is_success() => {
                let body: Value = serde_json::from_str(&response.text().unwrap_or_default()).unwrap_or_default();
                let spans = body["data"].as_array().cloned().unwrap_or_default();
                if spans.len() >= expected {
                    return spans;
                }
                last = format!("{} of {expected} spans", spans.len());
            }
            Ok(response) => last = format!("HTTP {}", response.status()),
            Err(error) => last = error.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("Phoenix did not return the trace's spans within 15 s ({url}): {last}");
}

#[test]
fn the_rig_session_reads_back_from_phoenix_as_agent_llm_and_tool_spans() {
    let Some(base) = phoenix_url() else { return };
    let project = format!("agent-trace-rig-{}", std::process::id());
    let sink = OtlpSink::builder()
        .endpoint(format!("{base}/v1/traces"))
        .project(&project)
        .build()
        .unwrap();
    let tracer = SessionTracer::builder().sink(sink).build();
    let session = tracer.start_session();
    let layer = TracingLayer::new().with_max_level(tracing::Level::DEBUG);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        runtime.block_on(TracerContext::new(&session).scope(run_calc_agent(true)))
    })
    .unwrap();
    let trace = session.end().unwrap();
    tracer.flush().expect("every export was accepted");

    let expected = session_spans(&trace);
    let spans = spans_in_phoenix(&base, &project, &hex(&expected[0].trace_id), expected.len());
    assert_eq!(spans.len(), expected.len());
    let of_kind = |kind: &str| -> Vec<&Value> { spans.iter().filter(|span| span["span_kind"] == kind).collect() };

    let agents = of_kind("AGENT");
    let [agent] = agents[..] else {
        panic!("one agent span: {spans:#?}")
    };
    assert_eq!(
        agent["name"], "invoke_agent calc-agent",
        "named as the GenAI conventions name it"
    );

    let mut llm = of_kind("LLM");
    llm.sort_by_key(|span| span["start_time"].as_str().map(str::to_owned));
    assert_eq!(llm.len(), 3);
    for (span, (input, output)) in llm.iter().zip(TURN_USAGE) {
        assert_eq!(span["parent_id"], agent["context"]["span_id"]);
        assert_eq!(span["attributes"]["llm.token_count.prompt"].as_u64(), Some(input));
        assert_eq!(span["attributes"]["llm.token_count.completion"].as_u64(), Some(output));
    }

    let mut tools: Vec<&str> = of_kind("TOOL")
        .iter()
        .filter_map(|span| span["name"].as_str())
        .collect();
    tools.sort_unstable();
    assert_eq!(tools, ["execute_tool add", "execute_tool weather"]);
    assert!(
        of_kind("TOOL")
            .iter()
            .all(|span| span["parent_id"] == agent["context"]["span_id"])
    );
}
