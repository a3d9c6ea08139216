//! `parity::compare` catches and names every kind of difference between two traces.

use agent_trace::parity::{Aspect, Location, compare};
use agent_trace::{
    ErrorRecord, Event, EventKind, Message, SessionTrace, SessionTracer, TracerContext, assert_parity, enter,
};
use serde_json::json;

/// What to change in one recording of the reference episode.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    None,
    DropToolEvent,
    OtherInput,
    OtherOutput,
    OtherError,
    Cancelled,
    SwapEnvironmentAndTool,
    OtherMetadata,
    DropMessage,
    FlattenParent,
    OtherTurn,
}

/// The reference episode: turn 0 and 1, each with agent(llm) → tool → environment.
fn record(change: Change) -> SessionTrace {
    let tracer = SessionTracer::default();
    let session = tracer.start_session();
    session.set_metadata("env", "gridworld");
    TracerContext::new(&session).sync_scope(|| {
        for turn in 0..2u32 {
            let recorded_turn = if change == Change::OtherTurn && turn == 1 {
                7
            } else {
                turn
            };
            agent_trace::set_turn_number(recorded_turn);
            session.timestep(recorded_turn);

            let mut agent = enter(EventKind::Agent, "agent", "decide");
            agent.record_input("observation", json!({"turn": turn}));
            let llm_parent = if change == Change::FlattenParent && turn == 1 {
                agent.finish_ok("search").unwrap();
                None
            } else {
                Some(agent)
            };
            let mut llm = enter(EventKind::Llm, "agent", "complete");
            let model = if change == Change::OtherMetadata && turn == 1 {
                "gpt-other"
            } else {
                "scripted"
            };
            llm.record_metadata("gen_ai.request.model", model);
            llm.finish_ok("search").unwrap();
            if let Some(agent) = llm_parent {
                agent.finish_ok("search").unwrap();
            }

            let tool = |session: &agent_trace::Session| {
                if change == Change::DropToolEvent && turn == 1 {
                    return;
                }
                let query = if change == Change::OtherInput && turn == 1 {
                    "stone"
                } else {
                    "wood"
                };
                let mut builder = Event::builder(EventKind::Tool, "agent", "search").input("query", query);
                builder = match (change, turn) {
                    (Change::OtherError, 1) => builder.error(ErrorRecord::new("Timeout", "took 31 s")),
                    (Change::Cancelled, 1) => builder.outcome(agent_trace::Outcome::Cancelled),
                    (_, 1) => builder.error(ErrorRecord::new("Timeout", "took 30 s")),
                    (Change::OtherOutput, _) => builder.output(["oak"]),
                    _ => builder.output(["birch"]),
                };
                session.record_event(builder).unwrap();
            };
            let environment = |session: &agent_trace::Session| {
                session
                    .record_event(Event::builder(EventKind::Environment, "environment", "step").output(turn))
                    .unwrap();
            };
            if change == Change::SwapEnvironmentAndTool && turn == 0 {
                environment(&session);
                tool(&session);
            } else {
                tool(&session);
                environment(&session);
            }
            if !(change == Change::DropMessage && turn == 0) {
                session
                    .record_message(Message::new(
                        "environment",
                        "agent",
                        "observation",
                        json!({"turn": turn}),
                    ))
                    .unwrap();
            }
        }
    });
    session.end().unwrap()
}

#[test]
fn two_recordings_of_the_same_episode_are_at_parity() {
    let report = compare(&record(Change::None), &record(Change::None));
    assert!(report.is_valid(), "{report}");
    assert_parity!(record(Change::None), record(Change::None));
}

#[test]
fn a_missing_event_is_reported_as_missing_not_as_every_later_event_differing() {
    let report = compare(&record(Change::DropToolEvent), &record(Change::None));
    assert!(!report.event_count_match);
    assert!(report.event_kinds_match, "{report}");
    // The dropped event was the failing one, so the session's status differs too.
    let state: Vec<_> = report
        .differences_in(Aspect::State)
        .map(|d| (d.location, d.field.as_str()))
        .collect();
    assert_eq!(state, vec![(Location::Session, "status")]);
    let counts: Vec<_> = report.differences_in(Aspect::Count).collect();
    assert_eq!(counts.len(), 2, "{report}");
    assert_eq!(
        (counts[0].manual.clone(), counts[0].decorated.clone()),
        (Some(json!(7)), Some(json!(8)))
    );
    assert_eq!(
        counts[1].location,
        Location::Event {
            manual: None,
            decorated: Some(6)
        }
    );
    assert_eq!(counts[1].decorated.as_ref().unwrap()["name"], json!("search"));
}

#[test]
fn a_changed_input_is_named_by_event_index_and_key() {
    let report = compare(&record(Change::None), &record(Change::OtherInput));
    assert!(!report.state_match && report.event_count_match && report.event_kinds_match);
    assert_eq!(report.differences.len(), 1, "{report}");
    let difference = &report.differences[0];
    assert_eq!(difference.location.event_index(), Some(6));
    assert_eq!(difference.field, "inputs.query");
    assert_eq!(
        (difference.manual.clone(), difference.decorated.clone()),
        (Some(json!("wood")), Some(json!("stone")))
    );
    assert_eq!(
        difference.to_string(),
        "event #6 `inputs.query`: manual \"wood\", decorated \"stone\""
    );
}

