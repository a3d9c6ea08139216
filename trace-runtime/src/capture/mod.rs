//! [`CapturedText`]: what a traced call captures, written as JSON text as it is captured —
//! the arguments' object, then the output — under the tracer's capture policy, without
//! building `serde_json::Value`s.
//!
//! Capture has one path. A value arrives as a [`Source`] — how it can be written: through
//! `Serialize`, as a plain JSON scalar, through `Debug`, as its type's name (opaque), or as
//! a `Value` already — and [`write_source`] writes every kind the same way: a value under
//! a redacted name is `"[REDACTED]"`; otherwise it is written straight into the text (by
//! the serializer of [`serializer`], which redacts keys as it writes them), and only when
//! the rest of the policy could change it — its text is over the size limit, or a redaction
//! function is set — or when writing it fails, is it captured the slow way (as a `Value`,
//! through [`CapturePolicy::apply`]) and that written instead: the text is always what the
//! policy would have made of the value.

mod buffer;
mod plain;
mod serializer;
#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde_json::Value;
use trace_core::{CapturePolicy, Map, REDACTED, capture};

use crate::recorded::TextSpan;
use buffer::TextBuffer;
pub(crate) use plain::{Plain, PlainValue};

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
}

impl CapturedText {
    /// An empty text.
    pub(crate) fn new() -> CapturedText {
        CapturedText {
            bytes: TextBuffer::default(),
            inputs: 0,
            inputs_span: None,
            output: None,
        }
    }

    /// Empties the text for another call; `false` when its buffer grew too large to keep.
    pub(crate) fn reset(&mut self) -> bool {
        self.bytes.truncate(0);
        self.inputs = 0;
        self.inputs_span = None;
        self.output = None;
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

/// Writes `source`, captured under `name`, as the policy would have it. Inlined, so that
/// the kind of source, known where the value is captured, picks its writer there.
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
    if !policy.has_redactor() {
        let start = bytes.len();
        if write_within_limit(bytes, policy, source) {
            return;
        }
        // Too long, or a failure: the policy decides on the value.
        bytes.truncate(start);
    }
    write_through_policy(bytes, policy, name, source);
}

/// Writes what the policy makes of `source` as a `Value`: the slow way, for a value over
/// the size limit, one that failed to write, or a policy with a redaction function.
#[cold]
#[inline(never)]
fn write_through_policy<T: Serialize + ?Sized>(
    bytes: &mut TextBuffer,
    policy: &CapturePolicy,
    name: &str,
    source: Source<'_, T>,
) {
    let value = match source {
        Source::Serialize(value) => policy.apply(name, capture::to_value(value)),
        Source::Plain(value) => policy.apply(name, capture::to_value(&value)),
        Source::Value(value) => policy.apply(name, value.clone()),
        Source::Debug(value) => policy.capture_debug(name, value),
        Source::Opaque(type_name) => policy.apply(name, Value::String(format!("<{type_name}>"))),
    };
    write_value(bytes, &value);
}

/// Writes `source` at the end of `bytes`, redacting keys as it goes; `false` (with part of
/// the text written) when it is over the size limit or could not be written.
#[inline]
fn write_within_limit<T: Serialize + ?Sized>(
    bytes: &mut TextBuffer,
    policy: &CapturePolicy,
    source: Source<'_, T>,
) -> bool {
    let start = bytes.len();
    let limit = policy.value_byte_limit();
    match source {
        Source::Serialize(value) => {
            let written = catch_unwind(AssertUnwindSafe(|| serializer::write(bytes, policy, limit, value)));
            matches!(written, Ok(Ok(())))
        }
        Source::Value(value) => serializer::write(bytes, policy, limit, value).is_ok(),
        Source::Debug(value) => serializer::write_debug(bytes, limit, value).is_ok(),
        Source::Plain(value) => {
            if let Plain::Str(text) = value
                && text.len() > limit
            {
                // A string longer than the limit is cut: the policy makes the marker.
                return false;
            }
            write_plain(bytes, value);
            bytes.len() - start <= limit
        }
        Source::Opaque(type_name) => {
            bytes.extend(b"\"<");
            trace_core::json::escape(bytes, type_name);
            bytes.extend(b">\"");
            bytes.len() - start <= limit
        }
    }
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

/// Writes a value that is already captured.
fn write_value<T: Serialize + ?Sized>(bytes: &mut TextBuffer, value: &T) {
    // A `Value` or a map of them always serializes, and writing to a buffer cannot fail.
    let _ = serde_json::to_writer(bytes, value);
}
