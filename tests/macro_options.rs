//! Each option of the attribute macros, shown by its effect on the recorded event.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use agent_trace::{
    CallRecord, ErrorRecord, LlmRequest, LlmUsage, Map, Message, Outcome, SessionTracer, TracerContext,
    set_turn_number, trace_agent, trace_env, trace_llm_call, trace_tool_call,
};
use serde_json::{Value, json};
use support::{only_event, traced};

#[trace_agent(system_id = "planner", name = "plan_next")]
fn plan() -> u8 {
    1
}

#[test]
fn system_id_and_name() {
    let (_, trace) = traced(plan);
    let event = only_event(&trace);
    assert_eq!(
        (event.system_id.as_str(), event.name.as_str()),
        ("planner", "plan_next")
    );
}

#[trace_agent(skip(secret_notes, scratch))]
fn skipping(query: &str, secret_notes: &str, scratch: Vec<u8>) -> usize {
    query.len() + secret_notes.len() + scratch.len()
}

#[trace_agent(skip_all)]
fn skipping_all(query: &str) -> usize {
    query.len()
}

#[trace_agent(capture_args = false)]
fn capturing_no_args(query: &str) -> usize {
    query.len()
}

#[test]
fn skip_skip_all_and_capture_args() {
    let (_, trace) = traced(|| {
        skipping("a", "b", vec![1]);
        skipping_all("a");
        capturing_no_args("a");
    });
    assert_eq!(trace.events[0].inputs.keys().collect::<Vec<_>>(), vec!["query"]);
    assert!(trace.events[1].inputs.is_empty());
    assert!(trace.events[2].inputs.is_empty());
    let outputs: Vec<_> = trace.events.iter().map(|e| e.output.clone()).collect();
    assert_eq!(
        outputs,
        vec![Some(json!(3)), Some(json!(1)), Some(json!(1))],
        "results are still captured"
    );
}

#[derive(serde::Serialize)]
struct Memory {
    facts: Vec<&'static str>,
}

impl Memory {
    #[trace_agent(capture_self)]
    fn recall(&self, index: usize) -> Option<&'static str> {
        self.facts.get(index).copied()
    }

    #[trace_agent]
    fn recall_quietly(&self, index: usize) -> Option<&'static str> {
        self.facts.get(index).copied()
    }
}

#[test]
fn capture_self() {
    let memory = Memory {
        facts: vec!["water is wet"],
    };
    let (_, trace) = traced(|| (memory.recall(0), memory.recall_quietly(0)));
    assert_eq!(trace.events[0].inputs["self"], json!({"facts": ["water is wet"]}));
    assert!(!trace.events[1].inputs.contains_key("self"));
}

#[trace_tool_call(capture_result = false)]
fn capture_no_result(fail: bool) -> Result<String, std::io::Error> {
    if fail {
        Err(std::io::Error::other("refused"))
    } else {
        Ok("a very private answer".into())
    }
}

#[test]
fn capture_result_false_keeps_outcome_and_error() {
    let (_, trace) = traced(|| {
        let _ = capture_no_result(false);
        let _ = capture_no_result(true);
    });
    assert_eq!(
        (trace.events[0].output.clone(), trace.events[0].outcome),
        (None, Outcome::Ok)
    );
    assert_eq!(trace.events[1].outcome, Outcome::Err);
    assert_eq!(
        trace.events[1].error.as_ref().map(|e| e.message.as_str()),
        Some("refused")
    );
}

fn drop_long_inputs(inputs: &mut Map) {
    inputs.retain(|_, value| value.as_str().is_none_or(|text| text.len() < 5));
    inputs.insert("filtered".into(), json!(true));
}

fn keep_first(output: &Value) -> Value {
    output.get(0).cloned().unwrap_or(Value::Null)
}

#[trace_agent(arg_filter = drop_long_inputs, result_filter = keep_first)]
fn filtered(short: &str, long: &str) -> Vec<String> {
    vec![short.to_owned(), long.to_owned()]
}

#[test]
fn arg_filter_and_result_filter() {
    let (value, trace) = traced(|| filtered("ab", "abcdefgh"));
    assert_eq!(value.len(), 2, "the function's own result is untouched");
    let event = only_event(&trace);
    assert_eq!(
        Value::Object(event.inputs.clone()),
        json!({"short": "ab", "filtered": true})
    );
    assert_eq!(event.output, Some(json!("ab")));
}

