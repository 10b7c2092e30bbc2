//! Replays captures through the engine with the capture's own clock: the generated
//! tests/data/fabric.pcap (always; its generator's traffic is known exactly) and the real ecmp.pcap
//! (spec §8: 4 agents, 52,785 flow samples, 3,682 counter samples, 53 data sources, sampling
//! 1-in-20000; needs ../shared, else one skip line).

use std::path::Path;

use rtflow_engine::{
    ActiveFlowQuery, AgentSelector, Engine, FlowDefinition, MetricSelection, MetricSpec,
    QueryFilter,
};

/// An engine with a `pair` flow (ipsource,ipdestination -> bytes) fed the whole capture, ticking
/// once a second of capture time; returns it with the last datagram's time.
fn replay(path: &Path) -> (Engine, u64) {
    let mut reader = rtflow_capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::default();
    engine
        .set_object::<rtflow_engine::Flows>(
            0,
            "pair",
            FlowDefinition::new("ipsource,ipdestination", "bytes"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut now = 0;
    let mut last_tick = 0;
    let mut errors = 0;
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        now = d.timestamp.as_duration().as_millis() as u64;
        if engine.ingest_sflow(now, d.src, d.payload).is_err() {
            errors += 1;
        }
        if now >= last_tick + 1000 {
            engine.tick(now);
            last_tick = now;
        }
    }
    assert_eq!(errors, 0);
    (engine, now)
}

#[test]
fn ecmp_capture_matches_known_contents() {
    let ecmp = rtflow_testkit::shared_capture!("ecmp.pcap");
    let (engine, now) = replay(&ecmp);
    let stats = engine.analyzer();
    assert_eq!(stats.sflow_datagrams_received, 9_279);
    assert_eq!(stats.sflow_flow_samples, 52_785);
    assert_eq!(stats.sflow_counter_samples, 3_682);
    let agents = engine.agents(now, &[]);
    let names: Vec<&str> = agents.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "192.168.0.11",
            "192.168.0.12",
            "192.168.0.13",
            "192.168.0.14"
        ]
    );
    // Counter data sources per agent, as counted independently with tshark (distinct source_id per agent).
    let counter_sources: Vec<u64> = agents
        .values()
        .map(|a| a.sflow_counter_datasources)
        .collect();
    assert_eq!(counter_sources, vec![39, 39, 53, 53]);
    assert!(
        agents
            .values()
            .all(|a| a.sflow_datagrams_lost == 0 && a.sflow_decode_errors == 0)
    );
    // Host names from the host_descr structure, Broadcom table metrics, interface names.
    let hosts = engine.dump(
        now,
        &AgentSelector::All,
        &MetricSelection::parse("host_name"),
        &QueryFilter::default(),
    );
    let mut hosts: Vec<String> = hosts
        .iter()
        .filter_map(|m| m.metric_value.as_ref())
        .map(rtflow_engine::MetricValue::to_filter_string)
        .collect();
    hosts.sort();
    assert_eq!(hosts, vec!["leaf1", "leaf2", "spine1", "spine2"]);
    let names = engine.metric_names(now);
    for metric in [
        "bcm_host_utilization",
        "ifname",
        "ifinoctets",
        "ifinutilization",
        "load_one",
        "cpu_utilization",
    ] {
        assert!(names.contains_key(metric), "{metric} missing");
    }
    // Flows were keyed and scaled: top pair exists and rates are plausible for a 10G fabric (< 10 Gb/s).
    let top = engine
        .active_flows(
            now,
            &AgentSelector::All,
            "pair",
            &ActiveFlowQuery::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!top.is_empty());
    assert!(
        top.iter().all(|f| f.value > 0.0 && f.value * 8.0 < 10e9),
        "{top:?}"
    );
    let util = engine.metric(
        now,
        &AgentSelector::All,
        &MetricSpec::parse_list("max:ifinutilization").unwrap_or_default(),
        &QueryFilter::default(),
    );
    let max_util = util[0]
        .metric_value
        .as_ref()
        .and_then(rtflow_engine::MetricValue::as_f64)
        .unwrap_or(-1.0);
    assert!((0.0..=100.0).contains(&max_util), "{max_util}");
}

