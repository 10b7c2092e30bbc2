//! Synthetic sFlow datagrams with known content, for tests and benchmarks of the history path.

use std::net::{IpAddr, Ipv4Addr};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    DiscardSampleInfo, FlowRecord, FlowSampleInfo, GenericInterfaceCounters, HostDescription,
    Interface, PortName, SampledHeader,
};

/// One sampled packet: addresses, ports, protocol (6 TCP, 17 UDP) and frame length (FCS included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol.
    pub proto: u8,
    /// Frame length in bytes.
    pub frame_length: u32,
}

impl Packet {
    /// A TCP packet.
    pub fn tcp(src: Ipv4Addr, dst: Ipv4Addr, dst_port: u16, frame_length: u32) -> Packet {
        Packet {
            src,
            dst,
            src_port: 40_000,
            dst_port,
            proto: 6,
            frame_length,
        }
    }

    /// The first bytes (Ethernet, IPv4, TCP or UDP) of the frame, as an agent copies them.
    pub fn header(&self) -> Vec<u8> {
        let ip_total = self.frame_length.saturating_sub(14 + 4).min(65_535) as u16;
        let mut h = Vec::with_capacity(54);
        h.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        h.extend_from_slice(&[0x45, 0xb8]); // DSCP 46 (EF)
        h.extend_from_slice(&ip_total.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0x40, 0, 64, self.proto, 0, 0]);
        h.extend_from_slice(&self.src.octets());
        h.extend_from_slice(&self.dst.octets());
        h.extend_from_slice(&self.src_port.to_be_bytes());
        h.extend_from_slice(&self.dst_port.to_be_bytes());
        if self.proto == 6 {
            h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            let udp_len = ip_total.saturating_sub(20);
            h.extend_from_slice(&udp_len.to_be_bytes());
            h.extend_from_slice(&[0, 0]);
        }
        h
    }
}

/// An agent that numbers its datagrams and samples.
#[derive(Clone, Debug)]
pub struct Agent {
    /// The agent address in each datagram.
    pub address: IpAddr,
    /// 1-in-N sampling rate of every flow sample.
    pub sampling_rate: u32,
    datagram_sequence: u32,
    sample_sequence: u32,
}

impl Agent {
    /// An agent at `address` sampling 1 in `sampling_rate`, its sequence numbers starting at 1.
    pub fn new(address: IpAddr, sampling_rate: u32) -> Agent {
        Agent {
            address,
            sampling_rate,
            datagram_sequence: 0,
            sample_sequence: 0,
        }
    }

    fn builder(&mut self) -> DatagramBuilder {
        self.datagram_sequence += 1;
        DatagramBuilder::new(DatagramHeader {
            agent: match self.address {
                IpAddr::V4(a) => Address::V4(a),
                IpAddr::V6(a) => Address::V6(a),
            },
            sub_agent_id: 0,
            sequence_number: self.datagram_sequence,
            uptime_ms: self.datagram_sequence.wrapping_mul(1000),
        })
    }

    /// A datagram with one flow sample per packet, each seen on `input` → `output`.
    pub fn flows(&mut self, input: u32, output: u32, packets: &[Packet]) -> Vec<u8> {
        let mut builder = self.builder();
        for packet in packets {
            self.sample_sequence += 1;
            let header = packet.header();
            builder.flow_sample(
                &FlowSampleInfo {
                    sequence_number: self.sample_sequence,
                    source_id: DataSource {
                        class: 0,
                        index: input,
                    },
                    sampling_rate: self.sampling_rate,
                    sample_pool: self.sample_sequence.wrapping_mul(self.sampling_rate),
                    input: Interface::index(input),
                    output: Interface::index(output),
                    ..Default::default()
                },
                &[FlowRecord::SampledHeader(SampledHeader {
                    protocol: 1,
                    frame_length: packet.frame_length,
                    stripped: 4,
                    header: &header,
                })],
            );
        }
        builder.finish()
    }

    /// A datagram with one discard sample (reason `reason`) of `packet` arriving on `input`.
    pub fn discard(&mut self, input: u32, reason: u32, packet: &Packet) -> Vec<u8> {
        let mut builder = self.builder();
        self.sample_sequence += 1;
        let header = packet.header();
        builder.discard_sample(
            &DiscardSampleInfo {
                sequence_number: self.sample_sequence,
                source_id: DataSource {
                    class: 0,
                    index: input,
                },
                drops: 0,
                input_if_index: input,
                output_if_index: 0,
                reason,
            },
            &[FlowRecord::SampledHeader(SampledHeader {
                protocol: 1,
                frame_length: packet.frame_length,
                stripped: 4,
                header: &header,
            })],
        );
        builder.finish()
    }

    /// A datagram with the agent's host_descr (hostname) and, per `(ifIndex, name, bits/s)`, a port_name and
    /// generic interface counter sample.
    pub fn names(&mut self, hostname: &str, interfaces: &[(u32, &str, u64)]) -> Vec<u8> {
        let mut builder = self.builder();
        builder.counter_sample(
            &CounterSampleInfo {
                sequence_number: 1,
                source_id: DataSource { class: 2, index: 1 },
                expanded: false,
            },
            &[CounterRecord::HostDescription(HostDescription {
                hostname: hostname.as_bytes(),
                ..Default::default()
            })],
        );
        for &(index, name, speed) in interfaces {
            builder.counter_sample(
                &CounterSampleInfo {
                    sequence_number: 1,
                    source_id: DataSource { class: 0, index },
                    expanded: false,
                },
                &[
                    CounterRecord::GenericInterface(GenericInterfaceCounters {
                        if_index: index,
                        if_speed: speed,
                        ..Default::default()
                    }),
                    CounterRecord::PortName(PortName {
                        name: name.as_bytes(),
                    }),
                ],
            );
        }
        builder.finish()
    }

    /// A datagram with one generic interface counter sample (no names) for `index`.
    pub fn counters(&mut self, index: u32, speed: u64, in_octets: u64) -> Vec<u8> {
        let mut builder = self.builder();
        self.sample_sequence += 1;
        builder.counter_sample(
            &CounterSampleInfo {
                sequence_number: self.sample_sequence,
                source_id: DataSource { class: 0, index },
                expanded: false,
            },
            &[CounterRecord::GenericInterface(GenericInterfaceCounters {
                if_index: index,
                if_speed: speed,
                if_in_octets: in_octets,
                ..Default::default()
            })],
        );
        builder.finish()
    }
}
