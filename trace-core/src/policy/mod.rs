//! [`CapturePolicy`]: how large and how deep a captured value may be, and which keys and
//! which strings are secret.

mod secrets;

use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

use crate::Map;

/// The deepest a policy lets values nest ([`CapturePolicy::max_depth`]): stored text is read
/// back with `serde_json`, which stops at 128 levels, and a captured value sits a level or
/// two below the top of its event.
pub const MAX_DEPTH_LIMIT: usize = 100;

/// The depth a value is cut at by default.
pub const DEFAULT_MAX_DEPTH: usize = 64;

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
/// - A value under a key in [`redacted_keys`](Self::redacted_keys) — an argument name or an
///   object key at any depth, compared without regard to case — becomes `"[REDACTED]"`.
/// - Inside every string value, at any depth (in arrays and tuples too), a secret known by
///   its shape — the credential after `Bearer` or `Basic`, an `sk-…` API key, an AWS access
///   key id, a JSON Web Token, a private-key block — becomes `[REDACTED]`, and so does
///   whatever matches a pattern of your own ([`redact_pattern`](Self::redact_pattern));
///   [`redact_known_secrets(false)`](Self::redact_known_secrets) turns the built-in shapes
///   off.
/// - Nested deeper than [`max_depth`](Self::max_depth) levels (64 by default), the rest of
///   a value is the marker `{"$truncated": true, "depth": <max_depth>}`.
/// - A value whose JSON text is longer than [`max_value_bytes`](Self::max_value_bytes)
///   becomes `{"$truncated": true, "len": <bytes of the whole text>, "head": "<prefix>"}`.
///
/// Redaction happens before truncation, so a secret never reaches a `head`.
///
/// ```
/// use agent_trace::CapturePolicy;
/// use serde_json::json;
/// let policy = CapturePolicy::default().max_value_bytes(24);
/// assert_eq!(policy.apply("args", json!({"Token": "s3cr3t"})), json!({"Token": "[REDACTED]"}));
/// let cut = policy.apply("text", json!("a rather long sentence, really"));
/// assert_eq!(cut, json!({"$truncated": true, "len": 32, "head": "\"a rather long sentence,"}));
/// let header = CapturePolicy::default().apply("header", json!(["Authorization", "Bearer abcdefgh1234"]));
/// assert_eq!(header, json!(["Authorization", "Bearer [REDACTED]"]));
/// ```
#[derive(Clone)]
pub struct CapturePolicy {
    max_value_bytes: usize,
    max_depth: usize,
    redacted_keys: Vec<String>,
    /// A bit for every redacted key, from its length and first letter ([`key_bit`]): most
    /// names are told apart from every secret by that bit alone.
    redacted_bits: u64,
    known_secrets: bool,
    patterns: Vec<regex_lite::Regex>,
    redactor: Option<Redactor>,
}

/// A pattern given to [`CapturePolicy::redact_pattern`] that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("the redaction pattern `{pattern}` is not a regular expression: {reason}")]
pub struct PatternError {
    pattern: String,
    reason: regex_lite::Error,
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
            .field("max_depth", &self.max_depth)
            .field("redacted_keys", &self.redacted_keys)
            .field("known_secrets", &self.known_secrets)
            .field(
                "patterns",
                &self.patterns.iter().map(regex_lite::Regex::as_str).collect::<Vec<_>>(),
            )
            .field("redactor", &self.redactor.as_ref().map(|_| "fn"))
            .finish()
    }
}

