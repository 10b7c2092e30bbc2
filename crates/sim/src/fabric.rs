//! The simulated network: switches with named ports and ifIndexes, leaf-spine links, hosts behind
//! leaf ports, the Internet behind the border leaf; routing with ECMP across the spines.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::rng::Rng;
use crate::scenario::{Scenario, parse_network};

pub(crate) type PortId = usize;
pub(crate) type HostId = usize;

/// Router MAC of the upstream Internet router (the IANA VRRP virtual MAC for group 1).
pub(crate) const UPSTREAM_ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01];
/// ifIndex of a Linux host's eth0 (1 is lo).
pub(crate) const HOST_IFINDEX: u32 = 2;

#[derive(Debug)]
pub(crate) struct Switch {
    pub name: String,
    pub agent: Ipv4Addr,
    /// Router MAC, the same on every port.
    pub mac: [u8; 6],
    pub ports: Vec<PortId>,
    /// Leaf: the uplink to spine `s` at index `s`. Spine: the downlink to leaf `l` at index `l`.
    pub fabric_ports: Vec<PortId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortRole {
    Host(HostId),
    /// A leaf-spine link end.
    Fabric(usize),
    Internet,
}

#[derive(Debug)]
pub(crate) struct Port {
    pub switch: usize,
    pub name: String,
    pub ifindex: u32,
    pub speed: u64,
    pub role: PortRole,
    pub sampling_rate: u32,
}

#[derive(Debug)]
pub(crate) struct Link {
    pub name: String,
    pub leaf: usize,
    pub spine: usize,
    pub leaf_port: PortId,
    pub spine_port: PortId,
}

#[derive(Debug)]
pub(crate) struct Host {
    pub name: String,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub leaf: usize,
    pub port: PortId,
    pub uuid: [u8; 16],
}

/// Where a flow enters or leaves the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Host(HostId),
    Internet(Ipv4Addr),
}

/// One switch a packet crosses: sampled on `in_port`, sent out of `out_port`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hop {
    pub in_port: PortId,
    pub out_port: PortId,
    /// Layer-2 addresses of the packet as it arrives on `in_port`.
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// Routers crossed before this one (the IP TTL is lower by this much).
    pub index: u8,
}

/// The switches a packet crosses, at most leaf, spine, leaf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Path {
    pub hops: [Hop; 3],
    pub len: u8,
}

impl Path {
    pub(crate) fn hops(&self) -> &[Hop] {
        &self.hops[..usize::from(self.len)]
    }
}

/// A host as `rtflow simulate --print hosts` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostInfo {
    /// `h<leaf>-<n>`.
    pub name: String,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its eth0 MAC, 12 hex digits as sFlow-RT writes MACs.
    pub mac: String,
    /// The leaf it hangs off.
    pub leaf: String,
    /// The leaf port it is connected to.
    pub port: String,
    /// That port's ifIndex.
    pub ifindex: u32,
    /// The leaf's agent address.
    pub agent: Ipv4Addr,
    /// Whether it exports host sFlow itself (from its own address).
    pub hsflowd: bool,
}

#[derive(Debug)]
pub(crate) struct Fabric {
    pub switches: Vec<Switch>,
    pub ports: Vec<Port>,
    pub links: Vec<Link>,
    pub hosts: Vec<Host>,
    pub internet_port: Option<PortId>,
    pub border_leaf: usize,
    internet_base: u32,
    internet_size: u32,
    hsflowd: bool,
}

fn port_name(number: u32) -> String {
    format!("swp{number}")
}

/// Cumulus-style numbering: lo = 1, eth0 = 2, swpN = N + 2.
fn port_ifindex(number: u32) -> u32 {
    number + 2
}

