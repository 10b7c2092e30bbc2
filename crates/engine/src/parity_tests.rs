//! Engine behaviour pinned to what a running sFlow-RT 3.1 does (spec §0.5).

use crate::engine_tests::{T0, agent, dgram, feed, flow_sample, pair_flow};
use crate::{ActiveFlowQuery, AgentSelector, Engine};

fn top_value(engine: &Engine, now: u64, name: &str) -> Option<f64> {
    engine
        .active_flows(now, &AgentSelector::All, name, &ActiveFlowQuery::default())
        .ok()
        .and_then(|flows| flows.first().map(|f| f.value))
}

#[test]
fn identical_re_put_keeps_flow_state_and_a_changed_one_resets_it() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let now = feed(&mut engine, agent(1), 3, &[(1, 1)], 10, 5);
    let before = top_value(&engine, now, "pair").unwrap_or(0.0);
    assert!(before > 900_000.0, "{before}");

    // A second client "ensures" the same flow: nothing is lost.
    engine
        .set_flow(now, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(top_value(&engine, now, "pair"), Some(before));

    // A changed definition starts from scratch.
    let mut changed = pair_flow();
    changed.t = 5.0;
    engine
        .set_flow(now, "pair", changed)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(top_value(&engine, now, "pair"), None);
}

/// Ethernet/IPv6 → ICMPv6 echo request.
fn icmpv6_frame() -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 58, 64]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    f
}

#[test]
fn flowkeys_lists_the_keys_of_rare_samples_and_the_new_keys() {
    let mut engine = Engine::default();
    let now = feed(&mut engine, agent(1), 3, &[(1, 1)], 10, 2);
    let keys = engine.flow_keys(now);
    for name in [
        "ds",
        "eth_offset",
        "ipid",
        "ipoptionslength",
        "tcpwindow",
        "tcpseqno",
        "tcpackno",
        "tcpoffset",
        "tcpoptbytes",
        "tcppayloadbytes",
        "tcp_offset",
    ] {
        assert!(keys.contains_key(name), "{name} missing from {keys:?}");
    }
    assert!(!keys.contains_key("icmp6type"));

    // One ICMPv6 sample among hundreds of TCP ones (not on the periodic survey) is still listed.
    let info = dgram(agent(1), 10_000, 300_000);
    engine.begin_datagram(now + 10, &info);
    let mut sample = flow_sample(3, 1_000_000, 10, 1, 2, 100);
    sample.packet = rtflow_packet::decode(1, &icmpv6_frame());
    engine.ingest_flow_sample(now + 10, &info, &sample);
    let keys = engine.flow_keys(now + 10);
    for name in ["icmp6type", "icmp6code", "ip6source"] {
        assert_eq!(keys.get(name), Some(&0), "{name} in {keys:?}");
    }
}

#[test]
fn ddos_protect_ipv6_definitions_compile_with_only_known_keys() {
    use rtflow_flowlang::CompiledFlow;
    let filter6 = "first:stack:.:ip:ip6=ip6&group:ip6source:ddos_protect=external\
                   &group:ip6destination:ddos_protect!=external,private,multicast,exclude";
    for (keys, filter) in [
        (
            "ip6destination,group:ip6destination:ddos_protect,ip6nexthdr",
            format!("(ip6fragm=yes|range:ip6fragoffset:1=true)&{filter6}"),
        ),
        (
            "ip6destination,group:ip6destination:ddos_protect,icmp6type",
            format!("ip6nexthdr=58&{filter6}"),
        ),
    ] {
        let mut definition = crate::FlowDefinition::new(keys, "frames");
        definition.filter = Some(filter);
        let compiled = CompiledFlow::compile(&definition).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(compiled.unknown_keys(), Vec::<String>::new(), "{keys}");
    }
}

/// Agent 1's datagrams in order: flow samples of 10.0.0.1 → 10.0.0.200 (1000 B, 1-in-10) and interface
/// counters, both on ifIndex 3; the agent's uptime follows engine time.
#[derive(Default)]
struct Agent1 {
    datagram_seq: u32,
    flow_seq: u32,
    counter_seq: u32,
}

impl Agent1 {
    fn datagram(&mut self, engine: &mut Engine, now: u64) -> crate::DatagramInfo {
        self.datagram_seq += 1;
        let info = dgram(agent(1), self.datagram_seq, (now - T0) as u32 + 1000);
        engine.begin_datagram(now, &info);
        info
    }

