//! [`SqliteSink`]: the embedded store's writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use trace_core::{Pricing, SessionTrace};

use super::{schema, write};
use crate::error::{SinkError, StoreError};
use crate::sink::{Record, Sink, SinkReport};

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
    /// The file the connection has open (device and inode), to notice its path naming
    /// another file, or none.
    file: Option<FileIdentity>,
    /// What happened in the background since the writer last asked.
    report: SinkReport,
    /// What ended sessions' tokens cost, if the user said.
    pricing: Option<Pricing>,
}

/// A file's device and inode.
type FileIdentity = (u64, u64);

/// The file `path` names now (`None` where there is none, or the platform does not say).
fn file_identity(path: &Path) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|meta| (meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
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
        Ok(SqliteSink {
            file: file_identity(&path),
            path,
            connection,
            report: SinkReport::default(),
            pricing: None,
        })
    }

    /// Prices the tokens of each session when it ends: its cost is stored with it
    /// (`SessionSummary::cost`, `TraceFilter::order_by(Order::Cost)`).
    ///
    /// ```no_run
    /// use agent_trace::{ModelPrice, Pricing, SqliteSink};
    /// let pricing = Pricing::new().model("gpt-5-mini", ModelPrice::per_million(0.25, 2.0)?);
    /// let sink = SqliteSink::open("traces.db")?.pricing(pricing);
    /// # let _ = sink;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pricing(mut self, pricing: Pricing) -> SqliteSink {
        self.pricing = Some(pricing);
        self
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

    /// Before a batch: when the path no longer names the file the connection has open (it
    /// was deleted, or another file put in its place), opens — or creates — the store at
    /// the path, so that what is written is in the file there, and reports a failure
    /// naming the path (what was written before is not in that file).
    fn reopen_if_moved(&mut self) -> Result<(), StoreError> {
        let Some(file) = self.file else { return Ok(()) };
        let now = file_identity(&self.path);
        if now == Some(file) {
            return Ok(());
        }
        // The old connection is closed first, so that SQLite removes its write-ahead log
        // before a new database is made under the same name.
        drop(std::mem::replace(
            &mut self.connection,
            Connection::open_in_memory().map_err(|source| StoreError::from_sqlite(&self.path, source))?,
        ));
        // Should this fail, the identity is still the old file's: the next batch tries again.
        self.connection = schema::open(&self.path, true)?;
        self.file = file_identity(&self.path);
        let what = if now.is_none() {
            "deleted"
        } else {
            "replaced by another file"
        };
        self.report.failures += 1;
        self.report.last_error = Some(format!(
            "the store {} was {what} while it was written; writing to the store now at that path \
             (what was written before is not in it)",
            self.path.display()
        ));
        Ok(())
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
        self.reopen_if_moved()?;
        Ok(write::apply(
            &mut self.connection,
            &self.path,
            batch,
            self.pricing.as_ref(),
        )?)
    }

    fn take_report(&mut self) -> SinkReport {
        std::mem::take(&mut self.report)
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
