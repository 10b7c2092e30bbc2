//! `-t` / `-T`: a libpcap stream of the sampled packet headers of flow samples (`-t`) or of the
//! dropped packets' headers in discard samples (`-T`), one Ethernet frame per sampled header
//! record (sflowtool writes one per sample, from whatever header state was left, which is
//! wrong when other records follow the header).
//!
//! The stream's link type is Ethernet, so headers of other protocols are wrapped in an
//! encapsulation tcpdump and tshark read: IPv4 and IPv6 (header protocols 11, 12) and MPLS (13)
//! behind an Ethernet header with their EtherType, PPP (7) and PPP over SONET (14) as PPPoE
//! session frames (a Cisco HDLC frame on POS gets its own EtherType instead). Headers no
//! Ethernet encapsulation carries (802.11, token ring, FDDI, frame relay, X.25, ATM, ...) are
//! counted per header protocol ([`SampledHeaderPcap::skipped`]) so the caller can say so.

use std::io::{self, Write};
use std::sync::Arc;

use rtflow_capture::{LinkType, PcapWriter, Timestamp};
use rtflow_sflow::{
    Datagram, DecodeError, FlowRecord, LegacyRecord, LegacySample, Sample, SampledHeader,
};

use crate::SampleCounts;
use crate::datagram::Payload;
use crate::samples::{Validate, walk_legacy_samples, walk_samples};
use crate::vlan::VlanFilter;

/// Which samples' sampled header records go into the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderSource {
    /// Flow samples (0:1, 0:3): sflowtool `-t`.
    #[default]
    FlowSamples,
    /// Discard samples (0:5), the headers of dropped packets: sflowtool `-T`.
    DiscardSamples,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERNET_HEADER_LEN: usize = 14;
const PPPOE_HEADER_LEN: usize = 6;
/// sflowtool's snaplen for this stream.
const SNAPLEN: u32 = 65_536;

/// What [`SampledHeaderPcap::write_datagram`] did with one datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapWritten {
    /// Packets written (at most the limit passed in).
    pub packets: u64,
    /// Header records left out because no Ethernet encapsulation carries their protocol.
    pub skipped: u64,
    /// What the datagram held, counted while validating it.
    pub samples: SampleCounts,
}

/// Header records of one header protocol that could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkippedHeaders {
    /// The sampled header record's `header_protocol`.
    pub protocol: u32,
    /// How many were left out.
    pub count: u64,
}

impl SkippedHeaders {
    /// The protocol's name in the sFlow specification.
    pub fn protocol_name(&self) -> &'static str {
        header_protocol_name(self.protocol)
    }
}

/// Names of the sFlow header protocols (`header_protocol` of the sampled header record).
pub(crate) fn header_protocol_name(protocol: u32) -> &'static str {
    match protocol {
        1 => "Ethernet",
        2 => "ISO 802.4 token bus",
        3 => "ISO 802.5 token ring",
        4 => "FDDI",
        5 => "frame relay",
        6 => "X.25",
        7 => "PPP",
        8 => "SMDS",
        9 => "AAL5",
        10 => "AAL5 IP",
        11 => "IPv4",
        12 => "IPv6",
        13 => "MPLS",
        14 => "POS",
        15 => "IEEE 802.11",
        16 => "IEEE 802.11 A-MPDU",
        17 => "IEEE 802.11 A-MSDU subframe",
        _ => "unknown",
    }
}

/// Writes sampled headers as an Ethernet (DLT_EN10MB) pcap stream.
pub struct SampledHeaderPcap<W: Write> {
    writer: PcapWriter<W>,
    frame: Vec<u8>,
    source: HeaderSource,
    vlans: Option<Arc<VlanFilter>>,
    /// `-x`: cut each packet where its transport payload starts.
    remove_payload: bool,
    skipped: Vec<SkippedHeaders>,
}

