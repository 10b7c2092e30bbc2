//! One flow-table row per sFlow flow sample or discard sample, decoded from the datagram bytes.
//!
//! The exporter decodes datagrams itself (on its own thread, never under the engine's lock) with the same
//! decoders the engine uses. Counter samples are not stored, but the names they carry (host_descr's
//! hostname, port_name, the generic interface's speed) are remembered per agent to label later rows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use rtflow_packet::{Headers, PacketFields};
use rtflow_sflow::{
    Address, CounterRecord, Datagram, DecodeError, FlowRecord, FlowRecords, InterfaceKind, Sample,
};

/// Most agents whose counter-sample names are remembered (hostile input cannot grow memory beyond this).
const MAX_LEARNED_AGENTS: usize = 16_384;
/// Most interfaces remembered per agent.
const MAX_LEARNED_INTERFACES: usize = 4_096;

/// One stored sample. Bytes and packets are already scaled by the sampling rate; names are filled in at
/// encoding time from SNMP and from what the agent's counter samples said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowRow {
    /// Receive time, seconds since the epoch.
    pub time_received: u32,
    /// 1-in-N (1 for discard samples, and when the agent sent 0).
    pub sampling_rate: u32,
    /// The datagram's agent address (not the UDP source).
    pub exporter: Option<IpAddr>,
    /// The datagram's sub-agent id.
    pub sub_agent: u32,
    /// Data source class (0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry) and index.
    pub source_class: u8,
    /// Data source index (an ifIndex for class 0).
    pub source_index: u32,
    /// Input/output ifIndex; 0 when unknown, internal, multiple or discarded.
    pub in_if: u32,
    /// Output ifIndex (see `in_if`).
    pub out_if: u32,
    /// A discard sample (sFlow 0:5), or a flow sample whose output says "discarded".
    pub discarded: bool,
    /// Why the packet was dropped (sFlow drop reason code), 0 for a forwarded packet.
    pub discard_reason: u32,
    /// EtherType of the sampled frame.
    pub etype: u16,
    /// Source MAC address as a 48-bit number.
    pub src_mac: u64,
    /// Destination MAC address as a 48-bit number.
    pub dst_mac: u64,
    /// VLAN the frame arrived on (802.1Q tag or extended_switch).
    pub src_vlan: u16,
    /// VLAN the frame left on (extended_switch), else the same as `src_vlan`.
    pub dst_vlan: u16,
    /// IP source address.
    pub src_addr: Option<IpAddr>,
    /// IP destination address.
    pub dst_addr: Option<IpAddr>,
    /// IP protocol.
    pub proto: u8,
    /// TCP or UDP source port.
    pub src_port: u16,
    /// TCP or UDP destination port.
    pub dst_port: u16,
    /// TCP flag bits (9 bits: NS … FIN).
    pub tcp_flags: u16,
    /// Differentiated services code point.
    pub dscp: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ip_ttl: u8,
    /// Length of the sampled frame (bytes on the wire, as the agent reported it).
    pub frame_length: u32,
    /// Addresses and protocol inside a VXLAN, Geneve, GRE or IP-in-IP tunnel.
    pub inner_src_addr: Option<IpAddr>,
    /// Inner destination address.
    pub inner_dst_addr: Option<IpAddr>,
    /// Inner IP protocol.
    pub inner_proto: u8,
    /// extended_router / extended_gateway.
    pub next_hop: Option<IpAddr>,
    /// Source AS (extended_gateway).
    pub src_as: u32,
    /// Destination AS (extended_gateway).
    pub dst_as: u32,
    /// Source prefix length (extended_router).
    pub src_mask: u8,
    /// Destination prefix length (extended_router).
    pub dst_mask: u8,
    /// `frame_length × sampling_rate`.
    pub bytes: u64,
    /// `sampling_rate` (each sample stands for that many packets).
    pub packets: u64,
}

/// What the agent's own counter samples said about it.
#[derive(Clone, Debug, Default)]
pub struct LearnedAgent {
    /// host_descr (0:2000) hostname.
    pub host_name: Option<Arc<str>>,
    /// ifIndex → (port_name (0:1005), generic interface speed in Mbit/s).
    pub interfaces: HashMap<u32, LearnedInterface>,
}

/// An interface's name and speed from counter samples.
#[derive(Clone, Debug, Default)]
pub struct LearnedInterface {
    /// port_name (0:1005), when sent.
    pub name: Option<Arc<str>>,
    /// Speed from the generic interface counters, in Mbit/s.
    pub speed_mbps: u32,
}

/// What one datagram gave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Rows of flow samples.
    pub flow_rows: u32,
    /// Rows of discard samples.
    pub discard_rows: u32,
}

