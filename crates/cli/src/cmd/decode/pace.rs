//! `-P SPEED`: replays a capture file at its recorded pace (1), slower (0.1) or faster (10);
//! 100 or more means as fast as possible, as in sflowtool. Without `-P` files are read at full
//! speed.

use std::time::{Duration, Instant};

use rtflow_capture::Timestamp;

/// sflowtool: "0.1=slow, 1=normal, 100=max".
pub(super) const MAX_SPEED: f64 = 100.0;

pub(super) fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(speed),
        _ => Err(format!(
            "{text:?} is not a playback speed (a number > 0: 0.1 = slow, 1 = recorded pace, \
             100 = as fast as possible)"
        )),
    }
}

pub(super) struct Pacer {
    speed: f64,
    /// The first datagram's capture time and when it was handled.
    start: Option<(Timestamp, Instant)>,
}

impl Pacer {
    pub(super) fn new(speed: f64) -> Self {
        Pacer { speed, start: None }
    }

    /// How long to wait before handling a datagram captured at `at`, `now` being the present.
    pub(super) fn delay(&mut self, at: Timestamp, now: Instant) -> Duration {
        if self.speed >= MAX_SPEED {
            return Duration::ZERO;
        }
        let (first, started) = *self.start.get_or_insert((at, now));
        let recorded = seconds(at) - seconds(first);
        // Timestamps running backwards mean "now"; absurd gaps saturate instead of panicking.
        let offset =
            Duration::try_from_secs_f64((recorded / self.speed).max(0.0)).unwrap_or(Duration::MAX);
        started
            .checked_add(offset)
            .map_or(Duration::MAX, |due| due.saturating_duration_since(now))
    }

    pub(super) fn wait(&mut self, at: Timestamp) {
        let delay = self.delay(at, Instant::now());
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
}

fn seconds(t: Timestamp) -> f64 {
    t.secs as f64 + f64::from(t.micros()) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_capture_clock_divided_by_the_speed() {
        let now = Instant::now();
        let mut pacer = Pacer::new(2.0);
        assert_eq!(
            pacer.delay(Timestamp::from_micros(100, 0), now),
            Duration::ZERO
        );
        // 3 s later in the capture at speed 2 is due 1.5 s after the start.
        assert_eq!(
            pacer.delay(Timestamp::from_micros(103, 0), now),
            Duration::from_millis(1500)
        );
        assert_eq!(
            pacer.delay(Timestamp::from_micros(103, 0), now + Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        // Backwards in time: no wait.
        assert_eq!(
            pacer.delay(Timestamp::from_micros(50, 0), now),
            Duration::ZERO
        );
        let mut max = Pacer::new(MAX_SPEED);
        max.delay(Timestamp::from_micros(0, 0), now);
        assert_eq!(
            max.delay(Timestamp::from_micros(9_999, 0), now),
            Duration::ZERO
        );
    }

    #[test]
    fn speeds_must_be_positive_numbers() {
        assert_eq!(parse_speed("0.5"), Ok(0.5));
        for bad in ["0", "-1", "fast", "NaN", "inf"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }
}
