//! One datagram in sflowtool's text / JSON / CSV forms: the datagram header fields, the sample
//! framing and dispatch to the flow and counter record writers.

use std::net::IpAddr;
use std::sync::Arc;

use rtflow_capture::Timestamp;
use rtflow_sflow::{
    CounterSample, Datagram, DecodeError, DiscardSample, FlowSample, Interface,
    LegacyCounterSample, LegacyDatagram, LegacyFlowSample, Opaque, SFLOW_VERSION_2,
    SFLOW_VERSION_4, Tag,
};

use crate::clf::LogLines;
use crate::csv::CsvLines;
use crate::out::{Grep, GrepContext, Json, JsonPretty, Out, StyleKind, Text};
use crate::samples::{SampleSink, walk_payload, walk_samples};
use crate::time::write_utc_iso8601;
use crate::values::{push_ipv4, push_ipv6, push_u32, push_u64};
use crate::vlan::VlanFilter;
use crate::{counter, flow, legacy};

/// Output format of [`Formatter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// sflowtool's default `key value` lines with start/end markers.
    Text,
    /// `-j`: one compact JSON object per datagram, one line each.
    Json,
    /// `-J`: indented JSON as sflowtool prints it, followed by a blank line.
    JsonPretty,
    /// `-l`: one CSV line per flow sample (`FLOW,...`) and per counter sample (`CNTR,...`).
    Csv,
    /// `-g`: the text lines, each prefixed with `timestamp agent subAgentId datagramSequenceNo
    /// sourceClass:sourceIndex sampleTag elementTag` (sflowtool's "grep-friendly" form).
    Grep,
    /// `-H`: one HTTP common log format line per flow sample with an HTTP request record.
    Clf,
}

/// Where a datagram came from, for the datagram-level fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatagramInfo {
    /// UDP source address (`datagramSourceIP`); `None` prints `-`, as sflowtool does for
    /// datagrams read from a pcap file.
    pub source: Option<IpAddr>,
    /// Receive time of a live datagram (`unixSecondsUTC`, `localtime`); `None` prints the epoch,
    /// as sflowtool does for file input.
    pub received: Option<Timestamp>,
    /// Capture time of a datagram read from a file (`pcapTimestamp` lines), `None` for live input.
    pub pcap_timestamp: Option<Timestamp>,
}

/// What one datagram held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleCounts {
    /// Flow samples (0:1 and 0:3).
    pub flow_samples: u64,
    /// Counter samples (0:2 and 0:4).
    pub counter_samples: u64,
    /// Discard samples (0:5).
    pub discard_samples: u64,
    /// Samples of other types (printed as placeholders).
    pub other_samples: u64,
    /// Sampled header records (0:1) in flow samples.
    pub sampled_headers: u64,
}

impl SampleCounts {
    /// Adds another datagram's counts.
    pub fn add(&mut self, other: &SampleCounts) {
        self.flow_samples += other.flow_samples;
        self.counter_samples += other.counter_samples;
        self.discard_samples += other.discard_samples;
        self.other_samples += other.other_samples;
        self.sampled_headers += other.sampled_headers;
    }
}

/// Formats datagrams in one [`Format`].
#[derive(Clone, Debug)]
pub struct Formatter {
    format: Format,
    vlans: Option<Arc<VlanFilter>>,
}

impl Formatter {
    /// A formatter for `format`, printing every sample (no VLAN filter).
    pub fn new(format: Format) -> Self {
        Formatter {
            format,
            vlans: None,
        }
    }

    /// Drops the lines of flow samples the filter rejects ([`Format::Csv`] and [`Format::Clf`]
    /// only: like sflowtool, the other formats print every sample as it is decoded).
    pub fn with_vlan_filter(mut self, filter: Arc<VlanFilter>) -> Self {
        self.vlans = Some(filter);
        self
    }

