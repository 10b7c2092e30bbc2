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
    use crate::flowlang::CompiledFlow;
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
