//! A `serde` serializer that writes compact JSON straight into a [`TextBuffer`] under the
//! capture policy, in one pass over the value:
//!
//! - a value under a redacted key — a struct field, a map key, an enum variant, at any
//!   depth — is written as `"[REDACTED]"`, and the secrets inside string values are
//!   redacted as the strings are written;
//! - past the policy's depth the rest of a value is the depth marker, and the writer never
//!   recurses further into it, so a value nested 10,000 deep costs a few frames;
//! - past the byte limit the text is counted but not kept (a little over the limit stays in
//!   the buffer, the rest is measured and dropped), so an over-long value costs its length
//!   in time and the limit in memory.
//!
//! It writes what `serde_json` would (through trace-core's JSON primitives: numbers with
//! `itoa` and `zmij`, strings escaped the same way, non-finite floats as `null`), but
//! without a writer call per piece.

use std::fmt::{self, Display, Write as _};

use serde::ser::{self, Serialize};
use trace_core::json::{escape, escaped_len, float, needs_no_escape};
use trace_core::{CapturePolicy, REDACTED};

use super::buffer::TextBuffer;

mod compound;
mod key;

use compound::Compound;

/// How much past the limit the buffer may hold before what is past the limit is counted
/// and dropped.
const SPILL: usize = 4096;

/// Why a value was not written.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Its `Serialize` implementation failed (or a map key is not a string).
    Custom(String),
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Failure {}

impl ser::Error for Failure {
    fn custom<T: Display>(message: T) -> Self {
        Failure::Custom(message.to_string())
    }
}

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Whole, within the limit.
    Whole,
    /// Past the limit: the buffer holds at least the limit's worth of the text's start;
    /// the whole text is `len` bytes.
    Cut {
        /// The length of the whole text.
        len: usize,
    },
}

/// Writes `value` at the end of `out` as JSON under `policy`. On failure `out` holds part
/// of the text: truncate it.
#[inline]
pub(crate) fn write<T: Serialize + ?Sized>(
    out: &mut TextBuffer,
    policy: &CapturePolicy,
    value: &T,
) -> Result<Written, Failure> {
    let mut writer = JsonWriter::new(out, policy);
    value.serialize(&mut writer)?;
    Ok(writer.finish())
}

/// Writes a string at the end of `out` as a JSON string under `policy`.
#[inline]
pub(crate) fn write_str(out: &mut TextBuffer, policy: &CapturePolicy, text: &str) -> Written {
    let mut writer = JsonWriter::new(out, policy);
    writer.string(text);
    writer.finish()
}

/// Writes the `Debug` text of `value` at the end of `out` as a JSON string under `policy`.
pub(crate) fn write_debug(
    out: &mut TextBuffer,
    policy: &CapturePolicy,
    value: &dyn fmt::Debug,
) -> Result<Written, Failure> {
    let mut writer = JsonWriter::new(out, policy);
    writer.formatted("Debug", format_args!("{value:?}"))?;
    Ok(writer.finish())
}

struct JsonWriter<'a> {
    out: &'a mut TextBuffer,
    policy: &'a CapturePolicy,
    /// Where the value starts.
    start: usize,
    /// The length the text may reach.
    end: usize,
    /// How many bytes were written past `end` and dropped.
    spilled: usize,
    /// How many levels deep the value being written is.
    depth: usize,
}

impl<'a> JsonWriter<'a> {
    #[inline]
    fn new(out: &'a mut TextBuffer, policy: &'a CapturePolicy) -> Self {
        let start = out.len();
        JsonWriter {
            end: start.saturating_add(policy.value_byte_limit()),
            start,
            out,
            policy,
            spilled: 0,
            depth: 0,
        }
    }

    #[inline]
    fn finish(self) -> Written {
        if self.spilled == 0 && self.out.len() <= self.end {
            Written::Whole
        } else {
            Written::Cut {
                len: self.out.len() - self.start + self.spilled,
            }
        }
    }

    /// Drops what the buffer holds past the limit once there is much of it, counting it.
    #[inline]
    fn spill(&mut self) {
        if self.out.len() > self.end.saturating_add(SPILL) {
            self.spill_now();
        }
    }

    #[cold]
    fn spill_now(&mut self) {
        self.spilled += self.out.len() - self.end;
        self.out.truncate(self.end);
    }

    /// Whether the text is past its limit already.
    #[inline]
    fn is_cut(&self) -> bool {
        self.spilled > 0 || self.out.len() > self.end
    }

    /// A string value: its secrets redacted.
    #[inline]
    fn string(&mut self, text: &str) {
        if self.policy.may_hold_secret(text.len()) {
            return self.secret_string(text);
        }
        self.quoted(b"", text, b"\"");
    }

