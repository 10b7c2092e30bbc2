//! When each datagram of a recording is due on replay. A recorded time is any [`Duration`] on
//! the recording's own clock (a capture timestamp's time since the epoch, or an offset from the
//! start of a simulation); the first datagram of a pass is due when it is handed in, and each
//! later one at its recorded distance from the first, divided by the speed. Times that run
//! backwards are due at once; absurd gaps and speeds saturate instead of panicking.

use std::time::{Duration, Instant};

/// How the due times are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// The recorded gaps divided by `speed` (2: twice as fast, 0.5: half as fast).
    Recorded {
        /// Recorded seconds per real second (positive).
        speed: f64,
    },
    /// Every datagram at once.
    AsFastAsPossible,
    /// A fixed number of datagrams per second, whatever their recorded times; scheduled from
    /// the start, so a late wake-up is caught up by the next datagrams instead of lowering the
    /// average rate.
    Rate {
        /// Datagrams per second (positive).
        per_sec: f64,
    },
}

/// Decides when each datagram may go, and sleeps until then.
#[derive(Clone, Debug)]
pub struct Pacer {
    pace: Pace,
    started: Instant,
    /// [`Pace::Recorded`]: when the first datagram of this pass was handed in, and its
    /// recorded time.
    pass_origin: Option<(Instant, Duration)>,
    /// [`Pace::Rate`]: datagrams scheduled so far.
    scheduled: u64,
}

impl Pacer {
    /// A pacer starting now.
    pub fn new(pace: Pace) -> Self {
        Pacer {
            pace,
            started: Instant::now(),
            pass_origin: None,
            scheduled: 0,
        }
    }

    /// A pacer whose recording starts now at `origin`: the datagram recorded at `origin` is due
    /// at once and each later one at its distance from it (a simulation, whose clock starts
    /// with the run), rather than from the first datagram handed in.
    pub fn starting_at(pace: Pace, origin: Duration) -> Self {
        let mut pacer = Pacer::new(pace);
        pacer.pass_origin = Some((pacer.started, origin));
        pacer
    }

    /// When the pacer was created.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The recording starts over (the next pass of a looped capture): the next datagram is due
    /// at once, and later ones follow its recorded time.
    pub fn start_pass(&mut self) {
        self.pass_origin = None;
    }

    /// When the datagram recorded at `recorded` is due, `now` being the present; `None` means
    /// at once (as fast as possible, or a due time too far away for an `Instant` to hold).
    pub fn due(&mut self, recorded: Duration, now: Instant) -> Option<Instant> {
        match self.pace {
            Pace::AsFastAsPossible => None,
            Pace::Recorded { speed } => {
                let (origin, first) = *self.pass_origin.get_or_insert((now, recorded));
                let gap = recorded.saturating_sub(first);
                origin.checked_add(saturating_secs(gap.as_secs_f64() / speed))
            }
            Pace::Rate { per_sec } => {
                let offset = saturating_secs(self.scheduled as f64 / per_sec);
                self.scheduled += 1;
                self.started.checked_add(offset)
            }
        }
    }

    /// How long to wait from `now` before the datagram recorded at `recorded` may go.
    pub fn delay(&mut self, recorded: Duration, now: Instant) -> Duration {
        self.due(recorded, now)
            .map_or(Duration::ZERO, |due| due.saturating_duration_since(now))
    }

    /// Sleeps until the datagram recorded at `recorded` is due, or until `deadline` if that
    /// comes first; returns false when the deadline has passed.
    pub fn wait(&mut self, recorded: Duration, deadline: Option<Instant>) -> bool {
        let now = Instant::now();
        if let Some(due) = self.due(recorded, now) {
            let wake = deadline.map_or(due, |deadline| due.min(deadline));
            if wake > now {
                std::thread::sleep(wake - now);
            }
        }
        deadline.is_none_or(|deadline| Instant::now() < deadline)
    }
}

