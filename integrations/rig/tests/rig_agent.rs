//! A rig agent run inside a scope with `TracingLayer` and no attribute of agent-trace's:
//! its session holds an Agent event named after the agent, an Llm event per model turn and
//! a Tool event per tool call, nested as they ran, with rig's content telemetry on or off.

use agent_trace::{Event, EventKind, Outcome, SessionTrace, SessionTracer, TracerContext, TracingLayer};
use agent_trace_rig_example::{ANSWER, PROMPT, TURN_USAGE, run_calc_agent};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

async fn traced_run(record_content: bool) -> SessionTrace {
    let layer = TracingLayer::new().with_max_level(tracing::Level::DEBUG);
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let session = SessionTracer::default().start_session();
    let answer = TracerContext::new(&session).scope(run_calc_agent(record_content)).await;
    assert_eq!(answer.unwrap(), ANSWER);
    session.end().unwrap()
}

fn of_kind(trace: &SessionTrace, kind: EventKind) -> Vec<&Event> {
    trace.events.iter().filter(|event| event.kind == kind).collect()
}

/// The events every run has, whatever rig records of their content.
fn assert_the_runs_shape(trace: &SessionTrace) -> (&Event, Vec<&Event>, Vec<&Event>) {
    let agents = of_kind(trace, EventKind::Agent);
    let [agent] = agents[..] else {
        panic!("one agent event: {:#?}", trace.events)
    };
    assert_eq!(agent.name, "calc-agent");
    assert!(
        agent.system_id.starts_with("rig"),
        "the crate that made the span: {}",
        agent.system_id
    );
    assert_eq!(agent.parent, None);
    assert_eq!(agent.outcome, Outcome::Ok);

    let llm = of_kind(trace, EventKind::Llm);
    assert_eq!(llm.len(), 3, "one per model turn: {:#?}", trace.events);
    for (call, (input, output)) in llm.iter().zip(TURN_USAGE) {
        assert_eq!(call.name, "mock-model");
        assert_eq!(call.parent, Some(agent.id));
        assert_eq!(call.metadata["gen_ai.usage.input_tokens"], json!(input));
        assert_eq!(call.metadata["gen_ai.usage.output_tokens"], json!(output));
        assert!(
            !call.inputs.contains_key("gen_ai.usage.input_tokens"),
            "usage is not an input"
        );
    }
    let (input, output) = TURN_USAGE.iter().fold((0, 0), |(i, o), (a, b)| (i + a, o + b));
    let totals = trace.totals();
    assert_eq!(
        (totals.tokens.input, totals.tokens.output),
        (input, output),
        "each turn counted once"
    );

    let tools = of_kind(trace, EventKind::Tool);
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
    assert_eq!(names, ["add", "weather"]);
    for (tool, id) in tools.iter().zip(["call-1", "call-2"]) {
        assert_eq!(tool.parent, Some(agent.id));
        assert_eq!(tool.outcome, Outcome::Ok);
        assert_eq!(tool.metadata["gen_ai.tool.call.id"], id);
    }
    (agent, llm, tools)
}

#[tokio::test]
async fn a_rig_agent_is_an_agent_event_with_its_model_and_tool_calls() {
    let trace = traced_run(true).await;
    let (agent, llm, tools) = assert_the_runs_shape(&trace);
    assert_eq!(agent.inputs["prompt"], PROMPT);
    assert_eq!(agent.output, Some(json!(ANSWER)));
    assert_eq!(tools[0].inputs, *json!({"x": 2, "y": 3}).as_object().unwrap());
    assert_eq!(tools[0].output, Some(json!(5)));
    assert_eq!(tools[1].inputs["city"], "Paris");
    assert_eq!(tools[1].output, Some(json!("sunny, 21 °C")));
    let messages = llm[0].inputs["messages"].as_array().expect("the turn's messages");
    assert!(messages.iter().any(|message| message["role"] == "user"), "{messages:?}");
    assert_eq!(llm[2].output.as_ref().unwrap()["content"], ANSWER);
    // Spans of the order they ran in: model, tool, model, tool, model.
    let order: Vec<&EventKind> = trace
        .events
        .iter()
        .filter(|e| e.parent.is_some())
        .map(|e| &e.kind)
        .collect();
    let calls: Vec<&EventKind> = order
        .into_iter()
        .filter(|kind| **kind != EventKind::Custom("tracing".into()))
        .collect();
    assert_eq!(
        calls,
        [
            &EventKind::Llm,
            &EventKind::Tool,
            &EventKind::Llm,
            &EventKind::Tool,
            &EventKind::Llm
        ]
    );
}

#[tokio::test]
async fn without_rigs_content_telemetry_no_content_is_recorded() {
    let trace = traced_run(false).await;
    let (agent, llm, tools) = assert_the_runs_shape(&trace);
    for event in llm.iter().chain(&tools).chain([&agent]) {
        assert!(
            event
                .inputs
                .keys()
                .all(|key| key != "prompt" && key != "messages" && key != "city"),
            "{}: {:?}",
            event.name,
            event.inputs
        );
        assert_eq!(event.output, None, "{}", event.name);
    }
}
