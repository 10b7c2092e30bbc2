//! Lookup tables used by key functions: address groups (`group:`) and maps (`map:`), plus the engine-fed
//! tables of `link:` (topology links), `oui:` (OUI names) and `host:` (hosts by MAC).
//!
//! JSON shapes follow sFlow-RT §1.4: a group is `{"label": ["cidr or ip", …], …}`,
//! a map is `{"label": ["value", …], …}`. Labels keep their document order, which
//! decides ties (same prefix or value listed under two labels: the first wins).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use foldhash::HashMap as FastMap;
use ipnet::IpNet;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hosts::HostTable;
use super::links::LinkTable;
use super::oui::OuiTable;

/// Why a group or map was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("label '{label}': invalid CIDR or IP address '{entry}'")]
    /// An entry of a group is neither a CIDR nor an IP address (`label` and `entry` name it).
    InvalidCidr {
        /// The label the entry is under.
        label: String,
        /// The entry as given.
        entry: String,
    },
    #[error("label '{label}': entries must be strings")]
    /// An entry of `label` is not a JSON string.
    EntryNotString {
        /// The label the entry is under.
        label: String,
    },
    #[error("label '{label}': must be an array")]
    /// `label` does not hold an array of entries.
    LabelNotArray {
        /// The label.
        label: String,
    },
    #[error("must be a JSON object of label → array")]
    /// The document is not a JSON object of labels.
    NotAnObject,
    #[error("duplicate label '{label}'")]
    /// `label` appears twice in the document.
    DuplicateLabel {
        /// The label.
        label: String,
    },
}

/// Labelled lists in document order, the common JSON shape of groups and maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LabelledLists(Vec<(String, Vec<String>)>);

impl LabelledLists {
    /// The label at `index` (as stored by a group's or map's lookup table).
    fn label(&self, index: u32) -> Option<&str> {
        self.0.get(index as usize).map(|(label, _)| label.as_str())
    }

    fn labels(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .map(|(label, entries)| (label.as_str(), entries.as_slice()))
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn from_json(value: &serde_json::Value, allow_numbers: bool) -> Result<Self, LookupError> {
        let object = value.as_object().ok_or(LookupError::NotAnObject)?;
        let mut lists = Vec::with_capacity(object.len());
        for (label, entries) in object {
            let entries = entries
                .as_array()
                .ok_or_else(|| LookupError::LabelNotArray {
                    label: label.clone(),
                })?;
            let mut strings = Vec::with_capacity(entries.len());
            for entry in entries {
                match entry {
                    serde_json::Value::String(s) => strings.push(s.clone()),
                    serde_json::Value::Number(n) if allow_numbers => strings.push(n.to_string()),
                    _ => {
                        return Err(LookupError::EntryNotString {
                            label: label.clone(),
                        });
                    }
                }
            }
            lists.push((label.clone(), strings));
        }
        Ok(LabelledLists(lists))
    }
}

impl Serialize for LabelledLists {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, entries) in &self.0 {
            map.serialize_entry(label, entries)?;
        }
        map.end()
    }
}

/// Entry of a JSON array that may be a string or a number (maps accept `[80, 443]`).
struct StringOrNumber(String);

impl<'de> Deserialize<'de> for StringOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(StringOrNumber(s)),
            serde_json::Value::Number(n) => Ok(StringOrNumber(n.to_string())),
            _ => Err(de::Error::custom("entries must be strings")),
        }
    }
}

/// Deserializes `{label: [..]}` preserving document order (serde_json's own
/// `Map` is sorted unless the `preserve_order` feature is on).
impl<'de> Deserialize<'de> for LabelledLists {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListsVisitor;
        impl<'de> Visitor<'de> for ListsVisitor {
            type Value = LabelledLists;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label → array of strings")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<LabelledLists, A::Error> {
                let mut lists: Vec<(String, Vec<String>)> = Vec::new();
                while let Some(label) = access.next_key::<String>()? {
                    let entries: EntryList = access.next_value()?;
                    if lists.iter().any(|(existing, _)| *existing == label) {
                        return Err(de::Error::custom(LookupError::DuplicateLabel { label }));
                    }
                    lists.push((label, entries.0));
                }
                Ok(LabelledLists(lists))
            }
        }
        deserializer.deserialize_map(ListsVisitor)
    }
}

struct EntryList(Vec<String>);

impl<'de> Deserialize<'de> for EntryList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = EntryList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryList, A::Error> {
                let mut entries = Vec::new();
                while let Some(StringOrNumber(entry)) = seq.next_element()? {
                    entries.push(entry);
                }
                Ok(EntryList(entries))
            }
        }
        deserializer.deserialize_seq(EntryVisitor)
    }
}

