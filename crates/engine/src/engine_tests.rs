//! Engine-level behaviour with an injected clock: ingest → tick → queries.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::{
    ActiveFlowQuery, AgentSelector, CounterSample, CounterValue, DataSource, DatagramInfo, Engine,
    FlowSample, MetricSpec, Port, QueryFilter, Threshold,
};
use rtflow_flowlang::{AggMode, FlowDefinition};

pub(crate) const T0: u64 = 1_700_000_000_000;

pub(crate) fn agent(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 0, n))
}

pub(crate) fn dgram(agent_ip: IpAddr, sequence: u32, uptime_ms: u32) -> DatagramInfo {
    DatagramInfo {
        agent: agent_ip,
        sub_agent_id: 0,
        sequence,
        uptime_ms,
        source: SocketAddr::new(agent_ip, 6343),
        size: 1000,
    }
}

/// Ethernet/IPv4/TCP header from 10.0.0.`src` to 10.0.0.`dst`.
pub(crate) fn tcp_frame(src: u8, dst: u8) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, src, 0x08, 0x00,
    ];
    f.extend_from_slice(&[
        0x45, 0, 0x05, 0xdc, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, src, 10, 0, 0, dst,
    ]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f
}

pub(crate) fn flow_sample(
    ifindex: u32,
    sequence: u32,
    rate: u32,
    src: u8,
    dst: u8,
    bytes: u32,
) -> FlowSample {
    FlowSample {
        source: DataSource::interface(ifindex),
        sequence,
        sampling_rate: rate,
        sample_pool: sequence.wrapping_mul(rate),
        input: Port::Index(ifindex),
        output: Port::Index(99),
        frame_length: bytes,
        packet: rtflow_packet::decode(1, &tcp_frame(src, dst)),
        ..FlowSample::default()
    }
}

pub(crate) fn pair_flow() -> FlowDefinition {
    let mut def = FlowDefinition::new("ipsource,ipdestination", "bytes");
    def.t = 2.0;
    def
}

/// Feeds `seconds` of traffic: every 10 ms one sample per (src, weight) at 1-in-`rate`, 1000-byte frames.
/// The true byte rate of a flow is weight × rate × 1000 × 100 per second.
pub(crate) fn feed(
    engine: &mut Engine,
    agent_ip: IpAddr,
    ifindex: u32,
    flows: &[(u8, u32)],
    rate: u32,
    seconds: u64,
) -> u64 {
    let mut seq = 0u32;
    let mut now = T0;
    for step in 0..(seconds * 100) {
        now = T0 + step * 10;
        let info = dgram(agent_ip, step as u32 + 1, (step * 10) as u32);
        engine.begin_datagram(now, &info);
        for &(src, weight) in flows {
            for _ in 0..weight {
                seq += 1;
                engine.ingest_flow_sample(
                    now,
                    &info,
                    &flow_sample(ifindex, seq, rate, src, 200, 1000),
                );
            }
        }
        if step % 50 == 0 {
            engine.tick(now);
        }
    }
    now
}

#[test]
fn steady_flows_converge_with_exact_top_n_order() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    // Five flows with distinct weights; each weight unit = 1 sample/10 ms at 1-in-10 of 1000 B = 1 MB/s.
    let flows = [(1, 1), (2, 5), (3, 3), (4, 2), (5, 4)];
    let now = feed(&mut engine, agent(1), 7, &flows, 10, 20);
    let top = engine
        .active_flows(
            now,
            &AgentSelector::All,
            "pair",
            &ActiveFlowQuery::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = top.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "10.0.0.2,10.0.0.200",
            "10.0.0.5,10.0.0.200",
            "10.0.0.3,10.0.0.200",
            "10.0.0.4,10.0.0.200",
            "10.0.0.1,10.0.0.200"
        ]
    );
    for flow in &top {
        let src: u8 = flow
            .key
            .split(['.', ','])
            .nth(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let weight = flows.iter().find(|f| f.0 == src).map(|f| f.1).unwrap_or(0);
        let truth = f64::from(weight) * 1_000_000.0;
        assert!(
            (flow.value - truth).abs() / truth < 0.05,
            "{} = {} vs {}",
            flow.key,
            flow.value,
            truth
        );
        assert_eq!(flow.agent, Some(agent(1)));
        assert_eq!(flow.data_source.as_deref(), Some("7"));
    }
    // The flow metric is the definition's total rate at the data source (15 MB/s).
    let stats = engine.metric(
        now,
        &AgentSelector::All,
        &[MetricSpec::parse("pair").unwrap_or_else(|e| panic!("{e}"))],
        &QueryFilter::default(),
    );
    let total = stats
        .first()
        .and_then(|s| s.metric_value.as_ref())
        .and_then(super::metrics::MetricValue::as_f64)
        .unwrap_or(0.0);
    assert!(
        (total - 15_000_000.0).abs() / 15_000_000.0 < 0.05,
        "{total}"
    );
    let top_keys = stats
        .first()
        .and_then(|s| s.top_keys.clone())
        .unwrap_or_default();
    assert_eq!(
        top_keys.first().map(|k| k.key.as_str()),
        Some("10.0.0.2,10.0.0.200")
    );
}

