//! The rows that keep hand-written JSON code of trace-core against the crates that do the
//! same: each pair writes the same bytes (checked before timing).
//!
//! - `time::*`: a `DateTime<Utc>` written as JSON by `chrono`'s `Serialize` and by
//!   `trace_core::json::serialize_time` (every event's `started_at`, every message's `at`).
//! - `transcode::*`: a recorded event's captured JSON text serialized as the value it holds
//!   (how a recorded trace serializes through any `serde` serializer), by
//!   `trace_core::json::JsonText` and by `serde-transcode`.
//!
//! Run with `cargo bench --bench json`; the figures are in `docs/performance.md`.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use divan::Bencher;
use serde::{Serialize, Serializer};

fn main() {
    for text in TEXTS {
        assert_eq!(
            written(&trace_core::json::JsonText(text)),
            written(&CrateTranscode(text))
        );
    }
    let at = started_at();
    assert_eq!(written(&at), written(&OurTime(at)));
    divan::main();
}

/// A start time as events have them: nanoseconds from a monotonic clock.
fn started_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_664_200, 123_456_789).unwrap_or_default()
}

/// Captured texts of the sizes arguments have: two scalars, a nested observation, a
/// longer string with escapes.
const TEXTS: [&[u8]; 3] = [
    br#"{"id":42,"name":"search"}"#,
    br#"{"observation":{"inventory":{"stone":0,"wood":3},"position":[4,4],"turn":7},"actions":[{"move":"north"},"collect"],"ok":true,"score":0.25}"#,
    br#"{"text":"a rather long string of text, longer than most arguments are, with an escaped \" quote and a \n newline in it"}"#,
];

fn written(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = serde_json::to_writer(&mut out, value);
    out
}

/// A time written by trace-core's writer.
struct OurTime(DateTime<Utc>);

impl Serialize for OurTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        trace_core::json::serialize_time(&self.0, serializer)
    }
}

/// A JSON text serialized through `serde-transcode`.
struct CrateTranscode<'a>(&'a [u8]);

impl Serialize for CrateTranscode<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(self.0);
        let out = serde_transcode::Transcoder::new(&mut deserializer).serialize(serializer)?;
        deserializer.end().map_err(serde::ser::Error::custom)?;
        Ok(out)
    }
}

fn write_into(bencher: Bencher<'_, '_>, value: &impl Serialize) {
    let mut out = Vec::with_capacity(1024);
    bencher.bench_local(|| {
        out.clear();
        let _ = serde_json::to_writer(&mut out, black_box(value));
        black_box(out.len())
    });
}

mod time {
    use super::*;

    #[divan::bench(sample_count = 1000)]
    fn chrono_serialize(bencher: Bencher<'_, '_>) {
        write_into(bencher, &started_at());
    }

    #[divan::bench(sample_count = 1000)]
    fn trace_core_serialize_time(bencher: Bencher<'_, '_>) {
        write_into(bencher, &OurTime(started_at()));
    }
}

mod transcode {
    use super::*;

    #[divan::bench(args = [0, 1, 2], sample_count = 1000)]
    fn trace_core_json_text(bencher: Bencher<'_, '_>, text: usize) {
        write_into(bencher, &trace_core::json::JsonText(TEXTS[text]));
    }

    #[divan::bench(args = [0, 1, 2], sample_count = 1000)]
    fn serde_transcode(bencher: Bencher<'_, '_>, text: usize) {
        write_into(bencher, &CrateTranscode(TEXTS[text]));
    }
}
