//! Running a call: a sync body or an async one as the task's current call, a panic
//! recorded and resumed, the capture and the finish out of line.

use std::convert::Infallible;
use std::future::Future;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use trace_core::ErrorRecord;

use crate::call::Call;

/// Runs a sync body as the call — opened by [`Call::start_sync`], so it is the task's
/// parent meanwhile; a panic is recorded (with its message) and resumed — then finishes
/// the call from the return value with the expansion's `finish`. Out of line, so that a
/// traced function's own frame holds only what the untraced path needs.
#[inline(never)]
pub fn run_sync<R>(call: Call, body: impl FnOnce() -> R, finish: impl FnOnce(Call, &R)) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => {
            // The caller gets its value back whatever the finish does (see `finish_with`).
            let _ = catch_unwind(AssertUnwindSafe(|| finish(call, &value)));
            value
        }
        Err(payload) => panicked(call, payload),
    }
}

/// Runs the sync part of a function that returns a future — the statements before the
/// future and the expression that makes it — as the call (the task's parent meanwhile); a
/// panic is recorded and resumed. Gives back the call with the future, which the
/// expansion then runs as the call with [`InCall`].
#[inline(never)]
pub fn run_prelude<F>(call: Call, body: impl FnOnce() -> F) -> (Call, F) {
    let previous = call.enter_task();
    let made = catch_unwind(AssertUnwindSafe(body));
    call.exit_task(previous);
    match made {
        Ok(future) => (call, future),
        Err(payload) => panicked(call, payload),
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
            Err(payload) => match this.call.take() {
                Some(call) => panicked(call, payload),
                None => resume_unwind(payload),
            },
        }
    }
}

/// Records the call as panicked with `payload`, and goes on unwinding.
pub(super) fn panicked(call: Call, payload: Box<dyn std::any::Any + Send>) -> ! {
    // A refusal (the session ended meanwhile) is counted in the tracer's stats.
    let _ = call.finish_panic(payload.as_ref());
    resume_unwind(payload)
}

fn unreachable_call() -> ! {
    unreachable!("the call was checked at the top of poll")
}

/// The sync body as an `FnOnce` closure: the bound decides the closure's kind, so that
/// the body may move what it captured (and return a borrow through a `&mut` parameter).
#[inline(always)]
pub fn once<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// Runs the expansion's argument capture, out of line: a traced function outside a scope
/// then carries none of its code in its own frame.
#[cold]
#[inline(never)]
pub fn capture_inputs(call: &mut Option<Call>, capture: impl FnOnce(&mut Call)) {
    if let Some(open) = call {
        // Every user impl the capture calls is guarded where it is called; should anything
        // else panic, the call ends there (recorded as cancelled) rather than the panic
        // reaching the caller.
        if catch_unwind(AssertUnwindSafe(|| capture(open))).is_err() {
            *call = None;
        }
    }
}

/// Runs the expansion's return-value capture and finishes the call, out of line.
#[cold]
#[inline(never)]
pub fn finish_with<R: ?Sized>(call: Call, returned: &R, finish: impl FnOnce(Call, &R)) {
    // As in `capture_inputs`: the caller gets its value back whatever happens here (the
    // call, dropped while unwinding, is recorded as panicked).
    let _ = catch_unwind(AssertUnwindSafe(|| finish(call, returned)));
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

/// `?` as a `#[track_caller]` body's expansion writes it (the `Try` trait is not stable):
/// the value to go on with, or what to leave the body with.
pub trait TryBranch {
    /// The value `?` gives.
    type Output;
    /// What `?` returns with.
    type Residual;
    /// Splits the value as `?` does.
    fn __trace_branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> TryBranch for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;

    #[inline(always)]
    fn __trace_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(value) => ControlFlow::Continue(value),
            Err(error) => ControlFlow::Break(Err(error)),
        }
    }
}

impl<T> TryBranch for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;

    #[inline(always)]
    fn __trace_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(value) => ControlFlow::Continue(value),
            None => ControlFlow::Break(None),
        }
    }
}

/// The return value a `?` leaves with, made from its residual as `?` makes it.
pub trait FromResidual<R> {
    /// Converts the residual (an error through `From`).
    fn __trace_from_residual(residual: R) -> Self;
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline(always)]
    fn __trace_from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(error) => Err(From::from(error)),
        }
    }
}

impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline(always)]
    fn __trace_from_residual(_: Option<Infallible>) -> Self {
        None
    }
}
