//! [`EventRecord::write_json`] and [`SessionTrace::write_json`]: an event, or a whole trace,
//! as JSON appended to a byte vector — the same bytes `serde_json` writes for it, with the
//! captured values copied as they were recorded rather than parsed and written again, and
//! the fixed fields written directly.

use super::{format_time, integer, optional_integer, string, value as json};
use crate::{EventKind, EventRecord, SessionTrace};

impl EventRecord<'_> {
    /// Appends the event as JSON to `out`: the same bytes as `serde_json::to_writer(out,
    /// &record)` (and as for the decoded `Event`), several times faster for a recorded event,
    /// whose captured arguments and output are copied as the JSON text they were recorded
    /// as.
    ///
    /// ```
    /// use agent_trace::{Event, EventKind, SessionTracer};
    /// let session = SessionTracer::default().start_session();
    /// session.record_event(Event::builder(EventKind::Tool, "agent", "search").input("q", "rust"))?;
    /// let trace = session.end()?;
    /// let mut line = Vec::new();
    /// for record in trace.events.records() {
    ///     line.clear();
    ///     record.write_json(&mut line);
    ///     assert_eq!(line, serde_json::to_vec(&record)?);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let Some((inputs, output)) = self.recorded_json() else {
            return json(out, self);
        };
        out.extend_from_slice(b"{\"id\":");
        integer(out, self.id());
        out.extend_from_slice(b",\"parent\":");
        optional_integer(out, self.parent());
        out.extend_from_slice(b",\"kind\":");
        match self.kind() {
            EventKind::Custom(_) => json(out, self.kind()),
            kind => string(out, kind.name()),
        }
        out.extend_from_slice(b",\"system_id\":");
        string(out, self.system_id());
        out.extend_from_slice(b",\"name\":");
        string(out, self.name());
        out.extend_from_slice(b",\"module_path\":");
        string(out, self.module_path());
        out.extend_from_slice(b",\"turn\":");
        optional_integer(out, self.turn());
        out.extend_from_slice(b",\"timestep\":");
        optional_integer(out, self.timestep());
        out.extend_from_slice(b",\"started_at\":");
        let started_at = self.started_at();
        match format_time(&started_at) {
            Some(text) => {
                out.push(b'"');
                out.extend_from_slice(text.as_str().as_bytes());
                out.push(b'"');
            }
            None => json(out, &started_at),
        }
        out.extend_from_slice(b",\"duration_ns\":");
        match u64::try_from(self.duration().as_nanos()) {
            Ok(nanos) => integer(out, nanos),
            Err(_) => {
                let mut nanos = serde_json::Serializer::new(&mut *out);
                // Writing a number to a vector cannot fail.
                let _ = crate::duration_nanos::serialize(&self.duration(), &mut nanos);
            }
        }
        out.extend_from_slice(b",\"inputs\":");
        out.extend_from_slice(if inputs.is_empty() { b"{}" } else { inputs });
        out.extend_from_slice(b",\"output\":");
        out.extend_from_slice(output.unwrap_or(b"null"));
        out.extend_from_slice(b",\"error\":");
        match self.error() {
            Some(error) => json(out, error),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"outcome\":\"");
        out.extend_from_slice(self.outcome().as_str().as_bytes());
        out.extend_from_slice(b"\",\"metadata\":");
        if self.metadata().is_empty() {
            out.extend_from_slice(b"{}");
        } else {
            json(out, self.metadata());
        }
        out.push(b'}');
    }
}

impl SessionTrace {
    /// Appends the trace as JSON to `out`: the same bytes as `serde_json::to_writer(out,
    /// &trace)`, with its events written by [`EventRecord::write_json`] — their captured
    /// values copied as recorded.
    ///
    /// ```
    /// use agent_trace::SessionTracer;
    /// let trace = SessionTracer::default().start_session().end()?;
    /// let mut line = Vec::new();
    /// trace.write_json(&mut line);
    /// assert_eq!(line, serde_json::to_vec(&trace)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"session_id\":");
        json(out, &self.session_id);
        out.extend_from_slice(b",\"started_at\":");
        json(out, &self.started_at);
        out.extend_from_slice(b",\"ended_at\":");
        json(out, &self.ended_at);
        out.extend_from_slice(b",\"status\":");
        json(out, &self.status);
        out.extend_from_slice(b",\"timesteps\":");
        json(out, &self.timesteps);
        out.extend_from_slice(b",\"events\":[");
        for (index, record) in self.events.records().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            record.write_json(out);
        }
        out.extend_from_slice(b"],\"messages\":");
        json(out, &self.messages);
        out.extend_from_slice(b",\"rewards\":");
        json(out, &self.rewards);
        if !self.scores.is_empty() {
            out.extend_from_slice(b",\"scores\":");
            json(out, &self.scores);
        }
        if !self.graph.is_empty() {
            out.extend_from_slice(b",\"graph\":");
            json(out, &self.graph);
        }
        if let Some(user) = &self.user {
            out.extend_from_slice(b",\"user\":");
            json(out, user);
        }
        if let Some(name) = &self.name {
            out.extend_from_slice(b",\"name\":");
            json(out, name);
        }
        if !self.tags.is_empty() {
            out.extend_from_slice(b",\"tags\":");
            json(out, &self.tags);
        }
        out.extend_from_slice(b",\"metadata\":");
        json(out, &self.metadata);
        out.push(b'}');
    }
}