    fn flows(&mut self, engine: &mut Engine, now: u64, samples: u32) {
        let info = self.datagram(engine, now);
        for _ in 0..samples {
            self.flow_seq += 1;
            let sample = flow_sample(3, self.flow_seq, 10, 1, 200, 1000);
            engine.ingest_flow_sample(now, &info, &sample);
        }
    }

    fn counters(&mut self, engine: &mut Engine, now: u64, in_octets: u64) {
        let info = self.datagram(engine, now);
        self.counter_seq += 1;
        let sample = crate::engine_tests::if_counters(3, self.counter_seq, in_octets);
        engine.ingest_counter_sample(now, &info, &sample);
    }
}

fn threshold(metric: &str, value: f64, by_flow: bool) -> crate::Threshold {
    crate::Threshold {
        metric: metric.into(),
        value,
        by_flow,
        timeout: 60.0,
        filter: Default::default(),
    }
}

#[test]
fn a_new_threshold_fires_on_the_next_sample_not_on_existing_values() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut feeder = Agent1::default();
    let mut now = T0;
    for _ in 0..200 {
        now += 10;
        feeder.flows(&mut engine, now, 1);
    }
    // Counters: a rate above the threshold exists before it is set.
    feeder.counters(&mut engine, now - 1000, 0);
    feeder.counters(&mut engine, now, 100_000_000);
    engine.tick(now);

    now += 100;
    for (name, t) in [
        ("flow", threshold("pair", 1000.0, false)),
        ("byflow", threshold("pair", 1000.0, true)),
        ("counter", threshold("ifinoctets", 1000.0, false)),
    ] {
        engine
            .set_threshold(now, name, t)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    engine.tick(now + 100);
    assert_eq!(
        engine.events_after(None, None, 100),
        vec![],
        "existing values fire nothing"
    );

    // The next samples do.
    now += 1000;
    feeder.flows(&mut engine, now, 1);
    feeder.counters(&mut engine, now, 200_000_000);
    engine.tick(now);
    let mut fired: Vec<String> = engine
        .events_after(None, None, 100)
        .into_iter()
        .map(|e| e.threshold_id)
        .collect();
    fired.sort();
    assert_eq!(fired, vec!["byflow", "counter", "flow"]);

    // Not byFlow: the event is about the data source and carries no flowKey; byFlow events do.
    for event in engine.events_after(None, None, 100) {
        let json = serde_json::to_value(&event).unwrap_or_default();
        if event.threshold_id == "byflow" {
            assert_eq!(json["flowKey"], "10.0.0.1,10.0.0.200");
        } else {
            assert!(json.get("flowKey").is_none(), "{json}");
        }
    }

    // An identical re-PUT keeps the trigger state: no second event.
    engine
        .set_threshold(now, "flow", threshold("pair", 1000.0, false))
        .unwrap_or_else(|e| panic!("{e}"));
    now += 100;
    feeder.flows(&mut engine, now, 1);
    engine.tick(now);
    assert_eq!(engine.events_after(None, None, 100).len(), 3);
}

#[test]
fn flows_stay_visible_decaying_after_their_last_sample_until_negligible() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let last = feed(&mut engine, agent(1), 3, &[(1, 1)], 10, 5);
    let before = top_value(&engine, last, "pair").unwrap_or(0.0);
    assert!(before > 900_000.0, "{before}");
    let mut now = last;
    // 30 s without samples (15 τ for t=2): still there, decayed as exp(-Δt/τ), in topKeys too.
    while now < last + 30_000 {
        now += 500;
        engine.tick(now);
    }
    let after = top_value(&engine, now, "pair").unwrap_or(0.0);
    let expected = before * (-15.0f64).exp();
    assert!(
        (after / expected - 1.0).abs() < 0.01,
        "{after} vs {expected}"
    );
    let specs = crate::MetricSpec::parse_list("pair").unwrap_or_else(|e| panic!("{e}"));
    let stats = engine.metric(now, &AgentSelector::All, &specs, &Default::default());
    let json = serde_json::to_value(&stats).unwrap_or_default();
    assert_eq!(
        json[0]["topKeys"][0]["key"], "10.0.0.1,10.0.0.200",
        "{json}"
    );
    // Once negligible it is forgotten.
    while now < last + 60_000 {
        now += 500;
        engine.tick(now);
    }
    assert_eq!(top_value(&engine, now, "pair"), None);
}