/// An address group: CIDRs under labels, looked up by longest-prefix match.
#[derive(Debug, Clone, Default)]
pub struct AddressGroup {
    source: LabelledLists,
    v4: PrefixTable<u32>,
    v6: PrefixTable<u128>,
}

/// Exact-match hash tables per prefix length, probed from the longest length
/// present down: at most 33 (IPv4) / 129 (IPv6) probes, usually a handful.
#[derive(Debug, Clone, Default)]
struct PrefixTable<A> {
    /// (prefix length, network → label index), sorted by prefix length descending.
    by_length: Vec<(u8, FastMap<A, u32>)>,
}

trait AddressBits: Copy + Eq + std::hash::Hash {
    fn masked(self, prefix_len: u8) -> Self;
}

impl AddressBits for u32 {
    fn masked(self, prefix_len: u8) -> u32 {
        self & u32::MAX
            .checked_shl(u32::from(32 - prefix_len.min(32)))
            .unwrap_or(0)
    }
}

impl AddressBits for u128 {
    fn masked(self, prefix_len: u8) -> u128 {
        self & u128::MAX
            .checked_shl(u32::from(128 - prefix_len.min(128)))
            .unwrap_or(0)
    }
}

impl<A: AddressBits> PrefixTable<A> {
    fn insert(&mut self, network: A, prefix_len: u8, label: u32) {
        let position = match self
            .by_length
            .iter()
            .position(|(len, _)| *len <= prefix_len)
        {
            Some(i)
                if self
                    .by_length
                    .get(i)
                    .is_some_and(|(len, _)| *len == prefix_len) =>
            {
                i
            }
            Some(i) => {
                self.by_length.insert(i, (prefix_len, FastMap::default()));
                i
            }
            None => {
                self.by_length.push((prefix_len, FastMap::default()));
                self.by_length.len() - 1
            }
        };
        if let Some((_, table)) = self.by_length.get_mut(position) {
            // First label in document order wins for duplicate prefixes.
            table.entry(network.masked(prefix_len)).or_insert(label);
        }
    }

    fn lookup(&self, address: A) -> Option<u32> {
        self.by_length
            .iter()
            .find_map(|(len, table)| table.get(&address.masked(*len)).copied())
    }
}

impl AddressGroup {
    /// Builds a group from its sFlow-RT JSON object.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, LookupError> {
        Self::from_lists(LabelledLists::from_json(value, false)?)
    }

    /// Builds a group from `(label, [cidr…])` pairs; earlier labels win ties.
    pub fn from_labels<L, E, S>(labels: L) -> Result<Self, LookupError>
    where
        L: IntoIterator<Item = (S, E)>,
        E: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let lists = labels
            .into_iter()
            .map(|(label, entries)| (label.into(), entries.into_iter().map(Into::into).collect()))
            .collect();
        Self::from_lists(LabelledLists(lists))
    }

    fn from_lists(source: LabelledLists) -> Result<Self, LookupError> {
        let mut group = AddressGroup {
            source: LabelledLists::default(),
            ..Default::default()
        };
        for (index, (label, entries)) in source.0.iter().enumerate() {
            let label_index = u32::try_from(index).unwrap_or(u32::MAX);
            for entry in entries {
                let net = parse_cidr(entry.trim()).ok_or_else(|| LookupError::InvalidCidr {
                    label: label.clone(),
                    entry: entry.clone(),
                })?;
                match net {
                    IpNet::V4(v4) => {
                        group
                            .v4
                            .insert(u32::from(v4.addr()), v4.prefix_len(), label_index);
                    }
                    IpNet::V6(v6) => {
                        group
                            .v6
                            .insert(u128::from(v6.addr()), v6.prefix_len(), label_index);
                    }
                }
            }
        }
        group.source = source;
        Ok(group)
    }

    /// The label of the longest prefix containing `address`.
    pub fn lookup(&self, address: IpAddr) -> Option<&str> {
        let index = match address {
            IpAddr::V4(v4) => self.v4.lookup(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                // IPv4-mapped addresses (::ffff:a.b.c.d) match IPv4 prefixes.
                Some(v4) => self
                    .v4
                    .lookup(u32::from(v4))
                    .or_else(|| self.v6.lookup(u128::from(v6))),
                None => self.v6.lookup(u128::from(v6)),
            },
        }?;
        self.source.label(index)
    }

    /// Labels with their CIDR strings exactly as supplied.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.source.labels()
    }

    /// The JSON object this group was built from.
    pub fn to_json(&self) -> serde_json::Value {
        self.source.to_json()
    }
}

/// `10.0.0.0/8`, `10.1.2.3/8` (host bits ignored), bare `10.1.2.3`, IPv6 alike.
fn parse_cidr(text: &str) -> Option<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

