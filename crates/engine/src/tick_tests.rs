//! The tick's shard-by-shard walk (`tick.rs`): idle data sources expire while their agent keeps sending, the
//! threshold observations equal those of the full walk it replaced, a threshold changed between the two
//! halves of a split tick fires nothing stale, and the incremental tick (touched agents, due queue) leaves the
//! engine exactly as a walk over every agent does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::budget_tests::datagram;
use crate::engine_tests::{T0, dgram, flow_sample, if_counters, pair_flow};
use crate::thresholds::Exceeded;
use crate::{
    ActiveFlowQuery, AgentSelector, DataSource, Engine, EngineConfig, MetricSelection, QueryFilter,
    Threshold,
};
use proptest::prelude::*;

fn sources_of(engine: &Engine, agent: Ipv4Addr) -> Vec<DataSource> {
    let shards = engine.agents.read();
    let mut sources: Vec<DataSource> = shards
        .get(&IpAddr::V4(agent))
        .map(|state| state.sources.keys().copied().collect())
        .unwrap_or_default();
    sources.sort();
    sources
}

fn ingest(engine: &mut Engine, now: u64, agent: Ipv4Addr, sequence: u32, index: u32) {
    let bytes = datagram(agent, sequence, index);
    if let Err(err) = engine.ingest_sflow(now, SocketAddr::new(IpAddr::V4(agent), 6343), &bytes) {
        panic!("ingest: {err}");
    }
}

#[test]
fn idle_data_sources_expire_while_their_agent_keeps_sending() {
    let timeout = EngineConfig::default().data_source_timeout_ms;
    let mut engine = Engine::new(EngineConfig {
        shards: 4,
        ..EngineConfig::default()
    });
    let switch = Ipv4Addr::new(192, 0, 2, 1);
    // One datagram for a data source that is never heard of again (a random id), then port 1 every 10 s.
    ingest(&mut engine, T0, switch, 1, 4_000_000);
    let mut sequence = 1;
    let mut now = T0;
    while now <= T0 + timeout {
        sequence += 1;
        ingest(&mut engine, now, switch, sequence, 1);
        engine.tick(now);
        if now < T0 + timeout {
            assert_eq!(
                sources_of(&engine, switch),
                vec![DataSource::interface(1), DataSource::interface(4_000_000)],
                "at {} ms",
                now - T0
            );
        }
        now += 10_000;
    }
    engine.tick(T0 + timeout + 1);
    assert_eq!(sources_of(&engine, switch), vec![DataSource::interface(1)]);
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_agents, 1);
    assert_eq!(analyzer.sflow_data_sources, 1, "{analyzer:?}");
}

#[test]
fn the_data_source_timeout_is_configurable() {
    let mut engine = Engine::new(EngineConfig {
        data_source_timeout_ms: 30_000,
        ..EngineConfig::default()
    });
    let switch = Ipv4Addr::new(192, 0, 2, 1);
    ingest(&mut engine, T0, switch, 1, 7);
    ingest(&mut engine, T0 + 20_000, switch, 2, 1);
    engine.tick(T0 + 30_000);
    assert_eq!(
        sources_of(&engine, switch),
        vec![DataSource::interface(1), DataSource::interface(7)]
    );
    engine.tick(T0 + 30_001);
    assert_eq!(sources_of(&engine, switch), vec![DataSource::interface(1)]);
    // The agent itself stays until its own (longer) timeout.
    engine.tick(T0 + 50_001);
    assert!(sources_of(&engine, switch).is_empty());
    assert_eq!(engine.analyzer().sflow_agents, 1);
}

