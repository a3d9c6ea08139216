//! Compile-time dispatch: what the expansion of a traced function knows only from the
//! concrete types at the call — how to capture a value, whether a return value is a
//! `Result`, how to record an error, which arguments hold graph nodes, whether a response
//! carries token usage — chosen without adding a bound to the user's function, by autoref
//! specialization.
//!
//! Each choice is a ladder of traits implemented for `&&…&Probe`, one `&` fewer a rung;
//! method lookup on the probe with as many `&`s as the ladder has rungs picks the first rung
//! whose bound the type meets. The number of `&`s is written once per ladder, in the macro
//! beside it ([`capture!`](crate::macro_support::capture), [`finish!`](crate::macro_support::finish),
//! [`nodes!`](crate::macro_support::nodes)), which is what the expansion calls.

use std::any::type_name;
use std::fmt::{Debug, Display};
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use trace_core::graph::NodeId;
use trace_core::{ErrorRecord, LlmRequest, LlmUsage};

use crate::call::Call;
use crate::capture::{ArgKey, PlainValue, Source};
use crate::node::Dependencies;

/// A value to capture: an argument (by name, and its key as JSON), a field of the
/// event's metadata (`fields(key = ..)`), the output, or an item of a returned stream.
pub struct Capture<'a, T: ?Sized> {
    target: Target<'a>,
    value: &'a T,
}

/// Where a [`Capture`] goes.
#[derive(Clone, Copy)]
enum Target<'a> {
    Input(ArgKey<'a>),
    Field(&'a str),
    Output,
    Item,
}

impl<'a, T: ?Sized> Capture<'a, T> {
    /// Wraps an argument for capture; `json_key` is its name as a JSON key, `"name":` (a
    /// Rust identifier needs no escaping).
    pub fn input(name: &'a str, json_key: &'a str, value: &'a T) -> Self {
        Capture {
            target: Target::Input(ArgKey {
                name,
                json: Some(json_key),
            }),
            value,
        }
    }

    /// Wraps a value for the event's metadata under `key`.
    pub fn field(key: &'a str, value: &'a T) -> Self {
        Capture {
            target: Target::Field(key),
            value,
        }
    }

    /// Wraps the output for capture.
    pub fn output(value: &'a T) -> Self {
        Capture {
            target: Target::Output,
            value,
        }
    }

    /// Wraps an item of a returned stream (or iterator) for the output's list.
    pub fn item(value: &'a T) -> Self {
        Capture {
            target: Target::Item,
            value,
        }
    }

    /// Captures the value, written as `source` says, into `call`.
    #[inline(always)]
    fn record<S: Serialize + ?Sized>(&self, call: &mut Call, source: Source<'_, S>) {
        match self.target {
            Target::Input(key) => call.capture_input(key, source),
            Target::Field(key) => call.capture_field(key, source),
            Target::Output => call.capture_output(source),
            Target::Item => call.capture_output_item(source),
        }
    }
}

/// Captures a value into a call (`capture!(call, Capture::input(..))`), by the first of these
/// its type has: a plain JSON scalar (`PlainValue`), `Serialize`, `Debug`, neither (its
/// type's name).
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_capture {
    ($call:expr, $capture:expr) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{CaptureDebug as _, CaptureOpaque as _, CapturePlain as _, CaptureSerialize as _};
        (&&&&$capture).__trace_capture($call)
    }};
}

/// Capture of a value that is one JSON scalar, written directly (preferred).
pub trait CapturePlain {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: PlainValue + ?Sized> CapturePlain for &&&Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        self.record(call, Source::<()>::Plain(self.value.plain()));
    }
}

/// Capture through `Serialize`.
pub trait CaptureSerialize {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: Serialize + ?Sized> CaptureSerialize for &&Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        self.record(call, Source::Serialize(self.value));
    }
}

/// Capture through `Debug` (when the type is not `Serialize`).
pub trait CaptureDebug {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: Debug> CaptureDebug for &Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        self.record(call, Source::<()>::Debug(self.value));
    }
}

