//! pcapng output: one section (little-endian), one interface with microsecond timestamps, and an
//! Enhanced Packet Block per packet. Streams to any `Write`, like [`crate::PcapWriter`].

use std::io::{self, Write};

use crate::link_type::LinkType;
use crate::timestamp::Timestamp;
use crate::writer::{DEFAULT_SNAPLEN, snap};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Writes a pcapng file; `write_packet` takes the same arguments as [`crate::PcapWriter`]'s.
pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    /// One packet block, reused.
    block: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and the interface description. A `snaplen` of 0 means
    /// [`DEFAULT_SNAPLEN`].
    pub fn new(mut out: W, link_type: LinkType, snaplen: u32) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let mut header = Vec::with_capacity(48);
        // Section Header Block: no options, section length unknown (-1).
        put(&mut header, SHB);
        put(&mut header, 28);
        put(&mut header, BYTE_ORDER_MAGIC);
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(&u64::MAX.to_le_bytes());
        put(&mut header, 28);
        // Interface Description Block: no options, so timestamps are in microseconds.
        put(&mut header, IDB);
        put(&mut header, 20);
        header.extend_from_slice(&link_type.0.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        put(&mut header, snaplen);
        put(&mut header, 20);
        out.write_all(&header)?;
        Ok(Self {
            out,
            snaplen,
            block: Vec::new(),
        })
    }

    /// Writes one Enhanced Packet Block. `data` beyond the snaplen is cut off; `orig_len` is the
    /// length on the wire (raised to the captured length if smaller).
    pub fn write_packet(
        &mut self,
        timestamp: Timestamp,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let (caplen, captured) = snap(data, self.snaplen);
        let padded = captured.len().div_ceil(4) * 4;
        let total = u32::try_from(32 + padded)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too large"))?;
        let micros = timestamp
            .secs
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(timestamp.micros()));
        let block = &mut self.block;
        block.clear();
        put(block, EPB);
        put(block, total);
        put(block, 0); // interface 0
        put(block, (micros >> 32) as u32);
        put(block, micros as u32);
        put(block, caplen);
        put(block, orig_len.max(caplen));
        block.extend_from_slice(captured);
        block.resize(28 + padded, 0);
        put(block, total);
        self.out.write_all(block)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn put(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaptureFormat, PcapReader};

    #[test]
    fn written_file_reads_back_with_times_and_lengths() {
        let mut writer = PcapngWriter::new(Vec::new(), LinkType::ETHERNET, 0).unwrap();
        let frame = crate::build_udp_frame(
            "10.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:6343".parse().unwrap(),
            b"hello",
        )
        .unwrap();
        writer
            .write_packet(Timestamp::new(1_767_225_600, 250_000_000), 0, &frame)
            .unwrap();
        writer
            .write_packet(
                Timestamp::new(1_767_225_601, 1_000),
                0,
                &frame[..frame.len() - 1],
            )
            .unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes.len() % 4, 0);
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.format(), CaptureFormat::Pcapng);
        let first = reader.next_datagram().unwrap().unwrap();
        assert_eq!(first.payload, b"hello");
        assert_eq!(first.timestamp, Timestamp::new(1_767_225_600, 250_000_000));
        assert_eq!(first.src, "10.0.0.1:40000".parse().unwrap());
        let second = reader.next_packet().unwrap().unwrap();
        assert_eq!(second.timestamp, Timestamp::new(1_767_225_601, 1_000));
        assert_eq!(second.data.len(), frame.len() - 1);
        assert!(reader.next_packet().unwrap().is_none());
    }
}
