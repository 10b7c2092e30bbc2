//! Scenario files (TOML or YAML): the fabric, sampling, hosts, background traffic and scheduled events.
//!
//! Every key has a default, so an empty file is the default fabric with no events. Unknown keys are
//! errors, so a typo does not silently run a different scenario. `scenarios/README.md` documents
//! each key; `scenarios/leaf-spine.toml` is the default scenario, embedded in the binary.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::units::Quantity;

/// The default scenario (`scenarios/leaf-spine.toml`), embedded at build time.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../scenarios/leaf-spine.toml");

/// A parsed and checked scenario.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Short name, shown in logs.
    pub name: String,
    /// One line describing what happens.
    pub description: String,
    /// Simulated seconds to run; 0 = until stopped.
    pub duration: f64,
    /// When > 0, the events repeat every `cycle` seconds.
    pub cycle: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// The switches, their ports and addresses.
    pub fabric: FabricConfig,
    /// How switch ports sample and export.
    pub sampling: SamplingConfig,
    /// The Linux hosts behind the leaf ports.
    pub hosts: HostsConfig,
    /// Background traffic.
    pub traffic: TrafficConfig,
    /// Scheduled events.
    pub events: Vec<Event>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "custom".into(),
            description: String::new(),
            duration: 0.0,
            cycle: 0.0,
            seed: 1,
            fabric: FabricConfig::default(),
            sampling: SamplingConfig::default(),
            hosts: HostsConfig::default(),
            traffic: TrafficConfig::default(),
            events: Vec::new(),
        }
    }
}

/// `[fabric]`: a leaf-and-spine fabric (with `spines = 0` and `leaves = 1`, a single switch).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FabricConfig {
    /// Number of spine switches (0 for a single leaf).
    pub spines: u32,
    /// Number of leaf switches; the last one is the border leaf.
    pub leaves: u32,
    /// Hosts behind each leaf (ports swp1..).
    pub hosts_per_leaf: u32,
    /// Speed of the leaf ports facing hosts, bits/s.
    pub host_port_speed: Quantity,
    /// Speed of leaf-spine links, bits/s.
    pub uplink_speed: Quantity,
    /// Speed of the border leaf's Internet port, bits/s; 0 = no Internet port.
    pub internet_port_speed: Quantity,
    /// Switch agent addresses: leaves from `.1`, spines from `.101`.
    pub agent_network: String,
    /// Host addresses: `<a.b>.<leaf>.<10 + n>`; a /16 or larger.
    pub host_network: String,
    /// Where Internet clients and resolvers come from.
    pub internet_network: String,
}

impl Default for FabricConfig {
    fn default() -> Self {
        Self {
            spines: 2,
            leaves: 4,
            hosts_per_leaf: 4,
            host_port_speed: Quantity(10e9),
            uplink_speed: Quantity(40e9),
            internet_port_speed: Quantity(10e9),
            agent_network: "10.0.0.0/24".into(),
            host_network: "10.1.0.0/16".into(),
            internet_network: "198.18.0.0/15".into(),
        }
    }
}

/// `[sampling]`: packet sampling and counter polling of the switches.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// 1-in-N on leaf ports facing hosts.
    pub host_port: u32,
    /// 1-in-N on leaf-spine ports (both ends).
    pub uplink: u32,
    /// 1-in-N on the Internet port.
    pub internet: u32,
    /// Bytes of each sampled packet in the sampled header record.
    pub header_bytes: u32,
    /// Seconds between counter samples of a port.
    pub polling_interval: f64,
    /// Flow samples per second one switch can export (0 = unlimited).
    pub max_samples_per_second: u32,
    /// Largest datagram (UDP payload) in bytes.
    pub datagram_size: u32,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            host_port: 1000,
            uplink: 4000,
            internet: 4000,
            header_bytes: 128,
            polling_interval: 20.0,
            max_samples_per_second: 0,
            datagram_size: 1400,
        }
    }
}

