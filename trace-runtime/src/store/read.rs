//! Reading sessions back.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use trace_core::{Map, Score, ScoreSource, ScoreValue, SessionTrace, TokenCounts};

use super::{Order, SessionSummary, TraceFilter};
use super::{codec, event_row};
use crate::error::StoreError;

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

    fn get<T: rusqlite::types::FromSql>(&self, row: &Row<'_>, column: usize) -> Result<T, StoreError> {
        row.get(column).map_err(|e| self.sql(e))
    }

    /// A JSON column that may not decode: its default then, with the reason noted under
    /// `$unreadable.<what>` (a session is read whatever one column holds).
    fn json_or_default<T: serde::de::DeserializeOwned + Default>(
        &self,
        row: &Row<'_>,
        column: usize,
        what: &'static str,
        notes: &mut Map,
    ) -> Result<T, StoreError> {
        let text: String = self.get(row, column)?;
        Ok(codec::json_back(&text).unwrap_or_else(|error| {
            notes.insert(
                format!("$unreadable.{what}"),
                serde_json::Value::from(error.to_string()),
            );
            T::default()
        }))
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

    fn status(&self, row: &Row<'_>, column: usize) -> Result<trace_core::SessionStatus, StoreError> {
        let status: String = self.get(row, column)?;
        codec::status_back(&status).ok_or_else(|| self.corrupt("status", &status))
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
    let mut header = connection
        .prepare_cached(
            "SELECT sid, started_at, ended_at, status, metadata, timesteps, messages, rewards, graph, user_id, name, tags \
             FROM sessions WHERE session_id = ?1",
        )
        .map_err(sql)?;
    let row = header
        .query_row([session_id], |row| {
            Ok((|| {
                let mut notes = Map::new();
                Ok::<_, StoreError>((
                    decoder.get::<i64>(row, 0)?,
                    SessionTrace {
                        session_id: session_id.to_owned(),
                        started_at: decoder.time(row, 1, "started_at")?,
                        ended_at: decoder.time_opt(row, 2, "ended_at")?,
                        status: decoder.status(row, 3)?,
                        metadata: Map::new(),
                        timesteps: decoder.json_or_default(row, 5, "timesteps", &mut notes)?,
                        messages: decoder.json_or_default(row, 6, "messages", &mut notes)?,
                        rewards: decoder.json_or_default(row, 7, "rewards", &mut notes)?,
                        graph: decoder.json_or_default(row, 8, "graph", &mut notes)?,
                        scores: Vec::new(),
                        user: decoder.get(row, 9)?,
                        name: decoder.get(row, 10)?,
                        tags: decoder.json_or_default(row, 11, "tags", &mut notes)?,
                        events: trace_core::Events::new(),
                    },
                    decoder.json_or_default::<Map>(row, 4, "metadata", &mut notes)?,
                    notes,
                ))
            })())
        })
        .optional()
        .map_err(sql)?;
    let Some(decoded) = row else { return Ok(None) };
    let (sid, mut trace, metadata, notes) = decoded?;
    trace.metadata = metadata;
    trace.metadata.extend(notes);

    trace.scores = scores(connection, &decoder, sid)?;
    let mut events = connection
        .prepare_cached("SELECT id, name, outcome, data FROM events WHERE sid = ?1 ORDER BY id")
        .map_err(sql)?;
    let mut rows = events.query([sid]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let id: i64 = decoder.get(row, 0)?;
        let outcome: String = decoder.get(row, 2)?;
        let data: String = decoder.get(row, 3)?;
        let event = event_row::decode(event_row::EventRow {
            id: u64::try_from(id).map_err(|_| decoder.corrupt("event", format!("negative id {id}")))?,
            name: decoder.get(row, 1)?,
            outcome: &outcome,
            data: &data,
        });
        trace.events.push(event);
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
        conditions.push("EXISTS (SELECT 1 FROM session_systems s WHERE s.system_id = ? AND s.sid = sessions.sid)");
        values.push(system_id.clone().into());
    }
    if let Some(user) = &filter.user {
        conditions.push("user_id = ?");
        values.push(user.clone().into());
    }
    if let Some(name) = &filter.name {
        conditions.push("name = ?");
        values.push(name.clone().into());
    }
    if let Some(tag) = &filter.tag {
        conditions.push("EXISTS (SELECT 1 FROM session_tags t WHERE t.tag = ? AND t.sid = sessions.sid)");
        values.push(tag.clone().into());
    }
    match filter.has_errors {
        Some(true) => conditions.push("error_count > 0"),
        Some(false) => conditions.push("error_count = 0"),
        None => {}
    }
    // Times are stored as integer nanoseconds (a time outside what those hold, as text,
    // is left out by these two).
    let nanos = |duration: &Duration| i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX);
    if let Some(min) = &filter.min_duration {
        conditions.push("ended_at - started_at >= ?");
        values.push(nanos(min).into());
    }
    if let Some(max) = &filter.max_duration {
        conditions.push("ended_at - started_at <= ?");
        values.push(nanos(max).into());
    }
    if let Some((name, min)) = &filter.min_score {
        conditions.push(
            "EXISTS (SELECT 1 FROM scores s WHERE s.sid = sessions.sid AND s.event IS NULL AND s.name = ? AND s.value >= ?)",
        );
        values.push(name.clone().into());
        values.push((*min).into());
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
        "SELECT session_id, started_at, ended_at, status, event_count, error_count, metadata, outcome_reward, \
         user_id, name, tags, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_by_model, cost \
         FROM sessions",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(match filter.order {
        Order::Newest => " ORDER BY started_at DESC, session_id",
        Order::Cost => " ORDER BY cost IS NULL, cost DESC, started_at DESC, session_id",
        Order::Tokens => " ORDER BY input_tokens + output_tokens DESC, started_at DESC, session_id",
        Order::Duration => " ORDER BY ended_at IS NULL, ended_at - started_at DESC, started_at DESC, session_id",
    });
    // With a metadata filter, values are compared below: the page is cut there.
    let in_sql = filter.metadata.is_none();
    match (filter.limit, filter.offset, in_sql) {
        (Some(limit), offset, true) => sql.push_str(&format!(" LIMIT {limit} OFFSET {}", offset.unwrap_or(0))),
        (None, Some(offset), true) => sql.push_str(&format!(" LIMIT -1 OFFSET {offset}")),
        _ => {}
    }
    let mut to_skip = if in_sql { 0 } else { filter.offset.unwrap_or(0) };
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
        let mut metadata: Map = Map::new();
        let read: Map = decoder.json_or_default(row, 6, "metadata", &mut metadata)?;
        metadata.extend(read);
        if let Some((key, wanted)) = &filter.metadata
            && metadata.get(key) != Some(wanted)
        {
            continue;
        }
        if to_skip > 0 {
            to_skip -= 1;
            continue;
        }
        let count = |column| decoder.get::<i64>(row, column).map(|n| u64::try_from(n).unwrap_or(0));
        let tokens_by_model: BTreeMap<String, TokenCounts> =
            decoder.json_or_default(row, 15, "tokens_by_model", &mut metadata)?;
        let tokens = TokenCounts {
            calls: tokens_by_model.values().map(|tokens| tokens.calls).sum(),
            input: count(11)?,
            output: count(12)?,
            cached_input: count(13)?,
            cache_creation_input: tokens_by_model.values().map(|tokens| tokens.cache_creation_input).sum(),
            reasoning: count(14)?,
        };
        let events = |column| decoder.get::<i64>(row, column).map(|n| usize::try_from(n).unwrap_or(0));
        summaries.push(SessionSummary {
            outcome_reward: decoder.get(row, 7)?,
            tokens,
            tokens_by_model,
            cost: decoder.get(row, 16)?,
            user: decoder.get(row, 8)?,
            name: decoder.get(row, 9)?,
            tags: decoder.json_or_default(row, 10, "tags", &mut metadata)?,
            started_at: decoder.time(row, 1, "started_at")?,
            ended_at: decoder.time_opt(row, 2, "ended_at")?,
            status: decoder.status(row, 3)?,
            event_count: events(4)?,
            error_count: events(5)?,
            metadata,
            session_id: session_id.clone(),
        });
    }
    Ok(summaries)
}