fn outcome_metadata(call: &CallRecord<'_>) -> Map {
    let mut map = Map::new();
    map.insert("outcome_seen".into(), json!(call.outcome().to_string()));
    map.insert("input_count".into(), json!(call.inputs().len()));
    map
}

fn announce(call: &CallRecord<'_>) -> Option<Message> {
    (call.outcome() == Outcome::Ok).then(|| Message::new(call.system_id(), "user", "status", json!(call.output())))
}

#[trace_env(metadata = outcome_metadata, message = announce)]
fn observed(x: u32, y: u32) -> u32 {
    x * y
}

#[test]
fn metadata_and_message_functions_see_the_finished_call() {
    let (_, trace) = traced(|| observed(6, 7));
    let event = only_event(&trace);
    assert_eq!(event.metadata["outcome_seen"], json!("ok"));
    assert_eq!(event.metadata["input_count"], json!(2));
    let message = &trace.messages[0];
    assert_eq!(
        (
            message.source_id.as_str(),
            message.target_id.as_str(),
            message.message_type.as_str()
        ),
        ("environment", "user", "status")
    );
    assert_eq!(message.content, json!(42));
}

static FAILURES_SEEN: AtomicUsize = AtomicUsize::new(0);

fn count_failure(error: &ErrorRecord) {
    assert!(error.message == "nope" || error.kind == "panic");
    FAILURES_SEEN.fetch_add(1, Ordering::SeqCst);
}

#[trace_agent(error_handler = count_failure)]
fn may_fail(mode: u8) -> Result<u8, std::io::Error> {
    match mode {
        0 => Ok(0),
        1 => Err(std::io::Error::other("nope")),
        _ => panic!("mode {mode}"),
    }
}

#[test]
fn error_handler_runs_on_err_and_panic_only() {
    let (_, trace) = traced(|| {
        let _ = may_fail(0);
        let _ = may_fail(1);
        let _ = std::panic::catch_unwind(|| may_fail(2));
    });
    assert_eq!(FAILURES_SEEN.load(Ordering::SeqCst), 2);
    assert_eq!(
        trace.events.iter().map(|e| e.outcome).collect::<Vec<_>>(),
        vec![Outcome::Ok, Outcome::Err, Outcome::Panicked]
    );
}

#[trace_env(auto_timestep)]
fn auto_step(action: u8) -> u8 {
    action
}

#[trace_env(timestep_name = "env step")]
fn named_step(action: u8) -> u8 {
    action
}

#[test]
fn auto_timestep_and_timestep_name() {
    let (_, trace) = traced(|| {
        auto_step(1);
        set_turn_number(4);
        auto_step(2);
        named_step(3);
    });
    let steps: Vec<_> = trace
        .timesteps
        .iter()
        .map(|t| (t.index, t.turn, t.name.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (0, Some(0), None),
            (1, Some(4), None),
            (2, Some(4), Some("env step".to_owned()))
        ]
    );
    let placed: Vec<_> = trace.events.iter().map(|e| e.timestep).collect();
    assert_eq!(
        placed,
        vec![Some(0), Some(1), Some(2)],
        "each call runs in the timestep it opened"
    );
}

#[trace_agent(include_timing = false)]
fn untimed() -> u8 {
    std::thread::sleep(std::time::Duration::from_millis(2));
    1
}

#[trace_agent]
fn timed() -> u8 {
    std::thread::sleep(std::time::Duration::from_millis(2));
    1
}

#[trace_agent(include_memory)]
fn allocates(bytes: usize) -> usize {
    vec![1u8; bytes].iter().map(|b| usize::from(*b)).sum()
}

#[test]
fn include_timing_and_include_memory() {
    let (_, trace) = traced(|| {
        untimed();
        timed();
        allocates(1 << 20);
    });
    assert_eq!(trace.events[0].duration, std::time::Duration::ZERO);
    assert!(trace.events[1].duration >= std::time::Duration::from_millis(2));
    let memory = &trace.events[2].metadata;
    assert!(
        memory["memory.rss_before_bytes"].as_u64().is_some_and(|b| b > 0),
        "{memory:?}"
    );
    assert!(
        memory["memory.rss_after_bytes"].as_u64().is_some_and(|b| b > 0),
        "{memory:?}"
    );
}

