//! Sessions: isolation under concurrency, turns and timesteps, status, and the errors of
//! misuse.

use agent_trace::{
    Event, EventKind, MemorySink, Message, Outcome, SessionStatus, SessionTracer, TraceError, TracerContext,
    current_session, enter, set_turn_number,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_sessions_each_keep_exactly_their_own_events_in_order() {
    let sink = MemorySink::new();
    let tracer = SessionTracer::builder().sink(sink.clone()).build();
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let tracer = tracer.clone();
        tasks.push(tokio::spawn(async move {
            let session = tracer.start_session();
            session.set_metadata("n", n);
            TracerContext::new(&session)
                .scope(async {
                    for i in 0..50u32 {
                        let mut span = agent_trace::enter(EventKind::Tool, "agent", "step");
                        span.record_input("session", n);
                        span.record_input("i", i);
                        tokio::task::yield_now().await;
                        span.finish_ok(i).unwrap();
                    }
                })
                .await;
            session.end().unwrap()
        }));
    }
    for task in tasks {
        let trace = task.await.unwrap();
        let n = &trace.metadata["n"];
        assert_eq!(trace.events.len(), 50);
        for (i, event) in trace.events.iter().enumerate() {
            assert_eq!(&event.inputs["session"], n, "an event of another session leaked in");
            assert_eq!(event.inputs["i"], json!(i));
            assert_eq!(event.parent, None);
        }
        assert!(trace.events.windows(2).all(|pair| pair[0].id < pair[1].id));
    }
    tracer.flush().unwrap();
    assert_eq!(sink.sessions().len(), 200);
    let stats = tracer.stats();
    assert_eq!(
        (stats.sessions_started, stats.sessions_ended, stats.events_recorded),
        (200, 200, 10_000)
    );
}

#[test]
fn outside_any_scope_there_is_no_session_and_recording_through_the_context_does_nothing() {
    let tracer = SessionTracer::default();
    let session = tracer.start_session();
    assert!(current_session().is_none());
    set_turn_number(4);
    let span = enter(EventKind::Agent, "agent", "decide");
    assert!(!span.is_recording());
    assert_eq!(span.id(), None);
    span.finish_ok("ignored").unwrap();
    assert_eq!(session.turn(), None);
    let trace = session.end().unwrap();
    assert!(trace.events.is_empty());
    assert_eq!(tracer.stats().events_recorded, 0);
}

#[test]
fn events_carry_the_turn_and_the_open_timestep_and_timesteps_close_in_order() {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session).sync_scope(|| {
        enter(EventKind::Runtime, "runtime", "reset").finish().unwrap();
        for turn in 0..3 {
            set_turn_number(turn);
            assert_eq!(session.timestep_named(turn, format!("turn {turn}")), turn);
            enter(EventKind::Agent, "agent", "decide").finish().unwrap();
            session
                .record_message(Message::new("agent", "environment", "action", json!({"turn": turn})))
                .unwrap();
        }
        session.end_timestep();
        enter(EventKind::Runtime, "runtime", "close").finish().unwrap();
    });
    let trace = session.end().unwrap();
    let placed: Vec<_> = trace.events.iter().map(|e| (e.turn, e.timestep)).collect();
    assert_eq!(
        placed,
        vec![
            (None, None),
            (Some(0), Some(0)),
            (Some(1), Some(1)),
            (Some(2), Some(2)),
            (Some(2), None)
        ]
    );
    assert_eq!(trace.timesteps.len(), 3);
    for (index, step) in trace.timesteps.iter().enumerate() {
        assert_eq!(step.index as usize, index);
        assert_eq!(step.name.as_deref(), Some(format!("turn {index}").as_str()));
        assert!(step.ended_at.is_some_and(|end| end >= step.started_at));
    }
    let message_steps: Vec<_> = trace.messages.iter().map(|m| (m.id, m.timestep)).collect();
    assert_eq!(message_steps, vec![(1, Some(0)), (2, Some(1)), (3, Some(2))]);
}

#[test]
fn end_closes_the_open_timestep() {
    let session = SessionTracer::default().start_session();
    session.timestep(0);
    let trace = session.end().unwrap();
    assert!(trace.timesteps[0].ended_at.is_some());
    assert_eq!(trace.ended_at, trace.timesteps[0].ended_at);
}