    #[cold]
    #[inline(never)]
    fn secret_string(&mut self, text: &str) {
        // Of a string longer than what can be kept, only the start is looked at.
        let room = self.end.saturating_sub(self.out.len());
        if text.len() > room.saturating_add(SPILL) {
            let kept = floor_char_boundary(text, room);
            let rest = escaped_len(&text.as_bytes()[kept..]);
            match self.policy.redact_string(&text[..kept], true) {
                Some(redacted) => self.quoted(b"", &redacted, b""),
                None => self.quoted(b"", &text[..kept], b""),
            }
            self.spilled += rest + 1;
            return self.spill_now();
        }
        match self.policy.redact_string(text, false) {
            Some(redacted) => self.quoted(b"", &redacted, b"\""),
            None => self.quoted(b"", text, b"\""),
        }
    }

    /// Writes `lead`, `text` as a JSON string, then `trail`.
    #[inline]
    fn quoted(&mut self, lead: &[u8], text: &str, trail: &[u8]) {
        if text.len() > self.end.saturating_add(SPILL).saturating_sub(self.out.len()) {
            return self.long_quoted(lead, text, trail);
        }
        if needs_no_escape(text) {
            self.out.extend_all([lead, b"\"", text.as_bytes(), trail]);
        } else {
            self.out.extend_all([lead, b"\""]);
            escape(self.out, text);
            self.out.extend(trail);
        }
        // What passed the limit is dropped at the next element (`Compound::separator`):
        // until then the buffer holds at most a few times `SPILL` past it.
    }

    /// A string longer than what may be kept of it: the start of it escaped, the rest
    /// counted.
    #[cold]
    #[inline(never)]
    fn long_quoted(&mut self, lead: &[u8], text: &str, trail: &[u8]) {
        let kept = floor_char_boundary(text, self.end.saturating_sub(self.out.len()));
        self.out.extend_all([lead, b"\""]);
        escape(self.out, &text[..kept]);
        self.spilled += escaped_len(&text.as_bytes()[kept..]) + trail.len();
        self.spill_now();
    }

    /// Writes `lead`, then `"key":`; says whether the value under it is to be redacted.
    #[inline]
    fn key(&mut self, lead: &[u8], key: &str) -> bool {
        self.quoted(lead, key, b"\":");
        self.policy.is_redacted(key)
    }

    fn redacted(&mut self) {
        self.out.extend_all([b"\"", REDACTED.as_bytes(), b"\""]);
    }

    /// Whether a value nested one level further would be past the depth limit; if so, the
    /// depth marker is written in its place.
    #[inline]
    fn too_deep(&mut self) -> bool {
        if self.depth < self.policy.depth_limit() {
            return false;
        }
        self.depth_marker();
        true
    }

    #[cold]
    fn depth_marker(&mut self) {
        self.out.extend(br#"{"$truncated":true,"depth":"#);
        self.out.decimal(self.policy.depth_limit() as u64);
        self.out.push(b'}');
    }

    /// Writes a value one level further down (inside `Some`, a newtype or a variant).
    #[inline]
    fn nested<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        if self.too_deep() {
            return Ok(());
        }
        self.depth += 1;
        let written = value.serialize(&mut *self);
        self.depth -= 1;
        written
    }

    #[inline]
    fn unsigned(&mut self, value: u64) -> Result<(), Failure> {
        self.out.decimal(value);
        Ok(())
    }

    #[inline]
    fn signed(&mut self, value: i64) -> Result<(), Failure> {
        if value < 0 {
            self.out.push(b'-');
        }
        self.unsigned(value.unsigned_abs())
    }

    /// A 128-bit integer (rare enough to go through `itoa`).
    fn wide(&mut self, value: impl itoa::Integer) -> Result<(), Failure> {
        self.out.extend(itoa::Buffer::new().format(value).as_bytes());
        Ok(())
    }

    fn float(&mut self, value: impl zmij::Float + Into<f64> + Copy) -> Result<(), Failure> {
        float(self.out, value);
        Ok(())
    }

    /// Opens `{"variant":` for an enum variant holding data.
    fn variant(&mut self, variant: &'static str) -> bool {
        self.key(b"{", variant)
    }

    /// Writes formatted text (`Debug` or `Display`) as a JSON string, escaped as it is
    /// formatted, its secrets redacted. `what` names the trait, for the error.
    fn formatted(&mut self, what: &str, arguments: fmt::Arguments<'_>) -> Result<(), Failure> {
        let opening = self.out.len();
        self.out.push(b'"');
        let mut escaper = Escaper { writer: self };
        if escaper.write_fmt(arguments).is_err() {
            return Err(Failure::Custom(format!("{what} implementation returned an error")));
        }
        if self.is_cut() {
            // The kept start is looked at when the cut value's marker is made.
            self.spilled += 1;
            return Ok(());
        }
        self.out.push(b'"');
        if self.policy.may_hold_secret(self.out.len() - opening) {
            self.redact_written_string(opening);
        }
        Ok(())
    }

