//! JSON output: the one place where the project's crates write JSON text by hand.
//!
//! Every writer of the project — a traced call capturing its values, an event or a trace
//! written with `write_json`, the store's event rows — writes through these primitives, so
//! that text comes out as `serde_json` writes it: strings escaped the same way (one escaper,
//! [`escape`]), integers in decimal, floats in their shortest form and `null` when not
//! finite, times as `chrono` serializes them ([`format_time`]). [`JsonText`] turns recorded JSON
//! text back into values for any `serde` serializer.
//!
//! Public for the crates of this project; users write JSON with `serde_json`.

mod time;
mod trace;
mod transcode;

use serde::Serialize;

pub use time::{Formatted, format_time, serialize_time};
pub use transcode::JsonText;

/// Where JSON text is written: a byte vector, or a buffer of a writer's own that copies
/// short pieces faster.
pub trait Out {
    /// Appends one byte.
    fn push(&mut self, byte: u8);

    /// Appends bytes.
    fn extend(&mut self, bytes: &[u8]);

    /// Appends the pieces one after the other.
    #[inline]
    fn extend_all<const N: usize>(&mut self, pieces: [&[u8]; N]) {
        for piece in pieces {
            self.extend(piece);
        }
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }

    #[inline]
    fn extend(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The escapes of the bytes JSON strings cannot hold as they are (`0`: none needed).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `text` as a JSON string.
///
/// ```
/// let mut out = Vec::new();
/// trace_core::json::string(&mut out, "say \"hi\"\n");
/// assert_eq!(out, serde_json::to_vec("say \"hi\"\n").unwrap());
/// ```
#[inline]
pub fn string(out: &mut impl Out, text: &str) {
    if needs_no_escape(text) {
        out.extend_all([b"\"", text.as_bytes(), b"\""]);
    } else {
        out.push(b'"');
        escape(out, text);
        out.push(b'"');
    }
}

/// How long `text` is once escaped into a JSON string (without the quotes): counted without
/// writing it, with arithmetic the compiler turns into vector instructions, so that a
/// long text is measured at several bytes a cycle.
///
/// ```
/// use trace_core::json::escaped_len;
/// assert_eq!(escaped_len(b"plain"), 5);
/// assert_eq!(escaped_len(b"a\"b\n\x01"), 12);
/// ```
pub fn escaped_len(text: &[u8]) -> usize {
    /// Bytes looked at side by side.
    const LANES: usize = 32;
    /// Rounds before a lane could overflow (each adds at most 5).
    const ROUNDS: usize = 255 / 5;
    /// What escaping adds to one byte: 1 for `\"`, `\\` and the controls with a short
    /// escape (`\n`…), 5 for the others (`\u00XX`).
    #[inline(always)]
    fn extra(byte: u8) -> u8 {
        let quote = u8::from(byte == b'"') | u8::from(byte == b'\\');
        let control = u8::from(byte < 0x20);
        let short = u8::from(byte == 0x08)
            | u8::from(byte == 0x09)
            | u8::from(byte == 0x0a)
            | u8::from(byte == 0x0c)
            | u8::from(byte == 0x0d);
        quote + control * 5 - short * 4
    }
    let mut total = text.len();
    let mut blocks = text.chunks_exact(LANES * ROUNDS);
    for block in &mut blocks {
        let mut lanes = [0u8; LANES];
        for round in block.chunks_exact(LANES) {
            for (lane, &byte) in lanes.iter_mut().zip(round) {
                *lane += extra(byte);
            }
        }
        total += lanes.iter().map(|&lane| usize::from(lane)).sum::<usize>();
    }
    total
        + blocks
            .remainder()
            .iter()
            .map(|&byte| usize::from(extra(byte)))
            .sum::<usize>()
}

/// Whether `text` goes into a JSON string as it is: checked eight bytes at a time.
#[inline]
pub fn needs_no_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes.len() {
        0..8 => bytes.iter().all(|&byte| ESCAPE[usize::from(byte)] == 0),
        n @ 8..=16 => plain_word(word(bytes, 0)) && plain_word(word(bytes, n - 8)),
        n => bytes.chunks_exact(8).all(|chunk| plain_word(word(chunk, 0))) && plain_word(word(bytes, n - 8)),
    }
}

/// Whether none of the eight bytes of `word` needs escaping: none is a quote, a backslash
/// or below 0x20 (each test is exact: see "determine if a word has a byte less than n" in
/// Sean Anderson's bit twiddling hacks).
#[inline(always)]
fn plain_word(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    (below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1) | below(word, 0x20)) == 0
}

