//! Opening a trace database: checks that name the path, and the versioned schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::StoreError;

/// The schema version this code reads and writes (`PRAGMA user_version`).
pub(crate) const SCHEMA_VERSION: i64 = 5;

/// Migrations, by the version they lead to; each runs in one transaction.
///
/// Sessions have an integer key (`sid`) so that event rows are keyed by two integers. An
/// event row keeps its id, name and outcome in columns and the rest of the event as JSON in
/// `data`: one encoding per event on the write path (version 1 wrote the whole event there;
/// version 2 writes the compact form of `event_row`, and reads both). Timesteps, messages and rewards are written
/// once, when the session ends, as JSON arrays in its row.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "
    CREATE TABLE sessions (
        sid            INTEGER PRIMARY KEY,
        session_id     TEXT NOT NULL UNIQUE,
        started_at     INTEGER NOT NULL,
        ended_at       INTEGER,
        status         TEXT NOT NULL,
        metadata       TEXT NOT NULL DEFAULT '{}',
        event_count    INTEGER NOT NULL DEFAULT 0,
        error_count    INTEGER NOT NULL DEFAULT 0,
        outcome_reward REAL NOT NULL DEFAULT 0,
        timesteps      TEXT NOT NULL DEFAULT '[]',
        messages       TEXT NOT NULL DEFAULT '[]',
        rewards        TEXT NOT NULL DEFAULT '[]',
        graph          TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX sessions_by_start ON sessions (started_at);
    CREATE INDEX sessions_by_status ON sessions (status, started_at);
    CREATE TABLE events (
        sid     INTEGER NOT NULL,
        id      INTEGER NOT NULL,
        name    TEXT NOT NULL,
        outcome TEXT NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (sid, id)
    ) WITHOUT ROWID;
    CREATE TABLE session_systems (
        system_id TEXT NOT NULL,
        sid       INTEGER NOT NULL,
        PRIMARY KEY (system_id, sid)
    ) WITHOUT ROWID;
    ",
    ),
    (
        2,
        "-- events.data holds the compact form from now on; version 1 rows are read as before.",
    ),
    (
        3,
        "
    ALTER TABLE sessions ADD COLUMN user_id TEXT;
    ALTER TABLE sessions ADD COLUMN name TEXT;
    ALTER TABLE sessions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX sessions_by_user ON sessions (user_id, started_at);
    CREATE TABLE session_tags (
        tag TEXT NOT NULL,
        sid INTEGER NOT NULL,
        PRIMARY KEY (tag, sid)
    ) WITHOUT ROWID;
    ",
    ),
    (
        4,
        "
    ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN tokens_by_model TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE sessions ADD COLUMN cost REAL;
    CREATE INDEX sessions_by_cost ON sessions (cost);
    CREATE INDEX sessions_by_tokens ON sessions (input_tokens + output_tokens);
    ",
    ),
    (
        5,
        "
    CREATE TABLE scores (
        id             INTEGER PRIMARY KEY,
        sid            INTEGER NOT NULL,
        event          INTEGER,
        name           TEXT NOT NULL,
        value          REAL,
        label          TEXT,
        comment        TEXT,
        source         TEXT NOT NULL,
        at             INTEGER NOT NULL,
        while_running  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX scores_by_session ON scores (sid, at);
    CREATE INDEX scores_by_name ON scores (name, value);
    ",
    ),
];

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
    // WAL, so that readers read while a writer writes (the mode is kept in the file;
    // asking again is a no-op).
    set_wal(&connection).map_err(sql)?;
    connection.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
    if schema_version(&connection, path)? == SCHEMA_VERSION {
        return Ok(connection);
    }
    // A new store, or an older one: checked and brought up to date in one transaction that
    // holds the write lock from its start, so that processes opening the store at once do
    // it one after the other (each later one finds the schema made).
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version = schema_version(&transaction, path)?;
    if version == 0 {
        let tables: i64 = transaction
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sql)?;
        if tables > 0 {
            return Err(StoreError::NotATraceStore {
                path: path.to_path_buf(),
            });
        }
    }
    for (target, migration) in MIGRATIONS.iter().filter(|(target, _)| *target > version) {
        transaction.execute_batch(migration).map_err(sql)?;
        transaction.pragma_update(None, "user_version", target).map_err(sql)?;
    }
    if (1..4).contains(&version) {
        // Sessions stored before version 4 get their token totals from their events.
        let sids: Vec<i64> = transaction
            .prepare("SELECT sid FROM sessions")
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .map_err(sql)?;
        for sid in sids {
            super::write::total_tokens(&transaction, sid).map_err(sql)?;
        }
    }
    transaction.commit().map_err(sql)?;
    Ok(connection)
}

/// Puts the database in WAL mode. Changing the mode takes a lock without SQLite's busy
/// handler: when another process opening a new store at the same moment holds one, the
/// change is tried again until the busy timeout has passed.
fn set_wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if matches!(
                    error.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// The store's schema version, after checking it is one this code reads.
fn schema_version(connection: &Connection, path: &Path) -> Result<i64, StoreError> {
    let sql = |source| StoreError::from_sqlite(path, source);
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
    Ok(version)
}
