//! `-t`: a libpcap stream of the sampled packet headers, one Ethernet frame per sampled header
//! record (sflowtool writes one per flow sample, from whatever header state was left, which is
//! wrong when other records follow the header).

use std::io::{self, Write};

use rtflow_capture::{LinkType, PcapWriter, Timestamp};
use rtflow_sflow::{Datagram, DecodeError, FlowRecord, Sample, SampledHeader};

const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const ETHERNET_HEADER_LEN: u32 = 14;
/// sflowtool's snaplen for this stream.
const SNAPLEN: u32 = 65_536;

/// Writes sampled headers as an Ethernet (DLT_EN10MB) pcap stream.
pub struct SampledHeaderPcap<W: Write> {
    writer: PcapWriter<W>,
    frame: Vec<u8>,
}

impl<W: Write> SampledHeaderPcap<W> {
    /// Writes the pcap file header.
    pub fn new(out: W) -> io::Result<Self> {
        Ok(SampledHeaderPcap {
            writer: PcapWriter::new(out, LinkType::ETHERNET, SNAPLEN)?,
            frame: Vec::with_capacity(256),
        })
    }

    /// Writes up to `limit` packets for the sampled header records of `datagram`, all stamped
    /// `timestamp`; returns how many were written. The whole datagram is decoded first, so a
    /// malformed datagram writes nothing and returns its error (`Ok(Err(..))`).
    pub fn write_datagram(
        &mut self,
        datagram: &Datagram<'_>,
        timestamp: Timestamp,
        limit: u64,
    ) -> io::Result<Result<u64, DecodeError>> {
        if let Err(err) = validate(datagram) {
            return Ok(Err(err));
        }
        let mut written = 0;
        for header in sampled_headers(datagram) {
            if written >= limit {
                break;
            }
            if let Some(orig_len) = self.build_frame(&header) {
                self.writer.write_packet(timestamp, orig_len, &self.frame)?;
                written += 1;
            }
        }
        Ok(Ok(written))
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

fn validate(datagram: &Datagram<'_>) -> Result<(), DecodeError> {
    for sample in datagram.samples() {
        match sample? {
            Sample::Flow(s) => s.records().try_for_each(|r| r.map(drop))?,
            Sample::Discard(s) => s.records().try_for_each(|r| r.map(drop))?,
            Sample::Counter(s) => s.records().try_for_each(|r| r.map(drop))?,
            Sample::Unknown(_) => {}
        }
    }
    Ok(())
}

/// The sampled header records of the flow samples (not of discard samples: `-T` territory).
fn sampled_headers<'a>(
    datagram: &Datagram<'a>,
) -> impl Iterator<Item = SampledHeader<'a>> + use<'a> {
    datagram
        .samples()
        .filter_map(|s| match s {
            Ok(Sample::Flow(flow)) => Some(flow.records()),
            _ => None,
        })
        .flatten()
        .filter_map(|r| match r {
            Ok(FlowRecord::SampledHeader(h)) => Some(h),
            _ => None,
        })
}