/// Twelve agents (over four shards), three ports each, flows of different sizes and counters of different
/// rates, for 20 s.
fn busy_engine() -> (Engine, u64) {
    let mut engine = Engine::new(EngineConfig {
        shards: 4,
        ..EngineConfig::default()
    });
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let agents: Vec<IpAddr> = (1..=12)
        .map(|n| IpAddr::V4(Ipv4Addr::new(192, 168, 0, n)))
        .collect();
    let mut sequence = 0u32;
    let mut now = T0;
    for step in 0..200u32 {
        now = T0 + u64::from(step) * 100;
        for (a, agent) in agents.iter().enumerate() {
            let info = dgram(*agent, step + 1, step * 100);
            engine.begin_datagram(now, &info);
            for port in 1..=3u32 {
                for src in 1..=(a as u8 % 5 + port as u8) {
                    sequence += 1;
                    let sample = flow_sample(port, sequence, 10 * port, src, 200, 1000);
                    engine.ingest_flow_sample(now, &info, &sample);
                }
                if step % 10 == 0 {
                    let octets = u64::from(step) * 1_000_000 * (a as u64 + 1) * u64::from(port);
                    engine.ingest_counter_sample(
                        now,
                        &info,
                        &if_counters(port, step / 10 + 1, octets),
                    );
                }
            }
        }
    }
    (engine, now)
}

fn comparable(observations: &[Exceeded]) -> Vec<String> {
    observations
        .iter()
        .map(|o| format!("{:?} {} {:?} {:?}", o.key, o.value, o.values, o.flow_key))
        .collect()
}

#[test]
fn threshold_observations_equal_the_full_walk() {
    let (engine, now) = busy_engine();
    let thresholds = [
        ("pair", 50_000.0, false, None),
        ("pair", 50_000.0, true, None),
        ("pair", 0.0, true, Some("2")),
        ("ifinoctets", 2_000_000.0, false, None),
        ("ifinoctets", 0.0, false, Some("3")),
    ];
    let thresholds: Vec<Threshold> = thresholds
        .iter()
        .map(|&(metric, value, by_flow, ifindex)| Threshold {
            metric: metric.into(),
            value,
            by_flow,
            timeout: 60.0,
            filter: ifindex
                .map(|index| [("dataSource".to_string(), vec![index.to_string()])])
                .into_iter()
                .flatten()
                .collect(),
        })
        .collect();
    // All five observed in one pass, shard by shard, as the tick does.
    let probes: Vec<_> = thresholds
        .iter()
        .map(|threshold| engine.threshold_probe(now, threshold, T0))
        .collect();
    let mut shard_by_shard = vec![Vec::new(); probes.len()];
    for index in 0..engine.agents.count() {
        let shard = engine.agents.lock_index(index);
        for (ip, agent) in &shard.agents {
            engine.observe_thresholds(*ip, agent, &probes, &mut shard_by_shard);
        }
    }
    let mut nonempty = 0;
    for (threshold, mut observed) in thresholds.iter().zip(shard_by_shard) {
        crate::engine_query::sort_exceeded(&mut observed);
        let full_walk = engine.exceeded_by_full_walk(now, threshold, T0);
        assert_eq!(
            comparable(&observed),
            comparable(&full_walk),
            "{threshold:?}"
        );
        nonempty += usize::from(!full_walk.is_empty());
    }
    assert_eq!(
        nonempty,
        thresholds.len(),
        "every threshold is exceeded somewhere"
    );
}

#[test]
fn a_threshold_replaced_between_the_halves_of_a_tick_fires_nothing_stale() {
    let (mut engine, now) = busy_engine();
    let threshold = |value: f64| Threshold {
        metric: "pair".into(),
        value,
        by_flow: true,
        timeout: 60.0,
        filter: Default::default(),
    };
    engine
        .set_threshold(T0, "big", threshold(0.0))
        .unwrap_or_else(|e| panic!("{e}"));
    let work = engine.tick_shards(now);
    // Replaced with a value no flow reaches before the tick finishes: the observations taken are dropped.
    engine
        .set_threshold(T0, "big", threshold(1e15))
        .unwrap_or_else(|e| panic!("{e}"));
    engine.finish_tick(now, work);
    assert!(engine.events_after(None, None, 10).is_empty());
    // Deleted meanwhile: nothing either; a whole tick with the first definition fires.
    let work = engine.tick_shards(now);
    engine
        .delete_threshold("big")
        .unwrap_or_else(|e| panic!("{e}"));
    engine.finish_tick(now, work);
    assert!(engine.events_after(None, None, 10).is_empty());
    engine
        .set_threshold(T0, "big", threshold(0.0))
        .unwrap_or_else(|e| panic!("{e}"));
    engine.tick(now);
    assert!(!engine.events_after(None, None, 10).is_empty());
}

