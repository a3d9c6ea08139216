//! A traced function that returns a stream or an iterator: the call stays open while its
//! items are read, and ends with the stream — at its end (`Ok`), at an `Err` item (`Err`,
//! unless the function says to go on), or when it is dropped before its end (`Cancelled`).
//!
//! [`InStream`] and [`InIter`] wrap what the function returned. While the wrapped stream is
//! polled (or the iterator advanced) the call is the task's parent, and only then: what the
//! reader does between two items belongs to the reader. Each item goes through the
//! expansion's `on_item` (the [`item!`](crate::macro_support::item) ladder), which adds it
//! to the call's [`Items`]: text concatenated, anything else listed under the capture
//! policy's limits, `Err` items recorded as errors, usage read from items that carry it.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;
use serde_json::Value;
use trace_core::{Accumulate, ErrorRecord, genai_keys, stream_keys};

use super::kept::KeptItems;
use super::replay_items::ItemSource;
use crate::call::Call;
use crate::capture::{Plain, Source};

/// What an `Err` item does to the call (`stream_errors = ".."`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamErrors {
    /// The first `Err` item ends the call as failed (the default).
    End,
    /// The call goes on to the stream's end, and then ends as failed with the first error.
    Continue,
}

/// A call's items so far: how many, their text or their list, their errors.
pub struct Items<A> {
    call: Call,
    count: u64,
    /// The text of text items, up to the policy's limit.
    text: String,
    /// The length of all of it.
    text_len: usize,
    text_limit: usize,
    has_text: bool,
    error_items: u64,
    first_error: Option<ErrorRecord>,
    errors: StreamErrors,
    /// An `Err` item has ended the call.
    ended: bool,
    accumulator: A,
    /// Captures what the accumulator holds as the output.
    capture_accumulated: fn(&mut A, &mut Call),
    /// The items themselves, for a replay (a function that replays): `None` when not kept,
    /// or when one could not be (an item neither `Serialize` nor an error).
    kept: Option<Box<KeptItems>>,
    /// The item just read went into the output list.
    listed: bool,
    /// The items come from a replay: the recorded time to the first is kept.
    replayed: bool,
}

impl<A> Items<A> {
    fn new(
        call: Call,
        errors: StreamErrors,
        accumulator: A,
        capture_accumulated: fn(&mut A, &mut Call),
        keep: bool,
        replayed: bool,
    ) -> Self {
        let text_limit = call.policy().map_or(0, trace_core::CapturePolicy::value_byte_limit);
        Items {
            call,
            count: 0,
            text: String::new(),
            text_len: 0,
            text_limit,
            has_text: false,
            error_items: 0,
            first_error: None,
            errors,
            ended: false,
            accumulator,
            capture_accumulated,
            // A replayed call keeps the recorded items (its metadata is the recording's).
            kept: (keep && !replayed).then(Box::default),
            listed: false,
            replayed,
        }
    }