impl Fabric {
    pub(crate) fn build(scenario: &Scenario, rng: &mut Rng) -> Self {
        let f = &scenario.fabric;
        let s = &scenario.sampling;
        // Checked by Scenario::check.
        let agent_base = parse_network(&f.agent_network, 24).map_or(0, |(a, _)| u32::from(a));
        let host_base = parse_network(&f.host_network, 16).map_or(0, |(a, _)| u32::from(a));
        let (internet_base, internet_len) =
            parse_network(&f.internet_network, 16).map_or((0, 16), |(a, l)| (u32::from(a), l));
        let leaves = f.leaves as usize;
        let spines = f.spines as usize;
        let mut fabric = Fabric {
            switches: Vec::with_capacity(leaves + spines),
            ports: Vec::new(),
            links: Vec::new(),
            hosts: Vec::new(),
            internet_port: None,
            border_leaf: leaves - 1,
            internet_base,
            internet_size: 1u32 << (32 - u32::from(internet_len)).min(31),
            hsflowd: scenario.hosts.hsflowd,
        };
        let switch_mac = |index: usize| [0x44, 0x38, 0x39, 0x00, (index >> 8) as u8, index as u8];
        for leaf in 0..leaves {
            fabric.switches.push(Switch {
                name: format!("leaf{}", leaf + 1),
                agent: Ipv4Addr::from(agent_base + leaf as u32 + 1),
                mac: switch_mac(leaf),
                ports: Vec::new(),
                fabric_ports: Vec::new(),
            });
        }
        for spine in 0..spines {
            fabric.switches.push(Switch {
                name: format!("spine{}", spine + 1),
                agent: Ipv4Addr::from(agent_base + spine as u32 + 101),
                mac: switch_mac(leaves + spine),
                ports: Vec::new(),
                fabric_ports: Vec::new(),
            });
        }
        for leaf in 0..leaves {
            for n in 0..f.hosts_per_leaf {
                let host = fabric.hosts.len();
                let port = fabric.add_port(
                    leaf,
                    n + 1,
                    f.host_port_speed.0 as u64,
                    PortRole::Host(host),
                    s.host_port,
                );
                let mut uuid = [0u8; 16];
                uuid[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
                uuid[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
                // RFC 4122 version 4 / variant bits, as a real machine id would have.
                uuid[6] = (uuid[6] & 0x0f) | 0x40;
                uuid[8] = (uuid[8] & 0x3f) | 0x80;
                fabric.hosts.push(Host {
                    name: format!("h{}-{}", leaf + 1, n + 1),
                    ip: Ipv4Addr::from(host_base + ((leaf as u32 + 1) << 8) + 10 + n + 1),
                    mac: [0x3c, 0xfd, 0xfe, 0x01, leaf as u8 + 1, n as u8 + 1],
                    leaf,
                    port,
                    uuid,
                });
            }
            for spine in 0..spines {
                let leaf_port = fabric.add_port(
                    leaf,
                    49 + spine as u32,
                    f.uplink_speed.0 as u64,
                    PortRole::Fabric(fabric.links.len()),
                    s.uplink,
                );
                fabric.links.push(Link {
                    name: format!("leaf{}-spine{}", leaf + 1, spine + 1),
                    leaf,
                    spine: leaves + spine,
                    leaf_port,
                    spine_port: usize::MAX,
                });
                fabric.switches[leaf].fabric_ports.push(leaf_port);
            }
        }
        for spine in 0..spines {
            for leaf in 0..leaves {
                let link = leaf * spines + spine;
                let spine_port = fabric.add_port(
                    leaves + spine,
                    leaf as u32 + 1,
                    f.uplink_speed.0 as u64,
                    PortRole::Fabric(link),
                    s.uplink,
                );
                fabric.links[link].spine_port = spine_port;
                fabric.switches[leaves + spine]
                    .fabric_ports
                    .push(spine_port);
            }
        }
        if f.internet_port_speed.0 > 0.0 {
            let border = fabric.border_leaf;
            let port = fabric.add_port(
                border,
                49 + spines as u32,
                f.internet_port_speed.0 as u64,
                PortRole::Internet,
                s.internet,
            );
            fabric.internet_port = Some(port);
        }
        fabric
    }

    fn add_port(
        &mut self,
        switch: usize,
        number: u32,
        speed: u64,
        role: PortRole,
        sampling_rate: u32,
    ) -> PortId {
        let id = self.ports.len();
        self.ports.push(Port {
            switch,
            name: port_name(number),
            ifindex: port_ifindex(number),
            speed,
            role,
            sampling_rate,
        });
        self.switches[switch].ports.push(id);
        id
    }

    pub(crate) fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts.iter().position(|h| h.name == name)
    }

    pub(crate) fn link_by_name(&self, name: &str) -> Option<usize> {
        self.links.iter().position(|l| l.name == name)
    }

    /// A random Internet address (never the network or broadcast address of the range).
    pub(crate) fn internet_address(&self, rng: &mut Rng) -> Ipv4Addr {
        let offset = 1 + rng.below(u64::from(self.internet_size.saturating_sub(2)).max(1)) as u32;
        Ipv4Addr::from(self.internet_base.wrapping_add(offset))
    }

    pub(crate) fn endpoint_ip(&self, endpoint: Endpoint) -> Ipv4Addr {
        match endpoint {
            Endpoint::Host(h) => self.hosts[h].ip,
            Endpoint::Internet(ip) => ip,
        }
    }

    /// The switch and port where traffic from (or to) `endpoint` enters (or leaves) the fabric,
    /// and the MAC of the device on the other side of that port.
    fn attachment(&self, endpoint: Endpoint) -> Option<(usize, PortId, [u8; 6])> {
        match endpoint {
            Endpoint::Host(h) => {
                let host = &self.hosts[h];
                Some((host.leaf, host.port, host.mac))
            }
            Endpoint::Internet(_) => self
                .internet_port
                .map(|p| (self.border_leaf, p, UPSTREAM_ROUTER_MAC)),
        }
    }

    /// The switch port where traffic from `endpoint` enters the fabric.
    pub(crate) fn attachment_port(&self, endpoint: Endpoint) -> Option<PortId> {
        self.attachment(endpoint).map(|(_, port, _)| port)
    }

    /// The path from `src` to `dst` with the links that are up; ECMP picks the spine by `hash`.
    /// `None` when no path is up (the packet is dropped at the first switch).
    pub(crate) fn route(
        &self,
        src: Endpoint,
        dst: Endpoint,
        hash: u64,
        link_up: &[bool],
    ) -> Option<Path> {
        let (a, in_port, src_mac) = self.attachment(src)?;
        let (b, out_port, _) = self.attachment(dst)?;
        let mut path = Path::default();
        if a == b {
            path.hops[0] = Hop {
                in_port,
                out_port,
                src_mac,
                dst_mac: self.switches[a].mac,
                index: 0,
            };
            path.len = 1;
            return Some(path);
        }
        let spines = self.switches[a].fabric_ports.len();
        // Spines that still reach both leaves (BGP would have withdrawn the others).
        let mut candidates = [0usize; crate::scenario::MAX_SPINES as usize];
        let mut count = 0;
        for spine in 0..spines {
            let up_a = self.link_between(a, spine).is_some_and(|l| link_up[l]);
            let up_b = self.link_between(b, spine).is_some_and(|l| link_up[l]);
            if up_a && up_b {
                candidates[count] = spine;
                count += 1;
            }
        }
        if count == 0 {
            return None;
        }
        // Each leaf hashes with its own seed, as different switches do.
        let choice =
            candidates[(mix(hash ^ (a as u64).wrapping_mul(0x9e37_79b9)) % count as u64) as usize];
        let spine_switch = self.switches.len() - spines + choice;
        let leaf_a = &self.switches[a];
        let spine = &self.switches[spine_switch];
        let leaf_b = &self.switches[b];
        path.hops[0] = Hop {
            in_port,
            out_port: leaf_a.fabric_ports[choice],
            src_mac,
            dst_mac: leaf_a.mac,
            index: 0,
        };
        path.hops[1] = Hop {
            in_port: spine.fabric_ports[a],
            out_port: spine.fabric_ports[b],
            src_mac: leaf_a.mac,
            dst_mac: spine.mac,
            index: 1,
        };
        path.hops[2] = Hop {
            in_port: leaf_b.fabric_ports[choice],
            out_port,
            src_mac: spine.mac,
            dst_mac: leaf_b.mac,
            index: 2,
        };
        path.len = 3;
        Some(path)
    }

    fn link_between(&self, leaf: usize, spine: usize) -> Option<usize> {
        let spines = self.switches[leaf].fabric_ports.len();
        (spine < spines).then_some(leaf * spines + spine)
    }

    /// The JSON that `PUT /topology/json` takes: every switch with its agent and ports, every
    /// leaf-spine link.
    pub(crate) fn topology_json(&self) -> Value {
        let mut nodes = Map::new();
        for switch in &self.switches {
            let mut ports = Map::new();
            for &p in &switch.ports {
                let port = &self.ports[p];
                ports.insert(
                    port.name.clone(),
                    json!({ "ifindex": port.ifindex.to_string() }),
                );
            }
            nodes.insert(
                switch.name.clone(),
                json!({ "agent": switch.agent.to_string(), "ports": ports }),
            );
        }
        let mut links = Map::new();
        for link in &self.links {
            links.insert(
                link.name.clone(),
                json!({
                    "node1": self.switches[link.leaf].name,
                    "port1": self.ports[link.leaf_port].name,
                    "node2": self.switches[link.spine].name,
                    "port2": self.ports[link.spine_port].name,
                }),
            );
        }
        json!({ "nodes": nodes, "links": links })
    }

    pub(crate) fn host_infos(&self) -> Vec<HostInfo> {
        self.hosts
            .iter()
            .map(|h| {
                let port = &self.ports[h.port];
                HostInfo {
                    name: h.name.clone(),
                    ip: h.ip,
                    mac: hex_mac(&h.mac),
                    leaf: self.switches[h.leaf].name.clone(),
                    port: port.name.clone(),
                    ifindex: port.ifindex,
                    agent: self.switches[h.leaf].agent,
                    hsflowd: self.hsflowd,
                }
            })
            .collect()
    }
}

/// 12 upper-case hex digits, as sFlow-RT writes MAC addresses.
pub(crate) fn hex_mac(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02X}")).collect()
}