/// Turns datagrams into [`FlowRow`]s and remembers the names counter samples carry.
#[derive(Debug, Default)]
pub struct RowDecoder {
    learned: HashMap<IpAddr, LearnedAgent>,
}

impl RowDecoder {
    /// What counter samples said about `agent`.
    pub fn learned(&self, agent: IpAddr) -> Option<&LearnedAgent> {
        self.learned.get(&agent)
    }

    /// Appends one row per flow or discard sample of the datagram to `rows`. Samples before a malformed one
    /// are kept (as the engine keeps them); the error is returned after them.
    pub fn decode(
        &mut self,
        received_ms: u64,
        bytes: &[u8],
        rows: &mut Vec<FlowRow>,
    ) -> Result<DecodeSummary, RowDecodeError> {
        let datagram = Datagram::decode(bytes).map_err(RowDecodeError::Decode)?;
        let exporter = match datagram.header.agent {
            Address::V4(a) => IpAddr::V4(a),
            Address::V6(a) => IpAddr::V6(a),
            Address::Unknown => return Err(RowDecodeError::UnknownAgentAddress),
        };
        let time_received = u32::try_from(received_ms / 1000).unwrap_or(u32::MAX);
        let base = FlowRow {
            time_received,
            exporter: Some(exporter),
            sub_agent: datagram.header.sub_agent_id,
            ..FlowRow::default()
        };
        let mut summary = DecodeSummary::default();
        for sample in datagram.samples() {
            match sample.map_err(RowDecodeError::Decode)? {
                Sample::Flow(flow) => {
                    let info = &flow.info;
                    let rate = info.sampling_rate.max(1);
                    let mut row = FlowRow {
                        sampling_rate: rate,
                        source_class: u8::try_from(info.source_id.class).unwrap_or(u8::MAX),
                        source_index: info.source_id.index,
                        ..base.clone()
                    };
                    row.in_if = if_index(info.input.kind());
                    row.out_if = if_index(info.output.kind());
                    if let InterfaceKind::Discarded(reason) = info.output.kind() {
                        row.discarded = true;
                        row.discard_reason = reason;
                    }
                    apply_records(&mut row, flow.records());
                    rows.push(row);
                    summary.flow_rows += 1;
                }
                Sample::Discard(discard) => {
                    let info = &discard.info;
                    let mut row = FlowRow {
                        sampling_rate: 1,
                        source_class: u8::try_from(info.source_id.class).unwrap_or(u8::MAX),
                        source_index: info.source_id.index,
                        in_if: info.input_if_index,
                        out_if: info.output_if_index,
                        discarded: true,
                        discard_reason: info.reason,
                        ..base.clone()
                    };
                    apply_records(&mut row, discard.records());
                    rows.push(row);
                    summary.discard_rows += 1;
                }
                Sample::Counter(counters) => {
                    let source = counters.info.source_id;
                    for record in counters.records().flatten() {
                        self.learn(exporter, source.class, source.index, &record);
                    }
                }
                Sample::Unknown(_) => {}
            }
        }
        Ok(summary)
    }

    fn learn(&mut self, agent: IpAddr, class: u32, index: u32, record: &CounterRecord<'_>) {
        if !self.learned.contains_key(&agent) && self.learned.len() >= MAX_LEARNED_AGENTS {
            return;
        }
        let text = |bytes: &[u8]| -> Option<Arc<str>> {
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim_end_matches('\0');
            (!text.is_empty()).then(|| Arc::from(text))
        };
        match record {
            CounterRecord::HostDescription(host) => {
                if let Some(name) = text(host.hostname) {
                    let learned = self.learned.entry(agent).or_default();
                    if learned.host_name.as_deref() != Some(&*name) {
                        learned.host_name = Some(name);
                    }
                }
            }
            CounterRecord::PortName(port) if class == 0 => {
                if let Some(name) = text(port.name)
                    && let Some(interface) = self.interface(agent, index)
                    && interface.name.as_deref() != Some(&*name)
                {
                    interface.name = Some(name);
                }
            }
            CounterRecord::GenericInterface(generic) => {
                let speed = u32::try_from(generic.if_speed / 1_000_000).unwrap_or(u32::MAX);
                if let Some(interface) = self.interface(agent, generic.if_index) {
                    interface.speed_mbps = speed;
                }
            }
            _ => {}
        }
    }

    fn interface(&mut self, agent: IpAddr, index: u32) -> Option<&mut LearnedInterface> {
        let interfaces = &mut self.learned.entry(agent).or_default().interfaces;
        if !interfaces.contains_key(&index) && interfaces.len() >= MAX_LEARNED_INTERFACES {
            return None;
        }
        Some(interfaces.entry(index).or_default())
    }
}

/// A datagram that yields no (more) rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowDecodeError {
    /// The datagram itself does not decode.
    #[error("{0}")]
    Decode(DecodeError),
    /// The agent address type is 0 (unknown): rows need an exporter address.
    #[error("agent address is unknown (address type 0)")]
    UnknownAgentAddress,
}

