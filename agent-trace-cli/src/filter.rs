//! The filter flags as a `TraceFilter`, and times and ages as the flags write them.

use std::time::Duration;

use agent_trace::{Map, SessionStatus, TraceFilter};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::cli::{FilterArgs, Status};
use crate::error::CliError;

/// The sessions a command looks at: what the store filters, and the metadata pairs past the
/// first (the store filters on one), checked here.
pub(crate) struct Selection {
    pub(crate) filter: TraceFilter,
    pub(crate) more_metadata: Vec<(String, Value)>,
}

impl Selection {
    /// Whether a session's metadata has every further pair.
    pub(crate) fn keeps(&self, metadata: &Map) -> bool {
        self.more_metadata
            .iter()
            .all(|(key, value)| metadata.get(key) == Some(value))
    }
}

pub(crate) fn selection(args: &FilterArgs, limit: Option<usize>) -> Result<Selection, CliError> {
    let mut pairs = args
        .meta
        .iter()
        .map(|pair| metadata_pair(pair))
        .collect::<Result<Vec<_>, _>>()?;
    let first = (!pairs.is_empty()).then(|| pairs.remove(0));
    let filter = TraceFilter {
        status: args.status.map(|status| match status {
            Status::Running => SessionStatus::Running,
            Status::Success => SessionStatus::Success,
            Status::Error => SessionStatus::Error,
            Status::Cancelled => SessionStatus::Cancelled,
        }),
        started_after: args.since.as_deref().map(|text| time("--since", text)).transpose()?,
        started_before: args.until.as_deref().map(|text| time("--until", text)).transpose()?,
        system_id: args.system_id.clone(),
        user: args.user.clone(),
        tag: args.tag.clone(),
        name: args.name.clone(),
        has_errors: match (args.has_errors, args.no_errors) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        min_duration: args
            .min_duration
            .as_deref()
            .map(|text| duration("--min-duration", text))
            .transpose()?,
        max_duration: args
            .max_duration
            .as_deref()
            .map(|text| duration("--max-duration", text))
            .transpose()?,
        metadata: first,
        min_reward: args.min_reward,
        // With further pairs to check here, the limit is applied after them.
        limit: if pairs.is_empty() { limit } else { None },
        offset: None,
        order: args.order.into(),
        min_score: args.min_score.as_deref().map(score_bound).transpose()?,
    };
    Ok(Selection {
        filter,
        more_metadata: pairs,
    })
}

/// `key=value`: the value as JSON when it is JSON (`3`, `true`, `["a"]`), else as text.
fn metadata_pair(pair: &str) -> Result<(String, Value), CliError> {
    let Some((key, value)) = pair.split_once('=') else {
        return Err(CliError::BadArgument {
            flag: "--meta",
            value: pair.to_owned(),
            reason: "write it as KEY=VALUE".to_owned(),
        });
    };
    if key.is_empty() {
        return Err(CliError::BadArgument {
            flag: "--meta",
            value: pair.to_owned(),
            reason: "the key is empty".to_owned(),
        });
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
    Ok((key.to_owned(), value))
}

/// An age (`2h`: that long before now) or a time (RFC 3339, or a date, at midnight UTC).
pub(crate) fn time(flag: &'static str, text: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(age) = humantime::parse_duration(text) {
        return chrono::TimeDelta::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .ok_or_else(|| CliError::BadArgument {
                flag,
                value: text.to_owned(),
                reason: "that is longer ago than a time can be".to_owned(),
            });
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
    {
        return Ok(midnight.and_utc());
    }
    Err(CliError::BadArgument {
        flag,
        value: text.to_owned(),
        reason: "give an age (2h, 30m, 7d) or a time (2026-12-01, 2026-12-01T10:00:00Z)".to_owned(),
    })
}

/// A duration as the flags write it (`30d`, `500ms`).
pub(crate) fn duration(flag: &'static str, text: &str) -> Result<Duration, CliError> {
    humantime::parse_duration(text).map_err(|error| CliError::BadArgument {
        flag,
        value: text.to_owned(),
        reason: format!("{error} (write it as 30d, 12h, 500ms)"),
    })
}

/// `name=value`, for `--min-score`.
fn score_bound(text: &str) -> Result<(String, f64), CliError> {
    let bad = |reason: &str| CliError::BadArgument {
        flag: "--min-score",
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, value) = text.split_once('=').ok_or_else(|| bad("write it as NAME=VALUE"))?;
    let value: f64 = value.trim().parse().map_err(|_| bad("the value is not a number"))?;
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    Ok((name.to_owned(), value))
}
