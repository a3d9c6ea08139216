//! What tracing costs a call. Every mode runs the same function,
//! `fn(u64, &str) -> Result<Out, E>`, kept out of line, so that the numbers compare.
//!
//! Run with `cargo bench --bench overhead`. Results and how to read them:
//! `docs/performance.md`.
//!
//! Single calls (`call::`):
//! - `plain`: the function with no attribute.
//! - `traced_outside_a_scope`: `#[trace_agent]` called outside any scope.
//! - `traced_outside_a_scope_while_another_task_has_one`: the same while a scope exists
//!   elsewhere in the process.
//!
//! Batches of 1,000 calls (`session_of_1000::`; divan reports the batch, divide by 1,000
//! for a call), each batch in a fresh session or root, so that memory stays bounded:
//! - `agent_trace_no_sink`: `#[trace_agent]` in a scope, arguments and result captured,
//!   sessions kept in memory only (the calling thread's whole cost).
//! - `agent_trace_skip_all`: the same with `skip_all`.
//! - `agent_trace_memory_sink` (`MemorySink`, keeping every session), `agent_trace_json_sink`
//!   (a sink that serializes every event to JSON bytes and drops them),
//!   `agent_trace_sqlite_sink`: with a background writer.
//! - `manual_guard`: the same recording by hand with `Session::enter`.
//! - `tracing_json`: `#[tracing::instrument(ret, err)]` with `tracing_subscriber`'s JSON fmt
//!   layer writing to `io::sink()`.
//! - `tracing_registry`: `registry().with(Identity)`, span bookkeeping only.
//! - `fastrace`: `#[fastrace::trace]` with the arguments and the return value as
//!   properties, one root per batch, reported to a reporter that counts and drops.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_trace::{EventKind, MemorySink, SessionTrace, SessionTracer, SqliteSink, TracerContext};
use divan::Bencher;
use divan::counter::ItemsCount;

#[path = "common/sinks.rs"]
mod sinks;
#[path = "common/subject.rs"]
mod subject;

use sinks::JsonBytes;
use subject::{Empty, Out, plain, settle_clock, traced, traced_skip_all};

const BATCH: usize = 1000;

fn main() {
    // The first task-local access on a thread registers its destructor (microseconds);
    // do it before divan sizes its samples from a first call.
    let _ = traced(0, "warm-up");
    settle_clock();
    fastrace::set_reporter(CountingReporter, fastrace::collector::Config::default());
    divan::main();
    fastrace::flush();
}

#[tracing::instrument(ret, err)]
#[inline(never)]
fn with_tracing(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}

#[fastrace::trace(properties = { "id": "{id}", "name": "{name}" })]
#[inline(never)]
fn with_fastrace(id: u64, name: &str) -> Result<Out, Empty> {
    let out = if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    };
    fastrace::local::LocalSpan::add_property(|| ("return", format!("{out:?}")));
    out
}

/// Single calls (run first, before any benchmark starts a thread). They take a few
/// nanoseconds: many samples, so that a median is not one interrupted sample's; and the
/// same loop around each, so that only the function differs.
mod call {
    use super::*;

    /// Times `call` in the same loop for every single-call mode.
    fn single_calls(bencher: Bencher<'_, '_>, call: fn(u64, &str) -> Result<Out, Empty>) {
        bencher.bench_local(|| call(black_box(7), black_box("agent")));
    }

    #[divan::bench(sample_count = 1000)]
    fn plain(bencher: Bencher<'_, '_>) {
        single_calls(bencher, subject::plain);
    }

    #[divan::bench(sample_count = 1000)]
    fn traced_outside_a_scope(bencher: Bencher<'_, '_>) {
        single_calls(bencher, traced);
    }

    #[divan::bench(sample_count = 1000)]
    fn traced_outside_a_scope_while_another_task_has_one(bencher: Bencher<'_, '_>) {
        // What a traced call costs outside a scope in a process that traces: it records
        // nothing, and is counted as lost (`stats().calls_outside_scope`).
        let session = SessionTracer::default().start_session();
        let elsewhere = TracerContext::new(&session).scope(std::future::pending::<()>());
        // The thread's first such call registers its count: before divan times the first.
        let _ = traced(0, "warm-up");
        single_calls(bencher, traced);
        drop(elsewhere);
    }
}

