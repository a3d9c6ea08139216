//! A `serde` serializer that writes compact JSON straight into a [`TextBuffer`] and applies
//! the capture policy's key redaction as it goes: a value under a redacted key — a struct
//! field, a map key, an enum variant, at any depth — is written as `"[REDACTED]"`.
//!
//! It writes what `serde_json` would (through trace-core's JSON primitives: numbers with
//! `itoa` and `zmij`, strings escaped the same way, non-finite floats as `null`), but
//! without a writer call per piece, and it stops as soon as the text passes its byte limit,
//! so an over-long value costs no more than the limit.

use std::fmt::{self, Display, Write as _};

use serde::ser::{self, Serialize};
use trace_core::json::{escape, float, needs_no_escape};
use trace_core::{CapturePolicy, REDACTED};

use super::buffer::TextBuffer;

mod compound;
mod key;

use compound::Compound;

/// Why a value was not written.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Its text passed the byte limit.
    OverLimit,
    /// Its `Serialize` implementation failed (or a map key is not a string).
    Custom(String),
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::OverLimit => f.write_str("the value is over the capture limit"),
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

/// Writes `value` at the end of `out` as JSON of at most `limit` bytes, redacting under
/// `policy`'s keys. On failure `out` holds part of the text: truncate it.
#[inline]
pub(crate) fn write<T: Serialize + ?Sized>(
    out: &mut TextBuffer,
    policy: &CapturePolicy,
    limit: usize,
    value: &T,
) -> Result<(), Failure> {
    let mut writer = JsonWriter {
        end: out.len().saturating_add(limit),
        out,
        policy,
    };
    value.serialize(&mut writer)?;
    writer.check()
}

/// Writes the `Debug` text of `text` at the end of `out` as a JSON string of at most
/// `limit` bytes.
pub(crate) fn write_debug(out: &mut TextBuffer, limit: usize, text: &dyn fmt::Debug) -> Result<(), Failure> {
    let end = out.len().saturating_add(limit);
    out.push(b'"');
    let mut escaper = Escaper { out, end, over: false };
    let written = write!(escaper, "{text:?}");
    if escaper.over {
        return Err(Failure::OverLimit);
    }
    written.map_err(|_| Failure::Custom("a `Debug` implementation failed".to_owned()))?;
    out.push(b'"');
    if out.len() > end {
        return Err(Failure::OverLimit);
    }
    Ok(())
}

struct JsonWriter<'a> {
    out: &'a mut TextBuffer,
    policy: &'a CapturePolicy,
    /// The length the text may reach.
    end: usize,
}

impl JsonWriter<'_> {
    #[inline]
    fn check(&self) -> Result<(), Failure> {
        if self.out.len() > self.end {
            Err(Failure::OverLimit)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn string(&mut self, text: &str) -> Result<(), Failure> {
        self.quoted(b"", text, b"\"")
    }

    /// Writes `lead`, `text` as a JSON string, then `trail`.
    #[inline]
    fn quoted(&mut self, lead: &[u8], text: &str, trail: &[u8]) -> Result<(), Failure> {
        if text.len() > self.end.saturating_sub(self.out.len()) {
            return Err(Failure::OverLimit);
        }
        if needs_no_escape(text) {
            self.out.extend_all([lead, b"\"", text.as_bytes(), trail]);
        } else {
            self.out.extend_all([lead, b"\""]);
            escape(self.out, text);
            self.out.extend(trail);
        }
        Ok(())
    }

    /// Writes `lead`, then `"key":`; says whether the value under it is to be redacted.
    #[inline]
    fn key(&mut self, lead: &[u8], key: &str) -> Result<bool, Failure> {
        self.quoted(lead, key, b"\":")?;
        Ok(self.policy.is_redacted(key))
    }

    fn redacted(&mut self) {
        self.out.extend_all([b"\"", REDACTED.as_bytes(), b"\""]);
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
    fn variant(&mut self, variant: &'static str) -> Result<bool, Failure> {
        self.key(b"{", variant)
    }
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
        self.string(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<(), Failure> {
        self.string(value)
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
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Failure> {
        self.out.extend(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Failure> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Failure> {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Failure> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        if self.variant(variant)? {
            self.redacted();
        } else {
            value.serialize(&mut *self)?;
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
        let redacted = self.variant(variant)?;
        let mut compound = Compound::open(self, b'[', b"]}");
        compound.redact_next = redacted;
        Ok(compound)
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
        let redacted = self.variant(variant)?;
        let mut compound = Compound::open(self, b'{', b"}}");
        compound.redact_next = redacted;
        Ok(compound)
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Failure> {
        let end = self.end;
        self.out.push(b'"');
        let mut escaper = Escaper {
            out: self.out,
            end,
            over: false,
        };
        let written = write!(escaper, "{value}");
        if escaper.over {
            return Err(Failure::OverLimit);
        }
        written.map_err(|_| Failure::Custom("a `Display` implementation failed".to_owned()))?;
        self.out.push(b'"');
        Ok(())
    }
}

/// Escapes `Debug` or `Display` text into a JSON string as it is formatted, stopping past
/// the limit.
struct Escaper<'a> {
    out: &'a mut TextBuffer,
    end: usize,
    over: bool,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        escape(self.out, text);
        if self.out.len() > self.end {
            self.over = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}
