//! Host location: on which edge port of the topology each MAC address is seen (sFlow-RT's
//! `topologyLocatedHostMacs`, `topologyLocateHostMac`, `topologyLocateHostIP` and `topologyLocateHostIP6`).
//!
//! As sFlow-RT does, hosts are learned from flow samples: a sample that entered a topology agent on an edge port
//! (a port of a topology node that is not on a link, see [`TopologyView::is_edge`]) locates its source MAC there,
//! with the source IPv4/IPv6 address and VLAN of the packet (an ARP packet gives its sender's address). Only the
//! ingress side is used: switches usually sample on ingress, before routing rewrites the MACs, so the destination
//! MAC of a routed packet leaving an edge port is the router's own, not the host's.
//!
//! Bounded and expiring: at most `max_located_macs` MACs with at most [`MAX_LOCATIONS_PER_MAC`] ports each (the
//! least recently seen is replaced); a location not seen for `located_mac_timeout_ms` is forgotten. Queries
//! answer only locations that are still edge ports of the current topology, so changing the topology takes
//! effect at once.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use foldhash::HashMap as FastMap;
use serde::Serialize;

use crate::engine::Engine;
use crate::metrics::MetricValue;
use crate::sample::{DataSource, FlowSample, Millis, Port};
use crate::topology::TopologyView;

/// Most edge ports kept per MAC (a host on a LAG or MLAG pair is seen on several).
pub(crate) const MAX_LOCATIONS_PER_MAC: usize = 4;

/// One edge port where a MAC was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sighting {
    agent: IpAddr,
    ifindex: u32,
    vlan: Option<u32>,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    seen: Millis,
}

/// MAC → the edge ports it was seen on.
#[derive(Debug, Default)]
pub(crate) struct HostLocations {
    by_mac: FastMap<[u8; 6], Vec<Sighting>>,
    /// MACs not learned because the table was full (since start).
    refused: u64,
}

/// Where a host is: sFlow-RT's location object (`topologyLocateHostMac` and friends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostLocation {
    /// The MAC as sFlow-RT writes MACs (12 upper-case hex digits).
    pub mac: String,
    /// `agent`: the switch where the host was seen on an edge port.
    pub agent: String,
    /// ifIndex as a string, as in the topology.
    pub ifindex: String,
    /// Topology node and port names of the interface; for a port the topology does not list, its agent's node
    /// and the interface name the agent reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `port`: the port's name, when the topology names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The organization owning the MAC's OUI, when an OUI table is loaded (`oui.names`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ouiname: Option<String>,
    /// `ipaddress`: the host's IPv4 address, when its packets showed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipaddress: Option<String>,
    /// `ip6address`: the host's IPv6 address, when its packets showed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6address: Option<String>,
    /// `vlan`: the VLAN it was seen on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u32>,
}

impl HostLocations {
    /// Learns the source MAC of a flow sample that entered the network on an edge port.
    pub(crate) fn observe(
        &mut self,
        now: Millis,
        view: &TopologyView,
        agent: IpAddr,
        sample: &FlowSample,
        max_macs: usize,
    ) {
        let Port::Index(ifindex) = sample.input else {
            return;
        };
        if sample.dropped.is_some() || !view.is_edge(agent, ifindex) {
            return;
        }
        let headers = &sample.packet.outer;
        let Some(ethernet) = headers.ethernet else {
            return;
        };
        let mac = ethernet.src;
        // Group (multicast/broadcast) and all-zero source MACs locate no host.
        if mac[0] & 1 == 1 || mac == [0; 6] {
            return;
        }
        let arp_sender = headers
            .arp
            .filter(|arp| arp.sender_mac == mac)
            .map(|arp| arp.sender_ip);
        let ipv4 = headers.ipv4.map(|ip| ip.src).or(arp_sender);
        let ipv6 = headers
            .ipv6
            .map(|ip| ip.src)
            .filter(|ip| !ip.is_unspecified());
        let vlan = headers
            .vlan()
            .map(u32::from)
            .or_else(|| sample.switch.map(|s| s.src_vlan));
        let held = self.by_mac.len();
        let sightings = match self.by_mac.get_mut(&mac) {
            Some(sightings) => sightings,
            None if held >= max_macs => {
                self.refused += 1;
                return;
            }
            None => self.by_mac.entry(mac).or_default(),
        };
        if let Some(known) = sightings
            .iter_mut()
            .find(|s| s.agent == agent && s.ifindex == ifindex)
        {
            known.seen = now;
            known.vlan = vlan.or(known.vlan);
            known.ipv4 = ipv4.or(known.ipv4);
            known.ipv6 = ipv6.or(known.ipv6);
            return;
        }
        let sighting = Sighting {
            agent,
            ifindex,
            vlan,
            ipv4,
            ipv6,
            seen: now,
        };
        if sightings.len() < MAX_LOCATIONS_PER_MAC {
            sightings.push(sighting);
        } else if let Some(oldest) = sightings.iter_mut().min_by_key(|s| s.seen) {
            *oldest = sighting;
        }
    }

