//! `ingest_sflow` on encoded datagrams: canonical IPv4 addresses and skipped-record accounting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    FlowRecord, FlowSampleInfo, GenericInterfaceCounters, Interface, Opaque, SampledHeader, Tag,
};

use crate::Engine;

const NOW: u64 = 1_700_000_000_000;
const AGENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Ethernet/IPv4 header fragment: enough for a sampled-header record to decode.
const FRAME: [u8; 34] = [
    0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0,
    0, 10, 1, 1, 1, 10, 2, 2, 2,
];
/// A sampled-header record (0:1) whose body is too short for its layout: it must be skipped and counted.
const BROKEN_HEADER_RECORD: FlowRecord<'static> = FlowRecord::Unknown(Opaque {
    tag: Tag::new(0, 1),
    data: &[0, 0, 0, 1],
});

fn header(agent: Address, sequence: u32) -> DatagramHeader {
    DatagramHeader {
        agent,
        sub_agent_id: 0,
        sequence_number: sequence,
        uptime_ms: 1_000 * sequence,
    }
}

fn flow_info(sequence: u32) -> FlowSampleInfo {
    FlowSampleInfo {
        sequence_number: sequence,
        source_id: DataSource { class: 0, index: 3 },
        sampling_rate: 100,
        sample_pool: 100 * sequence,
        input: Interface::index(3),
        output: Interface::index(4),
        ..Default::default()
    }
}

fn good_header_record() -> FlowRecord<'static> {
    FlowRecord::SampledHeader(SampledHeader {
        protocol: 1,
        frame_length: 64,
        stripped: 4,
        header: &FRAME,
    })
}

#[test]
fn ipv4_mapped_sender_and_agent_are_reported_as_ipv4() {
    let mapped = AGENT.to_ipv6_mapped();
    let mut builder = DatagramBuilder::new(header(Address::V6(mapped), 1));
    builder.flow_sample(&flow_info(1), &[good_header_record()]);
    let bytes = builder.finish();
    let mut engine = Engine::default();
    let source = SocketAddr::new(IpAddr::V6(mapped), 50_000);
    let summary = engine
        .ingest_sflow(NOW, source, &bytes)
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert_eq!(summary.agent, Some(IpAddr::V4(AGENT)));
    let agents = engine.agents(NOW, &[]);
    let keys: Vec<&String> = agents.keys().collect();
    assert_eq!(keys, ["10.0.0.1"]);
    let info = &agents["10.0.0.1"];
    assert_eq!(info.sflow_datagram_source, [IpAddr::V4(AGENT)]);

    // A real IPv6 agent stays IPv6.
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let mut builder = DatagramBuilder::new(header(Address::V6(v6), 1));
    builder.flow_sample(&flow_info(1), &[good_header_record()]);
    let bytes = builder.finish();
    let source = SocketAddr::new(IpAddr::V6(v6), 50_000);
    let summary = engine
        .ingest_sflow(NOW, source, &bytes)
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert_eq!(summary.agent, Some(IpAddr::V6(v6)));
}

#[test]
fn records_that_fail_to_decode_are_skipped_and_counted_per_agent_and_in_total() {
    let mut engine = Engine::default();
    let source = SocketAddr::new(IpAddr::V4(AGENT), 50_000);
    let mut builder = DatagramBuilder::new(header(Address::V4(AGENT), 1));
    builder.flow_sample(&flow_info(1), &[BROKEN_HEADER_RECORD, good_header_record()]);
    let broken_counters = CounterRecord::Unknown(Opaque {
        tag: Tag::new(0, 1),
        data: &[0; 8],
    });
    let good_counters = CounterRecord::GenericInterface(GenericInterfaceCounters {
        if_index: 3,
        if_speed: 1_000_000_000,
        ..Default::default()
    });
    builder.counter_sample(
        &CounterSampleInfo {
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 3 },
            expanded: false,
        },
        &[broken_counters, good_counters],
    );
    let bytes = builder.finish();
    let summary = engine
        .ingest_sflow(NOW, source, &bytes)
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert_eq!(summary.record_decode_errors, 2);
    assert_eq!((summary.flow_samples, summary.counter_samples), (1, 1));

    // A second agent with a clean datagram keeps its count at zero.
    let other = Ipv4Addr::new(10, 0, 0, 2);
    let mut builder = DatagramBuilder::new(header(Address::V4(other), 1));
    builder.flow_sample(&flow_info(1), &[good_header_record()]);
    engine
        .ingest_sflow(
            NOW,
            SocketAddr::new(IpAddr::V4(other), 1),
            &builder.finish(),
        )
        .unwrap_or_else(|e| panic!("ingest: {e}"));

    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_record_decode_errors, 2);
    assert_eq!(
        analyzer.sflow_datagrams_discarded, 0,
        "the datagram was valid"
    );
    let agents = engine.agents(NOW, &[]);
    assert_eq!(agents["10.0.0.1"].sflow_record_decode_errors, 2);
    assert_eq!(agents["10.0.0.1"].sflow_flow_samples, 1);
    assert_eq!(agents["10.0.0.2"].sflow_record_decode_errors, 0);
    let json = serde_json::to_value(&agents["10.0.0.1"]).unwrap_or_default();
    assert_eq!(json["sFlowRecordDecodeErrors"], 2);
    let json = serde_json::to_value(&analyzer).unwrap_or_default();
    assert_eq!(json["sFlowRecordDecodeErrors"], 2);
}