struct Completion {
    text: String,
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl LlmUsage for Completion {
    fn input_tokens(&self) -> Option<u64> {
        Some(self.prompt_tokens)
    }
    fn output_tokens(&self) -> Option<u64> {
        Some(self.completion_tokens)
    }
}

impl serde::Serialize for Completion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[trace_llm_call(model = "scripted-1", provider = "local")]
fn complete(prompt: &str) -> Result<Completion, std::io::Error> {
    Ok(Completion {
        text: format!("re: {prompt}"),
        prompt_tokens: 12,
        completion_tokens: 3,
    })
}

#[trace_llm_call]
fn complete_plain(prompt: &str) -> String {
    prompt.to_owned()
}

#[test]
fn llm_calls_record_model_provider_and_token_usage() {
    let (_, trace) = traced(|| {
        let _ = complete("hi");
        complete_plain("hi");
    });
    let event = &trace.events[0];
    assert_eq!(event.kind, agent_trace::EventKind::Llm);
    assert_eq!(event.metadata["gen_ai.request.model"], json!("scripted-1"));
    assert_eq!(event.metadata["gen_ai.provider.name"], json!("local"));
    assert_eq!(event.metadata["gen_ai.usage.input_tokens"], json!(12));
    assert_eq!(event.metadata["gen_ai.usage.output_tokens"], json!(3));
    assert_eq!(event.output, Some(json!("re: hi")));
    assert!(
        trace.events[1].metadata.is_empty(),
        "no options and no LlmUsage: no metadata"
    );
}

#[trace_tool_call(tool = "calculator")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[trace_tool_call(system_id = "crafter-agent")]
fn divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b).ok_or_else(|| "division by zero".to_owned())
}

#[test]
fn tool_calls_record_a_tool_call_message() {
    let (_, trace) = traced(|| {
        add(2, 3);
        let _ = divide(1, 0);
    });
    let [first, second] = &trace.messages[..] else {
        panic!("two messages expected")
    };
    assert_eq!(
        (
            first.source_id.as_str(),
            first.target_id.as_str(),
            first.message_type.as_str()
        ),
        ("agent", "environment", "tool_call")
    );
    assert_eq!(
        first.content,
        json!({"tool": "calculator", "args": {"a": 2, "b": 3}, "result": 5})
    );
    assert_eq!(second.source_id, "crafter-agent");
    assert_eq!(
        second.content["tool"],
        json!("divide"),
        "the tool's name defaults to the event's name"
    );
    assert_eq!(second.content["result"]["message"], json!("division by zero"));
}

struct ToolCall {
    id: String,
    query: String,
}

#[trace_tool_call(tool = "search", call_id = call.id.as_str(), skip(call))]
fn search(call: &ToolCall) -> usize {
    call.query.len()
}

#[test]
fn call_id_records_the_tool_calls_id_under_its_genai_name() {
    let (_, trace) = traced(|| {
        search(&ToolCall {
            id: "call_7".into(),
            query: "rust".into(),
        })
    });
    let event = only_event(&trace);
    assert_eq!(event.metadata["gen_ai.tool.call.id"], json!("call_7"));
    let spans = agent_trace::otel::session_spans(&trace);
    let span = spans.iter().find(|s| s.name == "execute_tool search").unwrap();
    assert_eq!(
        span.attribute("gen_ai.tool.call.id"),
        Some(&agent_trace::otel::AttributeValue::String("call_7".into()))
    );
}

mod renamed {
    pub use agent_trace as tracing_for_agents;
}

#[trace_agent(crate = "renamed::tracing_for_agents")]
fn through_a_renamed_crate(x: u8) -> u8 {
    x
}

#[test]
fn crate_override() {
    let (_, trace) = traced(|| through_a_renamed_crate(5));
    assert_eq!(only_event(&trace).inputs["x"], json!(5));
}

fn panicking_metadata(_: &CallRecord<'_>) -> Map {
    panic!("metadata hook bug")
}

#[trace_agent(metadata = panicking_metadata)]
fn with_broken_hook() -> u8 {
    1
}

#[test]
fn a_panicking_hook_is_counted_and_the_event_still_recorded() {
    let tracer = SessionTracer::default();
    let session = tracer.start_session();
    let value = TracerContext::new(&session).sync_scope(with_broken_hook);
    assert_eq!(value, 1);
    let trace = session.end().unwrap();
    assert_eq!(only_event(&trace).output, Some(json!(1)));
    assert_eq!(tracer.stats().hook_errors, 1);
}

/// A response as providers report it: cached and reasoning tokens, the model that answered,
/// the response id and the finish reasons.
struct FullResponse {
    id: String,
}