#[test]
fn agg_modes_merge_observations_across_data_sources() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    // The same flow (src 1) seen at two switches with 2 MB/s and 1 MB/s.
    let mut seq = [0u32; 2];
    let mut now = T0;
    for step in 0..2000u64 {
        now = T0 + step * 10;
        for (i, (a, weight)) in [(agent(1), 2u32), (agent(2), 1)].into_iter().enumerate() {
            let info = dgram(a, step as u32 + 1, (step * 10) as u32);
            engine.begin_datagram(now, &info);
            for _ in 0..weight {
                if let Some(s) = seq.get_mut(i) {
                    *s += 1;
                    let sample = flow_sample(3, *s, 10, 1, 200, 1000);
                    engine.ingest_flow_sample(now, &info, &sample);
                }
            }
        }
    }
    let query = |mode: AggMode| {
        let q = ActiveFlowQuery {
            agg_mode: Some(mode),
            ..ActiveFlowQuery::default()
        };
        engine
            .active_flows(now, &AgentSelector::All, "pair", &q)
            .unwrap_or_default()
    };
    let close = |v: f64, want: f64| (v - want).abs() / want < 0.05;
    let max = query(AggMode::Max);
    assert_eq!(max.len(), 1);
    assert!(close(max[0].value, 2_000_000.0), "{}", max[0].value);
    assert_eq!(max[0].agent, Some(agent(1)));
    assert!(close(query(AggMode::Sum)[0].value, 3_000_000.0));
    assert!(close(query(AggMode::Avg)[0].value, 1_500_000.0));
    assert_eq!(query(AggMode::Agent).len(), 2);
    // Selecting one agent only sees its observation.
    let one = engine
        .active_flows(
            now,
            &AgentSelector::parse("192.168.0.2").unwrap_or(AgentSelector::All),
            "pair",
            &ActiveFlowQuery::default(),
        )
        .unwrap_or_default();
    assert!(close(one[0].value, 1_000_000.0));
    // minValue and maxFlows.
    let none = engine
        .active_flows(
            now,
            &AgentSelector::All,
            "pair",
            &ActiveFlowQuery {
                min_value: 1e9,
                ..ActiveFlowQuery::default()
            },
        )
        .unwrap_or_default();
    assert!(none.is_empty());
}

