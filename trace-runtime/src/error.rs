//! The errors of recording, writing and storing traces, each naming what it is about.

use std::io;
#[cfg(feature = "sqlite")]
use std::path::Path;
use std::path::PathBuf;

/// An error from recording a session or from the tracer that owns it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// Something was recorded into, or `end()` was called on, a session that had ended.
    #[error("session {session_id} has already ended")]
    SessionEnded {
        /// The session's id.
        session_id: String,
    },
    /// A tracer was asked to end a session that another tracer started.
    #[error("session {session_id} was started by another tracer")]
    ForeignSession {
        /// The session's id.
        session_id: String,
    },
    /// A sink failed to write or flush.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The background writer thread is gone, so sinks can no longer be reached.
    #[error("the background writer thread has stopped; sinks can no longer be written")]
    WriterStopped,
    /// A reward whose value is not a finite number.
    #[error("reward `{name}` of session {session_id} is not a finite number: {value}")]
    InvalidReward {
        /// The session's id.
        session_id: String,
        /// The reward's name.
        name: String,
        /// The value given.
        value: f64,
    },
    /// A reward for an event the session does not have.
    #[error("reward `{name}` of session {session_id} names event {event}, which the session does not have")]
    UnknownRewardEvent {
        /// The session's id.
        session_id: String,
        /// The reward's name.
        name: String,
        /// The event id given.
        event: u64,
    },
    /// A score without a name, or whose number is not finite.
    #[error("a score of session {session_id} is refused: {problem}")]
    InvalidScore {
        /// The session's id.
        session_id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A score for an event the session does not have.
    #[error("score `{name}` of session {session_id} names event {event}, which the session does not have")]
    UnknownScoreEvent {
        /// The session's id.
        session_id: String,
        /// The score's name.
        name: String,
        /// The event id given.
        event: u64,
    },
    /// A sampling fraction outside 0.0..=1.0.
    #[error("sampling success_fraction must be between 0.0 and 1.0, got {0}")]
    InvalidSampling(f64),
    /// The writer thread could not be started.
    #[error("cannot start the background writer thread: {0}")]
    WriterThread(#[source] std::io::Error),
}

/// An error from a [`Sink`](crate::sink::Sink).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The sink's file could not be opened or created.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The sink's file could not be read, written or synced.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of a JSONL trace file is not a session trace.
    #[error("{}:{line}: not a session trace: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// Why.
        source: serde_json::Error,
    },
    /// A sink panicked while writing; the writer caught it and carries on.
    #[error("sink `{sink}` panicked: {message}")]
    Panicked {
        /// The sink's name.
        sink: String,
        /// The panic's message.
        message: String,
    },
    /// Records a sink could not write yet: they are kept and retried with backoff.
    #[error("sink `{sink}` still has {records} unwritten records (kept and retried): {cause}")]
    Pending {
        /// The sink's name.
        sink: String,
        /// How many records wait.
        records: usize,
        /// Why the last attempt failed.
        cause: String,
    },
    /// The embedded store failed.
    #[cfg(feature = "sqlite")]
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Spans could not be exported to a collector (or the exporter could not be built).
    #[error("OTLP export to {endpoint} failed: {message}")]
    Export {
        /// Where the spans were going.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
    /// Any other failure of a user-written sink.
    #[error("sink `{sink}` failed: {message}")]
    Other {
        /// The sink's name.
        sink: String,
        /// What went wrong.
        message: String,
    },
}

/// An error of the embedded store; every one names the file.
#[cfg(feature = "sqlite")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no file at the path.
    #[error("{}: no trace store there (no such file)", path.display())]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// The path is a directory.
    #[error("{} is a directory, not a trace store", path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a SQLite database.
    #[error("{} is not a SQLite database", path.display())]
    NotADatabase {
        /// The path.
        path: PathBuf,
    },
    /// The file is a SQLite database of something else.
    #[error("{} is a SQLite database but not a trace store (it has other tables)", path.display())]
    NotATraceStore {
        /// The path.
        path: PathBuf,
    },
    /// The file was written by a newer agent-trace.
    #[error("{} has schema version {found}; this agent-trace reads up to {supported}: upgrade it", path.display())]
    NewerSchema {
        /// The path.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest version this code reads.
        supported: i64,
    },
    /// SQLite failed (disk full, file locked, read-only, …).
    #[error("{}: {source}", path.display())]
    Sqlite {
        /// The path.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// No stored session has this id, or an id that starts with it.
    #[error("{}: no session {id}", path.display())]
    NoSuchSession {
        /// The path.
        path: PathBuf,
        /// The id or prefix asked for.
        id: String,
    },
    /// More than one stored session has an id that starts with this prefix.
    #[error("{}: {prefix} is the start of more than one session id ({}); give more of it", path.display(), candidates.join(", "))]
    AmbiguousSession {
        /// The path.
        path: PathBuf,
        /// The prefix asked for.
        prefix: String,
        /// Some of the ids it starts (at most five).
        candidates: Vec<String>,
    },
    /// The store was opened to read only (`TraceStore::open`); `open_writable` writes.
    #[error("{}: the store was opened to read; open it with TraceStore::open_writable to add to it", path.display())]
    ReadOnly {
        /// The path.
        path: PathBuf,
    },
    /// A score that cannot be stored: no name, a number that is not finite, or an event the
    /// session does not have.
    #[error("{}: session {session_id}: the score is refused: {problem}", path.display())]
    InvalidScore {
        /// The path.
        path: PathBuf,
        /// The session.
        session_id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored value does not decode: the file was changed by something else.
    #[error("{}: session {session_id}: stored {what} is not valid: {detail}", path.display())]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// The session.
        session_id: String,
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

#[cfg(feature = "sqlite")]
impl StoreError {
    pub(crate) fn from_sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            return StoreError::NotADatabase {
                path: path.to_path_buf(),
            };
        }
        StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An error of writing a dataset from the store (`agent_trace::dataset::export`).
#[cfg(feature = "sqlite")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// Reading the sessions failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the records failed.
    #[error("could not write the dataset: {0}")]
    Write(#[source] std::io::Error),
}
