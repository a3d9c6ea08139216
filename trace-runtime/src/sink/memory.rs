//! [`MemorySink`]: keeps ended sessions in memory, to read back.

use std::sync::{Arc, Mutex};

use trace_core::SessionTrace;

use crate::error::SinkError;
use crate::sink::Sink;
use crate::sync::lock;

/// Keeps every ended session in memory. Clones share the same sessions, so keep one clone
/// to read back what the tracer wrote.
///
/// ```
/// use agent_trace::{MemorySink, SessionTracer};
/// let sink = MemorySink::new();
/// let tracer = SessionTracer::builder().sink(sink.clone()).build();
/// tracer.start_session().end()?;
/// tracer.flush()?;
/// assert_eq!(sink.sessions().len(), 1);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    sessions: Arc<Mutex<Vec<SessionTrace>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sessions written so far, in the order they ended.
    pub fn sessions(&self) -> Vec<SessionTrace> {
        lock(&self.sessions).clone()
    }
}

impl Sink for MemorySink {
    fn name(&self) -> &str {
        "memory"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        lock(&self.sessions).push(trace.clone());
        Ok(())
    }
}
