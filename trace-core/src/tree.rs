//! A session as an indented tree a person reads in a terminal ([`SessionTrace::display_tree`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt::{self, Write};
use std::time::Duration;

use serde_json::Value;

use crate::{Event, EventKind, Outcome, SessionStatus, SessionTrace, genai_keys};

/// A session as a tree: a line for the session, then one per event under its parent, with
/// its turn, kind, name, outcome, duration, token counts, inputs and output (or error).
/// From [`SessionTrace::display_tree`]; print it with `{}`.
///
/// Values are cut to [`value_width`](Self::value_width) characters, on one line, control
/// characters escaped; a value the capture policy truncated shows its head and its full
/// length (`head… (cut, 1048576 bytes)`), a redacted one `[REDACTED]` as captured.
/// Events whose parent is not in the trace are shown at the top, so that none is hidden.
/// Colours (ANSI) only when asked for: pass
/// `std::io::stdout().is_terminal()` to [`color`](Self::color).
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, trace_agent, trace_tool_call};
///
/// #[trace_tool_call]
/// fn search(query: &str) -> usize { query.len() }
///
/// #[trace_agent]
/// fn answer(question: &str) -> String { format!("{} hits", search(question)) }
///
/// let session = SessionTracer::default().start_session();
/// TracerContext::new(&session).sync_scope(|| answer("rust"));
/// let trace = session.end()?;
/// let tree = trace.display_tree().to_string();
/// let lines: Vec<&str> = tree.lines().collect();
/// assert!(lines[0].starts_with("session "));
/// assert!(lines[1].starts_with("└─ agent answer ok"), "{}", lines[1]);
/// assert!(lines[2].starts_with("   └─ tool search ok"), "{}", lines[2]);
/// assert!(lines[2].ends_with("query=rust → 4"), "{}", lines[2]);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use = "a tree display does nothing until it is formatted"]
pub struct TreeDisplay<'a> {
    trace: &'a SessionTrace,
    color: bool,
    value_width: usize,
}

impl SessionTrace {
    /// The session as an indented tree of its events ([`TreeDisplay`]).
    pub fn display_tree(&self) -> TreeDisplay<'_> {
        TreeDisplay {
            trace: self,
            color: false,
            value_width: 40,
        }
    }
}

impl TreeDisplay<'_> {
    /// Whether to colour with ANSI codes (default: no).
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    /// How many characters of an input or output to show (default 40; an output or error
    /// gets half again as many).
    pub fn value_width(mut self, characters: usize) -> Self {
        self.value_width = characters.max(1);
        self
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn header(&self, out: &mut impl Write) -> fmt::Result {
        let trace = self.trace;
        let took = trace
            .ended_at
            .and_then(|end| (end - trace.started_at).to_std().ok())
            .unwrap_or_default();
        let status = trace.status.to_string();
        let status = match trace.status {
            SessionStatus::Success => self.paint("32", &status),
            SessionStatus::Error => self.paint("31;1", &status),
            _ => self.paint("33", &status),
        };
        write!(
            out,
            "session {} · {status} · {} events · {} messages · {}",
            trace.session_id,
            trace.events.len(),
            trace.messages.len(),
            human_duration(took),
        )?;
        if trace.rewards.iter().any(|reward| reward.event.is_none()) {
            write!(out, " · reward {}", trace.outcome_reward())?;
        }
        if let Some(name) = &trace.name {
            write!(out, " · {}", one_line(name))?;
        }
        if let Some(user) = &trace.user {
            write!(out, " · user {}", one_line(user))?;
        }
        for tag in &trace.tags {
            write!(out, " #{}", one_line(tag))?;
        }
        for score in trace.scores.iter().filter(|score| score.event.is_none()) {
            write!(out, " · {}", self.paint("36", &score_text(score)))?;
        }
        // A replay's own notes (`TracerContext::replaying`).
        if let Some(of) = trace.metadata.get("replay.of").and_then(serde_json::Value::as_str) {
            write!(out, " · replay of {}", one_line(of))?;
        }
        if trace.metadata.contains_key("replay.diverged") {
            write!(out, " · {}", self.paint("31;1", "diverged"))?;
        }
        writeln!(out)
    }

    fn event_line(&self, out: &mut impl Write, event: &Event, prefix: &str, last: bool) -> fmt::Result {
        let branch = if last { "└─ " } else { "├─ " };
        let turn = event.turn.map_or_else(String::new, |turn| format!("[turn {turn}] "));
        let kind_code = match event.kind {
            EventKind::Agent => "36",
            EventKind::Environment => "32",
            EventKind::Llm => "35",
            EventKind::Tool => "33",
            EventKind::Runtime => "34",
            EventKind::Bundle | EventKind::Custom(_) => "37",
        };
        let outcome = match event.outcome {
            Outcome::Ok => self.paint("32", "ok"),
            Outcome::Err => self.paint("31", "err"),
            Outcome::Panicked => self.paint("31;1", "panicked"),
            Outcome::Cancelled => self.paint("33", "cancelled"),
        };
        write!(
            out,
            "{prefix}{branch}{turn}{} {} {outcome} {}",
            self.paint(kind_code, &event.kind.to_string()),
            self.paint("1", &event.name),
            self.paint("2", &human_duration(event.duration)),
        )?;
        let usage = usage(event);
        if !usage.is_empty() {
            write!(out, " {}", self.paint("2", &format!("[{}]", usage.join(" "))))?;
        }
        for (name, value) in &event.inputs {
            write!(out, " {name}={}", short(value, self.value_width))?;
        }
        let wide = self.value_width + self.value_width / 2;
        match (&event.error, &event.output) {
            (Some(error), _) => write!(
                out,
                " {}",
                self.paint(
                    "31",
                    &format!("! {}", short(&Value::String(error.message.clone()), wide))
                )
            )?,
            (None, Some(output)) => write!(out, " → {}", short(output, wide))?,
            (None, None) => {}
        }
        for reward in self
            .trace
            .rewards
            .iter()
            .filter(|reward| reward.event == Some(event.id))
        {
            write!(
                out,
                " {}",
                self.paint("36", &format!("★ {}={}", reward.name, reward.value))
            )?;
        }
        for score in self.trace.scores.iter().filter(|score| score.event == Some(event.id)) {
            write!(out, " {}", self.paint("36", &score_text(score)))?;
        }
        writeln!(out)
    }
}

