//! Serializing a JSON text as the value it holds, through any `serde` serializer, without
//! building a `serde_json::Value`: the text is parsed and each token handed straight to
//! the serializer. This is how a recorded event's captured arguments and output serialize.
//!
//! Written here rather than taken from `serde-transcode`, which does the same: ours is a few
//! percent faster (`benches/json.rs`, `transcode::*`).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON text that serializes as the value it holds. An empty text is an empty object; a
/// text that is not JSON is a serialization error.
///
/// ```
/// use trace_core::json::JsonText;
/// let value = serde_json::to_value(JsonText(br#"{"q":[1,"two"]}"#)).unwrap();
/// assert_eq!(value, serde_json::json!({"q": [1, "two"]}));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonText<'a>(pub &'a [u8]);

impl Serialize for JsonText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return serializer.serialize_map(Some(0))?.end();
        }
        let mut deserializer = serde_json::Deserializer::from_slice(self.0);
        let serialized = Transcode::new(&mut deserializer).serialize(serializer)?;
        deserializer.end().map_err(ser::Error::custom)?;
        Ok(serialized)
    }
}

/// A deserializer to be consumed once, by serializing what it yields.
struct Transcode<D>(Cell<Option<D>>);

impl<D> Transcode<D> {
    fn new(deserializer: D) -> Self {
        Transcode(Cell::new(Some(deserializer)))
    }
}

impl<'de, D: Deserializer<'de>> Serialize for Transcode<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let deserializer = self
            .0
            .take()
            .ok_or_else(|| ser::Error::custom("a JSON text was transcoded twice"))?;
        deserializer
            .deserialize_any(Forward(serializer))
            .map_err(ser::Error::custom)?
    }
}

/// Hands every value it visits to the serializer. Its result is the serializer's; a
/// serializer error met inside a sequence or map travels out as a deserializer error with
/// the same message.
struct Forward<S>(S);

impl<'de, S: Serializer> Visitor<'de> for Forward<S> {
    type Value = Result<S::Ok, S::Error>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.0.serialize_bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.0.serialize_i64(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.0.serialize_u64(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.0.serialize_f64(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.serialize_str(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.0.serialize_unit())
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(self.0.serialize_none())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Ok(self.0.serialize_some(&Transcode::new(deserializer)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = match self.0.serialize_seq(seq.size_hint()) {
            Ok(out) => out,
            Err(error) => return Ok(Err(error)),
        };
        while seq.next_element_seed(Element(&mut out))?.is_some() {}
        Ok(out.end())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = match self.0.serialize_map(map.size_hint()) {
            Ok(out) => out,
            Err(error) => return Ok(Err(error)),
        };
        while map.next_key_seed(Key(&mut out))?.is_some() {
            map.next_value_seed(Value(&mut out))?;
        }
        Ok(out.end())
    }
}

/// One element of a sequence, serialized as it is read.
struct Element<'a, O>(&'a mut O);

impl<'de, O: SerializeSeq> DeserializeSeed<'de> for Element<'_, O> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0
            .serialize_element(&Transcode::new(deserializer))
            .map_err(de::Error::custom)
    }
}

/// One key of a map.
struct Key<'a, O>(&'a mut O);

impl<'de, O: SerializeMap> DeserializeSeed<'de> for Key<'_, O> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0
            .serialize_key(&Transcode::new(deserializer))
            .map_err(de::Error::custom)
    }
}

/// One value of a map.
struct Value<'a, O>(&'a mut O);

impl<'de, O: SerializeMap> DeserializeSeed<'de> for Value<'_, O> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0
            .serialize_value(&Transcode::new(deserializer))
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through_value(text: &str) -> serde_json::Value {
        serde_json::to_value(JsonText(text.as_bytes())).expect("transcodes")
    }

    #[test]
    fn every_kind_of_json_value_arrives_as_the_value_it_is() {
        let text = r#"{"a":[1,-2,3.5,true,null,"x\"y\u00e9"],"b":{"c":{}},"d":[],"e":18446744073709551615}"#;
        let parsed: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(through_value(text), parsed);
        let mut written = Vec::new();
        JsonText(text.as_bytes())
            .serialize(&mut serde_json::Serializer::new(&mut written))
            .expect("transcodes");
        let expected = serde_json::to_string(&parsed).expect("serializes");
        assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
    }

    #[test]
    fn an_empty_text_is_an_empty_object_and_a_broken_one_an_error() {
        assert_eq!(through_value(""), serde_json::json!({}));
        assert!(serde_json::to_value(JsonText(b"{\"a\":")).is_err());
        assert!(serde_json::to_value(JsonText(b"1 2")).is_err());
    }
}
