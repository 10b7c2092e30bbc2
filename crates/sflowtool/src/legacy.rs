//! sFlow v2/v4 datagrams as sflowtool prints them (`readFlowSample_v2v4`,
//! `readCountersSample_v2v4`): no `agentSubId`, no `flowBlock_tag` / `counterBlock_tag` lines,
//! no `strippedBytes`; the output port's top bit means "multiple"; the gateway, user and URL
//! records have their pre-v5 forms. In JSON the packet data and each extended record are one
//! element each, and a counters sample has two elements: the generic counters and the
//! interface-specific ones (either may be empty).

use rtflow_sflow::{
    DecodeError, LegacyCounterSample, LegacyDatagram, LegacyFlowSample, LegacyRecord, U32List,
};

use crate::datagram::{
    DatagramInfo, FullSamples, SampleCounts, begin_datagram, end_datagram, enter_source,
    receive_fields, source_id,
};
use crate::out::{Out, StyleKind};
use crate::samples::walk_legacy_samples;
use crate::values::push_u32;
use crate::{counter, flow, header};

/// Writes a whole v2/v4 datagram through `o` (any style but CSV).
pub(crate) fn write_full<S: StyleKind>(
    o: &mut Out<'_, S>,
    info: &DatagramInfo,
    size: usize,
    datagram: &LegacyDatagram<'_>,
) -> Result<SampleCounts, DecodeError> {
    begin_datagram(o, info);
    receive_fields(o, info, size);
    o.u32("datagramVersion", datagram.version);
    o.grep.agent = datagram.agent;
    o.grep.sequence = datagram.sequence_number;
    o.address("agent", &datagram.agent);
    o.u32("packetSequenceNo", datagram.sequence_number);
    o.u32("sysUpTime", datagram.uptime_ms);
    o.u32("samplesInPacket", datagram.num_samples());
    o.begin_array("samples");
    let counts = walk_legacy_samples(datagram, &mut FullSamples(o))?;
    o.end_array();
    end_datagram(o);
    Ok(counts)
}

/// Writes a flow sample; returns the number of sampled headers (0 or 1).
pub(crate) fn flow_sample<S: StyleKind>(o: &mut Out<'_, S>, s: &LegacyFlowSample<'_>) -> u64 {
    let info = &s.info;
    o.text("sampleType", "FLOWSAMPLE");
    o.u32("sampleSequenceNo", info.sequence_number);
    enter_source(o, info.source_id.class, info.source_id.index);
    source_id(o, info.source_id.class, info.source_id.index);
    o.u32("meanSkipCount", info.sampling_rate);
    o.u32("samplePool", info.sample_pool);
    o.u32("dropEvents", info.drops);
    o.u32("inputPort", info.input);
    o.with("outputPort", |b| output_port(b, info.output));
    o.begin_array("elements");
    for record in s.records() {
        o.begin_object(None);
        record_fields(o, &record);
        o.end_object();
    }
    o.end_array();
    u64::from(matches!(s.packet, LegacyRecord::Header(_)))
}

/// sflowtool's `printOutputPort_v2v4`: the top bit flags several output ports, the rest
/// counts them (0 = more than one).
fn output_port(b: &mut Vec<u8>, port: u32) {
    if port & 0x8000_0000 == 0 {
        push_u32(b, port);
        return;
    }
    match port & 0x7fff_ffff {
        0 => b.extend_from_slice(b"multiple >1"),
        n => {
            b.extend_from_slice(b"multiple ");
            push_u32(b, n);
        }
    }
}

fn record_fields<S: StyleKind>(o: &mut Out<'_, S>, record: &LegacyRecord<'_>) {
    match record {
        LegacyRecord::Header(h) => header::sampled_header_fields(o, h, false),
        LegacyRecord::GatewayV4(g) => flow::gateway(o, g, false),
        LegacyRecord::GatewayV2 {
            as_number,
            src_as,
            src_peer_as,
            dst_as_path,
        } => gateway_v2(o, *as_number, *src_as, *src_peer_as, dst_as_path),
        LegacyRecord::User { src_user, dst_user } => {
            o.text("extendedType", "USER");
            o.bytes("src_user", src_user);
            o.bytes("dst_user", dst_user);
        }
        LegacyRecord::Url { direction, url } => {
            o.text("extendedType", "URL");
            o.u32("url_direction", *direction);
            o.bytes("url", url);
        }
        other => {
            if let Some(record) = other.as_flow_record() {
                flow::body(o, &record);
            }
        }
    }
}

/// sflowtool's `readExtendedGateway_v2`.
fn gateway_v2<S: StyleKind>(
    o: &mut Out<'_, S>,
    as_number: u32,
    src_as: u32,
    src_peer_as: u32,
    path: &U32List<'_>,
) {
    o.text("extendedType", "GATEWAY");
    o.u32("my_as", as_number);
    o.u32("src_as", src_as);
    o.u32("src_peer_as", src_peer_as);
    o.u32("dst_as", path.iter().last().unwrap_or(0));
    o.u32("dst_peer_as", path.iter().next().unwrap_or(0));
    o.u32("dst_as_path_len", path.len() as u32);
    if !path.is_empty() {
        o.with("dst_as_path", |b| flow::join_u32(b, path.iter(), b'-'));
    }
}

pub(crate) fn counter_sample<S: StyleKind>(o: &mut Out<'_, S>, s: &LegacyCounterSample) {
    o.text("sampleType", "COUNTERSSAMPLE");
    // As for v5 counter samples, the `-g` prefix keeps data source 0:0.
    o.u32("sampleSequenceNo", s.sequence_number);
    source_id(o, s.source_id.class, s.source_id.index);
    o.u32("statsSamplingInterval", s.sampling_interval);
    o.u32("counterBlockVersion", s.version);
    o.begin_array("elements");
    o.begin_object(None);
    if let Some(generic) = &s.generic {
        counter::generic(o, generic);
    }
    o.end_object();
    o.begin_object(None);
    if let Some(block) = &s.specific {
        counter::body(o, &block.as_counter_record());
    }
    o.end_object();
    o.end_array();
}
