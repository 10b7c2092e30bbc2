//! The tick's walks over the per-agent state, done one shard at a time under that shard's lock, with the
//! engine shared: expiry of flows (flow log), idle data sources, silent agents, stale counter metrics and flow
//! keys, and the threshold observations. Ingest on other shards and queries go on meanwhile; only
//! [`Engine::finish_tick`] (events, decay rebasing, the topology view) needs the engine exclusively.
//!
//! A data source's flow tables are read only once one of them is due (`SourceState::flows_due`). Thresholds are
//! observed in the same pass, each agent's data sources right after their expiry, once for all thresholds,
//! unsorted; only the observations found are sorted, into the order events fire in.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::activeflows::{FlowTable, LoggedFlow};
use crate::budget::{entries_of, flow_entries_of};
use crate::engine::{Engine, log_flows};
use crate::engine_query::{ThresholdProbe, sort_exceeded};
use crate::sample::{DataSource, Millis};
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
        let probes: Vec<_> = self
            .thresholds
            .values()
            .map(|state| self.threshold_probe(now, &state.definition, state.installed))
            .collect();
        let mut exceeded = vec![Vec::new(); probes.len()];
        let mut gone = Vec::new();
        for index in 0..self.agents.count() {
            let mut shard = self.agents.lock_index(index);
            self.expire_shard(&mut shard, cutoffs, &probes, &mut exceeded, &mut gone);
        }
        let work = TickWork {
            thresholds: self
                .thresholds
                .iter()
                .zip(exceeded)
                .map(|((name, state), mut exceeded)| {
                    sort_exceeded(&mut exceeded);
                    (
                        name.clone(),
                        state.installed,
                        state.definition.clone(),
                        exceeded,
                    )
                })
                .collect(),
        };
        // The tenants' sequence numbers of the agents that went. Not by asking the shards with the tenants locked:
        // ingest locks a shard, then the tenants.
        if !gone.is_empty() {
            let gone: HashSet<IpAddr> = gone.into_iter().collect();
            self.tenants
                .lock()
                .retain_agents(|agent| !gone.contains(agent));
        }
        self.lookups
            .hosts_mut()
            .expire(now.saturating_sub(config.host_mac_timeout_ms));
        self.host_locations
            .lock()
            .expire(now.saturating_sub(config.located_mac_timeout_ms));
        work
    }

    /// Expires one shard's state in one pass over its agents and data sources, keeping its entry counts (the
    /// memory budget's) in step, and observes the thresholds at the data sources that stay; the agents that go
    /// are added to `gone`.
    fn expire_shard(
        &self,
        shard: &mut Shard,
        cutoffs: Cutoffs,
        probes: &[ThresholdProbe<'_>],
        exceeded: &mut [Vec<Exceeded>],
        gone: &mut Vec<IpAddr>,
    ) {
        let Shard {
            agents,
            logged,
            flow_keys_seen,
            surveyed_shapes,
            memory,
            ..
        } = shard;
        let (mut sources_gone, mut flows_gone) = (0, 0);
        agents.retain(|agent_ip, agent| {
            for (ds, source) in &mut agent.sources {
                source.counters.expire(cutoffs.metric);
                if source.flows_layout == self.flows.layout() && source.flows_due > cutoffs.now {
                    continue;
                }
                let mut due = Millis::MAX;
                for (slot, table) in source.flows.iter_mut().enumerate() {
                    let held = table.len();
                    due = due.min(self.expire_table(
                        *agent_ip,
                        *ds,
                        slot,
                        table,
                        cutoffs.now,
                        logged,
                    ));
                    flows_gone += held - table.len();
                }
                while source.flows.last().is_some_and(|t| t.generation == 0) {
                    source.flows.pop();
                }
                source.flows_due = due;
                source.flows_layout = self.flows.layout();
            }
            // An idle data source goes while its agent keeps sending (a flood of random source ids).
            agent.sources.retain(|_, source| {
                let keep = source.last_seen >= cutoffs.source;
                if !keep {
                    sources_gone += 1;
                    flows_gone += flow_entries_of(source);
                }
                keep
            });
            if agent.stats.last_seen < cutoffs.agent {
                let (sources, flows) = entries_of(agent);
                sources_gone += sources;
                flows_gone += flows;
                gone.push(*agent_ip);
                return false;
            }
            self.observe_thresholds(*agent_ip, agent, probes, exceeded);
            true
        });
        memory.sources = memory.sources.saturating_sub(sources_gone);
        memory.flows = memory.flows.saturating_sub(flows_gone);
        flow_keys_seen.retain(|_, seen| *seen >= cutoffs.flow_key);
        surveyed_shapes.retain(|_, seen| *seen >= cutoffs.flow_key);
    }

    /// Expires one flow table (flow log), or empties it when its definition was removed or redefined; returns
    /// when it next has anything to expire.
    fn expire_table(
        &self,
        agent: IpAddr,
        ds: DataSource,
        slot: usize,
        table: &mut FlowTable,
        now: Millis,
        logged: &mut Vec<LoggedFlow>,
    ) -> Millis {
        match self.flows.slots.get(slot).and_then(Option::as_ref) {
            Some(installed) if installed.generation == table.generation => {
                if table.expire_due() > now {
                    // Nothing in it can end, flush or be forgotten yet.
                    return table.expire_due();
                }
                let rate_factor = installed.clock.rate_factor(now);
                let tau_ms = installed.clock.tau_seconds() * 1000.0;
                table.expire(&installed.params, now, rate_factor, tau_ms, logged);
                if !logged.is_empty() {
                    log_flows(
                        &mut self.flow_log.lock(),
                        &installed.name,
                        agent,
                        ds,
                        logged,
                    );
                }
                table.expire_due()
            }
            _ => {
                if table.len() > 0 || table.generation != 0 {
                    *table = FlowTable::default();
                }
                Millis::MAX
            }
        }
    }
}
