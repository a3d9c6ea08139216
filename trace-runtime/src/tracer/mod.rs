//! The state every handle of one tracer shares — capture policy, counters, hooks,
//! sampling, parameter store, the writer's handle — the lowest layer of the runtime.
//!
//! One cycle of imports is by design: the tracer keeps a registry of its running sessions
//! ([`LiveSessions`], so that `flush` can stream their finished events), and every session
//! holds the tracer's shared state. Nothing else here imports a layer above it.

pub(crate) mod hooks;
pub(crate) mod parameters;
pub(crate) mod sampling;
pub(crate) mod stats;
pub(crate) mod writer;

use std::sync::Arc;

use trace_core::CapturePolicy;

use crate::clock;
use crate::error::TraceError;

use crate::session::LiveSessions;
use crate::sink::Record;
use hooks::{Hook, Hooks};
use parameters::ParameterStore;
use sampling::Sampling;
use stats::Counters;
use writer::{Writer, WriterConfig};

/// What every handle of one tracer shares.
pub(crate) struct TracerShared {
    pub(crate) counters: Arc<Counters>,
    pub(crate) policy: CapturePolicy,
    pub(crate) hooks: Hooks,
    pub(crate) sampling: Sampling,
    pub(crate) live: LiveSessions,
    pub(crate) parameters: ParameterStore,
    /// Whether a sink wants running sessions' events.
    streams: bool,
    /// Whether every sink does (then an ended session's record need not repeat them).
    all_stream: bool,
    writer: Option<Writer>,
}

/// What a tracer is built from.
pub(crate) struct TracerConfig {
    pub(crate) policy: CapturePolicy,
    pub(crate) hooks: Vec<Arc<dyn Hook>>,
    pub(crate) sampling: Sampling,
    pub(crate) parameters: ParameterStore,
    /// The sinks and how the writer feeds them.
    pub(crate) writer: WriterConfig,
}

impl TracerShared {
    /// The shared state of a new tracer, its writer thread started if it has sinks.
    pub(crate) fn start(config: TracerConfig) -> Result<TracerShared, TraceError> {
        if !config.sampling.is_valid() {
            return Err(TraceError::InvalidSampling(config.sampling.success_fraction));
        }
        clock::calibrate_in_background();
        let counters = Arc::new(Counters::default());
        let hooks = Hooks::new(config.hooks);
        let sinks = &config.writer.sinks;
        let streams = sinks.iter().any(|sink| sink.wants_streamed_events());
        let all_stream = sinks.iter().all(|sink| sink.wants_streamed_events());
        let writer = if sinks.is_empty() {
            None
        } else {
            let writer = Writer::start(config.writer, Arc::clone(&counters), hooks.clone());
            Some(writer.map_err(TraceError::WriterThread)?)
        };
        Ok(TracerShared {
            counters,
            policy: config.policy,
            hooks,
            sampling: config.sampling,
            live: LiveSessions::default(),
            parameters: config.parameters,
            streams,
            all_stream,
            writer,
        })
    }

    /// Streams every running session's finished events, then waits until every sink has
    /// written and flushed everything recorded before the call.
    pub(crate) fn flush(&self) -> Result<(), TraceError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        self.live.stream_all();
        writer.flush()
    }

    /// Whether anything is written: with no sink there is nothing to stream.
    pub(crate) fn has_sinks(&self) -> bool {
        self.writer.is_some()
    }

    /// Whether running sessions' events are streamed (some sink wants them).
    pub(crate) fn streams(&self) -> bool {
        self.streams
    }

    /// Whether an ended session's record may leave out the events already streamed: every
    /// sink has them, and no hook reads the trace on the writer thread.
    pub(crate) fn ended_record_may_omit_streamed(&self) -> bool {
        self.all_stream && self.hooks.is_empty()
    }

    /// Hands a record to the writer, if there is one; `false` when it was not queued. A
    /// refusal means the writer is gone; it is counted, and `flush` reports it. A record
    /// the overflow policy dropped is counted in `dropped_events`.
    pub(crate) fn send(&self, record: Record) -> bool {
        match &self.writer {
            Some(writer) => match writer.send(record) {
                Ok(queued) => queued,
                Err(error) => {
                    Counters::bump(&self.counters.write_errors);
                    self.counters.set_last_error(error.to_string());
                    false
                }
            },
            None => false,
        }
    }
}
