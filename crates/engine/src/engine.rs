//! [`Engine`]: the analytics state and its ingest, tick and configuration methods. Queries live in
//! `engine_query.rs`.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use foldhash::HashMap;
use parking_lot::Mutex;
use serde::Serialize;

use crate::activeflows::{Accumulate, DecayClock, FlowTable, LoggedFlow, TableParams};
use crate::agents::{AgentInfo, AgentState, SourceState};
use crate::attributes::SampleAttributes;
use crate::config::EngineConfig;
use crate::error::{EngineError, ObjectKind};
use crate::events::Event;
use crate::flowlog::FlowRecord;
use crate::forwarding::Forwarding;
use crate::ingest::{EvaluatedFlows, FlowView, IngestWorker, ViewCell};
use crate::metrics::MetricValue;
use crate::ring::IdRing;
use crate::sample::{CounterSample, DataSource, DatagramInfo, FlowSample, Input, Millis};
use crate::sequence::SeqOutcome;
use crate::shards::{AgentShards, Shard};
use crate::streams::{Stream, Subscription};
use crate::tenant::Tenants;
use crate::thresholds::{Threshold, ThresholdState, TriggeredState};
use crate::tick::TickWork;
use crate::topology::{LearnedNames, Topology, TopologyView};
use rtflow_flowlang::{
    AddressGroup, AggMode, AttributeSource, CompiledFlow, FlowDefinition, FlowProgram, FlowValues,
    HostIdentity, KeyName, LinkTable, LookupMap, Lookups, OuiTable, SampleValue,
};

/// Record which flow keys samples carry once every this many flow samples (keeps `/flowkeys` cheap).
const FLOW_KEY_SURVEY_INTERVAL: u64 = 64;
/// Most distinct sample shapes remembered as surveyed (bounded: shapes come off the wire).
const MAX_SURVEYED_SHAPES: usize = 4096;
/// Shortest idle time after which a flow counts as ended, whatever `t`.
const MIN_FLOW_IDLE_MS: u64 = 1_000;
/// Longest idle time after which a flow counts as ended, whatever `t`.
const MAX_FLOW_IDLE_MS: u64 = 3_600_000;

/// Global analyzer counters (`/analyzer/json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnalyzerStats {
    /// `sFlowDatagramsReceived`: datagrams received from every agent (analysed or not).
    #[serde(rename = "sFlowDatagramsReceived")]
    pub sflow_datagrams_received: u64,
    /// `sFlowBytesReceived`: their bytes.
    #[serde(rename = "sFlowBytesReceived")]
    pub sflow_bytes_received: u64,
    /// Datagrams that failed to decode (counted per agent too when the header parsed).
    #[serde(rename = "sFlowDatagramsDiscarded")]
    pub sflow_datagrams_discarded: u64,
    /// Records that failed to decode inside otherwise valid samples (skipped; the samples were used).
    #[serde(rename = "sFlowRecordDecodeErrors")]
    pub sflow_record_decode_errors: u64,
    /// `sFlowAgents`: agents held.
    #[serde(rename = "sFlowAgents")]
    pub sflow_agents: u64,
    /// `sFlowFlowSamples`: flow samples ingested.
    #[serde(rename = "sFlowFlowSamples")]
    pub sflow_flow_samples: u64,
    /// `sFlowCounterSamples`: counter samples ingested.
    #[serde(rename = "sFlowCounterSamples")]
    pub sflow_counter_samples: u64,
    /// Datagrams from new agents that found no room even after eviction (counted, not analysed).
    #[serde(rename = "sFlowAgentsOverLimit")]
    pub sflow_agents_over_limit: u64,
    /// Datagrams from new agents held on probation while memory is under pressure (counted, not analysed;
    /// see `probation.rs`).
    #[serde(rename = "sFlowDatagramsOnProbation")]
    pub sflow_datagrams_on_probation: u64,
    /// Agents evicted to make room for new ones (memory budget or `max_agents`, see `budget.rs`).
    #[serde(rename = "sFlowAgentsEvicted")]
    pub sflow_agents_evicted: u64,
    /// Data sources not created because the memory budget was spent.
    #[serde(rename = "sFlowDataSourcesRefused")]
    pub sflow_data_sources_refused: u64,
    /// Data sources and active-flow entries held.
    #[serde(rename = "sFlowDataSources")]
    pub sflow_data_sources: u64,
    /// `activeFlowEntries`: flows held in every data source's tables.
    #[serde(rename = "activeFlowEntries")]
    pub active_flow_entries: u64,
    /// Estimated bytes of per-agent state, and the budget (`memory_budget_bytes`).
    #[serde(rename = "engineMemoryEstimated")]
    pub engine_memory_estimated: u64,
    /// `engineMemoryBudget`: the budget the estimate is held under.
    #[serde(rename = "engineMemoryBudget")]
    pub engine_memory_budget: u64,
    /// `flowDefinitions`: flow definitions installed.
    #[serde(rename = "flowDefinitions")]
    pub flow_definitions: u64,
    /// `thresholds`: thresholds installed.
    #[serde(rename = "thresholds")]
    pub thresholds: u64,
}

/// An installed flow definition.
#[derive(Debug)]
pub(crate) struct InstalledFlow {
    pub name: String,
    pub compiled: CompiledFlow,
    pub params: TableParams,
    pub clock: DecayClock,
    pub generation: u64,
    /// `aggMode:"AGENT"`: every data source of an agent is counted in data source `"0"` (as sFlow-RT).
    pub per_agent: bool,
}

/// Where an `aggMode:"AGENT"` definition counts an agent's flows.
pub(crate) const AGENT_DATA_SOURCE: DataSource = DataSource::new(0, 0);

impl InstalledFlow {
    pub(crate) fn definition(&self) -> &FlowDefinition {
        self.compiled.definition()
    }
}

/// Flow definitions in slots; per-source tables are indexed by slot and tagged with the generation.
#[derive(Debug, Default)]
pub(crate) struct FlowRegistry {
    pub slots: Vec<Option<InstalledFlow>>,
    pub by_name: BTreeMap<String, usize>,
    /// The last generation given out; also moved on when a definition is removed, so that it changes with
    /// every change of the slots (see [`FlowRegistry::layout`]).
    next_generation: u64,
}

impl FlowRegistry {
    /// Changes whenever a definition is installed, replaced or removed: a data source whose tables were last
    /// checked against another layout may hold a table to reset (see `SourceState::flows_layout`).
    pub(crate) fn layout(&self) -> u64 {
        self.next_generation
    }

