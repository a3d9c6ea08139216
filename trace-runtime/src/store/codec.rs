//! How the data model is stored: times as integer nanoseconds since the Unix epoch (text
//! past 2262), durations as integer nanoseconds (text past 292 years), JSON values as
//! text, kinds and outcomes by their display names.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;
use trace_core::{EventKind, Outcome, SessionStatus};

/// A time as stored.
pub(crate) fn time(at: &DateTime<Utc>) -> SqlValue {
    match at.timestamp_nanos_opt() {
        Some(nanos) => SqlValue::Integer(nanos),
        None => SqlValue::Text(at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
    }
}

/// A time as stored, back; `None` when it is not one.
pub(crate) fn time_back(value: ValueRef<'_>) -> Option<DateTime<Utc>> {
    match value {
        ValueRef::Integer(nanos) => Some(DateTime::from_timestamp_nanos(nanos)),
        ValueRef::Text(text) => DateTime::parse_from_rfc3339(std::str::from_utf8(text).ok()?)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

/// A duration as stored.
pub(crate) fn duration(duration: &Duration) -> SqlValue {
    match i64::try_from(duration.as_nanos()) {
        Ok(nanos) => SqlValue::Integer(nanos),
        Err(_) => SqlValue::Text(duration.as_nanos().to_string()),
    }
}

/// A duration as stored, back.
pub(crate) fn duration_back(value: ValueRef<'_>) -> Option<Duration> {
    let nanos: u128 = match value {
        ValueRef::Integer(nanos) => u128::try_from(nanos).ok()?,
        ValueRef::Text(text) => std::str::from_utf8(text).ok()?.parse().ok()?,
        _ => return None,
    };
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// A value as JSON text.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // The data model serializes to JSON whatever it holds (string keys, no NaN).
    serde_json::to_string(value)
        .unwrap_or_else(|error| serde_json::json!({ "$unserializable": error.to_string() }).to_string())
}

/// JSON text back.
pub(crate) fn json_back<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

pub(crate) fn kind(kind: &EventKind) -> String {
    kind.to_string()
}

pub(crate) fn kind_back(text: &str) -> Option<EventKind> {
    Some(match text {
        "agent" => EventKind::Agent,
        "environment" => EventKind::Environment,
        "runtime" => EventKind::Runtime,
        "llm" => EventKind::Llm,
        "tool" => EventKind::Tool,
        "bundle" => EventKind::Bundle,
        other => EventKind::Custom(other.strip_prefix("custom:")?.to_owned()),
    })
}

pub(crate) fn outcome_back(text: &str) -> Option<Outcome> {
    Some(match text {
        "ok" => Outcome::Ok,
        "err" => Outcome::Err,
        "panicked" => Outcome::Panicked,
        "cancelled" => Outcome::Cancelled,
        _ => return None,
    })
}

pub(crate) fn status_back(text: &str) -> Option<SessionStatus> {
    Some(match text {
        "running" => SessionStatus::Running,
        "success" => SessionStatus::Success,
        "error" => SessionStatus::Error,
        "cancelled" => SessionStatus::Cancelled,
        _ => return None,
    })
}

/// An optional `u32` column.
pub(crate) fn opt_u32(value: Option<u32>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(value.map_or(SqlValue::Null, |v| SqlValue::Integer(i64::from(v))))
}

/// An id as stored (SQLite integers are signed; ids never reach 2^63).
pub(crate) fn id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
