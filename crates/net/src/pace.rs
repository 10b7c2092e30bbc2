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

/// The time a [`Pacer`] schedules by: the real monotonic clock ([`RealTime`]), or another that
/// runs at its own pace (the server's engine clock, which a replay speeds up or slows down).
pub trait PaceClock {
    /// A point in this clock's time.
    type Instant: Copy + Ord + std::fmt::Debug;

    /// The present.
    fn now(&self) -> Self::Instant;

    /// `instant` plus `offset` of this clock's time; `None` when it does not fit.
    fn checked_add(&self, instant: Self::Instant, offset: Duration) -> Option<Self::Instant>;
}

/// Real time: [`Instant`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealTime;

impl PaceClock for RealTime {
    type Instant = Instant;

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn checked_add(&self, instant: Instant, offset: Duration) -> Option<Instant> {
        instant.checked_add(offset)
    }
}

/// Decides when each datagram may go (and, on real time, sleeps until then).
#[derive(Clone, Debug)]
pub struct Pacer<C: PaceClock = RealTime> {
    clock: C,
    pace: Pace,
    started: C::Instant,
    /// [`Pace::Recorded`]: when the first datagram of this pass was handed in, and its
    /// recorded time.
    pass_origin: Option<(C::Instant, Duration)>,
    /// [`Pace::Rate`]: datagrams scheduled so far.
    scheduled: u64,
}

impl Pacer {
    /// A pacer on real time, starting now.
    pub fn new(pace: Pace) -> Self {
        Pacer::on_clock(RealTime, pace)
    }

    /// A pacer on real time whose recording starts now at `origin`: the datagram recorded at
    /// `origin` is due at once and each later one at its distance from it (a simulation, whose
    /// clock starts with the run), rather than from the first datagram handed in.
    pub fn starting_at(pace: Pace, origin: Duration) -> Self {
        Pacer::on_clock_starting_at(RealTime, pace, origin)
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

impl<C: PaceClock> Pacer<C> {
    /// A pacer on `clock`, starting at its present.
    pub fn on_clock(clock: C, pace: Pace) -> Self {
        let started = clock.now();
        Pacer {
            clock,
            pace,
            started,
            pass_origin: None,
            scheduled: 0,
        }
    }

    /// A pacer on `clock` whose recording starts at its present at `origin` (see
    /// [`Pacer::starting_at`]).
    pub fn on_clock_starting_at(clock: C, pace: Pace, origin: Duration) -> Self {
        let mut pacer = Pacer::on_clock(clock, pace);
        pacer.pass_origin = Some((pacer.started, origin));
        pacer
    }

    /// The clock it schedules by.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// When the pacer was created.
    pub fn started(&self) -> C::Instant {
        self.started
    }

    /// The recording starts over (the next pass of a looped capture): the next datagram is due
    /// at once, and later ones follow its recorded time.
    pub fn start_pass(&mut self) {
        self.pass_origin = None;
    }

    /// When the datagram recorded at `recorded` is due, `now` being the present; `None` means
    /// at once (as fast as possible, or a due time too far away for the clock to hold).
    pub fn due(&mut self, recorded: Duration, now: C::Instant) -> Option<C::Instant> {
        match self.pace {
            Pace::AsFastAsPossible => None,
            Pace::Recorded { speed } => {
                let (origin, first) = *self.pass_origin.get_or_insert((now, recorded));
                let gap = recorded.saturating_sub(first);
                self.clock
                    .checked_add(origin, saturating_secs(gap.as_secs_f64() / speed))
            }
            Pace::Rate { per_sec } => {
                let offset = saturating_secs(self.scheduled as f64 / per_sec);
                self.scheduled += 1;
                self.clock.checked_add(self.started, offset)
            }
        }
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

    /// A clock that moves only when told to, in milliseconds.
    struct ManualClock(std::cell::Cell<u64>);

    impl PaceClock for &ManualClock {
        type Instant = u64;

        fn now(&self) -> u64 {
            self.0.get()
        }

        fn checked_add(&self, instant: u64, offset: Duration) -> Option<u64> {
            instant.checked_add(u64::try_from(offset.as_millis()).ok()?)
        }
    }

    #[test]
    fn any_clock_can_be_paced_by() {
        let clock = ManualClock(std::cell::Cell::new(5_000));
        let mut pacer = Pacer::on_clock_starting_at(&clock, Pace::Recorded { speed: 1.0 }, at(0));
        assert_eq!(pacer.started(), 5_000);
        clock.0.set(9_000);
        // Due times count from the start, on the clock's own time, whenever they are asked for.
        assert_eq!(pacer.due(at(3), pacer.clock().now()), Some(8_000));
        assert_eq!(pacer.due(Duration::from_millis(4_500), 9_000), Some(9_500));
        let mut rate = Pacer::on_clock(&clock, Pace::Rate { per_sec: 2.0 });
        assert_eq!(rate.due(at(0), 0), Some(9_000));
        assert_eq!(rate.due(at(0), 0), Some(9_500));
        // Beyond what the clock holds: at once.
        assert_eq!(pacer.due(Duration::MAX, 9_000), None);
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
