//! Every function shape the attribute macros accept, each recorded as a user expects.

mod support;

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;

use agent_trace::{EventKind, Outcome, trace_agent, trace_env, trace_runtime, trace_tool_call};
use serde_json::json;
use support::{only_event, traced, traced_async};

#[trace_agent]
fn free_function(observation: u32) -> u32 {
    observation + 1
}

#[test]
fn a_free_function_records_its_arguments_and_result() {
    let (value, trace) = traced(|| free_function(41));
    assert_eq!(value, 42);
    let event = only_event(&trace);
    assert_eq!(
        (event.kind.clone(), event.system_id.as_str(), event.name.as_str()),
        (EventKind::Agent, "agent", "free_function")
    );
    assert_eq!(event.inputs["observation"], json!(41));
    assert_eq!(event.output, Some(json!(42)));
    assert_eq!(event.outcome, Outcome::Ok);
    assert!(event.module_path.ends_with("macro_shapes"), "{}", event.module_path);
}

#[trace_env]
async fn async_free_function(action: &str) -> String {
    tokio::task::yield_now().await;
    format!("did {action}")
}

#[tokio::test]
async fn an_async_function_records_across_awaits() {
    let (value, trace) = traced_async(async_free_function("dig")).await;
    assert_eq!(value, "did dig");
    let event = only_event(&trace);
    assert_eq!(
        (event.kind.clone(), event.system_id.as_str()),
        (EventKind::Environment, "environment")
    );
    assert_eq!(event.inputs["action"], json!("dig"));
    assert_eq!(event.output, Some(json!("did dig")));
}

#[derive(Debug, serde::Serialize)]
struct Counter {
    count: u32,
}

impl Counter {
    #[trace_agent(capture_self)]
    fn by_ref(&self, add: u32) -> u32 {
        self.count + add
    }

    #[trace_agent]
    fn by_mut(&mut self) {
        self.count += 1;
    }

    #[trace_agent(capture_self)]
    fn by_value(self) -> u32 {
        self.count
    }
}

#[test]
fn methods_taking_ref_mut_and_owned_self() {
    let (value, trace) = traced(|| {
        let mut counter = Counter { count: 1 };
        counter.by_mut();
        let sum = counter.by_ref(10);
        sum + counter.by_value()
    });
    assert_eq!(value, 14);
    let [by_mut, by_ref, by_value] = &trace.events[..] else {
        panic!("three events expected")
    };
    assert!(by_mut.inputs.is_empty(), "self is skipped unless captured");
    assert_eq!(by_mut.output, None, "a function without a return type has no output");
    assert_eq!(by_ref.inputs["self"], json!({"count": 2}));
    assert_eq!(by_ref.inputs["add"], json!(10));
    assert_eq!(by_value.inputs["self"], json!({"count": 2}));
    assert_eq!(by_value.output, Some(json!(2)));
}

trait Environment {
    fn reset(&mut self) -> u32;
    async fn step(&mut self, action: u32) -> u32;
    fn observe(&self) -> Pin<Box<dyn Future<Output = u32> + Send + '_>>;
}

struct Line {
    position: u32,
}

impl Environment for Line {
    #[trace_env]
    fn reset(&mut self) -> u32 {
        self.position = 0;
        self.position
    }

    #[trace_env]
    async fn step(&mut self, action: u32) -> u32 {
        tokio::task::yield_now().await;
        self.position += action;
        self.position
    }

    #[trace_env]
    fn observe(&self) -> Pin<Box<dyn Future<Output = u32> + Send + '_>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.position * 10
        })
    }
}

#[tokio::test]
async fn trait_impl_methods_native_async_and_boxed_futures() {
    let (value, trace) = traced_async(async {
        let mut line = Line { position: 5 };
        line.reset();
        line.step(3).await;
        line.observe().await
    })
    .await;
    assert_eq!(value, 30);
    let names: Vec<_> = trace
        .events
        .iter()
        .map(|e| (e.name.as_str(), e.output.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("reset", Some(json!(0))),
            ("step", Some(json!(3))),
            ("observe", Some(json!(30)))
        ]
    );
    assert!(trace.events[2].duration > std::time::Duration::ZERO);
}

#[async_trait::async_trait]
trait Tool {
    async fn call(&self, query: String) -> Result<String, std::io::Error>;
}

struct Echo;

#[async_trait::async_trait]
impl Tool for Echo {
    #[trace_tool_call]
    async fn call(&self, query: String) -> Result<String, std::io::Error> {
        tokio::task::yield_now().await;
        if query.is_empty() {
            return Err(std::io::Error::other("empty query"));
        }
        Ok(query.to_uppercase())
    }
}

