//! What tracing costs a call. Every mode runs the same function,
//! `fn(u64, &str) -> Result<Out, E>`, so that the numbers compare.
//!
//! Run with `cargo bench --bench overhead`. Results and how to read them:
//! `docs/performance.md`.
//!
//! - `plain`: the function with no attribute.
//! - `disabled`: `#[trace_agent]` called outside any scope: one task-local lookup and a branch.

use std::hint::black_box;

use agent_trace::trace_agent;

fn main() {
    // The first task-local access on a thread registers its destructor (microseconds);
    // do it before divan sizes its samples from a first call.
    let _ = traced(0, "warm-up");
    divan::main();
}

/// The value every mode returns.
#[derive(Debug, serde::Serialize)]
struct Out {
    id: u64,
    len: usize,
}

/// The error every mode may return.
#[derive(Debug, thiserror::Error)]
#[error("empty name for {0}")]
struct Empty(u64);

// Every mode is kept out of line, as a real traced function of any size would be, so
// that the comparison is between calls rather than between a call and folded constants.
#[inline(never)]
fn plain(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}

#[trace_agent]
#[inline(never)]
fn traced(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}

#[divan::bench]
fn plain_call() -> Result<Out, Empty> {
    plain(black_box(7), black_box("agent"))
}

#[divan::bench]
fn disabled() -> Result<Out, Empty> {
    traced(black_box(7), black_box("agent"))
}

#[divan::bench]
fn disabled_while_another_task_has_a_scope(bencher: divan::Bencher<'_, '_>) {
    // A scope that exists (on no task this thread runs) makes every traced call look for
    // its task's context: the cost of a call outside a scope in a process that traces.
    let session = agent_trace::SessionTracer::default().start_session();
    let elsewhere = agent_trace::TracerContext::new(&session).scope(std::future::pending::<()>());
    let _ = traced(0, "warm-up"); // the first look at the task-local registers its destructor
    bencher.bench_local(|| traced(black_box(7), black_box("agent")));
    drop(elsewhere);
}
