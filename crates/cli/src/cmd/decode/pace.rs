//! `-P SPEED`: replays a capture file at its recorded pace (1), slower (0.1) or faster (10);
//! 100 or more means as fast as possible, as in sflowtool. Without `-P` files are read at full
//! speed. The pacing itself is `rtflow_net::Pacer`'s.

use rtflow_net::{Pace, Pacer};

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

/// The pacer for `-P speed`.
pub(super) fn pacer(speed: f64) -> Pacer {
    Pacer::new(if speed >= MAX_SPEED {
        Pace::AsFastAsPossible
    } else {
        Pace::Recorded { speed }
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn delays_follow_the_capture_clock_divided_by_the_speed() {
        let now = Instant::now();
        let mut pacer = pacer(2.0);
        assert_eq!(pacer.delay(Duration::from_secs(100), now), Duration::ZERO);
        // 3 s later in the capture at speed 2 is due 1.5 s after the start.
        assert_eq!(
            pacer.delay(Duration::from_secs(103), now),
            Duration::from_millis(1500)
        );
        let mut max = super::pacer(MAX_SPEED);
        max.delay(Duration::ZERO, now);
        assert_eq!(max.delay(Duration::from_secs(9_999), now), Duration::ZERO);
    }

    #[test]
    fn speeds_must_be_positive_numbers() {
        assert_eq!(parse_speed("0.5"), Ok(0.5));
        for bad in ["0", "-1", "fast", "NaN", "inf"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }
}