    /// Keeps a text item whose value is its text, for a replay.
    pub fn keep_text<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        if !self.has_text {
            return self.keep_ok(value);
        }
        let Some(kept) = &mut self.kept else { return };
        if !kept.text(&self.call, self.text_len) {
            self.kept = None;
        }
    }

    /// Keeps an item for a replay: where the output list has it, or its value.
    pub fn keep_ok<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        let listed = std::mem::take(&mut self.listed);
        let Some(kept) = &mut self.kept else { return };
        let kept_it = if listed {
            kept.listed(&self.call)
        } else {
            kept.value(&self.call, value)
        };
        if !kept_it {
            self.kept = None;
        }
    }

    /// Keeps an `Err` item for a replay.
    pub fn keep_err(&mut self, error: &ErrorRecord) {
        if let Some(kept) = &mut self.kept {
            kept.error(&self.call, error);
        }
    }

    /// Notes that the item just read went into the output list.
    pub fn listed(&mut self) {
        self.listed = true;
    }

    /// An item that cannot be kept: the replay will have none of them.
    pub fn keep_none(&mut self) {
        self.kept = None;
    }

    /// The open call.
    pub fn call(&mut self) -> &mut Call {
        &mut self.call
    }

    /// The function's own accumulator (`accumulate = ..`).
    pub fn accumulator(&mut self) -> &mut A {
        &mut self.accumulator
    }

    /// Adds a text item; what passes the policy's limit is counted, not kept.
    #[inline]
    pub fn text(&mut self, piece: &str) {
        self.has_text = true;
        self.text_len += piece.len();
        let room = self.text_limit.saturating_sub(self.text.len());
        if piece.len() <= room {
            self.text.push_str(piece);
        } else {
            let mut end = room;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&piece[..end]);
        }
    }

    /// Records an `Err` item.
    #[cold]
    pub fn error(&mut self, error: ErrorRecord) {
        self.error_items += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
        if self.errors == StreamErrors::End {
            self.ended = true;
        }
    }

    /// Takes in the item just read.
    #[inline]
    fn read<T>(&mut self, item: &T, on_item: &mut impl FnMut(&T, &mut Items<A>)) {
        self.count += 1;
        if self.count == 1 {
            self.first_item();
        }
        // Every user impl the ladder calls is guarded where it is called but `AsRef<str>`;
        // should one panic, the item adds nothing.
        let _ = catch_unwind(AssertUnwindSafe(|| on_item(item, self)));
    }

    #[cold]
    fn first_item(&mut self) {
        if self.replayed {
            return;
        }
        if let Some(elapsed) = self.call.elapsed() {
            self.call
                .metadata(genai_keys::TIME_TO_FIRST_CHUNK, Value::from(elapsed.as_secs_f64()));
        }
    }

    /// Writes the output and the counts into the call, and takes the call out.
    fn close(&mut self) -> Call {
        let mut call = std::mem::replace(&mut self.call, Call::closed());
        call.close_output_items();
        if self.has_text {
            if self.text_len > self.text.len() {
                call.capture_cut_text(&self.text, self.text_len);
            } else {
                call.capture_output(Source::<()>::Plain(Plain::Str(&self.text)));
            }
        }
        (self.capture_accumulated)(&mut self.accumulator, &mut call);
        call.metadata(stream_keys::ITEMS, Value::from(self.count));
        if let Some(kept) = self.kept.take() {
            call.metadata(stream_keys::REPLAY_ITEMS, kept.into_value());
        }
        if self.error_items > 0 {
            call.metadata(stream_keys::ERROR_ITEMS, Value::from(self.error_items));
        }
        call
    }

    /// Ends the call: `Err` with the first error item, `Ok` otherwise.
    fn finish(mut self) {
        let call = self.close();
        // A refusal (the session ended meanwhile) is counted in the tracer's stats.
        let _ = match self.first_error.take() {
            Some(error) => call.finish_err(error),
            None => call.finish_ok(),
        };
    }

    fn panicked(mut self, payload: Box<dyn std::any::Any + Send>) -> ! {
        let call = self.close();
        let _ = call.finish_panic(payload.as_ref());
        resume_unwind(payload)
    }
}

impl<A> Drop for Items<A> {
    /// Dropped before its end: the call is recorded as cancelled, with the items so far.
    fn drop(&mut self) {
        if self.call.id().is_some() {
            drop(self.close());
        }
    }
}

