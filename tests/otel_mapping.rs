//! A session as OpenTelemetry spans: the tree, the kinds of both conventions, token counts,
//! errors, cancellation, messages and rewards — on a real episode of the example agent.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use std::collections::BTreeSet;

use agent_trace::otel::{AttributeValue, Content, SpanRecord, SpanStatus, session_spans, session_spans_with, trace_id};
use agent_trace::{Event, EventKind, Reward, SessionTrace, SessionTracer, TracerContext};
use serde_json::json;

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

    let llm = by_name("chat scripted-policy").next().unwrap();
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
    assert_eq!(span_of(llm.parent_span_id.unwrap()).name, "invoke_agent decide");

    let decide = by_name("invoke_agent decide").next().unwrap();
    assert_eq!(
        (
            text(decide, "openinference.span.kind"),
            text(decide, "gen_ai.operation.name")
        ),
        ("AGENT".into(), "invoke_agent".into())
    );
    assert_eq!(text(decide, "gen_ai.agent.name"), "decide");
    assert_eq!(text(decide, "agent_trace.system_id"), "agent");
    assert_eq!(span_of(decide.parent_span_id.unwrap()).name, "run_episode");
    assert_eq!(
        span_of(by_name("run_episode").next().unwrap().parent_span_id.unwrap()).name,
        "session"
    );

    let scan_error = by_name("execute_tool scan")
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
    assert_eq!(text(scan_error, "gen_ai.tool.type"), "function");
    assert!(text(scan_error, "error.type").ends_with("ToolError"));
    assert_eq!(
        scan_error.status,
        SpanStatus::Error("the scanner is broken on turn 1".into())
    );
    let panicked = by_name("execute_tool plan_route")
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

/// An LLM event as a provider's full answer leaves it: cached and reasoning tokens, the
/// request's parameters, chat messages in and out.
fn chat_session() -> SessionTrace {
    let session = SessionTracer::default().start_session();
    session.set_metadata("user.id", "ada");
    session.set_metadata("tags", json!(["prod", "beta"]));
    let mut event = Event::builder(EventKind::Llm, "agent", "complete")
        .input(
            "request",
            json!({"model": "gpt-5-mini", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Capital of France?"},
            ]}),
        )
        .output("Paris");
    for (key, value) in [
        ("gen_ai.request.model", json!("gpt-5-mini")),
        ("gen_ai.response.model", json!("gpt-5-mini-2026-08-07")),
        ("gen_ai.provider.name", json!("openai")),
        ("gen_ai.request.temperature", json!(0.2)),
        ("gen_ai.request.stream", json!(true)),
        ("gen_ai.usage.input_tokens", json!(120)),
        ("gen_ai.usage.output_tokens", json!(30)),
        ("gen_ai.usage.cache_read.input_tokens", json!(100)),
        ("gen_ai.usage.cache_creation.input_tokens", json!(20)),
        ("gen_ai.usage.reasoning.output_tokens", json!(12)),
        ("gen_ai.response.finish_reasons", json!(["stop"])),
        ("gen_ai.response.time_to_first_chunk", json!(0.25)),
        ("attempt", json!(2)),
    ] {
        event = event.metadata(key, value);
    }
    session.record_event(event).unwrap();
    session.end().unwrap()
}

