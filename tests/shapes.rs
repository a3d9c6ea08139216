//! Function shapes users write, one case a row of the macros' shape table, named after it:
//! each compiles under the attribute and records one event with the right outcome and
//! output. (More shapes: `tests/macro_shapes.rs`.) The pedantic lints the expansion used
//! to draw are errors here, so that clippy checks the expansion stays clean of them.
#![deny(clippy::items_after_statements, clippy::used_underscore_binding)]

mod support;

use agent_trace::{Outcome, trace_runtime, trace_tool_call};
use serde_json::json;
use support::{only_event, traced};

#[derive(Debug, Default, serde::Serialize)]
struct State {
    steps: u32,
}

#[derive(Default)]
struct Agent {
    state: State,
}

impl Agent {
    #[trace_runtime]
    fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

#[trace_runtime]
fn last(values: &mut Vec<u32>) -> Option<&mut u32> {
    values.last_mut()
}

#[test]
fn sync_fn_returning_a_borrow_through_a_mut_parameter() {
    let mut agent = Agent::default();
    let ((), trace) = traced(|| agent.state_mut().steps += 1);
    assert_eq!(agent.state.steps, 1);
    assert_eq!(
        only_event(&trace).output,
        Some(json!({"steps": 0})),
        "captured as returned"
    );

    let mut values = vec![1, 2];
    let ((), trace) = traced(|| {
        if let Some(value) = last(&mut values) {
            *value = 5;
        }
    });
    assert_eq!(values, [1, 5]);
    assert_eq!(only_event(&trace).output, Some(json!(2)));
}

#[trace_tool_call]
fn cfg_on_a_parameter(kept: u32, #[cfg(any())] gone: u32) -> u32 {
    kept
}

#[test]
fn cfg_on_a_parameter_is_captured_only_where_it_exists() {
    let (value, trace) = traced(|| cfg_on_a_parameter(3));
    assert_eq!(value, 3);
    let event = only_event(&trace);
    assert_eq!(event.inputs.len(), 1);
    assert_eq!(event.inputs["kept"], json!(3));
}

#[trace_runtime]
fn never_returns(code: i32) -> ! {
    panic!("exit with {code}")
}

#[test]
fn fn_returning_never() {
    let (outcome, trace) = traced(|| std::panic::catch_unwind(|| never_returns(2)).is_err());
    assert!(outcome);
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Panicked);
    assert_eq!(event.inputs["code"], json!(2));
}

#[trace_tool_call(tool = "weather")]
fn call(city: &str) -> String {
    format!("sunny in {city}")
}

#[test]
fn a_tool_is_named_after_its_tool() {
    let (_, trace) = traced(|| call("Oslo"));
    assert_eq!(only_event(&trace).name, "weather");
}

trait Tool {
    fn name(&self) -> &str;
    fn call(&self, input: &str) -> String;
}

struct Weather;

impl Tool for Weather {
    fn name(&self) -> &str {
        "weather"
    }

    #[trace_tool_call(tool = self.name())]
    fn call(&self, input: &str) -> String {
        format!("sunny in {input}")
    }
}

struct Clock;

impl Tool for Clock {
    fn name(&self) -> &str {
        "clock"
    }

    #[trace_tool_call(tool = self.name())]
    fn call(&self, _input: &str) -> String {
        "noon".to_owned()
    }
}

#[test]
fn tools_in_a_registry_named_at_run_time() {
    let registry: Vec<Box<dyn Tool>> = vec![Box::new(Weather), Box::new(Clock)];
    let (_, trace) = traced(|| registry.iter().map(|tool| tool.call("Oslo")).collect::<Vec<_>>());
    let names: Vec<&str> = trace.events.iter().map(|event| event.name.as_str()).collect();
    assert_eq!(names, ["weather", "clock"]);
    let tools: Vec<&serde_json::Value> = trace.messages.iter().map(|message| &message.content["tool"]).collect();
    assert_eq!(
        tools,
        [&json!("weather"), &json!("clock")],
        "the tool_call messages name them too"
    );
}