#[test]
fn sequence_gaps_and_restart_are_accounted() {
    let mut engine = Engine::default();
    let a = agent(1);
    // The agent has been up for an hour.
    let up = 3_600_000;
    for (seq, uptime) in [
        (1, 1000),
        (2, 2000),
        (5, 5000),
        (4, 4000),
        (4, 4000),
        (6, 6000),
    ] {
        engine.begin_datagram(T0 + u64::from(uptime), &dgram(a, seq, up + uptime));
    }
    let info = dgram(a, 7, up + 7000);
    for seq in [10, 11, 14, 15] {
        engine.ingest_flow_sample(T0 + 7000, &info, &flow_sample(3, seq, 100, 1, 2, 64));
    }
    let agents = engine.agents(T0 + 8000, &[]);
    let entry = agents.get("192.168.0.1").cloned().unwrap_or_default();
    assert_eq!(entry.sflow_datagrams_received, 6);
    assert_eq!(entry.sflow_datagrams_lost, 1, "3 lost; 4 arrived late");
    assert_eq!(entry.sflow_datagrams_out_of_order, 1);
    assert_eq!(entry.sflow_datagrams_duplicates, 1);
    assert_eq!(entry.sflow_flow_samples, 4);
    assert_eq!(entry.sflow_flow_lost_samples, 2);
    assert_eq!(entry.sflow_flow_datasources, 1);
    assert_eq!(entry.uptime, u64::from(up) + 6000);
    assert_eq!(entry.first_seen, 7000);
    assert_eq!(entry.last_seen, 1000);
    assert_eq!(entry.sflow_datagram_source, vec![a]);
    // Restart: uptime back to 1 s, sequence back to 1. No loss or reordering is counted for the reset.
    engine.begin_datagram(T0 + 9000, &dgram(a, 1, 1000));
    let entry = engine
        .agents(T0 + 9000, &[a])
        .remove("192.168.0.1")
        .unwrap_or_default();
    assert_eq!(
        (
            entry.sflow_datagrams_lost,
            entry.sflow_datagrams_out_of_order,
            entry.sflow_datagrams_duplicates
        ),
        (1, 1, 1)
    );
    assert_eq!(entry.uptime, 1000);
    engine.begin_datagram(T0 + 10_000, &dgram(a, 2, 2000));
    let entry = engine
        .agents(T0 + 10_000, &[a])
        .remove("192.168.0.1")
        .unwrap_or_default();
    assert_eq!(
        (entry.sflow_datagrams_lost, entry.sflow_datagrams_received),
        (1, 8)
    );
}

pub(crate) fn if_counters(ifindex: u32, sequence: u32, in_octets: u64) -> CounterSample {
    CounterSample {
        source: DataSource::interface(ifindex),
        sequence,
        values: vec![
            ("ifspeed", CounterValue::Gauge(1e9)),
            ("ifname", CounterValue::Text("swp1".into())),
            ("ifinoctets", CounterValue::Counter64(in_octets)),
        ],
        adapter_macs: Vec::new(),
    }
}