#[test]
fn an_llm_call_carries_both_conventions_usage_parameters_and_messages() {
    let trace = chat_session();
    let spans = session_spans(&trace);
    let llm = spans
        .iter()
        .find(|s| s.name == "chat gpt-5-mini")
        .expect("named by its model");
    let int = |key| match llm.attribute(key) {
        Some(AttributeValue::Int(n)) => *n,
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(int("llm.token_count.prompt_details.cache_read"), 100);
    assert_eq!(int("llm.token_count.prompt_details.cache_write"), 20);
    assert_eq!(int("llm.token_count.completion_details.reasoning"), 12);
    assert_eq!(int("gen_ai.usage.cache_read.input_tokens"), 100);
    assert_eq!(int("gen_ai.usage.reasoning.output_tokens"), 12);
    assert_eq!(int("llm.token_count.total"), 150);
    assert_eq!(text(llm, "gen_ai.response.model"), "gpt-5-mini-2026-08-07");
    assert_eq!(text(llm, "llm.provider"), "openai");
    assert_eq!(
        llm.attribute("gen_ai.response.time_to_first_chunk"),
        Some(&AttributeValue::Float(0.25))
    );
    let parameters: serde_json::Value = serde_json::from_str(&text(llm, "llm.invocation_parameters")).unwrap();
    assert_eq!(parameters, json!({"temperature": 0.2, "stream": true}));
    assert_eq!(text(llm, "metadata"), r#"{"attempt":2}"#);
    assert_eq!(text(llm, "llm.input_messages.0.message.role"), "system");
    assert_eq!(text(llm, "llm.input_messages.1.message.content"), "Capital of France?");
    assert_eq!(text(llm, "llm.output_messages.0.message.role"), "assistant");
    assert_eq!(text(llm, "llm.output_messages.0.message.content"), "Paris");
    assert!(
        llm.attribute("gen_ai.input.messages").is_none(),
        "the GenAI convention's content is opt-in"
    );
    for span in &spans {
        assert_eq!(text(span, "user.id"), "ada", "{}", span.name);
        assert_eq!(
            span.attribute("tag.tags"),
            Some(&AttributeValue::StringArray(vec!["prod".into(), "beta".into()]))
        );
    }
}

#[test]
fn the_content_switches_follow_both_conventions() {
    let trace = chat_session();
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        Content::from_lookup(move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, v)| (*v).to_owned()))
    };
    let llm_of = |content: &Content| {
        session_spans_with(&trace, content)
            .into_iter()
            .find(|s| s.name.starts_with("chat"))
            .unwrap()
    };

    let with_genai = llm_of(&env(&[("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "True")]));
    let input: serde_json::Value = serde_json::from_str(&text(&with_genai, "gen_ai.input.messages")).unwrap();
    assert_eq!(
        input[1],
        json!({"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]})
    );
    let output: serde_json::Value = serde_json::from_str(&text(&with_genai, "gen_ai.output.messages")).unwrap();
    assert_eq!(
        output,
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "Paris"}], "finish_reason": "stop"}])
    );

    let hidden = llm_of(&env(&[
        ("OPENINFERENCE_HIDE_INPUTS", "true"),
        ("OPENINFERENCE_HIDE_OUTPUTS", "TRUE"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
    ]));
    let leaked: Vec<_> = hidden
        .attributes
        .iter()
        .map(|(key, _)| key.as_str())
        .filter(|key| key.starts_with("input.") || key.starts_with("output.") || key.contains("messages"))
        .collect();
    assert!(leaked.is_empty(), "hidden content left: {leaked:?}");
    assert!(hidden.attribute("llm.token_count.prompt").is_some(), "the rest stays");

    let no_chat = llm_of(&Content::default().chat_messages(false));
    assert!(no_chat.attribute("llm.input_messages.0.message.role").is_none());
    assert!(no_chat.attribute("input.value").is_some());
    assert_eq!(
        env(&[("OPENINFERENCE_HIDE_INPUTS", "yes")]),
        Content::default(),
        "only `true` switches"
    );
}

#[test]
fn the_sessions_user_tags_and_name_are_exported_on_every_span() {
    let session = SessionTracer::default().start_session();
    session.set_user("grace");
    session.add_tag("eval");
    session.set_name("nightly");
    // The fields win over metadata of the names programs used before them.
    session.set_metadata("user.id", "someone else");
    session
        .record_event(Event::builder(EventKind::Tool, "agent", "search"))
        .unwrap();
    let trace = session.end().unwrap();
    let spans = session_spans(&trace);
    for span in &spans {
        assert_eq!(text(span, "user.id"), "grace");
        assert_eq!(
            span.attribute("tag.tags"),
            Some(&AttributeValue::StringArray(vec!["eval".into()]))
        );
        assert_eq!(text(span, "session.id"), trace.session_id);
    }
    assert_eq!(text(&spans[0], "agent_trace.session.name"), "nightly");
}
