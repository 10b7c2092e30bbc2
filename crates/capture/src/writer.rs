//! Classic pcap output (little-endian, microsecond timestamps), streamed to any `Write`.

use std::io::{self, Write};

use crate::classic::MAGIC_MICROS;
use crate::link_type::LinkType;
use crate::timestamp::Timestamp;

/// Snaplen used by tcpdump when none is given.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Writes a classic pcap stream (microsecond timestamps): the file header, then one record per packet.
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header. A `snaplen` of 0 means [`DEFAULT_SNAPLEN`].
    pub fn new(mut out: W, link_type: LinkType, snaplen: u32) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&MAGIC_MICROS.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        header[16..20].copy_from_slice(&snaplen.to_le_bytes());
        header[20..24].copy_from_slice(&u32::from(link_type.0).to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Writes one record. `data` beyond the snaplen is cut off; `orig_len` is the length of
    /// the packet on the wire (raised to the captured length if smaller).
    pub fn write_packet(
        &mut self,
        timestamp: Timestamp,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let (caplen, captured) = snap(data, self.snaplen);
        // Classic pcap has 32-bit seconds; later times saturate rather than wrap.
        let secs = u32::try_from(timestamp.secs).unwrap_or(u32::MAX);
        let mut header = [0u8; 16];
        header[0..4].copy_from_slice(&secs.to_le_bytes());
        header[4..8].copy_from_slice(&timestamp.micros().to_le_bytes());
        header[8..12].copy_from_slice(&caplen.to_le_bytes());
        header[12..16].copy_from_slice(&orig_len.max(caplen).to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(captured)
    }

    /// Flushes buffered output to the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Ends writing and returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The part of `data` a capture with `snaplen` keeps, and its length.
pub(crate) fn snap(data: &[u8], snaplen: u32) -> (u32, &[u8]) {
    let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX).min(snaplen);
    (caplen, data.get(..caplen as usize).unwrap_or(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 4).unwrap();
        writer
            .write_packet(Timestamp::new(0x0102_0304, 5_000_999), 10, b"abcdef")
            .unwrap();
        let bytes = writer.into_inner();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&bytes[4..8], &[2, 0, 4, 0]);
        assert_eq!(&bytes[16..20], &4u32.to_le_bytes());
        assert_eq!(&bytes[20..24], &1u32.to_le_bytes());
        let record = &bytes[24..];
        assert_eq!(&record[0..4], &0x0102_0304u32.to_le_bytes());
        assert_eq!(&record[4..8], &5000u32.to_le_bytes());
        assert_eq!(&record[8..12], &4u32.to_le_bytes(), "caplen cut to snaplen");
        assert_eq!(&record[12..16], &10u32.to_le_bytes());
        assert_eq!(&record[16..], b"abcd");
    }
}
