//! How values are stored: times as integer nanoseconds since the Unix epoch (text past
//! 2262), JSON values as text, statuses by their display names.

use chrono::{DateTime, Utc};
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;
use trace_core::SessionStatus;

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

pub(crate) fn status_back(text: &str) -> Option<SessionStatus> {
    Some(match text {
        "running" => SessionStatus::Running,
        "success" => SessionStatus::Success,
        "error" => SessionStatus::Error,
        "cancelled" => SessionStatus::Cancelled,
        _ => return None,
    })
}

/// An id or a count as stored (SQLite integers are signed; saturating at 2^63 - 1).
pub(crate) fn integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
