//! [`KeyWriter`]: a map key written as a JSON string, as `serde_json` accepts keys.

use std::fmt::Display;

use serde::ser::{self, Serialize};

use super::{Failure, JsonWriter};

/// Writes a map key as a JSON string and its colon, after the separator it holds, as
/// `serde_json` accepts keys: strings, characters, integers, booleans and unit variants.
/// Its result: whether the key is redacted.
pub(super) struct KeyWriter<'w, 'a>(pub(super) &'w mut JsonWriter<'a>, pub(super) &'static [u8]);

impl KeyWriter<'_, '_> {
    fn text(self, key: &str) -> Result<bool, Failure> {
        Ok(self.0.key(self.1, key))
    }

    fn integer(self, key: impl itoa::Integer) -> Result<bool, Failure> {
        self.text(itoa::Buffer::new().format(key))
    }

    fn not_a_string() -> Failure {
        Failure::Custom("key must be a string".to_owned())
    }
}

impl ser::Serializer for KeyWriter<'_, '_> {
    type Ok = bool;
    type Error = Failure;
    type SerializeSeq = ser::Impossible<bool, Failure>;
    type SerializeTuple = ser::Impossible<bool, Failure>;
    type SerializeTupleStruct = ser::Impossible<bool, Failure>;
    type SerializeTupleVariant = ser::Impossible<bool, Failure>;
    type SerializeMap = ser::Impossible<bool, Failure>;
    type SerializeStruct = ser::Impossible<bool, Failure>;
    type SerializeStructVariant = ser::Impossible<bool, Failure>;

    fn serialize_bool(self, value: bool) -> Result<bool, Failure> {
        self.text(if value { "true" } else { "false" })
    }

    fn serialize_i8(self, value: i8) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_i16(self, value: i16) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_i32(self, value: i32) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_i64(self, value: i64) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_i128(self, value: i128) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_u8(self, value: u8) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_u16(self, value: u16) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_u32(self, value: u32) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_u64(self, value: u64) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_u128(self, value: u128) -> Result<bool, Failure> {
        self.integer(value)
    }

    fn serialize_f32(self, _value: f32) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_f64(self, _value: f64) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_char(self, value: char) -> Result<bool, Failure> {
        self.text(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<bool, Failure> {
        self.text(value)
    }

    fn serialize_bytes(self, _value: &[u8]) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_none(self) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_unit(self) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<bool, Failure> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<bool, Failure> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<bool, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Failure> {
        Err(Self::not_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Failure> {
        Err(Self::not_a_string())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<bool, Failure> {
        self.text(&value.to_string())
    }
}
