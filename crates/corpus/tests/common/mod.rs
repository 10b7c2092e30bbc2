//! The inventory of what a set of captures exercises in the decoders.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;

use rtflow_sflow::{Address, Datagram, DecodeError, FlowRecord, FlowSampleInfo, Interface, Sample};

/// Everything a capture exercises: sample and record types, agent address families, interface
/// encodings, sampled-header protocols and the protocol layers found in those headers.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub items: BTreeSet<String>,
}

impl Inventory {
    fn add(&mut self, item: String) {
        self.items.insert(item);
    }

    /// Adds what every UDP payload of the capture at `path` exercises.
    pub(crate) fn add_capture(&mut self, path: &Path) {
        let mut reader =
            rtflow_capture::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        while let Some(d) = reader
            .next_datagram()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            self.add_datagram(d.payload);
        }
        self.add(format!("capture format {:?}", reader.format()));
    }

    pub(crate) fn add_datagram(&mut self, payload: &[u8]) {
        let datagram = match Datagram::decode(payload) {
            Ok(d) => d,
            Err(DecodeError::NotSflowV5 { .. }) => return self.add("not sFlow v5".into()),
            Err(_) => return self.add("malformed datagram".into()),
        };
        self.add(match datagram.header.agent {
            Address::V4(_) => "agent IPv4".into(),
            Address::V6(_) => "agent IPv6".into(),
            Address::Unknown => "agent unknown".into(),
        });
        for sample in datagram.samples() {
            let Ok(sample) = sample else {
                self.add("malformed sample".into());
                break;
            };
            self.add(format!("sample {}", sample.tag()));
            match sample {
                Sample::Flow(s) => {
                    self.add_interfaces(&s.info);
                    for record in s.records() {
                        self.add_flow_record("flow", record);
                    }
                }
                Sample::Discard(s) => {
                    for record in s.records() {
                        self.add_flow_record("discard", record);
                    }
                }
                Sample::Counter(s) => {
                    for record in s.records() {
                        match record {
                            Ok(r) => self.add(format!("counter record {}", r.tag())),
                            Err(_) => self.add("malformed counter record".into()),
                        }
                    }
                }
                Sample::Unknown(_) => {}
            }
        }
    }

    fn add_interfaces(&mut self, info: &FlowSampleInfo) {
        for (side, interface) in [("input", info.input), ("output", info.output)] {
            self.add(format!("{side} interface {}", interface_kind(interface)));
        }
    }

    fn add_flow_record(&mut self, sample: &str, record: Result<FlowRecord<'_>, DecodeError>) {
        let Ok(record) = record else {
            return self.add(format!("malformed {sample} record"));
        };
        self.add(format!("{sample} record {}", record.tag()));
        if let FlowRecord::SampledHeader(h) = record {
            self.add(format!("header protocol {}", h.protocol));
            let fields = rtflow_packet::decode(h.protocol, h.header);
            for proto in fields.stack.as_slice() {
                self.add(format!("header layer {proto}"));
            }
        }
    }

    /// What `self` has that `other` lacks.
    pub(crate) fn missing_from(&self, other: &Inventory) -> Vec<String> {
        self.items.difference(&other.items).cloned().collect()
    }
}

fn interface_kind(interface: Interface) -> &'static str {
    match (interface.format, interface.value) {
        (0, 0x3fff_ffff) => "local",
        (0, 0) => "unknown",
        (0, _) => "ifIndex",
        (1, _) => "discarded",
        (2, 0) => "multiple (count unknown)",
        (2, _) => "multiple",
        _ => "other format",
    }
}
