//! What the attribute macros' expansions call. Not a stable API.
//!
//! Capture is chosen at compile time, at the traced function, by autoref specialization:
//! `(&&&&Capture::input(..)).__trace_capture(call)` resolves to the first of "a JSON scalar"
//! (numbers, strings, …, written directly), `Serialize`, `Debug` and "neither" that the
//! value's type satisfies, without adding a bound to the user's function. The same trick
//! splits a return value into `Ok`/`Err` when it is a `Result`, picks the richest way to
//! record an error, and finds token usage on LLM responses.

use std::any::type_name;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use serde::Serialize;
use trace_core::LlmUsage;

pub use crate::call::Call;
pub use crate::captured::{Plain, PlainValue};
pub use crate::node::Node;
pub use crate::site::{BundleSite, CallSite};
pub use serde_json::Value;
pub use trace_core::graph::NodeId;
pub use trace_core::recorded::EventNames;
pub use trace_core::{CallRecord, ErrorRecord, EventKind, Map, Message};

/// A value to capture: an argument (by name, and its key as JSON) or the output.
pub struct Capture<'a, T: ?Sized> {
    /// The argument's name and `"name":`; `None` for the output.
    name: Option<(&'a str, &'a str)>,
    value: &'a T,
}

impl<'a, T: ?Sized> Capture<'a, T> {
    /// Wraps an argument for capture; `json_key` is its name as a JSON key, `"name":`.
    pub fn input(name: &'a str, json_key: &'a str, value: &'a T) -> Self {
        Capture {
            name: Some((name, json_key)),
            value,
        }
    }

    /// Wraps the output for capture.
    pub fn output(value: &'a T) -> Self {
        Capture { name: None, value }
    }
}

/// Capture of a value that is one JSON scalar, written directly (preferred).
pub trait CapturePlain {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: PlainValue + ?Sized> CapturePlain for &&&Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        match self.name {
            Some((name, json_key)) => call.capture_input_plain(name, json_key, self.value.plain()),
            None => call.capture_output_plain(self.value.plain()),
        }
    }
}

/// Capture through `Serialize`.
pub trait CaptureSerialize {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: Serialize + ?Sized> CaptureSerialize for &&Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        match self.name {
            Some((name, json_key)) => call.capture_input_keyed(name, json_key, self.value),
            None => call.capture_output(self.value),
        }
    }
}

/// Capture through `Debug` (when the type is not `Serialize`).
pub trait CaptureDebug {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: Debug + ?Sized> CaptureDebug for &Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        match self.name {
            Some((name, _)) => call.capture_input_debug(name, &self.value),
            None => call.capture_output_debug(&self.value),
        }
    }
}

/// Capture of a type that is neither: its name.
pub trait CaptureOpaque {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: ?Sized> CaptureOpaque for Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        match self.name {
            Some((name, _)) => call.capture_input_opaque(name, type_name::<T>()),
            None => call.capture_output_opaque(type_name::<T>()),
        }
    }
}

/// A return value, `Ok` or `Err` for a `Result`, the whole value otherwise.
pub enum Split<'a, T: ?Sized, E: ?Sized, R: ?Sized> {
    /// The `Ok` value of a `Result`.
    Ok(&'a T),
    /// The `Err` value of a `Result`.
    Err(&'a E),
    /// A value that is not a `Result`.
    Value(&'a R),
}

/// A type with no values, for the unused arms of a [`Split`].
pub enum Never {}

/// Wraps a return value to split it.
pub struct ReturnProbe<'a, R: ?Sized>(pub &'a R);

/// Splitting a `Result`.
pub trait SplitResult<'a, T, E> {
    /// The split value.
    fn __trace_split(&self) -> Split<'a, T, E, Never>;
}

impl<'a, T, E> SplitResult<'a, T, E> for &ReturnProbe<'a, Result<T, E>> {
    fn __trace_split(&self) -> Split<'a, T, E, Never> {
        match self.0 {
            Ok(value) => Split::Ok(value),
            Err(error) => Split::Err(error),
        }
    }
}

/// Splitting anything else.
pub trait SplitValue<'a, R: ?Sized> {
    /// The split value.
    fn __trace_split(&self) -> Split<'a, Never, Never, R>;
}

impl<'a, R: ?Sized> SplitValue<'a, R> for ReturnProbe<'a, R> {
    fn __trace_split(&self) -> Split<'a, Never, Never, R> {
        Split::Value(self.0)
    }
}

/// Wraps an error to record it.
pub struct ErrorProbe<'a, E: ?Sized>(pub &'a E);