/// The value of `metric` for one agent's data source, from /dump.
fn dumped(engine: &Engine, now: u64, agent: &str, source: &str, metric: &str) -> Option<f64> {
    let selector = AgentSelector::parse(agent).unwrap_or_else(|e| panic!("{e}"));
    engine
        .dump(
            now,
            &selector,
            &MetricSelection::parse(metric),
            &QueryFilter::default(),
        )
        .into_iter()
        .find(|m| m.data_source == source)
        .and_then(|m| m.metric_value)
        .and_then(|v| v.as_f64())
}

/// fabric.pcap's generator (crates/corpus/src/fabric.rs) sends 10.4.3.2 -> 10.4.4.2 at 330,000
/// frames/s of 1514 bytes in 100-130 s of capture time, entering leaf1 on ifIndex 8, and counts
/// every byte on the interface counters it polls every 10 s: counter rates must equal that rate,
/// and the flow samples (1-in-200,000) must estimate it within sampling error.
#[test]
fn fabric_capture_gives_the_generated_traffic() {
    let entry = rtflow_testkit::manifest_entry("fabric.pcap");
    let (engine, now) = replay(&entry.path());
    let stats = engine.analyzer();
    assert_eq!(stats.sflow_datagrams_received, entry.count("datagrams"));
    assert_eq!(stats.sflow_flow_samples, entry.count("flow_samples"));
    assert_eq!(stats.sflow_counter_samples, entry.count("counter_samples"));
    let agents = engine.agents(now, &[]);
    let names: Vec<String> = agents.keys().cloned().collect();
    assert_eq!(names, entry.agents());
    // Counter data sources: 7 leaf ports and 5 spine ports, plus the host (2.1) of each switch.
    let counter_sources: Vec<u64> = agents
        .values()
        .map(|a| a.sflow_counter_datasources)
        .collect();
    assert_eq!(counter_sources, vec![8, 8, 6, 6]);
    assert!(
        agents
            .values()
            .all(|a| a.sflow_datagrams_lost == 0 && a.sflow_decode_errors == 0)
    );
    let host = |agent| {
        engine
            .dump(
                now,
                &AgentSelector::parse(agent).unwrap_or_else(|e| panic!("{e}")),
                &MetricSelection::parse("host_name"),
                &QueryFilter::default(),
            )
            .first()
            .and_then(|m| m.metric_value.as_ref())
            .map(rtflow_engine::MetricValue::to_filter_string)
    };
    assert_eq!(host("192.168.0.11").as_deref(), Some("leaf1"));
    assert_eq!(host("192.168.0.14").as_deref(), Some("spine2"));
    let names = engine.metric_names(now);
    for metric in [
        "bcm_host_utilization",
        "ifname",
        "ifinoctets",
        "load_one",
        "cpu_utilization",
    ] {
        assert!(names.contains_key(metric), "{metric} missing");
    }
    // 330,000 frames/s x 1514 bytes, exactly, between the last two polls of leaf1's swp3.
    let expected = 330_000.0 * 1514.0;
    let rate = dumped(&engine, now, "192.168.0.11", "8", "ifinoctets")
        .unwrap_or_else(|| panic!("no ifinoctets for leaf1 ifIndex 8"));
    assert!(
        (rate / expected - 1.0).abs() < 0.001,
        "{rate} vs {expected}"
    );
    let utilization = dumped(&engine, now, "192.168.0.11", "8", "ifinutilization").unwrap_or(-1.0);
    assert!(
        (utilization - expected * 8.0 / 1e10 * 100.0).abs() < 0.1,
        "{utilization}"
    );
    // The same traffic leaves spine2 on swp49 (ifIndex 3).
    let out = dumped(&engine, now, "192.168.0.14", "3", "ifoutoctets").unwrap_or(0.0);
    assert!((out / expected - 1.0).abs() < 0.001, "{out} vs {expected}");
    // The sampled estimate of the active transfer: top of the pair flows, within sampling error.
    let top = engine
        .active_flows(
            now,
            &AgentSelector::All,
            "pair",
            &ActiveFlowQuery::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let first = top.first().unwrap_or_else(|| panic!("no active flows"));
    assert_eq!(first.key, "10.4.3.2,10.4.4.2", "{top:?}");
    assert!(
        (0.5 * expected..2.0 * expected).contains(&first.value),
        "{} vs {expected}: {top:?}",
        first.value
    );
    // The first transfer stopped at 110 s: its pair is far below, or gone.
    let stopped = top
        .iter()
        .find(|f| f.key == "10.4.1.2,10.4.2.2")
        .map_or(0.0, |f| f.value);
    assert!(stopped < 0.1 * expected, "{top:?}");
}