impl<W: Write> SampledHeaderPcap<W> {
    /// Writes the pcap file header; the stream carries the headers of flow samples (`-t`).
    pub fn new(out: W) -> io::Result<Self> {
        Self::for_source(out, HeaderSource::FlowSamples)
    }

    /// Writes the pcap file header; the stream carries the headers of `source`.
    pub fn for_source(out: W, source: HeaderSource) -> io::Result<Self> {
        Ok(SampledHeaderPcap {
            writer: PcapWriter::new(out, LinkType::ETHERNET, SNAPLEN)?,
            frame: Vec::with_capacity(256),
            source,
            vlans: None,
            remove_payload: false,
            skipped: Vec::new(),
        })
    }

    /// Leaves out the samples the filter rejects.
    pub fn with_vlan_filter(mut self, filter: Arc<VlanFilter>) -> Self {
        self.vlans = Some(filter);
        self
    }

    /// sflowtool's `-x`: each packet ends where its transport payload starts (after the TCP or
    /// UDP header), so that no content is written; headers whose payload offset is unknown
    /// are written whole, as in sflowtool.
    pub fn without_payload(mut self) -> Self {
        self.remove_payload = true;
        self
    }

    /// The header records left out so far, per header protocol, in the order first met.
    pub fn skipped(&self) -> &[SkippedHeaders] {
        &self.skipped
    }

    /// Decodes `bytes` (sFlow v5, or v2/v4) and writes up to `limit` packets for its sampled
    /// header records, as [`SampledHeaderPcap::write_datagram`] does.
    pub fn write_payload(
        &mut self,
        bytes: &[u8],
        timestamp: Timestamp,
        limit: u64,
    ) -> io::Result<Result<PcapWritten, DecodeError>> {
        match Payload::decode(bytes) {
            Ok(Payload::V5(datagram)) => self.write_datagram(&datagram, timestamp, limit),
            Ok(Payload::Legacy(datagram)) => {
                let samples = match walk_legacy_samples(&datagram, &mut Validate) {
                    Ok(samples) => samples,
                    Err(err) => return Ok(Err(err)),
                };
                let vlans = self.vlans.clone();
                let headers = datagram.samples().filter_map(|s| match (self.source, s) {
                    (HeaderSource::FlowSamples, Ok(LegacySample::Flow(flow))) => {
                        let keep = vlans.as_deref().is_none_or(|f| {
                            f.accepts(flow.flow_records().map(Ok)).unwrap_or(false)
                        });
                        match flow.packet {
                            LegacyRecord::Header(h) if keep => Some(h),
                            _ => None,
                        }
                    }
                    _ => None,
                });
                let headers: Vec<SampledHeader<'_>> = headers.collect();
                self.write_headers(headers.into_iter(), samples, timestamp, limit)
                    .map(Ok)
            }
            Err(err) => Ok(Err(err)),
        }
    }

    /// Writes up to `limit` packets for the sampled header records of `datagram`, all stamped
    /// `timestamp`; returns how many were written and what the datagram held. The whole datagram
    /// is decoded first, so a malformed datagram writes nothing and returns its error
    /// (`Ok(Err(..))`).
    pub fn write_datagram(
        &mut self,
        datagram: &Datagram<'_>,
        timestamp: Timestamp,
        limit: u64,
    ) -> io::Result<Result<PcapWritten, DecodeError>> {
        // Every sample and record is decoded first, so a malformed datagram writes nothing.
        let samples = match walk_samples(datagram, &mut Validate) {
            Ok(samples) => samples,
            Err(err) => return Ok(Err(err)),
        };
        let vlans = self.vlans.clone();
        let headers = sampled_headers(datagram, self.source, vlans.as_deref());
        self.write_headers(headers, samples, timestamp, limit)
            .map(Ok)
    }

