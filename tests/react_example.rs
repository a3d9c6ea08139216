//! The main job's pieces as a user sees them: an episode of the example agent, written to
//! a trace file, printed as a readable tree.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "../examples/react_agent/tree.rs"]
mod tree;
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

    let printed = tree::render(&trace, tree::Style { color: false });
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
    assert!(tree::render(&trace, tree::Style { color: true }).contains("\x1b[31;1mpanicked\x1b[0m"));
}
