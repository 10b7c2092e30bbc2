//! Multi-tenant sFlow (`/tenant/{name}/json`): each tenant's collector receives only the sFlow samples that
//! belong to that tenant, re-encoded into sFlow v5 datagrams of their own.
//!
//! **Selection.** Filters of different types are OR-ed, and so are the entries of one list: a sample belongs
//! to a tenant as soon as one entry of any filter matches it.
//! * Flow and discard samples match on their data source, input or output interface (`ifindex`:
//!   `"<agent>_<ifIndex>"`; `ifname`: `"<agent>_<ifName>"`, the name learned from that agent's counter samples,
//!   sFlow `port_name` structure), on the outer IPv4/IPv6 source or destination address of the sampled header
//!   (`cidr`), or on its outer Ethernet source or destination MAC (`mac`, 12 hex digits, any case).
//! * Counter samples match on their data source interface only (`ifindex` / `ifname`).
//!
//! **Re-encoding.** For each received datagram the samples selected for a tenant are copied unchanged, in
//! their original order, into one new datagram with the original agent address, sub-agent id and uptime. Its
//! sequence number counts the datagrams this tenant received for that (agent, sub-agent), starting at 1, so
//! the tenant's collector sees no sequence gaps. Nothing is produced for a tenant when no sample matches.
//! Since the new datagram holds a subset of the received samples, it is never larger than the original.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use foldhash::{HashMap, HashSet};
use ipnet::IpNet;
use rtflow_sflow::{DatagramBuilder, DatagramHeader, Sample};
use serde::{Deserialize, Serialize};

use crate::agents::AgentState;
use crate::engine::{Engine, not_found, validate_name};
use crate::error::{EngineError, ObjectKind};
use crate::forwarding::DEFAULT_SFLOW_PORT;
use crate::metrics::MetricValue;
use crate::sample::{DataSource, FlowSample, Port};
use rtflow_flowlang::parse_mac;

/// Sequence streams (agent, sub-agent) remembered per agent before a tenant's sequence table is reset; the
/// sub-agent id comes off the wire, so the table must stay bounded. Same bound as the agent's own tracking.
const MAX_SUB_AGENTS_PER_AGENT: usize = 64;

/// A tenant, exact sFlow-RT JSON: `{collectorAddress, collectorPort, filters:{ifindex, ifname, cidr, mac}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Where the tenant's datagrams are sent.
    pub collector_address: IpAddr,
    #[serde(
        default = "default_port",
        deserialize_with = "crate::lenient::port_or_string"
    )]
    /// `collectorPort`: the tenant collector's UDP port.
    pub collector_port: u16,
    /// `filters`: which samples belong to the tenant.
    #[serde(default)]
    pub filters: TenantFilters,
}

fn default_port() -> u16 {
    DEFAULT_SFLOW_PORT
}

impl Tenant {
    /// The tenant collector's socket address.
    pub fn target(&self) -> SocketAddr {
        SocketAddr::new(self.collector_address, self.collector_port)
    }

    /// Why this tenant cannot be installed, naming the field; `None` when it is valid.
    fn problem(&self) -> Option<&'static str> {
        if self.collector_address.is_unspecified() {
            return Some("collectorAddress: must be a unicast address, not unspecified");
        }
        if self.collector_port == 0 {
            return Some("collectorPort: must be 1-65535");
        }
        if self.filters.is_empty() {
            return Some("filters: at least one of ifindex, ifname, cidr or mac is required");
        }
        None
    }
}

/// The sample filters of a tenant (OR-ed; see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFilters {
    /// `ifindex`: samples of these agents' interfaces (`"10.0.0.1_2"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ifindex: Vec<AgentIfIndex>,
    /// `ifname`: samples of these agents' interfaces by name (`"10.0.0.1_eth3"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ifname: Vec<AgentIfName>,
    /// `cidr`: flow samples whose source or destination is in these prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidr: Vec<Cidr>,
    /// `mac`: flow samples whose source or destination MAC is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mac: Vec<Mac>,
}

impl TenantFilters {
    /// Whether no filter is given (such a tenant is refused).
    pub fn is_empty(&self) -> bool {
        self.ifindex.is_empty()
            && self.ifname.is_empty()
            && self.cidr.is_empty()
            && self.mac.is_empty()
    }
}

/// A filter entry that does not parse; the server prefixes the JSON path (`filters.cidr[0]: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantFilterError {
    /// An `ifindex` entry.
    #[error("expected \"<agent IP>_<ifIndex>\" such as \"10.0.0.1_2\", got {0:?}")]
    IfIndex(String),
    /// An `ifname` entry.
    #[error("expected \"<agent IP>_<ifName>\" such as \"10.0.0.1_eth3\", got {0:?}")]
    IfName(String),
    /// A `cidr` entry.
    #[error("expected an IP prefix such as \"10.0.0.0/24\", got {0:?}")]
    Cidr(String),
    /// A `mac` entry.
    #[error("expected a MAC address as 12 hexadecimal digits such as \"D8D385B2DD2B\", got {0:?}")]
    Mac(String),
}

