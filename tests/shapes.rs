//! Function shapes users write, one case a row of the macros' shape table, named after it:
//! each compiles under the attribute and records one event with the right outcome and
//! output. (More shapes: `tests/macro_shapes.rs`.) Clippy's pedantic lints are errors
//! here, so that clippy checks the expansion stays clean of them.
#![deny(clippy::pedantic)]

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
    #[allow(clippy::unnecessary_literal_bound, reason = "the trait's signature")]
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
    #[allow(clippy::unnecessary_literal_bound, reason = "the trait's signature")]
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

mod shadowed {
    /// A variant named like the return type.
    #[derive(Debug, serde::Serialize)]
    pub enum Mode {
        State,
        Idle,
    }

    #[derive(Debug, serde::Serialize)]
    pub struct State(pub u32);

    #[agent_trace::trace_env]
    pub fn pick(busy: bool) -> State {
        use Mode::*;
        let mode = if busy { State } else { Idle };
        super::State::default();
        crate::shadowed::State(matches!(mode, Idle).into())
    }
}

#[test]
fn body_starting_with_use_enum_star_shadowing_the_return_type() {
    let (state, trace) = traced(|| shadowed::pick(false));
    assert_eq!(state.0, 1);
    assert_eq!(only_event(&trace).output, Some(json!(1)));
}

use std::future::Future;
use std::pin::Pin;

#[trace_tool_call]
fn fetch(city: &str) -> impl Future<Output = String> + Send + '_ {
    async move {
        tokio::task::yield_now().await;
        inner_lookup(city)
    }
}

#[trace_runtime]
fn inner_lookup(city: &str) -> String {
    format!("sunny in {city}")
}

struct Store {
    rows: Vec<u32>,
}

impl Store {
    #[trace_tool_call]
    fn count(&self, min: u32) -> Pin<Box<dyn Future<Output = usize> + Send + '_>> {
        let threshold = min * 2;
        inner_step();
        Box::pin(async move { self.rows.iter().filter(|row| **row >= threshold).count() })
    }

    #[trace_tool_call]
    fn first(&self) -> Pin<Box<dyn Future<Output = Option<u32>> + Send + '_>> {
        Box::pin(async { self.rows.first().copied() })
    }
}

/// The events of a trace as (name, parent's name).
fn parents(trace: &agent_trace::SessionTrace) -> Vec<(String, Option<String>)> {
    let name_of = |id: u64| {
        trace
            .events
            .iter()
            .find(|event| event.id == id)
            .map(|event| event.name.clone())
    };
    trace
        .events
        .iter()
        .map(|event| (event.name.clone(), event.parent.and_then(name_of)))
        .collect()
}

fn pair(name: &str, parent: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), parent.map(str::to_owned))
}

#[tokio::test(flavor = "current_thread")]
async fn sync_fn_returning_impl_future_is_an_async_call() {
    let (reply, trace) = support::traced_async(async { fetch("Oslo").await }).await;
    assert_eq!(reply, "sunny in Oslo");
    let tool = trace.events.iter().find(|event| event.name == "fetch").unwrap();
    assert_eq!(tool.outcome, Outcome::Ok);
    assert_eq!(
        tool.output,
        Some(json!("sunny in Oslo")),
        "the future's output, not the future"
    );
    assert_eq!(tool.inputs["city"], json!("Oslo"));
    assert_eq!(
        parents(&trace),
        [pair("fetch", None), pair("inner_lookup", Some("fetch"))]
    );

    // Dropped before it completes: cancelled.
    let ((), trace) = support::traced_async(async {
        let future = fetch("Bergen");
        let mut future = std::pin::pin!(future);
        let _ = futures_poll_once(future.as_mut()).await;
    })
    .await;
    assert_eq!(only_event(&trace).outcome, Outcome::Cancelled);

    // Outside a scope: the future as without the attribute.
    assert_eq!(fetch("Rome").await, "sunny in Rome");
}

/// Polls a future once; whether it completed.
async fn futures_poll_once<F: Future + Unpin>(mut future: F) -> bool {
    std::future::poll_fn(|cx| std::task::Poll::Ready(Pin::new(&mut future).poll(cx).is_ready())).await
}

#[tokio::test(flavor = "current_thread")]
async fn statements_before_box_pin_and_box_pin_without_move() {
    let store = Store { rows: vec![1, 4, 6] };
    // The call is made, and recorded, when the function is called: inside the scope.
    let (count, trace) = support::traced_async(async { store.count(2).await }).await;
    assert_eq!(count, 2);
    let event = trace.events.iter().find(|event| event.name == "count").unwrap();
    assert_eq!(event.output, Some(json!(2)));
    assert_eq!(event.inputs["min"], json!(2));
    assert_eq!(
        parents(&trace),
        [pair("count", None), pair("inner_step", Some("count"))],
        "the statements before the future run as the call"
    );

    let (first, trace) = support::traced_async(async { store.first().await }).await;
    assert_eq!(first, Some(1));
    assert_eq!(only_event(&trace).output, Some(json!(1)));
    assert_eq!(store.count(3).await, 1, "outside a scope");
}

