//! The export thread of an `OtlpSink`: ships span batches to the collector with retries,
//! so that a slow or absent collector never holds up the tracer's writer (or the agent).

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

use crate::sink::SinkReport;
use crate::sync::lock;

/// Attempts per batch while the collector answers; one while it does not (after a batch
/// used all its attempts), until a batch gets through again.
pub(super) const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Work for the export thread.
pub(super) enum Job {
    /// A session's spans, and how many events they came from.
    Spans { spans: Vec<SpanData>, events: usize },
    /// Answer once everything before has been exported (or given up on), with the first
    /// failure since the previous flush.
    Flush(Sender<Result<(), String>>),
}

/// What the sink did in the background.
#[derive(Default)]
pub(super) struct Tally {
    /// What the tracer's stats have not counted yet.
    pub(super) unreported: SinkReport,
    /// The first failure since the last flush, for that flush to report.
    pub(super) since_flush: Option<String>,
}

impl Tally {
    pub(super) fn fail(&mut self, message: String) {
        self.unreported.failures += 1;
        self.since_flush.get_or_insert_with(|| message.clone());
        self.unreported.last_error = Some(message);
    }
}

/// The runtime a gRPC client runs on (HTTP needs none).
#[cfg(feature = "otlp-grpc")]
pub(super) type Runtime = tokio::runtime::Runtime;
/// No runtime: without gRPC there is nothing that needs one.
#[cfg(not(feature = "otlp-grpc"))]
pub(super) type Runtime = std::convert::Infallible;

pub(super) struct ExportThread {
    pub(super) exporter: opentelemetry_otlp::SpanExporter,
    pub(super) runtime: Option<Runtime>,
    pub(super) jobs: Receiver<Job>,
    pub(super) tally: Arc<Mutex<Tally>>,
    /// The last batch used all its attempts: try the next ones once.
    pub(super) degraded: bool,
}

impl ExportThread {
    pub(super) fn run(mut self) {
        while let Ok(job) = self.jobs.recv() {
            match job {
                Job::Spans { spans, events } => self.export(spans, events),
                Job::Flush(reply) => {
                    let failure = lock(&self.tally).since_flush.take();
                    // The flusher may have stopped waiting; then nobody needs the answer.
                    let _ = reply.send(failure.map_or(Ok(()), Err));
                }
            }
        }
        // The sink was dropped: nothing more will come.
        let _ = self.exporter.shutdown();
    }

    fn export(&mut self, spans: Vec<SpanData>, events: usize) {
        let attempts = if self.degraded { 1 } else { ATTEMPTS };
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=attempts {
            if attempt > 1 {
                std::thread::sleep(backoff);
                backoff *= 2;
                lock(&self.tally).unreported.retries += 1;
            }
            match self.run_to_end(spans.clone()) {
                Ok(()) => {
                    self.degraded = false;
                    return;
                }
                Err(error) => lock(&self.tally).fail(error.to_string()),
            }
        }
        self.degraded = true;
        let mut tally = lock(&self.tally);
        let report = &mut tally.unreported;
        report.dropped_events += events as u64;
        let message = format!(
            "gave up on a session's {} spans after {attempts} attempt(s): {}",
            spans.len(),
            report.last_error.as_deref().unwrap_or("no answer")
        );
        report.last_error = Some(message);
    }
}

impl ExportThread {
    fn run_to_end(&self, spans: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        let export = self.exporter.export(spans);
        match &self.runtime {
            #[cfg(feature = "otlp-grpc")]
            Some(runtime) => runtime.block_on(export),
            #[cfg(not(feature = "otlp-grpc"))]
            Some(never) => match *never {},
            None => block_on(export),
        }
    }
}

/// Runs a future to completion on this thread. The HTTP exporter's future does its work
/// with a blocking client, so it is normally ready at the first poll.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
