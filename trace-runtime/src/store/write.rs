//! Writing records, one transaction per batch.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use trace_core::{Events, Pricing, Score, SessionTrace, TokenCounts};

use super::{codec, event_row};
use crate::error::StoreError;
use crate::sink::{EventBatch, Record, SessionStart};

/// Writes a batch of records in one transaction: all of it, or none. The transaction takes
/// the write lock when it begins (`BEGIN IMMEDIATE`), waiting for another process's with the
/// busy timeout: one that began reading and then wrote could not wait, and would fail with
/// "database is locked" at once.
pub(crate) fn apply(
    connection: &mut Connection,
    path: &Path,
    batch: &[Record],
    pricing: Option<&Pricing>,
) -> Result<(), StoreError> {
    let error = |source| StoreError::from_sqlite(path, source);
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(error)?;
    for record in batch {
        match record {
            Record::SessionStarted(start) => session_started(&transaction, start).map(|_| ()),
            Record::Events(events) => event_batch(&transaction, events),
            Record::SessionEnded(trace) => session_ended(&transaction, trace, pricing),
            Record::SessionDiscarded(session_id) => delete_session(&transaction, session_id),
        }
        .map_err(error)?;
    }
    transaction.commit().map_err(error)
}

/// The session's row key, creating a `running` row started at `started_at` if needed.
/// The session's key, its row made (running, started at what `started_at` says) if it has
/// none yet.
fn session_key(
    tx: &Transaction<'_>,
    session_id: &str,
    started_at: impl FnOnce() -> DateTime<Utc>,
) -> rusqlite::Result<i64> {
    let existing = tx
        .prepare_cached("SELECT sid FROM sessions WHERE session_id = ?1")?
        .query_row([session_id], |row| row.get(0))
        .optional()?;
    match existing {
        Some(sid) => Ok(sid),
        None => {
            tx.prepare_cached("INSERT INTO sessions (session_id, started_at, status) VALUES (?1, ?2, 'running')")?
                .execute(params![session_id, codec::time(&started_at())])?;
            Ok(tx.last_insert_rowid())
        }
    }
}

fn session_started(tx: &Transaction<'_>, start: &SessionStart) -> rusqlite::Result<i64> {
    session_key(tx, &start.session_id, || start.started_at)
}

/// What [`insert_events`] added: how many events were new, how many of those failed, and
/// the tokens they report.
#[derive(Default)]
struct Inserted {
    added: i64,
    failed: i64,
    /// The tokens of the new events, by model ([`TokenCounts::model_of`]).
    tokens: BTreeMap<String, TokenCounts>,
}

/// Inserts events not already stored.
fn insert_events(tx: &Transaction<'_>, sid: i64, events: &Events) -> rusqlite::Result<Inserted> {
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO events (sid, id, name, outcome, data) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut inserted = Inserted::default();
    let mut systems = BTreeSet::new();
    let mut data = Vec::with_capacity(512);
    for event in events.records() {
        data.clear();
        event_row::encode_into(&mut data, event);
        let text = std::str::from_utf8(&data).unwrap_or("{}");
        let changed = insert.execute(params![
            sid,
            codec::integer(event.id()),
            event.name(),
            event.outcome().as_str(),
            text
        ])?;
        if changed > 0 {
            inserted.added += 1;
            inserted.failed += i64::from(event.outcome().is_failure());
            let metadata = event.metadata();
            if let Some(tokens) = TokenCounts::of_event(event.kind(), metadata) {
                inserted
                    .tokens
                    .entry(TokenCounts::model_of(metadata).to_owned())
                    .or_default()
                    .add(&tokens);
            }
            systems.insert(event.system_id());
        }
    }
    let mut system = tx.prepare_cached("INSERT OR IGNORE INTO session_systems (system_id, sid) VALUES (?1, ?2)")?;
    for system_id in systems {
        system.execute(params![system_id, sid])?;
    }
    Ok(inserted)
}

fn event_batch(tx: &Transaction<'_>, batch: &EventBatch) -> rusqlite::Result<()> {
    if batch.events.is_empty() {
        return Ok(());
    }
    // The start record may have been dropped by the overflow policy: then the first event
    // stands in for the session's start until its end record arrives.
    let first = || {
        let starts = batch.events.records().map(|event| event.started_at());
        starts.min().unwrap_or_default()
    };
    let sid = session_key(tx, &batch.session_id, first)?;
    let inserted = insert_events(tx, sid, &batch.events)?;
    tx.prepare_cached(
        "UPDATE sessions SET event_count = event_count + ?2, error_count = error_count + ?3 WHERE sid = ?1",
    )?
    .execute(params![sid, inserted.added, inserted.failed])?;
    add_tokens(tx, sid, &inserted.tokens)?;
    if let Some(metadata) = &batch.metadata {
        tx.prepare_cached("UPDATE sessions SET metadata = ?2 WHERE sid = ?1")?
            .execute(params![sid, codec::json(metadata)])?;
    }
    if let Some(labels) = &batch.labels {
        set_labels(tx, sid, labels.user.as_deref(), labels.name.as_deref(), &labels.tags)?;
    }
    Ok(())
}