/// Reads one item as the call: the call is the task's parent while `next` runs; a panic is
/// recorded and resumed; the end of the items, or an `Err` item that ends them, finishes
/// the call.
#[inline]
fn advance<T, A>(
    slot: &mut Option<Items<A>>,
    next: impl FnOnce() -> Poll<Option<T>>,
    on_item: &mut impl FnMut(&T, &mut Items<A>),
) -> Poll<Option<T>> {
    let Some(items) = slot.as_mut() else {
        return next();
    };
    let previous = items.call.enter_task();
    let read = catch_unwind(AssertUnwindSafe(next));
    items.call.exit_task(previous);
    match read {
        Ok(Poll::Ready(Some(item))) => {
            items.read(&item, on_item);
            if items.ended
                && let Some(items) = slot.take()
            {
                items.finish();
            }
            Poll::Ready(Some(item))
        }
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(None)) => {
            if let Some(items) = slot.take() {
                items.finish();
            }
            Poll::Ready(None)
        }
        Err(payload) => match slot.take() {
            Some(items) => items.panicked(payload),
            None => resume_unwind(payload),
        },
    }
}

/// The accumulator of a function without `accumulate`: its items are in [`Items`] itself.
pub struct Builtin;

impl Builtin {
    fn capture(&mut self, _: &mut Call) {}
}

/// A function's own accumulator (`accumulate = Type`), guarded: a panicking `push` or
/// `output` ends it, with the panic's message as the output.
pub struct Accumulator<U, T: ?Sized> {
    state: Result<U, String>,
    item: PhantomData<fn(&T)>,
}

impl<U: Accumulate<T>, T: ?Sized> Accumulator<U, T> {
    /// A new accumulator: `U::default()` (a panic there is kept as the output).
    pub fn new() -> Self {
        Accumulator {
            state: catch_unwind(U::default).map_err(|payload| panic_text("Default", payload.as_ref())),
            item: PhantomData,
        }
    }

    /// Hands the accumulator an item.
    pub fn push(&mut self, item: &T) {
        if let Ok(accumulator) = &mut self.state
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| accumulator.push(item)))
        {
            self.state = Err(panic_text("push", payload.as_ref()));
        }
    }

    fn capture(&mut self, call: &mut Call) {
        let output = match &self.state {
            Ok(accumulator) => catch_unwind(AssertUnwindSafe(|| accumulator.output()))
                .map_err(|payload| panic_text("output", payload.as_ref())),
            Err(panicked) => Err(panicked.clone()),
        };
        match output {
            Ok(output) => call.capture_output(Source::Serialize(&output)),
            Err(panicked) => call.capture_output(Source::<()>::Plain(Plain::Str(&panicked))),
        }
    }
}

impl<U: Accumulate<T>, T: ?Sized> Default for Accumulator<U, T> {
    fn default() -> Self {
        Self::new()
    }
}

fn panic_text(method: &str, payload: &(dyn std::any::Any + Send)) -> String {
    let record = ErrorRecord::from_panic(payload);
    format!("<Accumulate::{method} panicked: {}>", record.message)
}

/// Opens the items of `call` (none outside a scope).
fn open<A, S, T>(
    call: Option<Call>,
    source: &ItemSource<S, T>,
    errors: StreamErrors,
    accumulator: A,
    capture: fn(&mut A, &mut Call),
    keep: bool,
) -> Option<Items<A>> {
    let replayed = matches!(source, ItemSource::Replayed { .. });
    call.map(|call| Items::new(call, errors, accumulator, capture, keep, replayed))
}

/// A sync body that makes a stream of `T`, the items' type the signature names: known to
/// the expansion before the body's own inference settles it (`Err("..".into())`).
#[inline(always)]
pub fn stream_body<T, S: Stream<Item = T>, F: FnOnce() -> S>(body: F) -> F {
    body
}

/// An async body that makes a stream of `T` ([`stream_body`] for an `async fn`).
#[inline(always)]
pub fn stream_future<T, S: Stream<Item = T>, B: std::future::Future<Output = S>>(body: B) -> B {
    body
}

/// A sync body that makes an iterator of `T` (see [`stream_body`]).
#[inline(always)]
pub fn iter_body<T, I: Iterator<Item = T>, F: FnOnce() -> I>(body: F) -> F {
    body
}

/// An async body that makes an iterator of `T` (see [`stream_body`]).
#[inline(always)]
pub fn iter_future<T, I: Iterator<Item = T>, B: std::future::Future<Output = I>>(body: B) -> B {
    body
}

