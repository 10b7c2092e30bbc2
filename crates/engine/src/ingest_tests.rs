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
                .map(|table| table.len())
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
