//! A stream's or an iterator's items in a replay: kept as the recorded call reads them
//! (`stream.replay_items`, in the form `kept.rs` describes), and given back in a replay, decoded into the items' own type by the same autoref ladder
//! as a return value (`replay.rs`): the body does not run.

use std::any::type_name;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use serde_json::Value;
use trace_core::Outcome;

use super::items::Items;
use super::kept::{RecordedItem, recorded_items};
use super::replay::{Replayed, Unusable, decode_value, diverge};
use crate::call::Call;
use crate::replay::run::Lookup;
use crate::replay::{Divergence, FromRecordedError};
use crate::sync::lock;

pin_project! {
    /// Where a traced function's items come from: what its body returned, or a replay's
    /// recording (the body did not run).
    #[project = SourceProjection]
    #[allow(missing_docs)] // the variants' fields, which the macro takes no documentation for
    pub enum ItemSource<S, T> {
        /// The body's stream or iterator (`source`).
        Live { #[pin] source: S },
        /// The recorded items left (`items`).
        Replayed { items: ReplayedItems<T> },
    }
}

/// A stream the body returned, as the items' source (its item type fixed here, for the
/// expansion's closures to see it).
#[inline(always)]
pub fn live_stream<S: Stream>(source: S) -> ItemSource<S, S::Item> {
    ItemSource::Live { source }
}

/// An iterator the body returned, as the items' source.
#[inline(always)]
pub fn live_iter<I: Iterator>(source: I) -> ItemSource<I, I::Item> {
    ItemSource::Live { source }
}

/// The recorded items of a replayed call, given back in order: each not before the time
/// it came in the recording when the replay waits between items
/// ([`Replay::wait_between_items`](crate::replay::Replay::wait_between_items)), and, for a call
/// recorded as panicked, that panic again after the last.
pub struct ReplayedItems<T> {
    items: VecDeque<T>,
    /// When each item is due, from the call's start (empty: at once).
    due: VecDeque<Duration>,
    started: Instant,
    /// The item (by how many are left) a timer thread will wake the reader for, and the
    /// waker it will wake (the latest poll's).
    timer: Option<(usize, Arc<Mutex<Waker>>)>,
    panic: Option<String>,
}

impl<T> ReplayedItems<T> {
    /// The next item, once it is due; `Pending` (with a wake-up then) before.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(wait) = self.wait() else {
            return Poll::Ready(self.take());
        };
        match &self.timer {
            Some((left, waker)) if *left == self.items.len() => {
                cx.waker().clone_into(&mut lock(waker));
                Poll::Pending
            }
            _ => {
                let waker = Arc::new(Mutex::new(cx.waker().clone()));
                if !wake_later(waker.clone(), wait) {
                    return Poll::Ready(self.take());
                }
                self.timer = Some((self.items.len(), waker));
                Poll::Pending
            }
        }
    }

    /// The next item, after waiting until it is due.
    fn next_blocking(&mut self) -> Option<T> {
        if let Some(wait) = self.wait() {
            std::thread::sleep(wait);
        }
        self.take()
    }

    /// How long until the next item is due (`None`: it is).
    fn wait(&self) -> Option<Duration> {
        let due = *self.due.front()?;
        due.checked_sub(self.started.elapsed()).filter(|wait| !wait.is_zero())
    }

    fn take(&mut self) -> Option<T> {
        self.due.pop_front();
        let item = self.items.pop_front();
        if item.is_none()
            && let Some(message) = self.panic.take()
        {
            // The recorded call panicked after these items: so does this one (recorded
            // and resumed as the body's own panic would be).
            std::panic::panic_any(message);
        }
        item
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// Wakes `waker` after `wait`, from a thread of its own (no timer of any runtime is
/// assumed); `false` when no thread could be started (the item is then given at once).
fn wake_later(waker: Arc<Mutex<Waker>>, wait: Duration) -> bool {
    std::thread::Builder::new()
        .name("agent-trace-replay-wait".into())
        .spawn(move || {
            std::thread::sleep(wait);
            lock(&waker).wake_by_ref();
        })
        .is_ok()
}

impl<S: Stream> ItemSource<S, S::Item> {
    /// The next item, from the body's stream or the recording.
    pub(super) fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        match self.project() {
            SourceProjection::Live { source } => source.poll_next(cx),
            SourceProjection::Replayed { items } => items.poll_next(cx),
        }
    }

    pub(super) fn stream_size_hint(&self) -> (usize, Option<usize>) {
        match self {
            ItemSource::Live { source } => source.size_hint(),
            ItemSource::Replayed { items } => (items.len(), Some(items.len())),
        }
    }
}

