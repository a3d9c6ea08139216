//! Parity: the example agent traced by the attribute macros records exactly what the same
//! agent traced by hand records — for several seeds and lengths, with tool errors, a failing
//! environment, a panicking tool and a step cancelled by a timeout — and the comparison
//! catches and names every kind of difference.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "support/react_manual.rs"]
mod manual;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use agent::{EpisodeConfig, Faults};
use agent_trace::parity::{Aspect, Location, compare};
use agent_trace::{JsonlSink, Outcome, SessionStatus, SessionTrace, SessionTracer, TracerContext, assert_parity};
use serde_json::json;

/// Which twin records the episode.
#[derive(Clone, Copy)]
enum Twin {
    Decorated,
    Manual,
}

async fn record(twin: Twin, config: &EpisodeConfig, tracer: &SessionTracer) -> SessionTrace {
    let session = tracer.start_session();
    session.set_metadata("seed", config.seed);
    let scope = TracerContext::new(&session);
    let _ = match twin {
        Twin::Decorated => scope.try_scope(agent::run_episode(config)).await.map(|_| ()),
        Twin::Manual => scope.try_scope(manual::run_episode(config)).await.map(|_| ()),
    };
    session.end().expect("the session ends once")
}

async fn both(config: &EpisodeConfig) -> (SessionTrace, SessionTrace) {
    let tracer = SessionTracer::default();
    (
        record(Twin::Manual, config, &tracer).await,
        record(Twin::Decorated, config, &tracer).await,
    )
}

fn with_faults(seed: u64, turns: u32, faults: Faults) -> EpisodeConfig {
    let mut config = EpisodeConfig::new(seed, turns);
    config.faults = faults;
    config.step_timeout = std::time::Duration::from_millis(30);
    config
}

#[tokio::test]
async fn fault_free_episodes_are_at_parity_for_several_seeds_and_lengths() {
    for seed in [1, 7, 42, 99] {
        for turns in [1, 5, 12] {
            let (manual, decorated) = both(&EpisodeConfig::new(seed, turns)).await;
            let report = compare(&manual, &decorated);
            assert!(report.is_valid(), "seed {seed}, {turns} turns: {report}");
            assert!(
                decorated.events.len() >= 2 + 4 * (turns.min(2) as usize),
                "the episode really ran"
            );
        }
    }
}

#[tokio::test]
async fn a_tool_error_is_recorded_alike() {
    let (manual, decorated) = both(&with_faults(
        3,
        8,
        Faults {
            tool_error_turn: Some(2),
            ..Faults::default()
        },
    ))
    .await;
    assert_parity!(manual, decorated);
    let failed = decorated
        .events
        .iter()
        .find(|e| e.name == "scan" && e.outcome == Outcome::Err)
        .expect("the scan fails");
    assert_eq!(
        failed.error.as_ref().unwrap().message,
        "the scanner is broken on turn 2"
    );
    assert_eq!(decorated.status, SessionStatus::Error);
}

#[tokio::test]
async fn an_environment_failing_mid_episode_is_recorded_alike() {
    let (manual, decorated) = both(&with_faults(
        5,
        10,
        Faults {
            env_error_step: Some(2),
            ..Faults::default()
        },
    ))
    .await;
    assert_parity!(manual, decorated);
    let root = &decorated.events[0];
    assert_eq!((root.name.as_str(), root.outcome), ("run_episode", Outcome::Err));
    assert_eq!(
        root.error.as_ref().unwrap().chain,
        vec!["the simulator crashed on step 2".to_owned()]
    );
    assert_eq!(decorated.events.iter().filter(|e| e.name == "step").count(), 3);
}

#[tokio::test]
async fn a_panicking_tool_is_recorded_alike() {
    let (manual, decorated) = both(&with_faults(
        3,
        8,
        Faults {
            tool_panic_turn: Some(1),
            ..Faults::default()
        },
    ))
    .await;
    assert_parity!(manual, decorated);
    let panicked = decorated
        .events
        .iter()
        .find(|e| e.outcome == Outcome::Panicked)
        .expect("the planner panics");
    assert_eq!(
        panicked.error.as_ref().unwrap().message,
        "route planner crashed on turn 1"
    );
    let message = decorated
        .messages
        .iter()
        .find(|m| m.content["tool"] == json!("plan_route") && m.content["result"]["kind"] == json!("panic"));
    assert!(message.is_some(), "the tool_call message carries the panic");
}

