//! The background writer: one thread that owns the sinks and feeds them from a bounded
//! queue, so that sinks never run on the thread that records.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use trace_core::{ErrorRecord, SessionTrace};

use crate::stats::Counters;
use crate::sync::lock;
use crate::{Sink, SinkError, TraceError};

/// What the recording side asks of the writer thread.
enum Command {
    /// A session ended: hand it to every sink.
    Write(Arc<SessionTrace>),
    /// Flush every sink, then answer with the first error since the last flush.
    Flush(mpsc::Sender<Result<(), SinkError>>),
}

/// The recording side's handle on the writer thread. Dropping it closes the queue; the
/// thread then writes what is left, flushes every sink and is joined.
pub(crate) struct Writer {
    queue: Option<SyncSender<Command>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread with a queue of `capacity` commands.
    pub(crate) fn start(
        sinks: Vec<Box<dyn Sink>>,
        capacity: usize,
        counters: Arc<Counters>,
    ) -> Result<Writer, std::io::Error> {
        let (queue, commands) = mpsc::sync_channel(capacity);
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("agent-trace-writer".to_owned())
            .spawn(move || run(commands, sinks, &thread_counters))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Mutex::new(Some(thread)),
            counters,
        })
    }

    /// Queues an ended session; waits while the queue is full.
    pub(crate) fn write(&self, trace: Arc<SessionTrace>) -> Result<(), TraceError> {
        self.send(Command::Write(trace))
    }

    /// Waits until every sink has written and flushed everything queued before this call.
    pub(crate) fn flush(&self) -> Result<(), TraceError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::Flush(reply))?;
        answer
            .recv()
            .map_err(|_| TraceError::WriterStopped)?
            .map_err(TraceError::from)
    }

    fn send(&self, command: Command) -> Result<(), TraceError> {
        let queue = self.queue.as_ref().ok_or(TraceError::WriterStopped)?;
        let depth = self.counters.queue_depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.queue_high_water.fetch_max(depth, Ordering::Relaxed);
        queue.send(command).map_err(|_| {
            self.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
            TraceError::WriterStopped
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = lock(&self.thread).take() {
            // The thread catches sink panics, so joining can only fail if it was killed by
            // one anyway; there is nothing left to report to at this point.
            let _ = thread.join();
        }
    }
}

fn run(commands: Receiver<Command>, mut sinks: Vec<Box<dyn Sink>>, counters: &Counters) {
    let mut first_error: Option<SinkError> = None;
    let report = |result: Result<(), SinkError>, first_error: &mut Option<SinkError>| {
        if let Err(error) = result {
            Counters::bump(&counters.sink_errors);
            first_error.get_or_insert(error);
            false
        } else {
            true
        }
    };
    for command in commands {
        counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
        match command {
            Command::Write(trace) => {
                for sink in &mut sinks {
                    if report(
                        guarded(sink.as_mut(), |sink| sink.write_session(&trace)),
                        &mut first_error,
                    ) {
                        Counters::bump(&counters.sessions_written);
                    }
                }
            }
            Command::Flush(reply) => {
                for sink in &mut sinks {
                    report(guarded(sink.as_mut(), |sink| sink.flush()), &mut first_error);
                }
                // The caller may have stopped waiting; then nobody needs the answer.
                let _ = reply.send(first_error.take().map_or(Ok(()), Err));
            }
        }
    }
    for sink in &mut sinks {
        report(guarded(sink.as_mut(), |sink| sink.flush()), &mut first_error);
    }
}

/// Runs one sink call, turning a panic into [`SinkError::Panicked`].
fn guarded(sink: &mut dyn Sink, call: impl FnOnce(&mut dyn Sink) -> Result<(), SinkError>) -> Result<(), SinkError> {
    match catch_unwind(AssertUnwindSafe(|| call(&mut *sink))) {
        Ok(result) => result,
        Err(payload) => Err(SinkError::Panicked {
            sink: sink.name().to_owned(),
            message: ErrorRecord::from_panic(payload.as_ref()).message,
        }),
    }
}
