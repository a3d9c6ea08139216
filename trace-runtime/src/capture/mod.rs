//! [`CapturedText`]: what a traced call captures, written as JSON text as it is captured —
//! the arguments' object, then the output — under the tracer's capture policy, without
//! building `serde_json::Value`s.
//!
//! Capture has one path. A value arrives as a [`Source`] — how it can be written: through
//! `Serialize`, as a plain JSON scalar, through `Debug`, as its type's name (opaque), or as
//! a `Value` already — and [`write_source`] writes every kind the same way, in one pass
//! under the whole policy: the text is always what the policy makes of the value, never a
//! part of one, and no user impl's panic leaves the writer.

mod buffer;
mod plain;
mod serializer;
#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;
use trace_core::{CapturePolicy, ErrorRecord, Map, REDACTED};

use crate::recorded::TextSpan;
use buffer::TextBuffer;
pub(crate) use plain::{Plain, PlainValue};
use serializer::{Failure, Written};

/// The largest buffer kept for the thread's next call.
const KEPT_CAPACITY: usize = 16 * 1024;

/// A value to capture, by how it can be written. `T` is the type of a value captured
/// through `Serialize` (the other kinds leave it `()`), so that its serialization is
/// compiled for it rather than called through a `dyn`.
pub(crate) enum Source<'a, T: ?Sized = ()> {
    /// Through its `Serialize` implementation.
    Serialize(&'a T),
    /// One JSON scalar (a number, a boolean, a character, a string, `null`).
    Plain(Plain<'a>),
    /// Its `Debug` text, as a string.
    Debug(&'a dyn Debug),
    /// Neither: the name of its type, as `"<name>"`.
    Opaque(&'static str),
    /// A value already (the fields of `tracing` spans).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    Value(&'a Value),
}

impl<T: ?Sized> Clone for Source<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Source<'_, T> {}

/// An argument's name, and that name as a JSON key (`"name":`) when it is known already.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgKey<'a> {
    /// The name, which redaction looks at.
    pub(crate) name: &'a str,
    /// `"name":`, written as it is (the attribute macros write it at compile time).
    pub(crate) json: Option<&'a str>,
}

/// The JSON text of one call's captured arguments and output.
pub(crate) struct CapturedText {
    bytes: TextBuffer,
    /// How many arguments were written.
    inputs: usize,
    /// The arguments' object, once closed (by the first output or the end of the call).
    inputs_span: Option<TextSpan>,
    output: Option<TextSpan>,
    /// While the output is a streamed list being written: how many items were left out.
    list: Option<u64>,
}

impl CapturedText {
    /// An empty text.
    pub(crate) fn new() -> CapturedText {
        CapturedText {
            bytes: TextBuffer::default(),
            inputs: 0,
            inputs_span: None,
            output: None,
            list: None,
        }
    }

    /// Empties the text for another call; `false` when its buffer grew too large to keep.
    pub(crate) fn reset(&mut self) -> bool {
        self.bytes.truncate(0);
        self.inputs = 0;
        self.inputs_span = None;
        self.output = None;
        self.list = None;
        self.bytes.capacity() <= KEPT_CAPACITY
    }

    /// Captures an argument. An argument captured after the output is ignored.
    #[inline]
    pub(crate) fn input<T: Serialize + ?Sized>(
        &mut self,
        policy: &CapturePolicy,
        key: ArgKey<'_>,
        source: Source<'_, T>,
    ) {
        if self.inputs_span.is_some() {
            return;
        }
        self.inputs += 1;
        let lead: &[u8] = if self.inputs == 1 { b"{" } else { b"," };
        match key.json {
            Some(json) => self.bytes.extend_all([lead, json.as_bytes()]),
            None if trace_core::json::needs_no_escape(key.name) => {
                self.bytes.extend_all([lead, b"\"", key.name.as_bytes(), b"\":"]);
            }
            None => {
                self.bytes.extend(lead);
                trace_core::json::string(&mut self.bytes, key.name);
                self.bytes.push(b':');
            }
        }
        write_source(&mut self.bytes, policy, key.name, source);
    }

    /// Captures the output.
    #[inline]
    pub(crate) fn output<T: Serialize + ?Sized>(&mut self, policy: &CapturePolicy, source: Source<'_, T>) {
        let start = self.begin_output();
        write_source(&mut self.bytes, policy, "output", source);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Adds one item of a streamed output to the output's list (`[a,b,…`), while the list
    /// is within the value limit; past it, the item is counted as left out.
    pub(crate) fn output_item<T: Serialize + ?Sized>(&mut self, policy: &CapturePolicy, source: Source<'_, T>) {
        let start = match (self.output, &mut self.list) {
            (Some(span), Some(left_out)) if span.end - span.start > policy.value_byte_limit() => {
                *left_out += 1;
                return;
            }
            (Some(span), Some(_)) => {
                self.bytes.push(b',');
                span.start
            }
            _ => {
                let start = self.begin_output();
                self.bytes.push(b'[');
                self.list = Some(0);
                start
            }
        };
        write_source(&mut self.bytes, policy, "output", source);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Closes the list [`output_item`](Self::output_item) made, if any, with the marker
    /// `{"$truncated":true,"items":N}` last when N items were left out.
    pub(crate) fn close_output_items(&mut self) {
        let (Some(span), Some(left_out)) = (self.output, self.list.take()) else {
            return;
        };
        if left_out > 0 {
            self.bytes.extend(br#",{"$truncated":true,"items":"#);
            self.bytes.decimal(left_out);
            self.bytes.push(b'}');
        }
        self.bytes.push(b']');
        self.output = Some(TextSpan::new(span.start, self.bytes.len()));
    }

    /// Captures as the output a text of `len` bytes of which only `head` was kept: the
    /// truncation marker, with the whole text's length.
    pub(crate) fn output_cut_text(&mut self, policy: &CapturePolicy, head: &str, len: usize) {
        let start = self.begin_output();
        trace_core::json::string(&mut self.bytes, head);
        write_truncated(&mut self.bytes, policy, start, len);
        if policy.has_redactor() {
            run_redactor(&mut self.bytes, policy, "output", start);
        }
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Closes the arguments; returns the text, the arguments' span (empty for none) and
    /// the output's.
    #[inline]
    pub(crate) fn finish(&mut self) -> (&[u8], TextSpan, Option<TextSpan>) {
        let inputs = self.close_inputs();
        (self.bytes.as_slice(), inputs, self.output)
    }

    /// Replaces what was captured with `inputs` and `output`, values that are what the
    /// call records as they are (written after what is there; the old text stays, unused).
    pub(crate) fn replace(&mut self, inputs: &Map, output: Option<&Value>) {
        self.close_inputs();
        let start = self.bytes.len();
        if !inputs.is_empty() {
            write_value(&mut self.bytes, inputs);
        }
        self.inputs_span = Some(TextSpan::new(start, self.bytes.len()));
        self.output = output.map(|output| {
            let start = self.bytes.len();
            write_value(&mut self.bytes, output);
            TextSpan::new(start, self.bytes.len())
        });
    }

    fn close_inputs(&mut self) -> TextSpan {
        if let Some(span) = self.inputs_span {
            return span;
        }
        if self.inputs > 0 {
            self.bytes.push(b'}');
        }
        let span = TextSpan::new(0, self.bytes.len());
        self.inputs_span = Some(span);
        span
    }

    fn begin_output(&mut self) -> usize {
        self.close_inputs();
        self.bytes.len()
    }
}

/// Writes `source`, captured under `name`, as the policy would have it, in one pass: a
/// value under a redacted name is `"[REDACTED]"`; otherwise it is written straight into
/// the text by the serializer of [`serializer`] (keys and secret strings redacted, depth
/// bounded, what passes the limit counted rather than kept). A value over the limit is then
/// replaced by its truncation marker, one that failed to write (or whose `Serialize` or
/// `Debug` impl panicked) by the unserializable marker — the text is rolled back to the
/// value's start first — and a policy with a redaction function hands it the result.
/// Inlined, so that the kind of source, known where the value is captured, picks its
/// writer there.
#[inline(always)]
fn write_source<T: Serialize + ?Sized>(
    bytes: &mut TextBuffer,
    policy: &CapturePolicy,
    name: &str,
    source: Source<'_, T>,
) {
    if policy.is_redacted(name) {
        bytes.extend_all([b"\"", REDACTED.as_bytes(), b"\""]);
        return;
    }
    let start = bytes.len();
    let written = match source {
        Source::Serialize(value) => guarded("Serialize", || serializer::write(bytes, policy, value)),
        Source::Value(value) => serializer::write(bytes, policy, value),
        Source::Debug(value) => guarded("Debug", || serializer::write_debug(bytes, policy, value)),
        Source::Plain(Plain::Str(text)) => {
            if text.len() <= policy.value_byte_limit() / 6 && !policy.may_hold_secret(text.len()) {
                // Short, and too short to hold a secret: within the limit however escaped.
                trace_core::json::string(bytes, text);
                Ok(Written::Whole)
            } else {
                Ok(serializer::write_str(bytes, policy, text))
            }
        }
        Source::Plain(value) => {
            write_plain(bytes, value);
            Ok(within_limit(bytes, policy, start))
        }
        Source::Opaque(type_name) => {
            bytes.extend(b"\"<");
            trace_core::json::escape(bytes, type_name);
            bytes.extend(b">\"");
            Ok(within_limit(bytes, policy, start))
        }
    };
    match written {
        Ok(Written::Whole) => {}
        Ok(Written::Cut { len }) => write_truncated(bytes, policy, start, len),
        Err(failure) => {
            bytes.truncate(start);
            write_unserializable(bytes, &failure.to_string());
        }
    }
    if policy.has_redactor() {
        run_redactor(bytes, policy, name, start);
    }
}

/// Runs a user's impl (`what` names the trait) as it writes a value; a panic is a failure
/// that names it and says what it panicked with.
#[inline(always)]
fn guarded(what: &str, write: impl FnOnce() -> Result<Written, Failure>) -> Result<Written, Failure> {
    catch_unwind(AssertUnwindSafe(write)).unwrap_or_else(|payload| Err(panicked(what, payload.as_ref())))
}

#[cold]
fn panicked(what: &str, payload: &(dyn std::any::Any + Send)) -> Failure {
    let record = ErrorRecord::from_panic(payload);
    Failure::Custom(format!("{what} implementation panicked: {}", record.message))
}

/// How a short text written from `start` stands against the limit.
#[inline]
fn within_limit(bytes: &TextBuffer, policy: &CapturePolicy, start: usize) -> Written {
    let len = bytes.len() - start;
    if len <= policy.value_byte_limit() {
        Written::Whole
    } else {
        Written::Cut { len }
    }
}

/// Replaces the start of a cut value's text, written from `start`, with the truncation
/// marker `{"$truncated":true,"len":…,"head":"…"}`, its head looked at for secrets again
/// (one may run on past the cut).
#[cold]
#[inline(never)]
fn write_truncated(bytes: &mut TextBuffer, policy: &CapturePolicy, start: usize, len: usize) {
    let kept = &bytes.as_slice()[start..];
    let kept = &kept[..kept.len().min(policy.value_byte_limit())];
    let head = match std::str::from_utf8(kept) {
        Ok(head) => head,
        Err(error) => std::str::from_utf8(&kept[..error.valid_up_to()]).unwrap_or_default(),
    };
    let head = policy.redact_string(head, true).unwrap_or_else(|| head.to_owned());
    bytes.truncate(start);
    bytes.extend(br#"{"$truncated":true,"len":"#);
    bytes.decimal(len as u64);
    bytes.extend(br#","head":"#);
    trace_core::json::string(bytes, &head);
    bytes.push(b'}');
}

/// Writes `{"$unserializable":"<reason>"}`.
#[cold]
fn write_unserializable(bytes: &mut TextBuffer, reason: &str) {
    bytes.extend(br#"{"$unserializable":"#);
    trace_core::json::string(bytes, reason);
    bytes.push(b'}');
}

/// Hands the value written from `start` to the policy's redaction function and writes
/// what it makes of it instead.
#[cold]
#[inline(never)]
fn run_redactor(bytes: &mut TextBuffer, policy: &CapturePolicy, name: &str, start: usize) {
    // The text is bounded in depth and length, so it reads back.
    let Ok(value) = serde_json::from_slice::<Value>(&bytes.as_slice()[start..]) else {
        return;
    };
    let value = policy.run_redactor(name, value);
    bytes.truncate(start);
    write_value(bytes, &value);
}

/// Captures `value` under `name` as a `Value`, the way a traced call's argument is captured
/// (metadata, node values, manual spans' fields).
pub(crate) fn capture_value<T: Serialize + ?Sized>(policy: &CapturePolicy, name: &str, value: &T) -> Value {
    capture_source(policy, name, Source::Serialize(value))
}

/// Captures a value written as `source` says under `name`, as a `Value` (the `fields(..)`
/// of the attribute macros).
pub(crate) fn capture_source<T: Serialize + ?Sized>(
    policy: &CapturePolicy,
    name: &str,
    source: Source<'_, T>,
) -> Value {
    let mut bytes = TextBuffer::default();
    write_source(&mut bytes, policy, name, source);
    // What the writer writes is JSON within the reading depth.
    serde_json::from_slice(bytes.as_slice())
        .unwrap_or_else(|error| trace_core::capture::unserializable(&error.to_string()))
}

/// Writes a JSON scalar.
#[inline]
fn write_plain(bytes: &mut TextBuffer, value: Plain<'_>) {
    match value {
        Plain::Null => bytes.extend(b"null"),
        Plain::Bool(value) => bytes.extend(if value { b"true" } else { b"false" }),
        Plain::Unsigned(value) => bytes.decimal(value),
        Plain::Signed(value) => {
            if value < 0 {
                bytes.push(b'-');
            }
            bytes.decimal(value.unsigned_abs());
        }
        Plain::F32(value) => trace_core::json::float(bytes, value),
        Plain::F64(value) => trace_core::json::float(bytes, value),
        Plain::Char(value) => trace_core::json::string(bytes, value.encode_utf8(&mut [0; 4])),
        Plain::Str(text) => trace_core::json::string(bytes, text),
    }
}

/// Writes a value that is already captured, as it is (depth bounded still).
fn write_value<T: Serialize + ?Sized>(bytes: &mut TextBuffer, value: &T) {
    static AS_IT_IS: LazyLock<CapturePolicy> = LazyLock::new(|| {
        CapturePolicy::default()
            .redacted_keys(std::iter::empty::<String>())
            .redact_known_secrets(false)
            .max_value_bytes(usize::MAX)
            .max_depth(trace_core::MAX_DEPTH_LIMIT)
    });
    let start = bytes.len();
    // A `Value` or a map of them always serializes.
    if serializer::write(bytes, &AS_IT_IS, value).is_err() {
        bytes.truncate(start);
        bytes.extend(b"null");
    }
}