    fn write_headers<'a>(
        &mut self,
        headers: impl Iterator<Item = SampledHeader<'a>>,
        samples: SampleCounts,
        timestamp: Timestamp,
        limit: u64,
    ) -> io::Result<PcapWritten> {
        let (mut packets, mut skipped) = (0, 0);
        for header in headers {
            if packets >= limit {
                break;
            }
            match self.build_frame(&header) {
                Some(orig_len) => {
                    self.writer.write_packet(timestamp, orig_len, &self.frame)?;
                    packets += 1;
                }
                None => {
                    skipped += 1;
                    self.count_skipped(header.protocol);
                }
            }
        }
        Ok(PcapWritten {
            packets,
            skipped,
            samples,
        })
    }

    fn count_skipped(&mut self, protocol: u32) {
        match self.skipped.iter_mut().find(|s| s.protocol == protocol) {
            Some(entry) => entry.count += 1,
            None => self.skipped.push(SkippedHeaders { protocol, count: 1 }),
        }
    }

    /// Builds the Ethernet frame for a header in `self.frame`; returns its original length, or
    /// `None` for header protocols that cannot be carried in an Ethernet stream.
    fn build_frame(&mut self, h: &SampledHeader<'_>) -> Option<u32> {
        self.frame.clear();
        // Bytes added in front of (positive) or removed from (negative) the sampled header.
        let added: i64 = match h.protocol {
            1 => {
                self.frame.extend_from_slice(h.header);
                0
            }
            11 => self.ethernet(ETHERTYPE_IPV4, h.header),
            12 => self.ethernet(ETHERTYPE_IPV6, h.header),
            13 => self.ethernet(ETHERTYPE_MPLS, h.header),
            7 | 14 => self.ppp(h)?,
            _ => return None,
        };
        if self.remove_payload
            && let Some(offset) =
                crate::header_fields::payload_offset(&crate::header::walker_input(h))
        {
            // The offset is within the sampled header; the Ethernet wrapping moves it.
            let end = (offset as i64 + added).clamp(0, self.frame.len() as i64) as usize;
            self.frame.truncate(end);
        }
        let orig_len = i64::from(h.frame_length) + added;
        Some(orig_len.clamp(0, i64::from(u32::MAX)) as u32)
    }

    /// A synthetic Ethernet header (zero MACs) with `ethertype`, then `payload`.
    fn ethernet(&mut self, ethertype: u16, payload: &[u8]) -> i64 {
        self.frame.extend_from_slice(&[0u8; 12]);
        self.frame.extend_from_slice(&ethertype.to_be_bytes());
        self.frame.extend_from_slice(payload);
        ETHERNET_HEADER_LEN as i64
    }

    /// PPP (and PPP over SONET) as a PPPoE session frame: the HDLC address/control bytes
    /// `ff 03` are dropped and a compressed 1-byte protocol field is widened, as PPPoE carries
    /// them. A Cisco HDLC frame (POS) becomes an Ethernet frame with its EtherType instead.
    /// Returns the bytes added in front of the header (negative if bytes were dropped).
    fn ppp(&mut self, h: &SampledHeader<'_>) -> Option<i64> {
        let header = h.header;
        if h.protocol == 14
            && let [0x0f | 0x8f, 0x00, hi, lo, rest @ ..] = header
        {
            return Some(self.ethernet(u16::from_be_bytes([*hi, *lo]), rest) - 4);
        }
        let (dropped, body) = match header {
            [0xff, 0x03, rest @ ..] => (2, rest),
            _ => (0, header),
        };
        // An odd first byte is a compressed protocol field (RFC 1661 §6.5).
        let widened = matches!(body.first(), Some(first) if first & 1 == 1);
        let ppp_len = body.len() + usize::from(widened);
        // The PPPoE length field holds the original PPP frame's length (protocol + data).
        let orig_ppp_len =
            i64::from(h.frame_length.saturating_sub(h.stripped)) - dropped + i64::from(widened);
        let pppoe_len = u16::try_from(orig_ppp_len.max(ppp_len as i64)).unwrap_or(u16::MAX);
        self.frame.extend_from_slice(&[0u8; 12]);
        self.frame
            .extend_from_slice(&ETHERTYPE_PPPOE_SESSION.to_be_bytes());
        self.frame.extend_from_slice(&[0x11, 0x00, 0x00, 0x00]);
        self.frame.extend_from_slice(&pppoe_len.to_be_bytes());
        if widened {
            self.frame.push(0);
        }
        self.frame.extend_from_slice(body);
        Some((ETHERNET_HEADER_LEN + PPPOE_HEADER_LEN) as i64 - dropped + i64::from(widened))
    }

    /// Flushes the pcap stream's buffered packets to the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The underlying writer (e.g. to flush a pipe after each datagram).
    pub fn get_mut(&mut self) -> &mut W {
        self.writer.get_mut()
    }
}