/// `secs` (finite, not negative) as a `Duration`, capped at `Duration::MAX` instead of
/// panicking like `Duration::from_secs_f64` would on a huge `--duration`, a tiny rate or
/// speed, or timestamps that leap by centuries. Negative and NaN give zero.
pub fn saturating_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn delays_follow_the_recorded_clock_divided_by_the_speed() {
        let now = Instant::now();
        let mut pacer = Pacer::new(Pace::Recorded { speed: 2.0 });
        assert_eq!(pacer.delay(at(100), now), Duration::ZERO);
        // 3 s later in the recording at speed 2 is due 1.5 s after the start.
        assert_eq!(pacer.delay(at(103), now), Duration::from_millis(1500));
        assert_eq!(
            pacer.delay(at(103), now + Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        // Backwards in time: no wait.
        assert_eq!(pacer.delay(at(50), now), Duration::ZERO);
        let mut max = Pacer::new(Pace::AsFastAsPossible);
        max.delay(at(0), now);
        assert_eq!(max.delay(at(9_999), now), Duration::ZERO);
    }

    #[test]
    fn a_new_pass_starts_the_recording_over() {
        let now = Instant::now();
        let mut pacer = Pacer::new(Pace::Recorded { speed: 1.0 });
        pacer.delay(at(100), now);
        assert_eq!(pacer.delay(at(110), now), Duration::from_secs(10));
        pacer.start_pass();
        assert_eq!(pacer.delay(at(100), now), Duration::ZERO);
        assert_eq!(pacer.delay(at(101), now), Duration::from_secs(1));
    }

    #[test]
    fn a_recording_can_start_before_its_first_datagram() {
        let mut pacer = Pacer::starting_at(Pace::Recorded { speed: 2.0 }, Duration::ZERO);
        let started = pacer.started();
        // The first datagram, 3 s into the recording, is due 1.5 s after the start.
        assert_eq!(
            pacer.due(at(3), started),
            started.checked_add(Duration::from_millis(1500))
        );
    }

    #[test]
    fn pacing_is_counted_from_the_start_and_does_not_drift() {
        let ten_hours = Duration::from_secs(36_000);
        let due_after_start = |pace: Pace, recorded: Duration, sent_before: u64| {
            let mut pacer = Pacer::starting_at(pace, Duration::ZERO);
            pacer.scheduled = sent_before;
            let started = pacer.started();
            pacer
                .due(recorded, started)
                .map(|due| due.duration_since(started))
        };
        // Recorded pace: a datagram of simulated hour 10 is due 10 hours after the start,
        // whatever was sent before it.
        assert_eq!(
            due_after_start(Pace::Recorded { speed: 1.0 }, ten_hours, 123),
            Some(ten_hours)
        );
        assert_eq!(
            due_after_start(Pace::Recorded { speed: 10.0 }, ten_hours, 0),
            Some(Duration::from_secs(3_600))
        );
        // Fixed rate: the 36,000,000th datagram at 1,000/s is due at 36,000 s, whatever its
        // recorded time.
        assert_eq!(
            due_after_start(Pace::Rate { per_sec: 1_000.0 }, Duration::ZERO, 36_000_000),
            Some(ten_hours)
        );
        // A gap that is not a whole number of nanoseconds (1/3 ms): summing rounded gaps would
        // be 36 ms off after 10 hours; counting from the start is not.
        let due = due_after_start(Pace::Rate { per_sec: 3_000.0 }, Duration::ZERO, 108_000_000)
            .unwrap_or_default();
        assert!(
            due.abs_diff(ten_hours) < Duration::from_micros(1),
            "{due:?}"
        );
        assert_eq!(due_after_start(Pace::AsFastAsPossible, ten_hours, 1), None);
    }

    #[test]
    fn rate_pacing_schedules_from_the_start() {
        let mut pacer = Pacer::new(Pace::Rate { per_sec: 1000.0 });
        let begin = Instant::now();
        for _ in 0..21 {
            assert!(pacer.wait(Duration::ZERO, None));
        }
        // 21 datagrams at 1000/s: the last is due 20 ms after the start.
        assert!(
            begin.elapsed() >= Duration::from_millis(19),
            "{:?}",
            begin.elapsed()
        );
    }

    #[test]
    fn deadline_stops_waiting() {
        let mut pacer = Pacer::new(Pace::Recorded { speed: 1.0 });
        let deadline = Instant::now() + Duration::from_millis(30);
        assert!(pacer.wait(at(100), Some(deadline)));
        assert!(
            !pacer.wait(at(200), Some(deadline)),
            "a 100 s gap ends at the 30 ms deadline"
        );
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn out_of_range_times_do_not_panic() {
        // Each of these made Duration::from_secs_f64 / div_f64 panic.
        assert_eq!(saturating_secs(1e300), Duration::MAX);
        assert_eq!(saturating_secs(-1.0), Duration::ZERO);
        let mut pacer = Pacer::new(Pace::Recorded { speed: 1.0 });
        assert!(pacer.wait(Duration::ZERO, None));
        assert!(pacer.wait(Duration::MAX, None));
        let mut pacer = Pacer::new(Pace::Rate { per_sec: 1e-300 });
        assert!(pacer.wait(Duration::ZERO, None));
        assert!(pacer.wait(Duration::ZERO, None));
    }
}
