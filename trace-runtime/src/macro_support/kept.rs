//! A stream's items as a call keeps them for a replay (`stream.replay_items`), and read
//! back. What the event already holds is not kept twice: the items' values are the output
//! when the output is made of them, so most calls keep only where each item ends and when
//! it came, as numbers in a string (one value, not one per item, in the event):
//!
//! ```json
//! { "at_us": "210 250 310",           // microseconds from the call's start, per item ("-": not timed)
//!   "text_ends": "6 12",              // text items: the output's text, cut at these bytes
//!   "errors": [[2, { "message": .. }]] // `Err` items, by their place among the items
//! }
//! ```
//!
//! with `"listed": n` instead of `text_ends` when the output is the list of the `Ok` items
//! (its first `n`), and `"values": [..]` when the output is not made of the items (an
//! `accumulate` type, or text items that are more than their text, like a chunk with
//! usage): then each value is captured under the capture policy.

use std::time::Duration;

use serde_json::{Map as JsonMap, Value};
use trace_core::{ErrorRecord, TRUNCATED_KEY};

use super::replay::Unusable;
use crate::call::Call;

/// Where the `Ok` items' values are found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum From {
    /// The output text, cut at each item's end.
    Text,
    /// The output list.
    Listed,
    /// Kept values of their own.
    Values,
}

/// The items of a call, kept as they are read.
#[derive(Default)]
pub(super) struct KeptItems {
    from: Option<From>,
    /// When each item came, in microseconds from the call's start (`None`: not timed).
    at: Vec<Option<u64>>,
    text_ends: Vec<usize>,
    listed: u64,
    values: Vec<Value>,
    errors: Vec<(usize, ErrorRecord)>,
}

impl KeptItems {
    /// A text item whose value is its text (a `String`), the output text now `end` bytes.
    /// `false` when the items are kept another way (then keep it as a value).
    pub(super) fn text(&mut self, call: &Call, end: usize) -> bool {
        if !self.take_from(From::Text) {
            return false;
        }
        self.text_ends.push(end);
        self.came(call);
        true
    }

    /// An item the output list has just taken.
    pub(super) fn listed(&mut self, call: &Call) -> bool {
        if !self.take_from(From::Listed) {
            return false;
        }
        self.listed += 1;
        self.came(call);
        true
    }

    /// An item kept as its own value, captured under the call's policy.
    pub(super) fn value<T: serde::Serialize + ?Sized>(&mut self, call: &Call, value: &T) -> bool {
        if !self.take_from(From::Values) {
            return false;
        }
        let Some(policy) = call.policy() else { return false };
        self.values.push(crate::capture::capture_value(policy, "output", value));
        self.came(call);
        true
    }

    /// An `Err` item.
    pub(super) fn error(&mut self, call: &Call, error: &ErrorRecord) {
        self.errors.push((self.at.len(), error.clone()));
        self.came(call);
    }

    /// Whether the `Ok` items may be kept `from` there: all are kept the same way.
    fn take_from(&mut self, from: From) -> bool {
        *self.from.get_or_insert(from) == from
    }

    fn came(&mut self, call: &Call) {
        let at = call
            .elapsed()
            .map(|at| u64::try_from(at.as_micros()).unwrap_or(u64::MAX));
        self.at.push(at);
    }

    /// The metadata value.
    pub(super) fn into_value(self) -> Value {
        let mut kept = JsonMap::new();
        kept.insert("at_us".into(), Value::String(numbers(self.at.into_iter())));
        match self.from {
            Some(From::Text) => {
                let ends = self.text_ends.into_iter().map(|end| Some(end as u64));
                kept.insert("text_ends".into(), Value::String(numbers(ends)));
            }
            Some(From::Listed) => {
                kept.insert("listed".into(), Value::from(self.listed));
            }
            Some(From::Values) | None => {
                kept.insert("values".into(), Value::Array(self.values));
            }
        }
        if !self.errors.is_empty() {
            let errors = self.errors.into_iter().map(|(index, error)| {
                let error = serde_json::to_value(error).unwrap_or(Value::Null);
                Value::Array(vec![Value::from(index), error])
            });
            kept.insert("errors".into(), errors.collect());
        }
        Value::Object(kept)
    }
}

