//! sflowtool's NetFlow export (`-c HOST -d PORT [-e] [-s] [-N 5|9]`): each flow sample with an
//! IPv4 layer (decoded from its sampled header or given by an IPv4 data record) becomes one
//! NetFlow v5 packet holding one flow record, or one NetFlow v9 packet holding a template and
//! one data record; with v9, samples with an IPv6 layer get IPv6 packets (template 257) too.
//! Fragments after the first are left out, as are samples the VLAN filter rejects.
//!
//! Fields, as sflowtool fills them: addresses, protocol, ToS, ports (ICMP type/code), TCP flags
//! from the sample; next hop and prefix lengths from the extended router record; AS numbers from
//! the extended gateway record (its source/destination AS, or with `-e` the peer ASes);
//! interfaces from the sample (16 bits in v5). Packets and bytes are scaled by the sampling
//! rate (1 packet and the sample's bytes with `-s`, the rate then going into v5's
//! `sampling_interval` header field or v9's `SAMPLING_INTERVAL` element). The bytes are the UDP
//! length for UDP, else the IP packet's size. Both flow times are the export time as
//! milliseconds since midnight UTC, standing in for the router uptime.
//!
//! Unlike sflowtool, the export time is the datagram's (its capture time when reading a file,
//! which is the receive time for live input as in sflowtool), and the uptime field holds the
//! milliseconds since midnight rather than sflowtool's byte-swapped product of them.

use std::sync::Arc;

use rtflow_capture::Timestamp;
use rtflow_sflow::{Address, LegacySample, Sample};

use crate::datagram::Payload;
use crate::state::SampleState;
use crate::vlan::VlanFilter;

/// NetFlow v5 or v9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetflowVersion {
    /// NetFlow v5: fixed records, IPv4 only.
    V5,
    /// NetFlow v9: a template followed by data records.
    V9,
}

/// What `-e` and `-s` change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetflowOptions {
    /// Which NetFlow version to send (`-N 5` or `-N 9`).
    pub version: NetflowVersion,
    /// `-e`: the peer ASes instead of the source/destination ASes.
    pub peer_as: bool,
    /// Scale packets and bytes by the sampling rate (sflowtool's default; `-s` turns it off).
    pub scale: bool,
}

/// Template ids sflowtool uses.
const TEMPLATE_IPV4: u16 = 256;
const TEMPLATE_IPV6: u16 = 257;

/// NetFlow v9 (element id, length) pairs of the IPv4 template, in record order.
const FIELDS_IPV4: [(u16, u16); 19] = [
    (8, 4),  // IPV4_SRC_ADDR
    (12, 4), // IPV4_DST_ADDR
    (15, 4), // IPV4_NEXT_HOP
    (10, 4), // INPUT_SNMP
    (14, 4), // OUTPUT_SNMP
    (2, 4),  // IN_PKTS
    (1, 4),  // IN_BYTES
    (22, 4), // FIRST_SWITCHED
    (21, 4), // LAST_SWITCHED
    (7, 2),  // L4_SRC_PORT
    (11, 2), // L4_DST_PORT
    (6, 1),  // TCP_FLAGS
    (4, 1),  // PROTOCOL
    (5, 1),  // SRC_TOS
    (16, 4), // SRC_AS
    (17, 4), // DST_AS
    (9, 1),  // SRC_MASK
    (13, 1), // DST_MASK
    (34, 4), // SAMPLING_INTERVAL
];

/// The IPv6 template: IPv6 addresses and the flow label in place of the IPv4 addresses.
const FIELDS_IPV6: [(u16, u16); 20] = [
    (27, 16), // IPV6_SRC_ADDR
    (28, 16), // IPV6_DST_ADDR
    (62, 16), // IPV6_NEXT_HOP
    (10, 4),
    (14, 4),
    (2, 4),
    (1, 4),
    (22, 4),
    (21, 4),
    (31, 4), // IPV6_FLOW_LABEL
    (7, 2),
    (11, 2),
    (6, 1),
    (4, 1),
    (5, 1),
    (16, 4),
    (17, 4),
    (9, 1),
    (13, 1),
    (34, 4),
];

/// One NetFlow packet to send, and the sFlow agent it describes (for `-S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetflowPacket<'a> {
    /// The sFlow agent the samples came from.
    pub agent: Address,
    /// The NetFlow packet, ready to send as one UDP payload.
    pub bytes: &'a [u8],
}

