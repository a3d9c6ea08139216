//! Opening a trace database: checks that name the path, and the versioned schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// The schema version this code reads and writes (`PRAGMA user_version`).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Migrations, by the version they lead to; each runs in one transaction.
const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "
    CREATE TABLE sessions (
        session_id     TEXT PRIMARY KEY,
        started_at     INTEGER NOT NULL,
        ended_at       INTEGER,
        status         TEXT NOT NULL,
        metadata       TEXT NOT NULL DEFAULT '{}',
        event_count    INTEGER NOT NULL DEFAULT 0,
        error_count    INTEGER NOT NULL DEFAULT 0,
        outcome_reward REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_by_start ON sessions (started_at);
    CREATE INDEX sessions_by_status ON sessions (status, started_at);
    CREATE TABLE events (
        session_id  TEXT NOT NULL,
        id          INTEGER NOT NULL,
        parent      INTEGER,
        kind        TEXT NOT NULL,
        system_id   TEXT NOT NULL,
        name        TEXT NOT NULL,
        module_path TEXT NOT NULL,
        turn        INTEGER,
        timestep    INTEGER,
        started_at  INTEGER NOT NULL,
        duration_ns INTEGER NOT NULL,
        inputs      TEXT NOT NULL,
        output      TEXT,
        error       TEXT,
        outcome     TEXT NOT NULL,
        metadata    TEXT NOT NULL,
        PRIMARY KEY (session_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_system ON events (system_id, session_id);
    CREATE TABLE timesteps (
        session_id TEXT NOT NULL,
        idx        INTEGER NOT NULL,
        turn       INTEGER,
        name       TEXT,
        started_at INTEGER NOT NULL,
        ended_at   INTEGER,
        metadata   TEXT NOT NULL,
        PRIMARY KEY (session_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        session_id   TEXT NOT NULL,
        id           INTEGER NOT NULL,
        source_id    TEXT NOT NULL,
        target_id    TEXT NOT NULL,
        message_type TEXT NOT NULL,
        content      TEXT NOT NULL,
        timestep     INTEGER,
        at           INTEGER NOT NULL,
        PRIMARY KEY (session_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE rewards (
        session_id TEXT NOT NULL,
        idx        INTEGER NOT NULL,
        name       TEXT NOT NULL,
        value      REAL NOT NULL,
        event      INTEGER,
        metadata   TEXT NOT NULL,
        PRIMARY KEY (session_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX rewards_by_value ON rewards (name, value);
    ",
)];

/// How long a statement waits for another connection's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (and, with `create`, creates) a trace database at `path`, brought to the current
/// schema.
pub(crate) fn open(path: &Path, create: bool) -> Result<Connection, StoreError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(StoreError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !create => {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(_) => {}
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let sql = |source| StoreError::from_sqlite(path, source);
    let mut connection = Connection::open_with_flags(path, flags).map_err(sql)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        let tables: i64 = connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sql)?;
        if tables > 0 {
            return Err(StoreError::NotATraceStore {
                path: path.to_path_buf(),
            });
        }
    }
    connection.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
    connection.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
    for (target, migration) in MIGRATIONS.iter().filter(|(target, _)| *target > version) {
        let transaction = connection.transaction().map_err(sql)?;
        transaction.execute_batch(migration).map_err(sql)?;
        transaction.pragma_update(None, "user_version", target).map_err(sql)?;
        transaction.commit().map_err(sql)?;
    }
    Ok(connection)
}