/// Capture of a type that is neither: its name.
pub trait CaptureOpaque {
    /// Captures the value into the call.
    fn __trace_capture(&self, call: &mut Call);
}

impl<T: ?Sized> CaptureOpaque for Capture<'_, T> {
    fn __trace_capture(&self, call: &mut Call) {
        self.record(call, Source::<()>::Opaque(type_name::<T>()));
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

/// Records an error through its `what` impl (`Display`, `Debug`): a panic in it is recorded
/// as the error's message, naming the impl.
fn guarded_error<E: ?Sized>(what: &str, record: impl FnOnce() -> ErrorRecord) -> ErrorRecord {
    catch_unwind(AssertUnwindSafe(record)).unwrap_or_else(|payload| {
        let panic = ErrorRecord::from_panic(payload.as_ref());
        ErrorRecord::new(
            type_name::<E>(),
            format!("<{what} implementation panicked: {}>", panic.message),
        )
    })
}

macro_rules! error_level {
    ($(#[$doc:meta])* $trait:ident, $refs:ty, [$($bound:tt)*], $what:literal, |$probe:ident| $body:expr) => {
        $(#[$doc])*
        pub trait $trait {
            /// The error as recorded.
            fn __trace_error(&self) -> ErrorRecord;
        }
        impl<E: ?Sized + $($bound)*> $trait for $refs {
            fn __trace_error(&self) -> ErrorRecord {
                let $probe: &E = self.0;
                guarded_error::<E>($what, || $body)
            }
        }
    };
}

error_level!(
    /// An error type: type name, message and `source()` chain.
    ErrorViaError, &&&&&ErrorProbe<'_, E>, [std::error::Error], "Display",
    |error| ErrorRecord::from_error(error)
);
error_level!(
    /// A handle on a `dyn Error + Send + Sync` (`anyhow::Error`, `Box<dyn Error + Send + Sync>`).
    ErrorViaDynSendSync, &&&&ErrorProbe<'_, E>, [Deref<Target = dyn std::error::Error + Send + Sync + 'static>], "Display",
    |error| ErrorRecord { kind: type_name::<E>().to_owned(), ..ErrorRecord::from_error(&**error) }
);
error_level!(
    /// A handle on a `dyn Error` (`Box<dyn Error>`).
    ErrorViaDyn, &&&ErrorProbe<'_, E>, [Deref<Target = dyn std::error::Error + 'static>], "Display",
    |error| ErrorRecord { kind: type_name::<E>().to_owned(), ..ErrorRecord::from_error(&**error) }
);
error_level!(
    /// Anything `Display`.
    ErrorViaDisplay, &&ErrorProbe<'_, E>, [Display], "Display",
    |error| ErrorRecord::new(type_name::<E>(), error.to_string())
);
error_level!(
    /// Anything `Debug`.
    ErrorViaDebug, &ErrorProbe<'_, E>, [Debug], "Debug",
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

/// Wraps a `#[bundle]` argument to find its nodes.
pub struct NodeProbe<'a, T: ?Sized>(pub &'a T);

/// An argument holding nodes.
pub trait NodesViaDependencies {
    /// Appends the ids of the nodes inside.
    fn __trace_nodes(&self, nodes: &mut Vec<NodeId>);
}

impl<T: Dependencies + ?Sized> NodesViaDependencies for &NodeProbe<'_, T> {
    fn __trace_nodes(&self, nodes: &mut Vec<NodeId>) {
        // A panicking impl of the user's own adds what it found before it panicked.
        let _ = catch_unwind(AssertUnwindSafe(|| self.0.collect_nodes(nodes)));
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
    /// Records the response's usage into the call.
    fn __trace_usage(&self, call: &mut Call);
}

impl<T: LlmUsage + ?Sized> UsageViaTrait for &UsageProbe<'_, T> {
    fn __trace_usage(&self, call: &mut Call) {
        call.record_usage(self.0);
    }
}

/// A response without.
pub trait UsageNone {
    /// Records nothing.
    fn __trace_usage(&self, call: &mut Call);
}

