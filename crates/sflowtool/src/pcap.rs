//! `-t` / `-T`: a libpcap stream of the sampled packet headers of flow samples (`-t`) or of the
//! dropped packets' headers in discard samples (`-T`), one Ethernet frame per sampled header
//! record (sflowtool writes one per sample, from whatever header state was left, which is
//! wrong when other records follow the header).

use std::io::{self, Write};
use std::sync::Arc;

use rtflow_capture::{LinkType, PcapWriter, Timestamp};
use rtflow_sflow::{Datagram, DecodeError, FlowRecord, Sample, SampledHeader};

use crate::SampleCounts;
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

const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const ETHERNET_HEADER_LEN: u32 = 14;
/// sflowtool's snaplen for this stream.
const SNAPLEN: u32 = 65_536;

/// What [`SampledHeaderPcap::write_datagram`] did with one datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapWritten {
    /// Packets written (at most the limit passed in).
    pub packets: u64,
    /// What the datagram held, counted while validating it.
    pub samples: SampleCounts,
}

/// Writes sampled headers as an Ethernet (DLT_EN10MB) pcap stream.
pub struct SampledHeaderPcap<W: Write> {
    writer: PcapWriter<W>,
    frame: Vec<u8>,
    source: HeaderSource,
    vlans: Option<Arc<VlanFilter>>,
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
        })
    }

    /// Leaves out the samples the filter rejects.
    pub fn with_vlan_filter(mut self, filter: Arc<VlanFilter>) -> Self {
        self.vlans = Some(filter);
        self
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
        let samples = match validate_and_count(datagram) {
            Ok(samples) => samples,
            Err(err) => return Ok(Err(err)),
        };
        let mut packets = 0;
        let vlans = self.vlans.clone();
        for header in sampled_headers(datagram, self.source, vlans.as_deref()) {
            if packets >= limit {
                break;
            }
            if let Some(orig_len) = self.build_frame(&header) {
                self.writer.write_packet(timestamp, orig_len, &self.frame)?;
                packets += 1;
            }
        }
        Ok(Ok(PcapWritten { packets, samples }))
    }

    /// Builds the Ethernet frame for a header in `self.frame`; returns its original length, or
    /// `None` for header protocols that cannot be carried in an Ethernet stream.
    fn build_frame(&mut self, h: &SampledHeader<'_>) -> Option<u32> {
        self.frame.clear();
        let ethertype = match h.protocol {
            1 => {
                self.frame.extend_from_slice(h.header);
                return Some(h.frame_length);
            }
            11 => ETHERTYPE_IPV4,
            12 => ETHERTYPE_IPV6,
            _ => return None,
        };
        // A synthetic Ethernet header (zero MACs) keeps the stream a single link type.
        self.frame.extend_from_slice(&[0u8; 12]);
        self.frame.extend_from_slice(&ethertype);
        self.frame.extend_from_slice(h.header);
        Some(h.frame_length.saturating_add(ETHERNET_HEADER_LEN))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    pub fn get_mut(&mut self) -> &mut W {
        self.writer.get_mut()
    }
}

/// Decodes every sample and record (so that a malformed datagram is rejected before anything is
/// written), counting them on the way.
fn validate_and_count(datagram: &Datagram<'_>) -> Result<SampleCounts, DecodeError> {
    let mut counts = SampleCounts::default();
    for sample in datagram.samples() {
        match sample? {
            Sample::Flow(s) => {
                counts.flow_samples += 1;
                for record in s.records() {
                    if matches!(record?, FlowRecord::SampledHeader(_)) {
                        counts.sampled_headers += 1;
                    }
                }
            }
            Sample::Discard(s) => {
                counts.discard_samples += 1;
                s.records().try_for_each(|r| r.map(drop))?;
            }
            Sample::Counter(s) => {
                counts.counter_samples += 1;
                s.records().try_for_each(|r| r.map(drop))?;
            }
            Sample::Unknown(_) => counts.other_samples += 1,
        }
    }
    Ok(counts)
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
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::{DatagramInfo, Format, Formatter};

    fn pcap_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("captures directory (shared/ beside the repo)");
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pcap_files(&path, found);
            } else if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng")
            {
                found.push(path);
            }
        }
    }

    /// The counts come from the validation pass; the text formatter counts independently while
    /// writing, so both must agree on every datagram (and on which datagrams are malformed).
    #[test]
    fn counts_agree_with_the_formatter_on_every_capture() {
        // The generated captures, and the third-party ones when ../shared is there.
        let mut files = Vec::new();
        pcap_files(&rtflow_testkit::data_dir(), &mut files);
        let shared = rtflow_testkit::shared(rtflow_testkit::Shared::Captures);
        if let Some(captures) = &shared {
            pcap_files(captures, &mut files);
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
                let got = Datagram::decode(d.payload).and_then(|datagram| {
                    pcap.write_datagram(&datagram, d.timestamp, u64::MAX)
                        .expect("write to Vec")
                });
                match (expected, got) {
                    (Ok(expected), Ok(got)) => {
                        assert_eq!(got.samples, expected, "{}", file.display());
                        assert!(got.packets <= got.samples.sampled_headers);
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
