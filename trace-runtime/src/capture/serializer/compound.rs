//! The sequences, maps, structs and variants [`JsonWriter`] writes: what goes between
//! their elements, and what a redacted variant leaves out.

use serde::ser::{self, Serialize};

use super::key::KeyWriter;
use super::{Failure, JsonWriter};

/// A sequence, map, struct or variant being written.
pub(super) struct Compound<'w, 'a> {
    writer: &'w mut JsonWriter<'a>,
    first: bool,
    /// What closes it: `]`, `}`, or `]}` / `}}` for a variant.
    close: &'static [u8],
    /// The map key just written is redacted: write the redaction instead of the value.
    pub(super) redact_next: bool,
}

impl<'w, 'a> Compound<'w, 'a> {
    pub(super) fn open(writer: &'w mut JsonWriter<'a>, open: u8, close: &'static [u8]) -> Self {
        writer.out.push(open);
        Compound {
            writer,
            first: true,
            close,
            redact_next: false,
        }
    }

    /// Checks the limit; returns what goes before the next element: a comma, or nothing.
    #[inline]
    fn separator(&mut self) -> Result<&'static [u8], Failure> {
        self.writer.check()?;
        Ok(if std::mem::take(&mut self.first) { b"" } else { b"," })
    }

    #[inline]
    fn separate(&mut self) -> Result<(), Failure> {
        let separator = self.separator()?;
        self.writer.out.extend(separator);
        Ok(())
    }

    pub(super) fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.separate()?;
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Failure> {
        let separator = self.separator()?;
        if self.writer.key(separator, key)? {
            self.writer.redacted();
            Ok(())
        } else {
            value.serialize(&mut *self.writer)
        }
    }

    fn end(self) -> Result<(), Failure> {
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
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Failure;

    /// The elements of a redacted variant are left out (the array holds the redaction).
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        if self.redact_next {
            return Ok(());
        }
        self.element(value)
    }

    fn end(mut self) -> Result<(), Failure> {
        if self.redact_next {
            // `{"Variant":"[REDACTED]"}`: replace the `[` just opened.
            self.writer.out.truncate(self.writer.out.len() - 1);
            self.writer.redacted();
            self.close = b"}";
        }
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Failure;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Failure> {
        let separator = self.separator()?;
        self.redact_next = key.serialize(KeyWriter(&mut *self.writer, separator))?;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
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

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Failure> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Failure> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Failure;

    /// The fields of a redacted variant are left out (the object holds the redaction).
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Failure> {
        if self.redact_next {
            return Ok(());
        }
        self.field(key, value)
    }

    fn end(mut self) -> Result<(), Failure> {
        if self.redact_next {
            // `{"Variant":"[REDACTED]"}`: replace the `{` just opened.
            self.writer.out.truncate(self.writer.out.len() - 1);
            self.writer.redacted();
            self.close = b"}";
        }
        Compound::end(self)
    }
}