    /// The format this formatter writes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Decodes `bytes` as an sFlow datagram (v5, or v2/v4 as sflowtool prints them) and appends
    /// its output to `out`.
    ///
    /// On a decode error nothing is appended (`out` is truncated back) and the error, which
    /// carries the byte offset of the fault, is returned. The exception is a payload that is not
    /// sFlow ([`DecodeError::NotSflowV5`]): the formats that print whole datagrams (text, JSON,
    /// `-g`) keep sflowtool's header-only record for it (the datagram fields up to
    /// `datagramVersion`), so that every datagram gives one record.
    pub fn write_datagram(
        &self,
        info: &DatagramInfo,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<SampleCounts, DecodeError> {
        let start = out.len();
        let size = bytes.len();
        let result = Payload::decode(bytes).and_then(|payload| match self.format {
            Format::Text => write_payload(&mut Out::<Text>::new(out), info, size, &payload),
            Format::Json => write_payload(&mut Out::<Json>::new(out), info, size, &payload),
            Format::JsonPretty => {
                write_payload(&mut Out::<JsonPretty>::new(out), info, size, &payload)
            }
            Format::Grep => write_payload(&mut Out::<Grep>::new(out), info, size, &payload),
            Format::Csv => {
                let agent = match &payload {
                    Payload::V5(datagram) => datagram.header.agent,
                    Payload::Legacy(datagram) => datagram.agent,
                };
                let vlans = self.vlans.as_deref();
                walk_payload(
                    &payload,
                    &mut CsvLines {
                        b: out,
                        agent,
                        vlans,
                    },
                )
            }
            Format::Clf => {
                let time = info.pcap_timestamp.or(info.received).unwrap_or_default();
                let vlans = self.vlans.as_deref();
                // No HTTP records before sFlow v5: nothing to print for v2/v4.
                walk_payload(
                    &payload,
                    &mut LogLines {
                        b: out,
                        secs: time.secs,
                        vlans,
                    },
                )
            }
        });
        if result.is_err() {
            out.truncate(start);
        }
        match result {
            Err(DecodeError::NotSflowV5 { version }) => {
                match self.format {
                    Format::Text => not_sflow(&mut Out::<Text>::new(out), info, size, version),
                    Format::Json => not_sflow(&mut Out::<Json>::new(out), info, size, version),
                    Format::JsonPretty => {
                        not_sflow(&mut Out::<JsonPretty>::new(out), info, size, version);
                    }
                    Format::Grep => not_sflow(&mut Out::<Grep>::new(out), info, size, version),
                    Format::Csv | Format::Clf => {}
                }
                Err(DecodeError::NotSflowV5 { version })
            }
            result => result,
        }
    }
}

/// A line-oriented output format: appends the output of each datagram to a caller-owned buffer.
/// [`Formatter`] (text, JSON, CSV, `-g`, `-H`) and [`FieldLines`](crate::FieldLines) (`-L`)
/// are the ones there are; a new text format implements this and `rtflow decode` writes it like
/// the others.
pub trait DatagramSink {
    /// Decodes `bytes` and appends its output to `out`; returns what the datagram held. On a
    /// decode error nothing is appended (except the header-only record of a payload that is not
    /// sFlow, where the format prints one) and the error is returned.
    fn write_datagram(
        &mut self,
        info: &DatagramInfo,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<SampleCounts, DecodeError>;
}

impl DatagramSink for Formatter {
    fn write_datagram(
        &mut self,
        info: &DatagramInfo,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<SampleCounts, DecodeError> {
        Formatter::write_datagram(self, info, bytes, out)
    }
}

/// A datagram of any sFlow version sflowtool decodes.
pub(crate) enum Payload<'a> {
    V5(Datagram<'a>),
    /// sFlow v2 or v4.
    Legacy(LegacyDatagram<'a>),
}

impl<'a> Payload<'a> {
    /// v5 first (the common case costs nothing extra), then v2/v4; other versions fail with
    /// [`DecodeError::NotSflowV5`].
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match Datagram::decode(bytes) {
            Ok(datagram) => Ok(Payload::V5(datagram)),
            Err(DecodeError::NotSflowV5 {
                version: SFLOW_VERSION_2 | SFLOW_VERSION_4,
            }) => LegacyDatagram::decode(bytes).map(Payload::Legacy),
            Err(err) => Err(err),
        }
    }
}

/// Writes a whole datagram of any version through `o` (any style but CSV).
pub(crate) fn write_payload<S: StyleKind>(
    o: &mut Out<'_, S>,
    info: &DatagramInfo,
    size: usize,
    payload: &Payload<'_>,
) -> Result<SampleCounts, DecodeError> {
    match payload {
        Payload::V5(datagram) => write_full(o, info, size, datagram),
        Payload::Legacy(datagram) => legacy::write_full(o, info, size, datagram),
    }
}

/// sflowtool's record of a payload that is not sFlow: the datagram fields up to the version,
/// after which it gives up on the datagram.
fn not_sflow<S: StyleKind>(o: &mut Out<'_, S>, info: &DatagramInfo, size: usize, version: u32) {
    begin_datagram(o, info);
    receive_fields(o, info, size);
    o.u32("datagramVersion", version);
    end_datagram(o);
}

/// Starts a datagram's record: the `-g` time, the JSON object or the text marker.
pub(crate) fn begin_datagram<S: StyleKind>(o: &mut Out<'_, S>, info: &DatagramInfo) {
    // The `-g` time: capture time for file input, receive time for live input.
    let time = info.pcap_timestamp.or(info.received).unwrap_or_default();
    o.grep = GrepContext {
        timestamp_secs: time.secs,
        ..GrepContext::default()
    };
    if o.is_json() {
        o.begin_object(None);
    } else {
        o.text_line(|b| b.extend_from_slice(b"startDatagram ================================="));
    }
}

/// Ends a datagram's record.
pub(crate) fn end_datagram<S: StyleKind>(o: &mut Out<'_, S>) {
    if o.is_json() {
        o.end_object();
        o.buf.push(b'\n');
        if o.is_pretty_json() {
            o.buf.push(b'\n');
        }
    } else {
        o.text_line(|b| b.extend_from_slice(b"endDatagram   ================================="));
    }
}

/// Starts a sample's record (its index counts from 1) with its `sampleType_tag`.
pub(crate) fn begin_sample<S: StyleKind>(o: &mut Out<'_, S>, index: u32, tag: Tag) {
    o.sample = index;
    o.grep.source_class = 0;
    o.grep.source_index = 0;
    o.grep.sample_tag = tag;
    o.grep.element_tag = Tag::default();
    o.begin_object(None);
    o.text_line(|b| b.extend_from_slice(b"startSample ----------------------"));
    o.tag("sampleType_tag", tag);
}

pub(crate) fn end_sample<S: StyleKind>(o: &mut Out<'_, S>) {
    o.end_object();
    o.text_line(|b| b.extend_from_slice(b"endSample   ----------------------"));
}

/// Writes a whole v5 datagram through `o` (any style but CSV).
pub(crate) fn write_full<S: StyleKind>(
    o: &mut Out<'_, S>,
    info: &DatagramInfo,
    size: usize,
    datagram: &Datagram<'_>,
) -> Result<SampleCounts, DecodeError> {
    begin_datagram(o, info);
    datagram_fields(o, info, size, datagram);
    o.begin_array("samples");
    let counts = walk_samples(datagram, &mut FullSamples(o))?;
    o.end_array();
    end_datagram(o);
    Ok(counts)
}

/// Each sample, of any sFlow version, in full: the text, JSON and `-g` forms.
pub(crate) struct FullSamples<'o, 'b, S: StyleKind>(pub(crate) &'o mut Out<'b, S>);

impl<S: StyleKind> SampleSink for FullSamples<'_, '_, S> {
    fn begin_sample(&mut self, index: u32, tag: Tag) {
        begin_sample(self.0, index, tag);
    }