    pub(crate) fn get(&self, name: &str) -> Option<(usize, &InstalledFlow)> {
        let slot = *self.by_name.get(name)?;
        self.slots.get(slot)?.as_ref().map(|f| (slot, f))
    }

    pub(crate) fn installed(&self) -> impl Iterator<Item = (usize, &InstalledFlow)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (i, f)))
    }
}

/// Reusable buffers of [`Engine::ingest_flow_sample`].
#[derive(Debug, Default)]
struct Scratch {
    evaluated: EvaluatedFlows,
}

/// The sFlow analytics engine. Pure state: no I/O, no threads; time is passed in as `now`.
///
/// Per-agent state lives in shards with their own locks (`shards.rs`), so that ingest threads holding the
/// engine for reading ([`IngestWorker::apply_shared`]) update different agents in parallel; configuration and
/// the tick take the engine exclusively.
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) agents: AgentShards,
    pub(crate) flows: FlowRegistry,
    pub(crate) lookups: Lookups,
    pub(crate) thresholds: BTreeMap<String, ThresholdState>,
    /// Incremented whenever a threshold is set or deleted: the tick then walks every agent once (`tick.rs`).
    pub(crate) threshold_generation: u64,
    /// Tests: the tick walks every agent at every tick, as before it was incremental.
    #[cfg(test)]
    pub(crate) tick_walks_every_agent: bool,
    pub(crate) events: IdRing<Event>,
    pub(crate) flow_log: Mutex<IdRing<FlowRecord>>,
    pub(crate) topology: Topology,
    /// Incremented by every `set_topology` (`version` of `GET /topology/json`).
    topology_version: u64,
    pub(crate) topology_view: TopologyView,
    /// When each group / map was last set (`GET /group/json`, `/map/json`: `{name: lastUpdate}`).
    group_updates: BTreeMap<String, Millis>,
    map_updates: BTreeMap<String, Millis>,
    pub(crate) forwarding: BTreeMap<String, Forwarding>,
    /// `/tenant` definitions and their per-agent sequence state (`tenant.rs`); locked after a shard.
    pub(crate) tenants: Mutex<Tenants>,
    /// Whether any tenant is defined (read by ingest without locking `tenants`).
    pub(crate) tenants_defined: bool,
    /// Counters kept outside the shards (definitions, thresholds); `analyzer` adds the shards' counters.
    pub(crate) stats: AnalyzerStats,
    /// Earliest time any definition's decay epoch needs rebasing.
    rebase_due: Millis,
    scratch: Scratch,
    /// Names written from outside sFlow (SNMP), see `external_names.rs`.
    pub(crate) external_names: crate::external_names::ExternalNames,
    /// MACs located on edge ports of the topology (`hostlocation.rs`).
    pub(crate) host_locations: Mutex<crate::hostlocation::HostLocations>,
    /// Subscribers to the end of every [`Engine::tick`] (interval handlers), with its time.
    ticks: Stream<Millis>,
    /// What evaluating flow definitions reads, as of the last change (see `ingest.rs`).
    view: Arc<ViewCell>,
    /// The ingest worker of [`Engine::ingest_sflow`] (the server runs its own, outside the engine lock).
    pub(crate) own_worker: Option<Box<IngestWorker>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

