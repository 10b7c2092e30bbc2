//! Engine limits and timeouts.

/// Limits and timeouts; `Default` gives sFlow-RT-like values.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Most flow definitions installed at once.
    pub max_flows: usize,
    /// Most thresholds installed at once.
    pub max_thresholds: usize,
    /// Most address groups / maps / forwarding sessions each; `max_forwarding` also bounds `/tenant` definitions.
    pub max_groups: usize,
    /// Maps kept at most.
    pub max_maps: usize,
    /// Forwarding sessions (and, separately, tenants) kept at most.
    pub max_forwarding: usize,
    /// Event ring size (`events.max`).
    pub events_max: usize,
    /// Flow record ring size (`flows.max`).
    pub flows_max: usize,
    /// A metric not updated for this long is no longer reported.
    pub metric_timeout_ms: u64,
    /// An agent silent for this long is forgotten.
    pub agent_timeout_ms: u64,
    /// A data source without a sample for this long is forgotten, even while its agent keeps sending (a
    /// flood of random data-source ids). Longer than `metric_timeout_ms` and than an ended flow is kept
    /// (`retain`, 120 s), so nothing still reported goes with it.
    pub data_source_timeout_ms: u64,
    /// Flow keys not seen for this long leave `/flowkeys`.
    pub flow_key_timeout_ms: u64,
    /// Candidate flows kept per definition and data source beyond its top `n`.
    pub flow_candidates: usize,
    /// Most agents tracked; a new agent beyond them evicts the least useful ones (see `budget.rs`).
    pub max_agents: usize,
    /// Estimated bytes of per-agent state (agents, data sources with their counters, active flows) the engine
    /// keeps; beyond it the least useful agents are evicted (see `budget.rs`).
    pub memory_budget_bytes: usize,
    /// Most data sources tracked per agent.
    pub max_sources_per_agent: usize,
    /// Shards of the per-agent state, each with its own lock (`shards.rs`): ingest threads updating agents in
    /// different shards run in parallel. `max_agents` and the memory budget are shared evenly by the shards.
    pub shards: usize,
    /// Most triggered (agent, data source[, flow]) states kept per threshold.
    pub max_triggers_per_threshold: usize,
    /// Longest name accepted for flows, thresholds, groups, maps, forwarding sessions.
    pub max_name_len: usize,
    /// Most MACs in the `host:` table (learned from host_adapters counter samples).
    pub max_host_macs: usize,
    /// A MAC not reported again in host_adapters for this long leaves the `host:` table (a few counter
    /// polling intervals).
    pub host_mac_timeout_ms: u64,
    /// Most MACs located on edge ports (`topologyLocate*`, `hostlocation.rs`).
    pub max_located_macs: usize,
    /// A MAC not seen on an edge port for this long is no longer located there (as a switch ages out
    /// its MAC table: 5 minutes).
    pub located_mac_timeout_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_flows: 1000,
            max_thresholds: 1000,
            max_groups: 1000,
            max_maps: 1000,
            max_forwarding: 100,
            events_max: 1000,
            flows_max: 1000,
            metric_timeout_ms: 120_000,
            agent_timeout_ms: 3_600_000,
            data_source_timeout_ms: 300_000,
            flow_key_timeout_ms: 60_000,
            flow_candidates: 100,
            max_agents: 10_000,
            memory_budget_bytes: 512 * 1024 * 1024,
            max_sources_per_agent: 10_000,
            shards: 1,
            max_triggers_per_threshold: 10_000,
            max_name_len: 100,
            max_host_macs: 100_000,
            host_mac_timeout_ms: 120_000,
            max_located_macs: 100_000,
            located_mac_timeout_ms: 300_000,
        }
    }
}
