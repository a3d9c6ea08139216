//! The running sessions of a tracer, so that `flush` can stream their finished events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::SessionInner;
use crate::call::CallSite;
use crate::sync::lock;
use crate::tracer::stats::Counters;

/// How many sessions run in the process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The process's running sessions, for the hooks of their tracers.
static PROCESS: Mutex<Vec<Weak<SessionInner>>> = Mutex::new(Vec::new());

/// Counts a session as running in the process.
pub(super) fn session_started(session: &Arc<SessionInner>) {
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let mut sessions = lock(&PROCESS);
    sessions.retain(|weak| weak.strong_count() > 0);
    sessions.push(Arc::downgrade(session));
}

/// Counts a session as no longer running.
pub(super) fn session_ended() {
    RUNNING.fetch_sub(1, Ordering::Relaxed);
}

/// Whether any session runs in the process.
#[inline(always)]
pub(crate) fn sessions_running() -> bool {
    RUNNING.load(Ordering::Relaxed) != 0
}

/// A call of `site` made outside any scope while sessions run: its events are lost.
/// Counted (`stats().calls_outside_scope`), and the first call of each site reported to
/// the hooks of the tracers whose sessions run.
#[cold]
#[inline(never)]
pub(crate) fn call_outside_scope(site: &CallSite) {
    Counters::count_call_outside_scope();
    // Read before it is written, so that later calls of the site take no lock of the bus.
    if site.outside_reported.load(Ordering::Relaxed) || site.outside_reported.swap(true, Ordering::Relaxed) {
        return;
    }
    let running: Vec<Arc<SessionInner>> = lock(&PROCESS)
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|session| !lock(&session.state).ended)
        .collect();
    let mut tracers: Vec<&Arc<crate::tracer::TracerShared>> = Vec::new();
    for session in &running {
        if !tracers.iter().any(|tracer| Arc::ptr_eq(tracer, &session.tracer)) {
            tracers.push(&session.tracer);
        }
    }
    for tracer in tracers {
        tracer.hooks.run(&tracer.counters, |hook| {
            hook.on_call_outside_scope(&site.names.name, &site.names.module_path)
        });
    }
}

/// The sessions of a tracer that are still running, so that `flush` can stream their
/// finished events.
#[derive(Default)]
pub(crate) struct LiveSessions {
    sessions: Mutex<Vec<Weak<SessionInner>>>,
}

impl LiveSessions {
    pub(super) fn register(&self, session: &Arc<SessionInner>) {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|weak| weak.upgrade().is_some_and(|live| !lock(&live.state).ended));
        sessions.push(Arc::downgrade(session));
    }

    /// Streams every running session's finished events.
    pub(crate) fn stream_all(&self) {
        let running: Vec<Arc<SessionInner>> = lock(&self.sessions).iter().filter_map(Weak::upgrade).collect();
        for session in running {
            let batch = lock(&session.state).take_unstreamed(&session.id, &session.tracer.counters);
            if let Some(batch) = batch {
                session.stream(batch);
            }
        }
    }
}
