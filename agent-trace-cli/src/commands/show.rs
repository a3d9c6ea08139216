//! `show`: a session as a tree, a flat list of events, or one event whole.

use std::fmt::Write as _;

use agent_trace::{Event, SessionTrace, TraceStore};
use comfy_table::Cell;
use serde_json::Value;

use super::{print, session};
use crate::cli::ShowArgs;
use crate::error::CliError;
use crate::output::{duration, table};

pub(crate) fn run(store: &TraceStore, args: &ShowArgs, color: bool) -> Result<(), CliError> {
    let trace = session(store, &args.which)?;
    if let Some(id) = args.event {
        let Some(event) = trace.events.iter().find(|event| event.id == id) else {
            return Err(CliError::NoSuchEvent {
                path: store.path().to_path_buf(),
                session_id: trace.session_id.clone(),
                event_id: id,
            });
        };
        return if args.json {
            print(&format!("{}\n", pretty(event)))
        } else {
            print(&event_whole(event))
        };
    }
    if args.json {
        return print(&format!("{}\n", pretty(&trace)));
    }
    if args.events {
        return print(&events_table(&trace));
    }
    print(&trace.display_tree().color(color).value_width(args.width).to_string())
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|error| format!("{{\"$unserializable\": \"{error}\"}}"))
}

/// One line per event: where it sits, what it was, when it ran.
fn events_table(trace: &SessionTrace) -> String {
    let mut out = table(&[
        "id",
        "parent",
        "turn",
        "kind",
        "name",
        "outcome",
        "start",
        "duration",
        "tokens in/out",
    ]);
    for event in trace.events.iter() {
        let offset = (event.started_at - trace.started_at).to_std().unwrap_or_default();
        let tokens = |key: &str| event.metadata.get(key).and_then(Value::as_u64);
        let usage = match (
            tokens("gen_ai.usage.input_tokens"),
            tokens("gen_ai.usage.output_tokens"),
        ) {
            (None, None) => String::new(),
            (input, output) => format!("{}/{}", input.unwrap_or(0), output.unwrap_or(0)),
        };
        out.add_row(vec![
            Cell::new(event.id),
            Cell::new(event.parent.map_or_else(String::new, |parent| parent.to_string())),
            Cell::new(event.turn.map_or_else(String::new, |turn| turn.to_string())),
            Cell::new(&event.kind),
            Cell::new(&event.name),
            Cell::new(event.outcome),
            Cell::new(format!("+{}", duration(offset))),
            Cell::new(duration(event.duration)),
            Cell::new(usage),
        ]);
    }
    format!("{out}\n")
}

/// An event whole, to read: what it was, its inputs, output, error chain and metadata.
fn event_whole(event: &Event) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "event {} · {} {} · {} · {} · started {}",
        event.id,
        event.kind,
        event.name,
        event.outcome,
        duration(event.duration),
        event.started_at.to_rfc3339(),
    );
    let _ = writeln!(out, "system id: {}", event.system_id);
    if !event.module_path.is_empty() {
        let _ = writeln!(out, "module: {}", event.module_path);
    }
    if let Some(parent) = event.parent {
        let _ = writeln!(out, "parent: event {parent}");
    }
    if let Some(turn) = event.turn {
        let _ = writeln!(out, "turn: {turn}");
    }
    if let Some(step) = event.timestep {
        let _ = writeln!(out, "timestep: {step}");
    }
    let _ = writeln!(out, "inputs:\n{}", indent(&pretty(&event.inputs)));
    if let Some(output) = &event.output {
        let _ = writeln!(out, "output:\n{}", indent(&pretty(output)));
    }
    if let Some(error) = &event.error {
        let _ = writeln!(out, "error: {}: {}", error.kind, error.message);
        for cause in &error.chain {
            let _ = writeln!(out, "  caused by: {cause}");
        }
    }
    if !event.metadata.is_empty() {
        let _ = writeln!(out, "metadata:\n{}", indent(&pretty(&event.metadata)));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