/// The flow tables of `agent`'s port 1: when they are next due and how many there are.
fn port_one_tables(engine: &Engine, agent: IpAddr) -> (u64, usize) {
    let shards = engine.agents.read();
    let source = shards
        .get(&agent)
        .and_then(|state| state.sources.get(&DataSource::interface(1)))
        .unwrap_or_else(|| panic!("no port 1 at {agent}"));
    (source.flows_due, source.flows.len())
}

/// The tick reads a data source's flow tables only once one is due: a sample lowers the source's due time, so
/// a flow started after the tick found nothing to do still ends at its idle time. A removed definition's tables
/// go at the next tick, due or not.
#[test]
fn flow_tables_are_read_when_due_and_reset_when_their_definition_goes() {
    let mut engine = Engine::new(EngineConfig::default());
    let mut logged = pair_flow();
    logged.log = true;
    engine
        .set_flow(T0, "pair", logged)
        .unwrap_or_else(|e| panic!("{e}"));
    let idle_ms = engine
        .flows
        .get("pair")
        .map(|(_, installed)| installed.params.idle_ms)
        .unwrap_or_else(|| panic!("pair is installed"));
    let switch = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    // Counters only: the port has no table, nothing is due.
    let info = dgram(switch, 1, 1_000);
    engine.begin_datagram(T0, &info);
    engine.ingest_counter_sample(T0, &info, &if_counters(1, 1, 1_000));
    engine.tick(T0);
    assert_eq!(port_one_tables(&engine, switch), (u64::MAX, 0));

    let started = T0 + 1_000;
    let info = dgram(switch, 2, 2_000);
    engine.begin_datagram(started, &info);
    engine.ingest_flow_sample(started, &info, &flow_sample(1, 1, 10, 1, 2, 1_000));
    engine.tick(started);
    let (due, tables) = port_one_tables(&engine, switch);
    assert_eq!(tables, 1);
    assert_eq!(
        due,
        started + idle_ms,
        "the flow ends after idle_ms without samples"
    );
    engine.tick(due - 1);
    assert!(engine.flows_after(None, Some("pair"), 10).is_empty());
    engine.tick(due);
    let ended = engine.flows_after(None, Some("pair"), 10);
    assert_eq!(ended.len(), 1, "{ended:?}");

    let again = due + 1_000;
    let info = dgram(switch, 3, 3_000);
    engine.begin_datagram(again, &info);
    engine.ingest_flow_sample(again, &info, &flow_sample(1, 2, 10, 1, 2, 1_000));
    engine.tick(again);
    assert!(port_one_tables(&engine, switch).0 > again + 1);
    engine.delete_flow("pair").unwrap_or_else(|e| panic!("{e}"));
    engine.tick(again + 1);
    assert_eq!(port_one_tables(&engine, switch), (u64::MAX, 0));
}

/// One step of a random workload: some agents send samples, then time moves on and the engine ticks.
#[derive(Clone, Debug)]
struct Step {
    /// (agent 0..6, port 1..4, source host 1..4, frame bytes, with a counter sample)
    sends: Vec<(u8, u32, u8, u32, bool)>,
    advance_ms: u64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec((0u8..6, 1u32..4, 1u8..4, 64u32..9_000, any::<bool>()), 0..6),
        prop_oneof![0u64..400, 400u64..3_000, 3_000u64..9_000],
    )
        .prop_map(|(sends, advance_ms)| Step { sends, advance_ms })
}

