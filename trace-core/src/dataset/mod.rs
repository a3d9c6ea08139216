//! Training data from traces: chat-format records for supervised fine-tuning
//! ([`sft_records`]) and trajectories for reinforcement learning ([`trajectory`]), one
//! JSON record a line ([`DatasetWriter`]).
//!
//! A fine-tuning record ([`Format::Sft`]), one per LLM call or per session ([`Per`]):
//!
//! ```json
//! {"messages": [{"role": "user", "content": "You gather wood (T) … Turn 0. …"},
//!               {"role": "assistant", "content": "Thought: nothing useful here; …\nAction: scan"}],
//!  "metadata": {"session_id": "3f2a…", "events": [4], "models": ["scripted-policy"], "turn": 0}}
//! ```
//!
//! A trajectory ([`Format::Trajectories`]), one per session:
//!
//! ```json
//! {"session_id": "3f2a…", "status": "success", "outcome_reward": 1.0,
//!  "steps": [{"turn": 0, "observation": {"turn": 0, "underfoot": "grass", …},
//!             "action": [{"move": "north"}, "collect"], "reward": 1.0}],
//!  "final_observation": {"turn": 12, "underfoot": "grass", …}}
//! ```
//!
//! Records are written on one line each; docs/sessions.md ("Datasets") says how messages,
//! observations, actions and rewards are read from a session's events.
//!
//! ```
//! use agent_trace::dataset::{DatasetWriter, Format, Per};
//! use agent_trace::{Event, EventKind, SessionTracer};
//!
//! let session = SessionTracer::default().start_session();
//! session.record_event(Event::builder(EventKind::Llm, "agent", "complete").input("prompt", "Hi").output("Hello"))?;
//! let trace = session.end()?;
//!
//! let mut writer = DatasetWriter::new(Vec::new(), Format::Sft { per: Per::Call, metadata: false });
//! writer.write(&trace)?;
//! let (lines, report) = writer.finish()?;
//! let record: serde_json::Value = serde_json::from_slice(&lines)?;
//! assert_eq!(
//!     record,
//!     serde_json::json!({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
//! );
//! assert_eq!((report.sessions, report.records), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod sft;
mod trajectory;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};

use serde::Serialize;
pub use sft::{Per, SftRecord, SftSource, sft_records};
pub use trajectory::{Step, Trajectory, trajectory};

use crate::{Event, EventKind, SessionTrace};

/// What a dataset's records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Chat-format records for supervised fine-tuning ([`SftRecord`]).
    Sft {
        /// One record per LLM call, or per session.
        per: Per,
        /// Whether each record carries its `metadata` (where it comes from); without it, a
        /// record is `{"messages": [...]}` alone.
        metadata: bool,
    },
    /// One [`Trajectory`] per session.
    Trajectories,
}

/// What a dataset left out, and why: nothing is left out silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// LLM calls that did not end `Ok`.
    pub failed_calls: usize,
    /// LLM calls whose inputs hold no chat message.
    pub calls_without_input: usize,
    /// LLM calls whose output is not a chat message.
    pub calls_without_output: usize,
    /// LLM calls whose messages hold a value that capture did not keep whole: cut at the
    /// capture limits (`$truncated`), not serializable, or of a type neither `Serialize`
    /// nor `Debug`.
    pub incomplete_calls: usize,
    /// Sessions that gave no record: no LLM call read as chat, or no turn.
    pub empty_sessions: usize,
}

impl Skipped {
    /// Everything skipped, added up.
    pub fn total(&self) -> usize {
        self.failed_calls
            + self.calls_without_input
            + self.calls_without_output
            + self.incomplete_calls
            + self.empty_sessions
    }

    fn add(&mut self, other: &Skipped) {
        self.failed_calls += other.failed_calls;
        self.calls_without_input += other.calls_without_input;
        self.calls_without_output += other.calls_without_output;
        self.incomplete_calls += other.incomplete_calls;
        self.empty_sessions += other.empty_sessions;
    }
}

