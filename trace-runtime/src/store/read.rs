//! Reading sessions back.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use trace_core::{ErrorRecord, Event, Map, Message, Reward, SessionTrace, TimeStep};

use super::codec;
use super::{SessionSummary, StoreError, TraceFilter};

/// Decodes the columns of one row, naming what does not decode.
struct Decoder<'a> {
    path: &'a Path,
    session_id: &'a str,
}

impl Decoder<'_> {
    fn corrupt(&self, what: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_path_buf(),
            session_id: self.session_id.to_owned(),
            what,
            detail: detail.to_string(),
        }
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(self.path, source)
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        row: &Row<'_>,
        column: usize,
        what: &'static str,
    ) -> Result<T, StoreError> {
        let text: String = row.get(column).map_err(|e| self.sql(e))?;
        codec::json_back(&text).map_err(|e| self.corrupt(what, e))
    }

    fn json_opt<T: serde::de::DeserializeOwned>(
        &self,
        row: &Row<'_>,
        column: usize,
        what: &'static str,
    ) -> Result<Option<T>, StoreError> {
        let text: Option<String> = row.get(column).map_err(|e| self.sql(e))?;
        text.map(|text| codec::json_back(&text).map_err(|e| self.corrupt(what, e)))
            .transpose()
    }

    fn time(
        &self,
        row: &Row<'_>,
        column: usize,
        what: &'static str,
    ) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        let value = row.get_ref(column).map_err(|e| self.sql(e))?;
        codec::time_back(value).ok_or_else(|| self.corrupt(what, "not a time"))
    }

    fn time_opt(
        &self,
        row: &Row<'_>,
        column: usize,
        what: &'static str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        match row.get_ref(column).map_err(|e| self.sql(e))? {
            ValueRef::Null => Ok(None),
            value => codec::time_back(value)
                .map(Some)
                .ok_or_else(|| self.corrupt(what, "not a time")),
        }
    }

    fn get<T: rusqlite::types::FromSql>(&self, row: &Row<'_>, column: usize) -> Result<T, StoreError> {
        row.get(column).map_err(|e| self.sql(e))
    }

    fn id(&self, row: &Row<'_>, column: usize) -> Result<u64, StoreError> {
        let value: i64 = self.get(row, column)?;
        u64::try_from(value).map_err(|_| self.corrupt("id", value))
    }

    fn small(&self, row: &Row<'_>, column: usize) -> Result<Option<u32>, StoreError> {
        let value: Option<i64> = self.get(row, column)?;
        value
            .map(|v| u32::try_from(v).map_err(|_| self.corrupt("turn or timestep", v)))
            .transpose()
    }
}

/// One whole session.
pub(super) fn session(
    connection: &Connection,
    path: &Path,
    session_id: &str,
) -> Result<Option<SessionTrace>, StoreError> {
    let decoder = Decoder { path, session_id };
    let sql = |e| decoder.sql(e);
    let header = connection
        .query_row(
            "SELECT started_at, ended_at, status, metadata FROM sessions WHERE session_id = ?1",
            [session_id],
            |row| {
                Ok((
                    decoder.time(row, 0, "started_at"),
                    decoder.time_opt(row, 1, "ended_at"),
                    decoder.get::<String>(row, 2),
                    decoder.json::<Map>(row, 3, "metadata"),
                ))
            },
        )
        .optional()
        .map_err(sql)?;
    let Some((started_at, ended_at, status, metadata)) = header else {
        return Ok(None);
    };
    let status = status?;
    let status = codec::status_back(&status).ok_or_else(|| decoder.corrupt("status", &status))?;

    let mut trace = SessionTrace {
        session_id: session_id.to_owned(),
        started_at: started_at?,
        ended_at: ended_at?,
        status,
        timesteps: Vec::new(),
        events: Vec::new(),
        messages: Vec::new(),
        rewards: Vec::new(),
        metadata: metadata?,
    };

    let mut events = connection
        .prepare_cached(
            "SELECT id, parent, kind, system_id, name, module_path, turn, timestep, started_at, duration_ns, \
             inputs, output, error, outcome, metadata FROM events WHERE session_id = ?1 ORDER BY id",
        )
        .map_err(sql)?;
    let mut rows = events.query([session_id]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let kind: String = decoder.get(row, 2)?;
        let outcome: String = decoder.get(row, 13)?;
        let parent: Option<i64> = decoder.get(row, 1)?;
        trace.events.push(Event {
            id: decoder.id(row, 0)?,
            parent: parent.and_then(|p| u64::try_from(p).ok()),
            kind: codec::kind_back(&kind).ok_or_else(|| decoder.corrupt("event kind", &kind))?,
            system_id: decoder.get(row, 3)?,
            name: decoder.get(row, 4)?,
            module_path: decoder.get(row, 5)?,
            turn: decoder.small(row, 6)?,
            timestep: decoder.small(row, 7)?,
            started_at: decoder.time(row, 8, "event started_at")?,
            duration: codec::duration_back(row.get_ref(9).map_err(sql)?)
                .ok_or_else(|| decoder.corrupt("duration", "not a duration"))?,
            inputs: decoder.json(row, 10, "event inputs")?,
            output: decoder.json_opt(row, 11, "event output")?,
            error: decoder.json_opt::<ErrorRecord>(row, 12, "event error")?,
            outcome: codec::outcome_back(&outcome).ok_or_else(|| decoder.corrupt("outcome", &outcome))?,
            metadata: decoder.json(row, 14, "event metadata")?,
        });
    }

    let mut timesteps = connection
        .prepare_cached(
            "SELECT idx, turn, name, started_at, ended_at, metadata FROM timesteps WHERE session_id = ?1 ORDER BY idx",
        )
        .map_err(sql)?;
    let mut rows = timesteps.query([session_id]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        trace.timesteps.push(TimeStep {
            index: decoder.small(row, 0)?.unwrap_or_default(),
            turn: decoder.small(row, 1)?,
            name: decoder.get(row, 2)?,
            started_at: decoder.time(row, 3, "timestep started_at")?,
            ended_at: decoder.time_opt(row, 4, "timestep ended_at")?,
            metadata: decoder.json(row, 5, "timestep metadata")?,
        });
    }

    let mut messages = connection
        .prepare_cached(
            "SELECT id, source_id, target_id, message_type, content, timestep, at FROM messages WHERE session_id = ?1 ORDER BY id",
        )
        .map_err(sql)?;
    let mut rows = messages.query([session_id]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        trace.messages.push(Message {
            id: decoder.id(row, 0)?,
            source_id: decoder.get(row, 1)?,
            target_id: decoder.get(row, 2)?,
            message_type: decoder.get(row, 3)?,
            content: decoder.json(row, 4, "message content")?,
            timestep: decoder.small(row, 5)?,
            at: decoder.time(row, 6, "message time")?,
        });
    }

    let mut rewards = connection
        .prepare_cached("SELECT name, value, event, metadata FROM rewards WHERE session_id = ?1 ORDER BY idx")
        .map_err(sql)?;
    let mut rows = rewards.query([session_id]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let event: Option<i64> = decoder.get(row, 2)?;
        trace.rewards.push(Reward {
            name: decoder.get(row, 0)?,
            value: decoder.get(row, 1)?,
            event: event.and_then(|e| u64::try_from(e).ok()),
            metadata: decoder.json(row, 3, "reward metadata")?,
        });
    }
    Ok(Some(trace))
}