    fn end_sample(&mut self) {
        end_sample(self.0);
    }

    fn flow_sample(&mut self, sample: &FlowSample<'_>) -> Result<u64, DecodeError> {
        flow_sample(self.0, sample)
    }

    fn counter_sample(&mut self, sample: &CounterSample<'_>) -> Result<(), DecodeError> {
        counter_sample(self.0, sample)
    }

    fn discard_sample(&mut self, sample: &DiscardSample<'_>) -> Result<(), DecodeError> {
        discard_sample(self.0, sample)
    }

    fn other_sample(&mut self, sample: &Opaque<'_>) {
        skipping(self.0, "sample", sample.tag, sample.data.len());
    }

    fn legacy_flow_sample(&mut self, sample: &LegacyFlowSample<'_>) -> u64 {
        legacy::flow_sample(self.0, sample)
    }

    fn legacy_counter_sample(&mut self, sample: &LegacyCounterSample) {
        legacy::counter_sample(self.0, sample);
    }
}

/// The fields of how the datagram was received, before its own.
pub(crate) fn receive_fields<S: StyleKind>(o: &mut Out<'_, S>, info: &DatagramInfo, size: usize) {
    o.with("datagramSourceIP", |b| match info.source {
        Some(IpAddr::V4(ip)) => push_ipv4(b, ip),
        Some(IpAddr::V6(ip)) => push_ipv6(b, ip),
        None => b.push(b'-'),
    });
    o.u64("datagramSize", size as u64);
    let received = info.received.unwrap_or_default();
    o.u64("unixSecondsUTC", received.secs);
    o.u32("unixSecondsUTC_uS", received.micros());
    o.with("localtime", |b| write_utc_iso8601(b, received.secs));
    if let Some(pcap) = info.pcap_timestamp {
        o.with("pcapTimestamp", |b| write_utc_iso8601(b, pcap.secs));
        o.u32("pcapTimestamp_uS", pcap.micros());
    }
}

fn datagram_fields<S: StyleKind>(
    o: &mut Out<'_, S>,
    info: &DatagramInfo,
    size: usize,
    datagram: &Datagram<'_>,
) {
    receive_fields(o, info, size);
    let header = &datagram.header;
    o.u32("datagramVersion", rtflow_sflow::SFLOW_VERSION_5);
    // sflowtool reads the agent address, then prints the sub-agent id, then reads the sequence
    // number before printing the agent: the `-g` context follows that order.
    o.grep.agent = header.agent;
    o.grep.sub_agent = header.sub_agent_id;
    o.u32("agentSubId", header.sub_agent_id);
    o.grep.sequence = header.sequence_number;
    o.address("agent", &header.agent);
    o.u32("packetSequenceNo", header.sequence_number);
    o.u32("sysUpTime", header.uptime_ms);
    o.u32("samplesInPacket", datagram.num_samples());
}

/// sflowtool's note for a structure it does not decode (text output only).
pub(crate) fn skipping<S: StyleKind>(o: &mut Out<'_, S>, what: &str, tag: Tag, len: usize) {
    o.text_line(|b| {
        b.extend_from_slice(b"skipping unknown ");
        b.extend_from_slice(what.as_bytes());
        b.extend_from_slice(b": ");
        push_u32(b, tag.enterprise);
        b.push(b':');
        push_u32(b, tag.format);
        b.extend_from_slice(b" len=");
        push_u64(b, len as u64);
    });
}

/// `printInOutPort`: the interface value, qualified by its format.
fn in_out_port<S: StyleKind>(o: &mut Out<'_, S>, name: &str, iface: Interface) {
    o.with(name, |b| {
        let label: &[u8] = match iface.format {
            0 => b"",
            1 => b"dropCode ",
            2 => b"multiple ",
            3 => b"format==3 ",
            // sflowtool prints nothing for formats it does not know.
            _ => return,
        };
        b.extend_from_slice(label);
        push_u32(b, iface.value);
    });
}

/// sflowtool reads the data source before it prints the sequence number: from there on the
/// `-g` context names it.
pub(crate) fn enter_source<S: StyleKind>(o: &mut Out<'_, S>, class: u32, index: u32) {
    o.grep.source_class = class;
    o.grep.source_index = index;
}

pub(crate) fn source_id<S: StyleKind>(o: &mut Out<'_, S>, class: u32, index: u32) {
    o.with("sourceId", |b| {
        push_u32(b, class);
        b.push(b':');
        push_u32(b, index);
    });
}

/// Writes a flow sample; returns the number of sampled header records.
fn flow_sample<S: StyleKind>(o: &mut Out<'_, S>, s: &FlowSample<'_>) -> Result<u64, DecodeError> {
    let info = &s.info;
    o.text("sampleType", "FLOWSAMPLE");
    enter_source(o, info.source_id.class, info.source_id.index);
    o.u32("sampleSequenceNo", info.sequence_number);
    source_id(o, info.source_id.class, info.source_id.index);
    o.u32("meanSkipCount", info.sampling_rate);
    o.u32("samplePool", info.sample_pool);
    o.u32("dropEvents", info.drops);
    in_out_port(o, "inputPort", info.input);
    in_out_port(o, "outputPort", info.output);
    o.begin_array("elements");
    let mut headers = 0;
    for record in s.records() {
        let record = record?;
        if matches!(record, rtflow_sflow::FlowRecord::SampledHeader(_)) {
            headers += 1;
        }
        o.begin_object(None);
        flow::record(o, &record);
        o.end_object();
    }
    o.end_array();
    Ok(headers)
}

fn counter_sample<S: StyleKind>(
    o: &mut Out<'_, S>,
    s: &CounterSample<'_>,
) -> Result<(), DecodeError> {
    let info = &s.info;
    o.text("sampleType", "COUNTERSSAMPLE");
    // Unlike flow and discard samples, sflowtool's `-g` prefix keeps `0:0` as the data source
    // of a counter sample's lines: the source id is only printed as the `sourceId` field.
    o.u32("sampleSequenceNo", info.sequence_number);
    source_id(o, info.source_id.class, info.source_id.index);
    o.begin_array("elements");
    for record in s.records() {
        let record = record?;
        o.begin_object(None);
        counter::record(o, &record);
        o.end_object();
    }
    o.end_array();
    Ok(())
}

fn discard_sample<S: StyleKind>(
    o: &mut Out<'_, S>,
    s: &DiscardSample<'_>,
) -> Result<(), DecodeError> {
    let info = &s.info;
    o.text("sampleType", "DISCARD");
    enter_source(o, info.source_id.class, info.source_id.index);
    o.u32("sampleSequenceNo", info.sequence_number);
    source_id(o, info.source_id.class, info.source_id.index);
    o.u32("dropEvents", info.drops);
    o.u32("inputPort", info.input_if_index);
    o.u32("outputPort", info.output_if_index);
    o.u32("discardCode", info.reason);
    o.text(
        "discardReason",
        drop_reason_name(info.reason).unwrap_or("NotFound"),
    );
    o.begin_array("elements");
    o.prefix = "discarded_";
    let result = s.records().try_for_each(|record| {
        let record = record?;
        o.begin_object(None);
        flow::record(o, &record);
        o.end_object();
        Ok(())
    });
    o.prefix = "";
    o.end_array();
    result
}

/// Names of the drop notification reason codes (sflowtool's `sflow_drop.h`).
fn drop_reason_name(code: u32) -> Option<&'static str> {
    const ICMP: [&str; 16] = [
        "net_unreachable",
        "host_unreachable",
        "protocol_unreachable",
        "port_unreachable",
        "frag_needed",
        "src_route_failed",
        "dst_net_unknown",
        "dst_host_unknown",
        "src_host_isolated",
        "dst_net_prohibited",
        "dst_host_prohibited",
        "dst_net_tos_unreachable",
        "dst_host_tos_unreacheable",
        "comm_admin_prohibited",
        "host_precedence_violation",
        "precedence_cutoff",
    ];
    const FROM_256: [&str; 116] = [
        "unknown",
        "ttl_exceeded",
        "acl",
        "no_buffer_space",
        "red",
        "traffic_shaping",
        "pkt_too_big",
        "src_mac_is_multicast",
        "vlan_tag_mismatch",
        "ingress_vlan_filter",
        "ingress_spanning_tree_filter",
        "port_list_is_empty",
        "port_loopback_filter",
        "blackhole_route",
        "non_ip",
        "uc_dip_over_mc_dmac",
        "dip_is_loopback_address",
        "sip_is_mc",
        "sip_is_loopback_address",
        "ip_header_corrupted",
        "ipv4_sip_is_limited_bc",
        "ipv6_mc_dip_reserved_scope",
        "ipv6_mc_dip_interface_local_scope",
        "unresolved_neigh",
        "mc_reverse_path_forwarding",
        "non_routable_packet",
        "decap_error",
        "overlay_smac_is_mc",
        "unknown_l2",
        "unknown_l3",
        "unknown_l3_exception",
        "unknown_buffer",
        "unknown_tunnel",
        "unknown_l4",
        "sip_is_unspecified",
        "mlag_port_isolation",
        "blackhole_arp_neigh",
        "src_mac_is_dmac",
        "dmac_is_reserved",
        "sip_is_class_e",
        "mc_dmac_mismatch",
        "sip_is_dip",
        "dip_is_local_network",
        "dip_is_link_local",
        "overlay_smac_is_dmac",
        "egress_vlan_filter",
        "uc_reverse_path_forwarding",
        "split_horizon",
        "locked_port",
        "dmac_filter",
        "blackhole_nexthop",
        "vxlan_parsing",
        "llc_snap_parsing",
        "vlan_parsing",
        "pppoe_ppp_parsing",
        "mpls_parsing",
        "arp_parsing",
        "ip_1_parsing",
        "ip_n_parsing",
        "gre_parsing",
        "udp_parsing",
        "tcp_parsing",
        "ipsec_parsing",
        "sctp_parsing",
        "dccp_parsing",
        "gtp_parsing",
        "esp_parsing",
        "unknown_parsing",
        "pkt_too_small",
        "unhandled_proto",
        "ipv6disabled",
        "invalid_proto",
        "ip_noproto",
        "skb_csum",
        "skb_ucopy_fault",
        "dev_ready",
        "dev_hdr",
        "dup_frag",
        "skb_gso_seg",
        "reverse_path_forwarding",
        "icmp_parsing",
        "tcp_md5notfound",
        "tcp_md5unexpected",
        "tcp_md5failure",
        "tcp_flags",
        "tcp_zerowindow",
        "tcp_old_data",
        "tcp_overwindow",
        "tcp_ofomerge",
        "tcp_rfc7323_paws",
        "tcp_invalid_sequence",
        "tcp_reset",
        "tcp_invalid_syn",
        "tcp_close",
        "tcp_fastopen",
        "tcp_old_ack",
        "tcp_too_old_ack",
        "tcp_ack_unsent_data",
        "tcp_ofo_queue_prune",
        "tcp_ofo_drop",
        "tcp_minttl",
        "ipv6_bad_exthdr",
        "ipv6_ndisc_frag",
        "ipv6_ndisc_hop_limit",
        "ipv6_ndisc_bad_code",
        "ipv6_ndisc_bad_options",
        "ipv6_ndisc_ns_otherhost",
        "tap_filter",
        "tap_txfilter",
        "tc_ingress",
        "tc_egress",
        "xdp",
        "cpu_backlog",
        "bpf_cgroup_egress",
        "xfrm_policy",
        "socket_filter",
    ];
    match code {
        0..=15 => ICMP.get(code as usize).copied(),
        256.. => FROM_256.get((code - 256) as usize).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reason_table_lines_up_with_codes() {
        assert_eq!(drop_reason_name(0), Some("net_unreachable"));
        assert_eq!(drop_reason_name(15), Some("precedence_cutoff"));
        assert_eq!(drop_reason_name(16), None);
        assert_eq!(drop_reason_name(258), Some("acl"));
        assert_eq!(drop_reason_name(323), Some("unknown_parsing"));
        assert_eq!(drop_reason_name(332), Some("dev_hdr"));
        assert_eq!(drop_reason_name(366), Some("tc_egress"));
        assert_eq!(drop_reason_name(371), Some("socket_filter"));
        assert_eq!(drop_reason_name(372), None);
    }
}
