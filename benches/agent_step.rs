//! An agent step that does about 10 µs of its own work (hashing a buffer), plain and
//! traced inside a scope with its argument and result captured: what tracing adds to a
//! realistic step. Run with `cargo bench --bench agent_step`; results in
//! `docs/performance.md`.

use std::hash::{Hash, Hasher};
use std::hint::black_box;

use agent_trace::{SessionTracer, TracerContext, trace_agent};
use divan::Bencher;
use divan::counter::ItemsCount;

const STEPS: usize = 100;

fn main() {
    divan::main();
}

/// About 10 µs of hashing on this machine.
fn work(seed: u64) -> u64 {
    let buffer = [seed as u8; 4096];
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for _ in 0..12 {
        buffer.hash(&mut hasher);
    }
    hasher.finish()
}

#[inline(never)]
fn plain_step(turn: u64) -> u64 {
    work(turn)
}

#[trace_agent]
#[inline(never)]
fn traced_step(turn: u64) -> u64 {
    work(turn)
}

#[divan::bench]
fn plain(bencher: Bencher<'_, '_>) {
    bencher.counter(ItemsCount::new(STEPS)).bench_local(|| {
        for turn in 0..STEPS as u64 {
            black_box(plain_step(black_box(turn)));
        }
    });
}

#[divan::bench]
fn traced(bencher: Bencher<'_, '_>) {
    let tracer = SessionTracer::default();
    bencher.counter(ItemsCount::new(STEPS)).bench_local(|| {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for turn in 0..STEPS as u64 {
                black_box(traced_step(black_box(turn)));
            }
        });
        session.end().expect("the session ends once")
    });
}