/// Sessions passing a filter, newest first.
pub(super) fn list(
    connection: &Connection,
    path: &Path,
    filter: &TraceFilter,
) -> Result<Vec<SessionSummary>, StoreError> {
    let mut conditions = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(status) = filter.status {
        conditions.push("status = ?");
        values.push(status.to_string().into());
    }
    if let Some(after) = &filter.started_after {
        conditions.push("started_at >= ?");
        values.push(codec::time(after));
    }
    if let Some(before) = &filter.started_before {
        conditions.push("started_at < ?");
        values.push(codec::time(before));
    }
    if let Some(system_id) = &filter.system_id {
        conditions.push("EXISTS (SELECT 1 FROM events e WHERE e.system_id = ? AND e.session_id = sessions.session_id)");
        values.push(system_id.clone().into());
    }
    if let Some(min) = filter.min_reward {
        conditions.push("outcome_reward >= ?");
        values.push(min.into());
    }
    if let Some((key, _)) = &filter.metadata {
        // A coarse filter in SQL; the exact comparison of values is done below.
        conditions.push("json_type(metadata, ?) IS NOT NULL");
        values.push(format!("$.\"{}\"", key.replace('"', "\\\"")).into());
    }
    let mut sql = String::from(
        "SELECT session_id, started_at, ended_at, status, event_count, error_count, metadata FROM sessions",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY started_at DESC, session_id");
    if let (Some(limit), None) = (filter.limit, &filter.metadata) {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let error = |source| StoreError::from_sqlite(path, source);
    let mut statement = connection.prepare(&sql).map_err(error)?;
    let mut rows = statement.query(params_from_iter(values)).map_err(error)?;
    let mut summaries = Vec::new();
    while let Some(row) = rows.next().map_err(error)? {
        if filter.limit.is_some_and(|limit| summaries.len() >= limit) {
            break;
        }
        let session_id: String = row.get(0).map_err(error)?;
        let decoder = Decoder {
            path,
            session_id: &session_id,
        };
        let metadata: Map = decoder.json(row, 6, "metadata")?;
        if let Some((key, wanted)) = &filter.metadata {
            if metadata.get(key) != Some(wanted) {
                continue;
            }
        }
        let status: String = decoder.get(row, 3)?;
        let count = |column| decoder.get::<i64>(row, column).map(|n| usize::try_from(n).unwrap_or(0));
        summaries.push(SessionSummary {
            started_at: decoder.time(row, 1, "started_at")?,
            ended_at: decoder.time_opt(row, 2, "ended_at")?,
            status: codec::status_back(&status).ok_or_else(|| decoder.corrupt("status", &status))?,
            event_count: count(4)?,
            error_count: count(5)?,
            metadata,
            session_id: session_id.clone(),
        });
    }
    Ok(summaries)
}
