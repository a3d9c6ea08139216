//! `stats`: per function (kind and name) the calls, errors and durations; tokens by model;
//! totals over the sessions a filter selects.

use std::collections::BTreeMap;
use std::time::Duration;

use agent_trace::{SessionTrace, TokenCounts, TraceStore};
use comfy_table::Cell;
use serde_json::{Value, json};

use super::{load, print};
use crate::cli::StatsArgs;
use crate::error::CliError;
use crate::filter::selection;
use crate::output::{duration, table};

/// One function's calls.
#[derive(Default)]
struct Function {
    durations: Vec<Duration>,
    errors: usize,
}

#[derive(Default)]
struct Totals {
    sessions: usize,
    events: usize,
    errors: usize,
    duration: Duration,
    reward: f64,
    input_tokens: u64,
    output_tokens: u64,
}

impl Totals {
    /// A total shared out over the sessions.
    fn mean(&self, total: f64) -> f64 {
        if self.sessions == 0 {
            0.0
        } else {
            total / self.sessions as f64
        }
    }
}

pub(crate) fn run(store: &TraceStore, args: &StatsArgs) -> Result<(), CliError> {
    let selection = selection(&args.filter, args.limit)?;
    let mut summaries = store.list(&selection.filter)?;
    summaries.retain(|summary| selection.keeps(&summary.metadata));
    if let Some(limit) = args.limit {
        summaries.truncate(limit);
    }
    let mut functions: BTreeMap<(String, String), Function> = BTreeMap::new();
    let mut models: BTreeMap<String, TokenCounts> = BTreeMap::new();
    let mut totals = Totals::default();
    for summary in &summaries {
        let trace = load(store, &summary.session_id)?;
        add(&trace, &mut functions, &mut models, &mut totals);
    }
    if args.json {
        return print(&format!("{}\n", json_of(&functions, &models, &totals)));
    }
    let mut by_function = table(&["kind", "name", "calls", "errors", "p50", "p95", "max"]);
    for ((kind, name), function) in &mut functions {
        function.durations.sort_unstable();
        by_function.add_row(vec![
            Cell::new(kind),
            Cell::new(name),
            Cell::new(function.durations.len()),
            Cell::new(function.errors),
            Cell::new(duration(percentile(&function.durations, 50))),
            Cell::new(duration(percentile(&function.durations, 95))),
            Cell::new(duration(function.durations.last().copied().unwrap_or_default())),
        ]);
    }
    let mut by_model = table(&["model", "calls", "input tokens", "cached", "output tokens"]);
    for (model, tokens) in &models {
        by_model.add_row(vec![
            Cell::new(model),
            Cell::new(tokens.calls),
            Cell::new(tokens.input),
            Cell::new(tokens.cached_input),
            Cell::new(tokens.output),
        ]);
    }
    let mut text = format!(
        "{} session(s), {} events, {} errors, {} in all, {}/{} tokens in/out, outcome reward {}\n\
         per session: {:.1} events, {}, {:.0}/{:.0} tokens in/out, outcome reward {:.3}\n\n{by_function}\n",
        totals.sessions,
        totals.events,
        totals.errors,
        duration(totals.duration),
        totals.input_tokens,
        totals.output_tokens,
        totals.reward,
        totals.mean(totals.events as f64),
        duration(Duration::from_secs_f64(totals.mean(totals.duration.as_secs_f64()))),
        totals.mean(totals.input_tokens as f64),
        totals.mean(totals.output_tokens as f64),
        totals.mean(totals.reward),
    );
    if !models.is_empty() {
        text.push_str(&format!("\n{by_model}\n"));
    }
    print(&text)
}

fn add(
    trace: &SessionTrace,
    functions: &mut BTreeMap<(String, String), Function>,
    models: &mut BTreeMap<String, TokenCounts>,
    totals: &mut Totals,
) {
    totals.sessions += 1;
    totals.events += trace.events.len();
    totals.reward += trace.outcome_reward();
    if let Some(took) = trace.ended_at.and_then(|end| (end - trace.started_at).to_std().ok()) {
        totals.duration += took;
    }
    for event in trace.events.iter() {
        let function = functions
            .entry((event.kind.to_string(), event.name.clone()))
            .or_default();
        function.durations.push(event.duration);
        if event.outcome.is_failure() {
            function.errors += 1;
            totals.errors += 1;
        }
        let Some(tokens) = TokenCounts::of_event(&event.kind, &event.metadata) else {
            continue;
        };
        totals.input_tokens += tokens.input;
        totals.output_tokens += tokens.output;
        models
            .entry(TokenCounts::model_of(&event.metadata).to_owned())
            .or_default()
            .add(&tokens);
    }
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn json_of(
    functions: &BTreeMap<(String, String), Function>,
    models: &BTreeMap<String, TokenCounts>,
    totals: &Totals,
) -> Value {
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    let functions: Vec<Value> = functions
        .iter()
        .map(|((kind, name), function)| {
            let mut sorted = function.durations.clone();
            sorted.sort_unstable();
            json!({
                "kind": kind, "name": name, "calls": sorted.len(), "errors": function.errors,
                "p50_ms": millis(percentile(&sorted, 50)), "p95_ms": millis(percentile(&sorted, 95)),
                "max_ms": millis(sorted.last().copied().unwrap_or_default()),
            })
        })
        .collect();
    let models: Vec<Value> = models
        .iter()
        .map(|(model, tokens)| {
            json!({
                "model": model, "calls": tokens.calls, "input_tokens": tokens.input,
                "cached_input_tokens": tokens.cached_input, "output_tokens": tokens.output,
            })
        })
        .collect();
    json!({
        "sessions": totals.sessions, "events": totals.events, "errors": totals.errors,
        "duration_ms": millis(totals.duration), "outcome_reward": totals.reward,
        "input_tokens": totals.input_tokens, "output_tokens": totals.output_tokens,
        "per_session": {
            "events": totals.mean(totals.events as f64),
            "duration_ms": totals.mean(millis(totals.duration)),
            "input_tokens": totals.mean(totals.input_tokens as f64),
            "output_tokens": totals.mean(totals.output_tokens as f64),
            "outcome_reward": totals.mean(totals.reward),
        },
        "functions": functions, "models": models,
    })
}
