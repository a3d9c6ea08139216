//! How an event is stored in its row: `id`, `name` and `outcome` in columns, the rest as
//! compact JSON in `data` — empty fields left out, the start time as integer nanoseconds
//! since the Unix epoch.
//!
//! Rows written by schema version 1 hold the whole event as JSON (its `Serialize` form,
//! which always begins with `{"id":`); they are still read as such.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use trace_core::{ErrorRecord, Event, EventKind, Map, Outcome};

/// The stored form of an event, borrowed from it for writing.
#[derive(Serialize)]
struct StoredEvent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<u64>,
    kind: &'a EventKind,
    system_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    module_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    turn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestep: Option<u32>,
    /// Nanoseconds since the epoch; `None` past 2262, when `started` holds the RFC 3339 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    started_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<String>,
    #[serde(rename = "duration_ns", with = "trace_core::duration_nanos")]
    duration: Duration,
    #[serde(skip_serializing_if = "Map::is_empty")]
    inputs: &'a Map,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorRecord>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    metadata: &'a Map,
}

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

/// Appends the `data` column of `event` to `buffer`.
pub(crate) fn encode_into(buffer: &mut Vec<u8>, event: &Event) {
    let started_ns = event.started_at.timestamp_nanos_opt();
    let stored = StoredEvent {
        parent: event.parent,
        kind: &event.kind,
        system_id: &event.system_id,
        module_path: &event.module_path,
        turn: event.turn,
        timestep: event.timestep,
        started_ns,
        started: started_ns.is_none().then(|| event.started_at.to_rfc3339()),
        duration: event.duration,
        inputs: &event.inputs,
        output: event.output.as_ref(),
        error: event.error.as_ref(),
        metadata: &event.metadata,
    };
    // Keys are strings and numbers are finite in the data model: this does not fail.
    if serde_json::to_writer(&mut *buffer, &stored).is_err() {
        buffer.clear();
        buffer.extend_from_slice(b"{}");
    }
}

/// The columns of one event row.
pub(crate) struct EventRow<'a> {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) outcome: &'a str,
    pub(crate) data: &'a str,
}

/// The event stored in a row; the error says what does not decode.
pub(crate) fn decode(row: EventRow<'_>) -> Result<Event, String> {
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
        name: row.name,
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

    fn round_trip(event: &Event) -> Event {
        let mut data = Vec::new();
        encode_into(&mut data, event);
        let data = String::from_utf8(data).expect("JSON is UTF-8");
        decode(EventRow {
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
        let back = decode(EventRow {
            id: 1,
            name: "search".to_owned(),
            outcome: "ok",
            data: &data,
        });
        assert_eq!(back, Ok(event));
    }

    #[test]
    fn an_unknown_outcome_is_named() {
        let mut data = Vec::new();
        encode_into(&mut data, &event(1));
        let data = String::from_utf8(data).expect("JSON is UTF-8");
        let error = decode(EventRow {
            id: 1,
            name: "search".to_owned(),
            outcome: "maybe",
            data: &data,
        });
        assert_eq!(error, Err("unknown outcome \"maybe\"".to_owned()));
    }
}