/// Turns sFlow datagrams into NetFlow packets; keeps the flow sequence number.
#[derive(Debug)]
pub struct NetflowExporter {
    options: NetflowOptions,
    sequence: u32,
    vlans: Option<Arc<VlanFilter>>,
    packet: Vec<u8>,
}

impl NetflowExporter {
    /// An exporter with `options`, its flow sequence starting at 0 and no VLAN filter.
    pub fn new(options: NetflowOptions) -> Self {
        NetflowExporter {
            options,
            sequence: 0,
            vlans: None,
            packet: Vec::with_capacity(256),
        }
    }

    /// Leaves out the samples the filter rejects (sflowtool's `-V`/`-v`).
    pub fn with_vlan_filter(mut self, filter: Arc<VlanFilter>) -> Self {
        self.vlans = Some(filter);
        self
    }

    /// Calls `send` with each NetFlow packet for the flow samples of the sFlow datagram
    /// `bytes`, exported at `time`; returns how many were made. A datagram that does not
    /// decode, or its samples from the first malformed one on, give none.
    pub fn export(
        &mut self,
        bytes: &[u8],
        time: Timestamp,
        mut send: impl FnMut(NetflowPacket<'_>),
    ) -> u64 {
        let mut made = 0;
        let Ok(payload) = Payload::decode(bytes) else {
            return 0;
        };
        let mut sample_done = |this: &mut Self, agent: Address, state: &SampleState| {
            if this
                .vlans
                .as_deref()
                .is_some_and(|f| !f.accepts_vlans(state.in_vlan, state.out_vlan))
            {
                return;
            }
            for ipv6 in [false, true] {
                if this.encode(state, ipv6, time) {
                    made += 1;
                    send(NetflowPacket {
                        agent,
                        bytes: &this.packet,
                    });
                }
            }
        };
        match payload {
            Payload::V5(datagram) => {
                let agent = datagram.header.agent;
                for sample in datagram.samples() {
                    let Ok(Sample::Flow(flow)) = sample else {
                        if sample.is_err() {
                            break;
                        }
                        continue;
                    };
                    let info = &flow.info;
                    let mut state =
                        SampleState::new(info.input.value, info.output.value, info.sampling_rate);
                    let mut ok = true;
                    for record in flow.records() {
                        match record {
                            Ok(record) => state.record(&record),
                            Err(_) => ok = false,
                        }
                    }
                    if ok {
                        sample_done(self, agent, &state);
                    }
                }
            }
            Payload::Legacy(datagram) => {
                let agent = datagram.agent;
                for sample in datagram.samples() {
                    match sample {
                        Ok(LegacySample::Flow(flow)) => {
                            let info = &flow.info;
                            let mut state =
                                SampleState::new(info.input, info.output, info.sampling_rate);
                            flow.flow_records().for_each(|r| state.record(&r));
                            sample_done(self, agent, &state);
                        }
                        Ok(LegacySample::Counter(_)) => {}
                        Err(_) => break,
                    }
                }
            }
        }
        made
    }

    /// Encodes the IPv4 (or, with `ipv6`, IPv6) packet of a sample into `self.packet`; false
    /// when the sample has no such layer, is a later fragment, or v5 is asked for IPv6.
    fn encode(&mut self, s: &SampleState, ipv6: bool, time: Timestamp) -> bool {
        let has_layer = if ipv6 {
            s.header_ipv6 || s.struct_ipv6
        } else {
            s.header_ipv4 || s.struct_ipv4
        };
        if !has_layer || s.fragment_offset > 0 {
            return false;
        }
        if ipv6 && self.options.version == NetflowVersion::V5 {
            return false;
        }
        let ip_offset = if ipv6 { s.ipv6_offset } else { s.ipv4_offset };
        let bytes = if s.udp_length > 0 {
            s.udp_length
        } else {
            s.packet_size
                .wrapping_sub(s.stripped)
                .wrapping_sub(ip_offset)
        };
        let (packets, bytes, interval) = if self.options.scale {
            (s.sampling_rate, s.sampling_rate.wrapping_mul(bytes), 0)
        } else {
            (1, bytes, s.sampling_rate)
        };
        let (src_as, dst_as) = if self.options.peer_as {
            (s.src_peer_as, s.dst_peer_as)
        } else {
            (s.src_as, s.dst_as)
        };
        let unix_secs = time.secs as u32;
        // Milliseconds since midnight UTC stand in for the router's uptime.
        let uptime = (time.secs % 86_400) as u32 * 1000;
        let sequence = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        let p = &mut self.packet;
        p.clear();
        match self.options.version {
            NetflowVersion::V5 => {
                put16(p, 5);
                put16(p, 1);
                for v in [uptime, unix_secs, 0, sequence] {
                    put32(p, v);
                }
                p.extend_from_slice(&[0, 0]); // engine type, engine id
                // -s: the sampling interval, mode 01 (packet interval) in the top two bits.
                put16(
                    p,
                    if self.options.scale {
                        0
                    } else {
                        (interval as u16) | 0x4000
                    },
                );
                p.extend_from_slice(&ipv4_octets(&s.src_ip));
                p.extend_from_slice(&ipv4_octets(&s.dst_ip));
                p.extend_from_slice(&ipv4_octets(&s.next_hop));
                put16(p, s.input_port as u16);
                put16(p, s.output_port as u16);
                for v in [packets, bytes, uptime, uptime] {
                    put32(p, v);
                }
                put16(p, s.src_port as u16);
                put16(p, s.dst_port as u16);
                p.extend_from_slice(&[0, s.tcp_flags as u8, s.protocol as u8, s.tos as u8]);
                put16(p, src_as as u16);
                put16(p, dst_as as u16);
                p.extend_from_slice(&[s.src_mask as u8, s.dst_mask as u8, 0, 0]);
            }
            NetflowVersion::V9 => {
                let (template, fields): (u16, &[(u16, u16)]) = if ipv6 {
                    (TEMPLATE_IPV6, &FIELDS_IPV6)
                } else {
                    (TEMPLATE_IPV4, &FIELDS_IPV4)
                };
                put16(p, 9);
                put16(p, 2); // a template and a data record
                for v in [uptime, unix_secs, sequence, 0] {
                    put32(p, v);
                }
                // Template flowset.
                put16(p, 0);
                put16(p, (8 + 4 * fields.len()) as u16);
                put16(p, template);
                put16(p, fields.len() as u16);
                for &(id, len) in fields {
                    put16(p, id);
                    put16(p, len);
                }
                // Data flowset, unpadded as sflowtool sends it.
                let record_len: u16 = fields.iter().map(|f| f.1).sum();
                put16(p, template);
                put16(p, 4 + record_len);
                if ipv6 {
                    p.extend_from_slice(&ipv6_octets(&s.src_ip));
                    p.extend_from_slice(&ipv6_octets(&s.dst_ip));
                    p.extend_from_slice(&ipv6_octets(&s.next_hop));
                } else {
                    p.extend_from_slice(&ipv4_octets(&s.src_ip));
                    p.extend_from_slice(&ipv4_octets(&s.dst_ip));
                    p.extend_from_slice(&ipv4_octets(&s.next_hop));
                }
                for v in [s.input_port, s.output_port, packets, bytes, uptime, uptime] {
                    put32(p, v);
                }
                if ipv6 {
                    put32(p, s.flow_label);
                }
                put16(p, s.src_port as u16);
                put16(p, s.dst_port as u16);
                p.extend_from_slice(&[s.tcp_flags as u8, s.protocol as u8, s.tos as u8]);
                put32(p, src_as);
                put32(p, dst_as);
                p.extend_from_slice(&[s.src_mask as u8, s.dst_mask as u8]);
                put32(p, interval);
            }
        }
        true
    }
}

fn put16(p: &mut Vec<u8>, v: u16) {
    p.extend_from_slice(&v.to_be_bytes());
}

fn put32(p: &mut Vec<u8>, v: u32) {
    p.extend_from_slice(&v.to_be_bytes());
}

/// An IPv4 address's octets; 0.0.0.0 for anything else.
fn ipv4_octets(a: &Address) -> [u8; 4] {
    match a {
        Address::V4(ip) => ip.octets(),
        _ => [0; 4],
    }
}

/// An IPv6 address's octets; `::` for anything else.
fn ipv6_octets(a: &Address) -> [u8; 16] {
    match a {
        Address::V6(ip) => ip.octets(),
        _ => [0; 16],
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rtflow_sflow::{
        DataSource, DatagramBuilder, DatagramHeader, ExtendedRouter, FlowRecord, FlowSampleInfo,
        Interface, SampledIpv4,
    };

    use super::*;

    fn datagram() -> Vec<u8> {
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(Ipv4Addr::new(10, 0, 0, 1)),
            sub_agent_id: 0,
            sequence_number: 1,
            uptime_ms: 1,
        });
        builder.flow_sample(
            &FlowSampleInfo {
                sampling_rate: 1000,
                input: Interface::index(70_003),
                output: Interface::index(4),
                source_id: DataSource { class: 0, index: 3 },
                ..Default::default()
            },
            &[
                FlowRecord::SampledIpv4(SampledIpv4 {
                    length: 1500,
                    protocol: 6,
                    src_ip: Ipv4Addr::new(192, 0, 2, 1),
                    dst_ip: Ipv4Addr::new(198, 51, 100, 2),
                    src_port: 443,
                    dst_port: 50_000,
                    tcp_flags: 0x10,
                    tos: 8,
                }),
                FlowRecord::ExtendedRouter(ExtendedRouter {
                    next_hop: Address::V4(Ipv4Addr::new(10, 0, 0, 254)),
                    src_mask_len: 24,
                    dst_mask_len: 16,
                }),
            ],
        );
        builder.finish()
    }

