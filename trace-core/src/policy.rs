//! [`CapturePolicy`]: how large a captured value may be and which keys are secret.

use std::fmt;
use std::io;

use serde_json::Value;

use crate::Map;

/// The key of the marker for a value cut by the policy.
pub const TRUNCATED_KEY: &str = "$truncated";

/// The string that replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The keys redacted by default (compared without regard to case).
pub const DEFAULT_REDACTED_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "authorization",
    "password",
    "secret",
    "token",
    "cookie",
];

/// How captured values are cut and redacted.
///
/// - A value whose JSON text is longer than [`max_value_bytes`](Self::max_value_bytes)
///   becomes `{"$truncated": true, "len": <bytes of the whole text>, "head": "<prefix>"}`.
/// - A value under a key in [`redacted_keys`](Self::redacted_keys) — an argument name or an
///   object key at any depth, compared without regard to case — becomes `"[REDACTED]"`.
///   Redaction happens before truncation, so a secret never reaches a `head`.
///
/// ```
/// use agent_trace::CapturePolicy;
/// use serde_json::json;
/// let policy = CapturePolicy::default().max_value_bytes(24);
/// assert_eq!(policy.apply("args", json!({"Token": "s3cr3t"})), json!({"Token": "[REDACTED]"}));
/// let cut = policy.apply("text", json!("a rather long sentence, really"));
/// assert_eq!(cut, json!({"$truncated": true, "len": 32, "head": "\"a rather long sentence,"}));
/// ```
#[derive(Clone)]
pub struct CapturePolicy {
    max_value_bytes: usize,
    redacted_keys: Vec<String>,
    /// A bit for every redacted key, from its length and first letter ([`key_bit`]): most
    /// names are told apart from every secret by that bit alone.
    redacted_bits: u64,
    redactor: Option<Redactor>,
}

/// The bit of a key in [`CapturePolicy::redacted_bits`]: equal for two keys that are equal
/// but for ASCII case.
#[inline]
fn key_bit(key: &[u8]) -> u64 {
    let first = key.first().map_or(0, u8::to_ascii_lowercase);
    1 << (key.len().wrapping_mul(31).wrapping_add(usize::from(first)) & 63)
}

/// A user's redaction function: given the name a value is captured under and the value.
type Redactor = std::sync::Arc<dyn Fn(&str, &mut Value) + Send + Sync>;

impl fmt::Debug for CapturePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturePolicy")
            .field("max_value_bytes", &self.max_value_bytes)
            .field("redacted_keys", &self.redacted_keys)
            .field("redactor", &self.redactor.as_ref().map(|_| "fn"))
            .finish()
    }
}

impl Default for CapturePolicy {
    /// 64 KiB per value; [`DEFAULT_REDACTED_KEYS`] redacted.
    fn default() -> Self {
        CapturePolicy {
            max_value_bytes: 64 * 1024,
            redacted_keys: Vec::new(),
            redacted_bits: 0,
            redactor: None,
        }
        .redacted_keys(DEFAULT_REDACTED_KEYS.iter().copied())
    }
}