/// The stored ifIndex: 0 for unknown, the agent itself (0x3fffffff, as Akvorado does), several ports or a
/// discard.
fn if_index(kind: InterfaceKind) -> u32 {
    match kind {
        InterfaceKind::Index(0x3FFF_FFFF) => 0,
        InterfaceKind::Index(index) => index,
        _ => 0,
    }
}

fn mac_number(mac: [u8; 6]) -> u64 {
    mac.iter().fold(0, |n, byte| (n << 8) | u64::from(*byte))
}

fn address(a: Address) -> Option<IpAddr> {
    a.ip()
}

/// Fills the row from the sample's records. A sampled header wins over the sampled_ethernet / sampled_ipv4 /
/// sampled_ipv6 summaries; extended_switch VLANs win over the header's 802.1Q tag.
fn apply_records(row: &mut FlowRow, records: FlowRecords<'_>) {
    let mut have_header = false;
    let mut switch_vlans = None;
    for record in records.flatten() {
        match record {
            FlowRecord::SampledHeader(header) => {
                have_header = true;
                row.frame_length = header.frame_length;
                let fields = rtflow_packet::decode(header.protocol, header.header);
                apply_header(row, &fields);
            }
            FlowRecord::SampledEthernet(ethernet) if !have_header => {
                row.frame_length = ethernet.length;
                row.src_mac = mac_number(ethernet.src_mac.0);
                row.dst_mac = mac_number(ethernet.dst_mac.0);
                row.etype = u16::try_from(ethernet.eth_type).unwrap_or(0);
            }
            FlowRecord::SampledIpv4(ip) if !have_header => {
                if row.frame_length == 0 {
                    row.frame_length = ip.length;
                }
                row.etype = 0x0800;
                row.src_addr = Some(IpAddr::V4(ip.src_ip));
                row.dst_addr = Some(IpAddr::V4(ip.dst_ip));
                row.proto = u8::try_from(ip.protocol).unwrap_or(0);
                row.src_port = u16::try_from(ip.src_port).unwrap_or(0);
                row.dst_port = u16::try_from(ip.dst_port).unwrap_or(0);
                row.tcp_flags = u16::try_from(ip.tcp_flags).unwrap_or(0);
                row.dscp = (ip.tos >> 2) as u8 & 0x3f;
            }
            FlowRecord::SampledIpv6(ip) if !have_header => {
                if row.frame_length == 0 {
                    row.frame_length = ip.length;
                }
                row.etype = 0x86dd;
                row.src_addr = Some(IpAddr::V6(ip.src_ip));
                row.dst_addr = Some(IpAddr::V6(ip.dst_ip));
                row.proto = u8::try_from(ip.protocol).unwrap_or(0);
                row.src_port = u16::try_from(ip.src_port).unwrap_or(0);
                row.dst_port = u16::try_from(ip.dst_port).unwrap_or(0);
                row.tcp_flags = u16::try_from(ip.tcp_flags).unwrap_or(0);
                row.dscp = (ip.priority >> 2) as u8 & 0x3f;
            }
            FlowRecord::ExtendedSwitch(switch) => {
                switch_vlans = Some((switch.src_vlan, switch.dst_vlan));
            }
            FlowRecord::ExtendedRouter(router) => {
                if let Some(next_hop) = address(router.next_hop) {
                    row.next_hop = Some(next_hop);
                }
                row.src_mask = u8::try_from(router.src_mask_len).unwrap_or(0);
                row.dst_mask = u8::try_from(router.dst_mask_len).unwrap_or(0);
            }
            FlowRecord::ExtendedGateway(gateway) => {
                row.src_as = gateway.src_as;
                row.dst_as = gateway.dst_as();
                if row.next_hop.is_none() {
                    row.next_hop = address(gateway.next_hop);
                }
            }
            _ => {}
        }
    }
    if let Some((src, dst)) = switch_vlans {
        row.src_vlan = u16::try_from(src).unwrap_or(0);
        row.dst_vlan = u16::try_from(dst).unwrap_or(0);
    }
    let rate = u64::from(row.sampling_rate.max(1));
    row.bytes = u64::from(row.frame_length) * rate;
    row.packets = rate;
}

