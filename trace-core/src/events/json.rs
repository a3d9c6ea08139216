//! [`EventRecord::write_json`]: an event as one JSON object, written directly — the same
//! bytes `serde_json` writes for it, with the captured values copied as they were recorded
//! rather than parsed and written again.

use std::io::{self, Write};

use serde::Serialize;

use super::record::EventRecord;
use crate::SessionTrace;

impl SessionTrace {
    /// Writes the trace as one line's worth of JSON: the same bytes as
    /// `serde_json::to_writer(out, &trace)`, with its events written by
    /// [`EventRecord::write_json`] — their captured values copied as recorded.
    ///
    /// ```
    /// use agent_trace::SessionTracer;
    /// let trace = SessionTracer::default().start_session().end()?;
    /// let mut line = Vec::new();
    /// trace.write_json(&mut line)?;
    /// assert_eq!(line, serde_json::to_vec(&trace)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_json<W: io::Write>(&self, out: W) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(8 * 1024, out);
        let out = &mut out;
        out.write_all(b"{\"session_id\":")?;
        json(out, &self.session_id)?;
        out.write_all(b",\"started_at\":")?;
        json(out, &self.started_at)?;
        out.write_all(b",\"ended_at\":")?;
        json(out, &self.ended_at)?;
        out.write_all(b",\"status\":")?;
        json(out, &self.status)?;
        out.write_all(b",\"timesteps\":")?;
        json(out, &self.timesteps)?;
        out.write_all(b",\"events\":[")?;
        for (index, record) in self.events.records().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            record.write_json_unbuffered(out)?;
        }
        out.write_all(b"],\"messages\":")?;
        json(out, &self.messages)?;
        out.write_all(b",\"rewards\":")?;
        json(out, &self.rewards)?;
        if !self.graph.is_empty() {
            out.write_all(b",\"graph\":")?;
            json(out, &self.graph)?;
        }
        out.write_all(b",\"metadata\":")?;
        json(out, &self.metadata)?;
        out.write_all(b"}")?;
        out.flush()
    }
}

impl EventRecord<'_> {
    /// Writes the event as one line's worth of JSON: the same bytes as
    /// `serde_json::to_writer(out, &record)` (and as for the decoded `Event`), several times
    /// faster for a recorded event, whose captured arguments and output are copied as the
    /// JSON text they were recorded as.
    ///
    /// ```
    /// use agent_trace::{Event, EventKind, SessionTracer};
    /// let session = SessionTracer::default().start_session();
    /// session.record_event(Event::builder(EventKind::Tool, "agent", "search").input("q", "rust"))?;
    /// let trace = session.end()?;
    /// let mut line = Vec::new();
    /// for record in trace.events.records() {
    ///     line.clear();
    ///     record.write_json(&mut line)?;
    ///     assert_eq!(line, serde_json::to_vec(&record)?);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_json<W: io::Write>(&self, out: W) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(512, out);
        self.write_json_unbuffered(&mut out)?;
        out.flush()
    }

    /// [`write_json`](Self::write_json) to a writer that buffers.
    fn write_json_unbuffered(&self, out: &mut impl io::Write) -> io::Result<()> {
        let Some((inputs, output)) = self.recorded_texts() else {
            return serde_json::to_writer(out, self).map_err(io::Error::from);
        };
        out.write_all(b"{\"id\":")?;
        json(out, &self.id())?;
        out.write_all(b",\"parent\":")?;
        json(out, &self.parent())?;
        out.write_all(b",\"kind\":")?;
        json(out, self.kind())?;
        out.write_all(b",\"system_id\":")?;
        json(out, self.system_id())?;
        out.write_all(b",\"name\":")?;
        json(out, self.name())?;
        out.write_all(b",\"module_path\":")?;
        json(out, self.module_path())?;
        out.write_all(b",\"turn\":")?;
        json(out, &self.turn())?;
        out.write_all(b",\"timestep\":")?;
        json(out, &self.timestep())?;
        out.write_all(b",\"started_at\":")?;
        json(out, &Time(self.started_at()))?;
        out.write_all(b",\"duration_ns\":")?;
        json(out, &Nanos(self.duration()))?;
        out.write_all(b",\"inputs\":")?;
        out.write_all(if inputs.is_empty() { b"{}" } else { inputs })?;
        out.write_all(b",\"output\":")?;
        out.write_all(output.unwrap_or(b"null"))?;
        out.write_all(b",\"error\":")?;
        json(out, &self.error())?;
        out.write_all(b",\"outcome\":")?;
        json(out, &self.outcome())?;
        out.write_all(b",\"metadata\":")?;
        json(out, self.metadata())?;
        out.write_all(b"}")
    }
}

fn json<T: Serialize + ?Sized>(out: &mut impl io::Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::from)
}

struct Time(chrono::DateTime<chrono::Utc>);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::rfc3339::serialize(&self.0, serializer)
    }
}

struct Nanos(std::time::Duration);

impl Serialize for Nanos {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::duration_nanos::serialize(&self.0, serializer)
    }
}