impl<T: ?Sized> UsageNone for UsageProbe<'_, T> {
    fn __trace_usage(&self, _call: &mut Call) {}
}

/// Wraps an argument of an LLM call to find the request parameters it gives.
pub struct RequestProbe<'a, T: ?Sized>(pub &'a T);

/// An argument that is a request.
pub trait RequestViaTrait {
    /// Records the request's parameters into the call.
    fn __trace_request(&self, call: &mut Call);
}

impl<T: LlmRequest + ?Sized> RequestViaTrait for &RequestProbe<'_, T> {
    fn __trace_request(&self, call: &mut Call) {
        call.record_request(self.0);
    }
}

/// Any other argument.
pub trait RequestNone {
    /// Records nothing.
    fn __trace_request(&self, call: &mut Call);
}

impl<T: ?Sized> RequestNone for RequestProbe<'_, T> {
    #[inline(always)]
    fn __trace_request(&self, _call: &mut Call) {}
}

/// Records the request parameters an argument of an LLM call gives
/// (`request!(call, &argument)`), when its type implements `LlmRequest`.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_request {
    ($call:expr, $value:expr) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{RequestNone as _, RequestViaTrait as _};
        (&&$crate::macro_support::RequestProbe($value)).__trace_request($call)
    }};
}

/// Finishes a call from the value its function returned (`finish!(call, &returned,
/// output: true, usage: false)`): a `Result` records its `Ok` value as the output (when
/// `output` is `true`) and its `Err` as the error, recorded the richest way the error's type
/// allows (`Error` with its `source()` chain, a handle on a `dyn Error`, `Display`, `Debug`,
/// its type's name); anything else is the output. With `usage: true` (LLM calls), a value
/// that implements `LlmUsage` records its token counts.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_finish {
    ($call:ident, $returned:expr, output: $output:tt, usage: $usage:tt) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{
            ErrorOpaque as _, ErrorViaDebug as _, ErrorViaDisplay as _, ErrorViaDyn as _, ErrorViaDynSendSync as _,
            ErrorViaError as _, SplitResult as _, SplitValue as _, UsageNone as _, UsageViaTrait as _,
        };
        #[allow(unused_mut)]
        let mut $call = $call;
        #[allow(unreachable_patterns, unused_variables)]
        match (&&$crate::macro_support::ReturnProbe($returned)).__trace_split() {
            $crate::macro_support::Split::Ok(value) => {
                $crate::__agent_trace_finish!(@returned $call, value, $output, $usage)
            }
            $crate::macro_support::Split::Value(value) => {
                $crate::__agent_trace_finish!(@returned $call, value, $output, $usage)
            }
            $crate::macro_support::Split::Err(error) => $crate::macro_support::finish_err(
                $call,
                (&&&&&&$crate::macro_support::ErrorProbe(error)).__trace_error(),
            ),
        }
    }};
    (@returned $call:ident, $value:ident, $output:tt, $usage:tt) => {{
        $crate::__agent_trace_finish!(@usage $call, $value, $usage);
        $crate::__agent_trace_finish!(@output $call, $value, $output);
        $crate::macro_support::finish_ok($call)
    }};
    (@usage $call:ident, $value:ident, true) => {{
        (&&$crate::macro_support::UsageProbe($value)).__trace_usage(&mut $call);
    }};
    (@usage $call:ident, $value:ident, false) => {{}};
    (@output $call:ident, $value:ident, true) => {
        $crate::__agent_trace_capture!(&mut $call, $crate::macro_support::Capture::output($value))
    };
    (@output $call:ident, $value:ident, false) => {{}};
}

/// Appends the ids of the graph nodes an argument holds (`nodes!(&argument, &mut ids)`):
/// `Node`s and what [`Dependencies`] finds them in; nothing for any other type.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_nodes {
    ($value:expr, $nodes:expr) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{NodesNone as _, NodesViaDependencies as _};
        (&&$crate::macro_support::NodeProbe($value)).__trace_nodes($nodes)
    }};
}
