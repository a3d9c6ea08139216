//! Reading what can be read of an event row that does not decode: each field on its own,
//! the ones that do not decode replaced — a captured value by `{"$unreadable": "<reason>"}`,
//! anything else by its default, named with its reason in the event's metadata under
//! `$unreadable.<field>` — so that one broken row never makes its session unreadable.
//!
//! A row whose text is not JSON at all (a value cut off mid-write by an older version) or
//! nests past the reading depth is cut where the encoder's own fields begin and end: the
//! fields before the captured values and after them are written by the store, so they are
//! read apart from the values between them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use trace_core::capture::unreadable;
use trace_core::{ErrorRecord, Event, EventKind, Map, Outcome};

use super::event_row::EventRow;

/// How many places a key is looked for when the text is cut apart.
const MOST_TRIES: usize = 16;

/// What can be read of a row that did not decode (`reason` says why).
pub(crate) fn salvage(row: EventRow<'_>, reason: &str) -> Event {
    let mut fields = match serde_json::from_str::<Map>(row.data) {
        Ok(fields) => fields,
        Err(_) => cut_apart(row.data, reason),
    };
    let mut notes = Map::new();
    let mut decoded = Fields {
        fields: &mut fields,
        notes: &mut notes,
    };
    let parent = decoded.get("parent").unwrap_or_default();
    let kind = decoded
        .get("kind")
        .unwrap_or_else(|| EventKind::Custom("unreadable".to_owned()));
    let system_id = decoded.get("system_id").unwrap_or_default();
    let module_path = decoded.get("module_path").unwrap_or_default();
    let turn = decoded.get("turn").unwrap_or_default();
    let timestep = decoded.get("timestep").unwrap_or_default();
    let started_at = decoded
        .get::<i64>("started_ns")
        .map(DateTime::from_timestamp_nanos)
        .or_else(|| decoded.get::<DateTime<Utc>>("started"))
        .or_else(|| decoded.get::<DateTime<Utc>>("started_at"));
    let duration = decoded.duration();
    let inputs = decoded.fields.remove("inputs").map(into_map).unwrap_or_default();
    let output = decoded.fields.remove("output");
    let error = decoded.fields.remove("error").map(|value| {
        serde_json::from_value::<ErrorRecord>(value)
            .unwrap_or_else(|error| ErrorRecord::new(trace_core::capture::UNREADABLE_KEY, error.to_string()))
    });
    let mut metadata = decoded.fields.remove("metadata").map(into_map).unwrap_or_default();
    let started_at = started_at.unwrap_or_else(|| {
        notes.insert("$unreadable.started_at".to_owned(), Value::from("no start time"));
        DateTime::UNIX_EPOCH
    });
    let outcome = Outcome::ALL
        .into_iter()
        .find(|outcome| outcome.as_str() == row.outcome)
        .unwrap_or_else(|| {
            notes.insert(
                "$unreadable.outcome".to_owned(),
                Value::from(format!("unknown outcome {:?}", row.outcome)),
            );
            Outcome::Err
        });
    metadata.extend(notes);
    Event {
        id: row.id,
        parent,
        kind,
        system_id,
        name: row.name,
        module_path,
        turn,
        timestep,
        started_at,
        duration,
        inputs,
        output,
        error,
        outcome,
        metadata,
    }
}

/// The fields of a row, taken one by one; what does not decode is noted.
struct Fields<'a> {
    fields: &'a mut Map,
    notes: &'a mut Map,
}

impl Fields<'_> {
    /// A field decoded as `T`; one that does not decode is noted and left out.
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match serde_json::from_value(self.fields.remove(key)?) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                self.note(key, error);
                None
            }
        }
    }

    fn duration(&mut self) -> Duration {
        let Some(value) = self.fields.remove("duration_ns") else {
            return Duration::ZERO;
        };
        trace_core::duration_nanos::deserialize(value).unwrap_or_else(|error| {
            self.note("duration_ns", error);
            Duration::ZERO
        })
    }

    fn note(&mut self, key: &str, reason: impl std::fmt::Display) {
        self.notes
            .insert(format!("$unreadable.{key}"), Value::from(reason.to_string()));
    }
}

/// A value that stands where a map should: its entries, or the value under `$unreadable`.
fn into_map(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert(
                trace_core::capture::UNREADABLE_KEY.to_owned(),
                Value::from(format!("not an object: {other}")),
            );
            map
        }
    }
}

/// The fields of a text that is not one JSON object: those before the captured values
/// (up to `"inputs":` or `"output":`), those after them (`"error":`, `"metadata":`,
/// found from the end), and the captured values between, each read if it can be and
/// otherwise the unreadable marker.
fn cut_apart(data: &str, reason: &str) -> Map {
    let mut fields = Map::new();
    let body = data.strip_prefix('{').unwrap_or(data);
    let body = body.strip_suffix('}').unwrap_or(body);
    let values_start = [",\"inputs\":", ",\"output\":"]
        .iter()
        .filter_map(|key| body.find(key))
        .min()
        .unwrap_or(body.len());
    if let Ok(head) = serde_json::from_str::<Map>(&format!("{{{}}}", &body[..values_start])) {
        fields.extend(head);
    }
    let rest = &body[values_start..];
    // The fields after the values, found from the end: the first cut whose tail reads.
    let mut values_end = rest.len();
    'tail: for key in [",\"error\":", ",\"metadata\":"] {
        for (at, _) in rest.rmatch_indices(key).take(MOST_TRIES) {
            if let Ok(tail) = serde_json::from_str::<Map>(&format!("{{{}}}", &rest[at + 1..])) {
                fields.extend(tail);
                values_end = at;
                break 'tail;
            }
        }
    }
    let values = &rest[..values_end];
    let values = values.strip_prefix(',').unwrap_or(values);
    if let Ok(read) = serde_json::from_str::<Map>(&format!("{{{values}}}")) {
        fields.extend(read);
        return fields;
    }
    // Inputs and output apart: the first cut at `,"output":` where either side reads.
    let mut inputs = None;
    let mut output = None;
    if let Some(text) = values.strip_prefix("\"inputs\":") {
        for (at, _) in text.match_indices(",\"output\":").take(MOST_TRIES) {
            let left = serde_json::from_str::<Value>(&text[..at]);
            let right = serde_json::from_str::<Value>(&text[at + ",\"output\":".len()..]);
            if left.is_ok() || right.is_ok() {
                inputs = Some(left.unwrap_or_else(|error| unreadable(&error.to_string())));
                output = Some(right.unwrap_or_else(|error| unreadable(&error.to_string())));
                break;
            }
        }
        if inputs.is_none() {
            inputs = Some(unreadable(reason));
            output = text.contains(",\"output\":").then(|| unreadable(reason));
        }
    } else if values.starts_with("\"output\":") {
        output = Some(unreadable(reason));
    }
    if let Some(inputs) = inputs {
        fields.insert("inputs".to_owned(), inputs);
    }
    if let Some(output) = output {
        fields.insert("output".to_owned(), output);
    }
    fields
}
