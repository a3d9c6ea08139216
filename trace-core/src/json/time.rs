//! A UTC time as RFC 3339 text, exactly as `chrono`'s `Serialize` writes it, without its
//! formatting machinery (`benches/json.rs` has the row that shows the difference):
//! four-digit year, `T`, the fraction of the second with 0, 3, 6 or 9 digits (the fewest
//! that keep it exact), `Z`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// The longest text [`format_time`] writes for a year in `0..=9999`.
const MAX_LEN: usize = "2026-11-24T02:03:04.123456789Z".len();

/// A formatted time, on the stack.
pub struct Formatted {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl Formatted {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// Formats `at` as `chrono` serializes it, or `None` for a year outside `0..=9999` (which
/// `chrono` writes with a sign; callers fall back to it).
///
/// ```
/// let at: chrono::DateTime<chrono::Utc> = "2026-12-02T08:30:00.25Z".parse().unwrap();
/// let text = trace_core::json::format_time(&at).unwrap();
/// assert_eq!(format!("\"{}\"", text.as_str()), serde_json::to_string(&at).unwrap());
/// ```
pub fn format_time(at: &DateTime<Utc>) -> Option<Formatted> {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (mut second, mut nano) = (at.second(), at.nanosecond());
    if nano >= 1_000_000_000 {
        // A leap second: chrono writes it as second 60.
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut out = Formatted {
        bytes: [0; MAX_LEN],
        len: 0,
    };
    let push_digits = |value: u32, digits: usize, out: &mut Formatted| {
        let mut rest = value;
        for slot in out.bytes[out.len..out.len + digits].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.len += digits;
    };
    let push = |byte: u8, out: &mut Formatted| {
        out.bytes[out.len] = byte;
        out.len += 1;
    };
    push_digits(year as u32, 4, &mut out);
    push(b'-', &mut out);
    push_digits(at.month(), 2, &mut out);
    push(b'-', &mut out);
    push_digits(at.day(), 2, &mut out);
    push(b'T', &mut out);
    push_digits(at.hour(), 2, &mut out);
    push(b':', &mut out);
    push_digits(at.minute(), 2, &mut out);
    push(b':', &mut out);
    push_digits(second, 2, &mut out);
    if nano != 0 {
        push(b'.', &mut out);
        if nano % 1_000_000 == 0 {
            push_digits(nano / 1_000_000, 3, &mut out);
        } else if nano % 1_000 == 0 {
            push_digits(nano / 1_000, 6, &mut out);
        } else {
            push_digits(nano, 9, &mut out);
        }
    }
    push(b'Z', &mut out);
    Some(out)
}

/// `serialize_with` for a `DateTime<Utc>`: the same text as `chrono`'s `Serialize`
/// (`#[serde(serialize_with = "trace_core::json::serialize_time")]`).
pub fn serialize_time<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match format_time(at) {
        Some(text) => serializer.serialize_str(text.as_str()),
        None => serde::Serialize::serialize(at, serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_text(at: &DateTime<Utc>) -> String {
        serde_json::to_string(at).expect("a time serializes")
    }

    fn ours(at: &DateTime<Utc>) -> String {
        let mut out = Vec::new();
        serialize_time(at, &mut serde_json::Serializer::new(&mut out)).expect("a time serializes");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn every_fraction_width_and_edge_of_the_year_range_matches_chrono() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bounds = [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "2026-11-24T02:03:04.5Z",
            "2026-11-24T02:03:04.000001Z",
            "2026-11-24T02:03:04.000000001Z",
        ];
        let mut times: Vec<DateTime<Utc>> = bounds.iter().map(|t| t.parse().expect("a time")).collect();
        for _ in 0..20_000 {
            let secs = (next() % (10_000 * 366 * 86_400)) as i64 - 62_167_219_200;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1000,
                _ => (next() % 1_000_000_000) as u32,
            };
            times.extend(DateTime::from_timestamp(secs, nanos));
        }
        for at in &times {
            assert_eq!(ours(at), chrono_text(at), "{at:?}");
        }
    }

    #[test]
    fn a_leap_second_and_years_outside_four_digits_match_chrono() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .expect("a leap second")
            .and_utc();
        let far = DateTime::from_timestamp(400_000_000_000, 7).expect("year 14645");
        let before = DateTime::from_timestamp(-70_000_000_000, 0).expect("a year BCE");
        for at in [leap, far, before] {
            assert_eq!(ours(&at), chrono_text(&at), "{at:?}");
        }
    }
}
