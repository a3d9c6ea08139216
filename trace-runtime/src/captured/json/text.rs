//! JSON text primitives: strings escaped as `serde_json` escapes them (checked eight bytes
//! at a time), floats in their shortest form, `Debug` text escaped as it is formatted.

use std::fmt;

use crate::captured::buffer::TextBuffer;

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

/// Writes a float as `serde_json` does: its shortest form, `null` when not finite.
pub(crate) fn float(out: &mut TextBuffer, value: impl zmij::Float + Into<f64> + Copy) {
    if value.into().is_finite() {
        out.extend(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend(b"null");
    }
}

/// Writes `text` as a JSON string.
#[inline]
pub(crate) fn string(out: &mut TextBuffer, text: &str) {
    if needs_no_escape(text) {
        out.extend_all([b"\"", text.as_bytes(), b"\""]);
    } else {
        out.push(b'"');
        escape(out, text);
        out.push(b'"');
    }
}

/// Whether `text` goes into a JSON string as it is: eight bytes at a time.
#[inline]
pub(crate) fn needs_no_escape(text: &str) -> bool {
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

/// Writes `text` escaped for the inside of a JSON string.
#[inline]
pub(super) fn escape(out: &mut TextBuffer, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[byte as usize];
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

/// Escapes `Debug` text into a JSON string, stopping past the limit.
pub(super) struct Escaper<'a> {
    pub(super) out: &'a mut TextBuffer,
    pub(super) end: usize,
    pub(super) over: bool,
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