/// `[hosts]`: the Linux servers.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostsConfig {
    /// Whether the hosts export host sFlow as hsflowd does.
    pub hsflowd: bool,
    /// Seconds between their counter samples.
    pub polling_interval: f64,
    /// Kernel release reported in host_descr.
    pub os_release: String,
}

impl Default for HostsConfig {
    fn default() -> Self {
        Self {
            hsflowd: true,
            polling_interval: 20.0,
            os_release: "6.1.0-28-amd64".into(),
        }
    }
}

/// `[traffic]`: mice and steady flows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficConfig {
    /// New short flows per second.
    pub mice_per_second: f64,
    /// Median transfer size in bytes.
    pub mice_median_bytes: Quantity,
    /// Largest transfer in bytes.
    pub mice_max_bytes: Quantity,
    /// Highest rate of one mouse, bits/s.
    pub mice_max_rate: Quantity,
    /// Share (0..1) of web mice whose client is on the Internet.
    pub internet_share: f64,
    /// Number of long-lived flows.
    pub steady_flows: u32,
    /// Their typical rate, bits/s.
    pub steady_rate: Quantity,
    /// Most concurrent flows kept.
    pub max_active_flows: u32,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            mice_per_second: 400.0,
            mice_median_bytes: Quantity(20e3),
            mice_max_bytes: Quantity(20e6),
            mice_max_rate: Quantity(800e6),
            internet_share: 0.2,
            steady_flows: 6,
            steady_rate: Quantity(300e6),
            max_active_flows: 20_000,
        }
    }
}

/// Transport protocol of an elephant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP: data one way, ACKs back.
    #[default]
    Tcp,
    /// UDP: one way only.
    Udp,
}

/// One `[[events]]` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A long, fast transfer between two endpoints.
    Elephant {
        /// Start, seconds from the start of the run (or of the cycle).
        at: f64,
        /// Seconds it lasts; absent = to the end (of the run or cycle).
        duration: Option<f64>,
        /// Source host name, or `"internet"`.
        src: String,
        /// Destination host name, or `"internet"`.
        dst: String,
        /// Bits/s.
        rate: Quantity,
        /// `tcp` (default) or `udp`.
        #[serde(default)]
        protocol: Protocol,
        /// Destination port (default 5001).
        dst_port: Option<u16>,
        /// Source port (default: an ephemeral port).
        src_port: Option<u16>,
    },
    /// DNS responses from many spoofed-to resolvers on the Internet to one host.
    DnsAmplification {
        /// Start, seconds.
        at: f64,
        /// Seconds it lasts; absent = to the end.
        duration: Option<f64>,
        /// Victim host name.
        target: String,
        /// Number of resolvers (distinct source addresses).
        #[serde(default = "default_sources")]
        sources: u32,
        /// Bits/s arriving at the victim.
        rate: Quantity,
    },
    /// A leaf-spine link going down (and up again after `duration`).
    LinkDown {
        /// When it fails, seconds.
        at: f64,
        /// Seconds until it is restored; absent = stays down.
        duration: Option<f64>,
        /// Link name as in the topology, e.g. `leaf1-spine2`.
        link: String,
    },
}

fn default_sources() -> u32 {
    200
}

impl Event {
    /// Start time in seconds.
    pub fn at(&self) -> f64 {
        match self {
            Event::Elephant { at, .. }
            | Event::DnsAmplification { at, .. }
            | Event::LinkDown { at, .. } => *at,
        }
    }

    /// Duration in seconds, if bounded.
    pub fn duration(&self) -> Option<f64> {
        match self {
            Event::Elephant { duration, .. }
            | Event::DnsAmplification { duration, .. }
            | Event::LinkDown { duration, .. } => *duration,
        }
    }

    /// The `kind` as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Elephant { .. } => "elephant",
            Event::DnsAmplification { .. } => "dns_amplification",
            Event::LinkDown { .. } => "link_down",
        }
    }
}

/// A YAML line holding nothing: blank, a comment, or a document marker.
fn yaml_blank(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
}