    fn export(options: NetflowOptions) -> Vec<Vec<u8>> {
        let mut exporter = NetflowExporter::new(options);
        let mut packets = Vec::new();
        // 2023-11-14T22:13:20Z: 80,000 s after midnight.
        let time = Timestamp::new(1_700_000_000, 0);
        exporter.export(&datagram(), time, |p| {
            assert_eq!(p.agent, Address::V4(Ipv4Addr::new(10, 0, 0, 1)));
            packets.push(p.bytes.to_vec());
        });
        packets
    }

    #[test]
    fn v5_record_layout_and_scaling() {
        let packets = export(NetflowOptions {
            version: NetflowVersion::V5,
            peer_as: false,
            scale: true,
        });
        assert_eq!(packets.len(), 1);
        let p = &packets[0];
        assert_eq!(p.len(), 24 + 48);
        assert_eq!(&p[0..4], &[0, 5, 0, 1]);
        assert_eq!(&p[4..8], &80_000_000u32.to_be_bytes());
        assert_eq!(&p[8..12], &1_700_000_000u32.to_be_bytes());
        assert_eq!(&p[24..36], &[192, 0, 2, 1, 198, 51, 100, 2, 10, 0, 0, 254]);
        // Interfaces are 16 bits in v5 (70003 wraps to 4467).
        assert_eq!(&p[36..40], &[0x11, 0x73, 0, 4]);
        assert_eq!(&p[40..48], &[0, 0, 0x03, 0xe8, 0, 0x16, 0xe3, 0x60]); // 1000, 1500000
        assert_eq!(&p[56..64], &[0x01, 0xbb, 0xc3, 0x50, 0, 0x10, 6, 8]);
        assert_eq!(&p[68..72], &[24, 16, 0, 0]);
        // -s: one packet of 1500 bytes, the rate in the header (mode bits 01).
        let unscaled = export(NetflowOptions {
            version: NetflowVersion::V5,
            peer_as: false,
            scale: false,
        });
        assert_eq!(&unscaled[0][22..24], &(1000u16 | 0x4000).to_be_bytes());
        assert_eq!(&unscaled[0][40..48], &[0, 0, 0, 1, 0, 0, 0x05, 0xdc]);
    }

    #[test]
    fn v9_packet_is_a_template_and_one_record() {
        let packets = export(NetflowOptions {
            version: NetflowVersion::V9,
            peer_as: false,
            scale: true,
        });
        let p = &packets[0];
        assert_eq!(p.len(), 20 + 84 + 61);
        assert_eq!(&p[0..4], &[0, 9, 0, 2]);
        assert_eq!(&p[20..28], &[0, 0, 0, 84, 1, 0, 0, 19]);
        assert_eq!(&p[104..108], &[1, 0, 0, 61]);
        assert_eq!(&p[108..112], &[192, 0, 2, 1]);
    }
}