/// A 64-bit finalizer (from SplitMix64): spreads similar inputs over the whole range.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fabric() -> Fabric {
        Fabric::build(&Scenario::default(), &mut Rng::new(1))
    }

    #[test]
    fn default_fabric_has_named_ports_and_links() {
        let f = fabric();
        assert_eq!(f.switches.len(), 6);
        assert_eq!(f.hosts.len(), 16);
        assert_eq!(f.links.len(), 8);
        let leaf1 = &f.switches[0];
        assert_eq!(leaf1.name, "leaf1");
        assert_eq!(leaf1.agent, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(f.switches[4].agent, Ipv4Addr::new(10, 0, 0, 101));
        let names: Vec<_> = leaf1
            .ports
            .iter()
            .map(|&p| f.ports[p].name.as_str())
            .collect();
        assert_eq!(names, ["swp1", "swp2", "swp3", "swp4", "swp49", "swp50"]);
        assert_eq!(f.ports[leaf1.ports[0]].ifindex, 3);
        let border = &f.switches[3];
        assert_eq!(f.ports[*border.ports.last().unwrap()].name, "swp51");
        assert_eq!(f.hosts[0].name, "h1-1");
        assert_eq!(f.hosts[0].ip, Ipv4Addr::new(10, 1, 1, 11));
        assert_eq!(f.hosts[5].name, "h2-2");
        assert_eq!(f.hosts[5].ip, Ipv4Addr::new(10, 1, 2, 12));
        let topology = f.topology_json();
        assert_eq!(topology["links"]["leaf1-spine2"]["port1"], "swp50");
        assert_eq!(topology["links"]["leaf1-spine2"]["node2"], "spine2");
        assert_eq!(topology["links"]["leaf1-spine2"]["port2"], "swp1");
        assert_eq!(topology["nodes"]["spine2"]["agent"], "10.0.0.102");
        assert_eq!(
            topology["nodes"]["leaf3"]["ports"]["swp49"]["ifindex"],
            "51"
        );
    }

    #[test]
    fn routes_cross_leaf_spine_leaf_and_avoid_failed_links() {
        let f = fabric();
        let mut up = vec![true; f.links.len()];
        let (h11, h31) = (Endpoint::Host(0), Endpoint::Host(8));
        let local = f
            .route(Endpoint::Host(0), Endpoint::Host(1), 7, &up)
            .unwrap();
        assert_eq!(local.len, 1);
        let mut spines_used = std::collections::BTreeSet::new();
        for hash in 0..64 {
            let path = f.route(h11, h31, hash, &up).unwrap();
            assert_eq!(path.len, 3);
            let [a, s, b] = path.hops;
            assert_eq!(f.ports[a.in_port].switch, 0);
            assert_eq!(f.ports[b.out_port].switch, 2);
            // The spine's ingress is the far end of the leaf's chosen uplink.
            let PortRole::Fabric(link) = f.ports[a.out_port].role else {
                panic!()
            };
            assert_eq!(f.links[link].spine_port, s.in_port);
            assert_eq!(s.src_mac, f.switches[0].mac);
            spines_used.insert(f.ports[s.in_port].switch);
        }
        assert_eq!(spines_used.len(), 2, "ECMP spreads flows over both spines");
        up[f.link_by_name("leaf1-spine2").unwrap()] = false;
        for hash in 0..64 {
            let path = f.route(h11, h31, hash, &up).unwrap();
            assert_eq!(
                f.switches[f.ports[path.hops[1].in_port].switch].name,
                "spine1"
            );
            let back = f.route(h31, h11, hash, &up).unwrap();
            assert_eq!(
                f.switches[f.ports[back.hops[1].in_port].switch].name,
                "spine1"
            );
        }
        up[f.link_by_name("leaf1-spine1").unwrap()] = false;
        assert_eq!(f.route(h11, h31, 1, &up), None);
        let internet = Endpoint::Internet(Ipv4Addr::new(198, 18, 0, 1));
        let inbound = f.route(internet, Endpoint::Host(4), 3, &up).unwrap();
        assert_eq!(Some(inbound.hops[0].in_port), f.internet_port);
        assert_eq!(inbound.hops[0].src_mac, UPSTREAM_ROUTER_MAC);
    }
}
