//! SNMP enrichment inside the server (`rtflow-snmp`): its settings (sFlow-RT's `snmp.*` properties plus
//! per-range credentials), the names it gives history rows, and — with `snmp.ifname=yes`, as in sFlow-RT — the
//! `host_name` / `ifname` it fills in the real-time engine for agents that send none.
//!
//! Properties: `snmp.ifname=yes` turns polling on; `snmp.version` (`2c` or `3`), `snmp.community`, `snmp.user`,
//! `snmp.authprotocol`, `snmp.authpasswd`, `snmp.privprotocol`, `snmp.privpasswd`, `snmp.context`,
//! `snmp.port` are the default credentials; `snmp.range.<name>.cidr=<prefix>[,<prefix>…]` with the same
//! `snmp.range.<name>.<setting>` names gives credentials for agents in those prefixes (longest prefix wins);
//! `snmp.timeout.ms`, `snmp.retries`, `snmp.refresh.seconds` tune the poller.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtflow_history::{Enricher, InterfaceNames};
use rtflow_snmp::{
    AuthProtocol, Credentials, PrivProtocol, RangeCredentials, SnmpConfig, SnmpPoller,
};

use crate::error::ServerError;
use crate::properties::PropertyError;
use crate::state::Shared;

/// The `snmp.*` properties as given; checked when the server starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnmpSettings {
    values: BTreeMap<String, String>,
}

impl SnmpSettings {
    /// Keeps one `snmp.*` property; `false` for other names.
    pub fn apply_property(&mut self, name: &str, value: &str) -> bool {
        if !name.starts_with("snmp.") {
            return false;
        }
        self.values.insert(name.to_string(), value.to_string());
        true
    }

    /// `snmp.ifname=yes`: poll agents and fill the engine's names.
    pub fn enabled(&self) -> bool {
        self.values
            .get("snmp.ifname")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "on"))
    }

    fn invalid(name: &str, value: &str, expected: &'static str) -> PropertyError {
        PropertyError::Invalid {
            name: name.to_string(),
            value: value.to_string(),
            expected,
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        expected: &'static str,
    ) -> Result<Option<T>, PropertyError> {
        self.values
            .get(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Self::invalid(name, v, expected))
            })
            .transpose()
    }

    /// Credentials and port from the settings under `prefix` (`snmp.` or `snmp.range.<name>.`).
    fn credentials(&self, prefix: &str) -> Result<(Credentials, Option<u16>), PropertyError> {
        let get = |setting: &str| {
            self.values
                .get(&format!("{prefix}{setting}"))
                .map(String::as_str)
        };
        let name = |setting: &str| format!("{prefix}{setting}");
        let port = self.number(&name("port"), "a UDP port")?;
        let version = get("version").unwrap_or(if get("user").is_some() { "3" } else { "2c" });
        let credentials = match version {
            "2c" | "2" | "v2c" => Credentials::V2c {
                community: get("community").unwrap_or("public").to_string(),
            },
            "3" | "v3" => {
                let user = get("user")
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| Self::invalid(&name("user"), "", "an SNMPv3 user name"))?;
                let auth = match get("authpasswd").filter(|p| !p.is_empty()) {
                    None => None,
                    Some(password) => {
                        let text = get("authprotocol").unwrap_or("SHA");
                        let protocol = AuthProtocol::parse(text).ok_or_else(|| {
                            Self::invalid(
                                &name("authprotocol"),
                                text,
                                "MD5, SHA, SHA224, SHA256, SHA384 or SHA512",
                            )
                        })?;
                        Some((protocol, password.to_string()))
                    }
                };
                let privacy = match get("privpasswd").filter(|p| !p.is_empty()) {
                    None => None,
                    Some(password) => {
                        let text = get("privprotocol").unwrap_or("AES");
                        let protocol = PrivProtocol::parse(text).ok_or_else(|| {
                            Self::invalid(&name("privprotocol"), text, "DES, AES, AES192 or AES256")
                        })?;
                        if auth.is_none() {
                            return Err(Self::invalid(
                                &name("privpasswd"),
                                "(set)",
                                "privacy together with authentication (authpasswd)",
                            ));
                        }
                        Some((protocol, password.to_string()))
                    }
                };
                Credentials::V3 {
                    user: user.to_string(),
                    auth,
                    privacy,
                    context: get("context").unwrap_or_default().to_string(),
                }
            }
            other => return Err(Self::invalid(&name("version"), other, "2c or 3")),
        };
        Ok((credentials, port))
    }

    /// The poller's configuration; `None` unless `snmp.ifname=yes`.
    pub fn poller_config(&self) -> Result<Option<SnmpConfig>, PropertyError> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut config = SnmpConfig::default();
        let (default, port) = self.credentials("snmp.")?;
        config.default = default;
        config.default_port = port.unwrap_or(161);
        if let Some(ms) = self.number::<u64>("snmp.timeout.ms", "milliseconds")? {
            config.timeout = Duration::from_millis(ms.clamp(10, 60_000));
        }
        if let Some(retries) = self.number("snmp.retries", "a number of retries")? {
            config.retries = retries;
        }
        if let Some(seconds) = self.number::<u64>("snmp.refresh.seconds", "seconds")? {
            config.refresh = Duration::from_secs(seconds.max(1));
            config.idle = config.idle.max(config.refresh * 2);
        }
        let ranges: Vec<&str> = self
            .values
            .keys()
            .filter_map(|k| k.strip_prefix("snmp.range.")?.strip_suffix(".cidr"))
            .collect();
        for range in ranges {
            let prefix = format!("snmp.range.{range}.");
            let (credentials, port) = self.credentials(&prefix)?;
            let cidr_name = format!("{prefix}cidr");
            let cidrs = self
                .values
                .get(&cidr_name)
                .map(String::as_str)
                .unwrap_or_default();
            for cidr in cidrs.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let parsed = cidr
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Self::invalid(
                            &cidr_name,
                            cidr,
                            "address prefixes like 10.0.0.0/8,2001:db8::/32",
                        )
                    })?;
                config.ranges.push(RangeCredentials {
                    range: parsed,
                    credentials: credentials.clone(),
                    port: port.unwrap_or(config.default_port),
                });
            }
        }
        Ok(Some(config))
    }
}

