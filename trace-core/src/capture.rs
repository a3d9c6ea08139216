//! Turning user values into JSON values without ever failing.
//!
//! A value that cannot be serialized becomes the marker
//! `{"$unserializable": "<reason>"}` — including when its `Serialize` impl panics — so
//! that capture never loses the event it belongs to.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde_json::Value;

use crate::Map;

/// The key of the marker for a value that could not be serialized.
pub const UNSERIALIZABLE_KEY: &str = "$unserializable";

/// Serializes `value` into a JSON value; never fails and never panics.
///
/// The value is what `serde_json` writes for `value`, read back — as a traced call records
/// it: an `f32` in its own shortest form (`0.1`, where `serde_json::to_value` widens it to
/// `0.10000000149011612`), a 128-bit integer past 64 bits as a float. Non-finite floats
/// become `null` (as in `serde_json`). A `Serialize` impl that returns an error or panics
/// gives `{"$unserializable": "<reason>"}`.
///
/// ```
/// use agent_trace::capture::to_value;
/// assert_eq!(to_value(&[1, 2]), serde_json::json!([1, 2]));
/// assert_eq!(to_value(&0.1f32), serde_json::json!(0.1));
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    let written = catch_unwind(AssertUnwindSafe(|| {
        let text = serde_json::to_vec(value)?;
        // Nested past `serde_json`'s reading depth (128): built directly instead.
        serde_json::from_slice(&text).or_else(|_| serde_json::to_value(value))
    }));
    match written {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => unserializable(&error.to_string()),
        Err(payload) => {
            let record = crate::ErrorRecord::from_panic(payload.as_ref());
            unserializable(&format!("Serialize implementation panicked: {}", record.message))
        }
    }
}

/// The marker for a value that could not be serialized, with the reason.
pub fn unserializable(reason: &str) -> Value {
    let mut marker = Map::new();
    marker.insert(UNSERIALIZABLE_KEY.to_owned(), Value::String(reason.to_owned()));
    Value::Object(marker)
}

/// The key of the marker for a stored value that could not be read back.
pub const UNREADABLE_KEY: &str = "$unreadable";

/// The marker for a stored value that could not be read back, with the reason: what a
/// store returns in place of a field it cannot decode, so that the rest of the session
/// still reads.
///
/// ```
/// use agent_trace::capture::unreadable;
/// assert_eq!(unreadable("EOF while parsing"), serde_json::json!({"$unreadable": "EOF while parsing"}));
/// ```
pub fn unreadable(reason: &str) -> Value {
    let mut marker = Map::new();
    marker.insert(UNREADABLE_KEY.to_owned(), Value::String(reason.to_owned()));
    Value::Object(marker)
}