/// Numbers as a string, space-separated; `-` for `None`.
fn numbers(numbers: impl ExactSizeIterator<Item = Option<u64>>) -> String {
    let mut text = String::with_capacity(numbers.len() * 6);
    let mut digits = itoa::Buffer::new();
    for (index, number) in numbers.enumerate() {
        if index > 0 {
            text.push(' ');
        }
        match number {
            Some(number) => text.push_str(digits.format(number)),
            None => text.push('-'),
        }
    }
    text
}

/// The numbers of a string [`numbers`] wrote; `None` when one is not a number or `-`.
fn read_numbers(text: &str) -> Option<Vec<Option<u64>>> {
    text.split_ascii_whitespace()
        .map(|number| match number {
            "-" => Some(None),
            number => number.parse().ok().map(Some),
        })
        .collect()
}

/// One recorded item, as a replay gives it back.
pub(super) enum RecordedItem {
    Ok(Value),
    Err(ErrorRecord),
}

/// The recorded items of a call whose event kept them (`kept`, its `output`), each with
/// the time it came.
pub(super) fn recorded_items(
    kept: &Value,
    output: Option<&Value>,
) -> Result<Vec<(RecordedItem, Option<Duration>)>, Unusable> {
    let malformed = || ("output", format!("the kept items are not in a known form: {kept}"));
    let at = kept
        .get("at_us")
        .and_then(Value::as_str)
        .and_then(read_numbers)
        .ok_or_else(malformed)?;
    let mut errors = Vec::new();
    for error in kept.get("errors").and_then(Value::as_array).into_iter().flatten() {
        let index = error.get(0).and_then(Value::as_u64).ok_or_else(malformed)?;
        let record: ErrorRecord = error
            .get(1)
            .cloned()
            .and_then(|record| serde_json::from_value(record).ok())
            .ok_or_else(malformed)?;
        errors.push((index, record));
    }
    let ok_count = at.len().checked_sub(errors.len()).ok_or_else(malformed)?;
    let values = ok_values(kept, output, ok_count)?;
    if values.len() != ok_count {
        return Err(malformed());
    }
    let mut values = values.into_iter();
    let mut errors = errors.into_iter().peekable();
    let mut items = Vec::with_capacity(at.len());
    for (index, at) in at.into_iter().enumerate() {
        let at = at.map(Duration::from_micros);
        let item = match errors.next_if(|(at_index, _)| *at_index == index as u64) {
            Some((_, record)) => RecordedItem::Err(record),
            None => RecordedItem::Ok(values.next().ok_or_else(malformed)?),
        };
        items.push((item, at));
    }
    Ok(items)
}

/// The `count` values of the `Ok` items, from where they were kept.
fn ok_values(kept: &Value, output: Option<&Value>, count: usize) -> Result<Vec<Value>, Unusable> {
    let cut = || {
        (
            "output",
            "the recorded output was cut at the capture limit, so its items cannot be returned".to_owned(),
        )
    };
    if let Some(ends) = kept.get("text_ends").and_then(Value::as_str) {
        let ends =
            read_numbers(ends).ok_or_else(|| ("output", format!("the kept items are not in a known form: {kept}")))?;
        let text = match output {
            Some(Value::String(text)) => text.as_str(),
            None | Some(Value::Null) if ends.is_empty() => "",
            _ => return Err(cut()),
        };
        let mut start = 0;
        return ends
            .iter()
            .map(|end| {
                let end = end.and_then(|end| usize::try_from(end).ok());
                let piece = end.and_then(|end| text.get(start..end).map(|piece| (piece, end)));
                let (piece, end) = piece.ok_or_else(cut)?;
                start = end;
                Ok(Value::String(piece.to_owned()))
            })
            .collect();
    }
    if kept.get("listed").is_some() {
        let listed = match output {
            Some(Value::Array(listed)) => listed.as_slice(),
            None | Some(Value::Null) if count == 0 => &[],
            _ => return Err(cut()),
        };
        let listed = listed.get(..count).ok_or_else(cut)?;
        if listed.iter().any(|value| value.get(TRUNCATED_KEY).is_some()) {
            return Err(cut());
        }
        return Ok(listed.to_vec());
    }
    match kept.get("values").and_then(Value::as_array) {
        Some(values) => Ok(values.clone()),
        None => Err(("output", format!("the kept items are not in a known form: {kept}"))),
    }
}