/// The eight bytes of `bytes` from `at`, as one word.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Writes `text` escaped for the inside of a JSON string, as `serde_json` escapes it:
/// `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, and `\u00xx` for the other control bytes.
#[inline]
pub fn escape(out: &mut impl Out, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.extend(&bytes[start..at]);
        start = at + 1;
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.extend(&[b'\\', escape]);
        }
    }
    out.extend(&bytes[start..]);
}

/// Writes a float as `serde_json` does: its shortest form, `null` when not finite.
#[inline]
pub fn float(out: &mut impl Out, value: impl zmij::Float + Into<f64> + Copy) {
    if value.into().is_finite() {
        out.extend(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend(b"null");
    }
}

/// Writes an integer in decimal.
#[inline]
pub fn integer(out: &mut impl Out, value: impl itoa::Integer) {
    out.extend(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes an integer, or `null` for none.
#[inline]
pub fn optional_integer(out: &mut impl Out, value: Option<impl itoa::Integer>) {
    match value {
        Some(value) => integer(out, value),
        None => out.extend(b"null"),
    }
}

/// Appends `value` as `serde_json` writes it, for values that always serialize — the data
/// model's types, maps and values (writing to a vector cannot fail).
pub fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(out, value);
}

/// A JSON object written field by field, for an encoder that leaves some fields out. Field
/// names are the encoder's own, written as they are: a name must need no escaping (debug
/// builds check).
///
/// ```
/// use trace_core::json::Object;
/// let mut out = Vec::new();
/// let mut object = Object::new(&mut out);
/// object.field("turn", &3);
/// object.raw("inputs", br#"{"q":"rust"}"#);
/// object.end();
/// assert_eq!(out, br#"{"turn":3,"inputs":{"q":"rust"}}"#);
/// ```
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Object<'a> {
        Object { out, first: true }
    }

    /// Writes the next field's name and its colon; the caller writes the value.
    #[inline]
    pub fn key(&mut self, name: &'static str) -> &mut Vec<u8> {
        debug_assert!(needs_no_escape(name), "field name {name:?} needs escaping");
        let lead: &[u8] = if std::mem::take(&mut self.first) {
            b"{\""
        } else {
            b",\""
        };
        self.out.extend_all([lead, name.as_bytes(), b"\":"]);
        self.out
    }

    /// Writes a field whose value always serializes (see [`value`]).
    #[inline]
    pub fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, field: &T) {
        value(self.key(name), field);
    }

    /// Writes a field whose value is JSON text already.
    #[inline]
    pub fn raw(&mut self, name: &'static str, json: &[u8]) {
        self.key(name).extend_from_slice(json);
    }

    /// Closes the object (`{}` when it has no field).
    pub fn end(self) {
        if self.first {
            self.out.push(b'{');
        }
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_byte = String::new();
        for byte in 0u8..0x80 {
            every_byte.push(char::from(byte));
        }
        for text in [
            "",
            "plain",
            "exactly8",
            "sixteen bytes ok",
            "a longer text with \"quotes\" inside",
            "tab\tand\\backslash",
            "caf\u{e9} \u{1f600}",
            every_byte.as_str(),
        ] {
            let mut ours = Vec::new();
            string(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).expect("a string serializes"), "{text:?}");
            assert_eq!(
                needs_no_escape(text),
                serde_json::to_vec(text).map(|v| v.len()).ok() == Some(text.len() + 2)
            );
            // Long enough to pass through the side-by-side blocks, and the rest.
            let long = text.repeat(40) + "\u{1}";
            assert_eq!(
                escaped_len(long.as_bytes()) + 2,
                serde_json::to_vec(&long).map_or(0, |v| v.len())
            );
        }
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for value in [0.0f64, -0.5, 1e300, 0.1, f64::NAN, f64::INFINITY] {
            let mut ours = Vec::new();
            float(&mut ours, value);
            assert_eq!(ours, serde_json::to_vec(&value).expect("a float serializes"), "{value}");
        }
        let mut ours = Vec::new();
        float(&mut ours, 0.1f32);
        assert_eq!(ours, b"0.1");
        let mut ours = Vec::new();
        integer(&mut ours, u128::MAX);
        assert_eq!(ours, u128::MAX.to_string().as_bytes());
    }
}