impl<I: Iterator> ItemSource<I, I::Item> {
    /// The next item, from the body's iterator or the recording.
    pub(super) fn next_item(&mut self) -> Option<I::Item> {
        match self {
            ItemSource::Live { source } => source.next(),
            ItemSource::Replayed { items } => items.next_blocking(),
        }
    }

    pub(super) fn iter_size_hint(&self) -> (usize, Option<usize>) {
        match self {
            ItemSource::Live { source } => source.size_hint(),
            ItemSource::Replayed { items } => (items.len(), Some(items.len())),
        }
    }
}

/// Wraps an item's value to keep it for a replay.
pub struct KeepProbe<'a, T: ?Sized>(pub &'a T);

/// A text item that is its text (`String`, `Box<str>`): kept as where it ends in the
/// output's text.
pub trait KeepText {
    /// Keeps the item.
    fn __trace_keep<A>(&self, items: &mut Items<A>);
}

impl KeepText for &&KeepProbe<'_, String> {
    fn __trace_keep<A>(&self, items: &mut Items<A>) {
        items.keep_text(self.0);
    }
}

impl KeepText for &&KeepProbe<'_, Box<str>> {
    fn __trace_keep<A>(&self, items: &mut Items<A>) {
        items.keep_text(self.0);
    }
}

/// An item a replay can be given: where the output list has it, or its JSON.
pub trait KeepSerialize {
    /// Keeps the item.
    fn __trace_keep<A>(&self, items: &mut Items<A>);
}

impl<T: serde::Serialize + ?Sized> KeepSerialize for &KeepProbe<'_, T> {
    fn __trace_keep<A>(&self, items: &mut Items<A>) {
        items.keep_ok(self.0);
    }
}

/// An item that is not `Serialize`: no item is kept.
pub trait KeepNone {
    /// Keeps nothing, and no item after.
    fn __trace_keep<A>(&self, items: &mut Items<A>);
}

impl<T: ?Sized> KeepNone for KeepProbe<'_, T> {
    fn __trace_keep<A>(&self, items: &mut Items<A>) {
        items.keep_none();
    }
}

/// The item type `T` of a traced function's stream or iterator, to replay its items.
pub struct ItemReplayProbe<T>(PhantomData<fn() -> T>);

/// The item probe of a sync function's body that makes a stream.
pub fn stream_items<B: FnOnce() -> S, S: futures_core::Stream>(_: &B) -> ItemReplayProbe<S::Item> {
    ItemReplayProbe(PhantomData)
}

/// The item probe of an async function's body that makes a stream.
pub fn stream_items_later<B: std::future::Future<Output = S>, S: futures_core::Stream>(
    _: &B,
) -> ItemReplayProbe<S::Item> {
    ItemReplayProbe(PhantomData)
}

/// The item probe of a sync function's body that makes an iterator.
pub fn iter_items<B: FnOnce() -> I, I: Iterator>(_: &B) -> ItemReplayProbe<I::Item> {
    ItemReplayProbe(PhantomData)
}

/// The item probe of an async function's body that makes an iterator.
pub fn iter_items_later<B: std::future::Future<Output = I>, I: Iterator>(_: &B) -> ItemReplayProbe<I::Item> {
    ItemReplayProbe(PhantomData)
}

/// Replays a call's items (`replay_items!(&mut call, probe)`): `Some` of the recorded
/// items, `None` to run the body.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_replay_items {
    ($call:expr, $probe:expr) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{
            ReplayItemsNone as _, ReplayItemsResult as _, ReplayItemsResultOk as _, ReplayItemsValue as _,
        };
        (&&&&$probe).__trace_replay_items($call)
    }};
}

/// Items that are `Result`s whose `Ok` decodes and whose `Err` rebuilds.
pub trait ReplayItemsResult<T, E> {
    /// The recorded items, or `None` to run the body.
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<Result<T, E>>>;
}

impl<T: DeserializeOwned, E: FromRecordedError> ReplayItemsResult<T, E> for &&&ItemReplayProbe<Result<T, E>> {
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<Result<T, E>>> {
        replay_items(call, |kept| match kept {
            RecordedItem::Ok(value) => decode_value::<T>(value, "a recorded item").map(Ok),
            RecordedItem::Err(error) => E::from_recorded(&error).map(Err).ok_or_else(|| {
                (
                    "error",
                    format!(
                        "`{}::from_recorded` does not rebuild the recorded error",
                        type_name::<E>()
                    ),
                )
            }),
        })
    }
}

