//! Topology (`PUT/GET /topology/json`, spec §1.7) and its resolution to agents and ifIndexes.
//!
//! Nodes map to agents by `nodes.<n>.agent`, else by the agent's learned `host_name`; ports map to ifIndexes
//! by `ports.<p>.ifindex`, else by the learned `ifname` (sFlow port_name structure). Ports on links are
//! `CORE`; other ports of topology agents are `EDGE`. The link of each resolved port feeds the `link:` key
//! function.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Topology JSON; unknown fields are kept so GET returns what was PUT.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// `nodes`: switches and routers, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, TopologyNode>,
    /// `links`: the links between their ports, by name.
    #[serde(default)]
    pub links: BTreeMap<String, TopologyLink>,
    /// Fields rtflow does not use (`tags`…), kept and echoed.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A switch or router of the topology.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopologyNode {
    /// `agent`: its sFlow agent address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `ports`: its ports, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, TopologyPort>,
    /// Fields rtflow does not use, kept and echoed.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A port of a topology node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopologyPort {
    /// ifIndex as a string (numbers are accepted on input).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub ifindex: Option<String>,
    /// Fields rtflow does not use, kept and echoed.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A link between two ports of the topology.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopologyLink {
    /// `node1`: the node at one end.
    pub node1: String,
    /// `port1`: its port.
    pub port1: String,
    /// `node2`: the node at the other end.
    pub node2: String,
    /// `port2`: its port.
    pub port2: String,
    /// Fields rtflow does not use, kept and echoed.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Learned names: agent → host_name, and (agent, ifname) → ifIndex.
#[derive(Debug, Default)]
pub(crate) struct LearnedNames {
    pub agent_by_host: HashMap<String, IpAddr>,
    pub ifindex_by_name: HashMap<(IpAddr, String), u32>,
}

/// The topology resolved to agents and ports.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TopologyView {
    pub agents: HashSet<IpAddr>,
    /// Ports on inter-switch links.
    pub core: HashSet<(IpAddr, u32)>,
    /// Explicitly listed ports that are not on links.
    pub listed_edge: HashSet<(IpAddr, u32)>,
    /// Node name and port name per (agent, ifIndex), for `link:`-style lookups and diagnostics.
    pub port_names: HashMap<(IpAddr, u32), (String, String)>,
    /// Link name per (agent, ifIndex) of a port on a link (the first link listing the port wins).
    pub port_links: HashMap<(IpAddr, u32), String>,
    /// Agent of each node that resolved to one.
    pub node_agents: HashMap<String, IpAddr>,
}

impl TopologyView {
    pub(crate) fn resolve(topology: &Topology, learned: &LearnedNames) -> Self {
        let mut view = TopologyView::default();
        let node_agent = |node: &str| -> Option<IpAddr> {
            topology
                .nodes
                .get(node)
                .and_then(|n| n.agent.as_deref())
                .and_then(|a| a.parse().ok())
                .or_else(|| learned.agent_by_host.get(node).copied())
        };
        let port_index = |node: &str, agent: IpAddr, port: &str| -> Option<u32> {
            topology
                .nodes
                .get(node)
                .and_then(|n| n.ports.get(port))
                .and_then(|p| p.ifindex.as_deref())
                .and_then(|i| i.parse().ok())
                .or_else(|| {
                    learned
                        .ifindex_by_name
                        .get(&(agent, port.to_string()))
                        .copied()
                })
        };
        for (link_name, link) in &topology.links {
            for (node, port) in [(&link.node1, &link.port1), (&link.node2, &link.port2)] {
                let Some(agent) = node_agent(node) else {
                    continue;
                };
                view.agents.insert(agent);
                view.node_agents.insert(node.clone(), agent);
                if let Some(index) = port_index(node, agent, port) {
                    view.core.insert((agent, index));
                    view.port_links
                        .entry((agent, index))
                        .or_insert_with(|| link_name.clone());
                    view.port_names
                        .insert((agent, index), (node.clone(), port.clone()));
                }
            }
        }
        for (name, node) in &topology.nodes {
            let Some(agent) = node_agent(name) else {
                continue;
            };
            view.agents.insert(agent);
            view.node_agents.insert(name.clone(), agent);
            for port in node.ports.keys() {
                if let Some(index) = port_index(name, agent, port) {
                    view.port_names
                        .entry((agent, index))
                        .or_insert_with(|| (name.clone(), port.clone()));
                    if !view.core.contains(&(agent, index)) {
                        view.listed_edge.insert((agent, index));
                    }
                }
            }
        }
        view
    }

    /// Whether an interface of a topology agent is an edge port (a topology port not on a link).
    pub(crate) fn is_edge(&self, agent: IpAddr, ifindex: u32) -> bool {
        self.agents.contains(&agent) && !self.core.contains(&(agent, ifindex))
    }

    pub(crate) fn is_core(&self, agent: IpAddr, ifindex: u32) -> bool {
        self.core.contains(&(agent, ifindex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPOLOGY: &str = r#"{
        "nodes": {"leaf1": {"agent": "10.0.0.1", "ports": {"swp1": {"ifindex": "3"}, "swp9": {"ifindex": 9}}}},
        "links": {"L1": {"node1": "leaf1", "port1": "swp1", "node2": "spine1", "port2": "swp2"}},
        "version": 3
    }"#;

    #[test]
    fn resolves_explicit_and_learned_ports() {
        let topology: Topology = serde_json::from_str(TOPOLOGY).unwrap_or_else(|e| panic!("{e}"));
        let leaf: IpAddr = IpAddr::from([10, 0, 0, 1]);
        let spine: IpAddr = IpAddr::from([10, 0, 0, 2]);
        let mut learned = LearnedNames::default();
        learned.agent_by_host.insert("spine1".into(), spine);
        learned.ifindex_by_name.insert((spine, "swp2".into()), 52);
        let view = TopologyView::resolve(&topology, &learned);
        assert!(view.is_core(leaf, 3));
        assert!(view.is_core(spine, 52));
        assert!(view.is_edge(leaf, 9));
        assert!(
            view.is_edge(leaf, 4),
            "unlisted ports of topology agents are edge ports"
        );
        assert!(!view.is_edge(IpAddr::from([10, 0, 0, 3]), 1));
        assert!(view.listed_edge.contains(&(leaf, 9)));
        assert_eq!(
            view.port_links.get(&(leaf, 3)).map(String::as_str),
            Some("L1")
        );
        assert_eq!(
            view.port_links.get(&(spine, 52)).map(String::as_str),
            Some("L1")
        );
        assert_eq!(view.port_links.get(&(leaf, 9)), None);
        // Round trip keeps unknown fields and string ifindexes.
        let json = serde_json::to_value(&topology).unwrap_or_default();
        assert_eq!(json["version"], 3);
        assert_eq!(json["nodes"]["leaf1"]["ports"]["swp9"]["ifindex"], "9");
    }
}