/// The stored id that `id` is, or is the start of (see `TraceStore::resolve`).
pub(super) fn resolve(connection: &Connection, path: &Path, id: &str) -> Result<String, StoreError> {
    let error = |source| StoreError::from_sqlite(path, source);
    // Every id that starts with `id` sorts from `id` up to `id` followed by the greatest
    // character: a range of the unique index.
    let upper = format!("{id}\u{10FFFF}");
    let mut statement = connection
        .prepare(
            "SELECT session_id FROM sessions WHERE session_id >= ?1 AND session_id < ?2 ORDER BY session_id LIMIT 6",
        )
        .map_err(error)?;
    let found: Vec<String> = statement
        .query_map(rusqlite::params![id, upper], |row| row.get(0))
        .map_err(error)?
        .collect::<Result<_, _>>()
        .map_err(error)?;
    if found.iter().any(|candidate| candidate == id) {
        return Ok(id.to_owned());
    }
    match found.as_slice() {
        [] => Err(StoreError::NoSuchSession {
            path: path.to_path_buf(),
            id: id.to_owned(),
        }),
        [only] => Ok(only.clone()),
        _ => Err(StoreError::AmbiguousSession {
            path: path.to_path_buf(),
            prefix: id.to_owned(),
            candidates: found.into_iter().take(5).collect(),
        }),
    }
}

/// The scores of session `sid`, in the order given.
fn scores(connection: &Connection, decoder: &Decoder<'_>, sid: i64) -> Result<Vec<Score>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT name, value, label, comment, source, at, event FROM scores WHERE sid = ?1 ORDER BY at, id",
        )
        .map_err(|e| decoder.sql(e))?;
    let mut rows = statement.query([sid]).map_err(|e| decoder.sql(e))?;
    let mut scores = Vec::new();
    while let Some(row) = rows.next().map_err(|e| decoder.sql(e))? {
        let value = match (
            decoder.get::<Option<f64>>(row, 1)?,
            decoder.get::<Option<String>>(row, 2)?,
        ) {
            (Some(number), _) => ScoreValue::Number(number),
            (None, Some(label)) => ScoreValue::Label(label),
            (None, None) => return Err(decoder.corrupt("score", "a score with neither a value nor a label")),
        };
        let source: String = decoder.get(row, 4)?;
        scores.push(Score {
            name: decoder.get(row, 0)?,
            value,
            comment: decoder.get(row, 3)?,
            source: ScoreSource::from_name(&source)
                .ok_or_else(|| decoder.corrupt("score", format!("unknown source {source:?}")))?,
            at: decoder.time(row, 5, "score time")?,
            event: decoder
                .get::<Option<i64>>(row, 6)?
                .and_then(|event| u64::try_from(event).ok()),
        });
    }
    Ok(scores)
}
