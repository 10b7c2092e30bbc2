//! Topology and data-source queries of the embedded JavaScript API (sFlow-RT's `topology*` functions and
//! `datasourceInfo`), answered from the resolved topology view and per-source state.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::Engine;
use crate::engine_query::LinkEnd;
use crate::sample::DataSource;

/// `datasourceInfo(agent, dataSource)`: how a data source is sampled and polled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataSourceInfo {
    /// `samplingRate`: the data source's sampling rate (1 in N packets).
    #[serde(rename = "samplingRate")]
    pub sampling_rate: u32,
    /// The rate implied by the agent's sample pool (equals `samplingRate` unless samples are dropped).
    #[serde(rename = "effectiveSamplingRate")]
    pub effective_sampling_rate: f64,
    /// `flowSamples`: flow samples received from it.
    #[serde(rename = "flowSamples")]
    pub flow_samples: u64,
    /// `counterSamples`: counter samples received from it.
    #[serde(rename = "counterSamples")]
    pub counter_samples: u64,
    /// Smoothed ms between counter samples (0 until two were seen).
    #[serde(rename = "effectivePollingInterval")]
    pub effective_polling_interval: f64,
}

impl Engine {
    /// `datasourceInfo`: `None` for an unknown agent or data source.
    pub fn datasource_info(&self, agent: IpAddr, source: DataSource) -> Option<DataSourceInfo> {
        let shard = self.agents.lock(agent);
        let state = shard.agents.get(&agent)?.sources.get(&source)?;
        let activity = state.activity;
        let nominal = f64::from(activity.sampling_rate);
        Some(DataSourceInfo {
            sampling_rate: activity.sampling_rate,
            effective_sampling_rate: state.sampling.effective_rate().unwrap_or(nominal),
            flow_samples: activity.flow_samples,
            counter_samples: activity.counter_samples,
            effective_polling_interval: activity.polling_interval_ms.round(),
        })
    }

    /// `topologyAgentForNode`: the agent a node resolved to (its `agent`, or the agent reporting that host name).
    pub fn topology_agent_for_node(&self, node: &str) -> Option<IpAddr> {
        self.topology_view.node_agents.get(node).copied()
    }

    /// `topologyNodesForAgent`: nodes whose agent is `agent`, only those with a port of `ifindex` when given.
    pub fn topology_nodes_for_agent(&self, agent: IpAddr, ifindex: Option<u32>) -> Vec<String> {
        let view = &self.topology_view;
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        match ifindex {
            Some(index) => {
                if let Some((node, _)) = view.port_names.get(&(agent, index)) {
                    nodes.insert(node);
                } else if let Some((node, _)) =
                    view.node_agents.iter().find(|(_, ip)| **ip == agent)
                {
                    // A port the topology does not list still belongs to its agent's node.
                    nodes.insert(node);
                }
            }
            None => nodes.extend(
                view.node_agents
                    .iter()
                    .filter(|(_, ip)| **ip == agent)
                    .map(|(node, _)| node.as_str()),
            ),
        }
        nodes.into_iter().map(str::to_string).collect()
    }

    /// `topologyInterfaceToPort`: `{node, port, agent, ifindex}` plus the node's `dpid` and the port's own
    /// attributes (e.g. `ofport`) as given in the topology; `None` when the interface is not a topology port.
    pub fn topology_interface_to_port(&self, agent: IpAddr, ifindex: u32) -> Option<Value> {
        let (node, port) = self.topology_view.port_names.get(&(agent, ifindex))?;
        let mut out = Map::new();
        if let Some(topology_node) = self.topology.nodes.get(node) {
            for (key, value) in &topology_node.extra {
                if key == "dpid" {
                    out.insert(key.clone(), value.clone());
                }
            }
            if let Some(topology_port) = topology_node.ports.get(port) {
                for (key, value) in &topology_port.extra {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        out.insert("node".into(), Value::String(node.clone()));
        out.insert("port".into(), Value::String(port.clone()));
        out.insert("agent".into(), Value::String(agent.to_string()));
        out.insert("ifindex".into(), Value::String(ifindex.to_string()));
        Some(Value::Object(out))
    }

    /// `topologyInterfaceToLink`: the link the interface is on, seen from it; `None` for edge ports.
    pub fn topology_interface_to_link(&self, agent: IpAddr, ifindex: u32) -> Option<LinkEnd> {
        self.link_end(agent, ifindex)
    }

    /// The agent interface of a topology port (`None` when its node or port did not resolve).
    pub fn topology_port_interface(&self, node: &str, port: &str) -> Option<(IpAddr, u32)> {
        self.topology_view
            .port_names
            .iter()
            .find(|(_, (n, p))| n == node && p == port)
            .map(|(interface, _)| *interface)
    }

    /// `topologyNodeLinks`: names of the links with an end on `node`.
    pub fn topology_node_links(&self, node: &str) -> Vec<String> {
        self.topology
            .links
            .iter()
            .filter(|(_, link)| link.node1 == node || link.node2 == node)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// `topologyNodeNames`: every node named by `nodes` or by a link end.
    pub fn topology_node_names(&self) -> Vec<String> {
        let mut names: BTreeSet<&str> = self.topology.nodes.keys().map(String::as_str).collect();
        for link in self.topology.links.values() {
            names.insert(&link.node1);
            names.insert(&link.node2);
        }
        names.into_iter().map(str::to_string).collect()
    }

    /// `topologyDiameter`: the longest shortest path (in links) between two connected nodes; 0 without links.
    pub fn topology_diameter(&self) -> u32 {
        let mut adjacency: HashMap<&str, Vec<&str>> = HashMap::new();
        for link in self.topology.links.values() {
            adjacency.entry(&link.node1).or_default().push(&link.node2);
            adjacency.entry(&link.node2).or_default().push(&link.node1);
        }
        let mut diameter = 0;
        for start in adjacency.keys() {
            let mut distance: HashMap<&str, u32> = HashMap::from([(*start, 0)]);
            let mut queue = VecDeque::from([*start]);
            while let Some(node) = queue.pop_front() {
                let d = distance[node];
                diameter = diameter.max(d);
                for next in adjacency.get(node).into_iter().flatten() {
                    if !distance.contains_key(next) {
                        distance.insert(next, d + 1);
                        queue.push_back(next);
                    }
                }
            }
        }
        diameter
    }
}
