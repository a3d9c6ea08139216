//! The data model round-trips through JSON and reads well when displayed.

use std::time::Duration;

use agent_trace::{ErrorRecord, Event, EventKind, Message, Outcome, SessionStatus, SessionTrace, TimeStep};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn sample_event(kind: EventKind, duration: Duration) -> Event {
    Event {
        id: 7,
        parent: Some(3),
        kind,
        system_id: "agent".into(),
        name: "decide".into(),
        module_path: "my_agent::policy".into(),
        turn: Some(2),
        timestep: Some(1),
        started_at: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789),
        duration,
        inputs: json!({"observation": {"hp": 9, "inventory": ["wood"]}})
            .as_object()
            .unwrap()
            .clone(),
        output: Some(json!(["noop"])),
        error: Some(ErrorRecord {
            kind: "std::io::Error".into(),
            message: "tool timed out".into(),
            chain: vec!["connection reset".into()],
        }),
        outcome: Outcome::Err,
        metadata: json!({"gen_ai.request.model": "scripted"}).as_object().unwrap().clone(),
    }
}

fn sample_trace() -> SessionTrace {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    SessionTrace {
        session_id: "8d3c".into(),
        started_at: at,
        ended_at: Some(at + chrono::Duration::milliseconds(1500)),
        status: SessionStatus::Error,
        timesteps: vec![TimeStep {
            index: 0,
            turn: Some(0),
            name: Some("first".into()),
            started_at: at,
            ended_at: None,
            metadata: json!({"seed": 1}).as_object().unwrap().clone(),
        }],
        events: vec![
            sample_event(EventKind::Agent, Duration::from_micros(1500)),
            sample_event(EventKind::Custom("retriever".into()), Duration::ZERO),
        ]
        .into(),
        messages: vec![Message {
            id: 1,
            source_id: "environment".into(),
            target_id: "agent".into(),
            message_type: "observation".into(),
            content: json!({"text": "a tree"}),
            timestep: Some(0),
            at,
        }],
        rewards: vec![
            agent_trace::Reward::outcome("goal_reached", 1.0),
            agent_trace::Reward {
                name: "step_cost".into(),
                value: -0.25,
                event: Some(7),
                metadata: json!({"by": "judge"}).as_object().unwrap().clone(),
            },
        ],
        scores: vec![agent_trace::Score::label("tone", "polite", agent_trace::ScoreSource::Human).comment("kind")],
        graph: Default::default(),
        user: Some("ada".into()),
        name: Some("gridworld run".into()),
        tags: vec!["prod".into(), "seed-1".into()],
        metadata: json!({"env": "gridworld"}).as_object().unwrap().clone(),
    }
}

#[test]
fn a_session_trace_with_every_field_round_trips_through_json() {
    let trace = sample_trace();
    let text = serde_json::to_string(&trace).unwrap();
    let back: SessionTrace = serde_json::from_str(&text).unwrap();
    assert_eq!(back, trace);
}

#[test]
fn durations_are_integer_nanoseconds() {
    let event = sample_event(EventKind::Tool, Duration::new(2, 5));
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["duration_ns"], json!(2_000_000_005u64));
    assert!(value.get("duration").is_none());
}

#[test]
fn durations_longer_than_u64_nanoseconds_are_kept_whole() {
    let event = sample_event(EventKind::Tool, Duration::MAX);
    let text = serde_json::to_string(&event).unwrap();
    let back: Event = serde_json::from_str(&text).unwrap();
    assert_eq!(back.duration, Duration::MAX);
}

#[test]
fn a_duration_that_does_not_fit_is_a_clear_error() {
    let mut value = serde_json::to_value(sample_event(EventKind::Tool, Duration::ZERO)).unwrap();
    value["duration_ns"] = json!(-1);
    let error = serde_json::from_value::<Event>(value).unwrap_err();
    assert!(error.to_string().contains("invalid value"), "{error}");
}

#[test]
fn kinds_outcomes_and_statuses_are_snake_case_and_custom_kinds_keep_their_name() {
    assert_eq!(
        serde_json::to_value(EventKind::Environment).unwrap(),
        json!("environment")
    );
    assert_eq!(
        serde_json::to_value(EventKind::Custom("retriever".into())).unwrap(),
        json!({"custom": "retriever"})
    );
    let custom: EventKind = serde_json::from_value(json!({"custom": "retriever"})).unwrap();
    assert_eq!(custom, EventKind::Custom("retriever".into()));
    assert_eq!(serde_json::to_value(Outcome::Panicked).unwrap(), json!("panicked"));
    assert_eq!(
        serde_json::to_value(SessionStatus::Cancelled).unwrap(),
        json!("cancelled")
    );
}

#[test]
fn display_is_what_a_person_reads() {
    assert_eq!(EventKind::Llm.to_string(), "llm");
    assert_eq!(EventKind::Custom("retriever".into()).to_string(), "custom:retriever");
    assert_eq!(Outcome::Cancelled.to_string(), "cancelled");
    assert_eq!(SessionStatus::Success.to_string(), "success");
    let record = sample_event(EventKind::Tool, Duration::ZERO).error.unwrap();
    assert_eq!(record.to_string(), "std::io::Error: tool timed out: connection reset");
}

#[derive(Debug)]
struct Outer(std::io::Error);

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tool failed")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn an_error_record_keeps_the_type_message_and_source_chain() {
    let error = Outer(std::io::Error::other("disk full"));
    let record = ErrorRecord::from_error(&error);
    assert!(record.kind.ends_with("Outer"), "{}", record.kind);
    assert_eq!(record.message, "the tool failed");
    assert_eq!(record.chain, vec!["disk full".to_owned()]);
}

#[test]
fn a_panic_payload_becomes_an_error_record() {
    let payload = std::panic::catch_unwind(|| panic!("boom {}", 42)).unwrap_err();
    let record = ErrorRecord::from_panic(payload.as_ref());
    assert_eq!(record, ErrorRecord::new("panic", "boom 42"));
}

struct FailingSerialize;

impl serde::Serialize for FailingSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refuses to serialize"))
    }
}

struct PanickingSerialize;

impl serde::Serialize for PanickingSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("serialize exploded")
    }
}

#[test]
fn values_that_cannot_be_serialized_become_markers() {
    use agent_trace::capture::to_value;
    assert_eq!(
        to_value(&FailingSerialize),
        json!({"$unserializable": "refuses to serialize"})
    );
    let marker = to_value(&PanickingSerialize);
    assert!(
        marker["$unserializable"]
            .as_str()
            .unwrap()
            .contains("serialize exploded"),
        "{marker}"
    );
    assert_eq!(to_value(&f64::NAN), json!(null));
}
