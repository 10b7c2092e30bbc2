//! `-R N`: sflowtool's agent simulator. The packets of a raw capture (`-r`) are sampled 1 in N
//! (on average) and turned into sFlow v5 datagrams from agent 0.0.0.0, sub-agent 0x5F10, which
//! then go where received datagrams go (`-f` targets, any output option).
//!
//! As sflowtool: each sampled packet becomes an expanded flow sample of data source 0:0 with
//! unknown interfaces, the sampling rate N, the packets seen so far as its sample pool, and one
//! sampled header record of the first 128 bytes (frame length = packet length + 4 stripped FCS
//! bytes). The gap to the next sampled packet is drawn from 1..2N-1 with sflowtool's random
//! generator and seed, so the same packets are sampled. Unlike sflowtool, which always claims
//! Ethernet, the header protocol follows the capture's link type (raw IPv4/IPv6 captures give
//! header protocols 11/12, 802.11 captures 15); frames of other link types are not sampled and
//! are counted. A datagram is sent when the next sample would take it past 1400 bytes, when the
//! next sampled packet is a second or more after its first sample, and at the end of the file;
//! it carries the capture time of its last sample, and the uptime is counted from the capture's
//! first packet.

use std::net::Ipv4Addr;

use rtflow_capture::{LinkType, Packet, Timestamp};
use rtflow_sflow::{
    Address, DataSource, DatagramBuilder, DatagramHeader, FlowRecord, FlowSampleInfo, Interface,
    SampledHeader,
};

/// sflowtool's sub-agent id for the datagrams it makes from a capture.
const SUB_AGENT_ID: u32 = 0x5F10;
/// Bytes of each packet copied into its sample (`SFL_DEFAULT_HEADER_SIZE`).
const HEADER_BYTES: usize = 128;
/// Datagram size limit, below a 1500-byte MTU with IP and UDP headers.
const MAX_DATAGRAM: usize = 1400;
/// The FCS an Ethernet frame on the wire had, reported as stripped.
const STRIPPED: u32 = 4;

/// sflowtool's `sfl_random`: a small multiplicative generator, seeded with 1.
struct SflowtoolRandom(u32);

impl SflowtoolRandom {
    /// A number in 1..=limit.
    fn next(&mut self, limit: u32) -> u32 {
        self.0 = (self.0 * 32_719 + 3) % 32_749;
        self.0 % limit.max(1) + 1
    }
}

/// A datagram made from sampled packets, with the capture time of its last sample.
pub(super) struct Made {
    pub(super) payload: Vec<u8>,
    pub(super) timestamp: Timestamp,
}

/// What the sampler did with a capture.
#[derive(Default)]
pub(super) struct SamplerCounts {
    pub(super) packets: u64,
    pub(super) samples: u64,
    pub(super) datagrams: u64,
    /// Packets of link types that have no sFlow header protocol, with the link type.
    pub(super) unsupported: Vec<(LinkType, u64)>,
}

pub(super) struct Sampler {
    rate: u32,
    random: SflowtoolRandom,
    /// Packets left before the next sample (sflowtool's `output_sample_skip`).
    skip: i64,
    pool: u32,
    sample_sequence: u32,
    datagram_sequence: u32,
    /// Time of the capture's first packet (the agent's boot, for the uptime).
    start: Option<Timestamp>,
    pending: Option<Pending>,
    counts: SamplerCounts,
}

struct Pending {
    builder: DatagramBuilder,
    first: Timestamp,
    last: Timestamp,
}

impl Sampler {
    pub(super) fn new(rate: u32) -> Self {
        Sampler {
            rate,
            random: SflowtoolRandom(1),
            skip: 0,
            pool: 0,
            sample_sequence: 0,
            datagram_sequence: 0,
            start: None,
            pending: None,
            counts: SamplerCounts::default(),
        }
    }

    pub(super) fn counts(&self) -> &SamplerCounts {
        &self.counts
    }

