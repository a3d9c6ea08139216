//! The rig agent's session, exported by `OtlpSink` to a real Arize Phoenix server and read
//! back through its REST API: one AGENT span named after the agent, an LLM span per model
//! turn with its token counts, a TOOL span per tool call, nested under the agent.
//!
//! `.ci/run` starts Phoenix and sets `AGENT_TRACE_PHOENIX_URL`; elsewhere the test is
//! skipped with a message (and fails in CI, `CI` set, when Phoenix is missing).
#![cfg(feature = "phoenix")]

#[path = "../../../tests/support/phoenix.rs"]
mod phoenix;

use agent_trace::otel::session_spans;
use agent_trace::{OtlpSink, SessionTracer, TracerContext, TracingLayer};
use agent_trace_rig_example::{TURN_USAGE, run_calc_agent};
use phoenix::{hex, phoenix_url, spans_in_phoenix};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

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
