//! `std::time::Duration` as an integer number of nanoseconds.
//!
//! Durations up to 584 years fit a `u64` and are written as one; longer ones are written
//! as a `u128` so that no value is ever clipped. This is how `Event::duration` is written
//! (`duration_ns`); use it on a field of your own with `#[serde(with = "..")]`.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Step {
//!     #[serde(with = "trace_core::duration_nanos")]
//!     took: std::time::Duration,
//! }
//! let text = serde_json::to_string(&Step { took: std::time::Duration::from_micros(5) }).unwrap();
//! assert_eq!(text, r#"{"took":5000}"#);
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Writes `duration` as integer nanoseconds.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    let nanos = duration.as_nanos();
    match u64::try_from(nanos) {
        Ok(small) => serializer.serialize_u64(small),
        Err(_) => serializer.serialize_u128(nanos),
    }
}

/// Reads integer nanoseconds back; a count past `Duration::MAX` is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let nanos = u128::deserialize(deserializer)?;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| {
        serde::de::Error::custom(format_args!(
            "duration of {nanos} ns does not fit a std::time::Duration"
        ))
    })?;
    // The remainder is below one billion, so it always fits a u32.
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    Ok(Duration::new(secs, subsec))
}
