//! Format-agnostic packet reader with UDP extraction.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use crate::classic::{self, ClassicState};
use crate::decap::{UdpLocation, locate_udp};
use crate::error::CaptureError;
use crate::link_type::LinkType;
use crate::pcapng::{self, PcapngState};
use crate::skip::{SkipCounts, SkipReason};
use crate::source::{Fill, Source};
use crate::timestamp::Timestamp;

/// A frame's timestamp with its UDP payload location, or why it has none.
type Located = (Timestamp, Result<UdpLocation, SkipReason>);

const READ_BUFFER: usize = 256 * 1024;

/// Which container format the input turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap.
    Pcap {
        /// The file's timestamps are in nanoseconds (magic `0xa1b23c4d`), not microseconds.
        nanosecond: bool,
    },
    /// pcapng (any number of sections and interfaces).
    Pcapng,
}

/// One captured frame, as stored in the file.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// When the frame was captured.
    pub timestamp: Timestamp,
    /// Length on the wire; `data` may be shorter (snaplen).
    pub orig_len: u32,
    /// The link-layer header type of the frame's interface.
    pub link_type: LinkType,
    /// pcapng interface index; always 0 for classic pcap.
    pub interface_id: u32,
    /// The captured bytes, starting at the link-layer header.
    pub data: &'a [u8],
}

/// A UDP datagram found in a captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// When the frame was captured.
    pub timestamp: Timestamp,
    /// Source address and UDP port.
    pub src: SocketAddr,
    /// Destination address and UDP port.
    pub dst: SocketAddr,
    /// The UDP payload (an sFlow datagram, for rtflow).
    pub payload: &'a [u8],
}

/// The outcome for one captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// The frame holds a complete UDP datagram.
    Datagram(UdpDatagram<'a>),
    /// The frame holds no usable UDP datagram.
    Skipped {
        /// When the frame was captured.
        timestamp: Timestamp,
        /// Why it was skipped.
        reason: SkipReason,
    },
}

/// A record located in the reader's buffer, without borrowing it.
#[derive(Debug)]
pub(crate) struct RecordMeta {
    pub(crate) timestamp: Timestamp,
    pub(crate) orig_len: u32,
    pub(crate) link_type: LinkType,
    pub(crate) interface_id: u32,
    pub(crate) data: Range<usize>,
}

#[derive(Debug)]
enum Format {
    Classic(ClassicState),
    Pcapng(PcapngState),
}

/// Streaming reader for classic pcap and pcapng, from any `Read` (no seeking, so pipes and
/// stdin work). Wrap unbuffered sources in a `BufReader`, or use [`open`].
///
/// Each call reuses one internal buffer: returned packets borrow the reader until the next call.
pub struct PcapReader<R> {
    source: Source<R>,
    format: Format,
    buf: Vec<u8>,
    skips: SkipCounts,
    packets: u64,
}

