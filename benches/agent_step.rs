//! An agent step that does about 10 µs of its own work (hashing a buffer), plain and
//! traced inside a scope with its argument and result captured: what tracing adds to a
//! realistic step.
//!
//! A 2% difference is smaller than the drift of a shared machine between two runs, so the
//! two are measured in pairs: each round times 1,000 plain steps and 1,000 traced steps
//! (ten sessions of 100 steps, each started and ended inside the timing), in alternating
//! order, and the result is the median over rounds of the traced/plain ratio, with its
//! quartiles. (Rounds of 100 steps measure, besides tracing, the first traced calls after a
//! millisecond of other code, in caches the plain round cooled: about half a percent more.)
//!
//! Run with `cargo bench --bench agent_step`; `AGENT_STEP_ROUNDS` sets the rounds (default
//! 100). Results in `docs/performance.md`.

use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::time::{Duration, Instant};

use agent_trace::{SessionTracer, TracerContext, trace_agent};

#[path = "common/subject.rs"]
#[allow(unused)]
mod subject;

/// How many times a step hashes its 4 KiB buffer: about 10 µs on this machine.
const ROUNDS_OF_HASHING: usize = 11;
/// Steps in a session.
const STEPS: u64 = 100;
/// Sessions in a round.
const SESSIONS: u64 = 10;

/// About 10 µs of hashing on this machine. Out of line, so that the plain and the traced
/// step run the very same machine code for it (inlined into each, the two copies of the
/// hashing loop land at different addresses); and hashing a buffer aligned to a cache line,
/// so that it is the same work however deep the stack is (a byte array lands at whatever
/// offset the caller's frames leave, and the share of the hasher's 8-byte reads that cross
/// a cache line — a percent or two of the time — with it).
#[inline(never)]
fn work(seed: u64) -> u64 {
    #[repr(align(64))]
    struct Buffer([u8; 4096]);
    let buffer = Buffer([seed as u8; 4096]);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for _ in 0..ROUNDS_OF_HASHING {
        buffer.0.hash(&mut hasher);
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

fn plain_round() -> Duration {
    let start = Instant::now();
    for _ in 0..SESSIONS {
        for turn in 0..STEPS {
            black_box(plain_step(black_box(turn)));
        }
    }
    start.elapsed()
}

fn traced_round(tracer: &SessionTracer) -> Duration {
    let start = Instant::now();
    let mut traces = Vec::with_capacity(SESSIONS as usize);
    for _ in 0..SESSIONS {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for turn in 0..STEPS {
                black_box(traced_step(black_box(turn)));
            }
        });
        traces.push(session.end().expect("the session ends once"));
    }
    let elapsed = start.elapsed();
    let recorded: usize = traces.iter().map(|trace| trace.events.len()).sum();
    assert_eq!(recorded as u64, SESSIONS * STEPS, "every step recorded");
    elapsed
}

/// The value at `fraction` of the sorted values.
fn quantile(sorted: &[f64], fraction: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let rounds: usize = std::env::var("AGENT_STEP_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(100);
    subject::settle_clock();
    let tracer = SessionTracer::default();
    for _ in 0..5 {
        plain_round();
        traced_round(&tracer);
    }
    let (mut plain, mut traced, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (p, t) = if round % 2 == 0 {
            let p = plain_round();
            (p, traced_round(&tracer))
        } else {
            let t = traced_round(&tracer);
            (plain_round(), t)
        };
        let per_step = |d: Duration| d.as_secs_f64() * 1e9 / (SESSIONS * STEPS) as f64;
        plain.push(per_step(p));
        traced.push(per_step(t));
        ratios.push(t.as_secs_f64() / p.as_secs_f64());
    }
    for values in [&mut plain, &mut traced, &mut ratios] {
        values.sort_by(f64::total_cmp);
    }
    println!(
        "agent_step: {rounds} rounds of {} steps ({SESSIONS} sessions of {STEPS}), plain and traced in alternating order",
        SESSIONS * STEPS
    );
    println!(
        "plain   {:>9.0} ns/step (quartiles {:.0}–{:.0})",
        quantile(&plain, 0.5),
        quantile(&plain, 0.25),
        quantile(&plain, 0.75)
    );
    println!(
        "traced  {:>9.0} ns/step (quartiles {:.0}–{:.0})",
        quantile(&traced, 0.5),
        quantile(&traced, 0.25),
        quantile(&traced, 0.75)
    );
    println!(
        "tracing adds {:+.2}% (median of the per-round ratios; quartiles {:+.2}% to {:+.2}%)",
        (quantile(&ratios, 0.5) - 1.0) * 100.0,
        (quantile(&ratios, 0.25) - 1.0) * 100.0,
        (quantile(&ratios, 0.75) - 1.0) * 100.0
    );
}
