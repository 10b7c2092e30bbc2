//! The tick's work over the per-agent state, done one shard at a time under that shard's lock, with the
//! engine shared: expiry of flows (flow log), idle data sources, silent agents, stale counter metrics and flow
//! keys, and the threshold observations. Ingest on other shards and queries go on meanwhile; only
//! [`Engine::finish_tick`] (events, decay rebasing, the topology view) needs the engine exclusively.
//!
//! The work is incremental: a tick visits only the agents that may have changed since the last one.
//! - Ingest notes every agent it updates in its shard's `touched` list (once per tick).
//! - Each agent visited is queued in its shard's due queue (a binary heap) at the time it next has something
//!   to expire: its silence timeout, or a data source's, a counter metric's or a flow table's due time. An
//!   agent queued again earlier leaves a stale entry behind, recognised by the agent's `scheduled_due` and
//!   skipped; the queue is rebuilt when stale entries outnumber the agents.
//! - The agents with an observation above a threshold at the last tick are visited again, so that the
//!   threshold sees the value fall back. An agent neither touched nor due cannot newly exceed a threshold:
//!   without samples a flow's value only decays (min, max, average and distinct values stay as they are), and
//!   counter metrics change only with counter samples.
//!
//! Every agent is visited when the flow definitions or the thresholds changed since the shard was last walked,
//! and at every tick while a threshold has a filter (whether a data source passes it may depend on names
//! polled or learned elsewhere). A test runs random workloads against an engine whose tick visits every agent
//! and requires the same agents, metrics, flows, flow log and events after every tick.
//!
//! Within an agent, a data source's flow tables are read only once one of them is due
//! (`SourceState::flows_due`). Thresholds are observed in the same pass, each agent's data sources right after
//! their expiry, once for all thresholds, unsorted; only the observations found are sorted, into the order
//! events fire in.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::net::IpAddr;

use crate::activeflows::{FlowTable, LoggedFlow};
use crate::agents::AgentState;
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

/// Entries removed from a shard in one tick.
#[derive(Default)]
struct Removed {
    sources: usize,
    flows: usize,
}

impl Removed {
    /// Counts an agent that goes, with its data sources and flows.
    fn agent(&mut self, agent: &AgentState) {
        let (sources, flows) = entries_of(agent);
        self.sources += sources;
        self.flows += flows;
    }
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

