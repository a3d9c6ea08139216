//! The running sessions of a tracer, so that `flush` can stream their finished events.

use std::sync::{Arc, Mutex, Weak};

use super::SessionInner;
use crate::sync::lock;

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
