//! How an event is stored in its row: `id`, `name` and `outcome` in columns, the rest as
//! compact JSON in `data` — empty fields left out, the start time as integer nanoseconds
//! since the Unix epoch.
//!
//! Rows written by schema version 1 hold the whole event as JSON (its `Serialize` form,
//! which always begins with `{"id":`); they are still read as such.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use trace_core::json::Object;
use trace_core::{ErrorRecord, Event, EventKind, EventRecord, Map, Outcome};

/// The stored form, read back; the columns complete it.
#[derive(Deserialize)]
struct StoredEventBack {
    #[serde(default)]
    parent: Option<u64>,
    kind: EventKind,
    system_id: String,
    #[serde(default)]
    module_path: String,
    #[serde(default)]
    turn: Option<u32>,
    #[serde(default)]
    timestep: Option<u32>,
    #[serde(default)]
    started_ns: Option<i64>,
    #[serde(default)]
    started: Option<DateTime<Utc>>,
    #[serde(rename = "duration_ns", with = "trace_core::duration_nanos")]
    duration: Duration,
    #[serde(default)]
    inputs: Map,
    /// Present (even as `null`) means `Some`.
    #[serde(default, deserialize_with = "present")]
    output: Option<Value>,
    #[serde(default)]
    error: Option<ErrorRecord>,
    #[serde(default)]
    metadata: Map,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Appends the `data` column of `event` to `buffer`: its fields written one by one, its
/// captured values copied as the text they were recorded as.
pub(crate) fn encode_into(buffer: &mut Vec<u8>, event: EventRecord<'_>) {
    let mut out = Object::new(buffer);
    if let Some(parent) = event.parent() {
        out.field("parent", &parent);
    }
    out.field("kind", event.kind());
    out.field("system_id", event.system_id());
    if !event.module_path().is_empty() {
        out.field("module_path", event.module_path());
    }
    if let Some(turn) = event.turn() {
        out.field("turn", &turn);
    }
    if let Some(timestep) = event.timestep() {
        out.field("timestep", &timestep);
    }
    let started_at = event.started_at();
    match started_at.timestamp_nanos_opt() {
        Some(nanos) => out.field("started_ns", &nanos),
        None => out.field("started", &started_at.to_rfc3339()),
    }
    let duration = out.key("duration_ns");
    // A number always serializes to a vector.
    let _ = trace_core::duration_nanos::serialize(&event.duration(), &mut serde_json::Serializer::new(duration));
    let inputs = event.inputs_json();
    if !inputs.is_empty() {
        out.raw("inputs", &inputs);
    }
    if let Some(output) = event.output_json() {
        out.raw("output", &output);
    }
    if let Some(error) = event.error() {
        out.field("error", error);
    }
    if !event.metadata().is_empty() {
        out.field("metadata", event.metadata());
    }
    out.end();
}

/// The columns of one event row.
pub(crate) struct EventRow<'a> {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) outcome: &'a str,
    pub(crate) data: &'a str,
}

/// The event stored in a row, or what can be read of it (see [`salvage`](super::salvage)).
pub(crate) fn decode(row: EventRow<'_>) -> Event {
    match decode_exactly(&row) {
        Ok(event) => event,
        Err(reason) => super::salvage::salvage(row, &reason),
    }
}

/// The event stored in a row; the error says what does not decode.
fn decode_exactly(row: &EventRow<'_>) -> Result<Event, String> {
    if row.data.starts_with("{\"id\":") {
        return serde_json::from_str(row.data).map_err(|e| e.to_string());
    }
    let stored: StoredEventBack = serde_json::from_str(row.data).map_err(|e| e.to_string())?;
    let started_at = match (stored.started_ns, stored.started) {
        (Some(nanos), _) => DateTime::from_timestamp_nanos(nanos),
        (None, Some(at)) => at,
        (None, None) => return Err("no start time".to_owned()),
    };
    Ok(Event {
        id: row.id,
        parent: stored.parent,
        kind: stored.kind,
        system_id: stored.system_id,
        name: row.name.clone(),
        module_path: stored.module_path,
        turn: stored.turn,
        timestep: stored.timestep,
        started_at,
        duration: stored.duration,
        inputs: stored.inputs,
        output: stored.output,
        error: stored.error,
        outcome: Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == row.outcome)
            .ok_or_else(|| format!("unknown outcome {:?}", row.outcome))?,
        metadata: stored.metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64) -> Event {
        Event {
            id,
            parent: Some(3),
            kind: EventKind::Tool,
            system_id: "agent".to_owned(),
            name: "search".to_owned(),
            module_path: "app::tools".to_owned(),
            turn: Some(2),
            timestep: Some(1),
            started_at: DateTime::from_timestamp_nanos(1_763_900_000_123_456_789),
            duration: Duration::from_nanos(1_234),
            inputs: serde_json::json!({ "query": "rust" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            output: Some(Value::Null),
            error: None,
            outcome: Outcome::Ok,
            metadata: Map::new(),
        }
    }

    fn encoded(event: &Event) -> Vec<u8> {
        let events = trace_core::Events::from(vec![event.clone()]);
        let mut data = Vec::new();
        encode_into(&mut data, events.records().next().expect("one event"));
        data
    }

    fn round_trip(event: &Event) -> Event {
        let data = encoded(event);
        let data = String::from_utf8(data).expect("JSON is UTF-8");
        decode_exactly(&EventRow {
            id: event.id,
            name: event.name.clone(),
            outcome: event.outcome.as_str(),
            data: &data,
        })
        .expect("decodes")
    }

    #[test]
    fn an_event_comes_back_equal_with_a_null_output_kept_apart_from_none() {
        let mut event = event(7);
        assert_eq!(round_trip(&event), event);
        event.output = None;
        event.error = Some(ErrorRecord::new("io", "refused"));
        event.outcome = Outcome::Err;
        event.parent = None;
        event.module_path.clear();
        assert_eq!(round_trip(&event), event);
    }

    #[test]
    fn a_start_past_2262_is_kept_as_text() {
        let mut event = event(1);
        event.started_at = "2300-01-01T00:00:00.5Z".parse().expect("a time");
        assert_eq!(round_trip(&event), event);
    }

    #[test]
    fn a_version_one_row_is_read_as_the_whole_event() {
        let mut event = event(1);
        event.output = Some(Value::from(4));
        let data = serde_json::to_string(&event).expect("serializes");
        let back = decode_exactly(&EventRow {
            id: 1,
            name: "search".to_owned(),
            outcome: "ok",
            data: &data,
        });
        assert_eq!(back, Ok(event));
    }

    #[test]
    fn an_unknown_outcome_is_named() {
        let data = String::from_utf8(encoded(&event(1))).expect("JSON is UTF-8");
        let error = decode_exactly(&EventRow {
            id: 1,
            name: "search".to_owned(),
            outcome: "maybe",
            data: &data,
        });
        assert_eq!(error, Err("unknown outcome \"maybe\"".to_owned()));
    }
}
