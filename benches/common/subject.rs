//! The function every mode of the overhead measurements runs, `fn(u64, &str) -> Result<Out,
//! E>`, plain and traced — one definition, so that the benchmark and the whole-process
//! report measure the same code.
#![allow(dead_code)]

use agent_trace::{SessionTracer, trace_agent};

/// Builds a tracer and waits out the calibration of the clock it starts on a thread of its
/// own (up to 200 ms, once per process): the measurements are of the clock sessions use
/// from then on.
pub fn settle_clock() {
    drop(SessionTracer::default());
    std::thread::sleep(std::time::Duration::from_millis(250));
}

/// The value every mode returns.
#[derive(Debug, serde::Serialize)]
pub struct Out {
    pub id: u64,
    pub len: usize,
}

/// The error every mode may return.
#[derive(Debug, thiserror::Error)]
#[error("empty name for {0}")]
pub struct Empty(pub u64);

// Every mode is kept out of line, as a real traced function of any size would be, so
// that the comparison is between calls rather than between a call and folded constants.
#[inline(never)]
pub fn plain(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}

#[trace_agent]
#[inline(never)]
pub fn traced(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}

#[trace_agent(skip_all)]
#[inline(never)]
pub fn traced_skip_all(id: u64, name: &str) -> Result<Out, Empty> {
    if name.is_empty() {
        Err(Empty(id))
    } else {
        Ok(Out { id, len: name.len() })
    }
}