#[test]
fn counter_threshold_fires_once_and_rearms_after_timeout() {
    let mut engine = Engine::default();
    let a = agent(1);
    engine
        .set_threshold(
            T0,
            "busy",
            Threshold {
                metric: "ifinutilization".into(),
                value: 50.0,
                by_flow: false,
                timeout: 20.0,
                filter: [("ifspeed".to_string(), vec!["1000000000".to_string()])]
                    .into_iter()
                    .collect(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // Counter samples every 10 s; 1 Gb/s link, 100 MB/s = 80 % for 30 s, then 10 MB/s = 8 %.
    let mut octets = 0u64;
    let mut fired_at = Vec::new();
    for i in 0..12u32 {
        let now = T0 + u64::from(i) * 10_000;
        let info = dgram(a, i + 1, i * 10_000);
        engine.begin_datagram(now, &info);
        engine.ingest_counter_sample(now, &info, &if_counters(1, i + 1, octets));
        octets += if (1..4).contains(&i) || i == 9 {
            1_000_000_000
        } else {
            100_000_000
        };
        let before = engine.last_event_id();
        engine.tick(now);
        if engine.last_event_id() > before {
            fired_at.push(i);
        }
    }
    // Rates: interval i-1→i. High for i = 2,3,4; low from 5; the low period lasts ≥ 20 s before i = 10 is high.
    assert_eq!(fired_at, vec![2, 10]);
    let events = engine.events_after(None, Some("busy"), 10);
    assert_eq!(
        events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        vec![2, 1]
    );
    let first = events.last().cloned().unwrap_or_else(|| panic!("no event"));
    assert_eq!(
        (
            first.metric.as_str(),
            first.threshold,
            first.data_source.as_str()
        ),
        ("ifinutilization", 50.0, "1")
    );
    assert!((first.value - 80.0).abs() < 1e-6, "{}", first.value);
    assert!(engine.events_after(Some(2), None, 10).is_empty());
    assert_eq!(engine.events_after(Some(1), None, 10).len(), 1);
}

#[test]
fn by_flow_threshold_fires_per_key() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_threshold(
            T0,
            "elephant",
            Threshold {
                metric: "pair".into(),
                value: 1_500_000.0,
                by_flow: true,
                timeout: 60.0,
                filter: Default::default(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let now = feed(&mut engine, agent(1), 7, &[(1, 1), (2, 2), (3, 3)], 10, 10);
    engine.tick(now);
    let mut keys: Vec<String> = engine
        .events_after(None, None, 100)
        .into_iter()
        .filter_map(|e| e.flow_key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "10.0.0.2,10.0.0.200".to_string(),
            "10.0.0.3,10.0.0.200".to_string()
        ]
    );
    assert_eq!(
        engine.threshold_triggered("elephant").map(|t| t.len()),
        Some(2)
    );
}

#[test]
fn flow_log_records_start_and_end() {
    let mut engine = Engine::default();
    let mut logged = pair_flow();
    logged.log = true;
    engine
        .set_flow(T0, "ended", logged.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    logged.flow_start = true;
    engine
        .set_flow(T0, "started", logged)
        .unwrap_or_else(|e| panic!("{e}"));
    let now = feed(&mut engine, agent(1), 7, &[(1, 1)], 10, 2);
    let started = engine.flows_after(None, Some("started"), 10);
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].start, T0);
    assert!(
        engine.flows_after(None, Some("ended"), 10).is_empty(),
        "still active"
    );
    // Idle for longer than 5 t: ended.
    engine.tick(now + 11_000);
    let ended = engine.flows_after(None, Some("ended"), 10);
    assert_eq!(ended.len(), 1);
    let record = &ended[0];
    assert_eq!((record.start, record.end), (T0, now));
    assert_eq!(record.flow_keys, "10.0.0.1,10.0.0.200");
    // 200 samples × 10 × 1000 bytes.
    assert_eq!(record.value, 2_000_000.0);
    assert_eq!(engine.last_flow_id(), 2);
    assert!(ended[0].flow_id > started[0].flow_id);
    assert_eq!(engine.flows_after(Some(1), None, 10).len(), 1);
}

#[test]
fn memory_stays_bounded_under_random_keys() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let info = dgram(agent(1), 1, 0);
    engine.begin_datagram(T0, &info);
    let mut x: u32 = 12345;
    for i in 0..100_000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let [a, b, ..] = x.to_le_bytes();
        let now = T0 + u64::from(i / 100);
        engine.ingest_flow_sample(now, &info, &flow_sample(1, i + 1, 1, a, b, 100));
    }
    let tables: usize = engine
        .agents
        .read()
        .values()
        .flat_map(|a| a.sources.values())
        .flat_map(|s| s.flows.iter())
        .map(super::activeflows::FlowTable::len)
        .sum();
    let capacity = 5 + engine.config().flow_candidates;
    assert!(tables <= 2 * capacity, "{tables} entries");
}

#[test]
fn definition_limits_and_names() {
    let config = crate::EngineConfig {
        max_flows: 2,
        max_thresholds: 1,
        ..crate::EngineConfig::default()
    };
    let mut engine = Engine::new(config);
    assert!(engine.set_flow(T0, "a", pair_flow()).is_ok());
    assert!(engine.set_flow(T0, "b", pair_flow()).is_ok());
    assert!(
        engine.set_flow(T0, "a", pair_flow()).is_ok(),
        "replacing does not count"
    );
    assert!(matches!(
        engine.set_flow(T0, "c", pair_flow()),
        Err(crate::EngineError::LimitReached { .. })
    ));
    assert!(engine.set_flow(T0, "bad.name", pair_flow()).is_err());
    assert!(
        engine
            .delete_flow("missing")
            .is_err_and(|e| e.is_not_found())
    );
    assert!(engine.delete_flow("b").is_ok());
    assert!(engine.set_flow(T0, "c", pair_flow()).is_ok());
    assert_eq!(
        engine.flows().keys().cloned().collect::<Vec<_>>(),
        vec!["a".to_string(), "c".to_string()]
    );
    let threshold = Threshold {
        metric: "a".into(),
        value: 1.0,
        by_flow: false,
        timeout: 1.0,
        filter: Default::default(),
    };
    assert!(engine.set_threshold(T0, "t1", threshold.clone()).is_ok());
    assert!(engine.set_threshold(T0, "t2", threshold).is_err());
}

#[test]
fn metric_queries_and_topology_selectors() {
    let mut engine = Engine::default();
    let (leaf, spine) = (agent(1), agent(2));
    for step in 0..3u32 {
        let now = T0 + u64::from(step) * 10_000;
        for (a, host) in [(leaf, "leaf1"), (spine, "spine1")] {
            let info = dgram(a, step + 1, step * 10_000);
            engine.begin_datagram(now, &info);
            for ifindex in [1u32, 2] {
                let octets = u64::from(step)
                    * 10_000
                    * u64::from(ifindex)
                    * if a == leaf { 1000 } else { 100 };
                let mut sample = if_counters(ifindex, step + 1, octets);
                sample.values[1].1 = CounterValue::Text(format!("swp{ifindex}").into());
                engine.ingest_counter_sample(now, &info, &sample);
            }
            let host_sample = CounterSample {
                source: DataSource::new(2, 1),
                sequence: step + 1,
                values: vec![
                    ("host_name", CounterValue::Text(host.into())),
                    ("load_one", CounterValue::Gauge(f64::from(step))),
                ],
                adapter_macs: Vec::new(),
            };
            engine.ingest_counter_sample(now, &info, &host_sample);
        }
    }
    let now = T0 + 20_000;
    // Rates: leaf swp1 1 MB/s, swp2 2 MB/s; spine 100 kB/s and 200 kB/s.
    let specs = MetricSpec::parse_list(
        "max:ifinoctets,sum:ifinoctets,min:ifinoctets,med:ifinoctets,nosuch",
    )
    .unwrap_or_default();
    let stats = engine.metric(now, &AgentSelector::All, &specs, &QueryFilter::default());
    let value = |i: usize| {
        stats
            .get(i)
            .and_then(|s| s.metric_value.as_ref())
            .and_then(super::metrics::MetricValue::as_f64)
    };
    assert_eq!(value(0), Some(2_000_000.0));
    assert_eq!(
        (stats[0].agent, stats[0].data_source.as_deref()),
        (Some(leaf), Some("2"))
    );
    assert_eq!(value(1), Some(3_300_000.0));
    assert_eq!(value(2), Some(100_000.0));
    assert_eq!(value(3), Some(600_000.0));
    assert_eq!(stats[4].metric_name, "nosuch");
    assert!(stats[4].metric_value.is_none());
    // Filter on an agent-level attribute and a data-source qualified metric.
    let filter = QueryFilter::from_pairs([("host_name", "spine*")]);
    let stats = engine.metric(
        now,
        &AgentSelector::All,
        &MetricSpec::parse_list("1.ifinoctets").unwrap_or_default(),
        &filter,
    );
    assert_eq!(
        stats[0]
            .metric_value
            .as_ref()
            .and_then(super::metrics::MetricValue::as_f64),
        Some(100_000.0)
    );
    // Names as agent selectors.
    let stats = engine.metric(
        now,
        &AgentSelector::parse("spine1").unwrap_or(AgentSelector::All),
        &specs[..1],
        &QueryFilter::default(),
    );
    assert_eq!(stats[0].agent, Some(spine));
    // Topology learned from host_name/ifname: leaf swp1 ↔ spine swp2 is core; the others are edge.
    let topology: crate::Topology = serde_json::from_str(
        r#"{"links":{"L1":{"node1":"leaf1","port1":"swp1","node2":"spine1","port2":"swp2"}}}"#,
    )
    .unwrap_or_default();
    engine
        .set_topology(now, topology)
        .unwrap_or_else(|e| panic!("{e}"));
    let core = engine.dump(
        now,
        &AgentSelector::Core,
        &crate::MetricSelection::parse("ifinoctets"),
        &QueryFilter::default(),
    );
    let mut core: Vec<(IpAddr, String)> =
        core.into_iter().map(|m| (m.agent, m.data_source)).collect();
    core.sort();
    assert_eq!(
        core,
        vec![(leaf, "1".to_string()), (spine, "2".to_string())]
    );
    let edge = engine.dump(
        now,
        &AgentSelector::Edge,
        &crate::MetricSelection::parse("ifinoctets"),
        &QueryFilter::default(),
    );
    assert_eq!(edge.len(), 2);
    // Table sorted descending, top 3.
    let (sort, names) =
        crate::SortSpec::split_table_metrics("sort:ifinoctets:-3,ifname").unwrap_or((None, vec![]));
    let rows = engine.table(
        now,
        &AgentSelector::All,
        sort.as_ref(),
        &names,
        &QueryFilter::default(),
    );
    let firsts: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            r[0].metric_value
                .as_ref()
                .and_then(super::metrics::MetricValue::as_f64)
        })
        .collect();
    assert_eq!(firsts, vec![2_000_000.0, 1_000_000.0, 200_000.0]);
    // Per-agent metric map and metric names.
    let leaf_metrics = engine.agent_metrics(now, leaf).unwrap_or_default();
    assert_eq!(
        leaf_metrics
            .get("2.1.host_name")
            .map(super::metrics::MetricValue::to_filter_string)
            .as_deref(),
        Some("leaf1")
    );
    assert!(leaf_metrics.contains_key("1.ifinutilization"));
    assert!(engine.metric_names(now).contains_key("load_one"));
    // Metrics expire.
    let later = now + engine.config().metric_timeout_ms + 1;
    engine.tick(later);
    assert!(engine.metric_names(later).is_empty());
}