/// A session's user, name and tags, in their columns and the tags' table.
fn set_labels(
    tx: &Transaction<'_>,
    sid: i64,
    user: Option<&str>,
    name: Option<&str>,
    tags: &[String],
) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE sessions SET user_id = ?2, name = ?3, tags = ?4 WHERE sid = ?1")?
        .execute(params![sid, user, name, codec::json(&tags)])?;
    tx.prepare_cached("DELETE FROM session_tags WHERE sid = ?1")?
        .execute([sid])?;
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO session_tags (tag, sid) VALUES (?1, ?2)")?;
    for tag in tags {
        insert.execute(params![tag, sid])?;
    }
    Ok(())
}

fn session_ended(tx: &Transaction<'_>, trace: &SessionTrace, pricing: Option<&Pricing>) -> rusqlite::Result<()> {
    let sid = session_key(tx, &trace.session_id, || trace.started_at)?;
    // Events normally arrived streamed (and the trace then carries none); insert whatever
    // did not — a dropped batch, or a trace written whole with `write_session`.
    let (mut added, mut failed) = (0, 0);
    if !trace.events.is_empty() {
        let stored: i64 = tx
            .prepare_cached("SELECT count(*) FROM events WHERE sid = ?1")?
            .query_row([sid], |row| row.get(0))?;
        if stored < trace.events.len() as i64 {
            let inserted = insert_events(tx, sid, &trace.events)?;
            (added, failed) = (inserted.added, inserted.failed);
            add_tokens(tx, sid, &inserted.tokens)?;
        }
    }
    tx.prepare_cached(
        "UPDATE sessions SET started_at = ?2, ended_at = ?3, status = ?4, metadata = ?5, \
         event_count = event_count + ?6, error_count = error_count + ?7, \
         outcome_reward = ?8, timesteps = ?9, messages = ?10, rewards = ?11, graph = ?12 WHERE sid = ?1",
    )?
    .execute(params![
        sid,
        codec::time(&trace.started_at),
        trace.ended_at.as_ref().map(codec::time),
        trace.status.to_string(),
        codec::json(&trace.metadata),
        added,
        failed,
        trace.outcome_reward(),
        codec::json(&trace.timesteps),
        codec::json(&trace.messages),
        codec::json(&trace.rewards),
        codec::json(&trace.graph),
    ])?;
    set_labels(tx, sid, trace.user.as_deref(), trace.name.as_deref(), &trace.tags)?;
    // The scores given while it ran (those given later, by `add_score`, stay).
    tx.prepare_cached("DELETE FROM scores WHERE sid = ?1 AND while_running = 1")?
        .execute([sid])?;
    for score in &trace.scores {
        insert_score(tx, sid, score, true)?;
    }
    if let Some(pricing) = pricing {
        let by_model: String = tx
            .prepare_cached("SELECT tokens_by_model FROM sessions WHERE sid = ?1")?
            .query_row([sid], |row| row.get(0))?;
        let by_model: BTreeMap<String, TokenCounts> = serde_json::from_str(&by_model).unwrap_or_default();
        tx.prepare_cached("UPDATE sessions SET cost = ?2 WHERE sid = ?1")?
            .execute(params![sid, pricing.cost_of(&by_model).0])?;
    }
    Ok(())
}

/// Stores a score of session `sid`.
pub(super) fn insert_score(tx: &Connection, sid: i64, score: &Score, while_running: bool) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO scores (sid, event, name, value, label, comment, source, at, while_running) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        sid,
        score.event.map(codec::integer),
        score.name,
        score.value.as_number(),
        score.value.as_label(),
        score.comment,
        score.source.as_str(),
        codec::time(&score.at),
        while_running
    ])?;
    Ok(())
}

/// Adds the tokens of newly stored events, by model, to their session's totals (a few
/// models, read and written back whole).
fn add_tokens(tx: &Transaction<'_>, sid: i64, tokens: &BTreeMap<String, TokenCounts>) -> rusqlite::Result<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let stored: String = tx
        .prepare_cached("SELECT tokens_by_model FROM sessions WHERE sid = ?1")?
        .query_row([sid], |row| row.get(0))?;
    let mut by_model: BTreeMap<String, TokenCounts> = serde_json::from_str(&stored).unwrap_or_default();
    for (model, counts) in tokens {
        by_model.entry(model.clone()).or_default().add(counts);
    }
    store_tokens(tx, sid, &by_model)
}