#[tokio::test]
async fn a_step_cancelled_by_a_timeout_is_recorded_alike() {
    let (manual, decorated) = both(&with_faults(
        7,
        8,
        Faults {
            slow_step: Some(1),
            ..Faults::default()
        },
    ))
    .await;
    assert_parity!(manual, decorated);
    let cancelled: Vec<_> = decorated
        .events
        .iter()
        .filter(|e| e.outcome == Outcome::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(
        (cancelled[0].name.as_str(), cancelled[0].output.clone()),
        ("step", None)
    );
    assert_eq!(
        decorated.status,
        SessionStatus::Success,
        "a cancelled step alone is no failure"
    );
}

#[tokio::test]
async fn every_fault_at_once_is_recorded_alike() {
    let faults = Faults {
        tool_error_turn: Some(1),
        tool_panic_turn: Some(3),
        slow_step: Some(4),
        env_error_step: Some(6),
    };
    for seed in [2, 11] {
        let (manual, decorated) = both(&with_faults(seed, 12, faults)).await;
        assert_parity!(manual, decorated);
    }
}

async fn reference_pair() -> (SessionTrace, SessionTrace) {
    both(&with_faults(
        7,
        6,
        Faults {
            tool_error_turn: Some(2),
            ..Faults::default()
        },
    ))
    .await
}

#[tokio::test]
async fn removing_one_manual_event_is_reported_as_that_event_missing() {
    let (mut manual, decorated) = reference_pair().await;
    let removed = manual.events.iter().position(|e| e.name == "scan").unwrap();
    manual.events.remove(removed);
    let report = compare(&manual, &decorated);
    assert!(!report.event_count_match);
    let missing: Vec<_> = report
        .differences_in(Aspect::Count)
        .filter(|d| d.field == "event")
        .collect();
    assert_eq!(missing.len(), 1, "{report}");
    assert_eq!(
        missing[0].location,
        Location::Event {
            manual: None,
            decorated: Some(removed)
        }
    );
    assert_eq!(missing[0].decorated.as_ref().unwrap()["name"], json!("scan"));
}

#[tokio::test]
async fn changing_one_captured_input_is_reported_at_that_event_and_key() {
    let (mut manual, decorated) = reference_pair().await;
    let index = manual.events.iter().position(|e| e.name == "reset").unwrap();
    manual.events[index].inputs.insert("seed".into(), json!(8));
    let report = compare(&manual, &decorated);
    assert!(!report.state_match);
    assert_eq!(report.differences.len(), 1, "{report}");
    let difference = &report.differences[0];
    assert_eq!(
        (difference.location.event_index(), difference.field.as_str()),
        (Some(index), "inputs.seed")
    );
    assert_eq!(
        (difference.manual.clone(), difference.decorated.clone()),
        (Some(json!(8)), Some(json!(7)))
    );
}

#[tokio::test]
async fn swapping_two_events_is_reported_at_both_positions() {
    let (mut manual, decorated) = reference_pair().await;
    let step = manual.events.iter().position(|e| e.name == "step").unwrap();
    manual.events.swap(step, step + 1);
    let report = compare(&manual, &decorated);
    assert!(report.event_count_match && !report.event_kinds_match);
    let positions: Vec<_> = report
        .differences_in(Aspect::Kind)
        .filter(|d| d.field == "name")
        .map(|d| d.location.event_index())
        .collect();
    assert_eq!(positions, vec![Some(step), Some(step + 1)], "{report}");
}

#[tokio::test]
async fn dropping_a_message_is_reported_as_that_message_missing() {
    let (mut manual, decorated) = reference_pair().await;
    let dropped = manual
        .messages
        .iter()
        .position(|m| m.message_type == "observation")
        .unwrap();
    manual.messages.remove(dropped);
    let report = compare(&manual, &decorated);
    assert!(!report.message_match && report.state_match && report.event_count_match);
    let missing = report
        .differences_in(Aspect::Messages)
        .find(|d| d.field == "message")
        .expect("a missing message");
    assert_eq!(
        missing.location,
        Location::Message {
            manual: None,
            decorated: Some(dropped)
        }
    );
}

#[tokio::test]
async fn both_traces_written_to_a_sink_and_read_back_are_still_at_parity() {
    let dir = std::env::temp_dir().join(format!("agent-trace-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("twins.jsonl");
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&path).unwrap()).build();
    let config = with_faults(
        9,
        10,
        Faults {
            tool_panic_turn: Some(2),
            slow_step: Some(3),
            ..Faults::default()
        },
    );
    let manual = record(Twin::Manual, &config, &tracer).await;
    let decorated = record(Twin::Decorated, &config, &tracer).await;
    tracer.flush().unwrap();
    let read = JsonlSink::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        read,
        vec![manual.clone(), decorated.clone()],
        "the sink keeps what end() returned"
    );
    assert_parity!(read[0], read[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_episodes_do_not_leak_into_each_other() {
    let tracer = SessionTracer::default();
    let mut tasks = Vec::new();
    for seed in 0..8u64 {
        let tracer = tracer.clone();
        tasks.push(tokio::spawn(async move {
            let config = with_faults(
                seed,
                10,
                Faults {
                    tool_error_turn: Some((seed % 4) as u32),
                    ..Faults::default()
                },
            );
            let decorated = record(Twin::Decorated, &config, &tracer).await;
            let manual = record(Twin::Manual, &config, &tracer).await;
            (manual, decorated)
        }));
    }
    for task in tasks {
        let (manual, decorated) = task.await.unwrap();
        assert_parity!(manual, decorated);
    }
}