#[test]
fn outputs_errors_and_outcomes_are_state() {
    for (change, field, index) in [
        (Change::OtherOutput, "output", 2),
        (Change::OtherError, "error", 6),
        (Change::Cancelled, "outcome", 6),
    ] {
        let report = compare(&record(Change::None), &record(change));
        assert!(!report.state_match);
        let fields: Vec<_> = report
            .differences
            .iter()
            .map(|d| (d.field.as_str(), d.location.event_index()))
            .collect();
        assert!(fields.contains(&(field, Some(index))), "{field}: {report}");
    }
}

#[test]
fn swapped_events_are_a_kind_and_order_difference_at_both_positions() {
    let report = compare(&record(Change::None), &record(Change::SwapEnvironmentAndTool));
    assert!(report.event_count_match);
    assert!(!report.event_kinds_match);
    let positions: Vec<_> = report
        .differences_in(Aspect::Kind)
        .filter(|d| d.field == "kind")
        .map(|d| d.location.event_index())
        .collect();
    assert_eq!(positions, vec![Some(2), Some(3)], "{report}");
}

#[test]
fn changed_metadata_is_named_by_key() {
    let report = compare(&record(Change::None), &record(Change::OtherMetadata));
    assert!(!report.metadata_match && report.state_match);
    assert_eq!(report.differences.len(), 1, "{report}");
    assert_eq!(report.differences[0].field, "metadata.gen_ai.request.model");
    assert_eq!(report.differences[0].location.event_index(), Some(5));
}

#[test]
fn a_dropped_message_is_a_message_difference() {
    let report = compare(&record(Change::DropMessage), &record(Change::None));
    assert!(!report.message_match);
    assert!(report.event_count_match && report.state_match);
    let missing = report
        .differences_in(Aspect::Messages)
        .find(|d| d.field == "message")
        .expect("the missing message");
    assert_eq!(
        missing.location,
        Location::Message {
            manual: None,
            decorated: Some(0)
        }
    );
}

#[test]
fn parents_turns_and_timesteps_are_structure() {
    let report = compare(&record(Change::None), &record(Change::FlattenParent));
    assert!(!report.structure_match);
    let parent = report
        .differences
        .iter()
        .find(|d| d.field == "parent")
        .expect("a parent difference");
    assert_eq!(parent.location.event_index(), Some(5));
    assert_eq!(
        (parent.manual.clone(), parent.decorated.clone()),
        (Some(json!(4)), Some(json!(null)))
    );

    let report = compare(&record(Change::None), &record(Change::OtherTurn));
    assert!(!report.structure_match && report.state_match);
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.field == "turn" && d.location == Location::TimeStep { index: 1 }),
        "{report}"
    );
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.field == "turn" && d.location.event_index() == Some(4)),
        "{report}"
    );
}

#[test]
fn session_status_and_metadata_are_compared() {
    let manual = record(Change::None);
    let mut decorated = manual.clone();
    decorated.status = agent_trace::SessionStatus::Success;
    decorated.metadata.insert("extra".into(), json!(true));
    let report = compare(&manual, &decorated);
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.field == "status" && d.location == Location::Session)
    );
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.field == "metadata.extra" && d.manual.is_none())
    );
}

#[test]
fn ids_and_timing_are_compared_by_shape_only() {
    let manual = record(Change::None);
    let mut decorated = manual.clone();
    for event in &mut decorated.events {
        event.id += 100;
        event.parent = event.parent.map(|p| p + 100);
        event.duration *= 3;
        event.started_at += chrono::Duration::seconds(5);
        event.module_path = "elsewhere".into();
    }
    decorated.session_id = "another".into();
    assert_parity!(manual, decorated);
}

#[test]
fn a_streams_chunk_times_are_compared_by_shape_and_its_items_by_value() {
    let mut manual = record(Change::None);
    manual.events[1]
        .metadata
        .insert("gen_ai.response.time_to_first_chunk".into(), json!(0.25));
    manual.events[1].metadata.insert(
        "stream.replay_items".into(),
        json!({"at_us": "250000 500000", "text_ends": "1 2"}),
    );
    let mut decorated = manual.clone();
    decorated.events[1]
        .metadata
        .insert("gen_ai.response.time_to_first_chunk".into(), json!(0.01));
    decorated.events[1].metadata.insert(
        "stream.replay_items".into(),
        json!({"at_us": "10000 20000", "text_ends": "1 2"}),
    );
    assert_parity!(manual, decorated);

    decorated.events[1].metadata.insert(
        "stream.replay_items".into(),
        json!({"at_us": "10000 20000", "text_ends": "2 2"}),
    );
    let report = compare(&manual, &decorated);
    assert_eq!(report.differences.len(), 1, "{report}");
    assert_eq!(report.differences[0].field, "metadata.stream.replay_items");
}

#[test]
#[should_panic(expected = "not at parity")]
fn assert_parity_panics_with_the_report() {
    assert_parity!(record(Change::None), record(Change::OtherInput));
}
