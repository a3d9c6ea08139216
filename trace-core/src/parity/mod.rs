//! Parity: is a trace recorded by the attribute macros the same as one recorded by hand?
//!
//! [`compare`] pairs the two traces' events and messages and compares them field by field.
//! Ids and timing are compared by shape, not value: a parent is compared by the position
//! of the parent event, and `started_at`, `duration` and message times are not compared
//! (both traces have them by construction), nor the times a stream's first chunk and its
//! kept items came (only whether they were recorded). `module_path` is not compared either: a
//! hand-written twin lives in another module by nature. Everything else — kinds, names,
//! system ids, turns, timesteps, inputs, outputs, errors, outcomes, metadata, messages and
//! the session's status and metadata — must be equal, but for the session metadata a
//! replay notes about itself (keys starting `replay.`).
//!
//! ```
//! use agent_trace::parity::compare;
//! # use agent_trace::{SessionTrace, SessionStatus};
//! # let trace = SessionTrace { session_id: "s".into(), started_at: chrono::Utc::now(),
//! #     ended_at: None, status: SessionStatus::Success, timesteps: vec![], events: Default::default(),
//! #     messages: vec![], rewards: vec![], graph: Default::default(), metadata: Default::default(),
//! #     user: None, name: None, tags: vec![], scores: vec![] };
//! let report = compare(&trace, &trace.clone());
//! assert!(report.is_valid(), "{report}");
//! ```

mod align;
mod report;

use std::collections::HashMap;

use serde_json::Value;

use self::align::{Pairing, align};
pub use self::report::{Aspect, Difference, Location, ValidationReport};
use crate::{Event, Map, Message, SessionTrace};

/// Compares a hand-instrumented trace with a macro-instrumented one, field by field.
pub fn compare(manual: &SessionTrace, decorated: &SessionTrace) -> ValidationReport {
    let mut out = Differences::default();
    compare_session(manual, decorated, &mut out);
    compare_events(&manual.events, &decorated.events, &mut out);
    compare_messages(&manual.messages, &decorated.messages, &mut out);
    compare_rewards(manual, decorated, &mut out);
    ValidationReport::from_differences(out.0)
}

/// Panics with the full [`ValidationReport`] unless the two traces are at parity.
///
/// ```
/// # use agent_trace::{SessionTrace, SessionStatus};
/// # let manual = SessionTrace { session_id: "s".into(), started_at: chrono::Utc::now(),
/// #     ended_at: None, status: SessionStatus::Success, timesteps: vec![], events: Default::default(),
/// #     messages: vec![], rewards: vec![], graph: Default::default(), metadata: Default::default(),
/// #     user: None, name: None, tags: vec![], scores: vec![] };
/// # let decorated = manual.clone();
/// agent_trace::assert_parity!(manual, decorated);
/// ```
#[macro_export]
macro_rules! assert_parity {
    ($manual:expr, $decorated:expr $(,)?) => {{
        let report = $crate::parity::compare(&$manual, &$decorated);
        if !report.is_valid() {
            ::core::panic!("manual and decorated traces are not at parity: {}", report);
        }
    }};
}

#[derive(Default)]
struct Differences(Vec<Difference>);

impl Differences {
    fn push(
        &mut self,
        aspect: Aspect,
        location: Location,
        field: impl Into<String>,
        manual: Option<Value>,
        decorated: Option<Value>,
    ) {
        self.0.push(Difference {
            aspect,
            location,
            field: field.into(),
            manual,
            decorated,
        });
    }

    /// Records a difference when the two values are not equal.
    fn check<T: PartialEq + serde::Serialize>(
        &mut self,
        aspect: Aspect,
        location: Location,
        field: &str,
        manual: &T,
        decorated: &T,
    ) {
        if manual != decorated {
            self.push(aspect, location, field, Some(json(manual)), Some(json(decorated)));
        }
    }

