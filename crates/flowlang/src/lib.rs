//! The sFlow-RT flow definition language: key names, key expressions, filters,
//! value specs, flow definitions and the lookup tables they consult.
//!
//! Compile once ([`CompiledFlow::compile`]), evaluate per sample
//! ([`CompiledFlow::evaluate`]) against an [`AttributeSource`]; evaluation does
//! not allocate once the caller's key buffer has grown to its working size.

mod definition;
mod expr;
mod filter;
mod groups;
mod hosts;
mod keyname;
mod links;
mod mac;
mod oui;
mod program;
mod uri;
mod value;

use std::collections::HashMap;
use std::net::IpAddr;

pub use definition::{AggMode, CompiledFlow, DefinitionError, FlowDefinition};
pub use filter::Filter;
pub use groups::{AddressGroup, LookupError, LookupMap, Lookups};
pub use hosts::HostIdentity;
use keyname::FlowKey;
pub use keyname::KeyName;
pub use links::LinkTable;
pub use mac::parse_mac;
pub use oui::OuiTable;
pub use program::{FlowProgram, SampleMemo};
pub use value::{FlowValues, SampleValue, ValueAggregation};

/// Milliseconds since the Unix epoch (the engine's time; learned hosts are stamped with it).
pub type Millis = u64;

/// The seam between the flow language and decoded samples.
///
/// `layer` 0 is the outer headers, 1 the first tunnel-encapsulated (VXLAN, GRE,
/// Geneve) inner headers, and so on (`ipsource.1`).
pub trait AttributeSource {
    /// Appends the text form of `key` to `out` (without clearing it) and returns
    /// `true`; returns `false` when the sample does not carry the key (anything
    /// appended is discarded by the caller).
    fn write_attribute(&self, key: KeyName, layer: u8, out: &mut String) -> bool;

    /// The numeric value of `key` for value specs (`bytes` = frame length,
    /// `frames` = 1, …), or `None` when absent or not numeric.
    fn numeric_attribute(&self, key: KeyName, layer: u8) -> Option<f64>;

    /// The agent that sent the sample (for `link:`, whose ifIndex belongs to that agent); `None` when unknown.
    fn agent(&self) -> Option<IpAddr> {
        None
    }

    /// The address `key` holds, when it is an address key the sample carries: what `group:` and `mask:`
    /// would otherwise parse back from [`write_attribute`](Self::write_attribute)'s text. `None` sends them
    /// to the text.
    fn address_attribute(&self, _key: KeyName, _layer: u8) -> Option<IpAddr> {
        None
    }
}

/// A HashMap-backed [`AttributeSource`], for tests and tools. Numeric
/// attributes are parsed from the stored text.
#[derive(Debug, Clone, Default)]
pub struct MapAttributeSource {
    attributes: HashMap<(KeyName, u8), String>,
}

impl MapAttributeSource {
    /// An empty source: every key is missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (`"ipsource"`, `"ipsource.1"`); returns `false` for an unknown key name.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> bool {
        match FlowKey::parse(key) {
            Some(key) => {
                self.attributes.insert((key.name, key.layer), value.into());
                true
            }
            None => false,
        }
    }

    /// Builder form of [`set`](Self::set); unknown key names are ignored.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }
}

impl AttributeSource for MapAttributeSource {
    fn write_attribute(&self, key: KeyName, layer: u8, out: &mut String) -> bool {
        match self.attributes.get(&(key, layer)) {
            Some(value) => {
                out.push_str(value);
                true
            }
            None => false,
        }
    }

    fn numeric_attribute(&self, key: KeyName, layer: u8) -> Option<f64> {
        self.attributes.get(&(key, layer))?.trim().parse().ok()
    }

    /// The `agent` attribute, when set to an IP address.
    fn agent(&self) -> Option<IpAddr> {
        self.attributes
            .get(&(KeyName::Agent, 0))?
            .trim()
            .parse()
            .ok()
    }
}