/// Opens a capture file, or standard input for `-`, auto-detecting pcap vs pcapng.
pub fn open(path: impl AsRef<Path>) -> Result<PcapReader<Box<dyn Read + Send>>, CaptureError> {
    let path = path.as_ref();
    let input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(BufReader::with_capacity(READ_BUFFER, io::stdin()))
    } else {
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Box::new(BufReader::with_capacity(READ_BUFFER, file))
    };
    PcapReader::new(input)
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header (and for pcapng the first section header) to detect the format.
    pub fn new(input: R) -> Result<Self, CaptureError> {
        let mut source = Source::new(input);
        let mut buf = Vec::new();
        let mut magic = [0u8; 4];
        if let Fill::Eof = source.fill(&mut magic, "file header")? {
            return Err(CaptureError::Empty);
        }
        let format = if magic == pcapng::SHB_MAGIC {
            Format::Pcapng(PcapngState::read_first_section(&mut source, &mut buf)?)
        } else if let Some((order, nanosecond)) = classic::detect(magic) {
            Format::Classic(ClassicState::read_header(order, nanosecond, &mut source)?)
        } else {
            return Err(CaptureError::UnknownMagic { magic });
        };
        Ok(PcapReader {
            source,
            format,
            buf,
            skips: SkipCounts::default(),
            packets: 0,
        })
    }

    /// The container format detected from the file's magic number.
    pub fn format(&self) -> CaptureFormat {
        match &self.format {
            Format::Classic(state) => CaptureFormat::Pcap {
                nanosecond: state.nanosecond,
            },
            Format::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }

    /// The file's link type (classic pcap), or the first interface's (pcapng, once its
    /// interface block has been read; packets carry their own link type in any case).
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.format {
            Format::Classic(state) => Some(state.link_type),
            Format::Pcapng(state) => state.first_link_type(),
        }
    }

    /// Classic pcap snaplen from the file header.
    pub fn snaplen(&self) -> Option<u32> {
        match &self.format {
            Format::Classic(state) => Some(state.snaplen),
            Format::Pcapng(_) => None,
        }
    }

    /// Packets read so far (datagrams and skipped ones).
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Packets that yielded no UDP datagram, by reason (counted by `next_datagram` and
    /// `next_extracted`, not by `next_packet`).
    pub fn skip_counts(&self) -> &SkipCounts {
        &self.skips
    }

    /// Bytes consumed from the input so far.
    pub fn byte_offset(&self) -> u64 {
        self.source.offset()
    }

    fn next_record(&mut self) -> Result<Option<RecordMeta>, CaptureError> {
        let record = match &mut self.format {
            Format::Classic(state) => state.next_record(&mut self.source, &mut self.buf)?,
            Format::Pcapng(state) => state.next_record(&mut self.source, &mut self.buf)?,
        };
        if record.is_some() {
            self.packets += 1;
        }
        Ok(record)
    }

    fn slice(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// The next captured frame, whatever it contains; `None` at the end of the input.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let Some(record) = self.next_record()? else {
            return Ok(None);
        };
        Ok(Some(Packet {
            timestamp: record.timestamp,
            orig_len: record.orig_len,
            link_type: record.link_type,
            interface_id: record.interface_id,
            data: self.slice(record.data),
        }))
    }

    /// The next frame as either a UDP datagram or a counted skip reason.
    pub fn next_extracted(&mut self) -> Result<Option<Extracted<'_>>, CaptureError> {
        let Some((timestamp, located)) = self.next_located()? else {
            return Ok(None);
        };
        Ok(Some(match located {
            Ok(location) => Extracted::Datagram(self.datagram(timestamp, location)),
            Err(reason) => Extracted::Skipped { timestamp, reason },
        }))
    }

    /// The next UDP datagram, counting (in [`Self::skip_counts`]) the frames passed over.
    pub fn next_datagram(&mut self) -> Result<Option<UdpDatagram<'_>>, CaptureError> {
        loop {
            let Some((timestamp, located)) = self.next_located()? else {
                return Ok(None);
            };
            if let Ok(location) = located {
                return Ok(Some(self.datagram(timestamp, location)));
            }
        }
    }

    /// Reads the next frame and locates its UDP payload (as a range of the read buffer),
    /// counting the skip reason when there is none.
    fn next_located(&mut self) -> Result<Option<Located>, CaptureError> {
        let Some(record) = self.next_record()? else {
            return Ok(None);
        };
        let frame = self.slice(record.data.clone());
        let located = locate_udp(record.link_type, frame).map(|location| UdpLocation {
            payload: shift(location.payload, record.data.start),
            ..location
        });
        if let Err(reason) = located {
            self.skips.record(reason);
        }
        Ok(Some((record.timestamp, located)))
    }

    fn datagram(&self, timestamp: Timestamp, location: UdpLocation) -> UdpDatagram<'_> {
        UdpDatagram {
            timestamp,
            src: location.src,
            dst: location.dst,
            payload: self.slice(location.payload),
        }
    }
}

fn shift(range: Range<usize>, by: usize) -> Range<usize> {
    range.start + by..range.end + by
}
