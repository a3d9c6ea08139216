//! Replay in a traced function: whether its return type can be rebuilt from a recorded
//! answer — chosen at compile time from the concrete type, by autoref specialization as
//! `dispatch` does — and the answer, decoded.
//!
//! The rungs, first that fits: `Result<T, E>` with `T: DeserializeOwned` and
//! `E: FromRecordedError` (both outcomes replay); `Result<T, E>` with `T: DeserializeOwned`
//! (a recorded `Err` is a divergence); `R: DeserializeOwned`; anything else (every call is
//! a divergence naming the type).

use std::any::type_name;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;
use trace_core::Outcome;

use crate::call::Call;
use crate::replay::run::Lookup;
use crate::replay::{Answer, Divergence, FromRecordedError};

/// What a replaying call does: return the recorded answer, run its body, or — for an async
/// call recorded as cancelled — never complete (its caller drops it again, as it did).
pub enum Replayed<R> {
    /// Return this (finished with it as the body's return value).
    Answer(Call, R),
    /// Run the body.
    Live(Call),
    /// Never complete.
    Hang(Call),
}

/// The return type `R` of a traced function, to replay it.
pub struct ReplayProbe<R>(PhantomData<fn() -> R>);

impl<R> ReplayProbe<R> {
    /// The probe.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ReplayProbe(PhantomData)
    }
}

/// Replays a call (`replay!(call, R)`) by the first rung its return type fits.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_replay {
    ($call:expr, $returned:ty) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{ReplayNone as _, ReplayResult as _, ReplayResultOk as _, ReplayValue as _};
        (&&&&$crate::macro_support::ReplayProbe::<$returned>::new()).__trace_replay($call)
    }};
}

