//! [`PlainValue`]: the values most arguments are — numbers, booleans, characters, strings —
//! written as JSON directly, without going through `serde`: the attribute macros pick this
//! over `Serialize` when a value's type has it.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

/// A value that is one JSON scalar.
#[derive(Debug, Clone, Copy)]
pub enum Plain<'a> {
    /// `null` (`None`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An unsigned integer.
    Unsigned(u64),
    /// A signed integer.
    Signed(i64),
    /// An `f32`, written as `serde_json` writes one (its own shortest form).
    F32(f32),
    /// An `f64`.
    F64(f64),
    /// A character.
    Char(char),
    /// A string.
    Str(&'a str),
}

/// A value that is one JSON scalar, and says which ([`Plain`]).
pub trait PlainValue {
    /// The value as a JSON scalar.
    fn plain(&self) -> Plain<'_>;
}

impl Serialize for Plain<'_> {
    /// The same as the value it stands for.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Plain::Null => serializer.serialize_unit(),
            Plain::Bool(value) => serializer.serialize_bool(value),
            Plain::Unsigned(value) => serializer.serialize_u64(value),
            Plain::Signed(value) => serializer.serialize_i64(value),
            Plain::F32(value) => serializer.serialize_f32(value),
            Plain::F64(value) => serializer.serialize_f64(value),
            Plain::Char(value) => serializer.serialize_char(value),
            Plain::Str(value) => serializer.serialize_str(value),
        }
    }
}

macro_rules! plain_values {
    ($($variant:ident($as:ty): $($ty:ty),*;)*) => {$($(
        impl PlainValue for $ty {
            fn plain(&self) -> Plain<'_> {
                Plain::$variant(<$as>::from(*self))
            }
        }
    )*)*};
}

plain_values! {
    Bool(bool): bool;
    Unsigned(u64): u8, u16, u32, u64;
    Signed(i64): i8, i16, i32, i64;
    F32(f32): f32;
    F64(f64): f64;
    Char(char): char;
}

impl PlainValue for usize {
    fn plain(&self) -> Plain<'_> {
        // `usize` is at most 64 bits on every target Rust supports.
        Plain::Unsigned(*self as u64)
    }
}

impl PlainValue for isize {
    fn plain(&self) -> Plain<'_> {
        Plain::Signed(*self as i64)
    }
}

impl PlainValue for str {
    fn plain(&self) -> Plain<'_> {
        Plain::Str(self)
    }
}

impl PlainValue for String {
    fn plain(&self) -> Plain<'_> {
        Plain::Str(self)
    }
}

impl PlainValue for Cow<'_, str> {
    fn plain(&self) -> Plain<'_> {
        Plain::Str(self)
    }
}

impl PlainValue for Box<str> {
    fn plain(&self) -> Plain<'_> {
        Plain::Str(self)
    }
}

impl<T: PlainValue + ?Sized> PlainValue for &T {
    fn plain(&self) -> Plain<'_> {
        (**self).plain()
    }
}

impl<T: PlainValue + ?Sized> PlainValue for &mut T {
    fn plain(&self) -> Plain<'_> {
        (**self).plain()
    }
}

impl<T: PlainValue> PlainValue for Option<T> {
    fn plain(&self) -> Plain<'_> {
        self.as_ref().map_or(Plain::Null, PlainValue::plain)
    }
}