impl Engine {
    /// An engine with no agents, definitions or thresholds, limited by `config`.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            events: IdRing::new(config.events_max),
            flow_log: Mutex::new(IdRing::new(config.flows_max)),
            tenants: Mutex::new(Tenants::new(config.max_agents)),
            tenants_defined: false,
            agents: AgentShards::new(config.shards),
            config,
            flows: FlowRegistry::default(),
            lookups: Lookups::new(),
            thresholds: BTreeMap::new(),
            threshold_generation: 0,
            #[cfg(test)]
            tick_walks_every_agent: false,
            topology: Topology::default(),
            topology_version: 0,
            topology_view: TopologyView::default(),
            group_updates: BTreeMap::new(),
            map_updates: BTreeMap::new(),
            forwarding: BTreeMap::new(),
            stats: AnalyzerStats::default(),
            rebase_due: Millis::MAX,
            scratch: Scratch::default(),
            external_names: crate::external_names::ExternalNames::default(),
            host_locations: Mutex::new(crate::hostlocation::HostLocations::default()),
            ticks: Stream::default(),
            view: Arc::default(),
            own_worker: None,
        }
    }

    /// The flow definitions and lookup tables as of now, for evaluating samples outside the engine lock
    /// (see [`IngestWorker`]).
    pub fn flow_view(&self) -> Arc<FlowView> {
        self.view.get()
    }

    pub(crate) fn view_cell(&self) -> &Arc<ViewCell> {
        &self.view
    }

    /// Publishes a new [`FlowView`] after a change to the definitions or to the lookup tables.
    fn refresh_view(&mut self) {
        let program =
            FlowProgram::build(self.flows.installed().map(|(slot, f)| (slot, &f.compiled)));
        let generations = self
            .flows
            .slots
            .iter()
            .map(|slot| slot.as_ref().map_or(0, |f| f.generation))
            .collect();
        self.view.publish(FlowView {
            program,
            generations,
            lookups: self.lookups.clone(),
        });
    }

    /// The limits, budget and timeouts the engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    // ----------------------------------------------------------------------------------------------------------
    // Ingest

    /// Ingests one decoded datagram: header accounting, then every sample.
    pub fn ingest_datagram(&mut self, now: Millis, info: &DatagramInfo, samples: &[Input]) {
        if !self.begin_datagram(now, info) {
            return;
        }
        for sample in samples {
            match sample {
                Input::Flow(flow) => self.ingest_flow_sample(now, info, flow),
                Input::Counter(counters) => self.ingest_counter_sample(now, info, counters),
            }
        }
    }

    /// Accounts a datagram header (sequence, uptime, restart detection). Call once per datagram, before its
    /// samples are passed to [`ingest_flow_sample`](Self::ingest_flow_sample) /
    /// [`ingest_counter_sample`](Self::ingest_counter_sample). Returns whether the datagram's samples are to be
    /// analysed: not when its agent is new and held on probation (memory under pressure or a burst of new
    /// agents, `probation.rs`).
    pub fn begin_datagram(&mut self, now: Millis, info: &DatagramInfo) -> bool {
        let mut shard = self.agents.lock(info.agent);
        self.begin_datagram_in(&mut shard, now, info)
    }

    /// [`begin_datagram`](Self::begin_datagram) in the agent's (locked) shard.
    pub(crate) fn begin_datagram_in(
        &self,
        shard: &mut Shard,
        now: Millis,
        info: &DatagramInfo,
    ) -> bool {
        if !self.admit_in(shard, now, info) {
            return false;
        }
        self.open_agent_in(shard, now, info);
        true
    }

    /// Counts a datagram in its agent's (locked) shard and decides whether it is to be analysed: always for a
    /// known agent; for a new one, not while it is held on probation (memory under pressure or a burst of new
    /// agents), in which case it is counted as such. Creates no agent state.
    pub(crate) fn admit_in(&self, shard: &mut Shard, now: Millis, info: &DatagramInfo) -> bool {
        shard.stats.sflow_datagrams_received += 1;
        shard.stats.sflow_bytes_received += info.size as u64;
        if shard.memory.evicted_agents != shard.evictions_seen {
            shard.evictions_seen = shard.memory.evicted_agents;
            shard.pressure_until = now.saturating_add(crate::probation::PRESSURE_MS);
        }
        if shard.agents.contains_key(&info.agent) {
            return true;
        }
        let limit = (crate::probation::NEW_AGENTS_PER_SECOND / self.agents.count() as u64).max(1);
        if shard.new_agents.burst(now, limit) {
            shard.pressure_until = now.saturating_add(crate::probation::PRESSURE_MS);
        }
        if now < shard.pressure_until && !shard.probation.admit(now, info) {
            shard.stats.sflow_datagrams_on_probation += 1;
            return false;
        }
        true
    }

    /// After [`admit_in`](Self::admit_in) let a datagram in: the datagram's header accounted at its agent,
    /// which is created when new (room made under the memory budget and `max_agents`; when there is none,
    /// the datagram is counted as over the limit and its agent gets no state).
    pub(crate) fn open_agent_in(&self, shard: &mut Shard, now: Millis, info: &DatagramInfo) {
        if !shard.agents.contains_key(&info.agent)
            && !self.make_room(shard, info.agent, crate::budget::AGENT_BYTES, true)
        {
            shard.stats.sflow_agents_over_limit += 1;
            return;
        }
        let max_agents = self.shard_max_agents();
        let Some(agent) = agent_entry(
            &mut shard.agents,
            &mut shard.touched,
            max_agents,
            now,
            info.agent,
        ) else {
            shard.stats.sflow_agents_over_limit += 1;
            return;
        };
        if agent.stats.observe_datagram(now, info) {
            agent.restarted();
        }
    }

    /// Every agent starts afresh, as after a restart: sequence numbers and counters are not compared with
    /// what came before. A looping replay calls it each time the capture starts again, so the repeated
    /// datagrams are not taken for duplicates.
    pub fn restart_all_agents(&mut self) {
        for agent in self.agents.values_mut() {
            agent.stats.datagram_seq.clear();
            agent.stats.uptime_ms = 0;
            agent.restarted();
        }
    }

    /// Counts a datagram that failed to decode; per agent when its header (agent address) was readable.
    pub fn record_decode_error(
        &mut self,
        now: Millis,
        source: SocketAddr,
        agent: Option<IpAddr>,
        size: usize,
    ) {
        let mut shard = self.agents.lock(agent.unwrap_or(source.ip()));
        self.record_decode_error_in(&mut shard, now, source, agent, size);
    }

    /// [`record_decode_error`](Self::record_decode_error) in the (locked) shard of `agent`, else of the
    /// source's address.
    pub(crate) fn record_decode_error_in(
        &self,
        shard: &mut Shard,
        now: Millis,
        source: SocketAddr,
        agent: Option<IpAddr>,
        size: usize,
    ) {
        shard.stats.sflow_datagrams_discarded += 1;
        if let Some(agent) = agent {
            let max_agents = self.shard_max_agents();
            if let Some(state) = agent_entry(
                &mut shard.agents,
                &mut shard.touched,
                max_agents,
                now,
                agent,
            ) {
                state.stats.decode_errors += 1;
                state.stats.last_seen = now;
                state.stats.note_source(source);
            }
        } else {
            shard.stats.sflow_datagrams_received += 1;
            shard.stats.sflow_bytes_received += size as u64;
        }
    }

    /// Most agents one shard tracks (`max_agents` shared evenly by the shards).
    pub(crate) fn shard_max_agents(&self) -> usize {
        self.config.max_agents.div_ceil(self.agents.count())
    }

    /// Ingests one flow sample (or dropped-packet notification) of a datagram already passed to
    /// [`begin_datagram`](Self::begin_datagram), evaluating the flow definitions here.
    pub fn ingest_flow_sample(&mut self, now: Millis, info: &DatagramInfo, sample: &FlowSample) {
        self.rebase_if_due(now);
        let mut evaluated = std::mem::take(&mut self.scratch.evaluated);
        let mut values = FlowValues::new(SampleValue::Missing);
        evaluated.clear();
        evaluated.evaluate(&self.view.get(), info.agent, sample);
        {
            let mut shard = self.agents.lock(info.agent);
            self.apply_flow_sample(&mut shard, now, info, sample, &evaluated, 0, &mut values);
        }
        self.scratch.evaluated = evaluated;
    }

    /// Moves the decay epochs forward when due (the tick does it too; ingest through `&mut self` checks here,
    /// so that an engine never ticked stays exact).
    pub(crate) fn rebase_if_due(&mut self, now: Millis) {
        if now >= self.rebase_due {
            self.rebase_flows(now);
        }
    }

    /// Applies one flow sample whose definitions were evaluated into `evaluated` (its flow sample `index`), in
    /// its agent's (locked) shard: sequence and sampling accounting, then each flow added to its table.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_flow_sample(
        &self,
        shard: &mut Shard,
        now: Millis,
        info: &DatagramInfo,
        sample: &FlowSample,
        evaluated: &EvaluatedFlows,
        index: usize,
        values: &mut FlowValues,
    ) {
        shard.stats.sflow_flow_samples += 1;
        shard.flow_samples_seen += 1;
        if let crate::sample::Port::Index(ifindex) = sample.input
            && self.topology_view.is_edge(info.agent, ifindex)
        {
            self.host_locations.lock().observe(
                now,
                &self.topology_view,
                info.agent,
                sample,
                self.config.max_located_macs,
            );
        }
        // Every so often, and whenever a sample of a kind not surveyed recently arrives, so that rare keys
        // (an ARP or ICMPv6 packet among thousands of TCP ones) are listed too.
        let survey = shard.flow_samples_seen % FLOW_KEY_SURVEY_INTERVAL == 1
            || new_sample_shape(&mut shard.surveyed_shapes, now, sample);
        let max_sources = self.config.max_sources_per_agent;
        if !self.admit_source(shard, info.agent, sample.source) {
            return;
        }
        let flows = &self.flows;
        let max_agents = self.shard_max_agents();
        let Shard {
            agents,
            memory,
            flow_keys_seen,
            key,
            logged,
            inflation,
            touched,
            ..
        } = shard;
        let Some(agent) = agent_entry(agents, touched, max_agents, now, info.agent) else {
            return;
        };
        agent.stats.last_seen = now;
        let Some(source) = source_mut(
            &mut agent.sources,
            now,
            sample.source,
            max_sources,
            &mut memory.sources,
        ) else {
            return;
        };
        let outcome = source.flow_seq.observe(sample.sequence);
        let (drops, scale) = if sample.dropped.is_some() {
            agent.stats.notifications.apply(outcome);
            (0, 1.0)
        } else {
            agent.stats.flows.apply(outcome);
            source.has_flows = true;
            source.activity.sampling_rate = sample.sampling_rate;
            source.activity.flow_samples += 1;
            source.sampling.observe(
                sample.sequence,
                sample.sample_pool,
                sample.drops,
                sample.sampling_rate,
            )
        };
        agent.stats.flow_drops += u64::from(drops);
        if outcome == SeqOutcome::Duplicate {
            // Counting a duplicated sample twice would inflate flow rates.
            return;
        }
        if survey {
            let attributes = SampleAttributes::new(info.agent, sample.source, sample);
            survey_flow_keys(&attributes, now, flow_keys_seen, key);
        }
        let any_per_agent = flows.slots.iter().flatten().any(|f| f.per_agent);
        // Per-data-source definitions first, then those counting the whole agent in data source "0".
        for per_agent in [false, true] {
            if per_agent && !any_per_agent {
                break;
            }
            let target = if per_agent {
                AGENT_DATA_SOURCE
            } else {
                sample.source
            };
            let Some(source) = source_mut(
                &mut agent.sources,
                now,
                target,
                max_sources,
                &mut memory.sources,
            ) else {
                continue;
            };
            evaluated.for_each(index, values, |slot, generation, key, values| {
                let Some(Some(installed)) = flows.slots.get(slot) else {
                    return;
                };
                if installed.generation != generation {
                    // Evaluated with a definition since replaced.
                    return;
                }
                if installed.per_agent != per_agent {
                    return;
                }
                if source.flows.len() <= slot {
                    source.flows.resize_with(slot + 1, FlowTable::default);
                }
                let Some(table) = source.flows.get_mut(slot) else {
                    return;
                };
                if table.generation != installed.generation {
                    memory.flows = memory.flows.saturating_sub(table.len());
                    *table = FlowTable::new(installed.generation);
                }
                if inflation.len() <= slot {
                    inflation.resize(slot + 1, (Millis::MAX, Millis::MAX, 1.0));
                }
                let factor = installed.clock.inflation_cached(now, &mut inflation[slot]);
                let held = table.len();
                table.add(&installed.params, factor, now, key, values, scale, logged);
                memory.flows = (memory.flows + table.len()).saturating_sub(held);
                source.flows_due = source.flows_due.min(table.expire_due());
                if !logged.is_empty() {
                    log_flows(
                        &mut self.flow_log.lock(),
                        &installed.name,
                        info.agent,
                        target,
                        logged,
                    );
                }
            });
        }
        if !self.fits_budget(shard, 0) {
            self.make_room(shard, info.agent, 0, false);
        }
    }

    /// Whether a sample of `agent`'s data source `source` may be analysed: always when the source is known,
    /// else when the shard's part of the memory budget has room for it (after evicting less useful agents).
    fn admit_source(&self, shard: &mut Shard, agent: IpAddr, source: DataSource) -> bool {
        if shard
            .agents
            .get(&agent)
            .is_none_or(|state| state.sources.contains_key(&source))
        {
            return true;
        }
        if self.make_room(shard, agent, crate::budget::SOURCE_BYTES, false) {
            return true;
        }
        shard.memory.refused_sources += 1;
        false
    }

    /// Ingests one counter sample of a datagram already passed to [`begin_datagram`](Self::begin_datagram).
    pub fn ingest_counter_sample(
        &mut self,
        now: Millis,
        info: &DatagramInfo,
        sample: &CounterSample,
    ) {
        let mut shard = self.agents.lock(info.agent);
        self.apply_counter_sample(&mut shard, now, info, sample);
    }

    /// [`ingest_counter_sample`](Self::ingest_counter_sample) in the agent's (locked) shard.
    pub(crate) fn apply_counter_sample(
        &self,
        shard: &mut Shard,
        now: Millis,
        info: &DatagramInfo,
        sample: &CounterSample,
    ) {
        shard.stats.sflow_counter_samples += 1;
        let max_sources = self.config.max_sources_per_agent;
        if !self.admit_source(shard, info.agent, sample.source) {
            return;
        }
        let max_agents = self.shard_max_agents();
        let Shard {
            agents,
            memory,
            touched,
            ..
        } = shard;
        let Some(agent) = agent_entry(agents, touched, max_agents, now, info.agent) else {
            return;
        };
        agent.stats.last_seen = now;
        let uptime = agent.stats.uptime_ms.max(info.uptime_ms);
        let Some(source) = source_mut(
            &mut agent.sources,
            now,
            sample.source,
            max_sources,
            &mut memory.sources,
        ) else {
            return;
        };
        let outcome = source.counter_seq.observe(sample.sequence);
        agent.stats.counters.apply(outcome);
        source.has_counters = true;
        source.activity.counter_sample(now);
        match outcome {
            SeqOutcome::Duplicate | SeqOutcome::OutOfOrder | SeqOutcome::OutOfOrderOld => return,
            SeqOutcome::Reset => source.counters.discontinuity(),
            _ => {}
        }
        source.counters.update(now, uptime, &sample.values);
        if sample.adapter_macs.is_empty() {
            return;
        }
        let identity = HostIdentity::from_lookup(|name| {
            source
                .counters
                .metrics
                .get(name)
                .and_then(|metric| match &metric.value {
                    MetricValue::Text(text) => Some(text),
                    MetricValue::Number(_) => None,
                })
        });
        let max_host_macs = self.config.max_host_macs;
        self.lookups
            .hosts_mut()
            .learn(now, &sample.adapter_macs, identity, max_host_macs);
    }

    /// Installs the OUI names table consulted by `oui:<mac>:name` (read by the server from `oui.names`).
    pub fn set_oui_table(&mut self, table: OuiTable) {
        self.lookups.set_oui_table(Arc::new(table));
        self.refresh_view();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Periodic work

    /// Periodic maintenance; call every 100 ms – 1 s. Ends idle flows (flow log), flushes long flows, evaluates
    /// thresholds (events), expires metrics and agents, refreshes the topology mapping.
    pub fn tick(&mut self, now: Millis) {
        let work = self.tick_shards(now);
        self.finish_tick(now, work);
    }

    /// The part of [`Engine::tick`] that needs the engine exclusively, after [`Engine::tick_shards`] did the
    /// walks over the agents: decay rebasing (rare), the topology view, applying the threshold observations
    /// (events), publishing the tick. The server calls the two halves under its read and write lock, so the
    /// write lock is held only for this short part.
    pub fn finish_tick(&mut self, now: Millis, work: TickWork) {
        if now >= self.rebase_due {
            self.rebase_flows(now);
        }
        if !self.topology.links.is_empty() || !self.topology.nodes.is_empty() {
            let view = TopologyView::resolve(&self.topology, &self.learned_names(now));
            if view != self.topology_view {
                self.install_topology_view(view);
            }
        }
        self.apply_thresholds(now, work);
        self.ticks.publish("tick", &now);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Output streams (see `streams.rs`): bounded per-subscriber queues with lost counters.

    /// Threshold events from now on, only of `thresholds` when given.
    pub fn subscribe_events(
        &mut self,
        capacity: usize,
        thresholds: Option<Vec<String>>,
    ) -> Subscription<Event> {
        self.events.subscribe(capacity, thresholds)
    }

    /// Logged flow records (`log:true` definitions) from now on, only of the `flows` definitions when given.
    pub fn subscribe_flows(
        &mut self,
        capacity: usize,
        flows: Option<Vec<String>>,
    ) -> Subscription<FlowRecord> {
        self.flow_log.get_mut().subscribe(capacity, flows)
    }

    /// The time of every [`Engine::tick`] from now on.
    pub fn subscribe_ticks(&mut self, capacity: usize) -> Subscription<Millis> {
        self.ticks.subscribe(capacity, None)
    }

    /// Makes `view` current and rebuilds the `link:` table from it.
    fn install_topology_view(&mut self, view: TopologyView) {
        let links = LinkTable::from_ports(
            view.port_links
                .iter()
                .map(|(port, name)| (*port, name.as_str())),
        );
        self.lookups.set_links(links);
        self.refresh_view();
        self.topology_view = view;
    }

    /// Moves every definition's decay epoch forward before its inflation factor grows too large.
    fn rebase_flows(&mut self, now: Millis) {
        let mut due = Millis::MAX;
        for (slot, installed) in self.flows.slots.iter_mut().enumerate() {
            let Some(installed) = installed else { continue };
            if let Some(factor) = installed.clock.needs_rebase(now) {
                for agent in self.agents.values_mut() {
                    for source in agent.sources.values_mut() {
                        if let Some(table) = source.flows.get_mut(slot)
                            && table.generation == installed.generation
                        {
                            table.rebase(&installed.params, factor);
                        }
                    }
                }
                installed.clock.rebase(now);
            }
            due = due.min(installed.clock.rebase_due());
        }
        self.rebase_due = due;
    }

    /// Learned names for topology resolution: host_name per agent and ifname per interface.
    fn learned_names(&self, now: Millis) -> LearnedNames {
        let cutoff = now.saturating_sub(self.config.metric_timeout_ms);
        let mut learned = LearnedNames::default();
        let agents = self.agents.read();
        for (ip, agent) in agents.iter() {
            for (ds, source) in &agent.sources {
                let text = |name: &str| {
                    source
                        .counters
                        .metrics
                        .get(name)
                        .filter(|m| m.updated >= cutoff)
                        .and_then(|m| match &m.value {
                            crate::metrics::MetricValue::Text(t) => Some(t.to_string()),
                            crate::metrics::MetricValue::Number(_) => None,
                        })
                };
                if let Some(host) = text("host_name") {
                    learned.agent_by_host.insert(host, *ip);
                }
                if ds.is_interface()
                    && let Some(ifname) = text("ifname")
                {
                    learned.ifindex_by_name.insert((*ip, ifname), ds.index);
                }
            }
        }
        learned
    }

    // ----------------------------------------------------------------------------------------------------------
    // Flow definitions

    /// Installs or replaces a flow definition (`PUT /flow/{name}/json`). Replacing with a changed definition
    /// resets its flows; an identical one changes nothing, so clients that "ensure" the same flow keep its data.
    pub(crate) fn set_flow(
        &mut self,
        now: Millis,
        name: &str,
        definition: FlowDefinition,
    ) -> Result<(), EngineError> {
        validate_name(ObjectKind::Flow, name, self.config.max_name_len)?;
        if self
            .flows
            .get(name)
            .is_some_and(|(_, installed)| *installed.definition() == definition)
        {
            return Ok(());
        }
        if !self.flows.by_name.contains_key(name)
            && self.flows.by_name.len() >= self.config.max_flows
        {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Flow,
                limit: self.config.max_flows,
            });
        }
        let compiled =
            CompiledFlow::compile(&definition).map_err(|cause| EngineError::Definition {
                name: name.to_string(),
                cause,
            })?;
        let def = compiled.definition();
        let n = def.n.max(1) as usize;
        let clock = DecayClock::new(def.t, now);
        let tau_ms = clock.tau_seconds() * 1000.0;
        let params = TableParams {
            n,
            capacity: n + self.config.flow_candidates,
            accumulate: std::iter::once(compiled.value_spec())
                .chain(compiled.value_specs())
                .map(|spec| Accumulate::from(spec.aggregation))
                .collect(),
            log: def.log,
            flow_start: def.flow_start,
            active_timeout_ms: u64::from(def.active_timeout.max(1)) * 1000,
            // Ended when decayed below ~0.7 % of its last rate (5 τ), bounded to a sane range.
            idle_ms: ((5.0 * tau_ms) as u64).clamp(MIN_FLOW_IDLE_MS, MAX_FLOW_IDLE_MS),
            // Visible until negligible; at most 60 τ for values that do not decay.
            retain_ms: ((60.0 * tau_ms) as u64).clamp(MIN_FLOW_IDLE_MS, MAX_FLOW_IDLE_MS),
        };
        let per_agent = def.agg_mode() == Some(AggMode::Agent);
        self.flows.next_generation += 1;
        let installed = InstalledFlow {
            name: name.to_string(),
            compiled,
            params,
            clock,
            generation: self.flows.next_generation,
            per_agent,
        };
        self.rebase_due = self.rebase_due.min(installed.clock.rebase_due());
        match self.flows.by_name.get(name) {
            Some(&slot) => {
                if let Some(entry) = self.flows.slots.get_mut(slot) {
                    *entry = Some(installed);
                }
            }
            None => {
                let slot = match self.flows.slots.iter().position(Option::is_none) {
                    Some(free) => free,
                    None => {
                        self.flows.slots.push(None);
                        self.flows.slots.len() - 1
                    }
                };
                if let Some(entry) = self.flows.slots.get_mut(slot) {
                    *entry = Some(installed);
                }
                self.flows.by_name.insert(name.to_string(), slot);
            }
        }
        self.refresh_view();
        self.stats.flow_definitions = self.flows.by_name.len() as u64;
        Ok(())
    }

    /// `GET /flow/{name}/json`: the definition with defaults materialized.
    pub(crate) fn flow(&self, name: &str) -> Option<FlowDefinition> {
        self.flows.get(name).map(|(_, f)| f.definition().clone())
    }

    /// `GET /flow/json`.
    pub(crate) fn flows(&self) -> BTreeMap<String, FlowDefinition> {
        self.flows
            .by_name
            .keys()
            .filter_map(|name| self.flow(name).map(|d| (name.clone(), d)))
            .collect()
    }

    /// `DELETE /flow/{name}/json`.
    pub(crate) fn delete_flow(&mut self, name: &str) -> Result<(), EngineError> {
        let slot = self
            .flows
            .by_name
            .remove(name)
            .ok_or_else(|| not_found(ObjectKind::Flow, name))?;
        if let Some(entry) = self.flows.slots.get_mut(slot) {
            *entry = None;
        }
        // No table has this generation: the layout changes.
        self.flows.next_generation += 1;
        self.refresh_view();
        self.stats.flow_definitions = self.flows.by_name.len() as u64;
        Ok(())
    }

    /// Logged flow records with id > `after` (all when `None`), optionally of one definition, newest first.
    pub fn flows_after(
        &self,
        after: Option<u64>,
        name: Option<&str>,
        max: usize,
    ) -> Vec<FlowRecord> {
        self.flow_log
            .lock()
            .newest_after(after, max, |r| name.is_none_or(|n| r.name == n))
    }

    /// Id of the newest flow record (0 when none yet).
    pub fn last_flow_id(&self) -> u64 {
        self.flow_log.lock().last_id()
    }

    /// `/flowkeys/json`: key names seen in recent samples → ms since last seen.
    pub fn flow_keys(&self, now: Millis) -> BTreeMap<String, u64> {
        let agents = self.agents.read();
        let mut seen: HashMap<(KeyName, u8), Millis> = HashMap::default();
        for (key, at) in agents.shards().flat_map(|shard| &shard.flow_keys_seen) {
            let latest = seen.entry(*key).or_insert(*at);
            *latest = (*latest).max(*at);
        }
        seen.iter()
            .map(|((key, layer), seen)| {
                let name = if *layer == 0 {
                    key.as_str().to_string()
                } else {
                    format!("{}.{}", key.as_str(), layer)
                };
                (name, now.saturating_sub(*seen))
            })
            .collect()
    }

    // ----------------------------------------------------------------------------------------------------------
    // Thresholds and events

    /// Installs or replaces a threshold (`PUT /threshold/{name}/json`) at `now`. A new or changed threshold
    /// starts without trigger state and fires on the next sample, not on values already there; an identical
    /// one changes nothing.
    pub(crate) fn set_threshold(
        &mut self,
        now: Millis,
        name: &str,
        threshold: Threshold,
    ) -> Result<(), EngineError> {
        validate_name(ObjectKind::Threshold, name, self.config.max_name_len)?;
        if self
            .thresholds
            .get(name)
            .is_some_and(|installed| installed.definition == threshold)
        {
            return Ok(());
        }
        if !self.thresholds.contains_key(name)
            && self.thresholds.len() >= self.config.max_thresholds
        {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Threshold,
                limit: self.config.max_thresholds,
            });
        }
        let invalid = |reason: &str| EngineError::InvalidThreshold {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if threshold.metric.trim().is_empty() {
            return Err(invalid("metric: must not be empty"));
        }
        if !threshold.value.is_finite() {
            return Err(invalid("value: must be a finite number"));
        }
        if !threshold.timeout.is_finite() || threshold.timeout < 0.0 {
            return Err(invalid("timeout: must be a non-negative number of seconds"));
        }
        self.thresholds
            .insert(name.to_string(), ThresholdState::new(threshold, now));
        self.threshold_generation += 1;
        self.stats.thresholds = self.thresholds.len() as u64;
        Ok(())
    }

    pub(crate) fn threshold(&self, name: &str) -> Option<Threshold> {
        self.thresholds.get(name).map(|t| t.definition.clone())
    }

    pub(crate) fn thresholds(&self) -> BTreeMap<String, Threshold> {
        self.thresholds
            .iter()
            .map(|(k, v)| (k.clone(), v.definition.clone()))
            .collect()
    }

    pub(crate) fn delete_threshold(&mut self, name: &str) -> Result<(), EngineError> {
        self.thresholds
            .remove(name)
            .ok_or_else(|| not_found(ObjectKind::Threshold, name))?;
        self.threshold_generation += 1;
        self.stats.thresholds = self.thresholds.len() as u64;
        Ok(())
    }

    /// Currently triggered states of a threshold (`None` if the threshold does not exist).
    pub fn threshold_triggered(&self, name: &str) -> Option<Vec<TriggeredState>> {
        self.thresholds.get(name).map(ThresholdState::triggered)
    }

    /// Events with id > `after` (all when `None`), optionally of one threshold, newest first, at most `max`.
    pub fn events_after(
        &self,
        after: Option<u64>,
        threshold_id: Option<&str>,
        max: usize,
    ) -> Vec<Event> {
        self.events.newest_after(after, max, |e| {
            threshold_id.is_none_or(|t| e.threshold_id == t)
        })
    }

    /// Id of the newest event (0 when none yet).
    pub fn last_event_id(&self) -> u64 {
        self.events.last_id()
    }

    // ----------------------------------------------------------------------------------------------------------
    // Groups and maps

    /// `PUT /group/{name}/json` at `now` (parsed by [`crate::Groups::parse`]).
    pub(crate) fn set_group(
        &mut self,
        now: Millis,
        name: &str,
        group: AddressGroup,
    ) -> Result<(), EngineError> {
        validate_name(ObjectKind::Group, name, self.config.max_name_len)?;
        if self.lookups.group(name).is_none()
            && self.lookups.groups().count() >= self.config.max_groups
        {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Group,
                limit: self.config.max_groups,
            });
        }
        self.lookups.set_group(name, group);
        self.group_updates.insert(name.to_string(), now);
        self.refresh_view();
        Ok(())
    }

    pub(crate) fn group(&self, name: &str) -> Option<AddressGroup> {
        self.lookups.group(name).cloned()
    }

    /// `GET /group/json`: each group's name → when it was last set (ms epoch), as sFlow-RT lists them.
    pub(crate) fn group_updates(&self) -> BTreeMap<String, Millis> {
        self.group_updates.clone()
    }

    pub(crate) fn delete_group(&mut self, name: &str) -> Result<(), EngineError> {
        self.group_updates.remove(name);
        self.lookups
            .remove_group(name)
            .ok_or_else(|| not_found(ObjectKind::Group, name))?;
        self.refresh_view();
        Ok(())
    }

    /// `PUT /map/{name}/json` at `now` (parsed by [`crate::Maps::parse`]).
    pub(crate) fn set_map(
        &mut self,
        now: Millis,
        name: &str,
        map: LookupMap,
    ) -> Result<(), EngineError> {
        validate_name(ObjectKind::Map, name, self.config.max_name_len)?;
        if self.lookups.map(name).is_none() && self.lookups.maps().count() >= self.config.max_maps {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Map,
                limit: self.config.max_maps,
            });
        }
        self.lookups.set_map(name, map);
        self.map_updates.insert(name.to_string(), now);
        self.refresh_view();
        Ok(())
    }

    pub(crate) fn map(&self, name: &str) -> Option<LookupMap> {
        self.lookups.map(name).cloned()
    }

    /// `GET /map/json`: each map's name → when it was last set (ms epoch).
    pub(crate) fn map_updates(&self) -> BTreeMap<String, Millis> {
        self.map_updates.clone()
    }

    pub(crate) fn delete_map(&mut self, name: &str) -> Result<(), EngineError> {
        self.map_updates.remove(name);
        self.lookups
            .remove_map(name)
            .ok_or_else(|| not_found(ObjectKind::Map, name))?;
        self.refresh_view();
        Ok(())
    }

    // ----------------------------------------------------------------------------------------------------------
    // Topology and forwarding

    /// `PUT /topology/json`; each call increments the topology's `version` (a `version` field in the document
    /// itself is not kept).
    pub fn set_topology(&mut self, now: Millis, mut topology: Topology) -> Result<(), EngineError> {
        for (name, link) in &topology.links {
            if [&link.node1, &link.port1, &link.node2, &link.port2]
                .iter()
                .any(|s| s.is_empty())
            {
                return Err(EngineError::InvalidTopology(format!(
                    "link {name:?}: node1, port1, node2 and port2 must be non-empty"
                )));
            }
        }
        for (name, node) in &topology.nodes {
            if let Some(agent) = &node.agent
                && agent.parse::<IpAddr>().is_err()
            {
                return Err(EngineError::InvalidTopology(format!(
                    "node {name:?}: agent {agent:?} is not an IP address"
                )));
            }
        }
        topology.extra.remove("version");
        self.topology = topology;
        self.topology_version += 1;
        let view = TopologyView::resolve(&self.topology, &self.learned_names(now));
        self.install_topology_view(view);
        Ok(())
    }

    /// `GET /topology/json` (`{}`-like empty topology when none was set).
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// How many times the topology was set (`version` of `GET /topology/json`; 0 before the first PUT).
    pub fn topology_version(&self) -> u64 {
        self.topology_version
    }

    pub(crate) fn set_forwarding(
        &mut self,
        name: &str,
        mut forwarding: Forwarding,
    ) -> Result<(), EngineError> {
        forwarding.canonicalize();
        validate_name(ObjectKind::Forwarding, name, self.config.max_name_len)?;
        if !self.forwarding.contains_key(name)
            && self.forwarding.len() >= self.config.max_forwarding
        {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Forwarding,
                limit: self.config.max_forwarding,
            });
        }
        self.forwarding.insert(name.to_string(), forwarding);
        Ok(())
    }

    pub(crate) fn forwarding(&self, name: &str) -> Option<Forwarding> {
        self.forwarding.get(name).cloned()
    }

    pub(crate) fn forwardings(&self) -> BTreeMap<String, Forwarding> {
        self.forwarding.clone()
    }

    pub(crate) fn delete_forwarding(&mut self, name: &str) -> Result<(), EngineError> {
        self.forwarding
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(ObjectKind::Forwarding, name))
    }

    /// Whether any `/forwarding` session or `/tenant` is defined (datagrams may be sent on).
    pub fn sends_datagrams(&self) -> bool {
        !self.forwarding.is_empty() || self.tenants_defined
    }

    /// Collectors that datagrams from `agent` must be forwarded to (deduplicated).
    pub fn forwarding_targets(&self, agent: IpAddr) -> Vec<SocketAddr> {
        let mut targets: Vec<SocketAddr> = Vec::new();
        for session in self.forwarding.values() {
            let target = session.target();
            if session.forwards(agent) && !targets.contains(&target) {
                targets.push(target);
            }
        }
        targets
    }

    // ----------------------------------------------------------------------------------------------------------
    // Agents and analyzer

    /// `/agents/json`: all agents, or only those listed in `only` when non-empty.
    pub fn agents(&self, now: Millis, only: &[IpAddr]) -> BTreeMap<String, AgentInfo> {
        let mut out = BTreeMap::new();
        let agents = self.agents.read();
        for (ip, agent) in agents.iter() {
            if only.is_empty() || only.contains(ip) {
                out.insert(ip.to_string(), agent.info(now));
            }
        }
        out
    }

    /// `/analyzer/json` counters: the engine's own and the sum of the shards'.
    pub fn analyzer(&self) -> AnalyzerStats {
        let agents = self.agents.read();
        let mut out = AnalyzerStats {
            engine_memory_budget: self.config.memory_budget_bytes as u64,
            ..self.stats.clone()
        };
        for shard in agents.shards() {
            let counted = &shard.stats;
            out.sflow_datagrams_received += counted.sflow_datagrams_received;
            out.sflow_bytes_received += counted.sflow_bytes_received;
            out.sflow_datagrams_discarded += counted.sflow_datagrams_discarded;
            out.sflow_record_decode_errors += counted.sflow_record_decode_errors;
            out.sflow_flow_samples += counted.sflow_flow_samples;
            out.sflow_counter_samples += counted.sflow_counter_samples;
            out.sflow_agents_over_limit += counted.sflow_agents_over_limit;
            out.sflow_datagrams_on_probation += counted.sflow_datagrams_on_probation;
            out.sflow_agents += shard.agents.len() as u64;
            out.sflow_agents_evicted += shard.memory.evicted_agents;
            out.sflow_data_sources_refused += shard.memory.refused_sources;
            out.sflow_data_sources += shard.memory.sources as u64;
            out.active_flow_entries += shard.memory.flows as u64;
            out.engine_memory_estimated += shard.estimated_memory() as u64;
        }
        out
    }

    // ----------------------------------------------------------------------------------------------------------
    // Threshold evaluation

    /// Turns the observations of [`Engine::tick_shards`] into trigger state and events; a threshold replaced
    /// or deleted since they were taken is left for the next tick.
    fn apply_thresholds(&mut self, now: Millis, work: TickWork) {
        let max = self.config.max_triggers_per_threshold;
        for (name, installed, definition, exceeded) in work.thresholds {
            let Some(state) = self.thresholds.get_mut(&name) else {
                continue;
            };
            if state.installed != installed || state.definition != definition {
                continue;
            }
            let fired = state.evaluate(now, exceeded, max);
            let definition = &state.definition;
            for obs in fired {
                self.events.push_with(|event_id| Event {
                    event_id,
                    timestamp: now,
                    threshold_id: name.clone(),
                    metric: definition.metric.clone(),
                    threshold: definition.value,
                    value: obs.value,
                    agent: obs.key.agent,
                    data_source: obs.key.source.to_string(),
                    flow_key: obs.flow_key,
                    values: obs.values,
                });
            }
        }
    }
}

