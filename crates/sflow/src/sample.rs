//! Samples: flow (0:1 / expanded 0:3), counter (0:2 / expanded 0:4), discard (0:5) and opaque.

use crate::counter::{CounterRecord, CounterRecords};
use crate::error::{DecodeError, Location, Tag, XdrError};
use crate::flow::{FlowRecord, FlowRecords};
use crate::record::{Opaque, RecordList, read_framed};
use crate::types::{DataSource, Interface};
use crate::xdr::{Reader, put_u32};

/// Sample tag of a compact flow sample.
pub const FLOW_SAMPLE: Tag = Tag::new(0, 1);
/// Sample tag of a compact counter sample.
pub const COUNTER_SAMPLE: Tag = Tag::new(0, 2);
/// Sample tag of an expanded flow sample.
pub const EXPANDED_FLOW_SAMPLE: Tag = Tag::new(0, 3);
/// Sample tag of an expanded counter sample.
pub const EXPANDED_COUNTER_SAMPLE: Tag = Tag::new(0, 4);
/// Sample tag of a discarded-packet (drop notification) sample.
pub const DISCARD_SAMPLE: Tag = Tag::new(0, 5);

/// The fixed fields of a flow sample.
///
/// `expanded` selects the wire form: compact (0:1) packs the data source into 8+24 bits and the
/// interfaces into 2+30 bits (values that do not fit are truncated when encoding); expanded
/// (0:3) carries full 32-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowSampleInfo {
    /// Expanded (0:3) rather than compact (0:1) form.
    pub expanded: bool,
    /// Sample sequence number (per data source).
    pub sequence_number: u32,
    /// The data source (`sourceId`).
    pub source_id: DataSource,
    /// Sampling rate: one packet in `sampling_rate` (`meanSkipCount`).
    pub sampling_rate: u32,
    /// Packets that could have been sampled (`samplePool`).
    pub sample_pool: u32,
    /// Packets dropped for lack of resources (`dropEvents`).
    pub drops: u32,
    /// Input interface.
    pub input: Interface,
    /// Output interface.
    pub output: Interface,
}

impl FlowSampleInfo {
    fn decode(r: &mut Reader<'_>, expanded: bool) -> Result<Self, XdrError> {
        let sequence_number = r.u32()?;
        let source_id = decode_source(r, expanded)?;
        let sampling_rate = r.u32()?;
        let sample_pool = r.u32()?;
        let drops = r.u32()?;
        let input = decode_interface(r, expanded)?;
        let output = decode_interface(r, expanded)?;
        Ok(Self {
            expanded,
            sequence_number,
            source_id,
            sampling_rate,
            sample_pool,
            drops,
            input,
            output,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.sequence_number);
        put_source(out, self.source_id, self.expanded);
        put_u32(out, self.sampling_rate);
        put_u32(out, self.sample_pool);
        put_u32(out, self.drops);
        put_interface(out, self.input, self.expanded);
        put_interface(out, self.output, self.expanded);
    }

    /// The sample tag this info encodes as.
    pub fn tag(&self) -> Tag {
        if self.expanded {
            EXPANDED_FLOW_SAMPLE
        } else {
            FLOW_SAMPLE
        }
    }
}

/// Reads a `sourceId`: two words when expanded, one packed word when compact.
fn decode_source(r: &mut Reader<'_>, expanded: bool) -> Result<DataSource, XdrError> {
    Ok(if expanded {
        DataSource {
            class: r.u32()?,
            index: r.u32()?,
        }
    } else {
        DataSource::from_compact(r.u32()?)
    })
}

/// Reads an input/output interface: two words when expanded, one packed word when compact.
fn decode_interface(r: &mut Reader<'_>, expanded: bool) -> Result<Interface, XdrError> {
    Ok(if expanded {
        Interface {
            format: r.u32()?,
            value: r.u32()?,
        }
    } else {
        Interface::from_compact(r.u32()?)
    })
}

/// Writes an interface; the compact form truncates format and value to 2 / 30 bits.
fn put_interface(out: &mut Vec<u8>, iface: Interface, expanded: bool) {
    if expanded {
        put_u32(out, iface.format);
        put_u32(out, iface.value);
    } else {
        put_u32(
            out,
            ((iface.format & 3) << 30) | (iface.value & 0x3fff_ffff),
        );
    }
}

/// Writes a `sourceId`; the compact form truncates class and index to 8 / 24 bits.
fn put_source(out: &mut Vec<u8>, source: DataSource, expanded: bool) {
    if expanded {
        put_u32(out, source.class);
        put_u32(out, source.index);
    } else {
        put_u32(
            out,
            ((source.class & 0xff) << 24) | (source.index & 0x00ff_ffff),
        );
    }
}

/// A flow sample (0:1 or 0:3) with its lazily decoded records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSample<'a> {
    /// The fixed fields.
    pub info: FlowSampleInfo,
    /// The raw record list.
    pub records: RecordList<'a>,
}

