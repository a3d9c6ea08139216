//! [`TextBuffer`]: a byte buffer for text written in many short pieces.

use std::io;

impl trace_core::json::Out for TextBuffer {
    #[inline(always)]
    fn push(&mut self, byte: u8) {
        TextBuffer::push(self, byte);
    }

    #[inline(always)]
    fn extend(&mut self, bytes: &[u8]) {
        TextBuffer::extend(self, bytes);
    }

    #[inline(always)]
    fn extend_all<const N: usize>(&mut self, pieces: [&[u8]; N]) {
        TextBuffer::extend_all(self, pieces);
    }
}

impl io::Write for TextBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes written in many short pieces (a JSON serializer's quotes, keys and numbers)
/// without a `memcpy` call for each: the vector is kept initialized past the end of the
/// text, with room for any short piece, which is then copied with one or two fixed-size
/// moves.
#[derive(Default)]
pub(crate) struct TextBuffer {
    bytes: Vec<u8>,
    len: usize,
}

/// Room kept past the text, for a short piece to be copied without a length check.
const SLACK: usize = 16;

/// "00", "01", … "99".
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        pairs[n * 2] = b'0' + (n / 10) as u8;
        pairs[n * 2 + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

impl TextBuffer {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, byte: u8) {
        if self.len + SLACK > self.bytes.len() {
            self.grow(self.len + SLACK);
        }
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    #[inline(always)]
    pub(crate) fn extend(&mut self, piece: &[u8]) {
        self.extend_all([piece]);
    }

    /// Appends the pieces one after the other, updating the length once.
    #[inline(always)]
    pub(crate) fn extend_all<const N: usize>(&mut self, pieces: [&[u8]; N]) {
        let total: usize = pieces.iter().map(|piece| piece.len()).sum();
        if self.len + total + SLACK > self.bytes.len() {
            self.grow(self.len + total + SLACK);
        }
        let mut at = self.len;
        for piece in pieces {
            copy(&mut self.bytes, at, piece);
            at += piece.len();
        }
        self.len = at;
    }

    /// Lets `write` fill up to `max` bytes at the end of the text; it returns how many it
    /// wrote.
    #[inline(always)]
    pub(crate) fn write_with(&mut self, max: usize, write: impl FnOnce(&mut [u8]) -> usize) {
        if self.len + max + SLACK > self.bytes.len() {
            self.grow(self.len + max + SLACK);
        }
        let written = write(&mut self.bytes[self.len..self.len + max]);
        self.len += written.min(max);
    }

    /// Appends the decimal digits of `value`.
    #[inline]
    pub(crate) fn decimal(&mut self, value: u64) {
        if value < 10 {
            // Most captured numbers are small: no digit count, no loop.
            return self.push(b'0' + value as u8);
        }
        if value < 100 {
            let pair = value as usize * 2;
            return self.write_with(2, |to| {
                to[0] = DIGIT_PAIRS[pair];
                to[1] = DIGIT_PAIRS[pair + 1];
                2
            });
        }
        let digits = value.ilog10() as usize + 1;
        self.write_with(digits, |to| {
            // Each digit is stored once, straight into the text (a copy through a scratch
            // buffer would read back bytes just stored in pairs: a stalled load). Four
            // digits a division, so that the chain of divisions is half as long.
            let mut rest = value;
            let mut at = digits;
            while rest >= 10_000 {
                let four = (rest % 10_000) as usize;
                rest /= 10_000;
                let (high, low) = (four / 100 * 2, four % 100 * 2);
                to[at - 4] = DIGIT_PAIRS[high];
                to[at - 3] = DIGIT_PAIRS[high + 1];
                to[at - 2] = DIGIT_PAIRS[low];
                to[at - 1] = DIGIT_PAIRS[low + 1];
                at -= 4;
            }
            let mut rest = rest as usize;
            if rest >= 100 {
                let pair = rest % 100 * 2;
                rest /= 100;
                to[at - 2] = DIGIT_PAIRS[pair];
                to[at - 1] = DIGIT_PAIRS[pair + 1];
                at -= 2;
            }
            if rest >= 10 {
                to[at - 2] = DIGIT_PAIRS[rest * 2];
                to[at - 1] = DIGIT_PAIRS[rest * 2 + 1];
            } else {
                to[at - 1] = b'0' + rest as u8;
            }
            digits
        });
    }

    #[cold]
    fn grow(&mut self, at_least: usize) {
        let size = at_least.max(2 * self.bytes.len()).max(256);
        self.bytes.resize(size, 0);
    }
}

/// Copies `piece` into `bytes` at `at`, where `bytes` has room for it and [`SLACK`] more:
/// a short piece with one or two fixed-size moves, a long one with `copy_from_slice`.
#[inline(always)]
fn copy(bytes: &mut [u8], at: usize, piece: &[u8]) {
    let n = piece.len();
    if n > SLACK {
        bytes[at..at + n].copy_from_slice(piece);
        return;
    }
    let Some(to) = bytes.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<SLACK>) else {
        bytes[at..at + n].copy_from_slice(piece);
        return;
    };
    if n >= 8 {
        to[..8].copy_from_slice(&word::<8>(piece, 0));
        to[n - 8..n].copy_from_slice(&word::<8>(piece, n - 8));
    } else if n >= 4 {
        to[..4].copy_from_slice(&word::<4>(piece, 0));
        to[n - 4..n].copy_from_slice(&word::<4>(piece, n - 4));
    } else if n > 0 {
        to[0] = piece[0];
        to[n / 2] = piece[n / 2];
        to[n - 1] = piece[n - 1];
    }
}

/// `N` bytes of `piece` from `at` (which has them).
#[inline(always)]
fn word<const N: usize>(piece: &[u8], at: usize) -> [u8; N] {
    let mut word = [0; N];
    word.copy_from_slice(&piece[at..at + N]);
    word
}
