//! The memory budget and fair eviction (`budget.rs`) on encoded datagrams: floods of spoofed agents and data
//! sources stay within the budget, and real agents keep being analysed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    FlowRecord, FlowSampleInfo, GenericInterfaceCounters, Interface, SampledHeader,
};

use crate::{Engine, EngineConfig, FlowDefinition};

const NOW: u64 = 1_700_000_000_000;
/// Ethernet/IPv4/TCP start of a frame.
const FRAME: [u8; 34] = [
    0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0,
    0, 10, 1, 1, 1, 10, 2, 2, 2,
];

/// A datagram of `agent` with one flow sample and one counter sample, both of data source `index`.
pub(crate) fn datagram(agent: Ipv4Addr, sequence: u32, index: u32) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(agent),
        sub_agent_id: 0,
        sequence_number: sequence,
        uptime_ms: 1_000 * sequence,
    });
    builder.flow_sample(
        &FlowSampleInfo {
            sequence_number: sequence,
            source_id: DataSource { class: 0, index },
            sampling_rate: 100,
            sample_pool: 100 * sequence,
            input: Interface::index(index),
            output: Interface::index(index + 1),
            ..Default::default()
        },
        &[FlowRecord::SampledHeader(SampledHeader {
            protocol: 1,
            frame_length: 64,
            stripped: 4,
            header: &FRAME,
        })],
    );
    builder.counter_sample(
        &CounterSampleInfo {
            sequence_number: sequence,
            source_id: DataSource { class: 0, index },
            expanded: false,
        },
        &[CounterRecord::GenericInterface(GenericInterfaceCounters {
            if_index: index,
            if_in_octets: u64::from(sequence) * 1_000,
            ..Default::default()
        })],
    );
    builder.finish()
}

fn ingest(engine: &mut Engine, now: u64, agent: Ipv4Addr, sequence: u32, index: u32) {
    let source = SocketAddr::new(IpAddr::V4(agent), 6343);
    let bytes = datagram(agent, sequence, index);
    if let Err(err) = engine.ingest_sflow(now, source, &bytes) {
        panic!("ingest from {agent}: {err}");
    }
}

fn engine_with(config: EngineConfig) -> Engine {
    let mut engine = Engine::new(config);
    engine
        .set_flow(
            NOW,
            "pairs",
            FlowDefinition::new("ipsource,ipdestination", "bytes"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    engine
}

/// The n-th spoofed agent address (10.128.0.0/9).
fn spoofed(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a80_0000 + n)
}

fn known(engine: &Engine, agent: Ipv4Addr) -> bool {
    engine.agents(NOW, &[]).contains_key(&agent.to_string())
}

#[test]
fn a_flood_of_one_off_agents_does_not_lock_out_new_real_agents_nor_evict_established_ones() {
    let mut engine = engine_with(EngineConfig {
        max_agents: 100,
        ..EngineConfig::default()
    });
    let established = Ipv4Addr::new(192, 0, 2, 1);
    for sequence in 1..=5 {
        ingest(&mut engine, NOW, established, sequence, 1);
    }
    for n in 0..5_000 {
        ingest(&mut engine, NOW + 1, spoofed(n), 1, 7);
        assert!(
            engine.agents.read().iter().count() <= 100,
            "agents held: {}",
            engine.agents.read().iter().count()
        );
    }
    // Once the flood has forced evictions, new agents go through probation (`probation.rs`): the one-off
    // agents are counted but get no state, so they stop churning the table.
    let analyzer = engine.analyzer();
    assert!(
        analyzer.sflow_datagrams_on_probation >= 4_800,
        "{analyzer:?}"
    );
    assert!(analyzer.sflow_agents_evicted >= 1, "{analyzer:?}");
    assert!(analyzer.sflow_agents_evicted <= 200, "{analyzer:?}");
    // A new real agent arriving in the middle of the flood is analysed from its second datagram, which
    // continues its sequence.
    let newcomer = Ipv4Addr::new(192, 0, 2, 2);
    ingest(&mut engine, NOW + 2, newcomer, 1, 1);
    assert!(!known(&engine, newcomer), "held on probation first");
    ingest(&mut engine, NOW + 3, newcomer, 2, 1);
    assert!(known(&engine, newcomer));
    assert!(
        known(&engine, established),
        "an established agent was evicted"
    );
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_agents_over_limit, 0);
    assert!(analyzer.sflow_agents <= 100, "{analyzer:?}");
}

