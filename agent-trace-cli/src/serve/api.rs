//! The JSON API the pages read: `/api/sessions`, `/api/sessions/{id}`,
//! `/api/sessions/{id}/events/{event}`, `/api/sessions/{id}/graph.svg`, `/api/diff`.

use std::sync::Arc;

use agent_trace::store::StoreError;
use agent_trace::{SessionTrace, TraceStore};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::ValueEnum;
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::cli::{FilterArgs, Status};
use crate::commands::{diff_lines, summary_json};
use crate::error::CliError;
use crate::filter::selection;

/// The most sessions a page of the list holds.
const MOST: usize = 500;

/// A failure, as JSON `{"error": "…"}` with its status.
pub(crate) struct ApiError(StatusCode, String);

impl From<CliError> for ApiError {
    fn from(error: CliError) -> Self {
        let status = match &error {
            CliError::BadArgument { .. } => StatusCode::BAD_REQUEST,
            CliError::Store(StoreError::NoSuchSession { .. } | StoreError::AmbiguousSession { .. })
            | CliError::NoSuchEvent { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        CliError::Store(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

/// Runs store work off the server's thread.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&TraceStore) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || work(&app.store))
        .await
        .map_err(|error| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the request failed: {error}"),
            )
        })?
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// `key=value`.
    meta: Option<String>,
    min_reward: Option<f64>,
    system_id: Option<String>,
    user: Option<String>,
    tag: Option<String>,
    name: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/sessions?status=&since=&until=&meta=key=value&min_reward=&system_id=&user=&tag=&name=&limit=&offset=`:
/// a page of sessions, newest first.
pub(crate) async fn sessions(
    State(app): State<Arc<App>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match query.status.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(Status::from_str(text, true).map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("status {text:?}: one of running, success, error, cancelled"),
            )
        })?),
        None => None,
    };
    let nonempty = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
    let args = FilterArgs {
        status,
        since: nonempty(query.since),
        until: nonempty(query.until),
        meta: nonempty(query.meta).into_iter().collect(),
        min_reward: query.min_reward,
        system_id: nonempty(query.system_id),
        user: nonempty(query.user),
        tag: nonempty(query.tag),
        name: nonempty(query.name),
        has_errors: false,
        no_errors: false,
        min_duration: None,
        max_duration: None,
        order: crate::cli::OrderBy::Newest,
        min_score: None,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, MOST);
    let offset = query.offset.unwrap_or(0);
    blocking(&app, move |store| {
        let mut selection = selection(&args, Some(limit + 1))?;
        selection.filter.offset = Some(offset);
        let mut sessions = store.list(&selection.filter)?;
        let more = sessions.len() > limit;
        sessions.truncate(limit);
        Ok(Json(json!({
            "store": store.path().display().to_string(),
            "offset": offset,
            "limit": limit,
            "more": more,
            "sessions": sessions.iter().map(summary_json).collect::<Vec<_>>(),
        })))
    })
    .await
}

fn load(store: &TraceStore, id: &str) -> Result<SessionTrace, ApiError> {
    let id = store.resolve(id)?;
    store.get(&id)?.ok_or_else(|| {
        StoreError::NoSuchSession {
            path: store.path().to_path_buf(),
            id,
        }
        .into()
    })
}

/// `GET /api/sessions/{id}` (an id or a prefix): the session as stored, each event with
/// `offset_us` (from the session's start) and `duration_us`, and its totals.
pub(crate) async fn session(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    blocking(&app, move |store| {
        let trace = load(store, &id)?;
        let mut value = serde_json::to_value(&trace)
            .map_err(|error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
        if let Some(events) = value.get_mut("events").and_then(Value::as_array_mut) {
            for (shown, event) in events.iter_mut().zip(trace.events.iter()) {
                let offset = (event.started_at - trace.started_at).num_microseconds().unwrap_or(0);
                if let Some(object) = shown.as_object_mut() {
                    object.insert("offset_us".into(), Value::from(offset));
                    object.insert("duration_us".into(), Value::from(event.duration.as_micros() as u64));
                }
            }
        }
        let totals = trace.totals();
        // A running session lasts, so far, to the end of its last event.
        let duration = totals
            .duration
            .map(|took| took.as_micros() as i64)
            .or_else(|| {
                trace
                    .events
                    .iter()
                    .map(|event| {
                        (event.started_at - trace.started_at).num_microseconds().unwrap_or(0)
                            + event.duration.as_micros() as i64
                    })
                    .max()
            })
            .unwrap_or(0);
        Ok(Json(json!({
            "session": value,
            "totals": {
                "events": totals.events,
                "errors": totals.errors,
                "input_tokens": totals.tokens.input,
                "cached_input_tokens": totals.tokens.cached_input,
                "output_tokens": totals.tokens.output,
                "outcome_reward": totals.outcome_reward,
                "duration_us": duration,
                "graph_nodes": trace.graph.nodes.len(),
            },
        })))
    })
    .await
}

/// `GET /api/sessions/{id}/events/{event}`: one event as stored.
pub(crate) async fn event(
    State(app): State<Arc<App>>,
    Path((id, event)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    blocking(&app, move |store| {
        let trace = load(store, &id)?;
        let found = trace
            .events
            .iter()
            .find(|candidate| candidate.id == event)
            .ok_or_else(|| {
                ApiError::from(CliError::NoSuchEvent {
                    path: store.path().to_path_buf(),
                    session_id: trace.session_id.clone(),
                    event_id: event,
                })
            })?;
        Ok(Json(serde_json::to_value(found).unwrap_or(Value::Null)))
    })
    .await
}

/// `GET /api/sessions/{id}/graph.svg`: the `#[bundle]` graph, laid out.
pub(crate) async fn graph(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    blocking(&app, move |store| {
        let trace = load(store, &id)?;
        Ok(([(header::CONTENT_TYPE, "image/svg+xml")], trace.graph.to_svg()).into_response())
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    a: String,
    b: String,
}

/// `GET /api/diff?a=&b=`: the comparison of two sessions, its differences described.
pub(crate) async fn diff(State(app): State<Arc<App>>, Query(query): Query<DiffQuery>) -> Result<Json<Value>, ApiError> {
    blocking(&app, move |store| {
        let a = load(store, &query.a)?;
        let b = load(store, &query.b)?;
        let report = agent_trace::parity::compare(&a, &b);
        Ok(Json(json!({
            "a": a.session_id,
            "b": b.session_id,
            "same": report.is_valid(),
            "differences": diff_lines(&report, &a, &b),
            "report": report,
        })))
    })
    .await
}

pub(crate) async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such page".to_owned())
}