/// Most switches and hosts a fabric may have (port names and addresses stay meaningful).
pub(crate) const MAX_SPINES: u32 = 16;
pub(crate) const MAX_LEAVES: u32 = 64;
pub(crate) const MAX_HOSTS_PER_LEAF: u32 = 48;
/// Most resolvers of one attack.
pub(crate) const MAX_ATTACK_SOURCES: u32 = 5000;

/// The language a scenario file is written in: the same keys either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioFormat {
    /// TOML, as the shipped scenarios.
    Toml,
    /// YAML: `events` is a list of mappings, each with its `kind`.
    Yaml,
}

impl ScenarioFormat {
    /// By the file name: `.yaml` and `.yml` are YAML, anything else TOML.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => {
                ScenarioFormat::Yaml
            }
            _ => ScenarioFormat::Toml,
        }
    }
}

impl Scenario {
    /// Parses and checks a scenario file's text. `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<Self, ScenarioError> {
        Self::parse(origin, text, ScenarioFormat::Toml)
    }

    /// Parses and checks a YAML scenario (the keys of the TOML form). `origin` names it in errors.
    pub fn from_yaml(origin: &str, text: &str) -> Result<Self, ScenarioError> {
        Self::parse(origin, text, ScenarioFormat::Yaml)
    }

    /// Parses and checks a scenario file's text in `format`. `origin` names it in errors.
    pub fn parse(origin: &str, text: &str, format: ScenarioFormat) -> Result<Self, ScenarioError> {
        let parse_error = |message: String| ScenarioError::Parse {
            origin: origin.to_string(),
            message,
        };
        let scenario: Scenario = match format {
            ScenarioFormat::Toml => {
                toml::from_str(text).map_err(|err| parse_error(err.to_string()))?
            }
            // An empty (or comments-only) YAML document is null, not an empty mapping: the defaults.
            ScenarioFormat::Yaml if text.lines().all(yaml_blank) => Scenario::default(),
            ScenarioFormat::Yaml => {
                yaml_serde::from_str(text).map_err(|err| parse_error(err.to_string()))?
            }
        };
        scenario.validate(origin)?;
        Ok(scenario)
    }

    /// Checks a scenario built or changed in code (files are checked by [`Scenario::from_toml`]).
    pub fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        self.check().map_err(|message| ScenarioError::Invalid {
            origin: origin.to_string(),
            message,
        })
    }

    /// The embedded default scenario (`scenarios/leaf-spine.toml`).
    pub fn default_scenario() -> Result<Self, ScenarioError> {
        Self::from_toml("the default scenario", DEFAULT_SCENARIO)
    }

    /// Checks ranges and names that serde cannot; the message says what to fix.
    fn check(&self) -> Result<(), String> {
        let f = &self.fabric;
        let s = &self.sampling;
        let t = &self.traffic;
        positive_or_zero("duration", self.duration)?;
        positive_or_zero("cycle", self.cycle)?;
        if f.leaves == 0 || f.leaves > MAX_LEAVES {
            return Err(format!("fabric.leaves must be 1..={MAX_LEAVES}"));
        }
        if f.spines > MAX_SPINES {
            return Err(format!("fabric.spines must be 0..={MAX_SPINES}"));
        }
        if f.spines == 0 && f.leaves != 1 {
            return Err("fabric.spines = 0 needs fabric.leaves = 1 (a single switch)".into());
        }
        if f.hosts_per_leaf > MAX_HOSTS_PER_LEAF {
            return Err(format!(
                "fabric.hosts_per_leaf must be 0..={MAX_HOSTS_PER_LEAF}"
            ));
        }
        for (name, speed) in [
            ("fabric.host_port_speed", f.host_port_speed),
            ("fabric.uplink_speed", f.uplink_speed),
        ] {
            if speed.0 < 1e6 {
                return Err(format!("{name} must be at least 1M (bits/s)"));
            }
        }
        parse_network(&f.agent_network, 24).map_err(|e| format!("fabric.agent_network: {e}"))?;
        parse_network(&f.host_network, 16).map_err(|e| format!("fabric.host_network: {e}"))?;
        parse_network(&f.internet_network, 16)
            .map_err(|e| format!("fabric.internet_network: {e}"))?;
        for (name, rate) in [
            ("sampling.host_port", s.host_port),
            ("sampling.uplink", s.uplink),
            ("sampling.internet", s.internet),
        ] {
            if rate == 0 {
                return Err(format!("{name} must be at least 1 (1-in-N sampling)"));
            }
        }
        if !(14..=256).contains(&s.header_bytes) {
            return Err("sampling.header_bytes must be 14..=256".into());
        }
        if !(s.polling_interval >= 1.0 && s.polling_interval <= 3600.0) {
            return Err("sampling.polling_interval must be 1..=3600 seconds".into());
        }
        if !(self.hosts.polling_interval >= 1.0 && self.hosts.polling_interval <= 3600.0) {
            return Err("hosts.polling_interval must be 1..=3600 seconds".into());
        }
        if !(576..=65_000).contains(&s.datagram_size) {
            return Err("sampling.datagram_size must be 576..=65000 bytes".into());
        }
        if !(t.mice_per_second >= 0.0 && t.mice_per_second <= 1e6) {
            return Err("traffic.mice_per_second must be 0..=1000000".into());
        }
        if !(0.0..=1.0).contains(&t.internet_share) {
            return Err("traffic.internet_share must be between 0 and 1".into());
        }
        if t.mice_median_bytes.0 < 1.0 || t.mice_max_bytes.0 < t.mice_median_bytes.0 {
            return Err("traffic.mice_median_bytes must be >= 1 and <= mice_max_bytes".into());
        }
        if t.mice_max_rate.0 < 1e3 {
            return Err("traffic.mice_max_rate must be at least 1k (bits/s)".into());
        }
        if t.max_active_flows == 0 || t.max_active_flows > 1_000_000 {
            return Err("traffic.max_active_flows must be 1..=1000000".into());
        }
        if t.steady_flows > 1000 {
            return Err("traffic.steady_flows must be 0..=1000".into());
        }
        let hosts = f.leaves * f.hosts_per_leaf;
        if (t.mice_per_second > 0.0 || t.steady_flows > 0) && hosts < 2 {
            return Err("traffic needs at least 2 hosts (fabric.hosts_per_leaf)".into());
        }
        for (i, event) in self.events.iter().enumerate() {
            self.check_event(event)
                .map_err(|e| format!("events[{i}] ({}): {e}", event.kind()))?;
        }
        Ok(())
    }

    fn check_event(&self, event: &Event) -> Result<(), String> {
        positive_or_zero("at", event.at())?;
        if let Some(d) = event.duration() {
            if !(d.is_finite() && d > 0.0) {
                return Err("duration must be a positive number of seconds".into());
            }
            if self.cycle > 0.0 && event.at() + d > self.cycle {
                return Err(format!(
                    "at + duration ({}) passes the cycle ({} s)",
                    event.at() + d,
                    self.cycle
                ));
            }
        }
        if self.cycle > 0.0 && event.at() >= self.cycle {
            return Err(format!(
                "at must be before the cycle ends ({} s)",
                self.cycle
            ));
        }
        match event {
            Event::Elephant { src, dst, rate, .. } => {
                for (what, name) in [("src", src), ("dst", dst)] {
                    if !self.is_endpoint(name) {
                        return Err(format!(
                            "{what} {name:?} is neither a host (h<leaf>-<n>) nor \"internet\""
                        ));
                    }
                }
                if src == dst {
                    return Err("src and dst are the same".into());
                }
                if name_is_internet(src) && name_is_internet(dst) {
                    return Err("src and dst cannot both be the Internet".into());
                }
                positive_rate(*rate)
            }
            Event::DnsAmplification {
                target,
                sources,
                rate,
                ..
            } => {
                if self.host_index(target).is_none() {
                    return Err(format!("target {target:?} is not a host (h<leaf>-<n>)"));
                }
                if self.fabric.internet_port_speed.0 <= 0.0 {
                    return Err("needs an Internet port (fabric.internet_port_speed > 0)".into());
                }
                if *sources == 0 || *sources > MAX_ATTACK_SOURCES {
                    return Err(format!("sources must be 1..={MAX_ATTACK_SOURCES}"));
                }
                positive_rate(*rate)
            }
            Event::LinkDown { link, .. } => {
                if !self.link_names().any(|name| name == *link) {
                    return Err(format!(
                        "link {link:?} is not a leaf-spine link (leaf<i>-spine<j>)"
                    ));
                }
                Ok(())
            }
        }
    }

    fn is_endpoint(&self, name: &str) -> bool {
        if name_is_internet(name) {
            self.fabric.internet_port_speed.0 > 0.0
        } else {
            self.host_index(name).is_some()
        }
    }

    /// (leaf, n), both from 1, of a host named `h<leaf>-<n>` that exists in this fabric.
    pub(crate) fn host_index(&self, name: &str) -> Option<(u32, u32)> {
        let (leaf, n) = name.strip_prefix('h')?.split_once('-')?;
        let (leaf, n): (u32, u32) = (leaf.parse().ok()?, n.parse().ok()?);
        let f = &self.fabric;
        ((1..=f.leaves).contains(&leaf) && (1..=f.hosts_per_leaf).contains(&n)).then_some((leaf, n))
    }

    /// The names of the leaf-spine links, `leaf<i>-spine<j>`.
    pub(crate) fn link_names(&self) -> impl Iterator<Item = String> + '_ {
        (1..=self.fabric.leaves).flat_map(move |leaf| {
            (1..=self.fabric.spines).map(move |spine| format!("leaf{leaf}-spine{spine}"))
        })
    }
}

