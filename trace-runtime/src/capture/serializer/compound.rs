//! The sequences, maps, structs and variants [`JsonWriter`] writes: what goes between
//! their elements, and what a redacted variant leaves out.

use serde::ser::{self, Serialize};

use super::key::KeyWriter;
use super::{Failure, JsonWriter};

/// A sequence, map, struct or variant being written, or one left out (past the depth
/// limit, or a redacted variant): then its elements are not looked at.
pub(super) struct Compound<'w, 'a> {
    writer: &'w mut JsonWriter<'a>,
    first: bool,
    /// What closes it: `]`, `}`, or `]}` / `}}` for a variant.
    close: &'static [u8],
    /// Left out: what stands for it is written already.
    skip: bool,
    /// The map key just written is redacted: write the redaction instead of the value.
    redact_next: bool,
}

impl<'w, 'a> Compound<'w, 'a> {
    /// Opens a compound with `open`, closed with `close`; past the depth limit, writes the
    /// depth marker instead and leaves the elements out.
    #[inline]
    pub(super) fn open(writer: &'w mut JsonWriter<'a>, open: u8, close: &'static [u8]) -> Self {
        if writer.too_deep() {
            // What closes a variant's object is still to be written.
            return Compound::skipping(writer, &close[1..]);
        }
        writer.depth += 1;
        writer.out.push(open);
        Compound {
            writer,
            first: true,
            close,
            skip: false,
            redact_next: false,
        }
    }

    /// A compound whose elements are left out, closed with `close`.
    pub(super) fn skipping(writer: &'w mut JsonWriter<'a>, close: &'static [u8]) -> Self {
        Compound {
            writer,
            first: true,
            close,
            skip: true,
            redact_next: false,
        }
    }

    /// Returns what goes before the next element: a comma, or nothing.
    #[inline]
    fn separator(&mut self) -> &'static [u8] {
        self.writer.spill();
        if std::mem::take(&mut self.first) { b"" } else { b"," }
    }

    pub(super) fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        if self.skip {
            return Ok(());
        }
        let separator = self.separator();
        self.writer.out.extend(separator);
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Failure> {
        if self.skip {
            return Ok(());
        }
        let separator = self.separator();
        if self.writer.key(separator, key) {
            self.writer.redacted();
            Ok(())
        } else {
            value.serialize(&mut *self.writer)
        }
    }

    fn end(self) -> Result<(), Failure> {
        if !self.skip {
            self.writer.depth -= 1;
        }
        self.writer.out.extend(self.close);
        Ok(())
    }
}

/// The sequences whose elements are written one after the other.
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Failure;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
                self.element(value)
            }

            fn end(self) -> Result<(), Failure> {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Failure;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Failure> {
        if self.skip {
            return Ok(());
        }
        let separator = self.separator();
        self.redact_next = key.serialize(KeyWriter(&mut *self.writer, separator))?;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        if self.skip {
            return Ok(());
        }
        if std::mem::take(&mut self.redact_next) {
            self.writer.redacted();
            Ok(())
        } else {
            value.serialize(&mut *self.writer)
        }
    }

    fn end(self) -> Result<(), Failure> {
        Compound::end(self)
    }
}

/// The structs, whose fields are written under their names.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Failure;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Failure> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), Failure> {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);