pin_project! {
    /// A traced function's stream: yields the stream's items as they are (or a replay's),
    /// recording them into the call.
    pub struct InStream<S, A, F, T> {
        #[pin]
        source: ItemSource<S, T>,
        items: Option<Items<A>>,
        on_item: F,
    }
}

impl<S: Stream, F: FnMut(&S::Item, &mut Items<Builtin>)> InStream<S, Builtin, F, S::Item> {
    /// Wraps `source` as `call`, its items going through `on_item` (and kept for a
    /// replay with `keep`).
    pub fn new(
        call: Option<Call>,
        source: ItemSource<S, S::Item>,
        errors: StreamErrors,
        keep: bool,
        on_item: F,
    ) -> Self {
        InStream {
            items: open(call, &source, errors, Builtin, Builtin::capture, keep),
            source,
            on_item,
        }
    }
}

impl<S: Stream, U: Accumulate<S::Item>, F: FnMut(&S::Item, &mut Items<Accumulator<U, S::Item>>)>
    InStream<S, Accumulator<U, S::Item>, F, S::Item>
{
    /// Wraps `source` as `call`, its items accumulated by `U` as well as going through
    /// `on_item`.
    pub fn accumulated(
        call: Option<Call>,
        source: ItemSource<S, S::Item>,
        errors: StreamErrors,
        keep: bool,
        on_item: F,
    ) -> Self {
        InStream {
            items: open(call, &source, errors, Accumulator::new(), Accumulator::capture, keep),
            source,
            on_item,
        }
    }
}

impl<S: Stream, A, F: FnMut(&S::Item, &mut Items<A>)> Stream for InStream<S, A, F, S::Item> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let source = this.source;
        advance(this.items, || source.poll_next(cx), this.on_item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.source.stream_size_hint()
    }
}

/// A traced function's iterator: yields the iterator's items as they are (or a replay's),
/// recording them into the call.
pub struct InIter<I, A, F, T> {
    source: ItemSource<I, T>,
    items: Option<Items<A>>,
    on_item: F,
}

impl<I: Iterator, F: FnMut(&I::Item, &mut Items<Builtin>)> InIter<I, Builtin, F, I::Item> {
    /// Wraps `source` as `call`, its items going through `on_item` (and kept for a
    /// replay with `keep`).
    pub fn new(
        call: Option<Call>,
        source: ItemSource<I, I::Item>,
        errors: StreamErrors,
        keep: bool,
        on_item: F,
    ) -> Self {
        InIter {
            items: open(call, &source, errors, Builtin, Builtin::capture, keep),
            source,
            on_item,
        }
    }
}

impl<I: Iterator, U: Accumulate<I::Item>, F: FnMut(&I::Item, &mut Items<Accumulator<U, I::Item>>)>
    InIter<I, Accumulator<U, I::Item>, F, I::Item>
{
    /// Wraps `source` as `call`, its items accumulated by `U` as well as going through
    /// `on_item`.
    pub fn accumulated(
        call: Option<Call>,
        source: ItemSource<I, I::Item>,
        errors: StreamErrors,
        keep: bool,
        on_item: F,
    ) -> Self {
        InIter {
            items: open(call, &source, errors, Accumulator::new(), Accumulator::capture, keep),
            source,
            on_item,
        }
    }
}

impl<I: Iterator, A, F: FnMut(&I::Item, &mut Items<A>)> Iterator for InIter<I, A, F, I::Item> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let source = &mut self.source;
        match advance(&mut self.items, || Poll::Ready(source.next_item()), &mut self.on_item) {
            Poll::Ready(item) => item,
            Poll::Pending => None,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.source.iter_size_hint()
    }
}

/// Wraps an item's value to tell text from other values.
pub struct TextProbe<'a, T: ?Sized>(pub &'a T);

/// A text item.
pub trait ItemText {
    /// Adds the text; `true`.
    fn __trace_text<A>(&self, items: &mut Items<A>) -> bool;
}