    /// Records one difference per key whose value differs or is absent on one side.
    fn check_map(&mut self, aspect: Aspect, location: Location, prefix: &str, manual: &Map, decorated: &Map) {
        for (key, value) in manual {
            match decorated.get(key) {
                Some(other) if other == value => {}
                other => self.push(
                    aspect,
                    location,
                    format!("{prefix}.{key}"),
                    Some(value.clone()),
                    other.cloned(),
                ),
            }
        }
        for (key, value) in decorated {
            if !manual.contains_key(key) {
                self.push(aspect, location, format!("{prefix}.{key}"), None, Some(value.clone()));
            }
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    crate::capture::to_value(value)
}

/// The start of the session metadata keys a replay sets.
const REPLAY_PREFIX: &str = "replay.";

fn compare_session(manual: &SessionTrace, decorated: &SessionTrace, out: &mut Differences) {
    out.check(
        Aspect::State,
        Location::Session,
        "status",
        &manual.status,
        &decorated.status,
    );
    // What a replay notes about itself (`replay.of`, `replay.diverged`) is not what the
    // session did: a replay is compared with its recording without it.
    let own = |metadata: &Map| -> Map {
        metadata
            .iter()
            .filter(|(key, _)| !key.starts_with(REPLAY_PREFIX))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    };
    out.check_map(
        Aspect::Metadata,
        Location::Session,
        "metadata",
        &own(&manual.metadata),
        &own(&decorated.metadata),
    );
    out.check(
        Aspect::Metadata,
        Location::Session,
        "user",
        &manual.user,
        &decorated.user,
    );
    out.check(
        Aspect::Metadata,
        Location::Session,
        "name",
        &manual.name,
        &decorated.name,
    );
    out.check(
        Aspect::Metadata,
        Location::Session,
        "tags",
        &manual.tags,
        &decorated.tags,
    );
    out.check(
        Aspect::Structure,
        Location::Session,
        "timesteps.len",
        &manual.timesteps.len(),
        &decorated.timesteps.len(),
    );
    for (index, (m, d)) in manual.timesteps.iter().zip(&decorated.timesteps).enumerate() {
        let at = Location::TimeStep { index };
        out.check(Aspect::Structure, at, "turn", &m.turn, &d.turn);
        out.check(Aspect::Structure, at, "name", &m.name, &d.name);
        out.check_map(Aspect::Metadata, at, "metadata", &m.metadata, &d.metadata);
    }
}

/// What pairs two events: who made the call and what it was.
fn event_identity(event: &Event) -> (&crate::EventKind, &str, &str) {
    (&event.kind, &event.system_id, &event.name)
}

fn event_summary(event: &Event) -> Value {
    serde_json::json!({ "kind": event.kind, "system_id": event.system_id, "name": event.name })
}

fn compare_events(manual: &[Event], decorated: &[Event], out: &mut Differences) {
    out.check(
        Aspect::Count,
        Location::Session,
        "events.len",
        &manual.len(),
        &decorated.len(),
    );
    let manual_keys: Vec<_> = manual.iter().map(event_identity).collect();
    let decorated_keys: Vec<_> = decorated.iter().map(event_identity).collect();
    let pairs = align(&manual_keys, &decorated_keys);

    let position =
        |events: &[Event]| -> HashMap<u64, usize> { events.iter().enumerate().map(|(i, e)| (e.id, i)).collect() };
    let (manual_pos, decorated_pos) = (position(manual), position(decorated));
    let manual_to_decorated: HashMap<usize, usize> = pairs
        .iter()
        .filter_map(|p| match *p {
            Pairing::Both(m, d) => Some((m, d)),
            _ => None,
        })
        .collect();

    for pairing in pairs {
        match pairing {
            Pairing::OnlyLeft(m) => out.push(
                Aspect::Count,
                Location::Event {
                    manual: Some(m),
                    decorated: None,
                },
                "event",
                Some(event_summary(&manual[m])),
                None,
            ),
            Pairing::OnlyRight(d) => out.push(
                Aspect::Count,
                Location::Event {
                    manual: None,
                    decorated: Some(d),
                },
                "event",
                None,
                Some(event_summary(&decorated[d])),
            ),
            Pairing::Both(m, d) => {
                let at = Location::Event {
                    manual: Some(m),
                    decorated: Some(d),
                };
                let (me, de) = (&manual[m], &decorated[d]);
                out.check(Aspect::Kind, at, "kind", &me.kind, &de.kind);
                out.check(Aspect::Kind, at, "system_id", &me.system_id, &de.system_id);
                out.check(Aspect::Kind, at, "name", &me.name, &de.name);
                // Parents are compared by position: the manual parent's partner must be the
                // decorated parent.
                let manual_parent = me
                    .parent
                    .map(|id| manual_pos.get(&id).and_then(|p| manual_to_decorated.get(p)).copied());
                let decorated_parent = de.parent.map(|id| decorated_pos.get(&id).copied());
                if manual_parent != decorated_parent {
                    let parent_index = |id: Option<u64>, pos: &HashMap<u64, usize>| id.map(|id| json(&pos.get(&id)));
                    out.push(
                        Aspect::Structure,
                        at,
                        "parent",
                        Some(parent_index(me.parent, &manual_pos).unwrap_or(Value::Null)),
                        Some(parent_index(de.parent, &decorated_pos).unwrap_or(Value::Null)),
                    );
                }
                out.check(Aspect::Structure, at, "turn", &me.turn, &de.turn);
                out.check(Aspect::Structure, at, "timestep", &me.timestep, &de.timestep);
                out.check_map(Aspect::State, at, "inputs", &me.inputs, &de.inputs);
                out.check(Aspect::State, at, "output", &me.output, &de.output);
                out.check(Aspect::State, at, "error", &me.error, &de.error);
                out.check(Aspect::State, at, "outcome", &me.outcome, &de.outcome);
                out.check_map(
                    Aspect::Metadata,
                    at,
                    "metadata",
                    &untimed(&me.metadata),
                    &untimed(&de.metadata),
                );
            }
        }
    }
}

/// An event's metadata with its timing compared by shape, as the event's own times are:
/// the time to a stream's first chunk and the times its kept items came are `true` where
/// they were recorded.
fn untimed(metadata: &Map) -> std::borrow::Cow<'_, Map> {
    use crate::{genai_keys, stream_keys};
    if !metadata.contains_key(genai_keys::TIME_TO_FIRST_CHUNK) && !metadata.contains_key(stream_keys::REPLAY_ITEMS) {
        return std::borrow::Cow::Borrowed(metadata);
    }
    let mut metadata = metadata.clone();
    if let Some(time) = metadata.get_mut(genai_keys::TIME_TO_FIRST_CHUNK) {
        *time = Value::Bool(true);
    }
    if let Some(times) = metadata
        .get_mut(stream_keys::REPLAY_ITEMS)
        .and_then(|kept| kept.get_mut("at_us"))
    {
        // The times, each by whether it was taken.
        let taken: String = times
            .as_str()
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(|at| if at == "-" { '-' } else { 't' })
            .collect();
        *times = Value::String(taken);
    }
    std::borrow::Cow::Owned(metadata)
}

fn message_identity(message: &Message) -> (&str, &str, &str, &Value) {
    (
        &message.source_id,
        &message.target_id,
        &message.message_type,
        &message.content,
    )
}

fn compare_messages(manual: &[Message], decorated: &[Message], out: &mut Differences) {
    out.check(
        Aspect::Messages,
        Location::Session,
        "messages.len",
        &manual.len(),
        &decorated.len(),
    );
    let manual_keys: Vec<_> = manual.iter().map(message_identity).collect();
    let decorated_keys: Vec<_> = decorated.iter().map(message_identity).collect();
    for pairing in align(&manual_keys, &decorated_keys) {
        match pairing {
            Pairing::OnlyLeft(m) => out.push(
                Aspect::Messages,
                Location::Message {
                    manual: Some(m),
                    decorated: None,
                },
                "message",
                Some(json(&manual[m])),
                None,
            ),
            Pairing::OnlyRight(d) => out.push(
                Aspect::Messages,
                Location::Message {
                    manual: None,
                    decorated: Some(d),
                },
                "message",
                None,
                Some(json(&decorated[d])),
            ),
            Pairing::Both(m, d) => {
                let at = Location::Message {
                    manual: Some(m),
                    decorated: Some(d),
                };
                let (mm, dm) = (&manual[m], &decorated[d]);
                out.check(Aspect::Messages, at, "source_id", &mm.source_id, &dm.source_id);
                out.check(Aspect::Messages, at, "target_id", &mm.target_id, &dm.target_id);
                out.check(Aspect::Messages, at, "message_type", &mm.message_type, &dm.message_type);
                out.check(Aspect::Messages, at, "content", &mm.content, &dm.content);
                out.check(Aspect::Messages, at, "timestep", &mm.timestep, &dm.timestep);
            }
        }
    }
}

/// Rewards are state: name, value, metadata, and the event they score by position.
fn compare_rewards(manual: &SessionTrace, decorated: &SessionTrace, out: &mut Differences) {
    let at = Location::Session;
    out.check(
        Aspect::State,
        at,
        "rewards.len",
        &manual.rewards.len(),
        &decorated.rewards.len(),
    );
    let position = |trace: &SessionTrace, id: Option<u64>| id.map(|id| trace.events.iter().position(|e| e.id == id));
    for (index, (m, d)) in manual.rewards.iter().zip(&decorated.rewards).enumerate() {
        out.check(Aspect::State, at, &format!("rewards[{index}].name"), &m.name, &d.name);
        out.check(
            Aspect::State,
            at,
            &format!("rewards[{index}].value"),
            &m.value,
            &d.value,
        );
        out.check(
            Aspect::State,
            at,
            &format!("rewards[{index}].event"),
            &position(manual, m.event),
            &position(decorated, d.event),
        );
        out.check_map(
            Aspect::State,
            at,
            &format!("rewards[{index}].metadata"),
            &m.metadata,
            &d.metadata,
        );
    }
}
