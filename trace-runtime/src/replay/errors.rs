//! Errors rebuilt from their records: [`FromRecordedError`], and [`RecordedError`] for the
//! error types that hold any error.

use std::error::Error;
use std::fmt;

use trace_core::ErrorRecord;

/// An error type a replay can rebuild from its record (the `kind`, `message` and `chain` a
/// traced call recorded), so that a recorded `Err` is returned again.
///
/// Implemented for `String` (the message), `Box<dyn Error>`, `Box<dyn Error + Send +
/// Sync>` and `std::io::Error` (a [`RecordedError`] inside, with the same message and
/// source chain). Implement it for your own error type to replay its `Err`s; return `None`
/// for a record it cannot come from.
///
/// ```
/// use agent_trace::ErrorRecord;
/// use agent_trace::replay::FromRecordedError;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("no such tool: {0}")]
/// struct NoSuchTool(String);
///
/// impl FromRecordedError for NoSuchTool {
///     fn from_recorded(error: &ErrorRecord) -> Option<Self> {
///         Some(NoSuchTool(error.message.strip_prefix("no such tool: ")?.to_owned()))
///     }
/// }
///
/// let record = ErrorRecord::from_error(&NoSuchTool("search".into()));
/// assert_eq!(NoSuchTool::from_recorded(&record).unwrap().0, "search");
/// ```
pub trait FromRecordedError: Sized {
    /// The error `error` records, if it is one of this type.
    fn from_recorded(error: &ErrorRecord) -> Option<Self>;
}

impl FromRecordedError for String {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        Some(error.message.clone())
    }
}

impl FromRecordedError for Box<dyn Error + Send + Sync> {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        Some(Box::new(RecordedError::of(error)))
    }
}

impl FromRecordedError for Box<dyn Error> {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        Some(Box::new(RecordedError::of(error)))
    }
}

impl FromRecordedError for std::io::Error {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        Some(std::io::Error::other(RecordedError::of(error)))
    }
}

/// An error rebuilt from its record: it displays the recorded message, and its `source()`
/// chain is the recorded chain.
///
/// ```
/// use agent_trace::ErrorRecord;
/// use agent_trace::replay::RecordedError;
///
/// let record = ErrorRecord { kind: "MyError".into(), message: "it broke".into(), chain: vec!["disk full".into()] };
/// let rebuilt = RecordedError::of(&record);
/// assert_eq!(rebuilt.to_string(), "it broke");
/// assert_eq!(ErrorRecord::from_error(&rebuilt).chain, ["disk full"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedError {
    message: String,
    source: Option<Box<RecordedError>>,
}

impl RecordedError {
    /// The error `error` records.
    pub fn of(error: &ErrorRecord) -> RecordedError {
        let source = error.chain.iter().rev().fold(None, |source, message| {
            Some(Box::new(RecordedError {
                message: message.clone(),
                source,
            }))
        });
        RecordedError {
            message: error.message.clone(),
            source,
        }
    }
}

impl fmt::Display for RecordedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for RecordedError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn Error + 'static))
    }
}
