//! Counters of what a tracer recorded, wrote and could not write.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sync::lock;

/// A snapshot of a tracer's counters (see `SessionTracer::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TracerStats {
    /// Sessions started.
    pub sessions_started: u64,
    /// Sessions ended.
    pub sessions_ended: u64,
    /// Sessions that ended but were not kept by sampling (not written to sinks).
    pub sessions_sampled_out: u64,
    /// Events recorded into sessions. A running session's events are counted in groups of
    /// up to 256 as they are sealed for the sinks: all of them once it has ended.
    pub events_recorded: u64,
    /// Messages recorded into sessions.
    pub messages_recorded: u64,
    /// Events, messages, rewards, metadata and timesteps refused because their session had ended.
    pub rejected_after_end: u64,
    /// Batches a sink wrote successfully (counted once per sink).
    pub batches_written: u64,
    /// Sessions a sink wrote successfully (counted once per sink).
    pub sessions_written: u64,
    /// Events a sink wrote successfully, streamed or at the end (counted once per sink).
    pub events_written: u64,
    /// Writes and flushes that a sink failed (including sink panics).
    pub write_errors: u64,
    /// Writes tried again after a failure.
    pub retries: u64,
    /// Events not queued for the sinks: in streamed batches the `DropNewest` policy dropped
    /// (they still reach sinks inside their session's ended trace), in records dropped
    /// after the block timeout, and events a sink reported giving up on.
    pub dropped_events: u64,
    /// Records (a session's start, a batch of its events, its ended trace) not queued: by
    /// `DropNewest`, or because the queue stayed full for the block timeout.
    pub dropped_records: u64,
    /// The most commands that ever waited for the writer at once: at most the queue's
    /// capacity, plus the one the writer is taking, plus one waiting caller per thread.
    pub queue_high_water: u64,
    /// Hooks and functions named in a macro's options that panicked or returned an error;
    /// recording carried on without them.
    pub hook_errors: u64,
    /// Traced calls made outside any scope while a session ran in the process — on a
    /// thread or task the context was not carried to (`std::thread::spawn`,
    /// `tokio::spawn`, `spawn_blocking`): they recorded nothing. Counted for the whole
    /// process (every tracer shows the same count); the first of each function is also
    /// reported to the hooks (`Hook::on_call_outside_scope`).
    pub calls_outside_scope: u64,
}

/// Traced calls made outside any scope while sessions ran, counted per thread (each thread
/// the only writer of its count, so counting is a plain store: no locked instruction on the
/// path of a call that records nothing) and summed when read.
mod outside {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use crate::sync::lock;

    /// The counts of the threads that are running, and what threads that ended counted.
    static THREADS: Mutex<(Vec<Arc<AtomicU64>>, u64)> = Mutex::new((Vec::new(), 0));

    struct ThreadCount(Arc<AtomicU64>);

    impl Drop for ThreadCount {
        fn drop(&mut self) {
            let mut threads = lock(&THREADS);
            threads.0.retain(|count| !Arc::ptr_eq(count, &self.0));
            threads.1 += self.0.load(Ordering::Relaxed);
        }
    }

    thread_local! {
        static COUNT: ThreadCount = {
            let count = Arc::new(AtomicU64::new(0));
            lock(&THREADS).0.push(Arc::clone(&count));
            ThreadCount(count)
        };
    }

    pub(super) fn count() {
        // A thread being torn down counts nothing more.
        let _ = COUNT.try_with(|count| count.0.store(count.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed));
    }

    pub(super) fn total() -> u64 {
        let threads = lock(&THREADS);
        threads.1 + threads.0.iter().map(|count| count.load(Ordering::Relaxed)).sum::<u64>()
    }
}

/// The live counters behind [`TracerStats`], shared with the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sessions_started: AtomicU64,
    pub(crate) sessions_ended: AtomicU64,
    pub(crate) sessions_sampled_out: AtomicU64,
    pub(crate) events_recorded: AtomicU64,
    pub(crate) messages_recorded: AtomicU64,
    pub(crate) rejected_after_end: AtomicU64,
    pub(crate) batches_written: AtomicU64,
    pub(crate) sessions_written: AtomicU64,
    pub(crate) events_written: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dropped_events: AtomicU64,
    pub(crate) dropped_records: AtomicU64,
    pub(crate) queue_depth: AtomicU64,
    pub(crate) queue_high_water: AtomicU64,
    pub(crate) hook_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The latest failure other than dropping.
    last_sink_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, amount: usize) {
        counter.fetch_add(amount as u64, Ordering::Relaxed);
    }

    /// Remembers the latest failure, for `SessionTracer::last_error`.
    pub(crate) fn set_last_error(&self, error: String) {
        *lock(&self.last_sink_error) = Some(error.clone());
        *lock(&self.last_error) = Some(error);
    }

    /// Remembers that records are dropped, for `SessionTracer::last_error`, with the latest
    /// failure that made the writer fall behind.
    pub(crate) fn set_dropping(&self, what: &str) {
        let cause = lock(&self.last_sink_error)
            .clone()
            .unwrap_or_else(|| "no sink failed".to_owned());
        *lock(&self.last_error) = Some(format!("{what}; the sinks' last error: {cause}"));
    }

    /// Counts a traced call made outside any scope while sessions ran.
    pub(crate) fn count_call_outside_scope() {
        outside::count();
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    pub(crate) fn snapshot(&self) -> TracerStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TracerStats {
            sessions_started: read(&self.sessions_started),
            sessions_ended: read(&self.sessions_ended),
            sessions_sampled_out: read(&self.sessions_sampled_out),
            events_recorded: read(&self.events_recorded),
            messages_recorded: read(&self.messages_recorded),
            rejected_after_end: read(&self.rejected_after_end),
            batches_written: read(&self.batches_written),
            sessions_written: read(&self.sessions_written),
            events_written: read(&self.events_written),
            write_errors: read(&self.write_errors),
            retries: read(&self.retries),
            dropped_events: read(&self.dropped_events),
            dropped_records: read(&self.dropped_records),
            queue_high_water: read(&self.queue_high_water),
            hook_errors: read(&self.hook_errors),
            calls_outside_scope: outside::total(),
        }
    }
}
