//! The secrets a capture policy finds by their shape, inside any string: credentials after
//! `Bearer` / `Basic`, `sk-` API keys (OpenAI, Anthropic and the like), AWS access key ids,
//! JSON Web Tokens and private-key blocks.
//!
//! The matcher is written out rather than a regular expression: it looks only at the first
//! byte of each word and at each `-`, and a string shorter than the shortest secret is not
//! looked at at all (`benches/capture.rs` measures it against `regex-lite` doing the same).
//! It only matches bytes that JSON never escapes, fixed words and what lies between a
//! private key's `BEGIN` and `END` lines, so it finds the same secrets in a string and in
//! that string's escaped JSON text.

use std::ops::Range;

/// The shortest text a secret can have (`Basic ` and an 8-byte credential).
pub(crate) const SHORTEST: usize = 14;

/// The fewest bytes a `Bearer` / `Basic` credential has.
const CREDENTIAL: usize = 8;
/// The fewest bytes after `sk-`.
const API_KEY: usize = 20;
/// The bytes after `AKIA` / `ASIA`.
const AWS_KEY: usize = 16;
/// The fewest bytes of each of a JWT's first two parts.
const JWT_PART: usize = 8;

/// Calls `found` with the range of every secret in `text`, in order. With `cut`, `text`
/// is the start of a longer text: a secret that runs on to its end counts however short
/// what is left of it.
pub(crate) fn find(text: &[u8], cut: bool, mut found: impl FnMut(Range<usize>)) {
    if text.len() < SHORTEST && !cut {
        return;
    }
    // Every shape but a private key starts a word: the scan looks at the first byte of
    // each word and at each `-`, and runs over the rest.
    let mut at = 0;
    while at < text.len() {
        let byte = text[at];
        let matched = if byte.is_ascii_alphanumeric() {
            match byte {
                b'B' | b'b' => credential(text, at, cut),
                b's' => prefixed(text, at, b"sk-", API_KEY, usize::MAX, is_key_byte, cut),
                b'A' => aws_key(text, at, cut),
                b'e' => jwt(text, at, cut),
                _ => None,
            }
        } else if byte == b'-' {
            private_key(text, at)
        } else {
            at += 1;
            continue;
        };
        match matched {
            Some(range) => {
                at = range.end;
                found(range);
            }
            None if byte.is_ascii_alphanumeric() => {
                at += 1;
                while at < text.len() && WORD[usize::from(text[at])] {
                    at += 1;
                }
            }
            None => at += 1,
        }
    }
}

/// The bytes of a word: ASCII letters and digits.
static WORD: [bool; 256] = {
    let mut word = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        word[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    word
};

/// Whether a secret may start at `at`: not in the middle of a word.
fn at_boundary(text: &[u8], at: usize) -> bool {
    at == 0 || !text[at - 1].is_ascii_alphanumeric()
}

/// How many bytes from `from` satisfy `class`.
#[inline(always)]
fn run(text: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    let rest = &text[from.min(text.len())..];
    rest.iter().position(|&byte| !class(byte)).unwrap_or(rest.len())
}

/// A byte of a base64 / base64url / token68 credential.
fn is_credential_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// A byte of an API key or a JWT part.
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_')
}

fn is_aws_byte(byte: u8) -> bool {
    byte.is_ascii_uppercase() || byte.is_ascii_digit()
}

/// Whether a run of `len` bytes ending at `end` is long enough: at least `least`, or
/// running to the end of a cut text.
fn long_enough(text: &[u8], end: usize, len: usize, least: usize, cut: bool) -> bool {
    len >= least || (cut && len > 0 && end == text.len())
}

/// `Bearer <credential>` or `Basic <credential>` (either word in any case): the credential.
fn credential(text: &[u8], at: usize, cut: bool) -> Option<Range<usize>> {
    if !at_boundary(text, at) {
        return None;
    }
    let rest = &text[at..];
    let word = [b"bearer".as_slice(), b"basic"]
        .into_iter()
        .find(|word| rest.len() > word.len() && rest[..word.len()].eq_ignore_ascii_case(word))?;
    let spaces = run(text, at + word.len(), |byte| byte == b' ');
    if spaces == 0 {
        return None;
    }
    let start = at + word.len() + spaces;
    let len = run(text, start, is_credential_byte);
    let end = start + len;
    let ends_word = end == text.len() || !text[end].is_ascii_alphanumeric();
    (long_enough(text, end, len, CREDENTIAL, cut)
        && ends_word
        && (!is_word(&text[start..end]) || (cut && end == text.len())))
    .then_some(start..end)
}

/// Whether a would-be credential reads as a word ("a basic question"): letters only, and no
/// capital past the first. Encoded credentials have digits, symbols or mixed case.
fn is_word(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_alphabetic) && text.iter().skip(1).all(u8::is_ascii_lowercase)
}

