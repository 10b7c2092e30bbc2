//! `-L FIELD,FIELD,...`: sflowtool's custom CSV lines. Each sample gives one line holding the
//! values of the named fields in the order they were named, empty where the sample (or its
//! datagram) has no such field. Field names are the text output's names, prefixes included
//! (`discarded_srcIP`, `tunnel_ipv4_in_srcIP`); datagram fields (`agent`, `datagramSourceIP`,
//! ...) repeat on every line of their datagram. A sample that has none of the named fields
//! (only datagram fields) prints no line. Values are not quoted, as in sflowtool.

use std::collections::HashMap;
use std::sync::Arc;

use rtflow_sflow::{CounterSample, DecodeError, DiscardSample, FlowSample, LegacyFlowSample, Tag};

use crate::datagram::{DatagramInfo, DatagramSink, Payload, SampleCounts, write_payload};
use crate::out::{FieldSpan, Fields, Out};
use crate::samples::{SampleSink, walk_payload};
use crate::vlan::VlanFilter;

/// Why a `-L` field list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldListError {
    /// The list names no field at all (the text given).
    #[error("no field names in {0:?} (expected e.g. srcIP,dstIP,TCPDstPort)")]
    Empty(String),
}

/// Writes the `-L` lines of datagrams.
#[derive(Debug, Clone)]
pub struct FieldLines {
    /// Field name → its column (the first one if a name is repeated).
    columns: HashMap<String, usize>,
    values: Vec<Vec<u8>>,
    /// Per column: whether its value came from a sample (cleared after the sample's line) or
    /// from the datagram header (kept for the datagram's other samples), as in sflowtool.
    from_sample: Vec<bool>,
    vlans: Option<Arc<VlanFilter>>,
    /// The datagram in [`Fields`] style text, reused between datagrams.
    scratch: Vec<u8>,
}

impl FieldLines {
    /// `list`: field names separated by commas or spaces.
    pub fn new(list: &str) -> Result<Self, FieldListError> {
        let names: Vec<&str> = list.split([',', ' ']).filter(|n| !n.is_empty()).collect();
        if names.is_empty() {
            return Err(FieldListError::Empty(list.to_string()));
        }
        let mut columns = HashMap::new();
        for (column, name) in names.iter().enumerate() {
            columns.entry((*name).to_string()).or_insert(column);
        }
        Ok(FieldLines {
            columns,
            values: vec![Vec::new(); names.len()],
            from_sample: vec![false; names.len()],
            vlans: None,
            scratch: Vec::new(),
        })
    }

    /// Flow and discard samples the filter rejects print no line (as in sflowtool).
    pub fn with_vlan_filter(mut self, filter: Arc<VlanFilter>) -> Self {
        self.vlans = Some(filter);
        self
    }

    /// Decodes `bytes` and appends one line per sample that has any of the fields. On a decode
    /// error nothing is appended.
    pub fn write_datagram(
        &mut self,
        info: &DatagramInfo,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<SampleCounts, DecodeError> {
        let payload = Payload::decode(bytes)?;
        self.scratch.clear();
        let mut o = Out::<Fields>::new(&mut self.scratch);
        let counts = write_payload(&mut o, info, bytes.len(), &payload)?;
        let spans = std::mem::take(&mut o.spans);
        let passes = self.filter_verdicts(&payload)?;
        self.values.iter_mut().for_each(Vec::clear);
        let mut current = 0;
        let mut matched = false;
        for span in &spans {
            if span.sample != current {
                self.end_sample(current, matched, &passes, out);
                current = span.sample;
                matched = false;
            }
            matched |= self.store(span) && span.sample > 0;
        }
        self.end_sample(current, matched, &passes, out);
        Ok(counts)
    }

    /// Whether each sample (1-based, index 0 unused) passes the VLAN filter.
    fn filter_verdicts(&self, payload: &Payload<'_>) -> Result<Vec<bool>, DecodeError> {
        let mut verdicts = Verdicts {
            vlans: self.vlans.as_deref(),
            passes: vec![true],
        };
        walk_payload(payload, &mut verdicts)?;
        Ok(verdicts.passes)
    }

    /// Keeps the value if the field is wanted; returns whether it was.
    fn store(&mut self, span: &FieldSpan) -> bool {
        let key = self
            .scratch
            .get(span.key.clone())
            .and_then(|key| std::str::from_utf8(key).ok());
        let Some(&column) = key.and_then(|key| self.columns.get(key)) else {
            return false;
        };
        let value = self.scratch.get(span.value.clone()).unwrap_or_default();
        if let Some(slot) = self.values.get_mut(column) {
            slot.clear();
            slot.extend_from_slice(value);
        }
        if let Some(from_sample) = self.from_sample.get_mut(column) {
            *from_sample = span.sample > 0;
        }
        true
    }

    /// Writes the line of sample `index` (0 = the datagram header: no line), then forgets its
    /// values so that the next sample starts from the datagram fields only.
    fn end_sample(&mut self, index: u32, matched: bool, passes: &[bool], out: &mut Vec<u8>) {
        if index == 0 {
            return;
        }
        if matched && passes.get(index as usize).copied().unwrap_or(true) {
            for (column, value) in self.values.iter().enumerate() {
                if column > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(value);
            }
            out.push(b'\n');
        }
        for (value, from_sample) in self.values.iter_mut().zip(&self.from_sample) {
            if *from_sample {
                value.clear();
            }
        }
    }
}

impl DatagramSink for FieldLines {
    fn write_datagram(
        &mut self,
        info: &DatagramInfo,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<SampleCounts, DecodeError> {
        FieldLines::write_datagram(self, info, bytes, out)
    }
}

/// The VLAN filter's verdict on each sample: flow and discard samples are filtered, the others
/// pass.
struct Verdicts<'f> {
    vlans: Option<&'f VlanFilter>,
    passes: Vec<bool>,
}

impl Verdicts<'_> {
    fn decide(
        &mut self,
        verdict: impl FnOnce(&VlanFilter) -> Result<bool, DecodeError>,
    ) -> Result<(), DecodeError> {
        if let (Some(filter), Some(pass)) = (self.vlans, self.passes.last_mut()) {
            *pass = verdict(filter)?;
        }
        Ok(())
    }
}

impl SampleSink for Verdicts<'_> {
    fn begin_sample(&mut self, _index: u32, _tag: Tag) {
        self.passes.push(true);
    }

    fn flow_sample(&mut self, sample: &FlowSample<'_>) -> Result<u64, DecodeError> {
        self.decide(|filter| filter.accepts(sample.records()))?;
        Ok(0)
    }

    fn discard_sample(&mut self, sample: &DiscardSample<'_>) -> Result<(), DecodeError> {
        self.decide(|filter| filter.accepts(sample.records()))
    }

    /// Not filtered (and already decoded by the text walk).
    fn counter_sample(&mut self, _sample: &CounterSample<'_>) -> Result<(), DecodeError> {
        Ok(())
    }

    fn legacy_flow_sample(&mut self, sample: &LegacyFlowSample<'_>) -> u64 {
        // The v2/v4 records are decoded with the sample: the filter cannot fail on them.
        let _ = self.decide(|filter| filter.accepts(sample.flow_records().map(Ok)));
        0
    }
}
