//! sFlow versions 2 and 4, which old agents still send: the datagram header has no sub-agent id,
//! and samples and records carry no length, so an unknown sample type, packet data type,
//! extended data type or counters version ends the datagram (as in sflowtool).
//!
//! The structures v2/v4 share with v5 decode into the v5 types: the sampled header (without its
//! `stripped` count, reported as 0), the IPv4/IPv6 data, the extended switch and router data, the
//! v4 gateway (as an [`ExtendedGateway`] without a BGP next hop) and the interface counter blocks.

use crate::counter::{
    CounterRecord, EthernetCounters, GenericInterfaceCounters, TokenRingCounters, Vg100Counters,
    VlanCounters,
};
use crate::error::{DecodeError, ErrorKind, Location, Tag, XdrError};
use crate::flow::{
    ExtendedGateway, ExtendedRouter, ExtendedSwitch, FlowRecord, SampledHeader, SampledIpv4,
    SampledIpv6,
};
use crate::types::{Address, AsPath, DataSource, U32List};
use crate::xdr::{Reader, Xdr, put_opaque, put_u32};

/// sFlow version 2.
pub const SFLOW_VERSION_2: u32 = 2;
/// sFlow version 4.
pub const SFLOW_VERSION_4: u32 = 4;

/// The v2/v4 sample type of a flow sample (printed as tag `0:1`).
pub const LEGACY_FLOW_SAMPLE: u32 = 1;
/// The v2/v4 sample type of a counters sample (printed as tag `0:2`).
pub const LEGACY_COUNTERS_SAMPLE: u32 = 2;

/// An unknown type word, just read by `r`: the error points at the word.
fn unexpected(r: &Reader<'_>, what: &'static str, value: u32) -> XdrError {
    XdrError {
        kind: ErrorKind::UnexpectedValue { what, value },
        offset: r.offset().saturating_sub(4),
    }
}

/// A decoded sFlow v2 or v4 datagram borrowing the input bytes; samples decode lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyDatagram<'a> {
    /// 2 or 4.
    pub version: u32,
    /// Agent address.
    pub agent: Address,
    /// Datagram sequence number.
    pub sequence_number: u32,
    /// Agent uptime in ms.
    pub uptime_ms: u32,
    num_samples: u32,
    samples_data: &'a [u8],
    samples_offset: usize,
}

impl<'a> LegacyDatagram<'a> {
    /// Decodes the header of a v2/v4 datagram. Fails with [`DecodeError::NotSflowV5`] (naming
    /// the version) when the version word is neither 2 nor 4.
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, 0);
        let at = |e: XdrError| e.at(Location::Datagram);
        let version = r.u32().map_err(at)?;
        if version != SFLOW_VERSION_2 && version != SFLOW_VERSION_4 {
            return Err(DecodeError::NotSflowV5 { version });
        }
        let agent = Address::decode(&mut r).map_err(at)?;
        let sequence_number = r.u32().map_err(at)?;
        let uptime_ms = r.u32().map_err(at)?;
        let num_samples = r.u32().map_err(at)?;
        let samples_offset = r.offset();
        Ok(Self {
            version,
            agent,
            sequence_number,
            uptime_ms,
            num_samples,
            samples_data: r.rest(),
            samples_offset,
        })
    }

    /// The sample count declared in the header.
    pub fn num_samples(&self) -> u32 {
        self.num_samples
    }

    /// The samples. Without length framing, a sample that fails to decode ends the iteration.
    pub fn samples(&self) -> LegacySamples<'a> {
        LegacySamples {
            reader: Reader::new(self.samples_data, self.samples_offset),
            version: self.version,
            left: self.num_samples,
            index: 0,
        }
    }

    /// Appends a datagram header (without the sample count) of `version` 2 or 4.
    fn encode_header(out: &mut Vec<u8>, version: u32, agent: &Address, sequence: u32, uptime: u32) {
        put_u32(out, version);
        agent.encode(out);
        put_u32(out, sequence);
        put_u32(out, uptime);
    }
}

/// The fixed fields of a v2/v4 flow sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegacyFlowInfo {
    /// Sample sequence number.
    pub sequence_number: u32,
    /// Data source (packed 8+24 bits on the wire).
    pub source_id: DataSource,
    /// Sampling rate (`meanSkipCount`).
    pub sampling_rate: u32,
    /// Sample pool.
    pub sample_pool: u32,
    /// Drops.
    pub drops: u32,
    /// Input ifIndex.
    pub input: u32,
    /// Output ifIndex; the top bit set means "multiple", the rest the count of outputs.
    pub output: u32,
}