/// Splits `"<agent>_<rest>"` at the first `_` (IP addresses contain none; interface names may).
fn split_agent(text: &str) -> Option<(IpAddr, &str)> {
    let (agent, rest) = text.split_once('_')?;
    Some((agent.parse::<IpAddr>().ok()?.to_canonical(), rest))
}

/// One interface of one agent: `"10.0.0.1_2"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentIfIndex {
    /// The agent.
    pub agent: IpAddr,
    /// The interface's ifIndex.
    pub ifindex: u32,
}

impl FromStr for AgentIfIndex {
    type Err = TenantFilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        split_agent(text)
            .and_then(|(agent, index)| Some((agent, index.parse().ok()?)))
            .map(|(agent, ifindex)| Self { agent, ifindex })
            .ok_or_else(|| TenantFilterError::IfIndex(text.to_string()))
    }
}

impl fmt::Display for AgentIfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.agent, self.ifindex)
    }
}

/// One named interface of one agent: `"10.0.0.1_eth3"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentIfName {
    /// The agent.
    pub agent: IpAddr,
    /// The interface's name (`ifname`).
    pub name: String,
}

impl FromStr for AgentIfName {
    type Err = TenantFilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        split_agent(text)
            .filter(|(_, name)| !name.is_empty())
            .map(|(agent, name)| Self {
                agent,
                name: name.to_string(),
            })
            .ok_or_else(|| TenantFilterError::IfName(text.to_string()))
    }
}

impl fmt::Display for AgentIfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.agent, self.name)
    }
}

/// An IP prefix; host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr(pub IpNet);

impl FromStr for Cidr {
    type Err = TenantFilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<IpNet>()
            .map(|net| Self(net.trunc()))
            .map_err(|_| TenantFilterError::Cidr(text.to_string()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A MAC address; parsed from 12 hex digits in any case, displayed in upper case like sFlow-RT's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac(pub [u8; 6]);

impl FromStr for Mac {
    type Err = TenantFilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Tenant filters take only the plain 12-digit form, not the separated forms `parse_mac` also reads.
        let plain = text.len() == 12;
        plain
            .then(|| parse_mac(text))
            .flatten()
            .map(Self)
            .ok_or_else(|| TenantFilterError::Mac(text.to_string()))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02X}"))
    }
}

macro_rules! string_conversions {
    ($($kind:ty),*) => {$(
        impl TryFrom<String> for $kind {
            type Error = TenantFilterError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                text.parse()
            }
        }

        impl From<$kind> for String {
            fn from(value: $kind) -> String {
                value.to_string()
            }
        }
    )*};
}

string_conversions!(AgentIfIndex, AgentIfName, Cidr, Mac);

/// What a tenant has been sent (`GET /tenant/json` → `{name: TenantStats}`). Counted when the engine produces
/// a datagram; failed UDP sends are counted by the server (`tenantForwardErrors` in `/analyzer/json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStats {
    /// `samplesForwarded`: samples sent to the tenant's collector.
    pub samples_forwarded: u64,
    /// `datagramsForwarded`: datagrams they were sent in.
    pub datagrams_forwarded: u64,
}

/// One re-encoded datagram for a tenant's collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantDatagram {
    /// The tenant's collector.
    pub target: SocketAddr,
    /// The re-encoded sFlow datagram.
    pub bytes: Vec<u8>,
}

/// The selection-relevant facts of one sample, gathered once and tested against every tenant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SampleFacts {
    /// Data source (when an interface), input and output ifIndexes.
    interfaces: [Option<u32>; 3],
    /// Outer source and destination IP addresses of the sampled header.
    addresses: [Option<IpAddr>; 2],
    /// Outer source and destination MAC addresses of the sampled header.
    macs: [Option<[u8; 6]>; 2],
}

fn interface_of(source: DataSource) -> Option<u32> {
    source.is_interface().then_some(source.index)
}

fn port_index(port: Port) -> Option<u32> {
    match port {
        Port::Index(index) => Some(index),
        _ => None,
    }
}

impl SampleFacts {
    /// A flow or discard sample: interfaces plus the outer addresses of its sampled header.
    pub(crate) fn of_flow(sample: &FlowSample) -> Self {
        let outer = &sample.packet.outer;
        let (src, dst) = match (&outer.ipv4, &outer.ipv6) {
            (Some(ip), _) => (Some(IpAddr::V4(ip.src)), Some(IpAddr::V4(ip.dst))),
            (None, Some(ip)) => (Some(IpAddr::V6(ip.src)), Some(IpAddr::V6(ip.dst))),
            (None, None) => (None, None),
        };
        Self {
            interfaces: [
                interface_of(sample.source),
                port_index(sample.input),
                port_index(sample.output),
            ],
            addresses: [src, dst],
            macs: [outer.ethernet.map(|e| e.src), outer.ethernet.map(|e| e.dst)],
        }
    }