impl Serialize for AddressGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.source.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AddressGroup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let lists = LabelledLists::deserialize(deserializer)?;
        AddressGroup::from_lists(lists).map_err(de::Error::custom)
    }
}

/// A map: values under labels, looked up by exact match of the whole value.
#[derive(Debug, Clone, Default)]
pub struct LookupMap {
    source: LabelledLists,
    by_value: FastMap<String, u32>,
}

impl LookupMap {
    /// Builds a map from its sFlow-RT JSON object (entries may be strings or numbers).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, LookupError> {
        Ok(Self::from_lists(LabelledLists::from_json(value, true)?))
    }

    /// Builds a map from `(label, [value…])` pairs; earlier labels win ties.
    pub fn from_labels<L, E, S>(labels: L) -> Self
    where
        L: IntoIterator<Item = (S, E)>,
        E: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let lists = labels
            .into_iter()
            .map(|(label, entries)| (label.into(), entries.into_iter().map(Into::into).collect()))
            .collect();
        Self::from_lists(LabelledLists(lists))
    }

    fn from_lists(source: LabelledLists) -> Self {
        let mut by_value = FastMap::default();
        for (index, (_, entries)) in source.0.iter().enumerate() {
            let label_index = u32::try_from(index).unwrap_or(u32::MAX);
            for entry in entries {
                by_value.entry(entry.clone()).or_insert(label_index);
            }
        }
        LookupMap { source, by_value }
    }

    /// The label listing `value`.
    pub fn lookup(&self, value: &str) -> Option<&str> {
        self.source.label(*self.by_value.get(value)?)
    }

    /// Labels with their values exactly as supplied.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.source.labels()
    }

    /// The JSON object this map was built from.
    pub fn to_json(&self) -> serde_json::Value {
        self.source.to_json()
    }
}

impl Serialize for LookupMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.source.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LookupMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LookupMap::from_lists(LabelledLists::deserialize(
            deserializer,
        )?))
    }
}

/// The tables key functions consult at evaluation time: named groups and maps for `group:` and `map:` (so a
/// PUT to `/group/{name}/json` takes effect without recompiling flows), topology links for `link:`, the OUI
/// table for `oui:` and learned hosts for `host:`.
///
/// A clone is cheap and is a snapshot of the groups, maps, links and OUI table (copied on the next write to
/// either side), while the learned hosts stay shared between clones: ingest evaluates flow definitions
/// outside the engine lock against such a snapshot and learns hosts into the one table.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    groups: Arc<HashMap<String, AddressGroup, foldhash::fast::RandomState>>,
    maps: Arc<HashMap<String, LookupMap, foldhash::fast::RandomState>>,
    links: Arc<LinkTable>,
    oui: Arc<OuiTable>,
    hosts: Arc<RwLock<HostTable>>,
}

impl Lookups {
    /// No groups, maps, links or OUI names.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a group; returns the previous one.
    pub fn set_group(
        &mut self,
        name: impl Into<String>,
        group: AddressGroup,
    ) -> Option<AddressGroup> {
        Arc::make_mut(&mut self.groups).insert(name.into(), group)
    }

    /// Removes a group; returns it if there was one.
    pub fn remove_group(&mut self, name: &str) -> Option<AddressGroup> {
        if !self.groups.contains_key(name) {
            return None;
        }
        Arc::make_mut(&mut self.groups).remove(name)
    }

    /// The group `name`, as `group:<key>:<name>` reads it.
    pub fn group(&self, name: &str) -> Option<&AddressGroup> {
        self.groups.get(name)
    }

    /// All groups (unordered).
    pub fn groups(&self) -> impl Iterator<Item = (&str, &AddressGroup)> {
        self.groups
            .iter()
            .map(|(name, group)| (name.as_str(), group))
    }

    /// Adds or replaces a map; returns the previous one.
    pub fn set_map(&mut self, name: impl Into<String>, map: LookupMap) -> Option<LookupMap> {
        Arc::make_mut(&mut self.maps).insert(name.into(), map)
    }

    /// Removes a map; returns it if there was one.
    pub fn remove_map(&mut self, name: &str) -> Option<LookupMap> {
        if !self.maps.contains_key(name) {
            return None;
        }
        Arc::make_mut(&mut self.maps).remove(name)
    }

    /// The map `name`, as `map:<key>:<name>` reads it.
    pub fn map(&self, name: &str) -> Option<&LookupMap> {
        self.maps.get(name)
    }

    /// All maps (unordered).
    pub fn maps(&self) -> impl Iterator<Item = (&str, &LookupMap)> {
        self.maps.iter().map(|(name, map)| (name.as_str(), map))
    }

    /// Replaces the (agent, ifIndex) → link table.
    pub fn set_links(&mut self, links: LinkTable) {
        self.links = Arc::new(links);
    }