/// Everything the tick changes, as text: agents, counter metrics, active flows, the flow log and events.
fn observable(engine: &Engine, now: u64) -> Vec<String> {
    let mut out: Vec<String> = engine
        .agents(now, &[])
        .iter()
        .map(|(agent, info)| format!("{agent} {info:?}"))
        .collect();
    let metrics = engine.dump(
        now,
        &AgentSelector::All,
        &MetricSelection::All,
        &QueryFilter::default(),
    );
    out.extend(metrics.iter().map(|metric| format!("{metric:?}")));
    for name in ["pair", "src"] {
        let flows = engine
            .active_flows(now, &AgentSelector::All, name, &ActiveFlowQuery::default())
            .unwrap_or_else(|e| panic!("{e}"));
        out.extend(flows.iter().map(|flow| format!("{name} {flow:?}")));
    }
    // The flow log's records as a set: the order agents' flows end in within one tick is the walk's order (a
    // hash table's for the walk over every agent), so their ids are left out.
    let mut logged: Vec<String> = engine
        .flows_after(None, None, 10_000)
        .iter()
        .map(|r| {
            let (name, keys, agent, source) = (&r.name, &r.flow_keys, r.agent, &r.data_source);
            format!(
                "{name} {keys} {} {}-{} {agent} {source}",
                r.value, r.start, r.end
            )
        })
        .collect();
    logged.sort();
    out.extend(logged);
    out.extend(
        engine
            .events_after(None, None, 10_000)
            .iter()
            .map(|event| format!("{event:?}")),
    );
    let analyzer = engine.analyzer();
    out.push(format!(
        "{} agents, {} sources, {} flows",
        analyzer.sflow_agents, analyzer.sflow_data_sources, analyzer.active_flow_entries
    ));
    out
}

fn workload_engine(walks_every_agent: bool) -> Engine {
    let mut engine = Engine::new(EngineConfig {
        shards: 2,
        agent_timeout_ms: 20_000,
        data_source_timeout_ms: 8_000,
        metric_timeout_ms: 5_000,
        ..EngineConfig::default()
    });
    engine.tick_walks_every_agent = walks_every_agent;
    let mut logged = pair_flow();
    logged.log = true;
    logged.active_timeout = 3;
    engine
        .set_flow(T0, "pair", logged)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut src = crate::FlowDefinition::new("ipsource", "frames");
    src.t = 1.0;
    engine
        .set_flow(T0, "src", src)
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, metric, value, by_flow) in [
        ("pairs", "pair", 2_000.0, false),
        ("each", "pair", 4_000.0, true),
        ("in", "ifinoctets", 500.0, false),
    ] {
        let threshold = Threshold {
            metric: metric.into(),
            value,
            by_flow,
            timeout: 2.0,
            filter: Default::default(),
        };
        engine
            .set_object::<crate::Thresholds>(T0, name, threshold)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    engine
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The incremental tick visits only the agents that may have changed; after every tick the engine is the
    /// same as one whose tick visits every agent.
    #[test]
    fn the_incremental_tick_equals_a_walk_over_every_agent(
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut incremental = workload_engine(false);
        let mut walking = workload_engine(true);
        let mut now = T0;
        let mut sequence = [0u32; 6];
        for step in steps {
            for (agent, port, src, bytes, counters) in step.sends {
                let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, agent + 1));
                let n = &mut sequence[usize::from(agent)];
                *n += 1;
                let info = dgram(ip, *n, *n * 1_000);
                let sample = flow_sample(port, *n, 10, src, 9, bytes);
                let counter = if_counters(port, *n, u64::from(*n) * u64::from(bytes));
                for engine in [&mut incremental, &mut walking] {
                    if engine.begin_datagram(now, &info) {
                        engine.ingest_flow_sample(now, &info, &sample);
                        if counters {
                            engine.ingest_counter_sample(now, &info, &counter);
                        }
                    }
                }
            }
            now += step.advance_ms;
            incremental.tick(now);
            walking.tick(now);
            prop_assert_eq!(observable(&incremental, now), observable(&walking, now), "at {} ms", now - T0);
        }
    }
}
