//! What tracing costs an item of a returned stream or iterator. Every mode reads the same
//! 1,000 text chunks (`&'static str`) from the same kind of source, to its end, on the
//! calling thread (a stream polled by hand with a no-op waker); divan reports the batch,
//! divide by 1,000 for an item. The call itself (opened once per batch) is in the figure,
//! spread over the items.
//!
//! Run with `cargo bench --bench streams`. Results: `docs/performance.md`.
//!
//! - `stream_plain`: the function with no attribute.
//! - `stream_outside_a_scope`: `#[trace_llm_call]` read outside any scope.
//! - `stream_in_a_scope`: read in a scope: every item entered as the task's parent while it
//!   is polled, counted and its text appended to the output.
//! - `iterator_plain`, `iterator_in_a_scope`: the same for a function returning
//!   `impl Iterator`.
//! - `owned_plain`, `owned_in_a_scope`, `owned_in_a_scope_not_replayed`: chunks of `String`
//!   (each made by the source): plain; traced, each item also kept for a replay (an owned
//!   item can be given back); traced with `replay = false` (not kept).

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use agent_trace::{SessionTracer, TracerContext, trace_llm_call};
use divan::Bencher;
use divan::counter::ItemsCount;
use futures_util::stream::{self, Stream};

const ITEMS: usize = 1000;

static CHUNKS: [&str; ITEMS] = [" token"; ITEMS];

fn main() {
    divan::main();
}

#[inline(never)]
fn plain_stream() -> impl Stream<Item = &'static str> {
    stream::iter(CHUNKS.iter().copied())
}

#[trace_llm_call]
#[inline(never)]
fn traced_stream() -> impl Stream<Item = &'static str> {
    stream::iter(CHUNKS.iter().copied())
}

#[inline(never)]
fn plain_iterator() -> impl Iterator<Item = &'static str> {
    CHUNKS.iter().copied()
}

#[trace_llm_call]
#[inline(never)]
fn traced_iterator() -> impl Iterator<Item = &'static str> {
    CHUNKS.iter().copied()
}

#[inline(never)]
fn plain_owned_stream() -> impl Stream<Item = String> {
    stream::iter(CHUNKS.iter().map(|chunk| (*chunk).to_owned()))
}

#[trace_llm_call]
#[inline(never)]
fn traced_owned_stream() -> impl Stream<Item = String> {
    stream::iter(CHUNKS.iter().map(|chunk| (*chunk).to_owned()))
}

#[trace_llm_call(replay = false)]
#[inline(never)]
fn traced_owned_stream_not_replayed() -> impl Stream<Item = String> {
    stream::iter(CHUNKS.iter().map(|chunk| (*chunk).to_owned()))
}

/// Reads a stream to its end; returns the bytes read.
fn drain<T: AsRef<str>>(stream: impl Stream<Item = T> + Unpin) -> usize {
    let mut stream = stream;
    let mut cx = Context::from_waker(Waker::noop());
    let mut bytes = 0;
    while let Poll::Ready(Some(chunk)) = Pin::new(&mut stream).poll_next(&mut cx) {
        bytes += black_box(chunk).as_ref().len();
    }
    bytes
}

/// Runs `read` in a scope of a session that lives for the whole benchmark (one event a
/// batch accumulates in it).
fn in_a_scope(bencher: Bencher<'_, '_>, read: fn() -> usize) {
    let session = SessionTracer::default().start_session();
    let context = TracerContext::new(&session);
    bencher
        .counter(ItemsCount::new(ITEMS))
        .bench_local(|| context.clone().sync_scope(read));
    drop(session.end());
}

#[divan::bench]
fn stream_plain(bencher: Bencher<'_, '_>) {
    bencher
        .counter(ItemsCount::new(ITEMS))
        .bench_local(|| drain(plain_stream()));
}

#[divan::bench]
fn stream_outside_a_scope(bencher: Bencher<'_, '_>) {
    bencher
        .counter(ItemsCount::new(ITEMS))
        .bench_local(|| drain(traced_stream()));
}

#[divan::bench]
fn stream_in_a_scope(bencher: Bencher<'_, '_>) {
    in_a_scope(bencher, || drain(traced_stream()));
}

#[divan::bench]
fn iterator_plain(bencher: Bencher<'_, '_>) {
    bencher
        .counter(ItemsCount::new(ITEMS))
        .bench_local(|| plain_iterator().map(|chunk| black_box(chunk).len()).sum::<usize>());
}

#[divan::bench]
fn iterator_in_a_scope(bencher: Bencher<'_, '_>) {
    in_a_scope(bencher, || traced_iterator().map(|chunk| black_box(chunk).len()).sum());
}

#[divan::bench]
fn owned_plain(bencher: Bencher<'_, '_>) {
    bencher
        .counter(ItemsCount::new(ITEMS))
        .bench_local(|| drain(plain_owned_stream()));
}

#[divan::bench]
fn owned_in_a_scope(bencher: Bencher<'_, '_>) {
    in_a_scope(bencher, || drain(traced_owned_stream()));
}

#[divan::bench]
fn owned_in_a_scope_not_replayed(bencher: Bencher<'_, '_>) {
    in_a_scope(bencher, || drain(traced_owned_stream_not_replayed()));
}
