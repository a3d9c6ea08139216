//! `ls`: sessions, newest first, in a table or as JSON.

use agent_trace::TraceStore;
use agent_trace::store::SessionSummary;
use comfy_table::Cell;
use serde_json::{Value, json};

use super::print;
use crate::cli::LsArgs;
use crate::error::CliError;
use crate::filter::selection;
use crate::output::{duration, short_id, table};

pub(crate) fn run(store: &TraceStore, args: &LsArgs) -> Result<(), CliError> {
    let limit = (!args.all).then_some(args.limit);
    let selection = selection(&args.filter, limit)?;
    let mut sessions = store.list(&selection.filter)?;
    sessions.retain(|session| selection.keeps(&session.metadata));
    if let Some(limit) = limit {
        sessions.truncate(limit);
    }
    if args.format.json {
        let list: Vec<Value> = sessions.iter().map(summary_json).collect();
        return print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ));
    }
    if args.format.jsonl {
        let lines: String = sessions.iter().map(|s| format!("{}\n", summary_json(s))).collect();
        return print(&lines);
    }
    let mut out = table(&[
        "id",
        "started",
        "status",
        "duration",
        "events",
        "errors",
        "tokens in/out",
        "cost",
        "reward",
        "user",
        "name / tags",
    ]);
    for session in &sessions {
        out.add_row(vec![
            Cell::new(short_id(&session.session_id, args.full_ids)),
            Cell::new(session.started_at.format("%Y-%m-%d %H:%M:%S")),
            Cell::new(session.status),
            Cell::new(session.duration().map_or_else(|| "running".to_owned(), duration)),
            Cell::new(session.event_count),
            Cell::new(session.error_count),
            Cell::new(format!("{}/{}", session.tokens.input, session.tokens.output)),
            Cell::new(session.cost.map_or_else(|| "—".to_owned(), |cost| format!("{cost:.4}"))),
            Cell::new(session.outcome_reward),
            Cell::new(session.user.as_deref().unwrap_or_default()),
            Cell::new(labels(session)),
        ]);
    }
    if sessions.is_empty() {
        return print(&format!("no sessions in {} pass the filters\n", store.path().display()));
    }
    print(&format!("{out}\n"))
}

/// A session's name and tags, and what it replays: `checkout flow #prod #beta (replay of 3f2a1b2c)`.
fn labels(session: &SessionSummary) -> String {
    let tags = session.tags.iter().map(|tag| format!("#{tag}"));
    // A replay says of which session (its first 8 characters), and whether it diverged.
    let replay = session.metadata.get("replay.of").and_then(Value::as_str).map(|of| {
        let short = short_id(of, false);
        let diverged = if session.metadata.contains_key("replay.diverged") {
            ", diverged"
        } else {
            ""
        };
        format!("(replay of {short}{diverged})")
    });
    session
        .name
        .iter()
        .cloned()
        .chain(tags)
        .chain(replay)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A session's line of `--json` / `--jsonl`.
pub(crate) fn summary_json(session: &SessionSummary) -> Value {
    json!({
        "session_id": session.session_id,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "status": session.status.to_string(),
        "duration_ms": session.duration().map(|d| d.as_secs_f64() * 1e3),
        "event_count": session.event_count,
        "error_count": session.error_count,
        "input_tokens": session.tokens.input,
        "output_tokens": session.tokens.output,
        "cached_input_tokens": session.tokens.cached_input,
        "reasoning_tokens": session.tokens.reasoning,
        "tokens_by_model": session.tokens_by_model,
        "cost": session.cost,
        "outcome_reward": session.outcome_reward,
        "user": session.user,
        "name": session.name,
        "tags": session.tags,
        "metadata": Value::Object(session.metadata.clone()),
    })
}