/// The sampled header records of the samples of `source` that pass the filter (the datagram has
/// been validated, so decode errors cannot occur here; a sample that had one would be skipped).
fn sampled_headers<'a, 'f>(
    datagram: &Datagram<'a>,
    source: HeaderSource,
    vlans: Option<&'f VlanFilter>,
) -> impl Iterator<Item = SampledHeader<'a>> + use<'a, 'f> {
    datagram
        .samples()
        .filter_map(move |s| {
            let records = match (source, s) {
                (HeaderSource::FlowSamples, Ok(Sample::Flow(flow))) => flow.records(),
                (HeaderSource::DiscardSamples, Ok(Sample::Discard(discard))) => discard.records(),
                _ => return None,
            };
            let keep = vlans.is_none_or(|f| f.accepts(records.clone()).unwrap_or(false));
            keep.then_some(records)
        })
        .flatten()
        .filter_map(|r| match r {
            Ok(FlowRecord::SampledHeader(h)) => Some(h),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DatagramInfo, Format, Formatter};

    /// The counts come from the validation pass; the text formatter counts independently while
    /// writing, so both must agree on every datagram (and on which datagrams are malformed).
    /// Every sampled header is written or counted as skipped: the `-t` promise.
    #[test]
    fn counts_agree_with_the_formatter_on_every_capture() {
        // The generated captures, and the third-party ones when ../shared is there.
        let mut files = rtflow_testkit::capture_files(&rtflow_testkit::data_dir());
        let shared = rtflow_testkit::shared(rtflow_testkit::Shared::Captures);
        if let Some(captures) = &shared {
            files.extend(rtflow_testkit::capture_files(captures));
        }
        let formatter = Formatter::new(Format::Text);
        let mut text = Vec::new();
        let (mut datagrams, mut headers) = (0u64, 0u64);
        for file in &files {
            let Ok(mut reader) = rtflow_capture::open(file) else {
                continue; // a deliberately broken capture file
            };
            let mut pcap = SampledHeaderPcap::new(Vec::new()).expect("write to Vec");
            while let Ok(Some(d)) = reader.next_datagram() {
                let expected =
                    formatter.write_datagram(&DatagramInfo::default(), d.payload, &mut text);
                let got = pcap
                    .write_payload(d.payload, d.timestamp, u64::MAX)
                    .expect("write to Vec");
                match (expected, got) {
                    (Ok(expected), Ok(got)) => {
                        assert_eq!(got.samples, expected, "{}", file.display());
                        // Every sampled header of a flow sample is written or counted as skipped.
                        assert_eq!(
                            got.packets + got.skipped,
                            got.samples.sampled_headers,
                            "{}",
                            file.display()
                        );
                        headers += got.samples.sampled_headers;
                    }
                    (Err(expected), Err(got)) => assert_eq!(got, expected, "{}", file.display()),
                    (expected, got) => panic!("{}: {expected:?} vs {got:?}", file.display()),
                }
                datagrams += 1;
            }
        }
        let least = if shared.is_some() { 10_000 } else { 400 };
        assert!(
            datagrams > least && headers > least,
            "{datagrams} datagrams, {headers} headers"
        );
    }
}
