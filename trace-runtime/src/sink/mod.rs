//! Where ended sessions go: the [`Sink`] trait and the sinks that ship with the runtime.

mod jsonl;
mod memory;

pub use jsonl::JsonlSink;
pub use memory::MemorySink;

use trace_core::SessionTrace;

use crate::SinkError;

/// A destination for ended sessions.
///
/// Sinks are owned by the tracer's background writer thread, which calls them one at a
/// time; that is why the methods take `&mut self` and the trait asks only for `Send`.
/// A sink that returns an error or panics is counted in `SessionTracer::stats` and the
/// error is returned by the next `SessionTracer::flush`; the writer carries on.
///
/// ```
/// use agent_trace::{Sink, SinkError, SessionTrace};
///
/// /// Counts the events of every session it is given.
/// struct EventCounter(usize);
///
/// impl Sink for EventCounter {
///     fn name(&self) -> &str { "event-counter" }
///     fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
///         self.0 += trace.events.len();
///         Ok(())
///     }
/// }
/// ```
pub trait Sink: Send {
    /// A short name for error messages and stats, such as `"jsonl"`.
    fn name(&self) -> &str;

    /// Writes one ended session.
    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError>;

    /// Makes everything written so far durable (or visible, for in-memory sinks).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        (**self).write_session(trace)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }
}