/// The state of `agent`, created on first sight unless `max_agents` are already tracked.
/// The agent is noted in `touched` for the next tick (`tick.rs`).
fn agent_entry<'a>(
    agents: &'a mut HashMap<IpAddr, AgentState>,
    touched: &mut Vec<IpAddr>,
    max_agents: usize,
    now: Millis,
    agent: IpAddr,
) -> Option<&'a mut AgentState> {
    let known = agents.len();
    let state = match agents.entry(agent) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(_) if known >= max_agents => return None,
        Entry::Vacant(entry) => entry.insert(AgentState::new(now)),
    };
    if !state.touched {
        state.touched = true;
        touched.push(agent);
    }
    Some(state)
}

/// Whether no sample with `sample`'s shape (header stack and extended records) was surveyed recently; notes it
/// as surveyed.
fn new_sample_shape(surveyed: &mut HashMap<u64, Millis>, now: Millis, sample: &FlowSample) -> bool {
    let shape = sample_shape(sample);
    if surveyed.contains_key(&shape) {
        return false;
    }
    if surveyed.len() >= MAX_SURVEYED_SHAPES {
        surveyed.clear();
    }
    surveyed.insert(shape, now);
    true
}

/// The state of `source`, created (and counted in `created`) on first sight unless `max_sources` are tracked;
/// marked as seen at `now`.
fn source_mut<'a>(
    sources: &'a mut HashMap<DataSource, SourceState>,
    now: Millis,
    source: DataSource,
    max_sources: usize,
    created: &mut usize,
) -> Option<&'a mut SourceState> {
    let full = sources.len() >= max_sources;
    let state = match sources.entry(source) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(_) if full => return None,
        Entry::Vacant(entry) => {
            *created += 1;
            entry.insert(SourceState::default())
        }
    };
    state.last_seen = now;
    Some(state)
}