impl CapturePolicy {
    /// Sets the longest JSON text a captured value may have before it is cut.
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// Replaces the list of redacted keys (compared without regard to case).
    pub fn redacted_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redacted_keys = keys.into_iter().map(|key| key.into().to_lowercase()).collect();
        self.redacted_bits = self
            .redacted_keys
            .iter()
            .fold(0, |bits, key| bits | key_bit(key.as_bytes()));
        self
    }

    /// Adds a key to the redacted ones.
    pub fn redact_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into().to_lowercase();
        self.redacted_bits |= key_bit(key.as_bytes());
        self.redacted_keys.push(key);
        self
    }

    /// Adds a redaction function of your own, run on every captured value after the key
    /// redaction and before truncation, with the name it is captured under (an argument
    /// name, `"output"`, a metadata key, `"content"`).
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// use serde_json::{Value, json};
    /// let policy = CapturePolicy::default().redact_with(|_name, value| {
    ///     if let Value::String(text) = value {
    ///         if text.contains('@') {
    ///             *value = Value::String("[EMAIL]".into());
    ///         }
    ///     }
    /// });
    /// assert_eq!(policy.apply("to", json!("ada@example.com")), json!("[EMAIL]"));
    /// ```
    pub fn redact_with(mut self, redactor: impl Fn(&str, &mut Value) + Send + Sync + 'static) -> Self {
        self.redactor = Some(std::sync::Arc::new(redactor));
        self
    }

    /// The longest JSON text a captured value may have.
    pub fn value_byte_limit(&self) -> usize {
        self.max_value_bytes
    }

    /// Whether values under `key` are redacted.
    #[inline]
    pub fn is_redacted(&self, key: &str) -> bool {
        self.redacted_bits & key_bit(key.as_bytes()) != 0 && self.is_redacted_slow(key)
    }

    fn is_redacted_slow(&self, key: &str) -> bool {
        self.redacted_keys.iter().any(|secret| secret.eq_ignore_ascii_case(key))
    }

    /// Whether a redaction function is set ([`redact_with`](Self::redact_with)): then every
    /// captured value goes through it as a `Value`.
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// assert!(!CapturePolicy::default().has_redactor());
    /// assert!(CapturePolicy::default().redact_with(|_, _| {}).has_redactor());
    /// ```
    pub fn has_redactor(&self) -> bool {
        self.redactor.is_some()
    }

    /// Applies the policy to the value captured under `name` (an argument name, `"output"`,
    /// a metadata key): redacts, then cuts.
    pub fn apply(&self, name: &str, mut value: Value) -> Value {
        if self.is_redacted(name) {
            return Value::String(REDACTED.to_owned());
        }
        self.redact_within(&mut value);
        if let Some(redactor) = &self.redactor {
            redactor(name, &mut value);
        }
        self.cut(value)
    }

    /// Applies the policy to every entry of a map.
    pub fn apply_to_map(&self, map: &mut Map) {
        for (key, value) in map.iter_mut() {
            *value = self.apply(key, std::mem::take(value));
        }
    }

    fn redact_within(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if self.is_redacted(key) {
                        *inner = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_within(inner);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_within(item)),
            _ => {}
        }
    }

    /// Cuts a value whose JSON text is over the limit.
    fn cut(&self, value: Value) -> Value {
        // Most values are small: a bound on their JSON length, found without serializing,
        // settles it. Only values that may be too long are serialized to measure them.
        if fits_within(&value, self.max_value_bytes) {
            return value;
        }
        let mut text = PrefixWriter::new(self.max_value_bytes);
        // Writing into a `PrefixWriter` cannot fail and a `Value` always serializes.
        let _ = serde_json::to_writer(&mut text, &value);
        if text.len <= self.max_value_bytes {
            return value;
        }
        truncated(text.len, &text.into_head())
    }

    /// Captures a `Debug` text under the policy: the text, or the truncation marker when it
    /// is longer than the limit (then `len` is the length of the whole `Debug` text).
    pub fn capture_debug(&self, name: &str, value: &dyn fmt::Debug) -> Value {
        if self.is_redacted(name) {
            return Value::String(REDACTED.to_owned());
        }
        let mut text = PrefixWriter::new(self.max_value_bytes);
        // A `Debug` impl that fails leaves what it wrote; that is all there is to show.
        let _ = fmt::write(&mut text, format_args!("{value:?}"));
        if text.len > self.max_value_bytes {
            let len = text.len;
            // The redactor sees the kept prefix, so that no secret reaches the marker.
            let mut head = Value::String(text.into_head());
            if let Some(redactor) = &self.redactor {
                redactor(name, &mut head);
            }
            return truncated(len, head.as_str().unwrap_or("[REDACTED]"));
        }
        let mut value = Value::String(text.into_head());
        if let Some(redactor) = &self.redactor {
            redactor(name, &mut value);
        }
        value
    }
}

/// Whether `value`'s JSON text is certainly at most `limit` bytes: counted with every
/// string at its worst-case escaping (6 bytes a byte, `\u00XX`) and every number at 24,
/// stopping as soon as the bound passes the limit. `false` means "measure it".
fn fits_within(value: &Value, limit: usize) -> bool {
    fn bound(value: &Value, budget: &mut usize) -> bool {
        let mut spend = |bytes: usize| match budget.checked_sub(bytes) {
            Some(rest) => {
                *budget = rest;
                true
            }
            None => false,
        };
        match value {
            Value::Null | Value::Bool(_) => spend(5),
            Value::Number(_) => spend(24),
            Value::String(text) => spend(text.len().saturating_mul(6).saturating_add(2)),
            Value::Array(items) => spend(2 + items.len()) && items.iter().all(|item| bound(item, budget)),
            Value::Object(map) => {
                spend(2 + map.len() * 2)
                    && map.iter().all(|(key, item)| {
                        budget
                            .checked_sub(key.len().saturating_mul(6).saturating_add(2))
                            .map(|rest| *budget = rest)
                            .is_some()
                            && bound(item, budget)
                    })
            }
        }
    }
    let mut budget = limit;
    bound(value, &mut budget)
}

/// The truncation marker.
pub fn truncated(len: usize, head: &str) -> Value {
    let mut marker = Map::new();
    marker.insert(TRUNCATED_KEY.to_owned(), Value::Bool(true));
    marker.insert("len".to_owned(), Value::from(len));
    marker.insert("head".to_owned(), Value::String(head.to_owned()));
    Value::Object(marker)
}

/// Keeps the first `limit` bytes written and counts all of them.
struct PrefixWriter {
    head: Vec<u8>,
    limit: usize,
    len: usize,
}

impl PrefixWriter {
    fn new(limit: usize) -> Self {
        PrefixWriter {
            head: Vec::new(),
            limit,
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.len += bytes.len();
    }

    /// The kept prefix, cut back to a character boundary.
    fn into_head(self) -> String {
        match String::from_utf8(self.head) {
            Ok(text) => text,
            Err(error) => {
                let valid = error.utf8_error().valid_up_to();
                let mut bytes = error.into_bytes();
                bytes.truncate(valid);
                String::from_utf8(bytes).unwrap_or_default()
            }
        }
    }
}

impl io::Write for PrefixWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.push(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for PrefixWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push(text.as_bytes());
        Ok(())
    }
}
