//! The tick's walks over the per-agent state, done one shard at a time under that shard's lock, with the
//! engine shared: expiry of flows (flow log), idle data sources, silent agents, stale counter metrics and flow
//! keys, and the threshold observations. Ingest on other shards and queries go on meanwhile; only
//! [`Engine::finish_tick`] (events, decay rebasing, the topology view) needs the engine exclusively.
//!
//! Thresholds are observed in the same pass: each shard's data sources once per threshold, unsorted; only the
//! observations found are sorted, into the order events fire in.

use std::iter;

use crate::activeflows::FlowTable;
use crate::engine::{Engine, log_flows};
use crate::engine_query::sort_exceeded;
use crate::sample::Millis;
use crate::shards::Shard;
use crate::thresholds::{Exceeded, Threshold};

/// What [`Engine::tick_shards`] found, for [`Engine::finish_tick`]: per threshold (name, when it was
/// installed, its definition) the values that exceed it.
#[derive(Debug, Default)]
pub struct TickWork {
    pub(crate) thresholds: Vec<(String, Millis, Threshold, Vec<Exceeded>)>,
}

/// The times before which state is stale, for one tick.
#[derive(Clone, Copy, Debug)]
struct Cutoffs {
    now: Millis,
    metric: Millis,
    agent: Millis,
    source: Millis,
    flow_key: Millis,
}

impl Engine {
    /// The walks of [`Engine::tick`] over every agent, one shard locked at a time (see the module comment);
    /// pass the result to [`Engine::finish_tick`].
    pub fn tick_shards(&self, now: Millis) -> TickWork {
        let config = &self.config;
        let cutoffs = Cutoffs {
            now,
            metric: now.saturating_sub(config.metric_timeout_ms),
            agent: now.saturating_sub(config.agent_timeout_ms),
            source: now.saturating_sub(config.data_source_timeout_ms),
            flow_key: now.saturating_sub(config.flow_key_timeout_ms),
        };
        let mut work = TickWork {
            thresholds: self
                .thresholds
                .iter()
                .map(|(name, state)| {
                    let definition = state.definition.clone();
                    (name.clone(), state.installed, definition, Vec::new())
                })
                .collect(),
        };
        for index in 0..self.agents.count() {
            let mut shard = self.agents.lock_index(index);
            self.expire_shard(&mut shard, cutoffs);
            for (_, installed, definition, exceeded) in &mut work.thresholds {
                exceeded.extend(self.exceeded_in(iter::once(&*shard), now, definition, *installed));
            }
        }
        for (_, _, _, exceeded) in &mut work.thresholds {
            sort_exceeded(exceeded);
        }
        // No shard is locked here: `contains` locks each in turn.
        self.tenants
            .lock()
            .retain_agents(|agent| self.agents.contains(*agent));
        self.lookups
            .hosts_mut()
            .expire(now.saturating_sub(config.host_mac_timeout_ms));
        self.host_locations
            .lock()
            .expire(now.saturating_sub(config.located_mac_timeout_ms));
        work
    }

    /// Expires one shard's state in one pass over its agents and data sources.
    fn expire_shard(&self, shard: &mut Shard, cutoffs: Cutoffs) {
        let Shard {
            agents,
            logged,
            flow_keys_seen,
            surveyed_shapes,
            ..
        } = shard;
        for (agent_ip, agent) in agents.iter_mut() {
            for (ds, source) in &mut agent.sources {
                source.counters.expire(cutoffs.metric);
                for (slot, table) in source.flows.iter_mut().enumerate() {
                    match self.flows.slots.get(slot).and_then(Option::as_ref) {
                        Some(installed) if installed.generation == table.generation => {
                            if table.expire_due() > cutoffs.now {
                                // Nothing in it can end, flush or be forgotten yet.
                                continue;
                            }
                            let rate_factor = installed.clock.rate_factor(cutoffs.now);
                            let tau_ms = installed.clock.tau_seconds() * 1000.0;
                            table.expire(
                                &installed.params,
                                cutoffs.now,
                                rate_factor,
                                tau_ms,
                                logged,
                            );
                            if !logged.is_empty() {
                                log_flows(
                                    &mut self.flow_log.lock(),
                                    &installed.name,
                                    *agent_ip,
                                    *ds,
                                    logged,
                                );
                            }
                        }
                        _ if table.len() > 0 || table.generation != 0 => {
                            *table = FlowTable::default();
                        }
                        _ => {}
                    }
                }
                while source.flows.last().is_some_and(|t| t.generation == 0) {
                    source.flows.pop();
                }
            }
            // An idle data source goes while its agent keeps sending (a flood of random source ids).
            agent
                .sources
                .retain(|_, source| source.last_seen >= cutoffs.source);
        }
        agents.retain(|_, agent| agent.stats.last_seen >= cutoffs.agent);
        flow_keys_seen.retain(|_, seen| *seen >= cutoffs.flow_key);
        surveyed_shapes.retain(|_, seen| *seen >= cutoffs.flow_key);
        shard.recount_memory();
    }
}