/// A v2/v4 flow or extended data record, as far as v5 types express it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegacyRecord<'a> {
    /// Packet data type 1: a sampled header (`stripped` is always 0).
    Header(SampledHeader<'a>),
    /// Packet data type 2: IPv4 data.
    Ipv4(SampledIpv4),
    /// Packet data type 3: IPv6 data.
    Ipv6(SampledIpv6),
    /// Extended data type 1.
    Switch(ExtendedSwitch),
    /// Extended data type 2.
    Router(ExtendedRouter),
    /// Extended data type 3 in a v2 datagram: a flat AS path.
    GatewayV2 {
        /// This router's AS.
        as_number: u32,
        /// Source AS.
        src_as: u32,
        /// Source peer AS.
        src_peer_as: u32,
        /// The AS path to the destination.
        dst_as_path: U32List<'a>,
    },
    /// Extended data type 3 in a v4 datagram: the v5 gateway without its BGP next hop
    /// ([`Address::Unknown`]).
    GatewayV4(ExtendedGateway<'a>),
    /// Extended data type 4 (no character sets before v5).
    User {
        /// Source user.
        src_user: &'a [u8],
        /// Destination user.
        dst_user: &'a [u8],
    },
    /// Extended data type 5 (no host before v5).
    Url {
        /// 1 = source address is the server, 2 = destination address is the server.
        direction: u32,
        /// The URL.
        url: &'a [u8],
    },
}

impl<'a> LegacyRecord<'a> {
    /// The packet data type (1-3) or extended data type (1-5) on the wire.
    pub fn wire_type(&self) -> u32 {
        match self {
            LegacyRecord::Header(_) => 1,
            LegacyRecord::Ipv4(_) => 2,
            LegacyRecord::Ipv6(_) => 3,
            LegacyRecord::Switch(_) => 1,
            LegacyRecord::Router(_) => 2,
            LegacyRecord::GatewayV2 { .. } | LegacyRecord::GatewayV4(_) => 3,
            LegacyRecord::User { .. } => 4,
            LegacyRecord::Url { .. } => 5,
        }
    }

    /// The equivalent v5 flow record, for the structures both versions share (sampled header,
    /// IPv4/IPv6 data, switch, router, v4 gateway); `None` for the v2 gateway, user and URL.
    pub fn as_flow_record(&self) -> Option<FlowRecord<'a>> {
        Some(match *self {
            LegacyRecord::Header(h) => FlowRecord::SampledHeader(h),
            LegacyRecord::Ipv4(ip) => FlowRecord::SampledIpv4(ip),
            LegacyRecord::Ipv6(ip) => FlowRecord::SampledIpv6(ip),
            LegacyRecord::Switch(s) => FlowRecord::ExtendedSwitch(s),
            LegacyRecord::Router(r) => FlowRecord::ExtendedRouter(r),
            LegacyRecord::GatewayV4(g) => FlowRecord::ExtendedGateway(g),
            _ => return None,
        })
    }

    fn decode_packet(kind: u32, r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(match kind {
            1 => LegacyRecord::Header(SampledHeader {
                protocol: r.u32()?,
                frame_length: r.u32()?,
                stripped: 0,
                header: r.opaque("header length")?,
            }),
            2 => LegacyRecord::Ipv4(SampledIpv4::decode(r)?),
            3 => LegacyRecord::Ipv6(SampledIpv6::decode(r)?),
            value => return Err(unexpected(r, "packet data type", value)),
        })
    }

    fn decode_extended(version: u32, kind: u32, r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(match kind {
            1 => LegacyRecord::Switch(ExtendedSwitch::decode(r)?),
            2 => LegacyRecord::Router(ExtendedRouter::decode(r)?),
            3 if version == SFLOW_VERSION_2 => LegacyRecord::GatewayV2 {
                as_number: r.u32()?,
                src_as: r.u32()?,
                src_peer_as: r.u32()?,
                dst_as_path: U32List::decode(r)?,
            },
            3 => LegacyRecord::GatewayV4(ExtendedGateway {
                next_hop: Address::Unknown,
                as_number: r.u32()?,
                src_as: r.u32()?,
                src_peer_as: r.u32()?,
                dst_as_path: AsPath::decode(r)?,
                communities: U32List::decode(r)?,
                local_pref: r.u32()?,
            }),
            4 => LegacyRecord::User {
                src_user: r.opaque("user length")?,
                dst_user: r.opaque("user length")?,
            },
            5 => LegacyRecord::Url {
                direction: r.u32()?,
                url: r.opaque("URL length")?,
            },
            value => return Err(unexpected(r, "extended data type", value)),
        })
    }

    /// Appends the record body (not its type word).
    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            LegacyRecord::Header(h) => {
                put_u32(out, h.protocol);
                put_u32(out, h.frame_length);
                put_opaque(out, h.header);
            }
            LegacyRecord::Ipv4(ip) => ip.encode(out),
            LegacyRecord::Ipv6(ip) => ip.encode(out),
            LegacyRecord::Switch(s) => s.encode(out),
            LegacyRecord::Router(r) => r.encode(out),
            LegacyRecord::GatewayV2 {
                as_number,
                src_as,
                src_peer_as,
                dst_as_path,
            } => {
                for v in [*as_number, *src_as, *src_peer_as] {
                    put_u32(out, v);
                }
                dst_as_path.encode(out);
            }
            LegacyRecord::GatewayV4(g) => {
                for v in [g.as_number, g.src_as, g.src_peer_as] {
                    put_u32(out, v);
                }
                g.dst_as_path.encode(out);
                g.communities.encode(out);
                put_u32(out, g.local_pref);
            }
            LegacyRecord::User { src_user, dst_user } => {
                put_opaque(out, src_user);
                put_opaque(out, dst_user);
            }
            LegacyRecord::Url { direction, url } => {
                put_u32(out, *direction);
                put_opaque(out, url);
            }
        }
    }
}

