//! What can go wrong, each naming the thing at fault.

use std::path::PathBuf;

use agent_trace::TraceError;
use agent_trace::sink::SinkError;
use agent_trace::store::StoreError;

/// A command's failure; the message is printed after `agent-trace: `.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("{flag} {value:?}: {reason}")]
    BadArgument {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("{}: the store has no sessions", path.display())]
    Empty { path: PathBuf },
    #[error("{}: session {session_id} has no event {event_id}", path.display())]
    NoSuchEvent {
        path: PathBuf,
        session_id: String,
        event_id: u64,
    },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: not a session: {source}", path.display())]
    NotASession {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[cfg(not(feature = "otlp"))]
    #[error("{what} needs the `{feature}` feature: build with `cargo install agent-trace-cli --features {feature}`")]
    Feature { what: &'static str, feature: &'static str },
}
