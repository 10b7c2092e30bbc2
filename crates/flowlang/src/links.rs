//! The (agent, ifIndex) → topology link name table behind `link:<ifindexkey>`.
//!
//! Built by the engine from the resolved topology (explicit `nodes` or learned `host_name`/`ifname`) each time
//! that resolution changes, so a lookup is one hash probe with no allocation.

use std::net::IpAddr;

use foldhash::HashMap as FastMap;

/// Link names by the agent port at either end of the link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkTable {
    by_port: FastMap<(IpAddr, u32), Box<str>>,
}

impl LinkTable {
    /// Builds the table from `((agent, ifindex), link name)` pairs; the first name of a port wins.
    pub fn from_ports<N: Into<Box<str>>>(
        ports: impl IntoIterator<Item = ((IpAddr, u32), N)>,
    ) -> Self {
        let mut by_port = FastMap::default();
        for (port, name) in ports {
            by_port.entry(port).or_insert_with(|| name.into());
        }
        Self { by_port }
    }

    /// The link that the port `ifindex` of `agent` belongs to.
    pub fn link(&self, agent: IpAddr, ifindex: u32) -> Option<&str> {
        self.by_port.get(&(agent, ifindex)).map(|name| &**name)
    }

    /// How many (agent, ifIndex) ports have a link.
    pub fn len(&self) -> usize {
        self.by_port.len()
    }

    /// Whether no port has a link.
    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_map_to_links() {
        let leaf = IpAddr::from([10, 0, 0, 1]);
        let spine = IpAddr::from([10, 0, 0, 2]);
        let table =
            LinkTable::from_ports([((leaf, 3), "L1"), ((spine, 52), "L1"), ((leaf, 3), "L9")]);
        assert_eq!(table.len(), 2);
        assert_eq!(table.link(leaf, 3), Some("L1"));
        assert_eq!(table.link(spine, 52), Some("L1"));
        assert_eq!(table.link(leaf, 52), None);
        assert_eq!(table.link(IpAddr::from([10, 0, 0, 3]), 3), None);
    }
}
