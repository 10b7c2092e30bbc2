//! Admission of new agents while the memory budget is under pressure.
//!
//! A spoofed flood brings a new agent address with almost every datagram; giving each one full state (data
//! sources, a flow table per definition) and evicting it again costs far more than decoding the datagram. While
//! a shard has had to evict recently, a new agent is first put on probation here: only its address, sub-agent
//! and datagram sequence number are kept. It gets full state when a later datagram continues that sequence (a
//! real agent numbers its datagrams 1, 2, 3, …; a forged or replayed datagram under a random address does not),
//! and until then its datagrams are counted, not analysed. Outside pressure, new agents are admitted at once.
//!
//! A burst of new agents is pressure too ([`NewAgentRate`]): before the budget is full, a flood would otherwise
//! give every spoofed address full state until it is (hundreds of MiB of fresh memory in the first second, during
//! which the receive threads fell behind and the kernel dropped real agents' datagrams), and then evict it all
//! again.
//!
//! The datagrams of an agent on probation are not decoded beyond their header and the framing of their samples
//! (see `ingest.rs`).

use foldhash::HashMap;
use std::net::IpAddr;

use crate::sample::{DatagramInfo, Millis};

/// How long after a shard's last eviction new agents still go through probation.
pub(crate) const PRESSURE_MS: Millis = 60_000;
/// Largest sequence-number step that still counts as continuing an agent's sequence (datagrams lost on the
/// way, or dropped by a full socket, leave gaps).
const SEQUENCE_WINDOW: u32 = 4_096;
/// How long a candidate waits for its next datagram.
const CANDIDATE_MS: Millis = 120_000;
/// Candidates one shard holds at most; when full, the stale ones go, and if none are stale, all of them.
const CAPACITY: usize = 8_192;

/// New agents (datagrams from addresses without state) the whole engine takes in one second before new agents
/// go through probation: a large network's agents starting up at once (those beyond it are admitted at their
/// second datagram), far fewer than a flood of spoofed addresses brings. With the load test's flood of random
/// data sources, 1,024 agents a second grow the state by about 60 MiB a second, which 250,000 datagrams a second
/// on two cores absorb without a drop; 8,192 built 330 MiB in the first second and the kernel dropped 0.1-2 % of
/// the real agents' datagrams meanwhile.
pub(crate) const NEW_AGENTS_PER_SECOND: u64 = 1_024;

/// Counts one shard's new agents over one-second windows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NewAgentRate {
    window_end: Millis,
    seen: u64,
}

impl NewAgentRate {
    /// Counts a datagram from an agent without state; whether more than `limit` came in this window.
    pub(crate) fn burst(&mut self, now: Millis, limit: u64) -> bool {
        if now >= self.window_end {
            self.window_end = now.saturating_add(1_000);
            self.seen = 0;
        }
        self.seen += 1;
        self.seen > limit
    }
}

/// The last datagram a candidate agent sent.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    sub_agent_id: u32,
    sequence: u32,
    seen: Millis,
}

/// New agents waiting to show a continuing datagram sequence (one table per shard). Looked up for every datagram
/// of a flood: a fast hash with a per-table random seed, as the shards' agent tables use.
#[derive(Debug, Default)]
pub(crate) struct Probation {
    candidates: HashMap<IpAddr, Candidate>,
}

impl Probation {
    /// Whether the agent of `info` may get full state now: its previous datagram, at most `CANDIDATE_MS`
    /// ago, came from the same sub-agent with a sequence number a little below this one. Otherwise this
    /// datagram becomes the one the next is compared with.
    pub(crate) fn admit(&mut self, now: Millis, info: &DatagramInfo) -> bool {
        let continues = self.candidates.get(&info.agent).is_some_and(|previous| {
            let step = info.sequence.wrapping_sub(previous.sequence);
            previous.sub_agent_id == info.sub_agent_id
                && (1..=SEQUENCE_WINDOW).contains(&step)
                && now.saturating_sub(previous.seen) <= CANDIDATE_MS
        });
        if continues {
            self.candidates.remove(&info.agent);
            return true;
        }
        if self.candidates.len() >= CAPACITY && !self.candidates.contains_key(&info.agent) {
            self.candidates
                .retain(|_, candidate| now.saturating_sub(candidate.seen) <= CANDIDATE_MS);
            if self.candidates.len() >= CAPACITY {
                self.candidates.clear();
            }
        }
        self.candidates.insert(
            info.agent,
            Candidate {
                sub_agent_id: info.sub_agent_id,
                sequence: info.sequence,
                seen: now,
            },
        );
        false
    }

    /// Candidates held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.candidates.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn datagram(agent: u8, sub_agent_id: u32, sequence: u32) -> DatagramInfo {
        DatagramInfo {
            agent: IpAddr::V4(Ipv4Addr::new(10, 0, 0, agent)),
            sub_agent_id,
            sequence,
            ..DatagramInfo::default()
        }
    }

    #[test]
    fn an_agent_continuing_its_sequence_is_admitted_on_its_second_datagram() {
        let mut probation = Probation::default();
        assert!(!probation.admit(0, &datagram(1, 0, 100)));
        // A gap (datagrams lost on the way) still continues the sequence.
        assert!(probation.admit(1_000, &datagram(1, 0, 140)));
        assert_eq!(probation.len(), 0, "an admitted agent leaves probation");
    }

    #[test]
    fn forged_sequences_stay_on_probation() {
        let mut probation = Probation::default();
        assert!(!probation.admit(0, &datagram(1, 0, 5_000)));
        assert!(
            !probation.admit(10, &datagram(1, 0, 5_000)),
            "a repeated number does not continue"
        );
        assert!(
            !probation.admit(20, &datagram(1, 0, 900)),
            "going back does not continue"
        );
        assert!(
            !probation.admit(30, &datagram(1, 0, 900 + SEQUENCE_WINDOW + 1)),
            "too far ahead"
        );
        assert!(
            !probation.admit(40, &datagram(1, 7, 900 + SEQUENCE_WINDOW + 2)),
            "another sub-agent"
        );
        let late = 40 + CANDIDATE_MS + 1;
        assert!(
            !probation.admit(late, &datagram(1, 7, 900 + SEQUENCE_WINDOW + 3)),
            "too late"
        );
        assert!(probation.admit(late + 1, &datagram(1, 7, 900 + SEQUENCE_WINDOW + 4)));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut probation = Probation::default();
        assert!(!probation.admit(0, &datagram(1, 0, u32::MAX)));
        assert!(probation.admit(1, &datagram(1, 0, 0)));
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut probation = Probation::default();
        for n in 0..(3 * CAPACITY as u32) {
            let agent = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
            let info = DatagramInfo {
                agent,
                sequence: n,
                ..DatagramInfo::default()
            };
            assert!(!probation.admit(Millis::from(n), &info));
            assert!(probation.len() <= CAPACITY);
        }
    }
}