pub(crate) fn name_is_internet(name: &str) -> bool {
    name.eq_ignore_ascii_case("internet")
}

fn positive_or_zero(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be a number of seconds >= 0"))
    }
}

fn positive_rate(rate: Quantity) -> Result<(), String> {
    if rate.0 >= 1e3 {
        Ok(())
    } else {
        Err("rate must be at least 1k (bits/s)".into())
    }
}

/// `a.b.c.d/len` with `len <= max_len`, as (network address, prefix length).
pub(crate) fn parse_network(text: &str, max_len: u8) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not an IPv4 network (a.b.c.d/len)"))?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("{len:?} is not a prefix length"))?;
    if len > max_len {
        return Err(format!("/{len} is too small: use a /{max_len} or larger"));
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Ok((Ipv4Addr::from(u32::from(addr) & mask), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_scenario_is_valid() {
        let scenario = Scenario::default_scenario().unwrap();
        assert_eq!(scenario.name, "leaf-spine");
        assert_eq!(scenario.events.len(), 3);
        assert_eq!(scenario.events[0].at(), 30.0);
        assert_eq!(scenario.events[1].at(), 60.0);
    }

    #[test]
    fn an_empty_file_is_the_default_fabric() {
        let scenario = Scenario::from_toml("empty", "").unwrap();
        assert_eq!(scenario.fabric, FabricConfig::default());
        assert!(scenario.events.is_empty());
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        let cases = [
            ("[fabric]\nspine = 2\n", "unknown field `spine`"),
            ("[fabric]\nuplink_speed = \"fast\"\n", "k/M/G/T suffix"),
            ("[fabric]\nspines = 0\n", "a single switch"),
            ("[sampling]\nhost_port = 0\n", "sampling.host_port"),
            (
                "[[events]]\nkind = \"elephant\"\nat = 1\nsrc = \"h9-1\"\ndst = \"h1-1\"\nrate = \"1G\"\n",
                "events[0] (elephant): src \"h9-1\"",
            ),
            (
                "[[events]]\nkind = \"link_down\"\nat = 1\nlink = \"leaf1-spine7\"\n",
                "events[0] (link_down): link \"leaf1-spine7\"",
            ),
            (
                "cycle = 100\n[[events]]\nkind = \"dns_amplification\"\nat = 90\nduration = 20\ntarget = \"h1-1\"\nrate = \"1G\"\n",
                "passes the cycle",
            ),
            (
                "[[events]]\nkind = \"meteor\"\nat = 1\n",
                "unknown variant `meteor`",
            ),
            (
                "[fabric]\nhost_network = \"10.1.0.0/24\"\n",
                "use a /16 or larger",
            ),
        ];
        for (text, expected) in cases {
            let err = Scenario::from_toml("test.toml", text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(err.contains("test.toml"), "{err}");
        }
    }

    #[test]
    fn yaml_scenarios_read_as_their_toml_twins() {
        let toml = "name = \"twin\"\ncycle = 300\n[fabric]\nspines = 3\nuplink_speed = \"100G\"\n\
                    [traffic]\nmice_per_second = 50\n\
                    [[events]]\nkind = \"elephant\"\nat = 30\nsrc = \"h1-1\"\ndst = \"internet\"\nrate = \"4G\"\n\
                    protocol = \"udp\"\n\
                    [[events]]\nkind = \"link_down\"\nat = 90.5\nduration = 60\nlink = \"leaf1-spine3\"\n";
        let yaml = "# the same scenario\nname: twin\ncycle: 300\nfabric:\n  spines: 3\n  uplink_speed: 100G\n\
                    traffic: {mice_per_second: 50}\nevents:\n\
                    \x20 - {kind: elephant, at: 30, src: h1-1, dst: internet, rate: 4G, protocol: udp}\n\
                    \x20 - kind: link_down\n    at: 90.5\n    duration: 60\n    link: leaf1-spine3\n";
        let from_toml = Scenario::from_toml("twin.toml", toml).unwrap();
        let from_yaml = Scenario::from_yaml("twin.yaml", yaml).unwrap();
        assert_eq!(from_yaml, from_toml);
        assert_eq!(from_yaml.fabric.uplink_speed, Quantity(100e9));
        assert_eq!(from_yaml.events[1].at(), 90.5);
        // Empty and comment-only files are the default fabric, as in TOML.
        for empty in ["", "# nothing\n---\n"] {
            assert_eq!(
                Scenario::from_yaml("empty.yaml", empty).unwrap(),
                Scenario::default()
            );
        }
    }

    #[test]
    fn yaml_mistakes_are_reported_with_their_place() {
        let cases = [
            ("fabric:\n  spine: 2\n", "unknown field `spine`"),
            ("fabric:\n  uplink_speed: fast\n", "k/M/G/T suffix"),
            (
                "events:\n  - kind: meteor\n    at: 1\n",
                "unknown variant `meteor`",
            ),
            ("fabric: [1, 2\n", "line 1"),
            ("sampling:\n  host_port: 0\n", "sampling.host_port"),
        ];
        for (text, expected) in cases {
            let err = Scenario::from_yaml("test.yaml", text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(err.contains("test.yaml"), "{err}");
        }
    }

    #[test]
    fn the_format_follows_the_file_name() {
        assert_eq!(
            ScenarioFormat::of_path(Path::new("a/b.yaml")),
            ScenarioFormat::Yaml
        );
        assert_eq!(
            ScenarioFormat::of_path(Path::new("b.YML")),
            ScenarioFormat::Yaml
        );
        assert_eq!(
            ScenarioFormat::of_path(Path::new("b.toml")),
            ScenarioFormat::Toml
        );
        assert_eq!(
            ScenarioFormat::of_path(Path::new("scenario")),
            ScenarioFormat::Toml
        );
    }

    #[test]
    fn host_names_follow_the_fabric() {
        let scenario = Scenario::default();
        assert_eq!(scenario.host_index("h1-1"), Some((1, 1)));
        assert_eq!(scenario.host_index("h4-4"), Some((4, 4)));
        assert_eq!(scenario.host_index("h5-1"), None);
        assert_eq!(scenario.host_index("h1-0"), None);
        assert_eq!(scenario.host_index("x1-1"), None);
        assert_eq!(scenario.link_names().count(), 8);
    }
}