    /// Forgets locations not seen since `cutoff`.
    pub(crate) fn expire(&mut self, cutoff: Millis) {
        self.by_mac.retain(|_, sightings| {
            sightings.retain(|s| s.seen >= cutoff);
            !sightings.is_empty()
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.by_mac.len()
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }
}

/// Parses a MAC given as 12 hex digits, optionally separated by `:`, `-` or `.` (any case).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b':' | b'-' | b'.'))
        .collect();
    if digits.len() != 12 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, pair) in mac.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(mac)
}

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02X}")).collect()
}

impl Engine {
    /// Whether a sighting is current: recent enough and still on an edge port of the topology.
    fn located(&self, now: Millis, sighting: &Sighting) -> bool {
        let cutoff = now.saturating_sub(self.config.located_mac_timeout_ms);
        sighting.seen >= cutoff && self.topology_view.is_edge(sighting.agent, sighting.ifindex)
    }

    /// `topologyLocatedHostMacs(agent?, ifindex?)`: the MACs located on edge ports (of `agent`, of its port
    /// `ifindex`, when given), sorted.
    pub fn located_host_macs(
        &self,
        now: Millis,
        agent: Option<IpAddr>,
        ifindex: Option<u32>,
    ) -> Vec<String> {
        let macs: BTreeSet<String> = self
            .host_locations
            .lock()
            .by_mac
            .iter()
            .filter(|(_, sightings)| {
                sightings.iter().any(|s| {
                    agent.is_none_or(|a| a == s.agent)
                        && ifindex.is_none_or(|i| i == s.ifindex)
                        && self.located(now, s)
                })
            })
            .map(|(mac, _)| mac_text(mac))
            .collect();
        macs.into_iter().collect()
    }

    /// `topologyLocateHostMac(mac)`: the edge ports where `mac` was seen, most recent first.
    pub fn locate_host_mac(&self, now: Millis, mac: [u8; 6]) -> Vec<HostLocation> {
        // Copied out: naming a location locks the agent's shard, which ingest locks before `host_locations`.
        let mut current: Vec<Sighting> = match self.host_locations.lock().by_mac.get(&mac) {
            Some(sightings) => sightings
                .iter()
                .filter(|s| self.located(now, s))
                .cloned()
                .collect(),
            None => return Vec::new(),
        };
        current.sort_by_key(|s| std::cmp::Reverse(s.seen));
        current
            .iter()
            .map(|s| self.host_location(&mac, s))
            .collect()
    }

    /// `topologyLocateHostIP(ip)` / `topologyLocateHostIP6(ip6)`: the locations of the MACs last seen with
    /// that address. A linear scan of the (bounded) table: scripts ask for single hosts.
    pub fn locate_host_ip(&self, now: Millis, ip: IpAddr) -> Vec<HostLocation> {
        // Copied out: naming a location locks the agent's shard, which ingest locks before `host_locations`.
        let mut found: Vec<([u8; 6], Sighting)> = Vec::new();
        for (mac, sightings) in &self.host_locations.lock().by_mac {
            for sighting in sightings {
                let matches = match ip {
                    IpAddr::V4(v4) => sighting.ipv4 == Some(v4),
                    IpAddr::V6(v6) => sighting.ipv6 == Some(v6),
                };
                if matches && self.located(now, sighting) {
                    found.push((*mac, sighting.clone()));
                }
            }
        }
        found.sort_by_key(|(_, s)| std::cmp::Reverse(s.seen));
        found
            .iter()
            .map(|(mac, s)| self.host_location(mac, s))
            .collect()
    }

    /// How many MACs are located, and how many could not be learned because the table was full.
    pub fn host_location_counts(&self) -> (usize, u64) {
        let locations = self.host_locations.lock();
        (locations.len(), locations.refused())
    }

    /// The `ifname` an agent reports for an interface (sFlow port_name structure, or SNMP).
    fn learned_ifname(&self, agent: IpAddr, ifindex: u32) -> Option<String> {
        let shard = self.agents.lock(agent);
        let source = shard
            .agents
            .get(&agent)?
            .sources
            .get(&DataSource::interface(ifindex))?;
        match &source.counters.metrics.get("ifname")?.value {
            MetricValue::Text(name) => Some(name.to_string()),
            MetricValue::Number(_) => None,
        }
    }

