//! Sequence-number accounting for datagrams and per-data-source samples.
//!
//! A 64-entry bitmap below the highest sequence seen tells a late arrival (out of order, which also
//! un-counts it as lost) from a duplicate. A large backwards jump is a reset (agent or sub-agent restart).

/// How far back (in sequence numbers) a late arrival is still considered out of order rather than a reset.
const REORDER_LIMIT: u32 = 1000;
const WINDOW: u32 = 64;

/// What one observed sequence number meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqOutcome {
    First,
    InOrder,
    /// The sequence jumped forward; the value is how many numbers were skipped.
    Lost(u32),
    /// Already seen.
    Duplicate,
    /// A late arrival; it had been counted as lost, which the caller should undo.
    OutOfOrder,
    /// Late beyond the tracking window; not previously counted as lost in a recoverable way.
    OutOfOrderOld,
    /// The sequence went far backwards: the sender restarted.
    Reset,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeqTracker {
    highest: Option<u32>,
    /// Bit i set = sequence `highest - i` was seen (bit 0 is `highest` itself).
    seen: u64,
}

impl SeqTracker {
    pub(crate) fn observe(&mut self, seq: u32) -> SeqOutcome {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            self.seen = 1;
            return SeqOutcome::First;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead == 0 {
            return SeqOutcome::Duplicate;
        }
        if ahead < u32::MAX / 2 {
            self.highest = Some(seq);
            self.seen = if ahead >= WINDOW {
                1
            } else {
                (self.seen << ahead) | 1
            };
            return if ahead == 1 {
                SeqOutcome::InOrder
            } else {
                SeqOutcome::Lost(ahead - 1)
            };
        }
        let behind = highest.wrapping_sub(seq);
        if behind < WINDOW {
            let bit = 1u64 << behind;
            if self.seen & bit != 0 {
                return SeqOutcome::Duplicate;
            }
            self.seen |= bit;
            return SeqOutcome::OutOfOrder;
        }
        if behind <= REORDER_LIMIT {
            return SeqOutcome::OutOfOrderOld;
        }
        self.highest = Some(seq);
        self.seen = 1;
        SeqOutcome::Reset
    }

    /// Forgets the history (agent restart detected by other means).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Loss accounting counters shared by datagrams and each sample type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SeqCounters {
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
}

impl SeqCounters {
    /// Counts one observation. Duplicates are only counted here; the caller still processes the sample.
    pub(crate) fn apply(&mut self, outcome: SeqOutcome) {
        self.received += 1;
        match outcome {
            SeqOutcome::First | SeqOutcome::InOrder | SeqOutcome::Reset => {}
            SeqOutcome::Lost(n) => self.lost += u64::from(n),
            SeqOutcome::Duplicate => self.duplicates += 1,
            SeqOutcome::OutOfOrder => {
                self.out_of_order += 1;
                self.lost = self.lost.saturating_sub(1);
            }
            SeqOutcome::OutOfOrderOld => self.out_of_order += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u32]) -> SeqCounters {
        let mut t = SeqTracker::default();
        let mut c = SeqCounters::default();
        for &s in seqs {
            c.apply(t.observe(s));
        }
        c
    }

    #[test]
    fn in_order_has_no_loss() {
        let c = run(&[1, 2, 3, 4]);
        assert_eq!(
            (c.received, c.lost, c.duplicates, c.out_of_order),
            (4, 0, 0, 0)
        );
    }

    #[test]
    fn gap_counts_lost_and_late_arrival_undoes_it() {
        let c = run(&[1, 2, 5, 6]);
        assert_eq!(c.lost, 2);
        let c = run(&[1, 2, 5, 3, 6]);
        assert_eq!((c.lost, c.out_of_order), (1, 1));
    }

    #[test]
    fn duplicates_are_detected_inside_the_window() {
        let c = run(&[10, 11, 11, 12, 10]);
        assert_eq!((c.duplicates, c.lost, c.out_of_order), (2, 0, 0));
    }

    #[test]
    fn wraparound_is_in_order() {
        let c = run(&[u32::MAX - 1, u32::MAX, 0, 1]);
        assert_eq!((c.lost, c.out_of_order), (0, 0));
    }

    #[test]
    fn large_backwards_jump_is_a_reset() {
        let mut t = SeqTracker::default();
        t.observe(50_000);
        assert_eq!(t.observe(1), SeqOutcome::Reset);
        assert_eq!(t.observe(2), SeqOutcome::InOrder);
    }
}
