//! `-l`: sflowtool's `writeFlowLine` / `writeCountersLine`. Each flow sample gives one `FLOW`
//! line built from the state its records leave behind (last writer wins, as in sflowtool); each
//! counter sample gives one `CNTR` line from its generic interface counters (zeros if absent).

use std::io::Write as _;

use rtflow_sflow::{
    Address, CounterRecord, Datagram, DecodeError, FlowRecord, GenericInterfaceCounters,
    LegacyDatagram, LegacySample, Sample,
};

use crate::datagram::SampleCounts;
use crate::state::SampleState;
use crate::values::{push_address, push_hex_lower, push_i32, push_u32, push_u64};
use crate::vlan::VlanFilter;

impl SampleState {
    /// sflowtool's `writeFlowLine`.
    fn write_line(&self, b: &mut Vec<u8>, agent: &Address) {
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
        push_i32(b, self.ipv4_size() as i32);
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
                let mut line = SampleState::new(
                    s.info.input.value,
                    s.info.output.value,
                    s.info.sampling_rate,
                );
                for record in s.records() {
                    let record = record?;
                    if matches!(record, FlowRecord::SampledHeader(_)) {
                        counts.sampled_headers += 1;
                    }
                    line.record(&record);
                }
                if vlans.is_none_or(|f| f.accepts_vlans(line.in_vlan, line.out_vlan)) {
                    line.write_line(b, &agent);
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
                let mut line = SampleState::new(s.info.input, s.info.output, s.info.sampling_rate);
                for record in s.flow_records() {
                    if matches!(record, FlowRecord::SampledHeader(_)) {
                        counts.sampled_headers += 1;
                    }
                    line.record(&record);
                }
                if vlans.is_none_or(|f| f.accepts_vlans(line.in_vlan, line.out_vlan)) {
                    line.write_line(b, &agent);
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