#[test]
fn the_flows_of_a_datagram_on_probation_are_not_evaluated() {
    let mut engine = engine_with(EngineConfig {
        max_agents: 100,
        ..EngineConfig::default()
    });
    for n in 0..300 {
        ingest(&mut engine, NOW, spoofed(n), 1, 7);
    }
    assert!(engine.analyzer().sflow_agents_evicted > 0, "under pressure");
    let mut worker = crate::IngestWorker::new(&engine);
    let newcomer = Ipv4Addr::new(192, 0, 2, 2);
    let mut evaluated = |sequence: u32| {
        let bytes = datagram(newcomer, sequence, 1);
        worker.prepare(SocketAddr::new(IpAddr::V4(newcomer), 6343), &bytes);
        worker
            .apply(&mut engine, NOW + 1, &bytes, &mut Vec::new())
            .unwrap_or_else(|e| panic!("{e}"));
        worker.evaluated_samples()
    };
    assert_eq!(evaluated(1), 0, "on probation: decoded and counted only");
    assert_eq!(evaluated(2), 1, "admitted: its flow sample is evaluated");
    assert!(known(&engine, newcomer));
}

#[test]
fn without_memory_pressure_a_new_agent_is_analysed_at_once() {
    let mut engine = engine_with(EngineConfig {
        max_agents: 100,
        ..EngineConfig::default()
    });
    for n in 0..100 {
        ingest(&mut engine, NOW, spoofed(n), 1, 7);
        assert!(known(&engine, spoofed(n)));
    }
    assert_eq!(engine.analyzer().sflow_datagrams_on_probation, 0);
}

#[test]
fn spoofed_data_sources_cannot_push_the_estimate_past_the_budget() {
    let budget = 4 * 1024 * 1024;
    let mut engine = engine_with(EngineConfig {
        memory_budget_bytes: budget,
        ..EngineConfig::default()
    });
    let real = Ipv4Addr::new(192, 0, 2, 1);
    let mut sequence = 0;
    for n in 0..20_000u32 {
        if n % 100 == 0 {
            sequence += 1;
            ingest(&mut engine, NOW + u64::from(n), real, sequence, 1);
        }
        // Spoofed agents with random-looking data-source ids, a few datagrams each.
        ingest(
            &mut engine,
            NOW + u64::from(n),
            spoofed(n % 500),
            n / 500 + 1,
            n.wrapping_mul(2_654_435_761) % 1_000_000,
        );
        let analyzer = engine.analyzer();
        assert!(
            analyzer.engine_memory_estimated <= budget as u64,
            "after {n}: {analyzer:?}"
        );
        assert!(
            known(&engine, real),
            "real agent evicted after {n}: {analyzer:?}"
        );
    }
    assert!(known(&engine, real));
    let analyzer = engine.analyzer();
    assert!(analyzer.sflow_agents_evicted > 0, "{analyzer:?}");
    assert_eq!(analyzer.engine_memory_budget, budget as u64);
    // The real agent's flows are still there.
    let flows: usize = engine
        .agents
        .read()
        .get(&IpAddr::V4(real))
        .expect("the real agent is held")
        .sources
        .values()
        .flat_map(|source| source.flows.iter().map(super::activeflows::FlowTable::len))
        .sum();
    assert!(flows > 0, "the real agent's flows were lost");
}

#[test]
fn the_entry_counts_match_a_recount_after_expiry() {
    let mut engine = engine_with(EngineConfig::default());
    for n in 0..50 {
        ingest(&mut engine, NOW, spoofed(n), 1, n % 7);
        ingest(&mut engine, NOW, spoofed(n), 2, 100 + n);
    }
    let counted = memory(&mut engine);
    for shard in engine.agents.shards_mut() {
        shard.recount_memory();
    }
    let recounted = memory(&mut engine);
    assert_eq!(counted.sources, recounted.sources);
    assert_eq!(counted.flows, recounted.flows);
    assert_eq!(recounted.sources, 100);
    assert!(recounted.flows >= 50, "{recounted:?}");
    // Agents silent past the timeout go, and their entries with them.
    let later = NOW + EngineConfig::default().agent_timeout_ms + 1;
    engine.tick(later);
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_agents, 0);
    assert_eq!(analyzer.sflow_data_sources, 0);
    assert_eq!(analyzer.active_flow_entries, 0);
}