impl Default for CapturePolicy {
    /// 64 KiB and 64 levels per value; [`DEFAULT_REDACTED_KEYS`] and the known secret
    /// shapes redacted.
    fn default() -> Self {
        CapturePolicy {
            max_value_bytes: 64 * 1024,
            max_depth: DEFAULT_MAX_DEPTH,
            redacted_keys: Vec::new(),
            redacted_bits: 0,
            known_secrets: true,
            patterns: Vec::new(),
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

    /// Sets how deep a captured value may nest (levels of arrays, objects, `Some` and
    /// newtypes) before the rest of it is the marker `{"$truncated": true, "depth": N}`:
    /// between 1 and [`MAX_DEPTH_LIMIT`] (a number outside is brought to the nearer end).
    /// The writer never recurses deeper than this on the calling thread.
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// use serde_json::json;
    /// let policy = CapturePolicy::default().max_depth(2);
    /// let deep = policy.apply("v", json!([[1, [2]], 3]));
    /// assert_eq!(deep, json!([[1, {"$truncated": true, "depth": 2}], 3]));
    /// ```
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = levels.clamp(1, MAX_DEPTH_LIMIT);
        self
    }

    /// How deep a captured value may nest.
    pub fn depth_limit(&self) -> usize {
        self.max_depth
    }

    /// Whether the built-in secret shapes (bearer and basic credentials, `sk-` API keys,
    /// AWS access key ids, JSON Web Tokens, private-key blocks) are redacted inside strings
    /// (on by default).
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// use serde_json::json;
    /// let text = json!("Bearer abcdefgh1234");
    /// assert_eq!(CapturePolicy::default().apply("h", text.clone()), json!("Bearer [REDACTED]"));
    /// assert_eq!(CapturePolicy::default().redact_known_secrets(false).apply("h", text.clone()), text);
    /// ```
    pub fn redact_known_secrets(mut self, on: bool) -> Self {
        self.known_secrets = on;
        self
    }

    /// Adds a pattern (a regular expression, in the syntax of the `regex-lite` crate) whose
    /// every match inside a string value, at any depth, becomes `[REDACTED]`. Patterns are
    /// matched against the string itself (in a value captured through `Debug`, against its
    /// `Debug` text) and, in a cut value, against the kept head.
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// use serde_json::json;
    /// let policy = CapturePolicy::default().redact_pattern(r"\d{3}-\d{2}-\d{4}")?;
    /// assert_eq!(policy.apply("note", json!("ssn 123-45-6789")), json!("ssn [REDACTED]"));
    /// assert!(CapturePolicy::default().redact_pattern("(").is_err());
    /// # Ok::<(), agent_trace::PatternError>(())
    /// ```
    pub fn redact_pattern(mut self, pattern: &str) -> Result<Self, PatternError> {
        let regex = regex_lite::Regex::new(pattern).map_err(|reason| PatternError {
            pattern: pattern.to_owned(),
            reason,
        })?;
        self.patterns.push(regex);
        Ok(self)
    }

    /// Whether string values are looked at for secrets (known shapes or patterns).
    #[inline]
    pub fn redacts_strings(&self) -> bool {
        self.known_secrets || !self.patterns.is_empty()
    }

    /// Whether a string of `len` bytes may hold a secret this policy redacts: `false` for
    /// one shorter than the shortest known secret when no pattern of the user's own is set.
    #[inline]
    pub fn may_hold_secret(&self, len: usize) -> bool {
        (self.known_secrets && len >= secrets::SHORTEST) || !self.patterns.is_empty()
    }

    /// Whether patterns of the user's own are set ([`redact_pattern`](Self::redact_pattern)).
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// `text` with its secrets redacted, or `None` when it holds none. With `cut`, `text`
    /// is the start of a longer one: a known secret running on to its end is redacted
    /// however little of it is left.
    ///
    /// ```
    /// use agent_trace::CapturePolicy;
    /// let policy = CapturePolicy::default();
    /// assert_eq!(policy.redact_string("key sk-abcdefghijklmnopqrstuvwx", false).as_deref(), Some("key [REDACTED]"));
    /// assert_eq!(policy.redact_string("nothing here at all", false), None);
    /// ```
    pub fn redact_string(&self, text: &str, cut: bool) -> Option<String> {
        let mut redacted: Option<String> = None;
        if self.known_secrets {
            let mut out = String::new();
            let mut copied = 0;
            secrets::find(text.as_bytes(), cut, |range| {
                out.push_str(&text[copied..range.start]);
                out.push_str(REDACTED);
                copied = range.end;
            });
            if copied > 0 {
                out.push_str(&text[copied..]);
                redacted = Some(out);
            }
        }
        for pattern in &self.patterns {
            let current = redacted.as_deref().unwrap_or(text);
            if pattern.is_match(current) {
                redacted = Some(pattern.replace_all(current, REDACTED).into_owned());
            }
        }
        redacted
    }

    /// The ranges of the known secrets in `text` (JSON text or plain), for a writer that
    /// redacts in place. With `cut`, as in [`redact_string`](Self::redact_string).
    pub fn find_known_secrets(&self, text: &[u8], cut: bool, found: impl FnMut(std::ops::Range<usize>)) {
        if self.known_secrets {
            secrets::find(text, cut, found);
        }
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

    /// Adds a redaction function of your own, run on every captured value after the rest
    /// of the policy, with the name it is captured under (an argument name, `"output"`, a
    /// metadata key, `"content"`). A value the policy cut reaches it as its marker (so the
    /// function sees the marker's `head`), and what it returns is cut again if it has grown
    /// past the limit. A panic in it makes the value
    /// `{"$unserializable": "redact_with function panicked: …"}`.
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
    /// a metadata key): redacts keys and strings, bounds the depth, cuts, then runs the
    /// redaction function (and cuts what it returns).
    pub fn apply(&self, name: &str, mut value: Value) -> Value {
        if self.is_redacted(name) {
            return Value::String(REDACTED.to_owned());
        }
        self.redact_within(&mut value, 1);
        let value = self.cut(value);
        self.run_redactor(name, value)
    }

    /// Runs the redaction function, if any, on a value the rest of the policy has made.
    pub fn run_redactor(&self, name: &str, mut value: Value) -> Value {
        let Some(redactor) = &self.redactor else {
            return value;
        };
        match catch_unwind(AssertUnwindSafe(|| redactor(name, &mut value))) {
            Ok(()) => self.cut(value),
            Err(payload) => {
                let record = crate::ErrorRecord::from_panic(payload.as_ref());
                crate::capture::unserializable(&format!("redact_with function panicked: {}", record.message))
            }
        }
    }

    /// Applies the policy to every entry of a map.
    pub fn apply_to_map(&self, map: &mut Map) {
        for (key, value) in map.iter_mut() {
            *value = self.apply(key, std::mem::take(value));
        }
    }

    /// Redacts the keys and strings of a value at `depth` (1 at the top), and cuts what
    /// nests deeper than the limit.
    fn redact_within(&self, value: &mut Value, depth: usize) {
        let nests = matches!(value, Value::Object(map) if !map.is_empty())
            || matches!(value, Value::Array(items) if !items.is_empty());
        if nests && depth > self.max_depth {
            *value = depth_marker(self.max_depth);
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if self.is_redacted(key) {
                        *inner = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_within(inner, depth + 1);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_within(item, depth + 1)),
            Value::String(text) if self.redacts_strings() => {
                if let Some(redacted) = self.redact_string(text, false) {
                    *text = redacted;
                }
            }
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

/// The marker for what nests deeper than `depth` levels:
/// `{"$truncated": true, "depth": <depth>}`.
pub fn depth_marker(depth: usize) -> Value {
    let mut marker = Map::new();
    marker.insert(TRUNCATED_KEY.to_owned(), Value::Bool(true));
    marker.insert("depth".to_owned(), Value::from(depth));
    Value::Object(marker)
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
