//! Per-agent state in shards, each behind its own lock, so that ingest threads updating different agents do not
//! contend.
//!
//! An agent's shard is chosen by a hash of its address. A shard holds the agents (with their data sources,
//! counters, active-flow tables and sequence state), the ingest counters of `/analyzer/json` they produced, the
//! memory account of the budget (each shard keeps `1/N` of it, and of `max_agents`: agents hash evenly, and
//! eviction stays local to one shard, so no ingest thread ever waits for another shard), the flow-key survey and
//! the reusable buffers of the state update.
//!
//! Ingest ([`crate::IngestWorker::apply_shared`]) locks the one shard of its datagram's agent while it holds the
//! engine for reading; queries lock every shard in order ([`AgentShards::read`]); the engine's `&mut` paths
//! (tick, configuration) reach the shards without locking.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use foldhash::HashMap;
use parking_lot::{Mutex, MutexGuard};

use crate::activeflows::LoggedFlow;
use crate::agents::AgentState;
use crate::budget::MemoryAccount;
use crate::engine::AnalyzerStats;
use crate::probation::{NewAgentRate, Probation};
use crate::sample::Millis;
use rtflow_flowlang::KeyName;

/// Seed of the agent → shard hash (fixed: the choice must not change while the engine runs).
const SHARD_SEED: u64 = 0x7368_6172_6473_2121;

/// One shard: some agents and everything ingest updates for them.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    pub agents: HashMap<IpAddr, AgentState>,
    /// Ingest counters of `/analyzer/json` (datagrams, bytes, samples, errors) counted in this shard.
    pub stats: AnalyzerStats,
    /// Entries of this shard's agents counted against its part of the memory budget.
    pub memory: MemoryAccount,
    /// New agents waiting for a continuing datagram while this shard is under memory pressure.
    pub probation: Probation,
    /// Until when new agents go through probation (a while after the last eviction seen, or burst of new agents).
    pub pressure_until: Millis,
    /// New agents seen lately, for the burst that starts probation.
    pub new_agents: NewAgentRate,
    /// `memory.evicted_agents` when last looked at, to notice evictions from any path.
    pub evictions_seen: u64,
    /// Flow keys seen in samples, and when (`/flowkeys`, merged over shards).
    pub flow_keys_seen: HashMap<(KeyName, u8), Millis>,
    /// Sample shapes surveyed for flow keys, and when.
    pub surveyed_shapes: HashMap<u64, Millis>,
    pub flow_samples_seen: u64,
    /// Reusable buffers of the state update.
    pub key: String,
    pub logged: Vec<LoggedFlow>,
    /// Per definition slot: the decay inflation factor last computed, for (now, epoch).
    pub inflation: Vec<(Millis, Millis, f64)>,
    /// The tick's incremental work (`tick.rs`): agents updated by ingest since the last tick,
    pub touched: Vec<IpAddr>,
    /// agents by when they next have something to expire (earliest first; an entry whose time is not its agent's
    /// `scheduled_due` is stale and skipped),
    pub due: BinaryHeap<Reverse<(Millis, IpAddr)>>,
    /// agents with an observation above a threshold at the last tick,
    pub exceeding: Vec<IpAddr>,
    /// and the flow definitions' layout and the thresholds' generation of the last walk over every agent.
    pub walked: Option<(u64, u64)>,
}

/// The engine's shards.
#[derive(Debug)]
pub(crate) struct AgentShards {
    shards: Box<[Mutex<Shard>]>,
}

impl AgentShards {
    /// `count` shards (at least one).
    pub(crate) fn new(count: usize) -> Self {
        Self {
            shards: (0..count.max(1))
                .map(|_| Mutex::new(Shard::default()))
                .collect(),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.shards.len()
    }

    /// The index of the shard holding `agent`.
    pub(crate) fn index_of(&self, agent: IpAddr) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        let hash = foldhash::fast::FixedState::with_seed(SHARD_SEED).hash_one(agent);
        (hash % self.shards.len() as u64) as usize
    }

    /// Locks the shard holding `agent` (ingest: one shard at a time, never with another shard locked).
    pub(crate) fn lock(&self, agent: IpAddr) -> MutexGuard<'_, Shard> {
        self.shards[self.index_of(agent)].lock()
    }

    /// Locks shard `index` (the tick: one shard at a time, never with another shard locked).
    pub(crate) fn lock_index(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index].lock()
    }

    /// The shard holding `agent`, through exclusive access (no locking).
    pub(crate) fn get_mut_shard(&mut self, agent: IpAddr) -> &mut Shard {
        let index = self.index_of(agent);
        self.shards[index].get_mut()
    }

    /// Every shard, through exclusive access (no locking).
    pub(crate) fn shards_mut(&mut self) -> impl Iterator<Item = &mut Shard> {
        self.shards.iter_mut().map(Mutex::get_mut)
    }

    /// Every agent, through exclusive access.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&IpAddr, &mut AgentState)> {
        self.shards_mut().flat_map(|shard| shard.agents.iter_mut())
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut AgentState> {
        self.iter_mut().map(|(_, agent)| agent)
    }

    pub(crate) fn get_mut(&mut self, agent: &IpAddr) -> Option<&mut AgentState> {
        self.get_mut_shard(*agent).agents.get_mut(agent)
    }

    /// Locks every shard, in order, for a consistent read of all agents (queries). Ingest waits only for
    /// the shard it needs while the read lasts.
    pub(crate) fn read(&self) -> AgentsRead<'_> {
        AgentsRead {
            shards: self,
            guards: self.shards.iter().map(Mutex::lock).collect(),
        }
    }
}

/// Every shard locked for reading (see [`AgentShards::read`]).
pub(crate) struct AgentsRead<'a> {
    shards: &'a AgentShards,
    /// One guard per shard, in shard order.
    guards: Vec<MutexGuard<'a, Shard>>,
}

impl AgentsRead<'_> {
    pub(crate) fn shards(&self) -> impl Iterator<Item = &Shard> {
        self.guards.iter().map(|guard| &**guard)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&IpAddr, &AgentState)> {
        self.shards().flat_map(|shard| shard.agents.iter())
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &AgentState> {
        self.iter().map(|(_, agent)| agent)
    }

    pub(crate) fn get(&self, agent: &IpAddr) -> Option<&AgentState> {
        self.guards[self.shards.index_of(*agent)].agents.get(agent)
    }
}

impl Shard {
    /// Estimated bytes of this shard's per-agent state.
    pub(crate) fn estimated_memory(&self) -> usize {
        self.memory.estimated_bytes(self.agents.len())
    }
}
