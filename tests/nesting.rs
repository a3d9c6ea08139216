//! Parents: nested spans across `.await`s, across `agent_trace::spawn` and
//! `in_current_context`, and not across a plain `tokio::spawn`.

use std::time::Duration;

use agent_trace::{ContextExt, EventKind, SessionTrace, SessionTracer, TracerContext, current_session, enter};

fn parent_of<'a>(trace: &'a SessionTrace, name: &str) -> Option<&'a str> {
    let event = trace
        .events
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no event {name}"));
    event
        .parent
        .map(|id| trace.events.iter().find(|e| e.id == id).unwrap().name.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_spans_get_their_parent_across_awaits_and_spawns() {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session)
        .scope(async {
            let outer = enter(EventKind::Agent, "agent", "outer");
            tokio::time::sleep(Duration::from_millis(1)).await;
            let inner = enter(EventKind::Llm, "agent", "inner");
            tokio::time::sleep(Duration::from_millis(1)).await;

            let spawned = agent_trace::spawn(async {
                let child = enter(EventKind::Tool, "agent", "in_spawned_task");
                tokio::time::sleep(Duration::from_millis(1)).await;
                child.finish().unwrap();
            });
            spawned.await.unwrap();

            let carried = tokio::spawn(
                async {
                    enter(EventKind::Tool, "agent", "in_current_context").finish().unwrap();
                }
                .in_current_context(),
            );
            carried.await.unwrap();

            let plain = tokio::spawn(async {
                assert!(
                    current_session().is_none(),
                    "a plain tokio::spawn must not see the context"
                );
                enter(EventKind::Tool, "agent", "in_plain_spawn").finish().unwrap();
            });
            plain.await.unwrap();

            inner.finish().unwrap();
            enter(EventKind::Environment, "environment", "after_inner")
                .finish()
                .unwrap();
            outer.finish().unwrap();
            enter(EventKind::Environment, "environment", "after_outer")
                .finish()
                .unwrap();
        })
        .await;
    let trace = session.end().unwrap();

    let names: Vec<_> = trace.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "outer",
            "inner",
            "in_spawned_task",
            "in_current_context",
            "after_inner",
            "after_outer"
        ]
    );
    assert_eq!(parent_of(&trace, "outer"), None);
    assert_eq!(parent_of(&trace, "inner"), Some("outer"));
    assert_eq!(parent_of(&trace, "in_spawned_task"), Some("inner"));
    assert_eq!(parent_of(&trace, "in_current_context"), Some("inner"));
    assert_eq!(parent_of(&trace, "after_inner"), Some("outer"));
    assert_eq!(parent_of(&trace, "after_outer"), None);
}

#[test]
fn in_current_context_outside_a_scope_runs_the_future_as_it_is() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let value = runtime.block_on(async { 41 }.in_current_context());
    assert_eq!(value, 41);
}

#[tokio::test]
async fn a_span_of_one_session_does_not_become_the_parent_in_another_sessions_scope() {
    let tracer = SessionTracer::default();
    let first = tracer.start_session();
    let second = tracer.start_session();
    TracerContext::new(&first)
        .scope(async {
            let foreign = second.enter(EventKind::Agent, "agent", "in_second");
            enter(EventKind::Tool, "agent", "in_first").finish().unwrap();
            foreign.finish().unwrap();
        })
        .await;
    let first = first.end().unwrap();
    let second = second.end().unwrap();
    assert_eq!(first.events[0].parent, None);
    assert_eq!(second.events[0].parent, None);
}
