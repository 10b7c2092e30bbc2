//! `-l`: sflowtool's `writeFlowLine` / `writeCountersLine`. Each flow sample gives one `FLOW`
//! line built from the state its records leave behind (last writer wins, as in sflowtool); each
//! counter sample gives one `CNTR` line from its generic interface counters (zeros if absent).

use std::io::Write as _;

use rtflow_sflow::{
    Address, CounterRecord, CounterSample, DecodeError, FlowRecord, FlowSample,
    GenericInterfaceCounters, LegacyCounterSample, LegacyFlowSample,
};

use crate::samples::SampleSink;
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

/// The `FLOW` and `CNTR` lines of a datagram's samples.
pub(crate) struct CsvLines<'b, 'f> {
    pub(crate) b: &'b mut Vec<u8>,
    pub(crate) agent: Address,
    /// Flow samples it rejects get no `FLOW` line (counter samples are not filtered).
    pub(crate) vlans: Option<&'f VlanFilter>,
}

impl CsvLines<'_, '_> {
    fn flow_line(&mut self, line: &SampleState) {
        if self
            .vlans
            .is_none_or(|f| f.accepts_vlans(line.in_vlan, line.out_vlan))
        {
            line.write_line(self.b, &self.agent);
        }
    }
}

impl SampleSink for CsvLines<'_, '_> {
    fn flow_sample(&mut self, s: &FlowSample<'_>) -> Result<u64, DecodeError> {
        let mut line = SampleState::new(
            s.info.input.value,
            s.info.output.value,
            s.info.sampling_rate,
        );
        let mut headers = 0;
        for record in s.records() {
            let record = record?;
            if matches!(record, FlowRecord::SampledHeader(_)) {
                headers += 1;
            }
            line.record(&record);
        }
        self.flow_line(&line);
        Ok(headers)
    }

    fn counter_sample(&mut self, s: &CounterSample<'_>) -> Result<(), DecodeError> {
        let mut generic = GenericInterfaceCounters::default();
        for record in s.records() {
            if let CounterRecord::GenericInterface(c) = record? {
                generic = c;
            }
        }
        write_counters_line(self.b, &self.agent, &generic);
        Ok(())
    }

    /// The same lines for sFlow v2/v4.
    fn legacy_flow_sample(&mut self, s: &LegacyFlowSample<'_>) -> u64 {
        let mut line = SampleState::new(s.info.input, s.info.output, s.info.sampling_rate);
        let mut headers = 0;
        for record in s.flow_records() {
            if matches!(record, FlowRecord::SampledHeader(_)) {
                headers += 1;
            }
            line.record(&record);
        }
        self.flow_line(&line);
        headers
    }

    /// A VLAN counters sample, which has no generic counters, gives a line of zeros, as in
    /// sflowtool.
    fn legacy_counter_sample(&mut self, s: &LegacyCounterSample) {
        write_counters_line(self.b, &self.agent, &s.generic.unwrap_or_default());
    }
}
