//! sFlow forwarding sessions (`/forwarding/{name}/json`). The engine stores them; the server sends.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Default sFlow collector port.
pub const DEFAULT_SFLOW_PORT: u16 = rtflow_sflow::SFLOW_PORT;

/// A forwarding session, exact sFlow-RT JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    /// Collector address.
    pub address: IpAddr,
    #[serde(
        default = "default_port",
        deserialize_with = "crate::lenient::port_or_string"
    )]
    /// The collector's UDP port (default 6343).
    pub port: u16,
    /// Agents whose datagrams are forwarded; empty = all agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<IpAddr>,
}

fn default_port() -> u16 {
    DEFAULT_SFLOW_PORT
}

impl Forwarding {
    /// The collector's socket address.
    pub fn target(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Writes IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as the IPv4 addresses they are.
    pub fn canonicalize(&mut self) {
        self.address = self.address.to_canonical();
        for agent in &mut self.agents {
            *agent = agent.to_canonical();
        }
    }

    /// Whether datagrams from `agent` go to this session's collector (all agents when none are listed).
    pub fn forwards(&self, agent: IpAddr) -> bool {
        self.agents.is_empty() || self.agents.contains(&agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults_and_agent_selection() {
        let f: Forwarding = serde_json::from_str(r#"{"address":"10.0.0.9","agents":["10.0.0.1"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.target().to_string(), "10.0.0.9:6343");
        assert!(f.forwards("10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!f.forwards(IpAddr::from([10, 0, 0, 2])));
        let all: Forwarding = serde_json::from_str(r#"{"address":"::1","port":7000}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(all.forwards(IpAddr::from([1, 2, 3, 4])));
    }

    #[test]
    fn ipv4_mapped_addresses_become_ipv4() {
        let mut f: Forwarding = serde_json::from_str(
            r#"{"address":"::ffff:127.0.0.1","agents":["::ffff:10.0.0.1","::1"]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        f.canonicalize();
        assert_eq!(f.target().to_string(), "127.0.0.1:6343");
        let agents: Vec<String> = f.agents.iter().map(IpAddr::to_string).collect();
        assert_eq!(agents, ["10.0.0.1", "::1"]);
    }
}