impl LlmUsage for FullResponse {
    fn input_tokens(&self) -> Option<u64> {
        Some(120)
    }
    fn output_tokens(&self) -> Option<u64> {
        Some(30)
    }
    fn cache_read_input_tokens(&self) -> Option<u64> {
        Some(100)
    }
    fn cache_creation_input_tokens(&self) -> Option<u64> {
        Some(20)
    }
    fn reasoning_tokens(&self) -> Option<u64> {
        panic!("this provider's reasoning count is broken")
    }
    fn response_model(&self) -> Option<&str> {
        Some("gpt-5-mini-2026-08-07")
    }
    fn response_id(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn finish_reasons(&self) -> Vec<&str> {
        vec!["stop", "length"]
    }
}

#[trace_llm_call(model = "gpt-5-mini")]
fn answer(prompt: &str) -> Result<FullResponse, std::io::Error> {
    Ok(FullResponse {
        id: format!("resp-{}", prompt.len()),
    })
}

#[test]
fn usage_records_every_detail_the_response_has() {
    let session = support::session();
    let response = TracerContext::new(&session).sync_scope(|| answer("hello"));
    assert_eq!(response.unwrap().id, "resp-5");
    let trace = session.end().unwrap();
    let metadata = &trace.events[0].metadata;
    assert_eq!(metadata["gen_ai.request.model"], json!("gpt-5-mini"));
    assert_eq!(metadata["gen_ai.usage.input_tokens"], json!(120));
    assert_eq!(metadata["gen_ai.usage.output_tokens"], json!(30));
    assert_eq!(metadata["gen_ai.usage.cache_read.input_tokens"], json!(100));
    assert_eq!(metadata["gen_ai.usage.cache_creation.input_tokens"], json!(20));
    assert!(
        !metadata.contains_key("gen_ai.usage.reasoning.output_tokens"),
        "a panicking method records nothing of its own"
    );
    assert_eq!(metadata["gen_ai.response.model"], json!("gpt-5-mini-2026-08-07"));
    assert_eq!(metadata["gen_ai.response.id"], json!("resp-5"));
    assert_eq!(metadata["gen_ai.response.finish_reasons"], json!(["stop", "length"]));
}

/// A request with its sampling parameters.
struct ChatRequest {
    model: &'static str,
    temperature: f32,
    stop: Vec<&'static str>,
}

impl LlmRequest for ChatRequest {
    fn model(&self) -> Option<&str> {
        Some(self.model)
    }
    fn temperature(&self) -> Option<f64> {
        Some(f64::from(self.temperature))
    }
    fn max_tokens(&self) -> Option<u64> {
        Some(256)
    }
    fn stop_sequences(&self) -> Vec<&str> {
        self.stop.clone()
    }
    fn seed(&self) -> Option<i64> {
        panic!("no seed today")
    }
}

/// A client holding its own settings.
struct Client {
    top_p: f64,
}

impl LlmRequest for Client {
    fn top_p(&self) -> Option<f64> {
        Some(self.top_p)
    }
}

impl Client {
    #[trace_llm_call(model = "from-the-option", skip(request))]
    fn chat(&self, request: &ChatRequest) -> String {
        agent_trace::current_call().record_usage(&FullResponse { id: "in-body".into() });
        request.model.to_owned()
    }
}

#[test]
fn request_parameters_come_from_arguments_and_the_receiver() {
    let session = support::session();
    let request = ChatRequest {
        model: "gpt-5-nano",
        temperature: 0.5,
        stop: vec!["\n\n"],
    };
    TracerContext::new(&session).sync_scope(|| Client { top_p: 0.9 }.chat(&request));
    let trace = session.end().unwrap();
    let event = &trace.events[0];
    assert!(event.inputs.is_empty(), "skipped, yet its parameters are recorded");
    let metadata = &event.metadata;
    assert_eq!(
        metadata["gen_ai.request.model"],
        json!("gpt-5-nano"),
        "the argument's model wins"
    );
    assert_eq!(metadata["gen_ai.request.temperature"], json!(0.5));
    assert_eq!(metadata["gen_ai.request.max_tokens"], json!(256));
    assert_eq!(metadata["gen_ai.request.top_p"], json!(0.9));
    assert_eq!(metadata["gen_ai.request.stop_sequences"], json!(["\n\n"]));
    assert!(
        !metadata.contains_key("gen_ai.request.seed"),
        "a panicking method records nothing"
    );
    assert_eq!(
        metadata["gen_ai.response.id"],
        json!("in-body"),
        "current_call().record_usage"
    );
    assert_eq!(metadata["gen_ai.usage.input_tokens"], json!(120));
}
