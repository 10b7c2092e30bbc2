//! The MAC → host table behind `host:<mackey>:<attr>`: learned from host sFlow counter samples, where
//! `host_adapters` (0:2001) lists a host's MACs and `host_descr` (0:2000) of the same data source names it.
//!
//! Bounded: entries not refreshed within a timeout are expired by the engine's tick, and no new MAC is
//! added once the table holds its maximum.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use foldhash::HashMap as FastMap;

use crate::Millis;

/// The host attribute selected by `host:<mackey>:<attr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAttribute {
    HostName,
    MachineType,
    OsName,
    Uuid,
    OsRelease,
}

impl HostAttribute {
    pub const ALL: [HostAttribute; 5] = [
        HostAttribute::HostName,
        HostAttribute::MachineType,
        HostAttribute::OsName,
        HostAttribute::Uuid,
        HostAttribute::OsRelease,
    ];

    /// The sFlow-RT name, which is also the counter metric name carrying the value.
    pub const fn as_str(self) -> &'static str {
        match self {
            HostAttribute::HostName => "host_name",
            HostAttribute::MachineType => "machine_type",
            HostAttribute::OsName => "os_name",
            HostAttribute::Uuid => "uuid",
            HostAttribute::OsRelease => "os_release",
        }
    }

    pub fn parse(text: &str) -> Option<HostAttribute> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// What `host_descr` says about a host; absent fields stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostIdentity {
    /// `host_name`: the host's name as its agent reports it.
    pub host_name: Option<Arc<str>>,
    /// `machine_type`: the processor architecture (`x86_64`, `arm64`…).
    pub machine_type: Option<Arc<str>>,
    /// `os_name`: the operating system (`linux`, `windows`…).
    pub os_name: Option<Arc<str>>,
    /// `uuid`: the host's UUID.
    pub uuid: Option<Arc<str>>,
    /// `os_release`: the operating system's release.
    pub os_release: Option<Arc<str>>,
}

impl HostIdentity {
    /// Collects the attributes from `(metric name, text)` lookups, e.g. a data source's counter metrics.
    pub fn from_lookup<'a>(mut text: impl FnMut(&'static str) -> Option<&'a Arc<str>>) -> Self {
        let mut field = |attribute: HostAttribute| text(attribute.as_str()).cloned();
        Self {
            host_name: field(HostAttribute::HostName),
            machine_type: field(HostAttribute::MachineType),
            os_name: field(HostAttribute::OsName),
            uuid: field(HostAttribute::Uuid),
            os_release: field(HostAttribute::OsRelease),
        }
    }

    /// The value of one attribute, when known.
    pub fn attribute(&self, attribute: HostAttribute) -> Option<&str> {
        let value = match attribute {
            HostAttribute::HostName => &self.host_name,
            HostAttribute::MachineType => &self.machine_type,
            HostAttribute::OsName => &self.os_name,
            HostAttribute::Uuid => &self.uuid,
            HostAttribute::OsRelease => &self.os_release,
        };
        value.as_deref()
    }

    /// Whether no attribute is known.
    pub fn is_empty(&self) -> bool {
        HostAttribute::ALL
            .into_iter()
            .all(|a| self.attribute(a).is_none())
    }
}

#[derive(Debug, Clone)]
struct HostEntry {
    identity: Arc<HostIdentity>,
    refreshed: Millis,
}

/// Hosts by the MACs of their adapters.
#[derive(Debug, Clone, Default)]
pub struct HostTable {
    by_mac: FastMap<[u8; 6], HostEntry>,
}

