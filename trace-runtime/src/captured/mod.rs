//! [`CapturedText`]: what a traced call captures, written as JSON text as it is captured —
//! the arguments' object, then the output — under the tracer's capture policy, without
//! building `serde_json::Value`s.
//!
//! A value is serialized straight into the text by a serializer of our own ([`json`]),
//! which redacts keys as it writes them. Only when the rest of the policy could change the
//! value — its text is over the size limit, or a redaction function is set — or when
//! serializing it fails, is it captured the slow way (as a `Value`, through
//! [`CapturePolicy::apply`]) and that written instead: the text is always what the policy
//! would have made of the value.

mod buffer;
mod json;
mod plain;
#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde_json::Value;
use trace_core::recorded::TextSpan;
use trace_core::{CapturePolicy, Map, REDACTED, capture};

use buffer::TextBuffer;
pub use plain::{Plain, PlainValue};

/// The largest buffer kept for the thread's next call.
const KEPT_CAPACITY: usize = 16 * 1024;

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

    /// Captures an argument through `Serialize`.
    pub(crate) fn input<T: Serialize + ?Sized>(&mut self, policy: &CapturePolicy, name: &str, value: &T) {
        if self.begin_input(name) {
            write_captured(&mut self.bytes, policy, name, value);
        }
    }

    /// Captures an argument through `Serialize`, with its key already written as JSON
    /// (`"name":`, by the attribute macro).
    pub(crate) fn input_keyed<T: Serialize + ?Sized>(
        &mut self,
        policy: &CapturePolicy,
        name: &str,
        json_key: &str,
        value: &T,
    ) {
        if self.begin_input_keyed(json_key) {
            write_captured(&mut self.bytes, policy, name, value);
        }
    }

    /// Captures an argument that is one JSON scalar, with its key already written as JSON.
    pub(crate) fn input_plain(&mut self, policy: &CapturePolicy, name: &str, json_key: &str, value: Plain<'_>) {
        if self.begin_input_keyed(json_key) {
            write_plain(&mut self.bytes, policy, name, value);
        }
    }

    /// Captures an argument through `Debug`.
    pub(crate) fn input_debug(&mut self, policy: &CapturePolicy, name: &str, value: &dyn Debug) {
        if self.begin_input(name) {
            write_debug(&mut self.bytes, policy, name, value);
        }
    }

    /// Captures an argument already turned into a value, applying the policy.
    pub(crate) fn input_value(&mut self, policy: &CapturePolicy, name: &str, value: Value) {
        if self.begin_input(name) {
            write_value(&mut self.bytes, &policy.apply(name, value));
        }
    }

    /// Records an argument with the text `"<type name>"`.
    pub(crate) fn input_opaque(&mut self, name: &str, type_name: &str) {
        if self.begin_input(name) {
            write_opaque(&mut self.bytes, type_name);
        }
    }

    /// Captures the output through `Serialize`.
    pub(crate) fn output<T: Serialize + ?Sized>(&mut self, policy: &CapturePolicy, value: &T) {
        let start = self.begin_output();
        write_captured(&mut self.bytes, policy, "output", value);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Captures an output that is one JSON scalar.
    pub(crate) fn output_plain(&mut self, policy: &CapturePolicy, value: Plain<'_>) {
        let start = self.begin_output();
        write_plain(&mut self.bytes, policy, "output", value);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Captures the output through `Debug`.
    pub(crate) fn output_debug(&mut self, policy: &CapturePolicy, value: &dyn Debug) {
        let start = self.begin_output();
        write_debug(&mut self.bytes, policy, "output", value);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Records the output as `"<type name>"`.
    pub(crate) fn output_opaque(&mut self, type_name: &str) {
        let start = self.begin_output();
        write_opaque(&mut self.bytes, type_name);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Records an output value as it is.
    pub(crate) fn output_value(&mut self, value: &Value) {
        let start = self.begin_output();
        write_value(&mut self.bytes, value);
        self.output = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Closes the arguments; returns the text, the arguments' span (empty for none) and
    /// the output's.
    #[inline]
    pub(crate) fn finish(&mut self) -> (&[u8], TextSpan, Option<TextSpan>) {
        let inputs = self.close_inputs();
        (self.bytes.as_slice(), inputs, self.output)
    }

    /// The arguments, decoded (for the functions that want them as a map).
    pub(crate) fn decoded_inputs(&mut self) -> Map {
        let span = self.close_inputs();
        trace_core::recorded::decode_inputs(self.bytes.as_slice().get(span.start..span.end).unwrap_or_default())
    }

    /// Replaces the arguments with `inputs` (written after what is there; the old text
    /// stays, unused).
    pub(crate) fn replace_inputs(&mut self, inputs: &Map) {
        let start = self.bytes.len();
        if !inputs.is_empty() {
            write_value_map(&mut self.bytes, inputs);
        }
        self.inputs_span = Some(TextSpan::new(start, self.bytes.len()));
    }

    /// Writes `,"name":` (or `{"name":` for the first); `false` once the arguments are
    /// closed (an argument recorded after the output: ignored).
    fn begin_input(&mut self, name: &str) -> bool {
        if self.inputs_span.is_some() {
            return false;
        }
        let lead = self.input_lead();
        if json::needs_no_escape(name) {
            self.bytes.extend_all([lead, b"\"", name.as_bytes(), b"\":"]);
        } else {
            self.bytes.extend(lead);
            let _ = serde_json::to_writer(&mut self.bytes, name);
            self.bytes.push(b':');
        }
        true
    }

    /// Like [`begin_input`](Self::begin_input), for a key already written as JSON.
    fn begin_input_keyed(&mut self, json_key: &str) -> bool {
        if self.inputs_span.is_some() {
            return false;
        }
        let lead = self.input_lead();
        self.bytes.extend_all([lead, json_key.as_bytes()]);
        true
    }

    /// What goes before the next argument: `{` before the first, `,` before the others.
    fn input_lead(&mut self) -> &'static [u8] {
        self.inputs += 1;
        if self.inputs == 1 { b"{" } else { b"," }
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

/// Writes `value`, captured under `name`, as the policy would have it.
fn write_captured<T: Serialize + ?Sized>(bytes: &mut TextBuffer, policy: &CapturePolicy, name: &str, value: &T) {
    if policy.is_redacted(name) {
        write_redacted(bytes);
        return;
    }
    if !policy.has_redactor() {
        let start = bytes.len();
        let limit = policy.value_byte_limit();
        let written = catch_unwind(AssertUnwindSafe(|| json::write(bytes, policy, limit, value)));
        if matches!(written, Ok(Ok(()))) {
            return;
        }
        // Too long, or a failure: the policy decides on the value.
        bytes.truncate(start);
    }
    write_value(bytes, &policy.apply(name, capture::to_value(value)));
}

/// Writes a JSON scalar, captured under `name`, as the policy would have it.
fn write_plain(bytes: &mut TextBuffer, policy: &CapturePolicy, name: &str, value: Plain<'_>) {
    if policy.is_redacted(name) {
        write_redacted(bytes);
        return;
    }
    if !policy.has_redactor() {
        let start = bytes.len();
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
            Plain::F32(value) => json::float(bytes, value),
            Plain::F64(value) => json::float(bytes, value),
            Plain::Char(value) => json::string(bytes, value.encode_utf8(&mut [0; 4])),
            // A string longer than the limit is cut: the policy makes the marker.
            Plain::Str(text) if text.len() > policy.value_byte_limit() => {}
            Plain::Str(text) => json::string(bytes, text),
        }
        if bytes.len() > start && bytes.len() - start <= policy.value_byte_limit() {
            return;
        }
        bytes.truncate(start);
    }
    write_value(bytes, &policy.apply(name, capture::to_value(&value)));
}

/// Writes the `Debug` text of `value`, captured under `name`, as the policy would have it.
fn write_debug(bytes: &mut TextBuffer, policy: &CapturePolicy, name: &str, value: &dyn Debug) {
    if policy.is_redacted(name) {
        write_redacted(bytes);
        return;
    }
    if !policy.has_redactor() {
        let start = bytes.len();
        if json::write_debug(bytes, policy.value_byte_limit(), value).is_ok() {
            return;
        }
        bytes.truncate(start);
    }
    write_value(bytes, &policy.capture_debug(name, value));
}

fn write_redacted(bytes: &mut TextBuffer) {
    bytes.extend_all([b"\"", REDACTED.as_bytes(), b"\""]);
}

/// Writes a value that is already captured.
fn write_value(bytes: &mut TextBuffer, value: &Value) {
    // A `Value` always serializes, and writing to a buffer cannot fail.
    let _ = serde_json::to_writer(bytes, value);
}

fn write_value_map(bytes: &mut TextBuffer, map: &Map) {
    let _ = serde_json::to_writer(bytes, map);
}

/// Writes `"<type name>"`.
fn write_opaque(bytes: &mut TextBuffer, type_name: &str) {
    let _ = serde_json::to_writer(bytes, &format_args!("<{type_name}>"));
}