#[async_trait::async_trait]
trait Planner {
    async fn plan(&self, goal: &str) -> String;
}

struct Stacked;

#[async_trait::async_trait]
impl Planner for Stacked {
    #[agent_trace::trace_agent(name = "outer")]
    #[trace_runtime(name = "inner")]
    async fn plan(&self, goal: &str) -> String {
        tokio::task::yield_now().await;
        inner_step();
        format!("plan for {goal}")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn two_attributes_stacked_on_an_async_trait_method() {
    let (plan, trace) = support::traced_async(async { Stacked.plan("lunch").await }).await;
    assert_eq!(plan, "plan for lunch");
    // As on a plain `async fn`: the lower attribute's event encloses the upper one's, and
    // both span the future (each records the plan, not a boxed future).
    assert_eq!(
        parents(&trace),
        [
            pair("inner", None),
            pair("outer", Some("inner")),
            pair("inner_step", Some("outer")),
        ]
    );
    for event in &trace.events[..2] {
        assert_eq!(event.output, Some(json!("plan for lunch")), "{}", event.name);
    }
}

#[trace_runtime]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[trace_tool_call]
#[track_caller]
fn parse_at_caller(text: &str) -> Result<(u32, u32), std::num::ParseIntError> {
    if text.is_empty() {
        return Ok((0, std::panic::Location::caller().line()));
    }
    let value = text.parse::<u32>()?;
    Ok((value, std::panic::Location::caller().line()))
}

#[track_caller]
#[trace_runtime]
fn first_of(values: &mut [u32]) -> Option<&mut u32> {
    let first = values.first_mut()?;
    Some(first)
}

#[test]
fn track_caller_sees_the_caller() {
    #[allow(clippy::redundant_closure, reason = "the closure is the caller")]
    let (line, trace) = traced(|| caller_line());
    assert_eq!(line, line!() - 1, "the caller's line, in a scope");
    assert_eq!(only_event(&trace).output, Some(json!(line)));
    assert_eq!(caller_line(), line!(), "and outside one");

    let (parsed, trace) = traced(|| parse_at_caller("7"));
    assert_eq!(parsed, Ok((7, line!() - 1)));
    assert_eq!(only_event(&trace).outcome, Outcome::Ok);
    let (empty, trace) = traced(|| parse_at_caller(""));
    assert_eq!(empty, Ok((0, line!() - 1)), "a `return` is the call's value");
    assert_eq!(only_event(&trace).output, Some(json!([0, line!() - 2])));
    let (failed, trace) = traced(|| parse_at_caller("x"));
    assert!(failed.is_err());
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Err, "a `?` is the call's error");
    assert!(event.error.as_ref().unwrap().kind.contains("ParseIntError"));

    let mut values = [3, 4];
    let ((), trace) = traced(|| *first_of(&mut values).unwrap() += 1);
    assert_eq!(values, [4, 4]);
    assert_eq!(only_event(&trace).output, Some(json!(3)));
    let ((), trace) = traced(|| assert!(first_of(&mut []).is_none()));
    assert_eq!(only_event(&trace).output, Some(json!(null)), "`?` on an `Option`");
}

struct Request {
    user: String,
    items: Vec<u32>,
}

#[agent_trace::trace_agent(skip(request), fields(user.id = request.user.as_str(), item_count = request.items.len(), "total" = request.items.iter().sum::<u32>()))]
fn handle(request: Request) -> u32 {
    request.items.into_iter().max().unwrap_or(0)
}

#[test]
fn fields_computed_from_the_arguments() {
    let request = Request {
        user: "ada".to_owned(),
        items: vec![2, 5],
    };
    let (max, trace) = traced(|| handle(request));
    assert_eq!(max, 5);
    let event = only_event(&trace);
    assert!(event.inputs.is_empty());
    assert_eq!(event.metadata["user.id"], json!("ada"));
    assert_eq!(event.metadata["item_count"], json!(2));
    assert_eq!(event.metadata["total"], json!(7));
}

trait Step {
    fn run(&self, input: u32) -> impl Future<Output = u32> + Send;
}

struct Doubler;

impl Step for Doubler {
    #[trace_tool_call]
    fn run(&self, input: u32) -> impl Future<Output = u32> + Send {
        async move {
            tokio::task::yield_now().await;
            input * 2
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn rpitit_impl_written_as_a_sync_fn_returning_a_future() {
    let (value, trace) = support::traced_async(async { Doubler.run(4).await }).await;
    assert_eq!(value, 8);
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(event.output, Some(json!(8)));
}