/// A v2/v4 flow sample: fixed fields, one packet data record and the extended data records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegacyFlowSample<'a> {
    /// The fixed fields.
    pub info: LegacyFlowInfo,
    /// The packet data (sampled header, IPv4 or IPv6 data).
    pub packet: LegacyRecord<'a>,
    version: u32,
    index: u32,
    extended_count: u32,
    extended: &'a [u8],
    extended_offset: usize,
}

impl<'a> LegacyFlowSample<'a> {
    /// The packet data record followed by the extended data records, in wire order (the
    /// extended records were validated when the sample was read).
    pub fn records(&self) -> impl Iterator<Item = LegacyRecord<'a>> + use<'a> {
        let mut reader = Reader::new(self.extended, self.extended_offset);
        let version = self.version;
        let extended = (0..self.extended_count).map_while(move |_| {
            let kind = reader.u32().ok()?;
            LegacyRecord::decode_extended(version, kind, &mut reader).ok()
        });
        std::iter::once(self.packet).chain(extended)
    }

    /// The records as v5 flow records where they have one (see [`LegacyRecord::as_flow_record`]).
    pub fn flow_records(&self) -> impl Iterator<Item = FlowRecord<'a>> + use<'a> {
        self.records().filter_map(|r| r.as_flow_record())
    }

    /// This sample's 1-based index in its datagram.
    pub fn index(&self) -> u32 {
        self.index
    }
}

/// The v2/v4 counters versions (the kind of interface the counters describe).
pub mod counters_version {
    /// Generic interface counters only.
    pub const GENERIC: u32 = 1;
    /// Generic + Ethernet.
    pub const ETHERNET: u32 = 2;
    /// Generic + token ring.
    pub const TOKEN_RING: u32 = 3;
    /// Generic only (FDDI has no specific block).
    pub const FDDI: u32 = 4;
    /// Generic + 100BaseVG.
    pub const VG: u32 = 5;
    /// Generic only (WAN has no specific block).
    pub const WAN: u32 = 6;
    /// VLAN counters only.
    pub const VLAN: u32 = 7;
}

/// A v2/v4 counters sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegacyCounterSample {
    /// Sample sequence number.
    pub sequence_number: u32,
    /// Data source (packed on the wire).
    pub source_id: DataSource,
    /// Counter sampling interval in seconds (`statsSamplingInterval`).
    pub sampling_interval: u32,
    /// Which blocks follow (see [`counters_version`]).
    pub version: u32,
    /// The generic interface counters (absent for VLAN counters).
    pub generic: Option<GenericInterfaceCounters>,
    /// The interface-specific counters, if the version has any.
    pub specific: Option<LegacyCounterBlock>,
}

