//! One memory budget for the engine's per-agent state (agents, their data sources with counters, active flows),
//! with fair eviction.
//!
//! The engine counts its entries as it creates them (an exact recount happens at every state expiry pass) and
//! estimates their memory with a fixed cost per kind of entry. When a new agent, data source or flow would
//! take the estimate past the budget, or a new agent finds `max_agents` tracked, the least useful agents are
//! evicted to make room, never the one being analysed: first agents not yet established (fewer than
//! [`ESTABLISHED_DATAGRAMS`] datagrams, as a spoofed source sends), oldest first, then established agents with
//! the fewest datagrams per data source held (a spoofed flood with random data-source ids), then those silent
//! the longest. So a flood of one-off agents only churns other one-off agents, and a new real agent always gets
//! in. Evicting frees a tenth of the budget (or of `max_agents`) at once, so that the sort is paid rarely.
//!
//! Datagrams that fail to decode create no state at all (see `ingest.rs`).

use std::net::IpAddr;

use crate::agents::{AgentState, SourceState};
use crate::engine::Engine;
use crate::sample::Millis;
use crate::shards::Shard;

/// Estimated bytes of one agent's own state (statistics, sequence trackers, hash map slot).
pub(crate) const AGENT_BYTES: usize = 2 * 1024;
/// Estimated bytes of one data source: counter metrics with their rate baselines, sequence and sampling state.
pub(crate) const SOURCE_BYTES: usize = 4 * 1024;
/// Estimated bytes of one active-flow entry: its key, values, decay state and index slots. Calibrated on a
/// flood of spoofed data sources (2026-12-05): their tables hold one or two flows each, so each flow carries a
/// small hash table's whole allocation; 320 bytes left the process about 25 % above the budget.
pub(crate) const FLOW_BYTES: usize = 512;
/// Datagrams after which an agent is established: evicted only after every agent not yet established.
pub(crate) const ESTABLISHED_DATAGRAMS: u64 = 3;

/// Entries held, as counted by the engine, and what eviction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemoryAccount {
    pub sources: usize,
    pub flows: usize,
    /// Agents evicted to make room (budget or `max_agents`), since start.
    pub evicted_agents: u64,
    /// Data sources not created because the budget was spent even after eviction, since start.
    pub refused_sources: u64,
}

impl MemoryAccount {
    /// Estimated bytes of `agents` agents and the sources and flows counted here.
    pub(crate) fn estimated_bytes(&self, agents: usize) -> usize {
        agents
            .saturating_mul(AGENT_BYTES)
            .saturating_add(self.sources.saturating_mul(SOURCE_BYTES))
            .saturating_add(self.flows.saturating_mul(FLOW_BYTES))
    }
}

/// The usefulness of an agent for eviction, smaller evicted first: agents not yet established before established
/// ones; then the fewest datagrams per data source held (in powers of two: a real switch reports the same
/// ports again and again, while a spoofed flood with random data-source ids brings a new source with almost
/// every datagram); then the longest silent.
fn usefulness(agent: &AgentState) -> (bool, u32, Millis) {
    let received = agent.stats.datagrams.received;
    let per_source = received / (agent.sources.len() as u64 + 1);
    (
        received >= ESTABLISHED_DATAGRAMS,
        u64::BITS - per_source.leading_zeros(),
        agent.stats.last_seen,
    )
}

/// Sources and flows held by one agent.
pub(crate) fn entries_of(agent: &AgentState) -> (usize, usize) {
    let flows = agent.sources.values().map(flow_entries_of).sum();
    (agent.sources.len(), flows)
}

/// Flows held by one data source.
pub(crate) fn flow_entries_of(source: &SourceState) -> usize {
    source
        .flows
        .iter()
        .map(super::activeflows::FlowTable::len)
        .sum()
}

impl Engine {
    /// The part of the memory budget each shard keeps to (the budget shared evenly by the shards).
    pub(crate) fn shard_budget(&self) -> usize {
        self.config.memory_budget_bytes / self.agents.count()
    }

    /// Whether `extra` more bytes fit in `shard`'s part of the budget.
    pub(crate) fn fits_budget(&self, shard: &Shard, extra: usize) -> bool {
        shard.estimated_memory().saturating_add(extra) <= self.shard_budget()
    }

    /// Makes room in `shard` for `extra` bytes (and, when `new_agent`, for one more agent under the shard's
    /// part of `max_agents`) by evicting the shard's least useful agents other than `keep`. Returns whether
    /// there is room now.
    pub(crate) fn make_room(
        &self,
        shard: &mut Shard,
        keep: IpAddr,
        extra: usize,
        new_agent: bool,
    ) -> bool {
        let max_agents = self.shard_max_agents();
        let agents_full = new_agent && shard.agents.len() >= max_agents;
        if !agents_full && self.fits_budget(shard, extra) {
            return true;
        }
        let budget = self.shard_budget();
        // Free a tenth at once, so that the sort below is amortised over many admissions.
        let target_bytes = budget.saturating_sub(budget / 10).saturating_sub(extra);
        let target_agents = if agents_full {
            max_agents.saturating_sub((max_agents / 10).max(1))
        } else {
            usize::MAX
        };
        let mut candidates: Vec<((bool, u32, Millis), IpAddr)> = shard
            .agents
            .iter()
            .filter(|(ip, _)| **ip != keep)
            .map(|(ip, agent)| (usefulness(agent), *ip))
            .collect();
        candidates.sort_unstable();
        let mut evicted = Vec::new();
        for (_, ip) in candidates {
            if shard.agents.len() <= target_agents && shard.estimated_memory() <= target_bytes {
                break;
            }
            if let Some(agent) = shard.agents.remove(&ip) {
                let (sources, flows) = entries_of(&agent);
                shard.memory.sources = shard.memory.sources.saturating_sub(sources);
                shard.memory.flows = shard.memory.flows.saturating_sub(flows);
                shard.memory.evicted_agents += 1;
                evicted.push(ip);
            }
        }
        if !evicted.is_empty() && self.tenants_defined {
            self.tenants
                .lock()
                .retain_agents(|agent| !evicted.contains(agent));
        }
        let agents_ok = !new_agent || shard.agents.len() < max_agents;
        agents_ok && self.fits_budget(shard, extra)
    }
}

impl Shard {
    /// Recounts the entries exactly, as the tick's expiry pass counts them while it walks every agent.
    #[cfg(test)]
    pub(crate) fn recount_memory(&mut self) {
        let (sources, flows) = self
            .agents
            .values()
            .map(entries_of)
            .fold((0, 0), |(s, f), (s2, f2)| (s + s2, f + f2));
        self.memory.sources = sources;
        self.memory.flows = flows;
    }
}
