//! The background writer: one thread that owns the sinks and feeds them from a bounded
//! queue, in batches, so that sinks never run on the thread that records.
//!
//! Each sink has its own list of pending records. A failed write leaves them pending; they
//! are offered again, in order and with whatever arrived since, after a backoff (10 ms,
//! doubling to 1 s). While a sink holds more than [`MAX_PENDING`] records the writer stops
//! taking from the queue, so the queue fills and callers wait (or, with
//! `Overflow::DropNewest`, streamed batches are dropped and counted): memory stays bounded
//! and nothing accepted is lost. A caller waits at most the block timeout; then what it
//! brings is dropped and counted, and so is what finds the queue full after it, until a
//! record fits again.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use trace_core::ErrorRecord;

use super::hooks::Hooks;
use super::stats::Counters;
use crate::error::{SinkError, TraceError};
use crate::sink::{Record, Sink};
use crate::sync::lock;

/// The most records taken from the queue for one batch.
const MAX_BATCH: usize = 64;
/// Above this many pending records for one sink, the writer stops taking from the queue.
/// A record can hold a whole session, so this — with the queue's capacity — is what bounds
/// the writer's memory.
const MAX_PENDING: usize = 4 * MAX_BATCH;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What to do when the writer's queue is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overflow {
    /// The recording thread waits for room (the default): nothing is dropped while the
    /// sinks keep up. When the queue stays full for the block timeout
    /// ([`SessionTracerBuilder::block_timeout`](crate::SessionTracerBuilder::block_timeout),
    /// 5 s by default) — a sink keeps failing — the record is dropped, and so is every
    /// record that finds the queue full until one fits again: each counted in
    /// `stats().dropped_records` (its events in `dropped_events`) and named in
    /// `last_error()`.
    #[default]
    Block,
    /// Streamed event batches that do not fit are dropped at once and counted in
    /// `stats().dropped_events` and `dropped_records`; the events still reach the sinks
    /// inside their session's ended trace. Session starts and ends, and flushes, wait as
    /// under `Block`.
    DropNewest,
}

/// How to build the writer.
pub(crate) struct WriterConfig {
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    pub(crate) capacity: usize,
    pub(crate) overflow: Overflow,
    /// How long a closing writer keeps retrying a failing sink before it gives up.
    pub(crate) close_timeout: Duration,
    /// How long a record waits for room in a full queue before it is dropped.
    pub(crate) block_timeout: Duration,
}

enum Command {
    Record(Record),
    Flush(mpsc::Sender<Result<(), SinkError>>),
}

/// The recording side's handle on the writer thread. Dropping it closes the queue; the
/// thread then writes what is left, flushes every sink and is joined.
pub(crate) struct Writer {
    queue: Option<SyncSender<Command>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
    overflow: Overflow,
    flushes_waiting: Arc<AtomicUsize>,
    /// How long a record waits for room in the queue.
    block_timeout: Duration,
    /// A record waited the block timeout in vain, and no record has fitted nor has a sink
    /// written since (shared with the writer thread).
    stuck: Arc<AtomicBool>,
}

impl Writer {
    pub(crate) fn start(config: WriterConfig, counters: Arc<Counters>, hooks: Hooks) -> Result<Writer, std::io::Error> {
        let WriterConfig {
            sinks,
            capacity,
            overflow,
            close_timeout,
            block_timeout,
        } = config;
        let (queue, commands) = mpsc::sync_channel(capacity);
        let flushes_waiting = Arc::new(AtomicUsize::new(0));
        let stuck = Arc::new(AtomicBool::new(false));
        let mut thread_state = WriterThread {
            stuck: Arc::clone(&stuck),
            commands,
            outlets: sinks.into_iter().map(Outlet::new).collect(),
            counters: Arc::clone(&counters),
            hooks,
            flushes_waiting: Arc::clone(&flushes_waiting),
            close_timeout,
        };
        let thread = std::thread::Builder::new()
            .name("agent-trace-writer".to_owned())
            .spawn(move || thread_state.run())?;
        Ok(Writer {
            queue: Some(queue),
            thread: Mutex::new(Some(thread)),
            counters,
            overflow,
            flushes_waiting,
            block_timeout,
            stuck,
        })
    }