/// The interface-specific block of a v2/v4 counters sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegacyCounterBlock {
    /// Version 2.
    Ethernet(EthernetCounters),
    /// Version 3.
    TokenRing(TokenRingCounters),
    /// Version 5.
    Vg(Vg100Counters),
    /// Version 7.
    Vlan(VlanCounters),
}

impl LegacyCounterBlock {
    /// The equivalent v5 counter record.
    pub fn as_counter_record(&self) -> CounterRecord<'static> {
        match *self {
            LegacyCounterBlock::Ethernet(c) => CounterRecord::Ethernet(c),
            LegacyCounterBlock::TokenRing(c) => CounterRecord::TokenRing(c),
            LegacyCounterBlock::Vg(c) => CounterRecord::Vg100(c),
            LegacyCounterBlock::Vlan(c) => CounterRecord::Vlan(c),
        }
    }
}

impl LegacyCounterSample {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        use counters_version::*;
        let sequence_number = r.u32()?;
        let source_id = DataSource::from_compact(r.u32()?);
        let sampling_interval = r.u32()?;
        let version_at = r.clone();
        let version = r.u32()?;
        let generic = match version {
            GENERIC..=WAN => Some(GenericInterfaceCounters::decode(r)?),
            VLAN => None,
            value => {
                return Err(version_at.error(ErrorKind::UnexpectedValue {
                    what: "counters version",
                    value,
                }));
            }
        };
        let specific = match version {
            ETHERNET => Some(LegacyCounterBlock::Ethernet(EthernetCounters::decode(r)?)),
            TOKEN_RING => Some(LegacyCounterBlock::TokenRing(TokenRingCounters::decode(r)?)),
            VG => Some(LegacyCounterBlock::Vg(Vg100Counters::decode(r)?)),
            VLAN => Some(LegacyCounterBlock::Vlan(VlanCounters::decode(r)?)),
            _ => None,
        };
        Ok(Self {
            sequence_number,
            source_id,
            sampling_interval,
            version,
            generic,
            specific,
        })
    }
}

/// One sample of a v2/v4 datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegacySample<'a> {
    /// Sample type 1.
    Flow(LegacyFlowSample<'a>),
    /// Sample type 2.
    Counter(LegacyCounterSample),
}

impl LegacySample<'_> {
    /// The sample type as sflowtool prints it (`sampleType_tag` `0:1` / `0:2`).
    pub fn tag(&self) -> Tag {
        match self {
            LegacySample::Flow(_) => Tag::new(0, LEGACY_FLOW_SAMPLE),
            LegacySample::Counter(_) => Tag::new(0, LEGACY_COUNTERS_SAMPLE),
        }
    }
}

/// Iterator over the samples of a v2/v4 datagram; the first error ends it.
#[derive(Debug, Clone)]
pub struct LegacySamples<'a> {
    reader: Reader<'a>,
    version: u32,
    left: u32,
    index: u32,
}

impl<'a> LegacySamples<'a> {
    fn flow_sample(&mut self) -> Result<LegacyFlowSample<'a>, (Tag, XdrError)> {
        let r = &mut self.reader;
        let sample_tag = Tag::new(0, LEGACY_FLOW_SAMPLE);
        let in_sample = |e| (Tag::default(), e);
        let info = LegacyFlowInfo {
            sequence_number: r.u32().map_err(in_sample)?,
            source_id: DataSource::from_compact(r.u32().map_err(in_sample)?),
            sampling_rate: r.u32().map_err(in_sample)?,
            sample_pool: r.u32().map_err(in_sample)?,
            drops: r.u32().map_err(in_sample)?,
            input: r.u32().map_err(in_sample)?,
            output: r.u32().map_err(in_sample)?,
        };
        let kind = r.u32().map_err(in_sample)?;
        let packet = LegacyRecord::decode_packet(kind, r).map_err(|e| (Tag::new(0, kind), e))?;
        let extended_count = r.length("extended data count", 4).map_err(in_sample)? as u32;
        let extended_offset = r.offset();
        let start = r.clone();
        for _ in 0..extended_count {
            let kind = r.u32().map_err(in_sample)?;
            LegacyRecord::decode_extended(self.version, kind, r)
                .map_err(|e| (Tag::new(0, kind), e))?;
        }
        let mut start = start;
        let extended = start
            .bytes(r.offset() - extended_offset)
            .map_err(|e| (sample_tag, e))?;
        Ok(LegacyFlowSample {
            info,
            packet,
            version: self.version,
            index: self.index,
            extended_count,
            extended,
            extended_offset,
        })
    }
}