#[test]
fn ending_twice_recording_after_end_and_ending_through_another_tracer_are_errors() {
    let tracer = SessionTracer::default();
    let other = SessionTracer::default();
    let session = tracer.start_session();
    let id = session.id().to_owned();

    match other.end_session(&session) {
        Err(TraceError::ForeignSession { session_id }) => assert_eq!(session_id, id),
        result => panic!("expected ForeignSession, got {result:?}"),
    }
    assert!(!session.is_ended(), "a refused end must not end the session");

    let span = session.enter(EventKind::Tool, "agent", "late");
    tracer.end_session(&session).unwrap();

    let error = session.end().unwrap_err();
    assert!(matches!(&error, TraceError::SessionEnded { session_id } if *session_id == id));
    assert_eq!(error.to_string(), format!("session {id} has already ended"));
    assert!(matches!(
        session.record_event(Event::builder(EventKind::Tool, "a", "b")),
        Err(TraceError::SessionEnded { .. })
    ));
    assert!(matches!(
        session.record_message(Message::new("a", "b", "c", json!(1))),
        Err(TraceError::SessionEnded { .. })
    ));
    assert!(matches!(span.finish_ok(1), Err(TraceError::SessionEnded { .. })));
    session.set_metadata("late", true);
    assert_eq!(tracer.stats().rejected_after_end, 5);
}

#[test]
fn a_session_dropped_without_end_is_still_written_as_cancelled() {
    let sink = MemorySink::new();
    let tracer = SessionTracer::builder().sink(sink.clone()).build();
    {
        let session = tracer.start_session();
        TracerContext::new(&session).sync_scope(|| enter(EventKind::Agent, "agent", "decide").finish().unwrap());
    }
    tracer.flush().unwrap();
    let sessions = sink.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, SessionStatus::Cancelled);
    assert_eq!(sessions[0].events.len(), 1);
}

#[test]
fn a_failed_event_makes_the_session_an_error() {
    let session = SessionTracer::default().start_session();
    session
        .record_event(
            Event::builder(EventKind::Tool, "agent", "search").error(agent_trace::ErrorRecord::new("Timeout", "slow")),
        )
        .unwrap();
    let trace = session.end().unwrap();
    assert_eq!(trace.events[0].outcome, Outcome::Err);
    assert_eq!(trace.status, SessionStatus::Error);
}

#[tokio::test]
async fn the_scope_result_decides_the_status() {
    let tracer = SessionTracer::default();

    let ok = tracer.start_session();
    let value = TracerContext::new(&ok).try_scope(async { Ok::<_, String>(5) }).await;
    assert_eq!(value, Ok(5));
    assert_eq!(ok.end().unwrap().status, SessionStatus::Success);

    let failed = tracer.start_session();
    let value = TracerContext::new(&failed)
        .try_scope(async { Err::<u8, _>("no") })
        .await;
    assert_eq!(value, Err("no"));
    assert_eq!(failed.end().unwrap().status, SessionStatus::Error);

    let plain = tracer.start_session();
    let value = TracerContext::new(&plain)
        .scope(async { Err::<u8, _>("not judged") })
        .await;
    assert!(value.is_err());
    assert_eq!(
        plain.end().unwrap().status,
        SessionStatus::Success,
        "scope() does not judge the result"
    );

    let sync_failed = tracer.start_session();
    let value = TracerContext::new(&sync_failed).try_sync_scope(|| Err::<(), _>(1));
    assert_eq!(value, Err(1));
    assert_eq!(sync_failed.end().unwrap().status, SessionStatus::Error);
}

#[tokio::test]
async fn a_scope_dropped_before_it_completes_makes_the_session_cancelled() {
    let session = SessionTracer::default().start_session();
    let timed_out = tokio::time::timeout(
        std::time::Duration::from_millis(10),
        TracerContext::new(&session).scope(std::future::pending::<()>()),
    )
    .await;
    assert!(timed_out.is_err());
    assert_eq!(session.end().unwrap().status, SessionStatus::Cancelled);
}

#[test]
fn a_panicking_scope_makes_the_session_an_error() {
    let session = SessionTracer::default().start_session();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        TracerContext::new(&session).sync_scope(|| panic!("agent crashed"));
    }));
    assert!(result.is_err());
    assert_eq!(session.end().unwrap().status, SessionStatus::Error);
}

#[test]
fn a_manual_event_gets_id_turn_timestep_and_parent_from_the_session() {
    let session = SessionTracer::default().start_session();
    let (outer_id, event_id) = TracerContext::new(&session).sync_scope(|| {
        set_turn_number(3);
        session.timestep(3);
        let outer = session.enter(EventKind::Agent, "agent", "decide");
        let outer_id = outer.id().unwrap();
        let event_id = session
            .record_event(
                Event::builder(EventKind::Llm, "agent", "complete")
                    .input("prompt", "hi")
                    .output("hello")
                    .metadata("gen_ai.usage.output_tokens", 1)
                    .duration(std::time::Duration::from_millis(5)),
            )
            .unwrap();
        outer.finish().unwrap();
        (outer_id, event_id)
    });
    let trace = session.end().unwrap();
    let event = trace.events.iter().find(|e| e.id == event_id).unwrap();
    assert_eq!(event.parent, Some(outer_id));
    assert_eq!((event.turn, event.timestep), (Some(3), Some(0)));
    assert_eq!(event.duration, std::time::Duration::from_millis(5));
    assert_eq!(event.output, Some(json!("hello")));
    assert!(event.id > outer_id);
}