/// Items that are `Result`s whose `Ok` decodes.
pub trait ReplayItemsResultOk<T, E> {
    /// The recorded items, or `None` to run the body.
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<Result<T, E>>>;
}

impl<T: DeserializeOwned, E> ReplayItemsResultOk<T, E> for &&ItemReplayProbe<Result<T, E>> {
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<Result<T, E>>> {
        replay_items(call, |kept| match kept {
            RecordedItem::Ok(value) => decode_value::<T>(value, "a recorded item").map(Ok),
            RecordedItem::Err(_) => Err((
                "error",
                format!(
                    "a recorded `Err` item is not rebuilt: `{}` does not implement `FromRecordedError`",
                    type_name::<E>()
                ),
            )),
        })
    }
}

/// Items that decode.
pub trait ReplayItemsValue<T> {
    /// The recorded items, or `None` to run the body.
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<T>>;
}

impl<T: DeserializeOwned> ReplayItemsValue<T> for &ItemReplayProbe<T> {
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<T>> {
        replay_items(call, |kept| match kept {
            RecordedItem::Ok(value) => decode_value::<T>(value, "a recorded item"),
            RecordedItem::Err(_) => Err((
                "error",
                format!(
                    "an `Err` item was recorded, and `{}` is not a `Result`",
                    type_name::<T>()
                ),
            )),
        })
    }
}

/// Items that cannot be rebuilt.
pub trait ReplayItemsNone<T> {
    /// A divergence.
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<T>>;
}

impl<T> ReplayItemsNone<T> for ItemReplayProbe<T> {
    fn __trace_replay_items(&self, call: &mut Option<Call>) -> Option<ReplayedItems<T>> {
        replay_items(call, |_| {
            Err((
                "return type",
                format!(
                    "the items, `{}`, do not implement `Deserialize`, so the stream cannot be replayed",
                    type_name::<T>()
                ),
            ))
        })
    }
}

/// The recorded items of a replaying call, decoded, or what it does instead: `None` to run
/// the body (a live replay), or a panic (a divergence that fails).
fn replay_items<T>(
    slot: &mut Option<Call>,
    mut decode: impl FnMut(RecordedItem) -> Result<T, Unusable>,
) -> Option<ReplayedItems<T>> {
    let call = slot.as_mut()?;
    let started = Instant::now();
    let answer = match call.replay_lookup()? {
        Lookup::Live => return None,
        Lookup::Diverged(divergence) => return diverge_items(slot, divergence),
        Lookup::Answer(answer) => answer,
    };
    // The items as kept, else the output as one item (a stream of text recorded whole).
    let kept = match answer.metadata.get(trace_core::stream_keys::REPLAY_ITEMS) {
        Some(kept) => recorded_items(kept, answer.output.as_ref()),
        None if answer.outcome == Outcome::Ok => Ok(vec![(
            RecordedItem::Ok(answer.output.clone().unwrap_or(Value::Null)),
            None,
        )]),
        None => Err((
            "outcome",
            format!("the stream was recorded as {} without its items", answer.outcome),
        )),
    };
    let waits = call.replay_waits_between_items();
    let mut due = VecDeque::new();
    let decoded = kept.and_then(|kept| {
        kept.into_iter()
            .map(|(kept, at)| {
                if waits && let Some(at) = at {
                    due.push_back(at);
                }
                decode(kept)
            })
            .collect::<Result<VecDeque<T>, _>>()
    });
    match decoded {
        Ok(items) => {
            // Due times only when every item has one.
            if due.len() != items.len() {
                due.clear();
            }
            let panic = (answer.outcome == Outcome::Panicked).then(|| {
                answer
                    .error
                    .as_ref()
                    .map_or_else(String::new, |error| error.message.clone())
            });
            if let Some(call) = slot.as_mut() {
                call.answered(answer.metadata);
            }
            Some(ReplayedItems {
                items,
                due,
                started,
                timer: None,
                panic,
            })
        }
        Err((field, reason)) => {
            let divergence = answer.divergence(call.id(), field, None, reason);
            diverge_items(slot, divergence)
        }
    }
}

/// [`diverge`] for a call kept in an `Option`.
fn diverge_items<T>(slot: &mut Option<Call>, divergence: Divergence) -> Option<ReplayedItems<T>> {
    let call = slot.take()?;
    match diverge::<()>(call, divergence) {
        Replayed::Live(call) | Replayed::Hang(call) | Replayed::Answer(call, ()) => {
            *slot = Some(call);
            None
        }
    }
}
