//! The embedded store: traces kept in a SQLite file on the machine, and queried.
//!
//! [`SqliteSink`] writes the file (through the tracer's background
//! writer); [`TraceStore`] reads it — also while another process writes it (WAL mode).

mod codec;
mod dataset;
mod event_row;
mod read;
mod salvage;
mod schema;
mod sink;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::Value;
use trace_core::{Map, Score, SessionStatus, SessionTrace, TokenCounts};

pub use dataset::export_dataset;
pub use sink::SqliteSink;

use crate::error::StoreError;
use crate::sync::lock;

/// Which sessions [`TraceStore::list`] returns. Every field that is `Some` must hold.
///
/// ```
/// use agent_trace::{SessionStatus, TraceFilter};
/// let failures = TraceFilter { status: Some(SessionStatus::Error), limit: Some(20), ..TraceFilter::default() };
/// # let _ = failures;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFilter {
    /// Sessions with this status (`Running` finds sessions still running — or that died).
    pub status: Option<SessionStatus>,
    /// Sessions that started at or after this time.
    pub started_after: Option<DateTime<Utc>>,
    /// Sessions that started before this time.
    pub started_before: Option<DateTime<Utc>>,
    /// Sessions with at least one event of this system id.
    pub system_id: Option<String>,
    /// Sessions for this user (`Session::set_user`).
    pub user: Option<String>,
    /// Sessions that have this tag among theirs (`Session::add_tag`).
    pub tag: Option<String>,
    /// Sessions with this name (`Session::set_name`).
    pub name: Option<String>,
    /// Sessions with (`true`) or without (`false`) an event that ended in `Err` or `Panicked`.
    pub has_errors: Option<bool>,
    /// Sessions that ended and took at least this long.
    pub min_duration: Option<Duration>,
    /// Sessions that ended and took at most this long.
    pub max_duration: Option<Duration>,
    /// Sessions whose metadata has this key with exactly this value.
    pub metadata: Option<(String, Value)>,
    /// Sessions whose outcome rewards (rewards not given to an event) sum to at least this.
    pub min_reward: Option<f64>,
    /// Sessions with a score of the session (not of an event) of this name, at least this
    /// value ([`min_score`](TraceFilter::min_score)).
    pub min_score: Option<(String, f64)>,
    /// At most this many sessions.
    pub limit: Option<usize>,
    /// Leave out this many of the first sessions that pass (paging, with `limit`).
    pub offset: Option<usize>,
    /// In which order (default: newest first).
    pub order: Order,
}

/// The order of [`TraceStore::list`]: each from the most, ties newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// The newest first.
    #[default]
    Newest,
    /// The costliest first (sessions without a cost last).
    Cost,
    /// The most tokens (input and output) first.
    Tokens,
    /// The longest first (sessions still running last).
    Duration,
}

impl TraceFilter {
    /// With sessions scored `name` at `value` or more only.
    ///
    /// ```
    /// use agent_trace::TraceFilter;
    /// let good = TraceFilter::default().min_score("accuracy", 0.8);
    /// assert_eq!(good.min_score, Some(("accuracy".to_owned(), 0.8)));
    /// ```
    pub fn min_score(mut self, name: impl Into<String>, value: f64) -> TraceFilter {
        self.min_score = Some((name.into(), value));
        self
    }
}

/// One session as [`TraceStore::list`] shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    /// The session's id.
    pub session_id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while running (or if it died).
    pub ended_at: Option<DateTime<Utc>>,
    /// Its status.
    pub status: SessionStatus,
    /// How many events are stored.
    pub event_count: usize,
    /// How many of them ended in `Err` or `Panicked`.
    pub error_count: usize,
    /// The sum of its outcome rewards (those given to no event).
    pub outcome_reward: f64,
    /// The tokens its calls report, summed.
    pub tokens: TokenCounts,
    /// The tokens by model ([`TokenCounts::model_of`]).
    pub tokens_by_model: BTreeMap<String, TokenCounts>,
    /// What its tokens cost: priced by the sink that stored it (`SqliteSink::pricing`), or
    /// by the store that read it (`TraceStore::pricing`); `None` when unpriced, or when a
    /// model with tokens has no price.
    pub cost: Option<f64>,
    /// Its user, if one was set.
    pub user: Option<String>,
    /// Its name, if one was set.
    pub name: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its metadata.
    pub metadata: Map,
}

impl SessionSummary {
    /// How long it ran; `None` while running.
    pub fn duration(&self) -> Option<Duration> {
        (self.ended_at? - self.started_at).to_std().ok()
    }
}

/// Reads a trace database written by [`SqliteSink`](crate::SqliteSink).
///
/// Safe to use while a writer — in this process or another — writes the same file.
///
/// ```no_run
/// use agent_trace::{TraceFilter, TraceStore};
/// let store = TraceStore::open("traces.db")?;
/// for summary in store.list(&TraceFilter { limit: Some(10), ..TraceFilter::default() })? {
///     println!("{} {} {} events", summary.session_id, summary.status, summary.event_count);
/// }
/// # Ok::<(), agent_trace::store::StoreError>(())
/// ```
pub struct TraceStore {
    path: PathBuf,
    connection: Mutex<Connection>,
    pricing: Option<trace_core::Pricing>,
    /// Opened with `open_writable`: scores may be added.
    writable: bool,
}