    /// Expires one shard's state and observes the thresholds at the data sources that stay, keeping the shard's
    /// entry counts (the memory budget's) in step; the agents that go are added to `gone`.
    ///
    /// Only the agents that may have changed are visited (see the module comment): those ingest updated since the
    /// last tick (`Shard::touched`), those whose time in the due queue came (`Shard::due`), and those with an
    /// observation above a threshold at the last tick (`Shard::exceeding`). Every agent is visited once after
    /// the flow definitions or the thresholds changed, and at every tick while a threshold has a filter.
    fn expire_shard(
        &self,
        shard: &mut Shard,
        cutoffs: Cutoffs,
        probes: &[ThresholdProbe<'_>],
        exceeded: &mut [Vec<Exceeded>],
        gone: &mut Vec<IpAddr>,
    ) {
        let configuration = (self.flows.layout(), self.threshold_generation);
        let walk_all = shard.walked != Some(configuration)
            || probes.iter().any(ThresholdProbe::filtered)
            || self.walks_every_agent();
        let Shard {
            agents,
            logged,
            flow_keys_seen,
            surveyed_shapes,
            memory,
            touched,
            due,
            exceeding,
            walked,
            ..
        } = shard;
        let mut removed = Removed::default();
        let mut visit = |ip: IpAddr,
                         agent: &mut AgentState,
                         removed: &mut Removed,
                         exceeding: &mut Vec<IpAddr>| {
            agent.touched = false;
            if !self.expire_agent(ip, agent, cutoffs, logged, removed) {
                return None;
            }
            if self.observe_thresholds(ip, agent, probes, exceeded) {
                exceeding.push(ip);
            }
            Some(self.agent_due(agent, cutoffs))
        };
        let exceeded_before = std::mem::take(exceeding);
        if walk_all {
            touched.clear();
            let mut queue = Vec::with_capacity(agents.len());
            agents.retain(
                |ip, agent| match visit(*ip, agent, &mut removed, exceeding) {
                    Some(next) => {
                        agent.scheduled_due = next;
                        queue.push(Reverse((next, *ip)));
                        true
                    }
                    None => {
                        removed.agent(agent);
                        gone.push(*ip);
                        false
                    }
                },
            );
            *due = BinaryHeap::from(queue);
            *walked = Some(configuration);
        } else {
            let mut visiting = std::mem::take(touched);
            visiting.extend(exceeded_before);
            while let Some(&Reverse((when, ip))) = due.peek()
                && when <= cutoffs.now
            {
                due.pop();
                if agents
                    .get(&ip)
                    .is_some_and(|agent| agent.scheduled_due == when)
                {
                    visiting.push(ip);
                }
            }
            visiting.sort_unstable();
            visiting.dedup();
            for ip in visiting.drain(..) {
                let Some(agent) = agents.get_mut(&ip) else {
                    continue;
                };
                match visit(ip, agent, &mut removed, exceeding) {
                    Some(next) => {
                        // A later time keeps the entry already queued: it comes up early, and the agent is
                        // queued again then.
                        if next < agent.scheduled_due || agent.scheduled_due <= cutoffs.now {
                            agent.scheduled_due = next;
                            due.push(Reverse((next, ip)));
                        }
                    }
                    None => {
                        if let Some(agent) = agents.remove(&ip) {
                            removed.agent(&agent);
                        }
                        gone.push(ip);
                    }
                }
            }
            *touched = visiting;
            // Entries made stale by agents queued earlier or removed: rebuilt when they outnumber the agents.
            if due.len() > 2 * agents.len() + 1_024 {
                *due = agents
                    .iter()
                    .filter(|(_, agent)| agent.scheduled_due != Millis::MAX)
                    .map(|(ip, agent)| Reverse((agent.scheduled_due, *ip)))
                    .collect();
            }
        }
        memory.sources = memory.sources.saturating_sub(removed.sources);
        memory.flows = memory.flows.saturating_sub(removed.flows);
        flow_keys_seen.retain(|_, seen| *seen >= cutoffs.flow_key);
        surveyed_shapes.retain(|_, seen| *seen >= cutoffs.flow_key);
    }

    /// Expires one agent's data sources (flows, counter metrics, idle sources); false when the agent itself is
    /// silent for too long and goes (its entries are then not counted in `removed`: the caller removes it).
    fn expire_agent(
        &self,
        agent_ip: IpAddr,
        agent: &mut AgentState,
        cutoffs: Cutoffs,
        logged: &mut Vec<LoggedFlow>,
        removed: &mut Removed,
    ) -> bool {
        for (ds, source) in &mut agent.sources {
            source.counters.expire(cutoffs.metric);
            if source.flows_layout == self.flows.layout() && source.flows_due > cutoffs.now {
                continue;
            }
            let mut due = Millis::MAX;
            for (slot, table) in source.flows.iter_mut().enumerate() {
                let held = table.len();
                due = due.min(self.expire_table(agent_ip, *ds, slot, table, cutoffs.now, logged));
                removed.flows += held - table.len();
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
                removed.sources += 1;
                removed.flows += flow_entries_of(source);
            }
            keep
        });
        agent.stats.last_seen >= cutoffs.agent
    }

    /// When the agent next has something to expire: its silence timeout, or a data source's, a counter
    /// metric's, or a flow table's due time.
    fn agent_due(&self, agent: &AgentState, cutoffs: Cutoffs) -> Millis {
        let after = |seen: Millis, timeout: Millis| seen.saturating_add(timeout).saturating_add(1);
        let timeouts = &self.config;
        agent
            .sources
            .values()
            .fold(
                after(agent.stats.last_seen, timeouts.agent_timeout_ms),
                |due, source| {
                    due.min(after(source.last_seen, timeouts.data_source_timeout_ms))
                        .min(source.counters.next_expiry(timeouts.metric_timeout_ms))
                        .min(source.flows_due)
                },
            )
            .max(cutoffs.now.saturating_add(1))
    }

    #[cfg(test)]
    fn walks_every_agent(&self) -> bool {
        self.tick_walks_every_agent
    }

    #[cfg(not(test))]
    fn walks_every_agent(&self) -> bool {
        false
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
