//! `diff`: two stored sessions compared field by field (`parity::compare`), differences
//! named by event and field; exit status 1 when they differ.

use std::fmt::Write as _;
use std::process::ExitCode;

use agent_trace::parity::{Difference, Location, ValidationReport, compare};
use agent_trace::{SessionTrace, TraceStore};
use serde_json::Value;

use super::{load, print, resolve};
use crate::cli::DiffArgs;
use crate::error::CliError;

pub(crate) fn run(store: &TraceStore, args: &DiffArgs) -> Result<ExitCode, CliError> {
    let a = load(store, &resolve(store, &args.a)?)?;
    let b = load(store, &resolve(store, &args.b)?)?;
    let report = compare(&a, &b);
    let code = if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ))?;
        return Ok(code);
    }
    let mut out = String::new();
    if report.is_valid() {
        let _ = writeln!(
            out,
            "{} and {} are the same ({} events)",
            a.session_id,
            b.session_id,
            a.events.len()
        );
    } else {
        let _ = writeln!(
            out,
            "A {} ({} events) and B {} ({} events) differ in {} place(s):",
            a.session_id,
            a.events.len(),
            b.session_id,
            b.events.len(),
            report.differences.len()
        );
        for d in described(&report, &a, &b) {
            let _ = writeln!(out, "  {} {}: A {} · B {}", d.place, d.field, d.a, d.b);
        }
    }
    print(&out)?;
    Ok(code)
}

/// A difference, described: where, which field, and each side's value shown from just
/// before where they differ.
pub(crate) struct Described {
    pub(crate) place: String,
    pub(crate) field: String,
    pub(crate) a: String,
    pub(crate) b: String,
}

/// Every difference of `report`, described.
pub(crate) fn described(report: &ValidationReport, a: &SessionTrace, b: &SessionTrace) -> Vec<Described> {
    report
        .differences
        .iter()
        .map(|difference| describe(difference, a, b))
        .collect()
}

/// The differences as the viewer's API gives them.
pub(crate) fn diff_lines(report: &ValidationReport, a: &SessionTrace, b: &SessionTrace) -> Vec<Value> {
    described(report, a, b)
        .into_iter()
        .map(|d| serde_json::json!({ "place": d.place, "field": d.field, "a": d.a, "b": d.b }))
        .collect()
}

/// `event #3 (tool scan)`, `inputs.query`, `"x"`, `"y"`.
fn describe(difference: &Difference, a: &SessionTrace, b: &SessionTrace) -> Described {
    let place = match difference.location {
        Location::Session => "session".to_owned(),
        Location::Event { manual, decorated } => {
            let named = |trace: &SessionTrace, index: Option<usize>| {
                index
                    .and_then(|index| trace.events.get(index))
                    .map(|event| format!("{} {}", event.kind, event.name))
            };
            let name = named(a, manual).or_else(|| named(b, decorated)).unwrap_or_default();
            match (manual, decorated) {
                (Some(m), Some(d)) if m == d => format!("event #{m} ({name})"),
                (Some(m), Some(d)) => format!("event A#{m} / B#{d} ({name})"),
                (Some(m), None) => format!("event #{m} ({name}), only in A"),
                (None, Some(d)) => format!("event #{d} ({name}), only in B"),
                (None, None) => "event".to_owned(),
            }
        }
        Location::TimeStep { index } => format!("timestep #{index}"),
        Location::Message { manual, decorated } => match (manual, decorated) {
            (Some(m), Some(d)) if m == d => format!("message #{m}"),
            (Some(m), Some(d)) => format!("message A#{m} / B#{d}"),
            (Some(m), None) => format!("message #{m}, only in A"),
            (None, Some(d)) => format!("message #{d}, only in B"),
            (None, None) => "message".to_owned(),
        },
    };
    let (a, b) = match (&difference.manual, &difference.decorated) {
        (Some(a), Some(b)) => around_first_difference(&a.to_string(), &b.to_string()),
        (a, b) => (side(a.as_ref()), side(b.as_ref())),
    };
    Described {
        place,
        field: difference.field.clone(),
        a,
        b,
    }
}

/// The width of a value shown.
const SHOWN: usize = 80;

fn side(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), |value| window(&value.to_string(), 0))
}

/// Two JSON texts, each shown from a little before the first character where they differ.
fn around_first_difference(a: &str, b: &str) -> (String, String) {
    let first = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let start = first.saturating_sub(SHOWN / 4);
    (window(a, start), window(b, start))
}

/// `SHOWN` characters of `text` from character `start`, with `…` where it was cut.
fn window(text: &str, start: usize) -> String {
    let total = text.chars().count();
    let shown: String = text.chars().skip(start).take(SHOWN).collect();
    let before = if start > 0 { "…" } else { "" };
    let after = if start + SHOWN < total { "…" } else { "" };
    format!("{before}{shown}{after}")
}