/// A datagram of `AGENT` whose one good sample has a broken record, announcing a second sample that runs past
/// the end: decoding fails after the first sample.
fn datagram_broken_after_one_sample(sequence: u32) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(header(Address::V4(AGENT), sequence));
    builder.flow_sample(&flow_info(sequence), &[BROKEN_HEADER_RECORD]);
    let mut bytes = builder.finish();
    // Announce a second sample whose length runs past the datagram: decoding fails after the first sample.
    // version, address type, IPv4 address, sub-agent id, sequence number, uptime, then the sample count.
    let samples_at = 6 * 4;
    let count = u32::from_be_bytes([
        bytes[samples_at],
        bytes[samples_at + 1],
        bytes[samples_at + 2],
        bytes[samples_at + 3],
    ]);
    assert_eq!(count, 1, "sample count offset");
    bytes[samples_at..samples_at + 4].copy_from_slice(&2u32.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0x10, 0]);
    bytes
}

#[test]
fn skipped_records_before_a_broken_sample_are_still_counted() {
    let mut engine = Engine::default();
    let source = SocketAddr::new(IpAddr::V4(AGENT), 50_000);
    // The agent is known from a datagram that decoded (a broken one alone creates no state, see below).
    let mut builder = DatagramBuilder::new(header(Address::V4(AGENT), 1));
    builder.flow_sample(&flow_info(1), &[good_header_record()]);
    assert!(engine.ingest_sflow(NOW, source, &builder.finish()).is_ok());
    let bytes = datagram_broken_after_one_sample(2);
    assert!(engine.ingest_sflow(NOW, source, &bytes).is_err());
    assert_eq!(engine.analyzer().sflow_record_decode_errors, 1);
    assert_eq!(engine.analyzer().sflow_datagrams_discarded, 1);
    assert_eq!(
        engine.agents(NOW, &[])["10.0.0.1"].sflow_record_decode_errors,
        1
    );
}

#[test]
fn a_datagram_that_does_not_decode_creates_no_agent() {
    let mut engine = Engine::default();
    let source = SocketAddr::new(IpAddr::V4(AGENT), 50_000);
    let bytes = datagram_broken_after_one_sample(1);
    assert!(engine.ingest_sflow(NOW, source, &bytes).is_err());
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_datagrams_received, 1);
    assert_eq!(analyzer.sflow_datagrams_discarded, 1);
    assert_eq!(
        analyzer.sflow_record_decode_errors, 0,
        "an unknown agent's datagram whose samples are not framed is not decoded further"
    );
    assert_eq!(analyzer.sflow_flow_samples, 0, "nothing of it was analysed");
    assert!(engine.agents(NOW, &[]).is_empty());
    // Once a datagram of the agent decodes, the agent exists.
    let mut builder = DatagramBuilder::new(header(Address::V4(AGENT), 2));
    builder.flow_sample(&flow_info(2), &[good_header_record()]);
    assert!(engine.ingest_sflow(NOW, source, &builder.finish()).is_ok());
    assert_eq!(engine.agents(NOW, &[]).len(), 1);
}

/// A new agent's datagram whose samples are framed but one of them does not decode passes the framing check, is
/// admitted, decoded with the shard unlocked, and then creates no state; it is counted once, as discarded.
#[test]
fn a_framed_datagram_whose_sample_does_not_decode_creates_no_agent() {
    let mut engine = Engine::default();
    let source = SocketAddr::new(IpAddr::V4(AGENT), 50_000);
    let mut bytes = DatagramBuilder::new(header(Address::V4(AGENT), 1)).finish();
    // One sample: a flow sample (tag 0:1) whose 8-byte body is too short for a flow sample's fields.
    bytes[6 * 4..7 * 4].copy_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    let Err(error) = engine.ingest_sflow(NOW, source, &bytes) else {
        panic!("the broken sample is an error");
    };
    assert!(error.to_string().contains("sample"), "{error}");
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_datagrams_received, 1);
    assert_eq!(analyzer.sflow_datagrams_discarded, 1);
    assert_eq!(analyzer.sflow_flow_samples, 0);
    assert!(engine.agents(NOW, &[]).is_empty());
}

#[test]
fn definitions_and_selectors_store_ipv4_mapped_addresses_as_ipv4() {
    let mut engine = Engine::default();
    let forwarding: crate::Forwarding =
        serde_json::from_str(r#"{"address":"::ffff:127.0.0.1","agents":["::ffff:10.0.0.1"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_forwarding("f", forwarding)
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(engine.forwardings()).unwrap_or_default();
    assert_eq!(
        json,
        serde_json::json!({"f": {"address": "127.0.0.1", "port": 6343, "agents": ["10.0.0.1"]}})
    );
    let tenant: crate::Tenant = serde_json::from_value(serde_json::json!({
        "collectorAddress": "::ffff:127.0.0.1",
        "filters": {"ifindex": ["::ffff:10.0.0.1_2"]}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_tenant("t", tenant)
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(engine.tenant("t")).unwrap_or_default();
    assert_eq!(json["collectorAddress"], "127.0.0.1");
    assert_eq!(json["filters"]["ifindex"][0], "10.0.0.1_2");
    assert_eq!(
        crate::AgentSelector::parse("::ffff:10.0.0.1").ok(),
        Some(crate::AgentSelector::List(vec![crate::AgentToken::Ip(
            IpAddr::V4(AGENT)
        )]))
    );
}