    /// Redacts the secrets of the JSON string written from `opening` to the end.
    #[cold]
    #[inline(never)]
    fn redact_written_string(&mut self, opening: usize) {
        let written = &self.out.as_slice()[opening..];
        if self.policy.has_patterns() {
            // Patterns are matched against the text itself, not its escaped form.
            if let Ok(text) = serde_json::from_slice::<String>(written)
                && let Some(redacted) = self.policy.redact_string(&text, false)
            {
                self.out.truncate(opening);
                self.quoted(b"", &redacted, b"\"");
            }
            return;
        }
        // The known secrets are the same in the escaped text: redacted in place.
        let mut found = Vec::new();
        self.policy
            .find_known_secrets(&written[1..written.len() - 1], false, |range| found.push(range));
        if found.is_empty() {
            return;
        }
        let text = written[1..written.len() - 1].to_vec();
        self.out.truncate(opening + 1);
        let mut copied = 0;
        for range in found {
            self.out.extend_all([&text[copied..range.start], REDACTED.as_bytes()]);
            copied = range.end;
        }
        self.out.extend_all([&text[copied..], b"\""]);
    }
}

/// The largest character boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0)
}

impl<'w, 'a> ser::Serializer for &'w mut JsonWriter<'a> {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, value: bool) -> Result<(), Failure> {
        self.out.extend(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Result<(), Failure> {
        self.signed(value.into())
    }

    fn serialize_i16(self, value: i16) -> Result<(), Failure> {
        self.signed(value.into())
    }

    fn serialize_i32(self, value: i32) -> Result<(), Failure> {
        self.signed(value.into())
    }

    fn serialize_i64(self, value: i64) -> Result<(), Failure> {
        self.signed(value)
    }

    fn serialize_i128(self, value: i128) -> Result<(), Failure> {
        self.wide(value)
    }

    fn serialize_u8(self, value: u8) -> Result<(), Failure> {
        self.unsigned(value.into())
    }

    fn serialize_u16(self, value: u16) -> Result<(), Failure> {
        self.unsigned(value.into())
    }

    fn serialize_u32(self, value: u32) -> Result<(), Failure> {
        self.unsigned(value.into())
    }

    fn serialize_u64(self, value: u64) -> Result<(), Failure> {
        self.unsigned(value)
    }

    fn serialize_u128(self, value: u128) -> Result<(), Failure> {
        self.wide(value)
    }

    fn serialize_f32(self, value: f32) -> Result<(), Failure> {
        self.float(value)
    }

    fn serialize_f64(self, value: f64) -> Result<(), Failure> {
        self.float(value)
    }

    fn serialize_char(self, value: char) -> Result<(), Failure> {
        self.string(value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), Failure> {
        self.string(value);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Failure> {
        let mut seq = Compound::open(self, b'[', b"]");
        for byte in value {
            ser::SerializeSeq::serialize_element(&mut seq, byte)?;
        }
        ser::SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), Failure> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Failure> {
        self.nested(value)
    }

    fn serialize_unit(self) -> Result<(), Failure> {
        self.out.extend(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Failure> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Failure> {
        self.quoted(b"", variant, b"\"");
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Failure> {
        self.nested(value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        if self.variant(variant) {
            self.redacted();
        } else {
            self.nested(value)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Failure> {
        Ok(Compound::open(self, b'[', b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Failure> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Failure> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Failure> {
        if self.variant(variant) {
            // `{"Variant":"[REDACTED]"}`.
            self.redacted();
            return Ok(Compound::skipping(self, b"}"));
        }
        Ok(Compound::open(self, b'[', b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Failure> {
        Ok(Compound::open(self, b'{', b"}"))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Failure> {
        Ok(Compound::open(self, b'{', b"}"))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Failure> {
        if self.variant(variant) {
            self.redacted();
            return Ok(Compound::skipping(self, b"}"));
        }
        Ok(Compound::open(self, b'{', b"}}"))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Failure> {
        self.formatted("Display", format_args!("{value}"))
    }
}

/// Escapes `Debug` or `Display` text into a JSON string as it is formatted, counting
/// rather than keeping what passes the limit.
struct Escaper<'w, 'a> {
    writer: &'w mut JsonWriter<'a>,
}

impl fmt::Write for Escaper<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let writer = &mut *self.writer;
        if writer.spilled > 0 {
            writer.spilled += escaped_len(text.as_bytes());
        } else {
            escape(writer.out, text);
            writer.spill();
        }
        Ok(())
    }
}