    fn host_location(&self, mac: &[u8; 6], sighting: &Sighting) -> HostLocation {
        let names = self
            .topology_view
            .port_names
            .get(&(sighting.agent, sighting.ifindex));
        let node = names.map(|(node, _)| node.clone()).or_else(|| {
            self.topology_view
                .node_agents
                .iter()
                .filter(|(_, agent)| **agent == sighting.agent)
                .map(|(node, _)| node.clone())
                .min()
        });
        let oui = u32::from_be_bytes([0, mac[0], mac[1], mac[2]]);
        HostLocation {
            mac: mac_text(mac),
            agent: sighting.agent.to_string(),
            ifindex: sighting.ifindex.to_string(),
            node,
            port: names
                .map(|(_, port)| port.clone())
                .or_else(|| self.learned_ifname(sighting.agent, sighting.ifindex)),
            ouiname: self.lookups.oui_table().name(oui).map(str::to_string),
            ipaddress: sighting.ipv4.map(|ip| ip.to_string()),
            ip6address: sighting.ipv6.map(|ip| ip.to_string()),
            vlan: sighting.vlan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine_tests::{T0, agent, dgram, flow_sample};
    use crate::{Engine, EngineConfig, Topology};

    /// leaf (agent 1) ports 1-2 go to the spine (agent 2) ports 1-2; other ports are edge ports.
    fn fabric(config: EngineConfig) -> Engine {
        let mut engine = Engine::new(config);
        let topology: Topology = serde_json::from_value(serde_json::json!({
            "nodes": {
                "leaf": {"agent": agent(1).to_string(),
                         "ports": {"up1": {"ifindex": "1"}, "up2": {"ifindex": "2"}, "host3": {"ifindex": "3"}}},
                "spine": {"agent": agent(2).to_string(), "ports": {"d1": {"ifindex": "1"}, "d2": {"ifindex": "2"}}}
            },
            "links": {
                "L1": {"node1": "leaf", "port1": "up1", "node2": "spine", "port2": "d1"},
                "L2": {"node1": "leaf", "port1": "up2", "node2": "spine", "port2": "d2"}
            }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        engine
            .set_topology(T0, topology)
            .unwrap_or_else(|e| panic!("{e}"));
        engine
    }

    /// A sample of 10.0.0.`src` → 10.0.0.`dst` (source MAC 00:66:77:88:99:`src`) entering `agent` on `input`.
    fn sample_in(engine: &mut Engine, now: Millis, agent_ip: IpAddr, input: u32, src: u8) {
        let info = dgram(agent_ip, 1, 1000);
        engine.begin_datagram(now, &info);
        let mut sample = flow_sample(input, 1, 100, src, 200, 1000);
        sample.input = Port::Index(input);
        engine.ingest_flow_sample(now, &info, &sample);
    }

    fn mac(src: u8) -> [u8; 6] {
        [0x00, 0x66, 0x77, 0x88, 0x99, src]
    }

    #[test]
    fn learns_source_macs_on_edge_ports_only() {
        let mut engine = fabric(EngineConfig::default());
        sample_in(&mut engine, T0, agent(1), 3, 7); // edge port: located
        sample_in(&mut engine, T0, agent(1), 1, 8); // uplink: not a host port
        sample_in(&mut engine, T0, agent(2), 2, 9); // spine port on a link
        sample_in(&mut engine, T0, agent(3), 5, 10); // agent outside the topology
        assert_eq!(
            engine.located_host_macs(T0, None, None),
            vec!["006677889907"]
        );
        assert_eq!(
            engine.located_host_macs(T0, Some(agent(1)), Some(3)),
            vec!["006677889907"]
        );
        assert!(
            engine
                .located_host_macs(T0, Some(agent(1)), Some(4))
                .is_empty()
        );
        assert_eq!(
            engine.locate_host_mac(T0, mac(7)),
            vec![HostLocation {
                mac: "006677889907".into(),
                agent: agent(1).to_string(),
                ifindex: "3".into(),
                node: Some("leaf".into()),
                port: Some("host3".into()),
                ouiname: None,
                ipaddress: Some("10.0.0.7".into()),
                ip6address: None,
                vlan: None,
            }]
        );
        assert!(engine.locate_host_mac(T0, mac(8)).is_empty());
        let by_ip = engine.locate_host_ip(T0, "10.0.0.7".parse().unwrap_or(agent(0)));
        assert_eq!(by_ip.len(), 1);
        assert_eq!(by_ip[0].mac, "006677889907");
        assert!(
            engine
                .locate_host_ip(T0, "10.0.0.200".parse().unwrap_or(agent(0)))
                .is_empty(),
            "destinations are not located"
        );
    }

    #[test]
    fn unlisted_ports_of_topology_agents_are_edge_ports_and_node_names_come_from_the_agent() {
        let mut engine = fabric(EngineConfig::default());
        sample_in(&mut engine, T0, agent(1), 17, 7);
        let located = engine.locate_host_mac(T0, mac(7));
        assert_eq!(located.len(), 1);
        assert_eq!(located[0].node.as_deref(), Some("leaf"));
        assert_eq!(located[0].port, None);
        assert_eq!(located[0].ifindex, "17");
    }

    #[test]
    fn nothing_is_located_without_a_topology() {
        let mut engine = Engine::default();
        sample_in(&mut engine, T0, agent(1), 3, 7);
        assert!(engine.located_host_macs(T0, None, None).is_empty());
        assert_eq!(engine.host_location_counts(), (0, 0));
    }

    #[test]
    fn locations_expire_and_follow_topology_changes() {
        let config = EngineConfig::default();
        let timeout = config.located_mac_timeout_ms;
        let mut engine = fabric(config);
        sample_in(&mut engine, T0, agent(1), 3, 7);
        sample_in(&mut engine, T0 + timeout / 2, agent(1), 4, 7);
        // Seen on two ports: most recent first.
        let ports: Vec<String> = engine
            .locate_host_mac(T0 + timeout / 2, mac(7))
            .into_iter()
            .map(|l| l.ifindex)
            .collect();
        assert_eq!(ports, vec!["4", "3"]);
        // The first sighting is too old at the query, before the tick forgets it.
        let later = T0 + timeout + 1;
        assert_eq!(engine.locate_host_mac(later, mac(7)).len(), 1);
        engine.tick(T0 + 2 * timeout + 1);
        assert_eq!(engine.host_location_counts().0, 0, "expired by the tick");

        // A port that becomes part of a link no longer locates hosts.
        sample_in(&mut engine, later, agent(1), 3, 7);
        assert_eq!(engine.located_host_macs(later, None, None).len(), 1);
        let mut topology = engine.topology().clone();
        topology.links.insert(
            "L3".into(),
            serde_json::from_value(serde_json::json!(
                {"node1": "leaf", "port1": "host3", "node2": "spine", "port2": "d1"}
            ))
            .unwrap_or_else(|e| panic!("{e}")),
        );
        engine
            .set_topology(later, topology)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(engine.located_host_macs(later, None, None).is_empty());
    }

    #[test]
    fn bounded_in_macs_and_in_ports_per_mac() {
        let config = EngineConfig {
            max_located_macs: 2,
            ..EngineConfig::default()
        };
        let mut engine = fabric(config);
        for src in [7, 8, 9] {
            sample_in(&mut engine, T0, agent(1), 3, src);
        }
        assert_eq!(engine.host_location_counts(), (2, 1));
        for (n, port) in (10..10 + MAX_LOCATIONS_PER_MAC as u32 + 2).enumerate() {
            sample_in(&mut engine, T0 + n as u64, agent(1), port, 7);
        }
        let ports: Vec<String> = engine
            .locate_host_mac(T0 + 100, mac(7))
            .into_iter()
            .map(|l| l.ifindex)
            .collect();
        assert_eq!(
            ports,
            vec!["15", "14", "13", "12"],
            "the oldest ports make room"
        );
    }

    #[test]
    fn group_macs_and_dropped_packets_locate_nothing() {
        let mut engine = fabric(EngineConfig::default());
        let info = dgram(agent(1), 1, 1000);
        engine.begin_datagram(T0, &info);
        let mut multicast = flow_sample(3, 1, 100, 7, 200, 1000);
        if let Some(ethernet) = multicast.packet.outer.ethernet.as_mut() {
            ethernet.src = [0x01, 0x00, 0x5e, 0, 0, 1];
        }
        engine.ingest_flow_sample(T0, &info, &multicast);
        let mut dropped = flow_sample(3, 2, 100, 8, 200, 1000);
        dropped.dropped = Some(1);
        engine.ingest_flow_sample(T0, &info, &dropped);
        assert!(engine.located_host_macs(T0, None, None).is_empty());
    }

    #[test]
    fn macs_parse_in_common_notations() {
        let expected = Some([0xd8, 0xd3, 0x85, 0xb2, 0xdd, 0x2b]);
        for text in [
            "D8D385B2DD2B",
            "d8:d3:85:b2:dd:2b",
            "d8-d3-85-b2-dd-2b",
            "d8d3.85b2.dd2b",
        ] {
            assert_eq!(parse_mac(text), expected, "{text}");
        }
        assert_eq!(parse_mac("d8d385b2dd"), None);
        assert_eq!(parse_mac("zzd385b2dd2b"), None);
    }
}