macro_rules! error_level {
    ($(#[$doc:meta])* $trait:ident, $refs:ty, [$($bound:tt)*], |$probe:ident| $body:expr) => {
        $(#[$doc])*
        pub trait $trait {
            /// The error as recorded.
            fn __trace_error(&self) -> ErrorRecord;
        }
        impl<E: ?Sized + $($bound)*> $trait for $refs {
            fn __trace_error(&self) -> ErrorRecord {
                let $probe: &E = self.0;
                $body
            }
        }
    };
}

error_level!(
    /// An error type: type name, message and `source()` chain.
    ErrorViaError, &&&&&ErrorProbe<'_, E>, [std::error::Error],
    |error| ErrorRecord::from_error(error)
);
error_level!(
    /// A handle on a `dyn Error + Send + Sync` (`anyhow::Error`, `Box<dyn Error + Send + Sync>`).
    ErrorViaDynSendSync, &&&&ErrorProbe<'_, E>, [Deref<Target = dyn std::error::Error + Send + Sync + 'static>],
    |error| ErrorRecord { kind: type_name::<E>().to_owned(), ..ErrorRecord::from_error(&**error) }
);
error_level!(
    /// A handle on a `dyn Error` (`Box<dyn Error>`).
    ErrorViaDyn, &&&ErrorProbe<'_, E>, [Deref<Target = dyn std::error::Error + 'static>],
    |error| ErrorRecord { kind: type_name::<E>().to_owned(), ..ErrorRecord::from_error(&**error) }
);
error_level!(
    /// Anything `Display`.
    ErrorViaDisplay, &&ErrorProbe<'_, E>, [Display],
    |error| ErrorRecord::new(type_name::<E>(), error.to_string())
);
error_level!(
    /// Anything `Debug`.
    ErrorViaDebug, &ErrorProbe<'_, E>, [Debug],
    |error| ErrorRecord::new(type_name::<E>(), format!("{error:?}"))
);

/// Anything else: its type name.
pub trait ErrorOpaque {
    /// The error as recorded.
    fn __trace_error(&self) -> ErrorRecord;
}

impl<E: ?Sized> ErrorOpaque for ErrorProbe<'_, E> {
    fn __trace_error(&self) -> ErrorRecord {
        ErrorRecord::new(type_name::<E>(), format!("<{}>", type_name::<E>()))
    }
}

/// Finds the graph nodes in a `#[bundle]` argument: `Node`s, by value or reference, and
/// inside `Option`, `Vec`, slices, arrays, boxes and tuples of such.
pub trait Dependencies {
    /// Appends the ids of the nodes inside.
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>);
}

impl<T> Dependencies for Node<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        if !self.id().is_detached() {
            nodes.push(self.id());
        }
    }
}

impl<T: Dependencies + ?Sized> Dependencies for &T {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies + ?Sized> Dependencies for &mut T {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies + ?Sized> Dependencies for Box<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        (**self).collect_nodes(nodes);
    }
}

impl<T: Dependencies> Dependencies for Option<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        if let Some(inner) = self {
            inner.collect_nodes(nodes);
        }
    }
}

impl<T: Dependencies> Dependencies for [T] {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

impl<T: Dependencies, const N: usize> Dependencies for [T; N] {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

impl<T: Dependencies> Dependencies for Vec<T> {
    fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.iter().for_each(|item| item.collect_nodes(nodes));
    }
}

macro_rules! leaf_dependencies {
    ($($leaf:ty),*) => {$(
        impl Dependencies for $leaf {
            fn collect_nodes(&self, _: &mut Vec<NodeId>) {}
        }
    )*};
}

leaf_dependencies!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    ()
);

macro_rules! tuple_dependencies {
    ($(($($name:ident),+))*) => {$(
        impl<$($name: Dependencies),+> Dependencies for ($($name,)+) {
            #[allow(non_snake_case)]
            fn collect_nodes(&self, nodes: &mut Vec<NodeId>) {
                let ($($name,)+) = self;
                $($name.collect_nodes(nodes);)+
            }
        }
    )*};
}

tuple_dependencies!((A)(A, B)(A, B, C)(A, B, C, D)(A, B, C, D, E)(A, B, C, D, E, F));

/// Wraps a `#[bundle]` argument to find its nodes.
pub struct NodeProbe<'a, T: ?Sized>(pub &'a T);

/// An argument holding nodes.
pub trait NodesViaDependencies {
    /// Appends the ids of the nodes inside.
    fn __trace_nodes(&self, nodes: &mut Vec<NodeId>);
}