/// What a [`DatasetWriter`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Sessions read.
    pub sessions: usize,
    /// Records written.
    pub records: usize,
    /// What was left out.
    pub skipped: Skipped,
}

/// `12 records from 3 sessions (skipped: 1 failed LLM call)`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{} from {}",
            plural(self.records, "record", "records"),
            plural(self.sessions, "session", "sessions")
        )?;
        let skipped = &self.skipped;
        let parts: Vec<String> = [
            (skipped.failed_calls, "failed LLM call", "failed LLM calls"),
            (
                skipped.calls_without_input,
                "LLM call without input messages",
                "LLM calls without input messages",
            ),
            (
                skipped.calls_without_output,
                "LLM call without an output message",
                "LLM calls without an output message",
            ),
            (
                skipped.incomplete_calls,
                "LLM call with a value not captured whole",
                "LLM calls with values not captured whole",
            ),
            (
                skipped.empty_sessions,
                "session without a record",
                "sessions without a record",
            ),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| plural(n, one, many))
        .collect();
        if !parts.is_empty() {
            write!(f, " (skipped: {})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Writes sessions as dataset records, one JSON record a line, and counts what it wrote
/// and left out.
///
/// See the [module's documentation](self) for an example.
#[derive(Debug)]
pub struct DatasetWriter<W: Write> {
    out: W,
    format: Format,
    report: Report,
    line: Vec<u8>,
}

impl<W: Write> DatasetWriter<W> {
    /// A writer of `format` records into `out` (buffer it: records are written a line at a
    /// time).
    pub fn new(out: W, format: Format) -> DatasetWriter<W> {
        DatasetWriter {
            out,
            format,
            report: Report::default(),
            line: Vec::new(),
        }
    }

    /// Writes the records of one session; returns how many.
    pub fn write(&mut self, trace: &SessionTrace) -> io::Result<usize> {
        self.report.sessions += 1;
        let written = match self.format {
            Format::Sft { per, metadata } => {
                let (records, skipped) = sft_records(trace, per);
                self.report.skipped.add(&skipped);
                for record in &records {
                    if metadata {
                        self.write_line(record)?;
                    } else {
                        self.write_line(&Messages {
                            messages: &record.messages,
                        })?;
                    }
                }
                records.len()
            }
            Format::Trajectories => {
                let trajectory = trajectory(trace);
                if trajectory.steps.is_empty() {
                    self.report.skipped.empty_sessions += 1;
                    0
                } else {
                    self.write_line(&trajectory)?;
                    1
                }
            }
        };
        self.report.records += written;
        Ok(written)
    }

    /// What has been written so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Flushes the output; returns it and what was written.
    pub fn finish(mut self) -> io::Result<(W, Report)> {
        self.out.flush()?;
        Ok((self.out, self.report))
    }

    fn write_line(&mut self, record: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }
}

/// A fine-tuning record without its metadata.
#[derive(Serialize)]
struct Messages<'a> {
    messages: &'a [serde_json::Value],
}

/// The events of a session by id, to ask what a call ran inside.
struct Ancestry<'a> {
    by_id: HashMap<u64, &'a Event>,
}

impl<'a> Ancestry<'a> {
    fn of(events: &'a [Event]) -> Ancestry<'a> {
        Ancestry {
            by_id: events.iter().map(|event| (event.id, event)).collect(),
        }
    }

    fn get(&self, id: u64) -> Option<&'a Event> {
        self.by_id.get(&id).copied()
    }

    /// Whether an ancestor of `event` is of `kind` (a walk bounded by the number of events,
    /// so that a cycle of parents ends it).
    fn inside(&self, event: &Event, kind: &EventKind) -> bool {
        let mut parent = event.parent;
        for _ in 0..self.by_id.len() {
            let Some(ancestor) = parent.and_then(|id| self.get(id)) else {
                return false;
            };
            if ancestor.kind == *kind {
                return true;
            }
            parent = ancestor.parent;
        }
        false
    }
}