    /// A counter sample: only its data source interface.
    pub(crate) fn of_counter(source: DataSource) -> Self {
        Self {
            interfaces: [interface_of(source), None, None],
            ..Self::default()
        }
    }

    fn interfaces(&self) -> impl Iterator<Item = u32> + '_ {
        self.interfaces.iter().flatten().copied()
    }
}

/// The ifName an agent reported for `ifindex` in its counter samples.
fn learned_ifname(agent: &AgentState, ifindex: u32) -> Option<&str> {
    let source = agent.sources.get(&DataSource::interface(ifindex))?;
    match &source.counters.metrics.get("ifname")?.value {
        MetricValue::Text(name) => Some(name),
        MetricValue::Number(_) => None,
    }
}

/// A tenant's filters in lookup form.
#[derive(Debug, Default)]
struct Selector {
    ifindex: HashSet<AgentIfIndex>,
    ifname: HashMap<IpAddr, HashSet<Box<str>>>,
    cidr: Vec<IpNet>,
    mac: HashSet<[u8; 6]>,
}

impl Selector {
    fn new(filters: &TenantFilters) -> Self {
        let mut ifname: HashMap<IpAddr, HashSet<Box<str>>> = HashMap::default();
        for entry in &filters.ifname {
            ifname
                .entry(entry.agent)
                .or_default()
                .insert(entry.name.as_str().into());
        }
        Self {
            ifindex: filters.ifindex.iter().copied().collect(),
            ifname,
            cidr: filters.cidr.iter().map(|c| c.0).collect(),
            mac: filters.mac.iter().map(|m| m.0).collect(),
        }
    }

    /// `names` are the learned ifNames of the sample's interfaces (empty when no tenant filters by name).
    fn selects(&self, agent: IpAddr, facts: &SampleFacts, names: &[Option<&str>]) -> bool {
        let by_index = || {
            facts
                .interfaces()
                .any(|ifindex| self.ifindex.contains(&AgentIfIndex { agent, ifindex }))
        };
        let by_name = || {
            self.ifname
                .get(&agent)
                .is_some_and(|wanted| names.iter().flatten().any(|name| wanted.contains(*name)))
        };
        let by_address = || {
            facts
                .addresses
                .iter()
                .flatten()
                .any(|ip| self.cidr.iter().any(|net| net.contains(ip)))
        };
        let by_mac = || {
            facts
                .macs
                .iter()
                .flatten()
                .any(|mac| self.mac.contains(mac))
        };
        by_index() || by_name() || by_address() || by_mac()
    }
}

#[derive(Debug)]
struct TenantState {
    definition: Tenant,
    selector: Selector,
    stats: TenantStats,
    /// Last sequence number sent per (agent, sub-agent).
    sequences: HashMap<(IpAddr, u32), u32>,
    /// The datagram being filled for the datagram currently ingested.
    pending: Option<DatagramBuilder>,
}

impl TenantState {
    fn new(definition: Tenant) -> Self {
        Self {
            selector: Selector::new(&definition.filters),
            definition,
            stats: TenantStats::default(),
            sequences: HashMap::default(),
            pending: None,
        }
    }

    /// The next sequence number of (agent, sub-agent); the table is reset if it reaches `max_streams`.
    fn next_sequence(&mut self, agent: IpAddr, sub_agent_id: u32, max_streams: usize) -> u32 {
        let key = (agent, sub_agent_id);
        if self.sequences.len() >= max_streams && !self.sequences.contains_key(&key) {
            self.sequences.clear();
        }
        let sequence = self.sequences.entry(key).or_insert(0);
        *sequence = sequence.wrapping_add(1);
        *sequence
    }

    fn add(
        &mut self,
        header: &DatagramHeader,
        agent: IpAddr,
        sample: &Sample<'_>,
        max_streams: usize,
    ) {
        if self.pending.is_none() {
            let sequence_number = self.next_sequence(agent, header.sub_agent_id, max_streams);
            self.pending = Some(DatagramBuilder::new(DatagramHeader {
                sequence_number,
                ..*header
            }));
        }
        if let Some(builder) = self.pending.as_mut() {
            builder.sample(sample);
        }
    }
}

/// The installed tenants and their forwarding state.
#[derive(Debug)]
pub(crate) struct Tenants {
    by_name: BTreeMap<String, TenantState>,
    /// Whether some tenant filters by ifname: only then are interface names looked up per sample.
    uses_ifname: bool,
    /// Bound of each tenant's sequence table.
    max_streams: usize,
}

