//! `/activeflows` merges: the answer does not depend on how agents fall into shards, and sums, averages, flow
//! counts and tie-breaks are what the definition of each `aggMode` says.

use std::collections::HashMap;

use crate::engine_tests::{T0, agent, dgram, flow_sample, pair_flow};
use crate::{ActiveFlow, ActiveFlowQuery, AgentSelector, AggMode, Engine, EngineConfig};

/// (agent, ifindex, [(src, samples per step)]): agents 1 and 2 carry identical traffic on their port 1 (a tie
/// in value), source 10.0.0.1 is seen at five data sources with different weights.
/// (agent number, ifindex, [(source host, samples per step)]).
type Traffic = (u8, u32, &'static [(u8, u32)]);

const TRAFFIC: &[Traffic] = &[
    (1, 1, &[(1, 2), (2, 1)]),
    (2, 1, &[(1, 2), (2, 1)]),
    (2, 7, &[(1, 1), (3, 3)]),
    (3, 4, &[(1, 3), (4, 1)]),
    (4, 2, &[(1, 1), (2, 2), (5, 1)]),
    (5, 9, &[(6, 1)]),
    (6, 3, &[(3, 1), (6, 2)]),
    (7, 5, &[(4, 2)]),
];

/// An engine with `shards` shards fed 5 s of [`TRAFFIC`] (1-in-10 sampling, 1000-byte frames).
fn fed(shards: usize) -> (Engine, u64) {
    let mut engine = Engine::new(EngineConfig {
        shards,
        ..EngineConfig::default()
    });
    engine
        .set_flow(T0, "pair", pair_flow())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sequences: HashMap<(u8, u32), u32> = HashMap::new();
    let mut now = T0;
    for step in 0..500u32 {
        now = T0 + u64::from(step) * 10;
        for &(agent_n, ifindex, flows) in TRAFFIC {
            let info = dgram(agent(agent_n), step + 1, step * 10);
            engine.begin_datagram(now, &info);
            for &(src, weight) in flows {
                for _ in 0..weight {
                    let seq = sequences.entry((agent_n, ifindex)).or_default();
                    *seq += 1;
                    engine.ingest_flow_sample(
                        now,
                        &info,
                        &flow_sample(ifindex, *seq, 10, src, 200, 1000),
                    );
                }
            }
        }
        if step % 50 == 0 {
            engine.tick(now);
        }
    }
    engine.tick(now);
    (engine, now)
}

fn active(engine: &Engine, now: u64, mode: AggMode) -> Vec<ActiveFlow> {
    let query = ActiveFlowQuery {
        agg_mode: Some(mode),
        max_flows: 1000,
        ..ActiveFlowQuery::default()
    };
    engine
        .active_flows(now, &AgentSelector::All, "pair", &query)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn find<'a>(flows: &'a [ActiveFlow], key: &str) -> &'a ActiveFlow {
    flows
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no flow {key} in {flows:?}"))
}

#[test]
fn the_answer_is_the_same_whatever_the_shard_layout() {
    let (one, now) = fed(1);
    for shards in [2, 16] {
        let (many, _) = fed(shards);
        for mode in [AggMode::Max, AggMode::Sum, AggMode::Avg, AggMode::Agent] {
            assert_eq!(
                active(&one, now, mode),
                active(&many, now, mode),
                "{mode:?} with {shards} shards"
            );
        }
    }
}

#[test]
fn each_agg_mode_merges_as_defined() {
    let (engine, now) = fed(16);
    let key = "10.0.0.1,10.0.0.200";
    let max = active(&engine, now, AggMode::Max);
    let sum = active(&engine, now, AggMode::Sum);
    let avg = active(&engine, now, AggMode::Avg);
    let by_agent = active(&engine, now, AggMode::Agent);

    // 10.0.0.1 is seen at five data sources: the largest is agent 3's port 4 (3 samples per step).
    let (max, sum, avg) = (find(&max, key), find(&sum, key), find(&avg, key));
    assert_eq!((max.flow_n, sum.flow_n, avg.flow_n), (5, 5, 5));
    assert_eq!(max.agent, Some(agent(3)), "{max:?}");
    assert_eq!(max.data_source.as_deref(), Some("4"));
    // Per agent: agent 2 sees it on two ports (weights 2 and 1), merged by the larger.
    let per_agent: Vec<&ActiveFlow> = by_agent.iter().filter(|f| f.key == key).collect();
    assert_eq!(per_agent.len(), 4, "{per_agent:?}");
    let values: HashMap<_, _> = per_agent
        .iter()
        .map(|f| (f.agent, (f.value, f.flow_n)))
        .collect();
    let weight_1 = values[&Some(agent(4))].0;
    assert!(weight_1 > 0.0);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(max.value, 3.0 * weight_1), "{max:?} vs {weight_1}");
    assert_eq!(values[&Some(agent(2))].1, 2);
    // The sum is over the five data sources (weights 2 + 2 + 1 + 3 + 1), the average over their count.
    assert!(close(sum.value, 9.0 * weight_1), "{sum:?} vs {weight_1}");
    assert!(close(avg.value, sum.value / 5.0), "{avg:?} vs {sum:?}");

    // 10.0.0.2 is at agents 1 and 2 (port 1, weight 1) and agent 4 (weight 2): agent 4's is the largest.
    let flows = active(&engine, now, AggMode::Max);
    let second = find(&flows, "10.0.0.2,10.0.0.200");
    assert_eq!(
        (second.agent, second.flow_n),
        (Some(agent(4)), 3),
        "{second:?}"
    );
}

#[test]
fn a_tie_in_value_goes_to_the_smallest_agent_and_data_source() {
    // Only the tied pair: agents 1 and 2, port 1, identical traffic.
    for shards in [1, 16] {
        let (engine, now) = fed(shards);
        // Query only the two tied agents: the same key at both with the same value; the smaller agent wins.
        let query = ActiveFlowQuery {
            max_flows: 1000,
            ..ActiveFlowQuery::default()
        };
        let selector =
            AgentSelector::parse("192.168.0.2,192.168.0.1").unwrap_or_else(|e| panic!("{e}"));
        let both = engine
            .active_flows(now, &selector, "pair", &query)
            .unwrap_or_else(|e| panic!("{e}"));
        let shared = find(&both, "10.0.0.2,10.0.0.200");
        assert_eq!(shared.flow_n, 2, "{both:?}");
        assert_eq!(shared.agent, Some(agent(1)), "{shards} shards: {both:?}");
        assert_eq!(shared.data_source.as_deref(), Some("1"));
    }
}
