//! `-l`: sflowtool's `writeFlowLine` / `writeCountersLine`. Each flow sample gives one `FLOW`
//! line built from the state its records leave behind (last writer wins, as in sflowtool); each
//! counter sample gives one `CNTR` line from its generic interface counters (zeros if absent).

use std::io::Write as _;

use rtflow_packet::sflowtool::{self as fields, FieldValue};
use rtflow_sflow::{
    Address, CounterRecord, Datagram, DecodeError, FlowRecord, GenericInterfaceCounters,
    LegacyDatagram, LegacySample, Sample,
};

use crate::datagram::SampleCounts;
use crate::values::{push_address, push_hex_lower, push_i32, push_u32, push_u64};
use crate::vlan::VlanFilter;

#[derive(Default)]
struct FlowLine {
    input_port: u32,
    output_port: u32,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    eth_type: u32,
    in_vlan: u32,
    out_vlan: u32,
    src_ip: Address,
    dst_ip: Address,
    protocol: u32,
    tos: u32,
    ttl: u32,
    src_port: u32,
    dst_port: u32,
    tcp_flags: u32,
    packet_size: u32,
    stripped: u32,
    /// Offset of an IPv4 header in the sampled header (0 if none).
    ipv4_offset: u32,
    sampling_rate: u32,
}

impl FlowLine {
    fn header(&mut self, h: &rtflow_sflow::SampledHeader<'_>) {
        self.packet_size = h.frame_length;
        self.stripped = h.stripped;
        let header = crate::header::walker_input(h);
        let mut ip_size = None;
        fields::for_each_field(&header, |name, value| {
            let number = match value {
                FieldValue::U32(v) => v,
                _ => 0,
            };
            match (name.name, value) {
                ("dstMAC", FieldValue::Mac(mac)) => self.dst_mac = mac,
                ("srcMAC", FieldValue::Mac(mac)) => self.src_mac = mac,
                ("decodedVLAN", _) => self.in_vlan = number,
                ("ethernet_type", _) => self.eth_type = number,
                ("IPSize", FieldValue::I32(size)) => ip_size = Some(size),
                ("srcIP", FieldValue::Ipv4(ip)) => {
                    self.src_ip = Address::V4(ip);
                    // IPSize = frame - stripped - offset of the IPv4 header.
                    if let Some(size) = ip_size {
                        self.ipv4_offset = h
                            .frame_length
                            .wrapping_sub(h.stripped)
                            .wrapping_sub(size as u32);
                    }
                }
                ("dstIP", FieldValue::Ipv4(ip)) => self.dst_ip = Address::V4(ip),
                ("srcIP6", FieldValue::Ipv6(ip)) => self.src_ip = Address::V6(ip),
                ("dstIP6", FieldValue::Ipv6(ip)) => self.dst_ip = Address::V6(ip),
                ("IPProtocol", _) => self.protocol = number,
                ("IPTOS", _) => self.tos = number,
                ("IPTTL", _) => self.ttl = number,
                ("TCPSrcPort" | "UDPSrcPort" | "ICMPType", _) => self.src_port = number,
                ("TCPDstPort" | "UDPDstPort" | "ICMPCode", _) => self.dst_port = number,
                ("TCPFlags", _) => self.tcp_flags = number,
                _ => {}
            }
        });
    }

