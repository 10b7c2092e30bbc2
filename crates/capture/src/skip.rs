use std::fmt;

/// Why a captured packet did not yield a UDP datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The capture's link-layer type is not one this crate decodes.
    UnsupportedLinkType,
    /// The link layer carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    NotIp,
    /// An IP packet whose transport protocol is not UDP.
    NotUdp,
    /// Part of a fragmented IP datagram: the UDP payload is incomplete.
    Fragment,
    /// The capture holds fewer bytes than the headers announce (snaplen too small).
    Truncated,
    /// Inconsistent header fields (bad IP version, lengths that do not add up, ...).
    Malformed,
}

impl SkipReason {
    /// Every reason, in the order counters and reports list them.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::UnsupportedLinkType,
        SkipReason::NotIp,
        SkipReason::NotUdp,
        SkipReason::Fragment,
        SkipReason::Truncated,
        SkipReason::Malformed,
    ];

    /// The reason's stable kebab-case name (for logs, JSON and metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported-link-type",
            SkipReason::NotIp => "not-ip",
            SkipReason::NotUdp => "not-udp",
            SkipReason::Fragment => "ip-fragment",
            SkipReason::Truncated => "truncated",
            SkipReason::Malformed => "malformed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-reason counters of skipped packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts {
    counts: [u64; SkipReason::ALL.len()],
}

impl SkipCounts {
    /// Counts one skipped packet.
    pub fn record(&mut self, reason: SkipReason) {
        if let Some(count) = self.counts.get_mut(reason.index()) {
            *count = count.saturating_add(1);
        }
    }

    /// Packets skipped for `reason`.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.counts.get(reason.index()).copied().unwrap_or(0)
    }

    /// Packets skipped for any reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Reasons with a non-zero count, in [`SkipReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (SkipReason, u64)> + '_ {
        SkipReason::ALL
            .into_iter()
            .map(|reason| (reason, self.get(reason)))
            .filter(|&(_, count)| count > 0)
    }

    /// Adds another set of counts to these (e.g. one file's to a run's total).
    pub fn add(&mut self, other: &SkipCounts) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine = mine.saturating_add(theirs);
        }
    }
}

/// `none`, or `not-udp=3 ip-fragment=1`.
impl fmt::Display for SkipCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total() == 0 {
            return f.write_str("none");
        }
        for (i, (reason, count)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{reason}={count}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_formats() {
        let mut counts = SkipCounts::default();
        assert_eq!(counts.to_string(), "none");
        counts.record(SkipReason::NotUdp);
        counts.record(SkipReason::NotUdp);
        counts.record(SkipReason::Fragment);
        assert_eq!(counts.get(SkipReason::NotUdp), 2);
        assert_eq!(counts.total(), 3);
        assert_eq!(counts.to_string(), "not-udp=2 ip-fragment=1");
        let mut sum = SkipCounts::default();
        sum.add(&counts);
        sum.add(&counts);
        assert_eq!(sum.get(SkipReason::NotUdp), 4);
    }
}
