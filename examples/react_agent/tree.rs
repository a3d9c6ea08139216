//! Prints a session as an indented tree a person can read in a terminal.

use std::collections::HashMap;
use std::fmt::Write;

use agent_trace::{Event, EventKind, Outcome, SessionTrace};
use serde_json::Value;

/// ANSI styling, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// The session as a tree: one line for the session, one per event under its parent.
pub fn render(trace: &SessionTrace, style: Style) -> String {
    let mut out = String::new();
    let took = trace
        .ended_at
        .map(|end| end - trace.started_at)
        .and_then(|d| d.to_std().ok())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "session {} · {} · {} events · {} messages · {}",
        trace.session_id,
        status(trace, style),
        trace.events.len(),
        trace.messages.len(),
        human_duration(took),
    );
    let mut children: HashMap<Option<u64>, Vec<&Event>> = HashMap::new();
    for event in &trace.events {
        children.entry(event.parent).or_default().push(event);
    }
    let roots = children.get(&None).cloned().unwrap_or_default();
    for (index, event) in roots.iter().enumerate() {
        write_event(&mut out, event, &children, "", index + 1 == roots.len(), style);
    }
    out
}

fn status(trace: &SessionTrace, style: Style) -> String {
    let text = trace.status.to_string();
    match trace.status {
        agent_trace::SessionStatus::Success => style.paint("32", &text),
        agent_trace::SessionStatus::Error => style.paint("31;1", &text),
        _ => style.paint("33", &text),
    }
}

fn write_event(
    out: &mut String,
    event: &Event,
    children: &HashMap<Option<u64>, Vec<&Event>>,
    prefix: &str,
    last: bool,
    style: Style,
) {
    let branch = if last { "└─ " } else { "├─ " };
    let turn = event.turn.map_or_else(String::new, |turn| format!("[turn {turn}] "));
    let kind_code = match event.kind {
        EventKind::Agent => "36",
        EventKind::Environment => "32",
        EventKind::Llm => "35",
        EventKind::Tool => "33",
        EventKind::Runtime => "34",
        _ => "37",
    };
    let outcome = match event.outcome {
        Outcome::Ok => style.paint("32", "ok"),
        Outcome::Err => style.paint("31", "err"),
        Outcome::Panicked => style.paint("31;1", "panicked"),
        Outcome::Cancelled => style.paint("33", "cancelled"),
    };
    let inputs: Vec<String> = event
        .inputs
        .iter()
        .map(|(name, value)| format!("{name}={}", short(value, 40)))
        .collect();
    let llm = [
        ("gen_ai.usage.input_tokens", "in"),
        ("gen_ai.usage.cache_read.input_tokens", "cached"),
        ("gen_ai.usage.output_tokens", "out"),
    ]
    .iter()
    .filter_map(|(key, label)| Some(format!("{label}={}", event.metadata.get(*key)?.as_u64()?)))
    .chain(
        event
            .metadata
            .get("gen_ai.response.time_to_first_chunk")
            .and_then(Value::as_f64)
            .map(|seconds| {
                format!(
                    "first chunk {}",
                    human_duration(std::time::Duration::from_secs_f64(seconds))
                )
            }),
    )
    .collect::<Vec<_>>();
    let llm = if llm.is_empty() {
        String::new()
    } else {
        format!(" {}", style.paint("2", &format!("[{}]", llm.join(" "))))
    };
    let result = match (&event.error, &event.output) {
        (Some(error), _) => style.paint("31", &format!("! {}", short(&Value::String(error.message.clone()), 60))),
        (None, Some(output)) => format!("→ {}", short(output, 60)),
        (None, None) => String::new(),
    };
    let _ = writeln!(
        out,
        "{prefix}{branch}{turn}{} {} {outcome} {}{llm} {} {result}",
        style.paint(kind_code, &event.kind.to_string()),
        style.paint("1", &event.name),
        style.paint("2", &human_duration(event.duration)),
        inputs.join(" "),
    );
    let below = format!("{prefix}{}", if last { "   " } else { "│  " });
    let kids = children.get(&Some(event.id)).cloned().unwrap_or_default();
    for (index, child) in kids.iter().enumerate() {
        write_event(out, child, children, &below, index + 1 == kids.len(), style);
    }
}

/// A value's JSON text, cut to `limit` characters.
fn short(value: &Value, limit: usize) -> String {
    let text = match value {
        Value::String(text) => text.replace('\n', " "),
        other => other.to_string(),
    };
    if text.chars().count() <= limit {
        text
    } else {
        let cut: String = text.chars().take(limit).collect();
        format!("{cut}…")
    }
}

fn human_duration(duration: std::time::Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.1} ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}