    fn record(&mut self, record: &FlowRecord<'_>) {
        match record {
            FlowRecord::SampledHeader(h) => self.header(h),
            FlowRecord::SampledEthernet(e)
            | FlowRecord::ExtendedL2TunnelEgress(e)
            | FlowRecord::ExtendedL2TunnelIngress(e) => {
                self.src_mac = e.src_mac.0;
                self.dst_mac = e.dst_mac.0;
                self.eth_type = e.eth_type;
            }
            FlowRecord::SampledIpv4(ip)
            | FlowRecord::ExtendedIpv4TunnelEgress(ip)
            | FlowRecord::ExtendedIpv4TunnelIngress(ip) => {
                self.ip_struct(ip.length, ip.src_ip.into(), ip.dst_ip.into(), ip.protocol);
                self.tos = ip.tos;
                self.ports(ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
            }
            FlowRecord::SampledIpv6(ip)
            | FlowRecord::ExtendedIpv6TunnelEgress(ip)
            | FlowRecord::ExtendedIpv6TunnelIngress(ip) => {
                self.ip_struct(
                    ip.length,
                    Address::V6(ip.src_ip),
                    Address::V6(ip.dst_ip),
                    ip.protocol,
                );
                self.ports(ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
            }
            FlowRecord::ExtendedSwitch(s) => {
                self.in_vlan = s.src_vlan;
                self.out_vlan = s.dst_vlan;
            }
            _ => {}
        }
    }

    fn ip_struct(&mut self, length: u32, src: Address, dst: Address, protocol: u32) {
        self.packet_size = length;
        self.src_ip = src;
        self.dst_ip = dst;
        self.protocol = protocol;
    }

    fn ports(&mut self, protocol: u32, src: u32, dst: u32, tcp_flags: u32) {
        self.src_port = src;
        self.dst_port = dst;
        if protocol == 6 {
            self.tcp_flags = tcp_flags;
        }
    }

    fn write(&self, b: &mut Vec<u8>, agent: &Address) {
        b.extend_from_slice(b"FLOW,");
        push_address(b, agent);
        // sflowtool prints these with %d.
        for v in [self.input_port, self.output_port] {
            b.push(b',');
            push_i32(b, v as i32);
        }
        b.push(b',');
        push_hex_lower(b, &self.src_mac);
        b.push(b',');
        push_hex_lower(b, &self.dst_mac);
        let _ = write!(b, ",0x{:04x},", self.eth_type);
        push_i32(b, self.in_vlan as i32);
        b.push(b',');
        push_i32(b, self.out_vlan as i32);
        b.push(b',');
        push_address(b, &self.src_ip);
        b.push(b',');
        push_address(b, &self.dst_ip);
        b.push(b',');
        push_i32(b, self.protocol as i32);
        let _ = write!(b, ",0x{:02x},", self.tos);
        push_i32(b, self.ttl as i32);
        b.push(b',');
        push_i32(b, self.src_port as i32);
        b.push(b',');
        push_i32(b, self.dst_port as i32);
        let _ = write!(b, ",0x{:02x},", self.tcp_flags);
        push_i32(b, self.packet_size as i32);
        b.push(b',');
        let ip_size = self
            .packet_size
            .wrapping_sub(self.stripped)
            .wrapping_sub(self.ipv4_offset);
        push_i32(b, ip_size as i32);
        b.push(b',');
        push_i32(b, self.sampling_rate as i32);
        b.push(b'\n');
    }
}

fn write_counters_line(b: &mut Vec<u8>, agent: &Address, c: &GenericInterfaceCounters) {
    b.extend_from_slice(b"CNTR,");
    push_address(b, agent);
    let next_u32 = |b: &mut Vec<u8>, v: u32| {
        b.push(b',');
        push_u32(b, v);
    };
    next_u32(b, c.if_index);
    next_u32(b, c.if_type);
    b.push(b',');
    push_u64(b, c.if_speed);
    next_u32(b, c.if_direction);
    next_u32(b, c.if_status);
    b.push(b',');
    push_u64(b, c.if_in_octets);
    for v in [
        c.if_in_ucast_pkts,
        c.if_in_multicast_pkts,
        c.if_in_broadcast_pkts,
        c.if_in_discards,
        c.if_in_errors,
        c.if_in_unknown_protos,
    ] {
        next_u32(b, v);
    }
    b.push(b',');
    push_u64(b, c.if_out_octets);
    for v in [
        c.if_out_ucast_pkts,
        c.if_out_multicast_pkts,
        c.if_out_broadcast_pkts,
        c.if_out_discards,
        c.if_out_errors,
        c.if_promiscuous_mode,
    ] {
        next_u32(b, v);
    }
    b.push(b'\n');
}

/// `vlans`: flow samples it rejects get no `FLOW` line (counter samples are not filtered).
pub(crate) fn write_datagram(
    b: &mut Vec<u8>,
    datagram: &Datagram<'_>,
    vlans: Option<&VlanFilter>,
) -> Result<SampleCounts, DecodeError> {
    let agent = datagram.header.agent;
    let mut counts = SampleCounts::default();
    for sample in datagram.samples() {
        match sample? {
            Sample::Flow(s) => {
                counts.flow_samples += 1;
                let mut line = FlowLine {
                    input_port: s.info.input.value,
                    output_port: s.info.output.value,
                    sampling_rate: s.info.sampling_rate,
                    ..FlowLine::default()
                };
                for record in s.records() {
                    let record = record?;
                    if matches!(record, FlowRecord::SampledHeader(_)) {
                        counts.sampled_headers += 1;
                    }
                    line.record(&record);
                }
                if vlans.is_none_or(|f| f.accepts_vlans(line.in_vlan, line.out_vlan)) {
                    line.write(b, &agent);
                }
            }
            Sample::Counter(s) => {
                counts.counter_samples += 1;
                let mut generic = GenericInterfaceCounters::default();
                for record in s.records() {
                    if let CounterRecord::GenericInterface(c) = record? {
                        generic = c;
                    }
                }
                write_counters_line(b, &agent, &generic);
            }
            Sample::Discard(s) => {
                counts.discard_samples += 1;
                // Decode the records anyway so a malformed sample is reported.
                for record in s.records() {
                    record?;
                }
            }
            Sample::Unknown(_) => counts.other_samples += 1,
        }
    }
    Ok(counts)
}

/// `-l` for an sFlow v2/v4 datagram: the same `FLOW` and `CNTR` lines (a VLAN counters sample,
/// which has no generic counters, gives a line of zeros, as in sflowtool).
pub(crate) fn write_legacy_datagram(
    b: &mut Vec<u8>,
    datagram: &LegacyDatagram<'_>,
    vlans: Option<&VlanFilter>,
) -> Result<SampleCounts, DecodeError> {
    let agent = datagram.agent;
    let mut counts = SampleCounts::default();
    for sample in datagram.samples() {
        match sample? {
            LegacySample::Flow(s) => {
                counts.flow_samples += 1;
                let mut line = FlowLine {
                    input_port: s.info.input,
                    output_port: s.info.output,
                    sampling_rate: s.info.sampling_rate,
                    ..FlowLine::default()
                };
                for record in s.flow_records() {
                    if matches!(record, FlowRecord::SampledHeader(_)) {
                        counts.sampled_headers += 1;
                    }
                    line.record(&record);
                }
                if vlans.is_none_or(|f| f.accepts_vlans(line.in_vlan, line.out_vlan)) {
                    line.write(b, &agent);
                }
            }
            LegacySample::Counter(s) => {
                counts.counter_samples += 1;
                write_counters_line(b, &agent, &s.generic.unwrap_or_default());
            }
        }
    }
    Ok(counts)
}
