//! The two ingest stages (`ingest.rs`): a worker evaluates against the engine's latest published view, and flows
//! evaluated with a definition replaced before the update are dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::budget_tests::datagram;
use crate::{Engine, FlowDefinition, IngestWorker};

const NOW: u64 = 1_700_000_000_000;
const AGENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Entries in the active-flow table of definition slot 0, over the agent's data sources.
fn flows_in_slot_0(engine: &Engine) -> usize {
    engine
        .agents
        .read()
        .get(&IpAddr::V4(AGENT))
        .map(|agent| {
            agent
                .sources
                .values()
                .filter_map(|source| source.flows.first())
                .map(super::activeflows::FlowTable::len)
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_worker_sees_definitions_installed_after_it_was_made() {
    let mut engine = Engine::default();
    let mut worker = IngestWorker::new(&engine);
    engine
        .set_flow(NOW, "src", FlowDefinition::new("ipsource", "bytes"))
        .unwrap_or_else(|e| panic!("{e}"));
    let source = SocketAddr::new(IpAddr::V4(AGENT), 6343);
    let bytes = datagram(AGENT, 1, 3);
    assert_eq!(worker.prepare(source, &bytes), Some(IpAddr::V4(AGENT)));
    worker
        .apply(&mut engine, NOW, &bytes, &mut Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flows_in_slot_0(&engine), 1);
}

#[test]
fn flows_evaluated_with_a_replaced_definition_are_dropped() {
    let mut engine = Engine::default();
    engine
        .set_flow(NOW, "f", FlowDefinition::new("ipsource", "bytes"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut worker = IngestWorker::new(&engine);
    let source = SocketAddr::new(IpAddr::V4(AGENT), 6343);
    let first = datagram(AGENT, 1, 3);
    worker.prepare(source, &first);
    // Replaced between the two stages (another thread's PUT while this datagram was being decoded).
    engine
        .set_flow(NOW, "f", FlowDefinition::new("ipdestination", "bytes"))
        .unwrap_or_else(|e| panic!("{e}"));
    worker
        .apply(&mut engine, NOW, &first, &mut Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        engine.analyzer().sflow_flow_samples,
        1,
        "the sample is counted"
    );
    assert_eq!(
        flows_in_slot_0(&engine),
        0,
        "but not evaluated with the old definition"
    );
    // The next datagram is evaluated with the new definition.
    let second = datagram(AGENT, 2, 3);
    worker.prepare(source, &second);
    worker
        .apply(&mut engine, NOW, &second, &mut Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flows_in_slot_0(&engine), 1);
}

/// What an engine shows after ingest, for comparing engines fed differently.
fn observed(engine: &Engine) -> (String, String, String) {
    let analyzer = engine.analyzer();
    let flows = engine
        .active_flows(
            NOW + 100,
            &crate::AgentSelector::All,
            "src",
            &crate::ActiveFlowQuery::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    (
        format!("{:?}", engine.agents(NOW + 100, &[])),
        format!("{analyzer:?}"),
        format!("{flows:?}"),
    )
}

#[test]
fn a_sharded_engine_fed_by_two_threads_ends_as_one_fed_sequentially() {
    let agents: Vec<Ipv4Addr> = (1..=16).map(|n| Ipv4Addr::new(192, 0, 2, n)).collect();
    let datagrams = |agent: Ipv4Addr| -> Vec<Vec<u8>> {
        (1..=50).map(|seq| datagram(agent, seq, seq % 5)).collect()
    };
    let with_shards = |shards: usize| {
        let mut engine = Engine::new(crate::EngineConfig {
            shards,
            ..crate::EngineConfig::default()
        });
        engine
            .set_flow(NOW, "src", FlowDefinition::new("ipsource", "bytes"))
            .unwrap_or_else(|e| panic!("{e}"));
        engine
    };
    let mut sequential = with_shards(1);
    for agent in &agents {
        for bytes in datagrams(*agent) {
            let source = SocketAddr::new(IpAddr::V4(*agent), 6343);
            let _ = sequential.ingest_sflow(NOW, source, &bytes);
        }
    }
    let sharded = with_shards(4);
    assert_eq!(sharded.agents.count(), 4);
    std::thread::scope(|scope| {
        for half in agents.chunks(agents.len() / 2) {
            let engine = &sharded;
            scope.spawn(move || {
                let mut worker = IngestWorker::new(engine);
                for agent in half {
                    for bytes in datagrams(*agent) {
                        let source = SocketAddr::new(IpAddr::V4(*agent), 6343);
                        worker.prepare(source, &bytes);
                        worker
                            .apply_shared(engine, NOW, &bytes, &mut Vec::new())
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            });
        }
    });
    let used = sharded
        .agents
        .read()
        .shards()
        .filter(|shard| !shard.agents.is_empty())
        .count();
    assert!(used > 1, "16 agents all hashed into one shard");
    assert_eq!(observed(&sharded), observed(&sequential));
    assert_eq!(sharded.analyzer().sflow_datagrams_received, 16 * 50);
}
