//! [`SessionClock`]: the monotonic clock a session times its events with.
//!
//! Where the CPU has an invariant time-stamp counter, reading it (through `quanta`) takes
//! about 11 ns on a machine where `Instant::now` takes 28; a traced call reads the clock
//! twice. The counter must be calibrated against the OS clock first, which takes from half
//! a millisecond to 200 ms: that runs on a thread of its own, started with the first
//! tracer, so that nobody waits for it. A session started before it is done uses the OS
//! clock, to its end.

use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// The calibrated counter, once it is.
static CALIBRATED: OnceLock<quanta::Clock> = OnceLock::new();
static CALIBRATION: Once = Once::new();

/// Starts calibrating the counter on a thread of its own, once per process. If no thread
/// can be started, sessions use the OS clock.
pub(crate) fn calibrate_in_background() {
    CALIBRATION.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("agent-trace-clock".to_owned())
            .spawn(|| CALIBRATED.get_or_init(quanta::Clock::new));
    });
}

/// A session's clock: time since the session started.
pub(crate) enum SessionClock {
    Counter {
        clock: quanta::Clock,
        base: quanta::Instant,
    },
    Os {
        base: Instant,
    },
}

impl SessionClock {
    /// A clock that starts now: the counter if it is calibrated, else the OS clock.
    pub(crate) fn start() -> SessionClock {
        match CALIBRATED.get() {
            Some(clock) => SessionClock::Counter {
                clock: clock.clone(),
                base: clock.now(),
            },
            None => SessionClock::Os { base: Instant::now() },
        }
    }

    /// How long ago the session started.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            SessionClock::Counter { clock, base } => clock.now().saturating_duration_since(*base),
            SessionClock::Os { base } => base.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_measure_time_since_the_session_started() {
        let counter = quanta::Clock::new();
        let clocks = [
            SessionClock::Counter {
                base: counter.now(),
                clock: counter,
            },
            SessionClock::Os { base: Instant::now() },
        ];
        let before: Vec<Duration> = clocks.iter().map(SessionClock::elapsed).collect();
        let slept = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let slept = slept.elapsed();
        for (clock, before) in clocks.iter().zip(before) {
            let after = clock.elapsed();
            assert!(after >= before, "monotonic");
            let measured = after - before;
            // The counter is calibrated to within microseconds; allow for scheduling.
            assert!(
                measured + Duration::from_millis(2) >= slept && measured <= slept + Duration::from_millis(20),
                "measured {measured:?} for {slept:?}"
            );
        }
    }

    #[test]
    fn sessions_use_the_counter_once_it_is_calibrated() {
        calibrate_in_background();
        let deadline = Instant::now() + Duration::from_secs(5);
        while CALIBRATED.get().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(SessionClock::start(), SessionClock::Counter { .. }));
    }
}
