//! Who to ask and how: SNMP credentials chosen per agent address range (longest prefix wins, as Akvorado's
//! `communities: {"::/0": …, "0.0.0.0/0": …}`), timeouts and cache lifetimes.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

/// SNMPv3 authentication protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthProtocol {
    /// HMAC-MD5-96.
    Md5,
    /// HMAC-SHA-96 (`SHA` in net-snmp).
    Sha1,
    /// HMAC-SHA-224 (RFC 7860).
    Sha224,
    /// HMAC-SHA-256 (RFC 7860).
    Sha256,
    /// HMAC-SHA-384 (RFC 7860).
    Sha384,
    /// HMAC-SHA-512 (RFC 7860).
    Sha512,
}

impl AuthProtocol {
    /// `MD5`, `SHA` (= SHA1), `SHA224` … `SHA512` (net-snmp's names, any case).
    pub fn parse(text: &str) -> Option<AuthProtocol> {
        Some(match text.to_ascii_uppercase().replace('-', "").as_str() {
            "MD5" => AuthProtocol::Md5,
            "SHA" | "SHA1" => AuthProtocol::Sha1,
            "SHA224" => AuthProtocol::Sha224,
            "SHA256" => AuthProtocol::Sha256,
            "SHA384" => AuthProtocol::Sha384,
            "SHA512" => AuthProtocol::Sha512,
            _ => return None,
        })
    }
}

/// SNMPv3 privacy protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivProtocol {
    /// CBC-DES.
    Des,
    /// AES-128 in CFB mode (`AES` in net-snmp).
    Aes128,
    /// AES-192 in CFB mode.
    Aes192,
    /// AES-256 in CFB mode.
    Aes256,
}

impl PrivProtocol {
    /// `DES`, `AES` (= AES128), `AES192`, `AES256` (any case).
    pub fn parse(text: &str) -> Option<PrivProtocol> {
        Some(match text.to_ascii_uppercase().replace('-', "").as_str() {
            "DES" => PrivProtocol::Des,
            "AES" | "AES128" => PrivProtocol::Aes128,
            "AES192" => PrivProtocol::Aes192,
            "AES256" => PrivProtocol::Aes256,
            _ => return None,
        })
    }
}

/// How to authenticate to an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// SNMPv2c with a community.
    V2c {
        /// The community string.
        community: String,
    },
    /// SNMPv3 (USM): a user, with authentication and optionally privacy.
    V3 {
        /// USM user name.
        user: String,
        /// `None`: noAuthNoPriv.
        auth: Option<(AuthProtocol, String)>,
        /// `None`: no privacy (authNoPriv).
        privacy: Option<(PrivProtocol, String)>,
        /// Context name (empty for the default context).
        context: String,
    },
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials::V2c {
            community: "public".into(),
        }
    }
}

/// Credentials and port for agents in `range`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeCredentials {
    /// Agent addresses these credentials apply to.
    pub range: IpNet,
    /// How to authenticate to those agents.
    pub credentials: Credentials,
    /// UDP port their SNMP agent listens on.
    pub port: u16,
}

/// The poller's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpConfig {
    /// Used for agents no range covers.
    pub default: Credentials,
    /// UDP port for agents no range covers (normally 161).
    pub default_port: u16,
    /// Per-range credentials; the longest matching prefix wins.
    pub ranges: Vec<RangeCredentials>,
    /// Wait for one answer, and retries after a timeout.
    pub timeout: Duration,
    /// Retries after a timeout before a poll counts as unanswered.
    pub retries: u32,
    /// An agent's names are polled again this long after the last successful poll.
    pub refresh: Duration,
    /// An agent not asked about for this long is forgotten (no more polling).
    pub idle: Duration,
    /// After a failed poll, the next attempt waits this long.
    pub retry_after: Duration,
    /// Concurrent pollers.
    pub workers: usize,
    /// Most agents kept.
    pub max_agents: usize,
    /// Most interfaces kept per agent.
    pub max_interfaces: usize,
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            default: Credentials::default(),
            default_port: 161,
            ranges: Vec::new(),
            timeout: Duration::from_secs(1),
            retries: 1,
            refresh: Duration::from_secs(30 * 60),
            idle: Duration::from_secs(60 * 60),
            retry_after: Duration::from_secs(60),
            workers: 4,
            max_agents: 10_000,
            max_interfaces: 10_000,
        }
    }
}

impl SnmpConfig {
    /// The credentials and port for `agent` (IPv4-mapped IPv6 addresses are matched as IPv4).
    pub fn for_agent(&self, agent: IpAddr) -> (&Credentials, u16) {
        let agent = agent.to_canonical();
        self.ranges
            .iter()
            .filter(|r| r.range.contains(&agent))
            .max_by_key(|r| r.range.prefix_len())
            .map_or((&self.default, self.default_port), |r| {
                (&r.credentials, r.port)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2c(community: &str) -> Credentials {
        Credentials::V2c {
            community: community.into(),
        }
    }

    #[test]
    fn the_longest_matching_range_wins_and_mapped_ipv4_counts_as_ipv4() {
        let config = SnmpConfig {
            ranges: vec![
                RangeCredentials {
                    range: "10.0.0.0/8".parse().unwrap(),
                    credentials: v2c("wide"),
                    port: 161,
                },
                RangeCredentials {
                    range: "10.1.0.0/16".parse().unwrap(),
                    credentials: v2c("narrow"),
                    port: 1161,
                },
                RangeCredentials {
                    range: "2001:db8::/32".parse().unwrap(),
                    credentials: v2c("six"),
                    port: 161,
                },
            ],
            ..SnmpConfig::default()
        };
        let at = |ip: &str| {
            let (c, port) = config.for_agent(ip.parse().unwrap());
            (c.clone(), port)
        };
        assert_eq!(at("10.1.2.3"), (v2c("narrow"), 1161));
        assert_eq!(at("10.2.2.3"), (v2c("wide"), 161));
        assert_eq!(at("::ffff:10.1.2.3"), (v2c("narrow"), 1161));
        assert_eq!(at("2001:db8::1"), (v2c("six"), 161));
        assert_eq!(at("192.0.2.1"), (v2c("public"), 161));
    }

    #[test]
    fn protocol_names_follow_net_snmp() {
        assert_eq!(AuthProtocol::parse("SHA"), Some(AuthProtocol::Sha1));
        assert_eq!(AuthProtocol::parse("sha-256"), Some(AuthProtocol::Sha256));
        assert_eq!(AuthProtocol::parse("md5"), Some(AuthProtocol::Md5));
        assert_eq!(AuthProtocol::parse("x"), None);
        assert_eq!(PrivProtocol::parse("AES"), Some(PrivProtocol::Aes128));
        assert_eq!(PrivProtocol::parse("aes256"), Some(PrivProtocol::Aes256));
        assert_eq!(PrivProtocol::parse("3DES"), None);
    }
}
