//! rtflow-engine: the sFlow-RT compatible analytics core.
//!
//! Pure logic, no I/O, no threads; time is injected (`now: Millis`). The server wraps one [`Engine`] in a
//! mutex, feeds it datagrams ([`Engine::ingest_sflow`]) and calls [`Engine::tick`] periodically.

mod activeflows;
mod adapter;
mod agents;
mod attributes;
mod budget;
mod config;
mod counters;
mod engine;
mod engine_query;
mod error;
mod events;
mod external_names;
mod flow_merge;
mod flowlog;
mod forwarding;
mod hostlocation;
mod ingest;
mod lenient;
mod metrics;
mod probation;
mod query;
mod registry;
mod ring;
mod sample;
mod sequence;
mod shards;
mod streams;
mod tenant;
mod thresholds;
mod tick;
mod topology;
mod topology_query;

#[cfg(test)]
mod adapter_tests;
#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod flow_merge_tests;
#[cfg(test)]
mod ingest_tests;
#[cfg(test)]
mod key_function_tests;
#[cfg(test)]
mod parity_tests;
#[cfg(test)]
mod tick_tests;

pub use adapter::{DecodedDatagram, IngestError, IngestSummary};
pub use agents::AgentInfo;
pub use attributes::{PacketFields, SampleAttributes};
pub use config::EngineConfig;
pub use engine::{AnalyzerStats, Engine};
pub use engine_query::{
    ActiveFlow, ActiveFlowQuery, CounterView, FlowLocation, LinkEnd, MetricSelection,
};
pub use error::{EngineError, ObjectKind};
pub use events::Event;
pub use flowlog::FlowRecord;
pub use forwarding::{DEFAULT_SFLOW_PORT, Forwarding};
pub use hostlocation::{HostLocation, parse_mac};
pub use ingest::{FlowView, IngestWorker};
pub use metrics::{Metric, MetricValue, Quartiles, Statistic, TopKey};
pub use query::{
    AgentSelector, AgentToken, Aggregation, MetricSpec, QueryError, QueryFilter, SortSpec,
    glob_match, key_filter_match,
};
pub use registry::{Flows, Forwardings, Groups, Maps, Registry, Tenants, Thresholds};
pub use rtflow_flowlang::{AddressGroup, AggMode, DefinitionError, FlowDefinition, LookupMap};
pub use sample::{
    CounterSample, CounterValue, DataSource, DataSourceParseError, DatagramInfo, FlowSample,
    GatewayInfo, Input, Millis, Port, QueueInfo, RouterInfo, SwitchInfo, TcpInfo,
};
pub use streams::{Subscription, SubscriptionStats};
pub use tenant::{
    AgentIfIndex, AgentIfName, Cidr, Mac, Tenant, TenantDatagram, TenantFilterError, TenantFilters,
    TenantStats,
};
pub use thresholds::{DEFAULT_THRESHOLD_TIMEOUT_S, Threshold, TriggeredState};
pub use tick::TickWork;
pub use topology::{Topology, TopologyLink, TopologyNode, TopologyPort};
pub use topology_query::DataSourceInfo;