const PLANNER: &str = "planner";

#[agent_trace::trace_agent("decide")]
fn positional_name(turn: u32) -> u32 {
    turn
}

#[agent_trace::trace_agent(name = PLANNER, system_id = format!("agent-{}", 7))]
fn const_name(turn: u32) -> u32 {
    turn
}

struct Client {
    model: String,
}

impl Client {
    #[agent_trace::trace_llm_call(model = self.model.as_str(), provider = "openai")]
    fn complete(&self, prompt: &str) -> usize {
        prompt.len()
    }
}

#[test]
fn names_from_a_literal_a_const_or_an_expression() {
    let client = Client {
        model: "gpt-5-mini".to_owned(),
    };
    let (_, trace) = traced(|| (positional_name(1), const_name(2), client.complete("hi")));
    let names: Vec<(&str, &str)> = trace
        .events
        .iter()
        .map(|event| (event.name.as_str(), event.system_id.as_str()))
        .collect();
    assert_eq!(
        names,
        [("decide", "agent"), ("planner", "agent-7"), ("complete", "agent")]
    );
    let llm = &trace.events[2];
    assert_eq!(llm.metadata["gen_ai.request.model"], json!("gpt-5-mini"));
    assert_eq!(llm.metadata["gen_ai.provider.name"], json!("openai"));
}

#[agent_trace::trace_llm_call]
async fn streams_a_reply(prompt: &str) -> String {
    let call = agent_trace::current_call();
    tokio::task::yield_now().await;
    call.set_model("small-model");
    call.record("prompt", prompt);
    call.set_usage(Some(4), None);
    inner_step();
    "ok".to_owned()
}

#[trace_runtime]
fn inner_step() {
    agent_trace::current_call().record("inner", true);
}

#[tokio::test(flavor = "current_thread")]
async fn body_records_into_its_own_event() {
    let (reply, trace) = support::traced_async(streams_a_reply("hello")).await;
    assert_eq!(reply, "ok");
    let llm = trace
        .events
        .iter()
        .find(|event| event.name == "streams_a_reply")
        .unwrap();
    assert_eq!(llm.metadata["gen_ai.request.model"], json!("small-model"));
    assert_eq!(llm.metadata["prompt"], json!("hello"));
    assert_eq!(llm.metadata["gen_ai.usage.input_tokens"], json!(4));
    assert!(!llm.metadata.contains_key("inner"), "the inner call's note is its own");
    let inner = trace.events.iter().find(|event| event.name == "inner_step").unwrap();
    assert_eq!(inner.metadata["inner"], json!(true));
    // Outside a scope the handle does nothing.
    let outside = agent_trace::current_call();
    assert!(!outside.is_recording());
    outside.record("ignored", 1);
}

#[trace_tool_call]
fn body_starting_with_an_item(n: u32) -> u32 {
    const STEP: u32 = 2;
    fn double(n: u32) -> u32 {
        n * STEP
    }
    double(n)
}

#[trace_tool_call]
async fn async_body_starting_with_an_item(n: u32) -> u32 {
    use std::ops::Add;
    n.add(1)
}

#[trace_tool_call]
fn underscore_parameter(_unused: u32, used: u32) -> u32 {
    used
}

#[tokio::test(flavor = "current_thread")]
async fn clean_under_clippy_pedantic() {
    let ((a, c), trace) = traced(|| (body_starting_with_an_item(3), underscore_parameter(1, 2)));
    assert_eq!((a, c), (6, 2));
    assert_eq!(trace.events[1].inputs["_unused"], json!(1));
    let (b, trace) = support::traced_async(async_body_starting_with_an_item(4)).await;
    assert_eq!(b, 5);
    assert_eq!(only_event(&trace).output, Some(json!(5)));
}