/// The tick keeps the entry counts in step as it removes entries, without recounting: after flows are reset
/// (a definition replaced, then deleted), data sources time out and agents go silent, each shard's counts equal
/// a recount.
#[test]
fn the_tick_keeps_the_entry_counts_equal_to_a_recount() {
    let mut engine = engine_with(EngineConfig {
        shards: 4,
        ..EngineConfig::default()
    });
    let check = |engine: &mut Engine, when: &str| {
        for shard in engine.agents.shards_mut() {
            let counted = (shard.memory.sources, shard.memory.flows);
            shard.recount_memory();
            assert_eq!(
                counted,
                (shard.memory.sources, shard.memory.flows),
                "{when}"
            );
        }
    };
    for n in 0..40 {
        ingest(&mut engine, NOW, spoofed(n), 1, n % 5);
        ingest(&mut engine, NOW, spoofed(n), 2, 100 + n);
    }
    engine.tick(NOW);
    check(&mut engine, "after the first tick");
    assert_eq!(memory(&mut engine).flows, 80);

    // Replaced: the agents that send again reset their tables as they ingest, the tick resets the others'.
    engine
        .set_flow(NOW, "pairs", FlowDefinition::new("ipsource", "bytes"))
        .unwrap_or_else(|e| panic!("{e}"));
    let later = NOW + 1_000;
    for n in 0..20 {
        ingest(&mut engine, later, spoofed(n), 3, n % 5);
    }
    check(&mut engine, "after ingest resets tables");
    engine.tick(later);
    check(&mut engine, "after the tick resets tables");
    assert_eq!(memory(&mut engine).flows, 20);

    // Half the agents keep one port: their other data sources, and every source of the rest, time out.
    let timeout = EngineConfig::default().data_source_timeout_ms;
    let mut now = later;
    let mut sequence = 4;
    while now <= later + timeout {
        now += 60_000;
        for n in 0..20 {
            ingest(&mut engine, now, spoofed(n), sequence, n % 5);
        }
        sequence += 1;
        engine.tick(now);
        check(&mut engine, &format!("at {} s", (now - NOW) / 1_000));
    }
    assert_eq!(memory(&mut engine).sources, 20);

    engine
        .delete_flow("pairs")
        .unwrap_or_else(|e| panic!("{e}"));
    engine.tick(now + 1);
    check(&mut engine, "after the definition went");
    assert_eq!(memory(&mut engine).flows, 0);
    engine.tick(now + EngineConfig::default().agent_timeout_ms + 1);
    check(&mut engine, "after the agents went silent");
    assert_eq!(memory(&mut engine).sources, 0);
}

/// A burst of new agents puts the next ones on probation before the budget is full: within one second the first
/// `NEW_AGENTS_PER_SECOND` get state at once, the rest only when their next datagram continues their sequence.
#[test]
fn a_burst_of_new_agents_goes_through_probation_before_memory_is_full() {
    let mut engine = engine_with(EngineConfig::default());
    let limit = crate::probation::NEW_AGENTS_PER_SECOND as u32;
    for n in 0..limit + 100 {
        ingest(&mut engine, NOW + u64::from(n % 1_000), spoofed(n), 1, 1);
    }
    let analyzer = engine.analyzer();
    assert_eq!(analyzer.sflow_agents, u64::from(limit));
    assert_eq!(analyzer.sflow_datagrams_on_probation, 100);
    assert_eq!(
        analyzer.sflow_agents_evicted, 0,
        "the budget is far from full"
    );
    let late = spoofed(limit + 50);
    assert!(!known(&engine, late));
    // Its sequence continues: a real agent, admitted.
    ingest(&mut engine, NOW + 1_500, late, 2, 1);
    assert!(known(&engine, late));
    // A new window: new agents are still on probation for a while after the burst.
    ingest(&mut engine, NOW + 2_000, spoofed(limit + 200), 1, 1);
    assert!(!known(&engine, spoofed(limit + 200)));
}

/// The entries counted in every shard.
fn memory(engine: &mut Engine) -> crate::budget::MemoryAccount {
    engine
        .agents
        .shards_mut()
        .fold(crate::budget::MemoryAccount::default(), |sum, shard| {
            crate::budget::MemoryAccount {
                sources: sum.sources + shard.memory.sources,
                flows: sum.flows + shard.memory.flows,
                evicted_agents: sum.evicted_agents + shard.memory.evicted_agents,
                refused_sources: sum.refused_sources + shard.memory.refused_sources,
            }
        })
}