/// Batches of 1,000 calls, each in a fresh session or root (divan reports the batch:
/// divide by 1,000 for a call).
mod session_of_1000 {
    use super::*;

    /// Runs a batch of traced calls in a fresh session of `tracer`.
    fn batch(tracer: &SessionTracer, call: fn(u64, &str) -> Result<Out, Empty>) -> SessionTrace {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| {
            for i in 0..BATCH as u64 {
                let _ = black_box(call(black_box(i), black_box("agent")));
            }
        });
        session.end().expect("the session ends once")
    }

    #[divan::bench]
    fn agent_trace_no_sink(bencher: Bencher<'_, '_>) {
        let tracer = SessionTracer::default();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| batch(&tracer, traced));
    }

    #[divan::bench]
    fn agent_trace_skip_all(bencher: Bencher<'_, '_>) {
        let tracer = SessionTracer::default();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| batch(&tracer, traced_skip_all));
    }

    #[divan::bench]
    fn agent_trace_memory_sink(bencher: Bencher<'_, '_>) {
        let memory = MemorySink::new();
        let tracer = SessionTracer::builder().sink(memory.clone()).build();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| batch(&tracer, traced));
        tracer.flush().expect("the sink writes");
        black_box(memory.sessions().len());
    }

    #[divan::bench]
    fn agent_trace_json_sink(bencher: Bencher<'_, '_>) {
        let tracer = SessionTracer::builder().sink(JsonBytes::default()).build();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| batch(&tracer, traced));
        tracer.flush().expect("the sink writes");
    }

    #[divan::bench]
    fn agent_trace_sqlite_sink(bencher: Bencher<'_, '_>) {
        let path = std::env::temp_dir().join(format!("agent-trace-overhead-{}.db", std::process::id()));
        let tracer = SessionTracer::builder()
            .sink(SqliteSink::open(&path).expect("a database"))
            .build();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| batch(&tracer, traced));
        tracer.flush().expect("the store writes");
        drop(tracer);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[divan::bench]
    fn manual_guard(bencher: Bencher<'_, '_>) {
        let tracer = SessionTracer::default();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            let session = tracer.start_session();
            TracerContext::new(&session).sync_scope(|| {
                for i in 0..BATCH as u64 {
                    let mut span = session.enter(EventKind::Agent, "agent", "traced");
                    let (id, name) = (black_box(i), black_box("agent"));
                    span.record_input("id", id);
                    span.record_input("name", name);
                    match plain(id, name) {
                        Ok(out) => span.finish_ok(&out),
                        Err(error) => span.finish_err(&error),
                    }
                    .expect("the session is open");
                }
            });
            session.end().expect("the session ends once")
        });
    }

    #[divan::bench]
    fn tracing_json(bencher: Bencher<'_, '_>) {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber =
            tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().json().with_writer(std::io::sink));
        tracing::subscriber::with_default(subscriber, || {
            bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
                for i in 0..BATCH as u64 {
                    let _ = black_box(with_tracing(black_box(i), black_box("agent")));
                }
            });
        });
    }

    #[divan::bench]
    fn tracing_registry(bencher: Bencher<'_, '_>) {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
        tracing::subscriber::with_default(subscriber, || {
            bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
                for i in 0..BATCH as u64 {
                    let _ = black_box(with_tracing(black_box(i), black_box("agent")));
                }
            });
        });
    }

    #[divan::bench]
    fn fastrace(bencher: Bencher<'_, '_>) {
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            // One root per batch: a single root silently drops children past 10,240.
            let root = fastrace::Span::root("batch", fastrace::collector::SpanContext::random());
            let _guard = root.set_local_parent();
            for i in 0..BATCH as u64 {
                let _ = black_box(with_fastrace(black_box(i), black_box("agent")));
            }
        });
    }
}

/// Counts fastrace's spans and drops them.
struct CountingReporter;

static FASTRACE_SPANS: AtomicUsize = AtomicUsize::new(0);

impl fastrace::collector::Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        FASTRACE_SPANS.fetch_add(spans.len(), Ordering::Relaxed);
    }
}