/// Why a recorded answer does not do: the field, and the reason.
pub(super) type Unusable = (&'static str, String);

/// A `Result` whose `Ok` decodes and whose `Err` rebuilds.
pub trait ReplayResult<T, E> {
    /// The call's answer.
    fn __trace_replay(&self, call: Call) -> Replayed<Result<T, E>>;
}

impl<T: DeserializeOwned, E: FromRecordedError> ReplayResult<T, E> for &&&ReplayProbe<Result<T, E>> {
    fn __trace_replay(&self, call: Call) -> Replayed<Result<T, E>> {
        replay(call, |answer| match answer.outcome {
            Outcome::Err => rebuilt::<E>(answer).map(Err),
            _ => decoded::<T>(answer).map(Ok),
        })
    }
}

/// A `Result` whose `Ok` decodes.
pub trait ReplayResultOk<T, E> {
    /// The call's answer.
    fn __trace_replay(&self, call: Call) -> Replayed<Result<T, E>>;
}

impl<T: DeserializeOwned, E> ReplayResultOk<T, E> for &&ReplayProbe<Result<T, E>> {
    fn __trace_replay(&self, call: Call) -> Replayed<Result<T, E>> {
        replay(call, |answer| match answer.outcome {
            Outcome::Err => Err((
                "error",
                format!(
                    "a recorded `Err` is not rebuilt: `{}` does not implement `FromRecordedError`",
                    type_name::<E>()
                ),
            )),
            _ => decoded::<T>(answer).map(Ok),
        })
    }
}

/// Any value that decodes.
pub trait ReplayValue<R> {
    /// The call's answer.
    fn __trace_replay(&self, call: Call) -> Replayed<R>;
}

impl<R: DeserializeOwned> ReplayValue<R> for &ReplayProbe<R> {
    fn __trace_replay(&self, call: Call) -> Replayed<R> {
        replay(call, |answer| match answer.outcome {
            Outcome::Err => Err((
                "outcome",
                format!(
                    "the call was recorded as `Err`, and `{}` is not a `Result`",
                    type_name::<R>()
                ),
            )),
            _ => decoded::<R>(answer),
        })
    }
}

/// A type that cannot be rebuilt.
pub trait ReplayNone<R> {
    /// The call's answer: a divergence.
    fn __trace_replay(&self, call: Call) -> Replayed<R>;
}

impl<R> ReplayNone<R> for ReplayProbe<R> {
    fn __trace_replay(&self, call: Call) -> Replayed<R> {
        replay(call, |_| {
            Err((
                "return type",
                format!(
                    "`{}` does not implement `Deserialize`, so the call cannot be answered from the recording",
                    type_name::<R>()
                ),
            ))
        })
    }
}

/// The answer to a replaying call, or what it does instead.
fn replay<R>(mut call: Call, decode: impl FnOnce(&Answer) -> Result<R, Unusable>) -> Replayed<R> {
    let Some(lookup) = call.replay_lookup() else {
        return Replayed::Live(call);
    };
    let answer = match lookup {
        Lookup::Live => return Replayed::Live(call),
        Lookup::Diverged(divergence) => return diverge(call, divergence),
        Lookup::Answer(answer) => answer,
    };
    match answer.outcome {
        Outcome::Panicked => {
            let message = answer
                .error
                .as_ref()
                .map_or_else(String::new, |error| error.message.clone());
            call.answered(answer.metadata);
            super::run::panicked(call, Box::new(message))
        }
        Outcome::Cancelled => {
            call.answered(answer.metadata);
            Replayed::Hang(call)
        }
        Outcome::Ok | Outcome::Err => match decode(&answer) {
            Ok(value) => {
                call.answered(answer.metadata);
                Replayed::Answer(call, value)
            }
            Err((field, reason)) => {
                let recorded = match field {
                    "error" | "outcome" => answer.error.as_ref().map(|error| Value::from(error.to_string())),
                    _ => answer.output.clone(),
                };
                let divergence = answer.divergence(call.id(), field, recorded, reason);
                diverge(call, divergence)
            }
        },
    }
}

/// A replaying call of a function whose shape is not replayed (one returning a stream, an
/// iterator or a future, or an `impl Trait`): a divergence saying so. Gives the call back
/// when it is to run its body.
#[cold]
pub fn replay_unsupported(mut call: Call, reason: &'static str) -> Option<Call> {
    let Some(lookup) = call.replay_lookup() else {
        return Some(call);
    };
    let divergence = match lookup {
        Lookup::Live => return Some(call),
        Lookup::Diverged(divergence) => divergence,
        Lookup::Answer(answer) => answer.divergence(call.id(), "return type", None, reason.to_owned()),
    };
    match diverge::<()>(call, divergence) {
        Replayed::Live(call) | Replayed::Hang(call) | Replayed::Answer(call, ()) => Some(call),
    }
}

/// Follows the replay's policy at a divergence: run the body, or fail the call.
pub(super) fn diverge<R>(mut call: Call, divergence: Divergence) -> Replayed<R> {
    let message = format!("agent-trace replay diverged: {divergence}");
    if call.replay_diverged(divergence) {
        return Replayed::Live(call);
    }
    // A panic of its own (not a resumed one), so that the panic hook shows it: a test that
    // diverges says why.
    let _ = call.finish_panic(&message);
    std::panic::panic_any(message)
}

fn decoded<T: DeserializeOwned>(answer: &Answer) -> Result<T, Unusable> {
    decode_value(answer.output.clone().unwrap_or(Value::Null), "the recorded output")
}

fn rebuilt<E: FromRecordedError>(answer: &Answer) -> Result<E, Unusable> {
    let rebuilt = answer.error.as_ref().and_then(E::from_recorded);
    rebuilt.ok_or_else(|| {
        (
            "error",
            format!(
                "`{}::from_recorded` does not rebuild the recorded error",
                type_name::<E>()
            ),
        )
    })
}

/// `value` decoded; `what` it is, for the reason when it does not decode.
pub(super) fn decode_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, Unusable> {
    if value.get(trace_core::TRUNCATED_KEY).is_some() {
        return Err((
            "output",
            format!("{what} was cut at the capture limit, so it cannot be returned"),
        ));
    }
    serde_json::from_value(value).map_err(|error| {
        (
            "output",
            format!("{what} does not decode as `{}`: {error}", type_name::<T>()),
        )
    })
}