#[tokio::test]
async fn an_async_trait_method_is_traced_through_its_inner_future() {
    let (value, trace) = traced_async(async {
        let echo: &dyn Tool = &Echo;
        let ok = echo.call("wood".into()).await;
        let err = echo.call(String::new()).await;
        (ok.ok(), err.is_err())
    })
    .await;
    assert_eq!(value, (Some("WOOD".to_owned()), true));
    let [ok, err] = &trace.events[..] else {
        panic!("two events expected")
    };
    assert_eq!(
        (ok.inputs["query"].clone(), ok.output.clone()),
        (json!("wood"), Some(json!("WOOD")))
    );
    assert_eq!(err.outcome, Outcome::Err);
    assert_eq!(err.error.as_ref().map(|e| e.message.as_str()), Some("empty query"));
}

#[trace_agent]
fn generic_unbounded<T>(value: T) -> usize {
    std::mem::size_of_val(&value)
}

#[trace_agent]
fn generic_bounded<T: serde::Serialize + Clone>(value: T) -> T {
    value.clone()
}

#[trace_agent]
fn with_where_clause<T, U>(left: T, right: U) -> String
where
    T: Display,
    U: std::fmt::Debug,
{
    format!("{left}{right:?}")
}

#[test]
fn generic_functions_capture_through_their_bounds() {
    let (_, trace) = traced(|| {
        generic_unbounded(7u8);
        generic_bounded(vec![1, 2]);
        with_where_clause("a", 'b');
    });
    assert_eq!(
        trace.events[0].inputs["value"],
        json!("<u8>"),
        "no bound: the type's name"
    );
    assert_eq!(trace.events[1].inputs["value"], json!([1, 2]));
    assert_eq!(trace.events[1].output, Some(json!([1, 2])));
    assert_eq!(
        trace.events[2].inputs["left"],
        json!("<&str>"),
        "Display alone is not a capture bound"
    );
    assert_eq!(trace.events[2].inputs["right"], json!("'b'"), "Debug");
    assert_eq!(trace.events[2].output, Some(json!("a'b'")));
}

#[trace_agent]
fn with_lifetimes<'a>(text: &'a str, other: &str) -> &'a str {
    if other.is_empty() { text } else { &text[..1] }
}

#[trace_agent]
fn impl_trait_argument(label: impl Display, items: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    let label = label.to_string();
    items.into_iter().map(move |item| item + label.len() as u32)
}

#[test]
fn lifetimes_and_impl_trait_in_and_out() {
    let (value, trace) = traced(|| {
        let first = with_lifetimes("hello", "x");
        let summed: u32 = impl_trait_argument("ab", vec![1, 2]).sum();
        (first, summed)
    });
    assert_eq!(value, ("h", 7));
    assert_eq!(trace.events[0].inputs["text"], json!("hello"));
    assert_eq!(trace.events[0].output, Some(json!("h")));
    assert_eq!(trace.events[1].inputs["label"], json!("<&str>"));
    assert_eq!(
        trace.events[1].output,
        Some(json!([3, 4])),
        "an iterator's items, read after the call returned"
    );
}

#[derive(serde::Serialize)]
struct Point {
    x: i32,
    y: i32,
}

#[trace_agent]
fn mutable_parameter(mut budget: u32) -> u32 {
    budget -= 1;
    budget
}

#[trace_agent]
fn pattern_parameters((a, b): (u32, u32), Point { x, y }: Point) -> i64 {
    i64::from(a + b) + i64::from(x * y)
}

#[test]
fn mut_and_pattern_parameters_capture_each_binding() {
    let (value, trace) = traced(|| (mutable_parameter(5), pattern_parameters((1, 2), Point { x: 3, y: 4 })));
    assert_eq!(value, (4, 15));
    assert_eq!(
        trace.events[0].inputs["budget"],
        json!(5),
        "captured before the body changes it"
    );
    let inputs = &trace.events[1].inputs;
    assert_eq!(
        (
            inputs["a"].clone(),
            inputs["b"].clone(),
            inputs["x"].clone(),
            inputs["y"].clone()
        ),
        (json!(1), json!(2), json!(3), json!(4))
    );
}

/// # Safety
/// `pointer` must be valid for reads.
#[trace_runtime]
unsafe fn unsafe_function(pointer: *const u32) -> u32 {
    unsafe { *pointer }
}

