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

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A new empty directory whose name has `name` and the process id in it.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("agent-trace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temp dir");
        TempDir(path)
    }

    /// `traces.db` in the directory.
    pub fn db(&self) -> std::path::PathBuf {
        self.0.join("traces.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The variable that tells a re-run test binary which test it runs as a child.
const CHILD: &str = "AGENT_TRACE_TEST_CHILD";

/// Whether this process is the child run of the test `name` (see [`run_child`]).
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|child| child == name)
}

/// Runs the test `name` again in a child process (the test binary re-running itself), so
/// that a crash takes down only the child; `env` is set in it. Returns its output.
pub fn run_child(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    spawn_child(name, env).wait_with_output().expect("the child runs")
}

/// Starts the test `name` again in a child process, as [`run_child`] does, without waiting
/// for it.
pub fn spawn_child(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--exact", name, "--test-threads", "1", "--nocapture"])
        .env(CHILD, name);
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the child starts")
}