/// Starts the poller when `snmp.ifname=yes`.
pub(crate) fn start_poller(
    settings: &SnmpSettings,
) -> Result<Option<Arc<SnmpPoller>>, ServerError> {
    let Some(config) = settings.poller_config().map_err(ServerError::Snmp)? else {
        return Ok(None);
    };
    tracing::info!(
        "SNMP names: polling agents ({} address ranges with their own credentials)",
        config.ranges.len()
    );
    SnmpPoller::start(config)
        .map(|p| Some(Arc::new(p)))
        .map_err(ServerError::Thread)
}

/// History rows' names from the SNMP cache (never blocking: unknown agents are queued for polling).
#[derive(Debug)]
pub(crate) struct SnmpEnricher(pub Arc<SnmpPoller>);

impl Enricher for SnmpEnricher {
    fn exporter_name(&self, agent: IpAddr) -> Option<Arc<str>> {
        self.0.agent(agent)?.sys_name.clone()
    }

    fn interface(&self, agent: IpAddr, if_index: u32) -> Option<InterfaceNames> {
        let names = self.0.agent(agent)?;
        let interface = names.interfaces.get(&if_index)?;
        Some(InterfaceNames {
            name: interface.name.clone(),
            description: interface.description.clone(),
            speed_mbps: interface.speed_mbps,
        })
    }
}

/// How often the engine's names are refreshed from the SNMP cache.
const SYNC_INTERVAL: Duration = Duration::from_secs(2);
/// How often the sync thread looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Starts the thread that asks SNMP about every agent the engine knows and writes the names it has into the
/// engine (`host_name`, `ifname`), taking the engine lock once per round, briefly.
pub(crate) fn spawn_engine_names(
    shared: Arc<Shared>,
    poller: Arc<SnmpPoller>,
) -> Result<JoinHandle<()>, ServerError> {
    std::thread::Builder::new()
        .name("snmp-names".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !shared.is_shutting_down() {
                if Instant::now() >= next {
                    sync_names(&shared, &poller);
                    next = Instant::now() + SYNC_INTERVAL;
                }
                std::thread::sleep(SHUTDOWN_POLL);
            }
        })
        .map_err(ServerError::Thread)
}