fn apply_header(row: &mut FlowRow, fields: &PacketFields) {
    let outer: &Headers = &fields.outer;
    if let Some(ethernet) = outer.ethernet {
        row.src_mac = mac_number(ethernet.src);
        row.dst_mac = mac_number(ethernet.dst);
        row.etype = ethernet.ethertype;
    } else if outer.ipv4.is_some() {
        row.etype = 0x0800;
    } else if outer.ipv6.is_some() {
        row.etype = 0x86dd;
    }
    if let Some(vlan) = outer.vlan() {
        row.src_vlan = vlan;
        row.dst_vlan = vlan;
    }
    row.src_addr = outer.ip_src();
    row.dst_addr = outer.ip_dst();
    row.proto = outer.ip_protocol().unwrap_or(0);
    row.src_port = outer.src_port().unwrap_or(0);
    row.dst_port = outer.dst_port().unwrap_or(0);
    row.tcp_flags = outer.tcp.map_or(0, |tcp| tcp.flags);
    if let Some(ip) = outer.ipv4 {
        row.dscp = ip.tos >> 2;
        row.ip_ttl = ip.ttl;
    } else if let Some(ip) = outer.ipv6 {
        row.dscp = ip.traffic_class >> 2;
        row.ip_ttl = ip.hop_limit;
    }
    if let Some(inner) = &fields.inner {
        row.inner_src_addr = inner.ip_src();
        row.inner_dst_addr = inner.ip_dst();
        row.inner_proto = inner.ip_protocol().unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::synth::{Agent, Packet};

    const AGENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    fn decode(decoder: &mut RowDecoder, bytes: &[u8]) -> Vec<FlowRow> {
        let mut rows = Vec::new();
        decoder.decode(1_700_000_000_123, bytes, &mut rows).unwrap();
        rows
    }

    #[test]
    fn a_flow_sample_becomes_a_scaled_row() {
        let mut agent = Agent::new(AGENT.into(), 512);
        let packet = Packet::tcp(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            443,
            1_500,
        );
        let rows = decode(&mut RowDecoder::default(), &agent.flows(3, 7, &[packet]));
        let [row] = rows.as_slice() else {
            panic!("one row expected, got {rows:?}")
        };
        assert_eq!(row.time_received, 1_700_000_000);
        assert_eq!(row.exporter, Some(IpAddr::V4(AGENT)));
        assert_eq!((row.in_if, row.out_if), (3, 7));
        assert_eq!((row.source_class, row.source_index), (0, 3));
        assert_eq!(row.sampling_rate, 512);
        assert_eq!(row.bytes, 1_500 * 512);
        assert_eq!(row.packets, 512);
        assert_eq!(row.frame_length, 1_500);
        assert_eq!(row.etype, 0x0800);
        assert_eq!(row.src_addr, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(row.dst_addr, Some("10.0.0.2".parse().unwrap()));
        assert_eq!((row.proto, row.src_port, row.dst_port), (6, 40_000, 443));
        assert_eq!(row.tcp_flags, 0x18);
        assert_eq!((row.dscp, row.ip_ttl), (46, 64));
        assert_eq!(row.src_mac, 0x0200_0000_0001);
        assert_eq!(row.dst_mac, 0x0200_0000_0002);
        assert!(!row.discarded);
    }

    #[test]
    fn a_discard_sample_is_marked_with_its_reason() {
        let mut agent = Agent::new(AGENT.into(), 100);
        let packet = Packet::tcp(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            22,
            100,
        );
        let mut decoder = RowDecoder::default();
        let mut rows = Vec::new();
        let summary = decoder
            .decode(0, &agent.discard(4, 258, &packet), &mut rows)
            .unwrap();
        assert_eq!(summary.discard_rows, 1);
        assert!(rows[0].discarded);
        assert_eq!(rows[0].discard_reason, 258);
        assert_eq!((rows[0].sampling_rate, rows[0].bytes), (1, 100));
        assert_eq!(rows[0].in_if, 4);
    }

    #[test]
    fn counter_samples_teach_names_and_speeds() {
        let mut agent = Agent::new(AGENT.into(), 100);
        let mut decoder = RowDecoder::default();
        let rows = decode(
            &mut decoder,
            &agent.names("leaf1", &[(3, "swp3", 10_000_000_000)]),
        );
        assert!(rows.is_empty());
        let learned = decoder.learned(IpAddr::V4(AGENT)).unwrap();
        assert_eq!(learned.host_name.as_deref(), Some("leaf1"));
        let swp3 = &learned.interfaces[&3];
        assert_eq!(
            (swp3.name.as_deref(), swp3.speed_mbps),
            (Some("swp3"), 10_000)
        );
    }

    #[test]
    fn malformed_datagrams_are_errors_not_panics() {
        let mut decoder = RowDecoder::default();
        let mut rows = Vec::new();
        assert!(decoder.decode(0, b"\x00\x00\x00\x05", &mut rows).is_err());
        let mut agent = Agent::new(AGENT.into(), 1);
        let packet = Packet::tcp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, 64);
        let good = agent.flows(1, 2, &[packet, packet]);
        for cut in 0..good.len() {
            let _ = decoder.decode(0, &good[..cut], &mut rows);
        }
    }
}