impl<'a> FlowSample<'a> {
    /// The flow records.
    pub fn records(&self) -> FlowRecords<'a> {
        FlowRecords {
            inner: self.records.iter::<FlowRecord<'a>>(),
        }
    }
}

/// The fixed fields of a counter sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterSampleInfo {
    /// Expanded (0:4) rather than compact (0:2) form.
    pub expanded: bool,
    /// Sample sequence number (per data source).
    pub sequence_number: u32,
    /// The data source (`sourceId`).
    pub source_id: DataSource,
}

impl CounterSampleInfo {
    fn decode(r: &mut Reader<'_>, expanded: bool) -> Result<Self, XdrError> {
        Ok(Self {
            expanded,
            sequence_number: r.u32()?,
            source_id: decode_source(r, expanded)?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.sequence_number);
        put_source(out, self.source_id, self.expanded);
    }

    /// The sample tag this info encodes as.
    pub fn tag(&self) -> Tag {
        if self.expanded {
            EXPANDED_COUNTER_SAMPLE
        } else {
            COUNTER_SAMPLE
        }
    }
}

/// A counter sample (0:2 or 0:4) with its lazily decoded records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterSample<'a> {
    /// The fixed fields.
    pub info: CounterSampleInfo,
    /// The raw record list.
    pub records: RecordList<'a>,
}

impl<'a> CounterSample<'a> {
    /// The counter records.
    pub fn records(&self) -> CounterRecords<'a> {
        CounterRecords {
            inner: self.records.iter::<CounterRecord<'a>>(),
        }
    }
}

/// The fixed fields of a discarded-packet sample (sFlow drop notification extension, 0:5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiscardSampleInfo {
    /// Sample sequence number.
    pub sequence_number: u32,
    /// The data source (always expanded form).
    pub source_id: DataSource,
    /// Discards lost before they could be reported.
    pub drops: u32,
    /// Input ifIndex (0 unknown).
    pub input_if_index: u32,
    /// Output ifIndex (0 unknown).
    pub output_if_index: u32,
    /// Drop reason code (e.g. 258 = ACL; see the drop notification spec).
    pub reason: u32,
}

impl DiscardSampleInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            sequence_number: r.u32()?,
            source_id: DataSource {
                class: r.u32()?,
                index: r.u32()?,
            },
            drops: r.u32()?,
            input_if_index: r.u32()?,
            output_if_index: r.u32()?,
            reason: r.u32()?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.sequence_number);
        put_source(out, self.source_id, true);
        for v in [
            self.drops,
            self.input_if_index,
            self.output_if_index,
            self.reason,
        ] {
            put_u32(out, v);
        }
    }
}

/// A discarded-packet sample (0:5) with its flow records (header, drop reason details, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscardSample<'a> {
    /// The fixed fields.
    pub info: DiscardSampleInfo,
    /// The raw record list.
    pub records: RecordList<'a>,
}

impl<'a> DiscardSample<'a> {
    /// The flow records describing the discarded packet.
    pub fn records(&self) -> FlowRecords<'a> {
        FlowRecords {
            inner: self.records.iter::<FlowRecord<'a>>(),
        }
    }
}

