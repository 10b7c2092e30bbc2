//! Classic libpcap files: 24-byte file header, then 16-byte record headers each followed by
//! the captured bytes. Either byte order, microsecond or nanosecond timestamps.

use std::io::Read;

use crate::byte_order::ByteOrder;
use crate::error::CaptureError;
use crate::link_type::LinkType;
use crate::reader::RecordMeta;
use crate::source::{Fill, Source};
use crate::timestamp::Timestamp;

/// Largest record accepted; anything bigger is a corrupt length field, not a packet.
pub(crate) const MAX_RECORD_LEN: u32 = 16 << 20;

pub(crate) const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
pub(crate) const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

#[derive(Debug)]
pub(crate) struct ClassicState {
    order: ByteOrder,
    pub(crate) nanosecond: bool,
    pub(crate) link_type: LinkType,
    pub(crate) snaplen: u32,
}

/// Byte order and timestamp precision announced by a classic pcap magic number.
pub(crate) fn detect(magic: [u8; 4]) -> Option<(ByteOrder, bool)> {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        match order.u32_at(&magic, 0) {
            Some(MAGIC_MICROS) => return Some((order, false)),
            Some(MAGIC_NANOS) => return Some((order, true)),
            _ => {}
        }
    }
    None
}

impl ClassicState {
    /// Reads the rest of the file header, after the 4 magic bytes.
    pub(crate) fn read_header<R: Read>(
        order: ByteOrder,
        nanosecond: bool,
        source: &mut Source<R>,
    ) -> Result<Self, CaptureError> {
        // version (2+2), thiszone (4), sigfigs (4), snaplen (4), link type (4).
        let mut rest = [0u8; 20];
        source.fill_exact(&mut rest, "pcap file header")?;
        let snaplen = order.u32_at(&rest, 12).unwrap_or(0);
        // The upper 16 bits may carry FCS information; the link type is the low half.
        let link_field = order.u32_at(&rest, 16).unwrap_or(0);
        Ok(ClassicState {
            order,
            nanosecond,
            link_type: LinkType((link_field & 0xffff) as u16),
            snaplen,
        })
    }

    pub(crate) fn next_record<R: Read>(
        &self,
        source: &mut Source<R>,
        buf: &mut Vec<u8>,
    ) -> Result<Option<RecordMeta>, CaptureError> {
        let record_offset = source.offset();
        let mut header = [0u8; 16];
        if let Fill::Eof = source.fill(&mut header, "pcap record header")? {
            return Ok(None);
        }
        let field = |at| self.order.u32_at(&header, at).unwrap_or(0);
        let (secs, fraction, caplen, orig_len) = (field(0), field(4), field(8), field(12));
        if caplen > MAX_RECORD_LEN {
            return Err(CaptureError::TooLarge {
                what: "pcap record",
                offset: record_offset,
                len: u64::from(caplen),
                limit: u64::from(MAX_RECORD_LEN),
            });
        }
        source.read_vec(buf, caplen as usize, "pcap record data")?;
        let timestamp = if self.nanosecond {
            Timestamp::new(u64::from(secs), fraction)
        } else {
            Timestamp::from_micros(u64::from(secs), fraction)
        };
        Ok(Some(RecordMeta {
            timestamp,
            orig_len,
            link_type: self.link_type,
            interface_id: 0,
            data: 0..buf.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_all_four_magics() {
        assert_eq!(
            detect([0xd4, 0xc3, 0xb2, 0xa1]),
            Some((ByteOrder::Little, false))
        );
        assert_eq!(
            detect([0xa1, 0xb2, 0xc3, 0xd4]),
            Some((ByteOrder::Big, false))
        );
        assert_eq!(
            detect([0x4d, 0x3c, 0xb2, 0xa1]),
            Some((ByteOrder::Little, true))
        );
        assert_eq!(
            detect([0xa1, 0xb2, 0x3c, 0x4d]),
            Some((ByteOrder::Big, true))
        );
        assert_eq!(detect([0x0a, 0x0d, 0x0d, 0x0a]), None);
    }
}