pub(crate) fn log_flows(
    flow_log: &mut IdRing<FlowRecord>,
    name: &str,
    agent: IpAddr,
    source: DataSource,
    logged: &mut Vec<LoggedFlow>,
) {
    for flow in logged.drain(..) {
        flow_log.push_with(|flow_id| FlowRecord {
            flow_id,
            name: name.to_string(),
            flow_keys: flow.key,
            value: flow.value,
            start: flow.start,
            end: flow.end,
            agent,
            data_source: source.to_string(),
        });
    }
}

/// What decides which keys a sample can carry: its protocol stack, ICMP type and extended records.
fn sample_shape(sample: &FlowSample) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = foldhash::fast::FixedState::with_seed(0x666c_6f77_6b65_7973).build_hasher();
    let packet = &sample.packet;
    packet.stack.hash(&mut hasher);
    packet.inner.is_some().hash(&mut hasher);
    packet.dns.is_some().hash(&mut hasher);
    for headers in std::iter::once(&packet.outer).chain(packet.inner.as_ref()) {
        headers.icmp.map(|i| i.icmp_type).hash(&mut hasher);
        headers
            .ipv6
            .map(|ip| ip.extension_headers().len())
            .hash(&mut hasher);
    }
    [
        sample.switch.is_some(),
        sample.router.is_some(),
        sample.gateway.is_some(),
        sample.queue.is_some(),
        sample.tcp_info.is_some(),
        sample.dropped.is_some(),
    ]
    .hash(&mut hasher);
    hasher.finish()
}

/// Notes which keys (outer and first inner layer) this sample carries.
fn survey_flow_keys(
    attributes: &SampleAttributes<'_>,
    now: Millis,
    seen: &mut HashMap<(KeyName, u8), Millis>,
    buffer: &mut String,
) {
    let layers: &[u8] = if attributes.sample.packet.inner.is_some() {
        &[0, 1]
    } else {
        &[0]
    };
    for &layer in layers {
        for &key in KeyName::ALL {
            buffer.clear();
            if attributes.write_attribute(key, layer, buffer) {
                seen.insert((key, layer), now);
            }
        }
    }
    buffer.clear();
}

pub(crate) fn not_found(kind: ObjectKind, name: &str) -> EngineError {
    EngineError::NotFound {
        kind,
        name: name.to_string(),
    }
}

/// Names become URL path segments and metric names: letters, digits, `_` and `-` only.
pub(crate) fn validate_name(
    kind: ObjectKind,
    name: &str,
    max_len: usize,
) -> Result<(), EngineError> {
    let invalid = |reason| EngineError::InvalidName {
        kind,
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name.len() > max_len {
        return Err(invalid("too long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(invalid("only letters, digits, '_' and '-' are allowed"));
    }
    Ok(())
}
