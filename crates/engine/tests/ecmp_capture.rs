//! Replays the real ecmp.pcap capture (spec §8: 4 agents, 52,785 flow samples, 3,682 counter samples,
//! 53 data sources, sampling 1-in-20000) through the engine with the capture's own clock.

use rtflow_engine::{
    ActiveFlowQuery, AgentSelector, Engine, FlowDefinition, MetricSelection, MetricSpec,
    QueryFilter,
};

#[test]
fn ecmp_capture_matches_known_contents() {
    let ecmp = rtflow_testkit::shared_capture!("ecmp.pcap");
    let mut reader = rtflow_capture::open(ecmp).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::default();
    engine
        .set_flow(
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
        .map(|v| v.to_filter_string())
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
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0);
    assert!((0.0..=100.0).contains(&max_util), "{max_util}");
}