    /// Takes one packet of the capture; returns a datagram when one is complete.
    pub(super) fn packet(&mut self, packet: &Packet<'_>) -> Option<Made> {
        let Some(protocol) = header_protocol(packet.link_type, packet.data) else {
            match self
                .counts
                .unsupported
                .iter_mut()
                .find(|(link, _)| *link == packet.link_type)
            {
                Some((_, n)) => *n += 1,
                None => self.counts.unsupported.push((packet.link_type, 1)),
            }
            return None;
        };
        self.counts.packets += 1;
        let start = *self.start.get_or_insert(packet.timestamp);
        self.pool = self.pool.wrapping_add(1);
        self.skip -= 1;
        if self.skip > 0 {
            return None;
        }
        self.skip = i64::from(
            self.random
                .next(self.rate.saturating_mul(2).saturating_sub(1)),
        );
        self.sample_sequence = self.sample_sequence.wrapping_add(1);
        self.counts.samples += 1;
        let header = packet.data.get(..HEADER_BYTES).unwrap_or(packet.data);
        let info = FlowSampleInfo {
            expanded: true,
            sequence_number: self.sample_sequence,
            source_id: DataSource { class: 0, index: 0 },
            sampling_rate: self.rate,
            sample_pool: self.pool,
            drops: 0,
            input: Interface::index(0),
            output: Interface::index(0),
        };
        let record = FlowRecord::SampledHeader(SampledHeader {
            protocol,
            frame_length: packet.orig_len.saturating_add(STRIPPED),
            stripped: STRIPPED,
            header,
        });
        // sample tag + length + 11 words of fixed fields + record count, record tag + length,
        // 4 words of the header record and its padded bytes.
        let sample_len = 8 + 48 + 8 + 16 + header.len().div_ceil(4) * 4;
        let mut done = None;
        if let Some(pending) = &self.pending {
            let late = elapsed_ms(pending.first, packet.timestamp) >= 1000;
            if late || pending.builder.len() + sample_len > MAX_DATAGRAM {
                done = self.flush();
            }
        }
        let uptime = elapsed_ms(start, packet.timestamp);
        let sequence = &mut self.datagram_sequence;
        let pending = self.pending.get_or_insert_with(|| {
            *sequence = sequence.wrapping_add(1);
            Pending {
                builder: DatagramBuilder::new(DatagramHeader {
                    agent: Address::V4(Ipv4Addr::UNSPECIFIED),
                    sub_agent_id: SUB_AGENT_ID,
                    sequence_number: *sequence,
                    uptime_ms: uptime,
                }),
                first: packet.timestamp,
                last: packet.timestamp,
            }
        });
        pending.builder.flow_sample(&info, &[record]);
        pending.last = packet.timestamp;
        done
    }

    /// The datagram being filled, if any (at the end of the capture).
    pub(super) fn flush(&mut self) -> Option<Made> {
        let pending = self.pending.take()?;
        self.counts.datagrams += 1;
        Some(Made {
            payload: pending.builder.finish(),
            timestamp: pending.last,
        })
    }
}

/// The sFlow header protocol of a frame of `link_type`, if sFlow has one.
fn header_protocol(link_type: LinkType, data: &[u8]) -> Option<u32> {
    match link_type {
        LinkType::ETHERNET => Some(1),
        LinkType::RAW
        | LinkType::RAW_BSD
        | LinkType::RAW_OPENBSD
        | LinkType::IPV4
        | LinkType::IPV6 => match data.first().map(|b| b >> 4) {
            Some(4) => Some(11),
            Some(6) => Some(12),
            _ => None,
        },
        // LINKTYPE_IEEE802_11.
        LinkType(105) => Some(15),
        _ => None,
    }
}

fn elapsed_ms(start: Timestamp, now: Timestamp) -> u32 {
    let micros = |t: Timestamp| u128::from(t.secs) * 1_000_000 + u128::from(t.micros());
    (micros(now).saturating_sub(micros(start)) / 1000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sflowtools_generator_gives_gaps_between_1_and_2n_minus_1() {
        let mut random = SflowtoolRandom(1);
        // The first values of sflowtool's sequence from seed 1: 32722, 17022, ...
        assert_eq!(random.next(u32::MAX), 32_722 + 1);
        let mut random = SflowtoolRandom(1);
        let gaps: Vec<u32> = (0..10_000).map(|_| random.next(2 * 10 - 1)).collect();
        assert!(gaps.iter().all(|g| (1..=19).contains(g)));
        let mean = gaps.iter().map(|&g| f64::from(g)).sum::<f64>() / gaps.len() as f64;
        assert!((9.5..10.5).contains(&mean), "{mean}");
        // 1 in 1: every packet.
        assert!((0..100).all(|_| random.next(1) == 1));
    }
}