impl<'a> Iterator for LegacySamples<'a> {
    type Item = Result<LegacySample<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.index += 1;
        let index = self.index;
        let sample_at = |tag: Tag, e: XdrError| e.at(Location::Sample { index, tag });
        let result = match self.reader.u32() {
            Err(e) => Err(sample_at(Tag::default(), e)),
            Ok(LEGACY_FLOW_SAMPLE) => {
                self.flow_sample()
                    .map(LegacySample::Flow)
                    .map_err(|(record_tag, e)| {
                        let sample_tag = Tag::new(0, LEGACY_FLOW_SAMPLE);
                        if record_tag == Tag::default() {
                            sample_at(sample_tag, e)
                        } else {
                            e.at(Location::Record {
                                sample_index: index,
                                sample_tag,
                                index: 1,
                                tag: record_tag,
                            })
                        }
                    })
            }
            Ok(LEGACY_COUNTERS_SAMPLE) => LegacyCounterSample::decode(&mut self.reader)
                .map(LegacySample::Counter)
                .map_err(|e| sample_at(Tag::new(0, LEGACY_COUNTERS_SAMPLE), e)),
            Ok(value) => Err(sample_at(
                Tag::new(0, value),
                unexpected(&self.reader, "sample type", value),
            )),
        };
        if result.is_err() {
            self.left = 0;
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// Builds sFlow v2/v4 datagrams (for tests and captures of old agents).
#[derive(Debug, Clone)]
pub struct LegacyDatagramBuilder {
    header: Vec<u8>,
    num_samples: u32,
    samples: Vec<u8>,
}

impl LegacyDatagramBuilder {
    /// Starts an empty datagram of `version` (2 or 4).
    pub fn new(version: u32, agent: Address, sequence_number: u32, uptime_ms: u32) -> Self {
        let mut header = Vec::new();
        LegacyDatagram::encode_header(&mut header, version, &agent, sequence_number, uptime_ms);
        Self {
            header,
            num_samples: 0,
            samples: Vec::new(),
        }
    }

    /// Adds a flow sample: `packet` must be a header, IPv4 or IPv6 record; `extended` the
    /// extended data records (a gateway in the form of the datagram's version).
    pub fn flow_sample(
        &mut self,
        info: &LegacyFlowInfo,
        packet: &LegacyRecord<'_>,
        extended: &[LegacyRecord<'_>],
    ) -> &mut Self {
        let out = &mut self.samples;
        put_u32(out, LEGACY_FLOW_SAMPLE);
        put_u32(out, info.sequence_number);
        put_u32(
            out,
            ((info.source_id.class & 0xff) << 24) | (info.source_id.index & 0x00ff_ffff),
        );
        for v in [
            info.sampling_rate,
            info.sample_pool,
            info.drops,
            info.input,
            info.output,
            packet.wire_type(),
        ] {
            put_u32(out, v);
        }
        packet.encode_body(out);
        put_u32(out, extended.len() as u32);
        for record in extended {
            put_u32(out, record.wire_type());
            record.encode_body(out);
        }
        self.num_samples += 1;
        self
    }

    /// Adds a counters sample; the blocks written follow `sample.version`.
    pub fn counter_sample(&mut self, sample: &LegacyCounterSample) -> &mut Self {
        let out = &mut self.samples;
        put_u32(out, LEGACY_COUNTERS_SAMPLE);
        put_u32(out, sample.sequence_number);
        put_u32(
            out,
            ((sample.source_id.class & 0xff) << 24) | (sample.source_id.index & 0x00ff_ffff),
        );
        put_u32(out, sample.sampling_interval);
        put_u32(out, sample.version);
        if let Some(generic) = &sample.generic {
            generic.encode(out);
        }
        match &sample.specific {
            Some(LegacyCounterBlock::Ethernet(c)) => c.encode(out),
            Some(LegacyCounterBlock::TokenRing(c)) => c.encode(out),
            Some(LegacyCounterBlock::Vg(c)) => c.encode(out),
            Some(LegacyCounterBlock::Vlan(c)) => c.encode(out),
            None => {}
        }
        self.num_samples += 1;
        self
    }

    /// The encoded datagram.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        put_u32(&mut out, self.num_samples);
        out.extend_from_slice(&self.samples);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn info() -> LegacyFlowInfo {
        LegacyFlowInfo {
            sequence_number: 7,
            source_id: DataSource { class: 0, index: 5 },
            sampling_rate: 100,
            sample_pool: 700,
            drops: 1,
            input: 5,
            output: 0x8000_0002,
        }
    }

    #[test]
    fn v4_and_v2_datagrams_round_trip_through_the_builder() {
        let header = [0x11u8; 42];
        let raw = AsPath::segments_to_bytes(&[(2, &[65001, 65002])]);
        let path = AsPath::from_segments_bytes(1, &raw).unwrap();
        for version in [SFLOW_VERSION_2, SFLOW_VERSION_4] {
            let gateway = if version == SFLOW_VERSION_2 {
                LegacyRecord::GatewayV2 {
                    as_number: 65000,
                    src_as: 1,
                    src_peer_as: 2,
                    dst_as_path: U32List::from_be_bytes(&[0, 0, 0, 3, 0, 0, 0, 4]),
                }
            } else {
                LegacyRecord::GatewayV4(ExtendedGateway {
                    next_hop: Address::Unknown,
                    as_number: 65000,
                    src_as: 1,
                    src_peer_as: 2,
                    dst_as_path: path,
                    communities: U32List::from_be_bytes(&[0, 0, 0, 9]),
                    local_pref: 100,
                })
            };
            let packet = LegacyRecord::Header(SampledHeader {
                protocol: 1,
                frame_length: 64,
                stripped: 0,
                header: &header,
            });
            let extended = [
                LegacyRecord::Switch(ExtendedSwitch {
                    src_vlan: 10,
                    src_priority: 0,
                    dst_vlan: 20,
                    dst_priority: 1,
                }),
                gateway,
                LegacyRecord::User {
                    src_user: b"alice",
                    dst_user: b"",
                },
                LegacyRecord::Url {
                    direction: 1,
                    url: b"/x",
                },
            ];
            let counters = LegacyCounterSample {
                sequence_number: 3,
                source_id: DataSource { class: 0, index: 5 },
                sampling_interval: 20,
                version: counters_version::ETHERNET,
                generic: Some(GenericInterfaceCounters {
                    if_index: 5,
                    if_in_octets: 12345,
                    ..Default::default()
                }),
                specific: Some(LegacyCounterBlock::Ethernet(EthernetCounters {
                    dot3_stats_fcs_errors: 2,
                    ..Default::default()
                })),
            };
            let bytes = LegacyDatagramBuilder::new(
                version,
                Address::V4(Ipv4Addr::new(10, 0, 0, 1)),
                42,
                1000,
            )
            .flow_sample(&info(), &packet, &extended)
            .counter_sample(&counters)
            .finish();
            let datagram = LegacyDatagram::decode(&bytes).unwrap();
            assert_eq!(
                (
                    datagram.version,
                    datagram.sequence_number,
                    datagram.num_samples()
                ),
                (version, 42, 2)
            );
            let samples: Vec<_> = datagram.samples().collect::<Result<_, _>>().unwrap();
            let LegacySample::Flow(flow) = samples[0] else {
                panic!("flow sample first")
            };
            assert_eq!(flow.info, info());
            let records: Vec<_> = flow.records().collect();
            assert_eq!(records[0], packet);
            assert_eq!(&records[1..], &extended);
            assert_eq!(samples[1], LegacySample::Counter(counters));
        }
    }

    #[test]
    fn unknown_types_end_the_datagram_with_their_location() {
        let mut bytes = LegacyDatagramBuilder::new(4, Address::V4(Ipv4Addr::LOCALHOST), 1, 1)
            .flow_sample(
                &info(),
                &LegacyRecord::Ipv4(SampledIpv4 {
                    length: 1,
                    protocol: 6,
                    src_ip: Ipv4Addr::LOCALHOST,
                    dst_ip: Ipv4Addr::LOCALHOST,
                    src_port: 1,
                    dst_port: 2,
                    tcp_flags: 0,
                    tos: 0,
                }),
                &[],
            )
            .finish();
        // Packet data type 2 (IPv4) at offset 24 + 4 + 28 → 9.
        bytes[56..60].copy_from_slice(&9u32.to_be_bytes());
        let datagram = LegacyDatagram::decode(&bytes).unwrap();
        let err = datagram.samples().next().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "flow sample #1 record #1 (0:9): unexpected packet data type 9 at offset 56"
        );
        assert!(matches!(
            LegacyDatagram::decode(&5u32.to_be_bytes()),
            Err(DecodeError::NotSflowV5 { version: 5 })
        ));
    }
}