#[test]
fn forwarding_targets_follow_agent_lists() {
    let mut engine = Engine::default();
    let f: crate::Forwarding =
        serde_json::from_str(r#"{"address":"10.1.1.1","agents":["192.168.0.1"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_forwarding("f1", f)
        .unwrap_or_else(|e| panic!("{e}"));
    let all: crate::Forwarding = serde_json::from_str(r#"{"address":"10.1.1.2","port":9999}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_forwarding("f2", all)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.forwarding_targets(agent(1)).len(), 2);
    assert_eq!(
        engine.forwarding_targets(agent(2)),
        vec![
            "10.1.1.2:9999"
                .parse::<SocketAddr>()
                .unwrap_or_else(|e| panic!("{e}"))
        ]
    );
}

#[test]
fn malformed_datagrams_never_panic_and_are_counted() {
    let mut engine = Engine::default();
    let source: SocketAddr = "10.9.9.9:5000".parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.ingest_sflow(T0, source, &[]).is_err());
    assert!(
        engine
            .ingest_sflow(T0, source, &[0, 0, 0, 5, 0, 0, 0, 1, 10, 0])
            .is_err()
    );
    let mut x: u32 = 99;
    for len in 0..400usize {
        let mut bytes = vec![0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1];
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes.push(x as u8);
        }
        let _ = engine.ingest_sflow(T0, source, &bytes);
    }
    assert!(engine.analyzer().sflow_datagrams_discarded >= 2);
    engine.tick(T0 + 1000);
}

