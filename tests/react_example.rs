//! The main job's pieces as a user sees them: an episode of the example agent, written to
//! a trace file, printed as a readable tree (`SessionTrace::display_tree`).

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use agent_trace::{JsonlSink, SessionTracer, TracerContext};

#[tokio::test]
async fn an_episode_is_written_and_printed_as_a_tree() {
    let dir = std::env::temp_dir().join(format!("agent-trace-react-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("traces.jsonl");
    let tracer = SessionTracer::builder().sink(JsonlSink::open(&path).unwrap()).build();
    let session = tracer.start_session();
    let mut config = agent::EpisodeConfig::new(3, 12);
    config.faults = agent::Faults {
        tool_panic_turn: Some(4),
        slow_step: Some(2),
        ..agent::Faults::default()
    };
    config.step_timeout = std::time::Duration::from_millis(30);
    let summary = TracerContext::new(&session)
        .try_scope(agent::run_episode(&config))
        .await
        .unwrap();
    let trace = session.end().unwrap();
    tracer.flush().unwrap();
    assert_eq!(JsonlSink::read(&path).unwrap(), vec![trace.clone()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(summary.terminated && summary.timed_out_steps == 1, "{summary:?}");

    let printed = trace.display_tree().to_string();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "session {} · error · {} events",
            trace.session_id,
            trace.events.len()
        )),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("└─ runtime run_episode ok "), "{}", lines[1]);
    assert!(lines[2].starts_with("   ├─ environment reset ok "), "{}", lines[2]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("   │  ├─ [turn 0] llm complete ok ")),
        "{printed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tool plan_route panicked") && l.contains("! route planner crashed on turn 4")),
        "{printed}"
    );
    assert!(
        lines.iter().any(|l| l.contains("environment step cancelled")),
        "{printed}"
    );
    assert_eq!(lines.len(), 1 + trace.events.len(), "one line per event");
    assert!(!printed.contains('\x1b'), "no colour unless asked");
    assert!(
        trace
            .display_tree()
            .color(true)
            .to_string()
            .contains("\x1b[31;1mpanicked\x1b[0m")
    );
}

/// Trees of sessions the example never makes: orphans, cycles, deep nesting, values that
/// were cut or hold escape sequences.
#[test]
fn the_tree_shows_every_event_whatever_the_shape_of_the_session() {
    use agent_trace::{Event, EventKind, SessionTrace};
    use serde_json::json;

    let empty: SessionTrace = SessionTracer::default().start_session().end().unwrap();
    let trace_of = |events: Vec<Event>| {
        let mut trace = empty.clone();
        trace.events = events.into();
        trace
    };
    let event = |id: u64, parent: Option<u64>| {
        let mut event = Event::builder(EventKind::Tool, "agent", format!("e{id}")).into_event(chrono::Utc::now());
        event.id = id;
        event.parent = parent;
        event
    };
    // A parent that is not in the trace, and two events that are each other's parent.
    let mut events = vec![event(1, None), event(2, Some(99)), event(3, Some(4)), event(4, Some(3))];
    events[0].output = Some(json!({"$truncated": true, "len": 1_048_576, "head": "\"aaaa"}));
    events[0].inputs.insert("note".into(), json!("red\u{1b}[31m\nline"));
    let printed = trace_of(events).display_tree().to_string();
    for name in ["e1", "e2", "e3", "e4"] {
        assert!(printed.contains(&format!(" {name} ")), "{name} missing:\n{printed}");
    }
    assert!(printed.contains("… (cut, 1048576 bytes)"), "{printed}");
    assert!(
        !printed.contains('\x1b'),
        "a captured escape sequence is shown, not sent: {printed}"
    );
    assert_eq!(printed.lines().count(), 5);

    // Nested 20,000 deep: no recursion to run out of stack.
    let deep: Vec<Event> = (1..=20_000).map(|id| event(id, (id > 1).then(|| id - 1))).collect();
    let printed = trace_of(deep).display_tree().to_string();
    assert_eq!(printed.lines().count(), 20_001);
    let last = printed.lines().last().unwrap();
    assert!(last.contains("(depth 19999) ") && last.len() < 200, "{last}");
}