impl Tenants {
    pub(crate) fn new(max_agents: usize) -> Self {
        Self {
            by_name: BTreeMap::new(),
            uses_ifname: false,
            max_streams: max_agents.saturating_mul(MAX_SUB_AGENTS_PER_AGENT).max(1),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Installs or replaces a tenant. A replaced tenant keeps its counters and sequence numbers, so its
    /// collector sees no sequence reset when only the filters change.
    fn insert(&mut self, name: &str, tenant: Tenant) {
        match self.by_name.get_mut(name) {
            Some(state) => {
                state.selector = Selector::new(&tenant.filters);
                state.definition = tenant;
            }
            None => {
                self.by_name
                    .insert(name.to_string(), TenantState::new(tenant));
            }
        }
        self.refresh_uses_ifname();
    }

    fn remove(&mut self, name: &str) -> Option<Tenant> {
        let removed = self.by_name.remove(name).map(|state| state.definition);
        self.refresh_uses_ifname();
        removed
    }

    fn refresh_uses_ifname(&mut self) {
        self.uses_ifname = self
            .by_name
            .values()
            .any(|t| !t.definition.filters.ifname.is_empty());
    }

    /// Adds `sample` to the pending datagram of every tenant it belongs to.
    fn offer(
        &mut self,
        header: &DatagramHeader,
        agent: IpAddr,
        facts: &SampleFacts,
        names: &[Option<&str>],
        sample: &Sample<'_>,
    ) {
        let max_streams = self.max_streams;
        for tenant in self.by_name.values_mut() {
            if tenant.selector.selects(agent, facts, names) {
                tenant.add(header, agent, sample, max_streams);
            }
        }
    }

    /// Encodes every pending datagram into `out` and counts it.
    pub(crate) fn finish_datagram(&mut self, out: &mut Vec<TenantDatagram>) {
        for tenant in self.by_name.values_mut() {
            let Some(builder) = tenant.pending.take() else {
                continue;
            };
            tenant.stats.datagrams_forwarded += 1;
            tenant.stats.samples_forwarded += u64::from(builder.num_samples());
            out.push(TenantDatagram {
                target: tenant.definition.target(),
                bytes: builder.finish(),
            });
        }
    }

    /// Drops the sequence numbers of agents for which `keep` is false (agents the engine forgot).
    pub(crate) fn retain_agents(&mut self, keep: impl Fn(&IpAddr) -> bool) {
        for tenant in self.by_name.values_mut() {
            tenant.sequences.retain(|(agent, _), _| keep(agent));
        }
    }
}

impl Engine {
    /// `PUT /tenant/{name}/json`. Shares the forwarding sessions' limit (`max_forwarding`).
    pub(crate) fn set_tenant(&mut self, name: &str, mut tenant: Tenant) -> Result<(), EngineError> {
        tenant.collector_address = tenant.collector_address.to_canonical();
        validate_name(ObjectKind::Tenant, name, self.config.max_name_len)?;
        if let Some(reason) = tenant.problem() {
            return Err(EngineError::InvalidTenant {
                name: name.to_string(),
                reason,
            });
        }
        let tenants = self.tenants.get_mut();
        if !tenants.by_name.contains_key(name)
            && tenants.by_name.len() >= self.config.max_forwarding
        {
            return Err(EngineError::LimitReached {
                kind: ObjectKind::Tenant,
                limit: self.config.max_forwarding,
            });
        }
        tenants.insert(name, tenant);
        self.tenants_defined = !tenants.is_empty();
        Ok(())
    }

    /// `GET /tenant/{name}/json`.
    pub(crate) fn tenant(&self, name: &str) -> Option<Tenant> {
        self.tenants
            .lock()
            .by_name
            .get(name)
            .map(|state| state.definition.clone())
    }

    /// `GET /tenant/json`: what each tenant has been sent.
    pub(crate) fn tenants(&self) -> BTreeMap<String, TenantStats> {
        self.tenants
            .lock()
            .by_name
            .iter()
            .map(|(name, state)| (name.clone(), state.stats))
            .collect()
    }

    /// `DELETE /tenant/{name}/json`.
    pub(crate) fn delete_tenant(&mut self, name: &str) -> Result<(), EngineError> {
        let tenants = self.tenants.get_mut();
        let removed = tenants.remove(name);
        self.tenants_defined = !tenants.is_empty();
        removed
            .map(|_| ())
            .ok_or_else(|| not_found(ObjectKind::Tenant, name))
    }
}

/// Offers one ingested sample of `agent`'s datagram to the tenants (`agents`: the agent's shard, for the
/// names of its interfaces); call only when some tenant exists.
pub(crate) fn offer_to_tenants(
    tenants: &mut Tenants,
    agents: &foldhash::HashMap<IpAddr, AgentState>,
    header: &DatagramHeader,
    agent: IpAddr,
    facts: &SampleFacts,
    sample: &Sample<'_>,
) {
    let mut names: [Option<&str>; 3] = [None; 3];
    if tenants.uses_ifname
        && let Some(state) = agents.get(&agent)
    {
        for (name, ifindex) in names.iter_mut().zip(facts.interfaces.iter()) {
            *name = ifindex.and_then(|ifindex| learned_ifname(state, ifindex));
        }
    }
    tenants.offer(header, agent, facts, &names, sample);
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use rtflow_sflow::{
        Address, CounterRecord, CounterSampleInfo, Datagram, FlowRecord, FlowSampleInfo,
        GenericInterfaceCounters, Interface, PortName, SampledHeader,
    };

    use super::*;
    use crate::Engine;

    const NOW: u64 = 1_700_000_000_000;
    const AGENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const OTHER_AGENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
    const MAC_TENANT: [u8; 6] = [0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B];

    /// An Ethernet/IPv4/TCP header between the given MACs and addresses.
    fn frame(src_mac: [u8; 6], dst_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut f = Vec::with_capacity(54);
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&src_mac);
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0x05, 0xdc, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&[
            0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f
    }

    /// A flow sample: data source and input `input`, output `output`, one sampled header.
    struct Flow {
        sequence: u32,
        input: u32,
        output: u32,
        header: Vec<u8>,
    }

    fn flow(sequence: u32, input: u32, output: u32, src: [u8; 4], dst: [u8; 4]) -> Flow {
        Flow {
            sequence,
            input,
            output,
            header: frame(MAC_A, MAC_B, src.into(), dst.into()),
        }
    }

    enum Item<'a> {
        Flow(&'a Flow),
        Counter {
            sequence: u32,
            ifindex: u32,
            name: Option<&'a str>,
        },
    }

    fn datagram(agent: Ipv4Addr, sequence: u32, items: &[Item<'_>]) -> Vec<u8> {
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(agent),
            sub_agent_id: 3,
            sequence_number: sequence,
            uptime_ms: 5_000 + sequence,
        });
        for item in items {
            match item {
                Item::Flow(f) => builder.flow_sample(
                    &FlowSampleInfo {
                        sequence_number: f.sequence,
                        source_id: rtflow_sflow::DataSource {
                            class: 0,
                            index: f.input,
                        },
                        sampling_rate: 100,
                        sample_pool: 100 * f.sequence,
                        input: Interface::index(f.input),
                        output: Interface::index(f.output),
                        ..Default::default()
                    },
                    &[FlowRecord::SampledHeader(SampledHeader {
                        protocol: 1,
                        frame_length: 1518,
                        stripped: 4,
                        header: &f.header,
                    })],
                ),
                Item::Counter {
                    sequence,
                    ifindex,
                    name,
                } => {
                    let mut records =
                        vec![CounterRecord::GenericInterface(GenericInterfaceCounters {
                            if_index: *ifindex,
                            if_speed: 1_000_000_000,
                            ..Default::default()
                        })];
                    if let Some(name) = name {
                        records.push(CounterRecord::PortName(PortName {
                            name: name.as_bytes(),
                        }));
                    }
                    builder.counter_sample(
                        &CounterSampleInfo {
                            sequence_number: *sequence,
                            source_id: rtflow_sflow::DataSource {
                                class: 0,
                                index: *ifindex,
                            },
                            expanded: false,
                        },
                        &records,
                    )
                }
            };
        }
        builder.finish()
    }

    fn tenant(port: u16, filters: serde_json::Value) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "collectorAddress": "127.0.0.1", "collectorPort": port, "filters": filters
        }))
        .unwrap_or_else(|e| panic!("tenant: {e}"))
    }

    fn engine_with(tenants: &[(&str, Tenant)]) -> Engine {
        let mut engine = Engine::default();
        for (name, t) in tenants {
            engine
                .set_tenant(name, t.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        engine
    }

    fn ingest(engine: &mut Engine, bytes: &[u8]) -> Vec<TenantDatagram> {
        let mut out = Vec::new();
        let source = SocketAddr::from(([10, 0, 0, 1], 6343));
        engine
            .ingest_sflow_for_tenants(NOW, source, bytes, &mut out)
            .unwrap_or_else(|e| panic!("ingest: {e}"));
        out
    }

    /// The sample sequence numbers of one tenant's datagrams (flow samples positive, counters negative).
    fn sequences_for(out: &[TenantDatagram], port: u16) -> Vec<i64> {
        let mut found = Vec::new();
        for d in out.iter().filter(|d| d.target.port() == port) {
            let decoded = Datagram::decode(&d.bytes).unwrap_or_else(|e| panic!("decode: {e}"));
            for sample in decoded.samples() {
                match sample.unwrap_or_else(|e| panic!("sample: {e}")) {
                    Sample::Flow(f) => found.push(i64::from(f.info.sequence_number)),
                    Sample::Counter(c) => found.push(-i64::from(c.info.sequence_number)),
                    other => panic!("unexpected sample {other:?}"),
                }
            }
        }
        found
    }

    #[test]
    fn each_filter_type_selects_exactly_its_samples() {
        let by_input = flow(1, 2, 3, [192, 168, 1, 1], [192, 168, 9, 9]);
        let by_dst_ip = flow(2, 5, 6, [172, 16, 0, 1], [10, 1, 0, 5]);
        let mut by_mac = flow(3, 7, 8, [172, 16, 0, 2], [172, 16, 0, 3]);
        by_mac.header = frame(
            MAC_A,
            MAC_TENANT,
            [172, 16, 0, 2].into(),
            [172, 16, 0, 3].into(),
        );
        let by_output = flow(4, 9, 4, [172, 16, 0, 4], [172, 16, 0, 5]);
        let by_src_ip = flow(5, 11, 12, [10, 1, 2, 3], [172, 16, 0, 6]);
        let nobody = flow(6, 13, 14, [172, 16, 0, 7], [172, 16, 0, 8]);
        let mut engine = engine_with(&[
            (
                "ifindex",
                tenant(
                    1001,
                    serde_json::json!({"ifindex": ["10.0.0.1_2", "10.0.0.2_5"]}),
                ),
            ),
            (
                "output",
                tenant(1002, serde_json::json!({"ifindex": ["10.0.0.1_4"]})),
            ),
            (
                "cidr",
                tenant(1003, serde_json::json!({"cidr": ["10.1.0.0/16"]})),
            ),
            (
                "mac",
                tenant(1004, serde_json::json!({"mac": ["d8d385b2dd2b"]})),
            ),
            (
                "both",
                tenant(
                    1005,
                    serde_json::json!({"ifindex": ["10.0.0.1_13"], "mac": ["D8D385B2DD2B"]}),
                ),
            ),
        ]);
        let items = [
            &by_input, &by_dst_ip, &by_mac, &by_output, &by_src_ip, &nobody,
        ]
        .map(Item::Flow);
        let out = ingest(&mut engine, &datagram(AGENT, 1, &items));
        assert_eq!(
            sequences_for(&out, 1001),
            vec![1],
            "10.0.0.2_5 names another agent"
        );
        assert_eq!(sequences_for(&out, 1002), vec![4]);
        assert_eq!(sequences_for(&out, 1003), vec![2, 5]);
        assert_eq!(sequences_for(&out, 1004), vec![3]);
        assert_eq!(
            sequences_for(&out, 1005),
            vec![3, 6],
            "filter types are OR-ed"
        );
        assert_eq!(out.len(), 5, "one datagram per tenant");
    }

    #[test]
    fn counter_samples_are_selected_by_their_interface_only() {
        let mut engine = engine_with(&[
            (
                "port2",
                tenant(1001, serde_json::json!({"ifindex": ["10.0.0.1_2"]})),
            ),
            (
                "net",
                tenant(
                    1002,
                    serde_json::json!({"cidr": ["0.0.0.0/0"], "mac": ["020000000002"]}),
                ),
            ),
        ]);
        let items = [
            Item::Counter {
                sequence: 7,
                ifindex: 2,
                name: None,
            },
            Item::Counter {
                sequence: 8,
                ifindex: 3,
                name: None,
            },
        ];
        let out = ingest(&mut engine, &datagram(AGENT, 1, &items));
        assert_eq!(sequences_for(&out, 1001), vec![-7]);
        assert!(
            sequences_for(&out, 1002).is_empty(),
            "address filters never select counters"
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn re_encoded_datagrams_carry_exactly_the_selected_samples_with_gap_free_sequences() {
        let mut engine = engine_with(&[(
            "t",
            tenant(
                1001,
                serde_json::json!({"ifindex": ["10.0.0.1_2", "10.0.0.2_2"]}),
            ),
        )]);
        let mine = flow(1, 2, 3, [1, 1, 1, 1], [2, 2, 2, 2]);
        let theirs = flow(2, 5, 6, [1, 1, 1, 1], [2, 2, 2, 2]);
        let mut received: Vec<Vec<u8>> = Vec::new();
        let mut originals: Vec<Vec<u8>> = Vec::new();
        for (agent_sequence, items) in [
            (
                40,
                vec![
                    Item::Flow(&mine),
                    Item::Flow(&theirs),
                    Item::Counter {
                        sequence: 1,
                        ifindex: 2,
                        name: None,
                    },
                ],
            ),
            (41, vec![Item::Flow(&theirs)]),
            (42, vec![Item::Flow(&theirs), Item::Flow(&mine)]),
        ] {
            let bytes = datagram(AGENT, agent_sequence, &items);
            received.extend(ingest(&mut engine, &bytes).into_iter().map(|d| d.bytes));
            originals.push(bytes);
        }
        let other_agent = ingest(
            &mut engine,
            &datagram(OTHER_AGENT, 900, &[Item::Flow(&mine)]),
        );
        assert_eq!(received.len(), 2, "datagram 41 had nothing for the tenant");

        let original_samples = |bytes: &[u8], keep: &[usize]| -> Vec<Vec<u8>> {
            let d = Datagram::decode(bytes).unwrap_or_else(|e| panic!("{e}"));
            d.samples()
                .enumerate()
                .filter(|(i, _)| keep.contains(i))
                .map(|(_, s)| {
                    let mut encoded = Vec::new();
                    s.unwrap_or_else(|e| panic!("{e}")).encode(&mut encoded);
                    encoded
                })
                .collect()
        };
        let expected = [
            (1, 5_040, original_samples(&originals[0], &[0, 2])),
            (2, 5_042, original_samples(&originals[2], &[1])),
        ];
        for (bytes, (sequence, uptime, samples)) in received.iter().zip(expected) {
            let d = Datagram::decode(bytes).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(d.header.agent, Address::V4(AGENT));
            assert_eq!(d.header.sub_agent_id, 3);
            assert_eq!(d.header.sequence_number, sequence);
            assert_eq!(d.header.uptime_ms, uptime);
            let got: Vec<Vec<u8>> = d
                .samples()
                .map(|s| {
                    let mut encoded = Vec::new();
                    s.unwrap_or_else(|e| panic!("{e}")).encode(&mut encoded);
                    encoded
                })
                .collect();
            assert_eq!(got, samples, "samples are copied byte for byte");
        }
        let first_of_other = other_agent
            .first()
            .map(|d| Datagram::decode(&d.bytes).map(|d| d.header.sequence_number));
        assert_eq!(
            first_of_other,
            Some(Ok(1)),
            "each agent has its own sequence"
        );
        assert_eq!(
            engine.tenants().get("t"),
            Some(&TenantStats {
                samples_forwarded: 4,
                datagrams_forwarded: 3
            })
        );
    }

    #[test]
    fn nothing_is_produced_without_a_match_or_without_tenants() {
        let sample = flow(1, 2, 3, [1, 1, 1, 1], [2, 2, 2, 2]);
        let bytes = datagram(AGENT, 1, &[Item::Flow(&sample)]);
        let mut engine = engine_with(&[(
            "t",
            tenant(1001, serde_json::json!({"cidr": ["10.9.0.0/16"]})),
        )]);
        assert!(ingest(&mut engine, &bytes).is_empty());
        assert_eq!(engine.tenants().get("t"), Some(&TenantStats::default()));
        engine.delete_tenant("t").unwrap_or_else(|e| panic!("{e}"));
        assert!(ingest(&mut engine, &bytes).is_empty());
        assert_eq!(
            engine.analyzer().sflow_flow_samples,
            2,
            "ingest itself is unchanged"
        );
    }

    #[test]
    fn ifname_is_learned_from_the_agents_counter_samples() {
        let on_eth3 = flow(1, 3, 9, [1, 1, 1, 1], [2, 2, 2, 2]);
        let on_eth3_later = flow(2, 3, 9, [1, 1, 1, 1], [2, 2, 2, 2]);
        let mut engine = engine_with(&[(
            "t",
            tenant(1001, serde_json::json!({"ifname": ["10.0.0.1_eth3"]})),
        )]);
        assert!(
            ingest(&mut engine, &datagram(AGENT, 1, &[Item::Flow(&on_eth3)])).is_empty(),
            "the name is not known yet"
        );
        let names = [
            Item::Counter {
                sequence: 1,
                ifindex: 3,
                name: Some("eth3"),
            },
            Item::Counter {
                sequence: 1,
                ifindex: 4,
                name: Some("eth4"),
            },
            Item::Flow(&on_eth3_later),
        ];
        let out = ingest(&mut engine, &datagram(AGENT, 2, &names));
        assert_eq!(
            sequences_for(&out, 1001),
            vec![-1, 2],
            "its own counter sample, then the flow"
        );
        let other = ingest(&mut engine, &datagram(OTHER_AGENT, 1, &names));
        assert!(
            other.is_empty(),
            "eth3 of another agent is not the tenant's"
        );
    }

    #[test]
    fn definitions_are_validated_and_round_trip_in_canonical_form() {
        let parsed: Result<Tenant, _> = serde_json::from_str(
            r#"{"collectorAddress":"10.0.0.50","filters":{"ifindex":["10.0.0.1_2"],"ifname":["10.0.0.1_swp1_2"],
                "cidr":["10.1.2.3/16","2001:db8::/32"],"mac":["d8d385b2dd2b"]}}"#,
        );
        let parsed = parsed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.target().to_string(), "10.0.0.50:6343");
        assert_eq!(parsed.filters.ifname[0].name, "swp1_2");
        assert_eq!(
            serde_json::to_value(&parsed).unwrap_or_default(),
            serde_json::json!({"collectorAddress":"10.0.0.50","collectorPort":6343,"filters":{
                "ifindex":["10.0.0.1_2"],"ifname":["10.0.0.1_swp1_2"],"cidr":["10.1.0.0/16","2001:db8::/32"],
                "mac":["D8D385B2DD2B"]}})
        );
        for bad in [
            r#"{"ifindex":["10.0.0.1-2"]}"#,
            r#"{"ifindex":["10.0.0.1_x"]}"#,
            r#"{"ifname":["10.0.0.1_"]}"#,
            r#"{"ifname":["host_eth0"]}"#,
            r#"{"cidr":["10.0.0.0/33"]}"#,
            r#"{"cidr":["10.0.0.1"]}"#,
            r#"{"mac":["D8D385B2DD2"]}"#,
            r#"{"mac":["D8:D3:85:B2:DD:2B"]}"#,
            r#"{"vlan":["1"]}"#,
        ] {
            let json = format!(r#"{{"collectorAddress":"10.0.0.50","filters":{bad}}}"#);
            assert!(
                serde_json::from_str::<Tenant>(&json).is_err(),
                "{bad} was accepted"
            );
        }
        let mut engine = Engine::new(crate::EngineConfig {
            max_forwarding: 1,
            ..crate::EngineConfig::default()
        });
        let ok = tenant(1001, serde_json::json!({"cidr": ["10.0.0.0/8"]}));
        let invalid = |t: Tenant| {
            matches!(
                Engine::default().set_tenant("probe", t),
                Err(EngineError::InvalidTenant { .. })
            )
        };
        assert!(invalid(tenant(
            0,
            serde_json::json!({"cidr": ["10.0.0.0/8"]})
        )));
        assert!(invalid(tenant(1001, serde_json::json!({}))));
        assert!(invalid(Tenant {
            collector_address: IpAddr::from([0, 0, 0, 0]),
            ..ok.clone()
        }));
        engine
            .set_tenant("a", ok.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        engine
            .set_tenant("a", ok.clone())
            .unwrap_or_else(|e| panic!("replace: {e}"));
        assert!(matches!(
            engine.set_tenant("b", ok.clone()),
            Err(EngineError::LimitReached {
                kind: ObjectKind::Tenant,
                limit: 1
            })
        ));
        assert!(matches!(
            engine.set_tenant("no/slash", ok),
            Err(EngineError::InvalidName { .. })
        ));
        assert!(engine.delete_tenant("b").is_err_and(|e| e.is_not_found()));
        assert_eq!(engine.tenant("a").map(|t| t.collector_port), Some(1001));
    }

    proptest::proptest! {
        /// Damaged datagrams (bytes flipped, cut short) never panic the tenant path, and whatever it sends
        /// is a well-formed sFlow v5 datagram no larger than what came in.
        #[test]
        fn damaged_input_gives_only_well_formed_tenant_datagrams(
            flips in proptest::collection::vec((0usize..2_000, proptest::num::u8::ANY), 0..8),
            cut in 0usize..2_000,
        ) {
            let flows = [
                flow(1, 2, 3, [10, 1, 1, 1], [10, 2, 2, 2]),
                flow(2, 4, 2, [192, 168, 0, 1], [10, 9, 9, 9]),
            ];
            let mut bytes = datagram(AGENT, 1, &[
                Item::Flow(&flows[0]),
                Item::Counter { sequence: 1, ifindex: 2, name: Some("eth2") },
                Item::Flow(&flows[1]),
            ]);
            let len = bytes.len().max(1);
            for (at, value) in flips {
                if let Some(byte) = bytes.get_mut(at % len) {
                    *byte = value;
                }
            }
            bytes.truncate(cut.max(1));
            let mut engine = engine_with(&[
                ("everything", tenant(1001, serde_json::json!({"cidr": ["0.0.0.0/0", "::/0"]}))),
                ("port2", tenant(1002, serde_json::json!({"ifindex": ["10.0.0.1_2"], "ifname": ["10.0.0.1_eth2"]}))),
                ("mac", tenant(1003, serde_json::json!({"mac": ["02000000000A"]}))),
            ]);
            let mut out = Vec::new();
            let source = SocketAddr::from(([10, 0, 0, 1], 6343));
            let _ = engine.ingest_sflow_for_tenants(NOW, source, &bytes, &mut out);
            for sent in &out {
                proptest::prop_assert!(sent.bytes.len() <= bytes.len());
                let decoded = Datagram::decode(&sent.bytes);
                proptest::prop_assert!(decoded.is_ok(), "{decoded:?}");
                if let Ok(decoded) = decoded {
                    proptest::prop_assert!(decoded.samples().all(|s| s.is_ok()));
                    proptest::prop_assert!(decoded.num_samples() > 0);
                }
            }
        }
    }
}