/// Throughput smoke check (run with `--release -- --ignored --nocapture`); the target is ≥ 1M samples/s with
/// 10 definitions on one core.
#[test]
#[ignore]
fn ingest_throughput_with_ten_definitions() {
    let mut engine = Engine::default();
    let keys = [
        "ipsource,ipdestination",
        "ipsource",
        "ipdestination",
        "tcpdestinationport",
        "ipprotocol",
        "macsource,macdestination",
        "ipsource,ipdestination,tcpsourceport,tcpdestinationport",
        "stack",
        "inputifindex,outputifindex",
        "",
    ];
    for (i, k) in keys.iter().enumerate() {
        let def = FlowDefinition::new(k, "bytes");
        engine
            .set_flow(T0, &format!("f{i}"), def)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let samples: Vec<FlowSample> = (0..1024u32)
        .map(|i| flow_sample(1 + i % 8, i + 1, 1000, (i % 50) as u8, (i % 7) as u8, 1500))
        .collect();
    let info = dgram(agent(1), 1, 0);
    engine.begin_datagram(T0, &info);
    let total = 1_000_000u64;
    let start = std::time::Instant::now();
    for i in 0..total {
        let sample = &samples[(i % 1024) as usize];
        engine.ingest_flow_sample(T0 + i / 1000, &info, sample);
    }
    let elapsed = start.elapsed().as_secs_f64();
    eprintln!(
        "{:.0} flow samples/s with 10 definitions",
        total as f64 / elapsed
    );
}
