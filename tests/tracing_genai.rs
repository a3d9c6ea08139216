//! The `tracing` bridge and the OpenTelemetry GenAI conventions: spans of an agent library
//! (here written as rig writes them: `invoke_agent`, `chat`, `execute_tool`, with fields
//! recorded as the work goes on) become the Agent, Llm and Tool events our attributes
//! record, with no attribute of ours.
#![cfg(feature = "tracing")]

use agent_trace::{EventKind, Outcome, SessionTrace, SessionTracer, TracerContext, TracingLayer};
use serde_json::json;
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

/// One model turn, as a client library traces it: the request's fields at the start, the
/// response's recorded when it comes.
fn chat(turn: u32, content: bool, answer: &str) -> String {
    let span = tracing::info_span!(
        target: "rig::completions",
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "mock",
        gen_ai.request.model = "mock-model",
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        gen_ai.response.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
    );
    let _entered = span.enter();
    if content {
        let messages = json!([{"role": "user", "parts": [{"type": "text", "content": format!("turn {turn}")}]}]);
        span.record("gen_ai.input.messages", messages.to_string());
        let output = json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]);
        span.record("gen_ai.output.messages", output.to_string());
    }
    tracing::trace!("reply: {{\n  \"id\": \"resp-{turn}\",\n  \"choices\": [ … a long pretty-printed body … ]\n}}");
    span.record("gen_ai.response.id", format!("resp-{turn}"));
    span.record("gen_ai.usage.input_tokens", 20 + u64::from(turn));
    span.record("gen_ai.usage.output_tokens", 5);
    answer.to_owned()
}

/// A tool call, as an agent library traces it.
fn execute_tool(name: &str, call_id: &str, arguments: serde_json::Value, content: bool, result: Result<&str, &str>) {
    let span = tracing::info_span!(
        target: "rig::agent",
        "execute_tool",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.type = "function",
        gen_ai.tool.name = name,
        gen_ai.tool.call.id = call_id,
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        otel.status_code = Empty,
        error.type = Empty,
    );
    let _entered = span.enter();
    if content {
        span.record("gen_ai.tool.call.arguments", arguments.to_string());
    }
    match result {
        Ok(result) if content => {
            span.record("gen_ai.tool.call.result", result);
        }
        Ok(_) => {}
        Err(error) => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error);
        }
    }
}

/// The agent: asks the model, which asks for `add` then `weather`, then answers.
fn calc_agent(content: bool, weather: Result<&str, &str>) -> String {
    let span = tracing::info_span!(
        target: "rig::agent",
        "invoke_agent",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = "calc-agent",
        gen_ai.prompt = Empty,
        gen_ai.completion = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
    );
    let _entered = span.enter();
    if content {
        span.record("gen_ai.prompt", "What is 2 + 3, and the weather in Paris?");
    }
    chat(0, content, "");
    execute_tool("add", "call-1", json!({"x": 2, "y": 3}), content, Ok("5"));
    chat(1, content, "");
    execute_tool("weather", "call-2", json!({"city": "Paris"}), content, weather);
    let answer = chat(2, content, "5, and sunny in Paris");
    if content {
        span.record("gen_ai.completion", answer.as_str());
    }
    span.record("gen_ai.usage.input_tokens", 63);
    span.record("gen_ai.usage.output_tokens", 15);
    answer
}

fn traced(layer: TracingLayer, run: impl FnOnce() -> String) -> SessionTrace {
    let subscriber = tracing_subscriber::registry().with(layer);
    let session = SessionTracer::default().start_session();
    tracing::subscriber::with_default(subscriber, || TracerContext::new(&session).sync_scope(run));
    session.end().unwrap()
}

fn of_kind(trace: &SessionTrace, kind: EventKind) -> Vec<&agent_trace::Event> {
    trace.events.iter().filter(|event| event.kind == kind).collect()
}