impl HostTable {
    /// Records that `macs` belong to the host `identity` at `now`. Known MACs are refreshed (and re-assigned
    /// if the host changed); new ones are added while fewer than `max_entries` are held. Returns how many MACs
    /// were not added because the table is full. All-zero MACs and empty identities are ignored.
    pub fn learn(
        &mut self,
        now: Millis,
        macs: &[[u8; 6]],
        identity: HostIdentity,
        max_entries: usize,
    ) -> usize {
        if identity.is_empty() {
            return 0;
        }
        // Share one allocation among the host's MACs, and keep the existing one when nothing changed.
        let shared = macs
            .iter()
            .find_map(|mac| self.by_mac.get(mac))
            .map(|entry| entry.identity.clone())
            .filter(|known| **known == identity)
            .unwrap_or_else(|| Arc::new(identity));
        let mut refused = 0;
        for mac in macs.iter().filter(|mac| **mac != [0; 6]) {
            let held = self.by_mac.len();
            match self.by_mac.entry(*mac) {
                Entry::Occupied(mut entry) => {
                    let entry = entry.get_mut();
                    entry.identity = shared.clone();
                    entry.refreshed = now;
                }
                Entry::Vacant(_) if held >= max_entries => refused += 1,
                Entry::Vacant(entry) => {
                    entry.insert(HostEntry {
                        identity: shared.clone(),
                        refreshed: now,
                    });
                }
            }
        }
        refused
    }

    /// Forgets MACs not refreshed since `cutoff`.
    pub fn expire(&mut self, cutoff: Millis) {
        self.by_mac.retain(|_, entry| entry.refreshed >= cutoff);
    }

    /// The host owning `mac`.
    pub fn identity(&self, mac: &[u8; 6]) -> Option<&HostIdentity> {
        self.by_mac.get(mac).map(|entry| &*entry.identity)
    }

    pub fn len(&self) -> usize {
        self.by_mac.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_mac.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_A: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    const MAC_B: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

    fn named(host: &str) -> HostIdentity {
        HostIdentity {
            host_name: Some(host.into()),
            os_name: Some("linux".into()),
            ..HostIdentity::default()
        }
    }

    #[test]
    fn attribute_names_round_trip() {
        for attribute in HostAttribute::ALL {
            assert_eq!(HostAttribute::parse(attribute.as_str()), Some(attribute));
        }
        assert_eq!(HostAttribute::parse("hostname"), None);
    }

    #[test]
    fn learns_refreshes_and_expires() {
        let mut table = HostTable::default();
        assert_eq!(
            table.learn(1_000, &[MAC_A, MAC_B, [0; 6]], named("web1"), 10),
            0
        );
        assert_eq!(table.len(), 2, "the all-zero MAC is not learned");
        let host = table.identity(&MAC_B);
        assert_eq!(
            host.and_then(|h| h.attribute(HostAttribute::HostName)),
            Some("web1")
        );
        assert_eq!(host.and_then(|h| h.attribute(HostAttribute::Uuid)), None);
        // MAC_B moves to another host; MAC_A is not refreshed.
        table.learn(5_000, &[MAC_B], named("web2"), 10);
        table.expire(2_000);
        assert!(table.identity(&MAC_A).is_none());
        assert_eq!(
            table
                .identity(&MAC_B)
                .and_then(|h| h.attribute(HostAttribute::HostName)),
            Some("web2")
        );
    }

    #[test]
    fn bounded_and_ignores_empty_identities() {
        let mut table = HostTable::default();
        assert_eq!(table.learn(1, &[MAC_A], HostIdentity::default(), 10), 0);
        assert!(table.is_empty());
        assert_eq!(table.learn(1, &[MAC_A, MAC_B], named("h"), 1), 1);
        assert_eq!(table.len(), 1);
        // A known MAC is still refreshed when the table is full.
        assert_eq!(table.learn(9, &[MAC_A], named("h"), 1), 0);
        table.expire(5);
        assert!(table.identity(&MAC_A).is_some());
    }

    #[test]
    fn identity_from_metric_lookup() {
        let values: [(&str, Arc<str>); 3] = [
            ("host_name", "db1".into()),
            ("uuid", "0011".into()),
            ("load_one", "ignored".into()),
        ];
        let identity = HostIdentity::from_lookup(|name| {
            values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
        });
        assert_eq!(identity.attribute(HostAttribute::HostName), Some("db1"));
        assert_eq!(identity.attribute(HostAttribute::Uuid), Some("0011"));
        assert_eq!(identity.attribute(HostAttribute::OsRelease), None);
    }
}
