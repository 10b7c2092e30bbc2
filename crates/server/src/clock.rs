//! The engine's clock: wall-clock milliseconds, optionally running faster (replay `--replay-speed`) and held
//! back to the replay's progress so engine time never runs ahead of the datagrams already ingested; or, for
//! tests, a manual clock that stands still until advanced ([`EngineClock::manual`]), so that rates and
//! thresholds can be tested without pacing datagrams over real time.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rtflow_engine::Millis;

#[derive(Debug)]
struct ClockState {
    /// Real instant at which `anchor_ms` was the engine time.
    anchor: Instant,
    anchor_ms: Millis,
    /// Engine milliseconds per real millisecond.
    speed: f64,
    /// Engine time may not pass this (set by the replay to the next datagram's due time).
    cap: Option<Millis>,
    /// Last time returned (keeps `now` monotonic).
    last: Millis,
    /// A manual clock: time is `anchor_ms`, moved only by [`EngineClock::advance`].
    manual: bool,
}

/// Shared engine clock; cheap to query from any thread.
#[derive(Debug)]
pub struct EngineClock {
    state: Mutex<ClockState>,
}

/// Milliseconds since the Unix epoch by the system clock.
pub(crate) fn wall_clock_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis().try_into().unwrap_or(Millis::MAX))
        .unwrap_or(0)
}

impl EngineClock {
    /// A clock following real time at `speed` times the real pace, starting at the current wall-clock time.
    pub fn new(speed: f64) -> Self {
        let now = wall_clock_ms();
        Self {
            state: Mutex::new(ClockState {
                anchor: Instant::now(),
                anchor_ms: now,
                speed: sanitize_speed(speed),
                cap: None,
                last: now,
                manual: false,
            }),
        }
    }

    /// A clock that reads `start_ms` until [`advance`](Self::advance)d (tests: the server's engine time under
    /// the test's control, see `ServerConfig::clock`).
    pub fn manual(start_ms: Millis) -> Self {
        Self {
            state: Mutex::new(ClockState {
                anchor: Instant::now(),
                anchor_ms: start_ms,
                speed: 1.0,
                cap: None,
                last: start_ms,
                manual: true,
            }),
        }
    }

    /// Moves a manual clock `ms` forward (a wall clock ignores it).
    pub fn advance(&self, ms: Millis) {
        let mut state = self.state.lock();
        if state.manual {
            state.anchor_ms = state.anchor_ms.saturating_add(ms);
        }
    }

    /// Current engine time (monotonic).
    pub fn now(&self) -> Millis {
        let mut state = self.state.lock();
        let mut now = uncapped(&state);
        if let Some(cap) = state.cap {
            now = now.min(cap);
        }
        now = now.max(state.last);
        state.last = now;
        now
    }

    /// Engine time as it would be without the cap (how far the pace says time has come).
    pub fn paced_now(&self) -> Millis {
        uncapped(&self.state.lock())
    }

    /// Holds engine time at or below `cap` (`None` releases it).
    pub fn set_cap(&self, cap: Option<Millis>) {
        self.state.lock().cap = cap;
    }

    /// Engine speed (engine ms per real ms).
    pub fn speed(&self) -> f64 {
        self.state.lock().speed
    }

    /// Continues from the current engine time at a new speed, without a cap.
    pub fn resume_at_speed(&self, speed: f64) {
        let mut state = self.state.lock();
        let mut now = uncapped(&state);
        if let Some(cap) = state.cap {
            now = now.min(cap);
        }
        let now = now.max(state.last);
        if state.manual {
            state.cap = None;
            return;
        }
        state.anchor = Instant::now();
        state.anchor_ms = now;
        state.speed = sanitize_speed(speed);
        state.cap = None;
        state.last = now;
    }
}

fn uncapped(state: &ClockState) -> Millis {
    if state.manual {
        return state.anchor_ms;
    }
    let elapsed_ms = state.anchor.elapsed().as_secs_f64() * 1000.0 * state.speed;
    state.anchor_ms.saturating_add(elapsed_ms as Millis)
}

fn sanitize_speed(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_wall_clock_at_speed_one() {
        let clock = EngineClock::new(1.0);
        let diff = clock.now().abs_diff(wall_clock_ms());
        assert!(diff < 1000, "engine clock {diff} ms from the wall clock");
    }

    #[test]
    fn a_manual_clock_stands_still_until_advanced() {
        let clock = EngineClock::manual(1_700_000_000_000);
        assert_eq!(clock.now(), 1_700_000_000_000);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), 1_700_000_000_000, "real time does not move it");
        clock.advance(250);
        assert_eq!(clock.now(), 1_700_000_000_250);
        clock.set_cap(Some(1_700_000_000_100));
        assert_eq!(clock.now(), 1_700_000_000_250, "monotonic under a cap");
        clock.resume_at_speed(4.0);
        clock.advance(1);
        assert_eq!(clock.now(), 1_700_000_000_251);
    }

    #[test]
    fn cap_holds_time_and_resume_continues_monotonic() {
        let clock = EngineClock::new(1000.0);
        let start = clock.now();
        clock.set_cap(Some(start + 5));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(clock.now(), start + 5);
        assert!(clock.paced_now() >= start + 20_000);
        clock.resume_at_speed(1.0);
        let resumed = clock.now();
        assert!(resumed >= start + 5 && resumed < start + 1000);
        assert_eq!(clock.speed(), 1.0);
    }

    #[test]
    fn invalid_speed_means_real_time() {
        assert_eq!(EngineClock::new(f64::NAN).speed(), 1.0);
        assert_eq!(EngineClock::new(-3.0).speed(), 1.0);
    }
}
