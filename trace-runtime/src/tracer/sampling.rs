//! [`Sampling`]: which ended sessions are kept.

use trace_core::SessionStatus;

/// Which ended sessions are written to the sinks. The default keeps every session.
///
/// Decided when a session ends, and the same for the same session id: a session whose id
/// hashes below `success_fraction` is kept. Sessions that never end (a crash) are kept as
/// they were streamed. `session.end()` returns the trace either way; a session not kept is
/// counted in `stats().sessions_sampled_out` and erased from sinks that streamed it.
///
/// ```
/// use agent_trace::{Sampling, SessionTracer};
/// // Keep every failed session and one successful session in ten.
/// let tracer = SessionTracer::builder().sampling(Sampling { keep_errors: true, success_fraction: 0.1 }).build();
/// # drop(tracer);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Keep every session whose status is `Error`.
    pub keep_errors: bool,
    /// The fraction of the other sessions to keep, from 0.0 (none) to 1.0 (all).
    pub success_fraction: f64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            keep_errors: true,
            success_fraction: 1.0,
        }
    }
}

impl Sampling {
    /// Whether a session that ended with `status` is kept.
    pub fn keeps(&self, session_id: &str, status: SessionStatus) -> bool {
        match status {
            SessionStatus::Running => true,
            SessionStatus::Error if self.keep_errors => true,
            _ if self.success_fraction >= 1.0 => true,
            _ if self.success_fraction <= 0.0 => false,
            _ => {
                let position = (stable_hash(session_id) >> 11) as f64 / (1u64 << 53) as f64;
                position < self.success_fraction
            }
        }
    }

    pub(crate) fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.success_fraction)
    }
}

/// FNV-1a, then the SplitMix64 finalizer: stable across processes and versions, unlike
/// `std`'s hasher, and with high bits that change even between ids that differ by one
/// character (FNV-1a alone keeps nearly half of `id-0 … id-199` at a fraction of 0.1).
fn stable_hash(text: &str) -> u64 {
    let fnv = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut z = fnv;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