    /// Queues a record; `Ok(false)` when it was dropped instead (and counted). Under
    /// `Overflow::DropNewest` a streamed event batch that does not fit is dropped at once.
    /// Anything else waits for room — at most the block timeout: then the queue is taken
    /// to be stuck (a sink keeps failing), the record is dropped, and so is every record
    /// that finds the queue full until one fits again, so that a failing sink costs the
    /// program one wait, not one a record.
    pub(crate) fn send(&self, record: Record) -> Result<bool, TraceError> {
        let droppable = self.overflow == Overflow::DropNewest && matches!(record, Record::Events(_));
        let queue = self.queue.as_ref().ok_or(TraceError::WriterStopped)?;
        self.count_in();
        let command = match queue.try_send(Command::Record(record)) {
            Ok(()) => {
                // Read first: the common case writes nothing to the line the writer reads.
                if self.stuck.load(Ordering::Relaxed) {
                    self.stuck.store(false, Ordering::Relaxed);
                }
                return Ok(true);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.count_out();
                return Err(TraceError::WriterStopped);
            }
            Err(TrySendError::Full(command)) => command,
        };
        if droppable {
            self.drop_record(command, None);
            return Ok(false);
        }
        if self.stuck.load(Ordering::Relaxed) {
            self.drop_record(command, Some(Duration::ZERO));
            return Ok(false);
        }
        self.send_within_timeout(queue, command)
    }