/// One round: SNMP lookups outside the engine lock, then every write under one lock.
pub(crate) fn sync_names(shared: &Shared, poller: &SnmpPoller) -> usize {
    let sources = shared.engine.write().interface_sources();
    let mut updates = Vec::new();
    for (agent, indexes) in sources {
        let Some(names) = poller.agent(agent) else {
            continue;
        };
        let interfaces: Vec<(u32, Arc<str>)> = indexes
            .iter()
            .filter_map(|i| names.interfaces.get(i).map(|n| (*i, n.name.clone())))
            .collect();
        updates.push((agent, names.sys_name.clone(), interfaces));
    }
    if updates.is_empty() {
        return 0;
    }
    let now = shared.clock.now();
    let mut engine = shared.engine.write();
    updates
        .iter()
        .map(|(agent, host, interfaces)| {
            let interfaces: Vec<(u32, &str)> = interfaces.iter().map(|(i, n)| (*i, &**n)).collect();
            engine.set_external_names(now, *agent, host.as_deref(), &interfaces)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> SnmpSettings {
        let mut s = SnmpSettings::default();
        for (k, v) in pairs {
            assert!(s.apply_property(k, v));
        }
        s
    }

    #[test]
    fn off_unless_ifname_is_yes() {
        assert_eq!(
            settings(&[("snmp.community", "x")]).poller_config(),
            Ok(None)
        );
        assert!(
            settings(&[("snmp.ifname", "yes")])
                .poller_config()
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn sflow_rt_properties_and_ranges_make_credentials() {
        let config = settings(&[
            ("snmp.ifname", "yes"),
            ("snmp.version", "2c"),
            ("snmp.community", "site"),
            ("snmp.range.core.cidr", "10.0.0.0/8, 2001:db8::/32"),
            ("snmp.range.core.user", "rtflow"),
            ("snmp.range.core.authprotocol", "SHA256"),
            ("snmp.range.core.authpasswd", "secret1"),
            ("snmp.range.core.privprotocol", "AES256"),
            ("snmp.range.core.privpasswd", "secret2"),
            ("snmp.range.lab.cidr", "192.0.2.7"),
            ("snmp.range.lab.port", "1161"),
            ("snmp.timeout.ms", "250"),
        ])
        .poller_config()
        .unwrap()
        .unwrap();
        assert_eq!(
            config.default,
            Credentials::V2c {
                community: "site".into()
            }
        );
        assert_eq!(config.timeout, Duration::from_millis(250));
        assert_eq!(config.ranges.len(), 3);
        let (core, port) = config.for_agent("2001:db8::1".parse().unwrap());
        assert_eq!(port, 161);
        assert_eq!(
            core,
            &Credentials::V3 {
                user: "rtflow".into(),
                auth: Some((AuthProtocol::Sha256, "secret1".into())),
                privacy: Some((PrivProtocol::Aes256, "secret2".into())),
                context: String::new(),
            }
        );
        let (lab, port) = config.for_agent("192.0.2.7".parse().unwrap());
        assert_eq!(port, 1161);
        assert_eq!(
            lab,
            &Credentials::V2c {
                community: "public".into()
            }
        );
    }

    #[test]
    fn bad_settings_name_the_property() {
        let err = settings(&[("snmp.ifname", "yes"), ("snmp.version", "3")])
            .poller_config()
            .unwrap_err();
        assert!(err.to_string().contains("snmp.user"), "{err}");
        let err = settings(&[("snmp.ifname", "yes"), ("snmp.range.x.cidr", "10.0.0.0/33")])
            .poller_config()
            .unwrap_err();
        assert!(err.to_string().contains("snmp.range.x.cidr"), "{err}");
        let err = settings(&[
            ("snmp.ifname", "yes"),
            ("snmp.user", "u"),
            ("snmp.authpasswd", "p"),
            ("snmp.authprotocol", "SHA3"),
        ])
        .poller_config()
        .unwrap_err();
        assert!(err.to_string().contains("snmp.authprotocol"), "{err}");
    }
}