#[test]
fn an_agent_librarys_spans_are_agent_llm_and_tool_events() {
    let trace = traced(TracingLayer::new().with_max_level(tracing::Level::DEBUG), || {
        calc_agent(true, Ok("sunny"))
    });
    let agent = &of_kind(&trace, EventKind::Agent)[..];
    let [agent] = agent else {
        panic!("one agent event: {:#?}", trace.events)
    };
    assert_eq!(agent.name, "calc-agent");
    assert_eq!(agent.system_id, "rig");
    assert_eq!(agent.parent, None);
    assert_eq!(agent.inputs["prompt"], "What is 2 + 3, and the weather in Paris?");
    assert_eq!(agent.output, Some(json!("5, and sunny in Paris")));
    assert_eq!(
        agent.metadata["gen_ai.usage.input_tokens"],
        json!(63),
        "usage as usage, not inputs"
    );
    assert!(!agent.inputs.contains_key("gen_ai.usage.input_tokens"));

    let llm = of_kind(&trace, EventKind::Llm);
    assert_eq!(llm.len(), 3);
    for (turn, call) in llm.iter().enumerate() {
        assert_eq!(call.name, "mock-model");
        assert_eq!(call.parent, Some(agent.id));
        assert_eq!(call.metadata["gen_ai.provider.name"], "mock");
        assert_eq!(call.metadata["gen_ai.request.model"], "mock-model");
        assert_eq!(call.metadata["gen_ai.response.id"], format!("resp-{turn}"));
        assert_eq!(call.metadata["gen_ai.usage.input_tokens"], json!(20 + turn));
        assert_eq!(
            call.inputs["messages"],
            json!([{"role": "user", "content": format!("turn {turn}")}])
        );
    }
    assert_eq!(
        llm[2].output,
        Some(json!({"role": "assistant", "content": "5, and sunny in Paris"}))
    );
    let totals = trace.totals();
    assert_eq!(
        totals.tokens.input,
        20 + 21 + 22,
        "the model calls' tokens, once: {totals:?}"
    );

    let tools = of_kind(&trace, EventKind::Tool);
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
    assert_eq!(names, ["add", "weather"]);
    assert_eq!(tools[0].inputs, json!({"x": 2, "y": 3}).as_object().unwrap().clone());
    assert_eq!(tools[0].output, Some(json!(5)), "the result as the value it serializes");
    assert_eq!(tools[0].metadata["gen_ai.tool.call.id"], "call-1");
    assert_eq!(tools[1].inputs["city"], "Paris");
    assert!(
        tools
            .iter()
            .all(|tool| tool.parent == Some(agent.id) && tool.outcome == Outcome::Ok)
    );

    // The client's TRACE dump is left out at DEBUG.
    assert!(of_kind(&trace, EventKind::Custom("tracing".into())).is_empty());
}

#[test]
fn without_content_telemetry_no_content_is_recorded() {
    let trace = traced(TracingLayer::new().with_max_level(tracing::Level::DEBUG), || {
        calc_agent(false, Ok("sunny"))
    });
    assert_eq!(trace.events.len(), 6, "{:#?}", trace.events);
    for event in &trace.events {
        assert!(event.inputs.is_empty(), "{}: {:?}", event.name, event.inputs);
        assert_eq!(event.output, None, "{}", event.name);
    }
    let tools = of_kind(&trace, EventKind::Tool);
    assert_eq!(tools[1].name, "weather");
    assert_eq!(
        of_kind(&trace, EventKind::Llm)[0].metadata["gen_ai.usage.output_tokens"],
        json!(5)
    );
}

#[test]
fn a_failed_tool_is_an_err_event_with_its_error_type() {
    let trace = traced(TracingLayer::new(), || calc_agent(true, Err("ToolCallError")));
    let weather = of_kind(&trace, EventKind::Tool)
        .into_iter()
        .find(|tool| tool.name == "weather")
        .unwrap();
    assert_eq!(weather.outcome, Outcome::Err);
    let error = weather.error.as_ref().unwrap();
    assert_eq!(error.kind, "ToolCallError");
    assert!(!weather.metadata.contains_key("error.type"));
}

#[test]
fn log_events_are_named_by_their_first_line_and_filtered_by_level() {
    let trace = traced(TracingLayer::new(), || calc_agent(false, Ok("sunny")));
    let logs = of_kind(&trace, EventKind::Custom("tracing".into()));
    assert_eq!(logs.len(), 3, "one TRACE dump per model turn");
    assert_eq!(logs[0].name, "reply: {…");
    assert!(
        logs[0].inputs["message"].as_str().unwrap().contains("pretty-printed"),
        "the whole text stays"
    );
    assert_eq!(logs[0].metadata["level"], "TRACE");

    let long = "x".repeat(300);
    let trace = traced(TracingLayer::new(), || {
        tracing::warn!("{long}");
        String::new()
    });
    let name = &trace.events[0].name;
    assert!(name.len() <= 80 + '…'.len_utf8() && name.ends_with('…'), "{name}");
}