impl std::fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TraceStore {
    /// Opens the trace database at `path`, which must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<TraceStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let connection = schema::open(&path, false)?;
        Ok(TraceStore {
            path,
            connection: Mutex::new(connection),
            pricing: None,
            writable: false,
        })
    }

    /// Opens the trace database at `path`, which must exist, to read it and to add
    /// scores to its sessions ([`add_score`](TraceStore::add_score)) — also while a tracer,
    /// in this process or another, writes it.
    pub fn open_writable(path: impl AsRef<Path>) -> Result<TraceStore, StoreError> {
        Ok(TraceStore {
            writable: true,
            ..TraceStore::open(path)?
        })
    }

    /// Adds a score to stored session `session_id` (an id, or the start of one): of the
    /// session, or of its event `event`. In a transaction of its own that takes the
    /// write lock at its start (`BEGIN IMMEDIATE`), so that it waits its turn beside a
    /// tracer writing the same file.
    ///
    /// ```no_run
    /// use agent_trace::{Score, ScoreSource, TraceStore};
    /// let store = TraceStore::open_writable("traces.db")?;
    /// store.add_score("d03ab3", None, Score::number("accuracy", 0.9, ScoreSource::Human))?;
    /// store.add_score("d03ab3", Some(4), Score::label("tone", "curt", ScoreSource::Evaluator))?;
    /// # Ok::<(), agent_trace::store::StoreError>(())
    /// ```
    pub fn add_score(&self, session_id: &str, event: Option<u64>, mut score: Score) -> Result<(), StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        score.event = event;
        let mut connection = lock(&self.connection);
        let id = read::resolve(&connection, &self.path, session_id)?;
        let refused = |problem: String| StoreError::InvalidScore {
            path: self.path.clone(),
            session_id: id.clone(),
            problem,
        };
        if let Some(problem) = score.problem() {
            return Err(refused(problem));
        }
        let sql = |source| StoreError::from_sqlite(&self.path, source);
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let sid: i64 = transaction
            .query_row("SELECT sid FROM sessions WHERE session_id = ?1", [&id], |row| {
                row.get(0)
            })
            .map_err(sql)?;
        if let Some(event) = event {
            let found: i64 = transaction
                .query_row(
                    "SELECT count(*) FROM events WHERE sid = ?1 AND id = ?2",
                    rusqlite::params![sid, codec::integer(event)],
                    |row| row.get(0),
                )
                .map_err(sql)?;
            if found == 0 {
                return Err(refused(format!("it has no event {event}")));
            }
        }
        write::insert_score(&transaction, sid, &score, false).map_err(sql)?;
        transaction.commit().map_err(sql)
    }

    /// Prices what `list` returns with `pricing`, whatever cost was stored (a session's
    /// tokens by model are priced; a running one has none yet). Ordering by cost still
    /// uses the stored cost.
    pub fn pricing(mut self, pricing: trace_core::Pricing) -> TraceStore {
        self.pricing = Some(pricing);
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The session with this id, as `Session::end` returned it — or, for a session still
    /// running (or that died), with the events streamed so far and status `Running`.
    pub fn get(&self, session_id: &str) -> Result<Option<SessionTrace>, StoreError> {
        read::session(&lock(&self.connection), &self.path, session_id)
    }

    /// The id of the stored session that `id` names: the id itself, or the start of
    /// exactly one id (as git takes a commit's prefix).
    ///
    /// ```no_run
    /// use agent_trace::TraceStore;
    /// let store = TraceStore::open("traces.db")?;
    /// let id = store.resolve("d03ab3")?; // "d03ab3db-6d73-41a5-a1f2-c93d86286d14"
    /// # let _ = id;
    /// # Ok::<(), agent_trace::store::StoreError>(())
    /// ```
    pub fn resolve(&self, id: &str) -> Result<String, StoreError> {
        read::resolve(&lock(&self.connection), &self.path, id)
    }

    /// The id of the session that started last, if any.
    pub fn latest(&self) -> Result<Option<String>, StoreError> {
        let connection = lock(&self.connection);
        connection
            .query_row(
                "SELECT session_id FROM sessions ORDER BY started_at DESC, session_id LIMIT 1",
                [],
                |row| row.get(0),
            )
            .map(Some)
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(StoreError::from_sqlite(&self.path, other)),
            })
    }

    /// The sessions that pass `filter`, newest first.
    pub fn list(&self, filter: &TraceFilter) -> Result<Vec<SessionSummary>, StoreError> {
        let mut sessions = read::list(&lock(&self.connection), &self.path, filter)?;
        if let Some(pricing) = &self.pricing {
            for session in &mut sessions {
                session.cost = pricing.cost_of(&session.tokens_by_model).0;
            }
        }
        Ok(sessions)
    }

    /// How many sessions are stored.
    pub fn count(&self) -> Result<usize, StoreError> {
        let connection = lock(&self.connection);
        let count: i64 = connection
            .query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))
            .map_err(|source| StoreError::from_sqlite(&self.path, source))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Deletes every session that started more than `age` ago (whatever its status), with
    /// all it holds; returns how many.
    pub fn purge_older_than(&self, age: Duration) -> Result<usize, StoreError> {
        let cutoff = chrono::TimeDelta::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age));
        let Some(cutoff) = cutoff else { return Ok(0) };
        let mut connection = lock(&self.connection);
        write::purge_before(&mut connection, &self.path, &cutoff)
    }
}