impl fmt::Display for TreeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header(f)?;
        let events = &self.trace.events;
        let known: BTreeSet<u64> = events.iter().map(|event| event.id).collect();
        let mut children: HashMap<Option<u64>, Vec<&Event>> = HashMap::new();
        for event in events.iter() {
            // An event whose parent is not in the trace is shown at the top.
            let parent = event
                .parent
                .filter(|parent| known.contains(parent) && *parent != event.id);
            children.entry(parent).or_default().push(event);
        }
        // Depth first, without recursion: a deeply nested session cannot exhaust the stack.
        let mut stack: Vec<Line<'_>> = Vec::new();
        push_children(&mut stack, &children, None, "", 0);
        let mut shown = BTreeSet::new();
        while let Some(Line {
            event,
            prefix,
            last,
            depth,
        }) = stack.pop()
        {
            if !shown.insert(event.id) {
                continue;
            }
            if depth > MAX_INDENT {
                // Deeper than a screen is wide: the depth in words, not in columns.
                self.event_line(f, event, &format!("{prefix}(depth {depth}) "), last)?;
            } else {
                self.event_line(f, event, &prefix, last)?;
            }
            let below = if depth >= MAX_INDENT {
                prefix
            } else {
                format!("{prefix}{}", if last { "   " } else { "│  " })
            };
            push_children(&mut stack, &children, Some(event.id), &below, depth + 1);
        }
        // A cycle of parents leaves its events unreached from the top: show them anyway.
        for event in events.iter().filter(|event| !shown.contains(&event.id)) {
            self.event_line(f, event, "", true)?;
        }
        Ok(())
    }
}

/// How deep the tree is drawn with indentation; deeper events say their depth instead.
const MAX_INDENT: usize = 32;

/// An event to draw: its prefix, whether it is its parent's last child, its depth.
struct Line<'a> {
    event: &'a Event,
    prefix: String,
    last: bool,
    depth: usize,
}

/// `◆ accuracy=0.9 (human)`.
fn score_text(score: &crate::Score) -> String {
    let value = match &score.value {
        crate::ScoreValue::Number(value) => value.to_string(),
        crate::ScoreValue::Label(label) => one_line(label),
    };
    format!("◆ {}={value} ({})", one_line(&score.name), score.source.as_str())
}

/// Puts the children of `parent` on the stack, the first on top.
fn push_children<'a>(
    stack: &mut Vec<Line<'a>>,
    children: &HashMap<Option<u64>, Vec<&'a Event>>,
    parent: Option<u64>,
    prefix: &str,
    depth: usize,
) {
    let kids = children.get(&parent).map_or(&[][..], Vec::as_slice);
    for (index, child) in kids.iter().enumerate().rev() {
        stack.push(Line {
            event: child,
            prefix: prefix.to_owned(),
            last: index + 1 == kids.len(),
            depth,
        });
    }
}

/// The token counts and time to first chunk of an LLM event.
fn usage(event: &Event) -> Vec<String> {
    let count = |key: &str| event.metadata.get(key).and_then(Value::as_u64);
    let mut parts: Vec<String> = [
        (genai_keys::INPUT_TOKENS, "in"),
        (genai_keys::CACHE_READ_INPUT_TOKENS, "cached"),
        (genai_keys::OUTPUT_TOKENS, "out"),
        (genai_keys::REASONING_OUTPUT_TOKENS, "reasoning"),
    ]
    .iter()
    .filter_map(|(key, label)| Some(format!("{label}={}", count(key)?)))
    .collect();
    if let Some(seconds) = event
        .metadata
        .get(genai_keys::TIME_TO_FIRST_CHUNK)
        .and_then(Value::as_f64)
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
    {
        parts.push(format!(
            "first chunk {}",
            human_duration(Duration::from_secs_f64(seconds))
        ));
    }
    parts
}

/// A value as one short line: text as it is, the rest as JSON, cut to `limit` characters;
/// a truncation marker as its head and the whole value's length.
fn short(value: &Value, limit: usize) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Object(object) if object.get("$truncated") == Some(&Value::Bool(true)) => {
            let head = object.get("head").and_then(Value::as_str).unwrap_or_default();
            let len = object.get("len").and_then(Value::as_u64).unwrap_or_default();
            return format!("{}… (cut, {len} bytes)", cut(&one_line(head), limit));
        }
        other => other.to_string(),
    };
    let text = one_line(&text);
    if text.chars().count() <= limit {
        text
    } else {
        format!("{}…", cut(&text, limit))
    }
}

/// The text on one line, with no control character a terminal would act on (a captured
/// value could hold escape sequences).
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => line.push(' '),
            c if c.is_control() => line.extend(c.escape_default()),
            c => line.push(c),
        }
    }
    line
}

fn cut(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

/// `12 µs`, `4.2 ms`, `1.25 s`.
fn human_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.1} ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}