impl<T: AsRef<str> + ?Sized> ItemText for &TextProbe<'_, T> {
    #[inline]
    fn __trace_text<A>(&self, items: &mut Items<A>) -> bool {
        items.text(self.0.as_ref());
        true
    }
}

/// Any other item.
pub trait ItemOther {
    /// `false`: the item is to be listed.
    fn __trace_text<A>(&self, items: &mut Items<A>) -> bool;
}

impl<T: ?Sized> ItemOther for TextProbe<'_, T> {
    #[inline]
    fn __trace_text<A>(&self, _: &mut Items<A>) -> bool {
        false
    }
}

/// Adds an item to the call's items (`item!(item, items, output: true, usage: false)`): a
/// `Result` item's `Err` is recorded as an error (the way a returned error is), its `Ok`
/// value, or any other item, is added as text when it is text (`AsRef<str>`), listed
/// otherwise (when `output` is `true`); with `usage: true` (LLM calls) a value that
/// implements `LlmUsage` records its usage.
#[doc(hidden)]
#[macro_export]
macro_rules! __agent_trace_item {
    ($item:ident, $items:ident, output: $output:tt, usage: $usage:tt) => {{
        $crate::__agent_trace_item!($item, $items, output: $output, usage: $usage, keep: false)
    }};
    ($item:ident, $items:ident, output: $output:tt, usage: $usage:tt, keep: $keep:tt) => {{
        #[allow(unused_imports)]
        use $crate::macro_support::{
            ErrorOpaque as _, ErrorViaDebug as _, ErrorViaDisplay as _, ErrorViaDyn as _, ErrorViaDynSendSync as _,
            ErrorViaError as _, ItemOther as _, ItemText as _, KeepNone as _, KeepSerialize as _, KeepText as _,
            SplitResult as _, SplitValue as _, UsageNone as _, UsageViaTrait as _,
        };
        #[allow(unreachable_patterns, unused_variables)]
        match (&&$crate::macro_support::ReturnProbe($item)).__trace_split() {
            $crate::macro_support::Split::Ok(value) => {
                $crate::__agent_trace_item!(@value $items, value, $output, $usage);
                $crate::__agent_trace_item!(@keep $items, value, $keep)
            }
            $crate::macro_support::Split::Value(value) => {
                $crate::__agent_trace_item!(@value $items, value, $output, $usage);
                $crate::__agent_trace_item!(@keep $items, value, $keep)
            }
            $crate::macro_support::Split::Err(error) => {
                let record = (&&&&&&$crate::macro_support::ErrorProbe(error)).__trace_error();
                $crate::__agent_trace_item!(@keep_err $items, record, $keep);
                $items.error(record)
            }
        }
    }};
    (@keep $items:ident, $value:ident, true) => {{
        (&&&$crate::macro_support::KeepProbe($value)).__trace_keep($items);
    }};
    (@keep $items:ident, $value:ident, false) => {{}};
    (@keep_err $items:ident, $record:ident, true) => {{
        $items.keep_err(&$record);
    }};
    (@keep_err $items:ident, $record:ident, false) => {{}};
    (@value $items:ident, $value:ident, $output:tt, $usage:tt) => {{
        $crate::__agent_trace_item!(@usage $items, $value, $usage);
        $crate::__agent_trace_item!(@output $items, $value, $output);
    }};
    (@usage $items:ident, $value:ident, true) => {{
        (&&$crate::macro_support::UsageProbe($value)).__trace_usage($items.call());
    }};
    (@usage $items:ident, $value:ident, false) => {{}};
    (@output $items:ident, $value:ident, true) => {{
        if !(&&$crate::macro_support::TextProbe($value)).__trace_text($items) {
            $crate::__agent_trace_capture!($items.call(), $crate::macro_support::Capture::item($value));
            $items.listed();
        }
    }};
    (@output $items:ident, $value:ident, false) => {{}};
}
