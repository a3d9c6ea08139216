//! The sinks the overhead measurements write into — one definition, so that the benchmark
//! and the whole-process report measure the same work.
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_trace::SessionTrace;
use agent_trace::sink::{Sink, SinkError};

/// Counts the events it is given and keeps nothing: the writer's cost without a store's.
#[derive(Default, Clone)]
pub struct Counting {
    pub events: Arc<AtomicU64>,
}

impl Sink for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        self.events.fetch_add(trace.events.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Serializes every event of every ended session to JSON bytes, counts them, and drops
/// them.
#[derive(Default, Clone)]
pub struct JsonBytes {
    pub events: Arc<AtomicU64>,
    buffer: Vec<u8>,
}

impl Sink for JsonBytes {
    fn name(&self) -> &str {
        "json-bytes"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        // `records()`: the events as recorded, written without being decoded first.
        for event in trace.events.records() {
            self.buffer.clear();
            event.write_json(&mut self.buffer);
            black_box(&self.buffer);
            self.events.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
