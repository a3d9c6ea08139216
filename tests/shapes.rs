//! Function shapes users write, one case a row of the macros' shape table, named after it:
//! each compiles under the attribute and records one event with the right outcome and
//! output. (More shapes: `tests/macro_shapes.rs`.)

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
