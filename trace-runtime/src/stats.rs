//! Counters of what a tracer recorded, wrote and could not write.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a tracer's counters (see `SessionTracer::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TracerStats {
    /// Sessions started.
    pub sessions_started: u64,
    /// Sessions ended.
    pub sessions_ended: u64,
    /// Events recorded into sessions.
    pub events_recorded: u64,
    /// Messages recorded into sessions.
    pub messages_recorded: u64,
    /// Events, messages, metadata and timesteps refused because their session had ended.
    pub rejected_after_end: u64,
    /// Sessions a sink wrote successfully (counted once per sink).
    pub sessions_written: u64,
    /// Writes and flushes that a sink failed (including sink panics).
    pub sink_errors: u64,
    /// The most commands that ever waited in the writer's queue at once.
    pub queue_high_water: u64,
    /// Functions named in a macro's options (`metadata`, `message`, `arg_filter`,
    /// `error_handler`, …) that panicked; recording carried on without their result.
    pub hook_errors: u64,
}

/// The live counters behind [`TracerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sessions_started: AtomicU64,
    pub(crate) sessions_ended: AtomicU64,
    pub(crate) events_recorded: AtomicU64,
    pub(crate) messages_recorded: AtomicU64,
    pub(crate) rejected_after_end: AtomicU64,
    pub(crate) sessions_written: AtomicU64,
    pub(crate) sink_errors: AtomicU64,
    pub(crate) queue_depth: AtomicU64,
    pub(crate) queue_high_water: AtomicU64,
    pub(crate) hook_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> TracerStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TracerStats {
            sessions_started: read(&self.sessions_started),
            sessions_ended: read(&self.sessions_ended),
            events_recorded: read(&self.events_recorded),
            messages_recorded: read(&self.messages_recorded),
            rejected_after_end: read(&self.rejected_after_end),
            sessions_written: read(&self.sessions_written),
            sink_errors: read(&self.sink_errors),
            queue_high_water: read(&self.queue_high_water),
            hook_errors: read(&self.hook_errors),
        }
    }
}
