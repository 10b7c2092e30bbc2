use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: u32 = 1_000_000_000;

/// A capture timestamp: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch.
    pub secs: u64,
    /// Always below 1,000,000,000.
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp, carrying excess nanoseconds into the seconds.
    pub fn new(secs: u64, nanos: u32) -> Self {
        Timestamp {
            secs: secs.saturating_add(u64::from(nanos / NANOS_PER_SEC)),
            nanos: nanos % NANOS_PER_SEC,
        }
    }

    /// Builds a timestamp from microseconds (classic pcap's resolution).
    pub fn from_micros(secs: u64, micros: u32) -> Self {
        Self::new(secs, micros.saturating_mul(1000))
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// The sub-second part in whole microseconds.
    pub fn micros(self) -> u32 {
        self.nanos / 1000
    }

    /// The time since the Unix epoch as a `Duration`.
    pub fn as_duration(self) -> Duration {
        Duration::new(self.secs, self.nanos)
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.as_duration().saturating_sub(earlier.as_duration())
    }

    /// Converts a count of `units_per_sec` ticks since the epoch (pcapng timestamps).
    pub(crate) fn from_ticks(ticks: u64, units_per_sec: u64) -> Self {
        if units_per_sec == 0 {
            return Self::default();
        }
        let secs = ticks / units_per_sec;
        let fraction = u128::from(ticks % units_per_sec);
        // fraction < units_per_sec, so the quotient is below 1e9 and fits a u32.
        let nanos = fraction * u128::from(NANOS_PER_SEC) / u128::from(units_per_sec);
        Self::new(secs, u32::try_from(nanos).unwrap_or(0))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::new(since_epoch.as_secs(), since_epoch.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_converts_ticks() {
        assert_eq!(
            Timestamp::new(1, 2_500_000_000),
            Timestamp {
                secs: 3,
                nanos: 500_000_000
            }
        );
        assert_eq!(
            Timestamp::from_micros(7, 250),
            Timestamp {
                secs: 7,
                nanos: 250_000
            }
        );
        assert_eq!(
            Timestamp::from_ticks(1_500_000_123, 1_000_000),
            Timestamp {
                secs: 1500,
                nanos: 123_000
            }
        );
        // 2^-10 s resolution: 1025 ticks = 1 s + 1/1024 s.
        assert_eq!(
            Timestamp::from_ticks(1025, 1024),
            Timestamp {
                secs: 1,
                nanos: 976_562
            }
        );
        assert_eq!(Timestamp::from_ticks(5, 0), Timestamp::default());
    }

    #[test]
    fn duration_since_saturates() {
        let a = Timestamp::new(10, 0);
        let b = Timestamp::new(10, 200_000_000);
        assert_eq!(b.saturating_duration_since(a), Duration::from_millis(200));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    }
}