    /// Waits for room in the queue for at most the block timeout.
    #[cold]
    fn send_within_timeout(&self, queue: &SyncSender<Command>, mut command: Command) -> Result<bool, TraceError> {
        let deadline = Instant::now() + self.block_timeout;
        let mut pause = Duration::from_micros(50);
        loop {
            match queue.try_send(command) {
                Ok(()) => return Ok(true),
                Err(TrySendError::Disconnected(_)) => {
                    self.count_out();
                    return Err(TraceError::WriterStopped);
                }
                Err(TrySendError::Full(back)) => command = back,
            }
            let now = Instant::now();
            if now >= deadline {
                self.stuck.store(true, Ordering::Relaxed);
                self.drop_record(command, Some(self.block_timeout));
                return Ok(false);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Counts a record that is not queued: its events in `dropped_events`, itself in
    /// `dropped_records`; one dropped because the queue stayed full (`waited`) is also
    /// named in `last_error`, with the error that stopped the sinks.
    fn drop_record(&self, command: Command, waited: Option<Duration>) {
        self.count_out();
        let Command::Record(record) = command else { return };
        let events = record.event_count();
        Counters::add(&self.counters.dropped_events, events);
        Counters::bump(&self.counters.dropped_records);
        if let Some(waited) = waited {
            self.counters.set_dropping(&format!(
                "dropped {} of session `{}` ({events} events): the writer's queue stayed full for {waited:?}",
                record.description(),
                record.session_id(),
            ));
        }
    }

    /// Waits until every sink has written and flushed everything queued before this call;
    /// returns the first sink error since the previous flush.
    pub(crate) fn flush(&self) -> Result<(), TraceError> {
        let queue = self.queue.as_ref().ok_or(TraceError::WriterStopped)?;
        let (reply, answer) = mpsc::channel();
        self.flushes_waiting.fetch_add(1, Ordering::SeqCst);
        self.count_in();
        let sent = queue.send(Command::Flush(reply));
        let result = match sent {
            Ok(()) => answer
                .recv()
                .map_err(|_| TraceError::WriterStopped)
                .and_then(|r| r.map_err(TraceError::from)),
            Err(_) => {
                self.count_out();
                Err(TraceError::WriterStopped)
            }
        };
        self.flushes_waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn count_in(&self) {
        let depth = self.counters.queue_depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.queue_high_water.fetch_max(depth, Ordering::Relaxed);
    }

    fn count_out(&self) {
        self.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = lock(&self.thread).take() {
            // The thread catches sink panics; a join error would mean it died anyway, and
            // there is nobody left to report to.
            let _ = thread.join();
        }
    }
}

/// One sink and the records it has not yet written.
struct Outlet {
    sink: Box<dyn Sink>,
    /// Whether the sink takes streamed events.
    streams: bool,
    /// Events written so far of each running session, for a sink that streams: its ended
    /// record's events beyond these are the ones it writes then.
    streamed: HashMap<String, usize>,
    pending: VecDeque<Record>,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// Why the pending records are still pending.
    last_failure: Option<SinkError>,
}

impl Outlet {
    fn new(sink: Box<dyn Sink>) -> Outlet {
        Outlet {
            streams: sink.wants_streamed_events(),
            streamed: HashMap::new(),
            sink,
            pending: VecDeque::new(),
            backoff: FIRST_BACKOFF,
            retry_at: None,
            last_failure: None,
        }
    }

    fn overloaded(&self) -> bool {
        self.pending.len() > MAX_PENDING
    }

    /// Writes the pending records unless a retry is not yet due (`force` ignores that).
    fn write_pending(&mut self, counters: &Counters, hooks: &Hooks, force: bool) {
        if self.pending.is_empty() || (!force && self.retry_at.is_some_and(|at| Instant::now() < at)) {
            return;
        }
        if self.retry_at.is_some() {
            Counters::bump(&counters.retries);
        }
        let batch: Vec<Record> = self.pending.iter().cloned().collect();
        for record in &batch {
            if let Record::SessionEnded(trace) = record {
                hooks.run(counters, |hook| hook.before_save(trace));
            }
        }
        match guarded(self.sink.as_mut(), |sink| sink.write_batch(&batch)) {
            Ok(()) => {
                self.pending.clear();
                self.backoff = FIRST_BACKOFF;
                self.retry_at = None;
                self.last_failure = None;
                Counters::bump(&counters.batches_written);
                for record in &batch {
                    Counters::add(&counters.events_written, self.events_written_by(record));
                    if let Record::SessionEnded(trace) = record {
                        Counters::bump(&counters.sessions_written);
                        hooks.run(counters, |hook| hook.after_save(trace));
                    }
                }
            }
            Err(error) => {
                self.fail(error, counters);
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
        self.count_report(counters);
    }

    /// Counts what the sink did in the background since it was last asked.
    fn count_report(&mut self, counters: &Counters) {
        let report = self.sink.take_report();
        Counters::add(&counters.write_errors, report.failures as usize);
        Counters::add(&counters.retries, report.retries as usize);
        Counters::add(&counters.dropped_events, report.dropped_events as usize);
        if let Some(message) = report.last_error {
            counters.set_last_error(format!("sink `{}`: {message}", self.sink.name()));
        }
    }

    /// How many events a written record made durable: a streamed batch's (for a sink that
    /// streams), and at the end those of the trace that were not streamed.
    fn events_written_by(&mut self, record: &Record) -> usize {
        match record {
            Record::Events(batch) if self.streams => {
                *self.streamed.entry(batch.session_id.clone()).or_default() += batch.events.len();
                batch.events.len()
            }
            Record::SessionEnded(trace) => {
                let streamed = self.streamed.remove(&trace.session_id).unwrap_or(0);
                trace.events.len().saturating_sub(streamed)
            }
            Record::SessionDiscarded(session_id) => {
                self.streamed.remove(&**session_id);
                0
            }
            _ => 0,
        }
    }

    /// Flushes the sink. Fails when records are still pending (with the reason they are)
    /// or when the sink's own flush fails.
    fn flush(&mut self, counters: &Counters) -> Result<(), SinkError> {
        if let Some(error) = self.last_failure.take().filter(|_| !self.pending.is_empty()) {
            let error = SinkError::Pending {
                sink: self.sink.name().to_owned(),
                records: self.pending.len(),
                cause: error.to_string(),
            };
            return Err(error);
        }
        let flushed = guarded(self.sink.as_mut(), |sink| sink.flush());
        self.count_report(counters);
        flushed.inspect_err(|error| {
            Counters::bump(&counters.write_errors);
            counters.set_last_error(error.to_string());
        })
    }

    fn fail(&mut self, error: SinkError, counters: &Counters) {
        Counters::bump(&counters.write_errors);
        counters.set_last_error(error.to_string());
        self.last_failure = Some(error);
    }
}

struct WriterThread {
    commands: Receiver<Command>,
    outlets: Vec<Outlet>,
    counters: Arc<Counters>,
    hooks: Hooks,
    flushes_waiting: Arc<AtomicUsize>,
    close_timeout: Duration,
    /// See [`Writer`]'s: cleared when a sink writes.
    stuck: Arc<AtomicBool>,
}

impl WriterThread {
    fn run(&mut self) {
        loop {
            let held_back =
                self.outlets.iter().any(Outlet::overloaded) && self.flushes_waiting.load(Ordering::SeqCst) == 0;
            let retry_at = self
                .outlets
                .iter()
                .filter(|o| !o.pending.is_empty())
                .filter_map(|o| o.retry_at)
                .min();
            let first = if held_back {
                // Leave the queue alone so that callers feel the backpressure.
                std::thread::sleep(retry_at.map_or(FIRST_BACKOFF, |at| at.saturating_duration_since(Instant::now())));
                None
            } else {
                match retry_at {
                    None => match self.commands.recv() {
                        Ok(command) => Some(command),
                        Err(_) => break,
                    },
                    Some(at) => match self.commands.recv_timeout(at.saturating_duration_since(Instant::now())) {
                        Ok(command) => Some(command),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    },
                }
            };
            let mut batch = Vec::new();
            let mut flush = None;
            if let Some(command) = first {
                self.take(command, &mut batch, &mut flush);
                while flush.is_none() && batch.len() < MAX_BATCH {
                    match self.commands.try_recv() {
                        Ok(command) => self.take(command, &mut batch, &mut flush),
                        Err(_) => break,
                    }
                }
            }
            self.deliver(&batch, flush.is_some());
            if let Some(reply) = flush {
                let result = self.flush_all();
                // The caller may have given up waiting; then nobody needs the answer.
                let _ = reply.send(result);
            }
        }
        self.shut_down();
    }

    fn take(&self, command: Command, batch: &mut Vec<Record>, flush: &mut Option<mpsc::Sender<Result<(), SinkError>>>) {
        self.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
        match command {
            Command::Record(record) => batch.push(record),
            Command::Flush(reply) => *flush = Some(reply),
        }
    }

    fn deliver(&mut self, batch: &[Record], force: bool) {
        for outlet in &mut self.outlets {
            outlet.pending.extend(batch.iter().cloned());
            outlet.write_pending(&self.counters, &self.hooks, force);
        }
        if self.stuck.load(Ordering::Relaxed) && self.outlets.iter().all(|outlet| outlet.pending.is_empty()) {
            // The sinks keep up again: a full queue is worth waiting for once more.
            self.stuck.store(false, Ordering::Relaxed);
        }
    }

    fn flush_all(&mut self) -> Result<(), SinkError> {
        let mut first_error = None;
        for outlet in &mut self.outlets {
            if !outlet.pending.is_empty() {
                // Still failing: the error is already unreported; the records stay pending.
                outlet.write_pending(&self.counters, &self.hooks, true);
            }
            if let Err(error) = outlet.flush(&self.counters) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The queue is closed: keep offering what is pending for a while, then flush.
    fn shut_down(&mut self) {
        let deadline = Instant::now() + self.close_timeout;
        while self.outlets.iter().any(|o| !o.pending.is_empty()) && Instant::now() < deadline {
            for outlet in &mut self.outlets {
                outlet.write_pending(&self.counters, &self.hooks, false);
            }
            if let Some(at) = self
                .outlets
                .iter()
                .filter(|o| !o.pending.is_empty())
                .filter_map(|o| o.retry_at)
                .min()
            {
                std::thread::sleep(
                    at.saturating_duration_since(Instant::now())
                        .min(deadline.saturating_duration_since(Instant::now())),
                );
            }
        }
        let _ = self.flush_all();
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