/// `prefix` and then at least `least` (at most `most`) bytes of `class`, the whole.
fn prefixed(
    text: &[u8],
    at: usize,
    prefix: &[u8],
    least: usize,
    most: usize,
    class: impl Fn(u8) -> bool,
    cut: bool,
) -> Option<Range<usize>> {
    if !text[at..].starts_with(prefix) || !at_boundary(text, at) {
        return None;
    }
    let len = run(text, at + prefix.len(), class);
    let end = at + prefix.len() + len;
    (len <= most && long_enough(text, end, len, least, cut)).then_some(at..end)
}

/// `AKIA` or `ASIA` and 16 capitals or digits: an AWS access key id.
fn aws_key(text: &[u8], at: usize, cut: bool) -> Option<Range<usize>> {
    [b"AKIA".as_slice(), b"ASIA"]
        .into_iter()
        .find_map(|prefix| prefixed(text, at, prefix, AWS_KEY, AWS_KEY, is_aws_byte, cut))
        .filter(|range| range.end == text.len() || !text[range.end].is_ascii_alphanumeric())
}

/// `eyJ…​.eyJ…​.…`: a JSON Web Token (its header and payload are base64url JSON objects).
fn jwt(text: &[u8], at: usize, cut: bool) -> Option<Range<usize>> {
    let header = prefixed(text, at, b"eyJ", JWT_PART, usize::MAX, is_key_byte, false)?;
    if text.get(header.end) != Some(&b'.') {
        return None;
    }
    let payload_at = header.end + 1;
    if payload_at == text.len() && cut {
        return Some(header.start..payload_at);
    }
    let payload = prefixed(text, payload_at, b"eyJ", JWT_PART, usize::MAX, is_key_byte, cut)?;
    if payload.end == text.len() {
        return cut.then_some(header.start..payload.end);
    }
    if text[payload.end] != b'.' {
        return None;
    }
    let signature = run(text, payload.end + 1, is_key_byte);
    Some(header.start..payload.end + 1 + signature)
}

/// `-----BEGIN … PRIVATE KEY-----` through its `-----END … PRIVATE KEY-----` line (or to the
/// end of the text, when that line is missing or cut off).
fn private_key(text: &[u8], at: usize) -> Option<Range<usize>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    const TAIL: &[u8] = b"PRIVATE KEY-----";
    if !text[at..].starts_with(BEGIN) {
        return None;
    }
    let label = at + BEGIN.len();
    let words = run(text, label, |byte| {
        byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b' '
    });
    if !text[label..label + words].ends_with(b"PRIVATE KEY") || !text[label + words..].starts_with(b"-----") {
        return None;
    }
    let body = label + words + 5;
    let end = find_after(text, body, END)
        .and_then(|end| find_after(text, end + END.len(), TAIL).map(|tail| tail + TAIL.len()))
        .unwrap_or(text.len());
    Some(at..end)
}

/// Where `needle` first stands in `text` at or after `from`.
fn find_after(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    text.get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str, cut: bool) -> Vec<&str> {
        let mut ranges = Vec::new();
        find(text.as_bytes(), cut, |range| ranges.push(&text[range]));
        ranges
    }

    #[test]
    fn finds_each_kind_of_secret_inside_text() {
        assert_eq!(
            secrets("Authorization: Bearer abc.DEF-123_xyz", false),
            ["abc.DEF-123_xyz"]
        );
        assert_eq!(secrets("basic dXNlcjpwYXNzd29yZA==", false), ["dXNlcjpwYXNzd29yZA=="]);
        assert_eq!(
            secrets("key=sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 end", false),
            ["sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"]
        );
        assert_eq!(secrets("id AKIAIOSFODNN7EXAMPLE.", false), ["AKIAIOSFODNN7EXAMPLE"]);
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(secrets(&format!("token {jwt}!"), false), [jwt]);
        let key = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----";
        assert_eq!(secrets(&format!("pem: {key} after"), false), [key]);
    }

    #[test]
    fn leaves_what_only_looks_alike() {
        for text in [
            "a basic question about bearer bonds",
            "Bearer Responsibility",
            "Bearer short",
            "task-abcdefghijklmnopqrstuvwxyz",
            "sk-tooshort-12345",
            "AKIAIOSFODNN7EXAMPLEX",
            "eyJhbGciOiJIUzI1NiJ9 is half a token",
            "-----BEGIN PUBLIC KEY-----",
            "short",
        ] {
            assert_eq!(secrets(text, false), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn a_cut_text_keeps_no_part_of_a_secret_at_its_end() {
        assert_eq!(secrets("header: Bearer ab", true), ["ab"]);
        assert_eq!(secrets("key sk-abc", true), ["sk-abc"]);
        assert_eq!(
            secrets("-----BEGIN EC PRIVATE KEY-----\\nMHcC", true),
            ["-----BEGIN EC PRIVATE KEY-----\\nMHcC"]
        );
        assert_eq!(secrets("key sk-abc", false), Vec::<&str>::new());
    }
}