#[test]
fn agg_mode_agent_folds_an_agents_data_sources_into_data_source_0() {
    let mut engine = Engine::default();
    let mut per_agent = pair_flow();
    per_agent.agg_mode = Some("AGENT".into());
    engine
        .set_flow(T0, "router", per_agent)
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_flow(T0, "port", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_threshold(T0, "busy", threshold("router", 1_500_000.0, false))
        .unwrap_or_else(|e| panic!("{e}"));
    // The same flow, 1 MB/s on each of ifIndex 3 and 4 of one router.
    let mut now = T0;
    let mut seq = 0;
    for step in 0..500u32 {
        now = T0 + u64::from(step) * 10;
        let info = dgram(agent(1), step + 1, step * 10);
        engine.begin_datagram(now, &info);
        for ifindex in [3, 4] {
            seq += 1;
            engine.ingest_flow_sample(now, &info, &flow_sample(ifindex, seq, 10, 1, 200, 1000));
        }
        if step % 50 == 0 {
            engine.tick(now);
        }
    }
    engine.tick(now);
    let flows = |name: &str| {
        engine
            .active_flows(now, &AgentSelector::All, name, &ActiveFlowQuery::default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let router = flows("router");
    assert_eq!(router.len(), 1, "{router:?}");
    assert_eq!(router[0].data_source.as_deref(), Some("0"));
    assert!(router[0].value > 1_800_000.0, "{router:?}");
    let ports: Vec<String> = {
        let mut sources: Vec<String> = engine
            .flow_locations(now, &AgentSelector::All, "port", "10.0.0.1,10.0.0.200")
            .into_iter()
            .map(|l| l.data_source)
            .collect();
        sources.sort();
        sources
    };
    assert_eq!(
        ports,
        ["3", "4"],
        "a per-port definition still sees each port"
    );
    // The per-router value crosses a threshold neither port does.
    let events = engine.events_after(None, None, 10);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].data_source, "0");
    assert_eq!(events[0].agent, agent(1));
}

#[test]
fn activeflows_carry_flow_n_no_location_for_edge_and_core_and_filter_field_by_field() {
    let mut engine = Engine::default();
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let topology: crate::Topology = serde_json::from_str(
        r#"{"nodes":{"leaf1":{"agent":"192.168.0.1","ports":{"swp3":{"ifindex":"3"}}},
                     "spine1":{"agent":"192.168.0.2","ports":{"swp2":{"ifindex":"2"}}}},
            "links":{"L1":{"node1":"leaf1","port1":"swp3","node2":"spine1","port2":"swp2"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    engine
        .set_topology(T0, topology)
        .unwrap_or_else(|e| panic!("{e}"));
    // One flow seen on leaf1's core port 3 and its edge port 4.
    let mut now = T0;
    let mut seq = 0;
    for step in 0..300u32 {
        now = T0 + u64::from(step) * 10;
        let info = dgram(agent(1), step + 1, step * 10);
        engine.begin_datagram(now, &info);
        for ifindex in [3, 4] {
            seq += 1;
            engine.ingest_flow_sample(now, &info, &flow_sample(ifindex, seq, 10, 1, 200, 1000));
        }
    }
    engine.tick(now);
    let query = |mode: Option<crate::AggMode>, filter: Option<&str>| {
        let query = ActiveFlowQuery {
            agg_mode: mode,
            key_filter: filter.map(str::to_string),
            ..ActiveFlowQuery::default()
        };
        let flows = engine
            .active_flows(now, &AgentSelector::All, "pair", &query)
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_value(flows).unwrap_or_default()
    };
    let max = query(None, None);
    assert_eq!(max[0]["flowN"], 2, "{max}");
    assert_eq!(max[0]["agent"], "192.168.0.1", "{max}");
    assert!(max[0]["dataSource"].is_string(), "{max}");
    for mode in [crate::AggMode::Edge, crate::AggMode::Core] {
        let flows = query(Some(mode), None);
        assert_eq!(flows.as_array().map(Vec::len), Some(1), "{flows}");
        assert_eq!(flows[0]["flowN"], 1, "{flows}");
        assert!(flows[0].get("agent").is_none(), "{mode:?}: {flows}");
        assert!(flows[0].get("dataSource").is_none(), "{mode:?}: {flows}");
    }
    for (filter, matches) in [
        (",10.0.0.200", true),
        ("10.0.0.1,", true),
        (",", true),
        ("*.200", true),
        ("10.0.0.1,10.0.0.200", true),
        (",10.0.0.9", false),
        ("10.0.0.1", false),
        (",,", false),
    ] {
        let flows = query(None, Some(filter));
        assert_eq!(
            flows.as_array().is_some_and(|f| !f.is_empty()),
            matches,
            "{filter:?}: {flows}"
        );
    }
}