#[test]
fn an_unsafe_function() {
    let value = 9u32;
    let (read, trace) = traced(|| unsafe { unsafe_function(&value) });
    assert_eq!(read, 9);
    assert_eq!(only_event(&trace).output, Some(json!(9)));
    assert!(
        only_event(&trace).inputs["pointer"].as_str().unwrap().starts_with("0x"),
        "raw pointers are Debug"
    );
}

#[derive(Debug, thiserror::Error)]
#[error("tool failed")]
struct ToolError {
    #[source]
    cause: std::io::Error,
}

#[trace_tool_call]
fn returns_std_error(fail: bool) -> Result<u32, ToolError> {
    if fail {
        return Err(ToolError {
            cause: std::io::Error::other("disk full"),
        });
    }
    Ok(1)
}

#[trace_tool_call]
fn returns_anyhow(fail: bool) -> anyhow::Result<u32> {
    let parsed: u32 = if fail { "x".parse()? } else { "2".parse()? };
    Ok(parsed)
}

#[trace_tool_call]
fn returns_boxed_error(fail: bool) -> Result<u32, Box<dyn std::error::Error>> {
    if fail {
        Err("boxed failure")?;
    }
    Ok(3)
}

#[derive(Debug)]
#[allow(dead_code)]
enum DebugOnly {
    Refused { code: u8 },
}

#[trace_tool_call]
fn returns_debug_only_error(fail: bool) -> Result<u32, DebugOnly> {
    if fail {
        Err(DebugOnly::Refused { code: 7 })
    } else {
        Ok(4)
    }
}

#[test]
fn results_record_ok_values_and_every_kind_of_error() {
    let (_, trace) = traced(|| {
        let _ = returns_std_error(false);
        let _ = returns_std_error(true);
        let _ = returns_anyhow(true);
        let _ = returns_boxed_error(true);
        let _ = returns_debug_only_error(true);
        let _ = returns_debug_only_error(false);
    });
    let events = &trace.events;
    assert_eq!(
        (events[0].outcome, events[0].output.clone()),
        (Outcome::Ok, Some(json!(1)))
    );

    let std_error = events[1].error.as_ref().unwrap();
    assert_eq!((events[1].outcome, events[1].output.clone()), (Outcome::Err, None));
    assert!(std_error.kind.ends_with("ToolError"), "{}", std_error.kind);
    assert_eq!(
        (std_error.message.as_str(), std_error.chain.clone()),
        ("tool failed", vec!["disk full".to_owned()])
    );

    let anyhow_error = events[2].error.as_ref().unwrap();
    assert!(anyhow_error.kind.contains("anyhow"), "{}", anyhow_error.kind);
    assert_eq!(anyhow_error.message, "invalid digit found in string");

    let boxed = events[3].error.as_ref().unwrap();
    assert_eq!(boxed.message, "boxed failure");

    let debug_only = events[4].error.as_ref().unwrap();
    assert_eq!(debug_only.message, "Refused { code: 7 }");
    assert_eq!(events[5].output, Some(json!(4)));
}

#[trace_agent]
fn returns_option(key: &str) -> Option<u32> {
    let value = key.len().checked_sub(1)?;
    Some(value as u32)
}

// The shape itself is what clippy flags, traced or not.
#[allow(clippy::unused_unit)]
#[trace_agent]
fn returns_unit_explicitly(flag: bool) -> () {
    if flag {
        return;
    }
}

#[test]
fn options_units_early_returns_and_question_marks() {
    let (_, trace) = traced(|| {
        returns_option("abc");
        returns_option("");
        returns_unit_explicitly(true);
    });
    assert_eq!(trace.events[0].output, Some(json!(2)));
    assert_eq!(
        (trace.events[1].output.clone(), trace.events[1].outcome),
        (Some(json!(null)), Outcome::Ok),
        "None is a value"
    );
    assert_eq!(
        trace.events[2].output,
        Some(json!(null)),
        "an explicit `-> ()` records null"
    );
}

#[trace_agent]
fn outer_call(depth: u32) -> u32 {
    if depth == 0 { 0 } else { inner_call(depth) }
}

#[trace_tool_call]
fn inner_call(depth: u32) -> u32 {
    outer_call(depth - 1) + 1
}

#[test]
fn nested_traced_calls_get_their_parents() {
    let (value, trace) = traced(|| outer_call(2));
    assert_eq!(value, 2);
    let ids: Vec<_> = trace.events.iter().map(|e| (e.name.as_str(), e.parent)).collect();
    let id = |i: usize| Some(trace.events[i].id);
    assert_eq!(
        ids,
        vec![
            ("outer_call", None),
            ("inner_call", id(0)),
            ("outer_call", id(1)),
            ("inner_call", id(2)),
            ("outer_call", id(3))
        ]
    );
}
