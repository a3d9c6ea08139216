//! [`SqliteSink`]: the embedded store's writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use trace_core::SessionTrace;

use super::{schema, write};
use crate::error::{SinkError, StoreError};
use crate::sink::{Record, Sink};

/// Writes sessions to a SQLite file — the default place traces live on a machine.
///
/// Uses the bundled SQLite (no system library), in WAL mode, so that a
/// [`TraceStore`](crate::TraceStore) can read the file while it is written. Each session
/// gets a row with status `running` when it starts; its events are written in batches while
/// it runs (one transaction per batch); the rest — status, timesteps, messages, rewards —
/// when it ends. A crash mid-session leaves every flushed event on disk.
///
/// ```no_run
/// use agent_trace::{SessionTracer, SqliteSink};
/// let tracer = SessionTracer::builder().sink(SqliteSink::open("traces.db")?).build();
/// # Ok::<(), agent_trace::store::StoreError>(())
/// ```
pub struct SqliteSink {
    path: PathBuf,
    connection: Connection,
}

impl std::fmt::Debug for SqliteSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteSink {
    /// Opens the trace database at `path`, creating it (and its schema) if needed.
    ///
    /// A directory, a file that is not SQLite, a SQLite database of something else, or a
    /// trace database of a newer schema is refused with a [`StoreError`] naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteSink, StoreError> {
        let path = path.as_ref().to_path_buf();
        let connection = schema::open(&path, true)?;
        Ok(SqliteSink { path, connection })
    }

    /// How long a write waits for another connection's lock before it fails (and is
    /// retried by the writer); default 5 s.
    pub fn busy_timeout(self, timeout: std::time::Duration) -> Result<SqliteSink, StoreError> {
        self.connection
            .busy_timeout(timeout)
            .map_err(|source| StoreError::from_sqlite(&self.path, source))?;
        Ok(self)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Sink for SqliteSink {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        self.write_batch(&[Record::SessionEnded(Arc::new(trace.clone()))])
    }

    fn write_batch(&mut self, batch: &[Record]) -> Result<(), SinkError> {
        Ok(write::apply(&mut self.connection, &self.path, batch)?)
    }

    fn wants_streamed_events(&self) -> bool {
        true
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // Commits already survive a crash of the process; a checkpoint also moves them
        // from the write-ahead log into the database file.
        self.connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|source| SinkError::Store(StoreError::from_sqlite(&self.path, source)))
    }
}