/// One sample of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample<'a> {
    /// Flow sample (0:1 or 0:3).
    Flow(FlowSample<'a>),
    /// Counter sample (0:2 or 0:4).
    Counter(CounterSample<'a>),
    /// Discarded-packet sample (0:5).
    Discard(DiscardSample<'a>),
    /// Any other sample type, kept raw.
    Unknown(Opaque<'a>),
}

impl<'a> Sample<'a> {
    /// The sample's tag.
    pub fn tag(&self) -> Tag {
        match self {
            Sample::Flow(s) => s.info.tag(),
            Sample::Counter(s) => s.info.tag(),
            Sample::Discard(_) => DISCARD_SAMPLE,
            Sample::Unknown(o) => o.tag,
        }
    }

    pub(crate) fn decode_body(
        tag: Tag,
        body: &mut Reader<'a>,
        index: u32,
    ) -> Result<Self, XdrError> {
        Ok(match (tag.enterprise, tag.format) {
            (0, 1 | 3) => {
                let info = FlowSampleInfo::decode(body, tag.format == 3)?;
                Sample::Flow(FlowSample {
                    info,
                    records: RecordList::decode(body, index, tag)?,
                })
            }
            (0, 2 | 4) => {
                let info = CounterSampleInfo::decode(body, tag.format == 4)?;
                Sample::Counter(CounterSample {
                    info,
                    records: RecordList::decode(body, index, tag)?,
                })
            }
            (0, 5) => {
                let info = DiscardSampleInfo::decode(body)?;
                Sample::Discard(DiscardSample {
                    info,
                    records: RecordList::decode(body, index, tag)?,
                })
            }
            _ => Sample::Unknown(Opaque::from_body(tag, body)),
        })
    }

    /// Appends the sample (tag, length, body with its raw records).
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Sample::Unknown(o) = self {
            o.encode(out);
            return;
        }
        crate::record::encode_record(out, self.tag(), |out| match self {
            Sample::Flow(s) => {
                s.info.encode(out);
                s.records.encode(out);
            }
            Sample::Counter(s) => {
                s.info.encode(out);
                s.records.encode(out);
            }
            Sample::Discard(s) => {
                s.info.encode(out);
                s.records.encode(out);
            }
            Sample::Unknown(_) => {}
        });
    }
}

/// Appends a sample built from its fixed fields and a list of records (count, then each record).
fn encode_sample<R>(
    out: &mut Vec<u8>,
    tag: Tag,
    encode_info: impl FnOnce(&mut Vec<u8>),
    records: &[R],
    encode_one: impl Fn(&R, &mut Vec<u8>),
) {
    crate::record::encode_record(out, tag, |out| {
        encode_info(out);
        put_u32(out, records.len() as u32);
        records.iter().for_each(|r| encode_one(r, out));
    });
}

pub(crate) fn encode_flow_sample(
    out: &mut Vec<u8>,
    info: &FlowSampleInfo,
    records: &[FlowRecord<'_>],
) {
    encode_sample(
        out,
        info.tag(),
        |o| info.encode(o),
        records,
        FlowRecord::encode,
    );
}

pub(crate) fn encode_counter_sample(
    out: &mut Vec<u8>,
    info: &CounterSampleInfo,
    records: &[CounterRecord<'_>],
) {
    encode_sample(
        out,
        info.tag(),
        |o| info.encode(o),
        records,
        CounterRecord::encode,
    );
}

pub(crate) fn encode_discard_sample(
    out: &mut Vec<u8>,
    info: &DiscardSampleInfo,
    records: &[FlowRecord<'_>],
) {
    encode_sample(
        out,
        DISCARD_SAMPLE,
        |o| info.encode(o),
        records,
        FlowRecord::encode,
    );
}

/// Iterator over the samples of a datagram.
///
/// A sample whose body is malformed yields `Err` and iteration continues with the next sample;
/// a sample whose declared length runs past the datagram yields `Err` and ends the iteration.
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    pub(crate) reader: Reader<'a>,
    pub(crate) left: u32,
    pub(crate) index: u32,
}

impl<'a> Samples<'a> {
    /// Checks that every sample left is framed within the datagram (a tag and a length that fits), without
    /// decoding any: what a collector can afford for every datagram of a flood it will not analyse. The
    /// first sample whose length runs past the datagram is the error, as [`Iterator::next`] reports it.
    pub fn check_framing(mut self) -> Result<(), DecodeError> {
        while self.left > 0 {
            self.left -= 1;
            self.index += 1;
            let index = self.index;
            read_framed(&mut self.reader, "sample length")
                .map_err(|(tag, e)| e.at(Location::Sample { index, tag }))?;
        }
        Ok(())
    }

    /// The bytes not yet consumed; after the last sample, any data trailing the declared samples.
    pub fn remaining_bytes(&self) -> &'a [u8] {
        self.reader.clone().rest()
    }
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<Sample<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.index += 1;
        let index = self.index;
        let location = |tag| Location::Sample { index, tag };
        match read_framed(&mut self.reader, "sample length") {
            Ok((tag, mut body)) => {
                Some(Sample::decode_body(tag, &mut body, index).map_err(|e| e.at(location(tag))))
            }
            Err((tag, e)) => {
                self.left = 0;
                Some(Err(e.at(location(tag))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}
