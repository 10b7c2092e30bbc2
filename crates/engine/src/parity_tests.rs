//! Engine behaviour pinned to what a running sFlow-RT 3.1 does (spec §0.5).

use crate::engine_tests::{T0, agent, feed, pair_flow};
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
