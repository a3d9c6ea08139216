//! Helpers shared by the integration tests.
#![allow(dead_code)]

use agent_trace::{Event, Session, SessionTrace, SessionTracer, TracerContext};

/// Runs `f` in a fresh session's sync scope and returns its value and the ended trace.
pub fn traced<R>(f: impl FnOnce() -> R) -> (R, SessionTrace) {
    let session = SessionTracer::default().start_session();
    let value = TracerContext::new(&session).sync_scope(f);
    (value, session.end().expect("the session ends once"))
}

/// Runs `future` in a fresh session's scope and returns its value and the ended trace.
pub async fn traced_async<F: std::future::Future>(future: F) -> (F::Output, SessionTrace) {
    let session = SessionTracer::default().start_session();
    let value = TracerContext::new(&session).scope(future).await;
    (value, session.end().expect("the session ends once"))
}

/// The only event of a trace.
pub fn only_event(trace: &SessionTrace) -> &Event {
    assert_eq!(trace.events.len(), 1, "expected exactly one event: {:#?}", trace.events);
    &trace.events[0]
}

/// A new session of a default tracer.
pub fn session() -> Session {
    SessionTracer::default().start_session()
}