impl<T: Dependencies + ?Sized> NodesViaDependencies for &NodeProbe<'_, T> {
    fn __trace_nodes(&self, nodes: &mut Vec<NodeId>) {
        self.0.collect_nodes(nodes);
    }
}

/// An argument without nodes.
pub trait NodesNone {
    /// Appends nothing.
    fn __trace_nodes(&self, nodes: &mut Vec<NodeId>);
}

impl<T: ?Sized> NodesNone for NodeProbe<'_, T> {
    fn __trace_nodes(&self, _: &mut Vec<NodeId>) {}
}

/// Wraps an LLM call's response to find its token usage.
pub struct UsageProbe<'a, T: ?Sized>(pub &'a T);

/// A response with token usage.
pub trait UsageViaTrait {
    /// `(input_tokens, output_tokens)`.
    fn __trace_usage(&self) -> (Option<u64>, Option<u64>);
}

impl<T: LlmUsage + ?Sized> UsageViaTrait for &UsageProbe<'_, T> {
    fn __trace_usage(&self) -> (Option<u64>, Option<u64>) {
        (self.0.input_tokens(), self.0.output_tokens())
    }
}

/// A response without.
pub trait UsageNone {
    /// `(None, None)`.
    fn __trace_usage(&self) -> (Option<u64>, Option<u64>);
}

impl<T: ?Sized> UsageNone for UsageProbe<'_, T> {
    fn __trace_usage(&self) -> (Option<u64>, Option<u64>) {
        (None, None)
    }
}

/// Runs a sync body as the call — opened by [`Call::start_sync`], so it is the task's
/// parent meanwhile; a panic is recorded (with its message) and resumed — then finishes
/// the call from the return value with the expansion's `finish`. Out of line, so that a
/// traced function's own frame holds only what the untraced path needs.
#[inline(never)]
pub fn run_sync<R>(call: Call, body: impl FnOnce() -> R, finish: impl FnOnce(Call, &R)) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => {
            finish(call, &value);
            value
        }
        Err(payload) => {
            // A refusal (the session ended meanwhile) is counted in the tracer's stats.
            let _ = call.finish_panic(payload.as_ref());
            resume_unwind(payload)
        }
    }
}

pin_project! {
    /// Runs an async body as the call: the call is the task's parent during every poll,
    /// a panic is recorded and resumed, and dropping the future early records `Cancelled`.
    /// Gives the call back with the output, to be finished by the expansion.
    pub struct InCall<F> {
        #[pin]
        future: F,
        call: Option<Call>,
    }
}

impl<F: Future> InCall<F> {
    /// Wraps `future` as `call`.
    pub fn new(call: Call, future: F) -> Self {
        InCall {
            future,
            call: Some(call),
        }
    }
}

impl<F: Future> Future for InCall<F> {
    type Output = (F::Output, Call);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(call) = this.call.as_ref() else {
            panic!("a traced future was polled after it completed")
        };
        let previous = call.enter_task();
        let future = this.future;
        let result = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        call.exit_task(previous);
        match result {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => match this.call.take() {
                Some(call) => Poll::Ready((output, call)),
                None => unreachable_call(),
            },
            Err(payload) => {
                if let Some(call) = this.call.take() {
                    // A refusal (the session ended meanwhile) is counted in the tracer's stats.
                    let _ = call.finish_panic(payload.as_ref());
                }
                resume_unwind(payload)
            }
        }
    }
}

fn unreachable_call() -> ! {
    unreachable!("the call was checked at the top of poll")
}

/// Runs the expansion's argument capture, out of line: a traced function outside a scope
/// then carries none of its code in its own frame.
#[cold]
#[inline(never)]
pub fn capture_inputs(call: &mut Option<Call>, capture: impl FnOnce(&mut Call)) {
    if let Some(call) = call {
        capture(call);
    }
}

/// Runs the expansion's return-value capture and finishes the call, out of line.
#[cold]
#[inline(never)]
pub fn finish_with<R: ?Sized>(call: Call, returned: &R, finish: impl FnOnce(Call, &R)) {
    finish(call, returned);
}

/// Records the end of a call that returned (its output, if any, already captured).
pub fn finish_ok(call: Call) {
    // A refusal (the session ended meanwhile) is counted in the tracer's stats.
    let _ = call.finish_ok();
}

/// Records the end of a call that returned an `Err`.
pub fn finish_err(call: Call, error: ErrorRecord) {
    // A refusal (the session ended meanwhile) is counted in the tracer's stats.
    let _ = call.finish_err(error);
}