    /// The (agent, ifIndex) → topology link table `link:` reads.
    pub fn links(&self) -> &LinkTable {
        &self.links
    }

    /// Replaces the OUI names table.
    pub fn set_oui_table(&mut self, table: Arc<OuiTable>) {
        self.oui = table;
    }

    /// The MAC vendor (OUI) names `oui:<key>:name` reads.
    pub fn oui_table(&self) -> &OuiTable {
        &self.oui
    }

    /// The learned hosts, for reading (shared by every clone of these lookups).
    pub fn hosts(&self) -> RwLockReadGuard<'_, HostTable> {
        self.hosts.read()
    }

    /// The learned hosts, for learning and expiry (shared by every clone of these lookups).
    pub fn hosts_mut(&self) -> RwLockWriteGuard<'_, HostTable> {
        self.hosts.write()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_across_labels() {
        let group = AddressGroup::from_json(&json!({
            "external": ["0.0.0.0/0", "::/0"],
            "private": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
            "lab": ["10.1.0.0/16"],
            "host": ["10.1.2.3"],
            "v6lab": ["2001:db8::/32"],
        }))
        .unwrap();
        assert_eq!(group.lookup(ip("10.9.9.9")), Some("private"));
        assert_eq!(group.lookup(ip("10.1.9.9")), Some("lab"));
        assert_eq!(group.lookup(ip("10.1.2.3")), Some("host"));
        assert_eq!(group.lookup(ip("172.31.255.255")), Some("private"));
        assert_eq!(group.lookup(ip("172.32.0.0")), Some("external"));
        assert_eq!(group.lookup(ip("8.8.8.8")), Some("external"));
        assert_eq!(group.lookup(ip("2001:db8::1")), Some("v6lab"));
        assert_eq!(group.lookup(ip("2001:db9::1")), Some("external"));
        assert_eq!(group.lookup(ip("::ffff:10.1.2.3")), Some("host"));
    }

    #[test]
    fn no_match_and_tie_break() {
        let group =
            AddressGroup::from_labels([("a", vec!["10.0.0.0/8"]), ("b", vec!["10.0.0.0/8"])])
                .unwrap();
        assert_eq!(group.lookup(ip("10.0.0.1")), Some("a"));
        assert_eq!(group.lookup(ip("11.0.0.1")), None);
        assert_eq!(group.lookup(ip("::1")), None);
    }

    #[test]
    fn host_bits_are_ignored() {
        let group = AddressGroup::from_labels([("x", vec!["10.1.2.3/8"])]).unwrap();
        assert_eq!(group.lookup(ip("10.200.0.1")), Some("x"));
    }

    #[test]
    fn invalid_cidr_is_named() {
        let err = AddressGroup::from_json(&json!({"ok": ["10.0.0.0/8"], "bad": ["10.0.0.0/33"]}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "label 'bad': invalid CIDR or IP address '10.0.0.0/33'"
        );
        let err = AddressGroup::from_json(&json!({"bad": "10.0.0.0/8"})).unwrap_err();
        assert_eq!(err.to_string(), "label 'bad': must be an array");
        assert_eq!(
            AddressGroup::from_json(&json!([1])).unwrap_err(),
            LookupError::NotAnObject
        );
        let err = serde_json::from_str::<AddressGroup>(r#"{"x":["nonsense"]}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid CIDR or IP address 'nonsense'"),
            "{err}"
        );
    }

    #[test]
    fn json_round_trip_keeps_document_order() {
        let text = r#"{"zeta":["10.0.0.0/8"],"alpha":["192.168.1.1","fe80::/10"]}"#;
        let group: AddressGroup = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&group).unwrap(), text);
        assert_eq!(group.lookup(ip("fe80::1")), Some("alpha"));
    }

    #[test]
    fn maps_match_whole_values() {
        let map: LookupMap =
            serde_json::from_str(r#"{"web":["80","443",8080],"dns":["53"],"dup":["80"]}"#).unwrap();
        assert_eq!(map.lookup("443"), Some("web"));
        assert_eq!(map.lookup("8080"), Some("web"));
        assert_eq!(map.lookup("80"), Some("web"));
        assert_eq!(map.lookup("53"), Some("dns"));
        assert_eq!(map.lookup("5"), None);
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"web":["80","443","8080"],"dns":["53"],"dup":["80"]}"#
        );
    }

    #[test]
    fn lookups_registry() {
        let mut lookups = Lookups::new();
        assert!(lookups.set_group("g", AddressGroup::default()).is_none());
        assert!(lookups.group("g").is_some());
        assert!(lookups.remove_group("g").is_some());
        assert!(lookups.group("g").is_none());
        lookups.set_map("m", LookupMap::from_labels([("l", vec!["v"])]));
        assert_eq!(lookups.map("m").and_then(|m| m.lookup("v")), Some("l"));
    }
}