/// Sets a session's token totals: by model, and their sums in the columns.
fn store_tokens(tx: &Connection, sid: i64, by_model: &BTreeMap<String, TokenCounts>) -> rusqlite::Result<()> {
    let mut all = TokenCounts::default();
    for counts in by_model.values() {
        all.add(counts);
    }
    tx.prepare_cached(
        "UPDATE sessions SET input_tokens = ?2, output_tokens = ?3, cached_input_tokens = ?4, reasoning_tokens = ?5, \
         tokens_by_model = ?6 WHERE sid = ?1",
    )?
    .execute(params![
        sid,
        codec::integer(all.input),
        codec::integer(all.output),
        codec::integer(all.cached_input),
        codec::integer(all.reasoning),
        codec::json(by_model)
    ])?;
    Ok(())
}

/// The tokens the stored rows of a session's events report, by model ([`TokenCounts::model_of`]): what
/// a store migrated from before version 4 computes its totals from.
const TOKENS_BY_MODEL: &str = "
    SELECT model, count(*), total(input), total(cached), total(creation), total(output), total(reasoning) FROM (
        SELECT coalesce(
                   CASE WHEN json_type(data, '$.metadata.\"gen_ai.response.model\"') = 'text'
                        THEN json_extract(data, '$.metadata.\"gen_ai.response.model\"') END,
                   CASE WHEN json_type(data, '$.metadata.\"gen_ai.request.model\"') = 'text'
                        THEN json_extract(data, '$.metadata.\"gen_ai.request.model\"') END,
                   '(unknown)') AS model,
               json_extract(data, '$.metadata.\"gen_ai.usage.input_tokens\"') AS input,
               json_extract(data, '$.metadata.\"gen_ai.usage.cache_read.input_tokens\"') AS cached,
               json_extract(data, '$.metadata.\"gen_ai.usage.cache_creation.input_tokens\"') AS creation,
               json_extract(data, '$.metadata.\"gen_ai.usage.output_tokens\"') AS output,
               json_extract(data, '$.metadata.\"gen_ai.usage.reasoning.output_tokens\"') AS reasoning
        FROM events WHERE sid = ?1 AND json_valid(data) AND json_extract(data, '$.kind') = 'llm'
    ) WHERE input IS NOT NULL OR output IS NOT NULL GROUP BY model";

/// Sets a session's token totals, by model, from its stored LLM events (a migration's
/// backfill; the events `TokenCounts::of_event` counts).
pub(super) fn total_tokens(tx: &Connection, sid: i64) -> rusqlite::Result<()> {
    let mut statement = tx.prepare_cached(TOKENS_BY_MODEL)?;
    let count = |value: f64| value.max(0.0) as u64;
    let rows = statement.query_map([sid], |row| {
        Ok((
            row.get::<_, String>(0)?,
            TokenCounts {
                calls: count(row.get::<_, i64>(1)? as f64),
                input: count(row.get(2)?),
                cached_input: count(row.get(3)?),
                cache_creation_input: count(row.get(4)?),
                output: count(row.get(5)?),
                reasoning: count(row.get(6)?),
            },
        ))
    })?;
    let by_model = rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
    store_tokens(tx, sid, &by_model)
}

fn delete_session(tx: &Transaction<'_>, session_id: &str) -> rusqlite::Result<()> {
    let sid: Option<i64> = tx
        .prepare_cached("SELECT sid FROM sessions WHERE session_id = ?1")?
        .query_row([session_id], |row| row.get(0))
        .optional()?;
    if let Some(sid) = sid {
        for table in ["events", "session_systems", "sessions"] {
            tx.prepare_cached(&format!("DELETE FROM {table} WHERE sid = ?1"))?
                .execute([sid])?;
        }
    }
    Ok(())
}

/// Deletes every session that started before `cutoff`; returns how many.
pub(crate) fn purge_before(
    connection: &mut Connection,
    path: &Path,
    cutoff: &DateTime<Utc>,
) -> Result<usize, StoreError> {
    let error = |source| StoreError::from_sqlite(path, source);
    let transaction = connection.transaction().map_err(error)?;
    let cutoff = codec::time(cutoff);
    let old = "SELECT sid FROM sessions WHERE started_at < ?1";
    for table in ["events", "session_systems"] {
        transaction
            .execute(&format!("DELETE FROM {table} WHERE sid IN ({old})"), [&cutoff])
            .map_err(error)?;
    }
    let purged = transaction
        .execute("DELETE FROM sessions WHERE started_at < ?1", [&cutoff])
        .map_err(error)?;
    transaction.commit().map_err(error)?;
    Ok(purged)
}
