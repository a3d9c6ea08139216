//! How a hand-opened span ends is the event's outcome.

use std::time::Duration;

use agent_trace::{ErrorRecord, EventKind, Outcome, SessionStatus, SessionTracer, TracerContext, enter};
use serde_json::json;

#[test]
fn a_span_dropped_during_a_panic_records_panicked() {
    let session = SessionTracer::default().start_session();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        TracerContext::new(&session).sync_scope(|| {
            let _span = enter(EventKind::Tool, "agent", "explode");
            panic!("tool exploded");
        })
    }));
    assert!(result.is_err());
    let trace = session.end().unwrap();
    let event = &trace.events[0];
    assert_eq!(event.outcome, Outcome::Panicked);
    assert_eq!(event.error.as_ref().unwrap().kind, "panic");
    assert_eq!(trace.status, SessionStatus::Error);
}

#[test]
fn finish_panic_keeps_the_panic_message() {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session).sync_scope(|| {
        let span = enter(EventKind::Tool, "agent", "explode");
        let payload = std::panic::catch_unwind(|| panic!("index {} out of range", 9)).unwrap_err();
        span.finish_panic(payload.as_ref()).unwrap();
    });
    let trace = session.end().unwrap();
    assert_eq!(
        trace.events[0].error,
        Some(ErrorRecord::new("panic", "index 9 out of range"))
    );
}

#[tokio::test]
async fn a_span_dropped_unfinished_by_a_timeout_records_cancelled() {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session)
        .scope(async {
            let slow_tool = async {
                let span = enter(EventKind::Tool, "agent", "slow_tool");
                tokio::time::sleep(Duration::from_secs(60)).await;
                span.finish().unwrap();
            };
            assert!(
                tokio::time::timeout(Duration::from_millis(20), slow_tool)
                    .await
                    .is_err()
            );
            enter(EventKind::Agent, "agent", "after_timeout").finish().unwrap();
        })
        .await;
    let trace = session.end().unwrap();
    assert_eq!(trace.events[0].outcome, Outcome::Cancelled);
    assert!(trace.events[0].duration >= Duration::from_millis(20));
    assert_eq!(trace.events[0].error, None);
    assert_eq!(
        trace.events[1].parent, None,
        "the cancelled span must stop being the parent"
    );
    assert_eq!(
        trace.status,
        SessionStatus::Success,
        "a cancelled call alone is not a failure"
    );
}

#[test]
fn finish_ok_finish_err_and_finish_record_output_error_and_outcome() {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session).sync_scope(|| {
        let mut ok = enter(EventKind::Tool, "agent", "ok");
        ok.record_input("query", json!({"q": "wood"}));
        ok.record_metadata("attempt", 1);
        ok.set_module_path(module_path!());
        ok.finish_ok(vec![1, 2]).unwrap();

        let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "tool timed out");
        enter(EventKind::Tool, "agent", "err").finish_err(&error).unwrap();

        enter(EventKind::Environment, "environment", "unit").finish().unwrap();
    });
    let trace = session.end().unwrap();
    let [ok, err, unit] = &trace.events[..] else {
        panic!("expected three events")
    };

    assert_eq!(
        (ok.outcome, ok.output.clone(), ok.error.clone()),
        (Outcome::Ok, Some(json!([1, 2])), None)
    );
    assert_eq!(ok.inputs["query"], json!({"q": "wood"}));
    assert_eq!(ok.metadata["attempt"], json!(1));
    assert_eq!(ok.module_path, module_path!());

    assert_eq!(err.outcome, Outcome::Err);
    assert_eq!(err.output, None);
    let record = err.error.as_ref().unwrap();
    assert_eq!(record.message, "tool timed out");
    assert!(record.kind.contains("io"), "{}", record.kind);

    assert_eq!((unit.outcome, unit.output.clone()), (Outcome::Ok, None));
    assert!(ok.started_at <= err.started_at && err.started_at <= unit.started_at);
    assert_eq!(trace.status, SessionStatus::Error);
}
