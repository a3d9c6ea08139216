//! Writing records, one transaction per batch.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};
use trace_core::{Event, SessionTrace};

use super::StoreError;
use super::codec;
use crate::sink::{EventBatch, Record, SessionStart};

/// Writes a batch of records in one transaction: all of it, or none.
pub(crate) fn apply(connection: &mut Connection, path: &Path, batch: &[Record]) -> Result<(), StoreError> {
    let error = |source| StoreError::from_sqlite(path, source);
    let transaction = connection.transaction().map_err(error)?;
    for record in batch {
        match record {
            Record::SessionStarted(start) => session_started(&transaction, start),
            Record::Events(events) => event_batch(&transaction, events),
            Record::SessionEnded(trace) => session_ended(&transaction, trace),
            Record::SessionDiscarded(session_id) => delete_session(&transaction, session_id),
        }
        .map_err(error)?;
    }
    transaction.commit().map_err(error)
}

fn session_started(tx: &Transaction<'_>, start: &SessionStart) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO sessions (session_id, started_at, status) VALUES (?1, ?2, 'running')")?
        .execute(params![start.session_id, codec::time(&start.started_at)])?;
    Ok(())
}

/// Inserts events not already stored; returns how many were new and how many of those failed.
fn insert_events(tx: &Transaction<'_>, session_id: &str, events: &[Event]) -> rusqlite::Result<(i64, i64)> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO events (session_id, id, parent, kind, system_id, name, module_path, turn, timestep, \
         started_at, duration_ns, inputs, output, error, outcome, metadata) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    let (mut added, mut failed) = (0, 0);
    for event in events {
        let changed = insert.execute(params![
            session_id,
            codec::id(event.id),
            event.parent.map(codec::id),
            codec::kind(&event.kind),
            event.system_id,
            event.name,
            event.module_path,
            codec::opt_u32(event.turn),
            codec::opt_u32(event.timestep),
            codec::time(&event.started_at),
            codec::duration(&event.duration),
            codec::json(&event.inputs),
            event.output.as_ref().map(codec::json),
            event.error.as_ref().map(codec::json),
            event.outcome.to_string(),
            codec::json(&event.metadata),
        ])?;
        if changed > 0 {
            added += 1;
            failed += i64::from(event.outcome.is_failure());
        }
    }
    Ok((added, failed))
}

fn event_batch(tx: &Transaction<'_>, batch: &EventBatch) -> rusqlite::Result<()> {
    // The start record may have been dropped by the overflow policy: make sure the row exists.
    if let Some(first) = batch.events.iter().map(|e| e.started_at).min() {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO sessions (session_id, started_at, status) VALUES (?1, ?2, 'running')",
        )?
        .execute(params![batch.session_id, codec::time(&first)])?;
    }
    let (added, failed) = insert_events(tx, &batch.session_id, &batch.events)?;
    tx.prepare_cached(
        "UPDATE sessions SET event_count = event_count + ?2, error_count = error_count + ?3 WHERE session_id = ?1",
    )?
    .execute(params![batch.session_id, added, failed])?;
    if let Some(metadata) = &batch.metadata {
        tx.prepare_cached("UPDATE sessions SET metadata = ?2 WHERE session_id = ?1")?
            .execute(params![batch.session_id, codec::json(metadata)])?;
    }
    Ok(())
}

fn session_ended(tx: &Transaction<'_>, trace: &SessionTrace) -> rusqlite::Result<()> {
    let id = &trace.session_id;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sessions (session_id, started_at, ended_at, status, metadata, event_count, error_count, outcome_reward) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        codec::time(&trace.started_at),
        trace.ended_at.as_ref().map(codec::time),
        trace.status.to_string(),
        codec::json(&trace.metadata),
        trace.events.len() as i64,
        trace.error_count() as i64,
        trace.outcome_reward(),
    ])?;
    // Events normally arrived streamed; insert whatever did not (a dropped batch, or a sink
    // that only sees ends).
    let stored: i64 = tx
        .prepare_cached("SELECT count(*) FROM events WHERE session_id = ?1")?
        .query_row([id], |row| row.get(0))?;
    if stored < trace.events.len() as i64 {
        insert_events(tx, id, &trace.events)?;
    }
    for table in ["timesteps", "messages", "rewards"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE session_id = ?1"))?
            .execute([id])?;
    }
    let mut timestep = tx.prepare_cached(
        "INSERT INTO timesteps (session_id, idx, turn, name, started_at, ended_at, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for step in &trace.timesteps {
        timestep.execute(params![
            id,
            step.index,
            codec::opt_u32(step.turn),
            step.name,
            codec::time(&step.started_at),
            step.ended_at.as_ref().map(codec::time),
            codec::json(&step.metadata),
        ])?;
    }
    let mut message = tx.prepare_cached(
        "INSERT INTO messages (session_id, id, source_id, target_id, message_type, content, timestep, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for item in &trace.messages {
        message.execute(params![
            id,
            codec::id(item.id),
            item.source_id,
            item.target_id,
            item.message_type,
            codec::json(&item.content),
            codec::opt_u32(item.timestep),
            codec::time(&item.at),
        ])?;
    }
    let mut reward = tx.prepare_cached(
        "INSERT INTO rewards (session_id, idx, name, value, event, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (index, item) in trace.rewards.iter().enumerate() {
        reward.execute(params![
            id,
            index as i64,
            item.name,
            item.value,
            item.event.map(codec::id),
            codec::json(&item.metadata)
        ])?;
    }
    Ok(())
}

fn delete_session(tx: &Transaction<'_>, session_id: &str) -> rusqlite::Result<()> {
    for table in ["events", "timesteps", "messages", "rewards", "sessions"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE session_id = ?1"))?
            .execute([session_id])?;
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
    let old = "SELECT session_id FROM sessions WHERE started_at < ?1";
    for table in ["events", "timesteps", "messages", "rewards"] {
        transaction
            .execute(&format!("DELETE FROM {table} WHERE session_id IN ({old})"), [&cutoff])
            .map_err(error)?;
    }
    let purged = transaction
        .execute("DELETE FROM sessions WHERE started_at < ?1", [&cutoff])
        .map_err(error)?;
    transaction.commit().map_err(error)?;
    Ok(purged)
}
