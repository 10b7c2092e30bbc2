//! pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each framed by its total length
//! at both ends. Read strictly sequentially so that pipes work; only the blocks needed for
//! packets are interpreted (SHB, IDB, EPB, SPB and the obsolete PB), the rest are skipped.

use std::io::Read;

use crate::byte_order::ByteOrder;
use crate::error::CaptureError;
use crate::link_type::LinkType;
use crate::reader::RecordMeta;
use crate::source::{Fill, Source};
use crate::timestamp::Timestamp;

/// Section Header Block type; a palindrome, so it reads the same in both byte orders.
pub(crate) const SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const MAX_BLOCK_LEN: u32 = 16 << 20;

const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

#[derive(Debug)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    units_per_sec: u64,
    offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let ticks = (u64::from(high) << 32) | u64::from(low);
        let base = Timestamp::from_ticks(ticks, self.units_per_sec);
        let secs = if self.offset_secs >= 0 {
            base.secs.saturating_add(self.offset_secs.unsigned_abs())
        } else {
            base.secs.saturating_sub(self.offset_secs.unsigned_abs())
        };
        Timestamp::new(secs, base.nanos)
    }
}

#[derive(Debug)]
pub(crate) struct PcapngState {
    order: ByteOrder,
    interfaces: Vec<Interface>,
}

impl PcapngState {
    /// Reads the first Section Header Block, whose 4-byte type was already consumed.
    pub(crate) fn read_first_section<R: Read>(
        source: &mut Source<R>,
        buf: &mut Vec<u8>,
    ) -> Result<Self, CaptureError> {
        let block_offset = source.offset().saturating_sub(4);
        let order = read_section_header(source, buf, block_offset)?;
        Ok(PcapngState {
            order,
            interfaces: Vec::new(),
        })
    }

    /// The link type of the first interface of the current section, once declared.
    pub(crate) fn first_link_type(&self) -> Option<LinkType> {
        self.interfaces.first().map(|interface| interface.link_type)
    }

    pub(crate) fn next_record<R: Read>(
        &mut self,
        source: &mut Source<R>,
        buf: &mut Vec<u8>,
    ) -> Result<Option<RecordMeta>, CaptureError> {
        loop {
            let block_offset = source.offset();
            let mut header = [0u8; 8];
            if let Fill::Eof = source.fill(&mut header, "pcapng block header")? {
                return Ok(None);
            }
            if header[..4] == SHB_MAGIC {
                self.order = read_section_header_rest(source, buf, block_offset, &header)?;
                self.interfaces.clear();
                continue;
            }
            let block_type = self.order.u32_at(&header, 0).unwrap_or(0);
            let total_len = self.order.u32_at(&header, 4).unwrap_or(0);
            let body_len = read_block_rest(source, buf, self.order, block_offset, total_len, 8)?;
            let body = buf.get(..body_len).unwrap_or_default();
            let record = match block_type {
                IDB => {
                    let interface = parse_interface(body, self.order, block_offset)?;
                    self.interfaces.push(interface);
                    None
                }
                EPB => Some(self.enhanced_packet(body, block_offset)?),
                SPB => Some(self.simple_packet(body, block_offset)?),
                OBSOLETE_PB => Some(self.obsolete_packet(body, block_offset)?),
                _ => None,
            };
            if record.is_some() {
                return Ok(record);
            }
        }
    }

    fn interface(&self, interface_id: u32, offset: u64) -> Result<&Interface, CaptureError> {
        self.interfaces
            .get(interface_id as usize)
            .ok_or(CaptureError::UnknownInterface {
                offset,
                interface_id,
            })
    }

    /// Interface id (u32), then the [`Self::timestamped_packet`] layout.
    fn enhanced_packet(&self, body: &[u8], offset: u64) -> Result<RecordMeta, CaptureError> {
        let interface_id = self.order.u32_at(body, 0);
        self.timestamped_packet(body, offset, "enhanced packet", interface_id)
    }

    /// Interface id (u16), drops count (u16), then the [`Self::timestamped_packet`] layout.
    fn obsolete_packet(&self, body: &[u8], offset: u64) -> Result<RecordMeta, CaptureError> {
        let interface_id = self.order.u16_at(body, 0).map(u32::from);
        self.timestamped_packet(body, offset, "packet", interface_id)
    }

    /// The layout shared by enhanced and obsolete packet blocks after their 4-byte interface
    /// field: timestamp (high, low), captured length, original length, then data.
    fn timestamped_packet(
        &self,
        body: &[u8],
        offset: u64,
        block: &'static str,
        interface_id: Option<u32>,
    ) -> Result<RecordMeta, CaptureError> {
        let short = CaptureError::ShortBlock { block, offset };
        let field = |at| self.order.u32_at(body, at);
        let (Some(interface_id), Some(high), Some(low), Some(caplen), Some(orig_len)) =
            (interface_id, field(4), field(8), field(12), field(16))
        else {
            return Err(short);
        };
        let data = packet_data(body, 20, caplen).ok_or(short)?;
        let interface = self.interface(interface_id, offset)?;
        Ok(RecordMeta {
            timestamp: interface.timestamp(high, low),
            orig_len,
            link_type: interface.link_type,
            interface_id,
            data,
        })
    }

    /// Original length, then data; always interface 0, no timestamp. The captured length is
    /// implied by the block length and the interface snaplen.
    fn simple_packet(&self, body: &[u8], offset: u64) -> Result<RecordMeta, CaptureError> {
        let orig_len = self.order.u32_at(body, 0).ok_or(CaptureError::ShortBlock {
            block: "simple packet",
            offset,
        })?;
        let interface = self.interface(0, offset)?;
        let mut caplen = orig_len.min(u32::try_from(body.len() - 4).unwrap_or(u32::MAX));
        if interface.snaplen > 0 {
            caplen = caplen.min(interface.snaplen);
        }
        Ok(RecordMeta {
            timestamp: Timestamp::default(),
            orig_len,
            link_type: interface.link_type,
            interface_id: 0,
            data: 4..4 + caplen as usize,
        })
    }
}

/// The range of `caplen` packet bytes starting at `start`, if the body holds them.
fn packet_data(body: &[u8], start: usize, caplen: u32) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(caplen as usize)?;
    (end <= body.len()).then_some(start..end)
}

/// Reads an SHB after its 4-byte type: length, byte-order magic, body and trailer.
fn read_section_header<R: Read>(
    source: &mut Source<R>,
    buf: &mut Vec<u8>,
    block_offset: u64,
) -> Result<ByteOrder, CaptureError> {
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&SHB_MAGIC);
    let mut length = [0u8; 4];
    source.fill_exact(&mut length, "pcapng section header")?;
    header[4..].copy_from_slice(&length);
    read_section_header_rest(source, buf, block_offset, &header)
}

/// Reads an SHB once its type and length are in `header`. The length can only be decoded
/// after the byte-order magic that follows it.
fn read_section_header_rest<R: Read>(
    source: &mut Source<R>,
    buf: &mut Vec<u8>,
    block_offset: u64,
    header: &[u8; 8],
) -> Result<ByteOrder, CaptureError> {
    let mut magic = [0u8; 4];
    source.fill_exact(&mut magic, "pcapng section header")?;
    let order = [ByteOrder::Little, ByteOrder::Big]
        .into_iter()
        .find(|order| order.u32_at(&magic, 0) == Some(BYTE_ORDER_MAGIC))
        .ok_or(CaptureError::BadByteOrderMagic {
            offset: block_offset,
            magic,
        })?;
    let total_len = order.u32_at(header, 4).unwrap_or(0);
    if total_len < 28 {
        return Err(CaptureError::BadBlockLength {
            offset: block_offset,
            len: total_len,
        });
    }
    let body_len = read_block_rest(source, buf, order, block_offset, total_len, 12)?;
    let body = buf.get(..body_len).unwrap_or_default();
    let (Some(major), Some(minor)) = (order.u16_at(body, 0), order.u16_at(body, 2)) else {
        return Err(CaptureError::ShortBlock {
            block: "section header",
            offset: block_offset,
        });
    };
    if major != 1 {
        return Err(CaptureError::UnsupportedVersion {
            offset: block_offset,
            major,
            minor,
        });
    }
    Ok(order)
}

/// Validates `total_len`, reads the remainder of the block (after `consumed` bytes) into
/// `buf`, checks the trailing length copy, and returns the body length (without trailer).
fn read_block_rest<R: Read>(
    source: &mut Source<R>,
    buf: &mut Vec<u8>,
    order: ByteOrder,
    block_offset: u64,
    total_len: u32,
    consumed: u32,
) -> Result<usize, CaptureError> {
    if total_len > MAX_BLOCK_LEN {
        return Err(CaptureError::TooLarge {
            what: "pcapng block",
            offset: block_offset,
            len: u64::from(total_len),
            limit: u64::from(MAX_BLOCK_LEN),
        });
    }
    // 4 bytes type, 4 length, 4 trailing length: 12 is the smallest valid block.
    if total_len < 12 || !total_len.is_multiple_of(4) || total_len < consumed + 4 {
        return Err(CaptureError::BadBlockLength {
            offset: block_offset,
            len: total_len,
        });
    }
    let rest_len = (total_len - consumed) as usize;
    source.read_vec(buf, rest_len, "pcapng block")?;
    let body_len = rest_len - 4;
    let trailer = order.u32_at(buf, body_len).unwrap_or(0);
    if trailer != total_len {
        return Err(CaptureError::BlockLengthMismatch {
            offset: block_offset,
            len: total_len,
            trailer,
        });
    }
    Ok(body_len)
}

/// Link type (u16), reserved (u16), snaplen (u32), then options.
fn parse_interface(body: &[u8], order: ByteOrder, offset: u64) -> Result<Interface, CaptureError> {
    let (Some(link_type), Some(snaplen)) = (order.u16_at(body, 0), order.u32_at(body, 4)) else {
        return Err(CaptureError::ShortBlock {
            block: "interface description",
            offset,
        });
    };
    let mut interface = Interface {
        link_type: LinkType(link_type),
        snaplen,
        units_per_sec: 1_000_000,
        offset_secs: 0,
    };
    for (code, value) in options(body.get(8..).unwrap_or_default(), order) {
        match code {
            OPT_IF_TSRESOL => {
                if let Some(&tsresol) = value.first() {
                    interface.units_per_sec = units_per_sec(tsresol)
                        .ok_or(CaptureError::BadTimestampResolution { offset, tsresol })?;
                }
            }
            OPT_IF_TSOFFSET => {
                if let Some(secs) = order.i64_at(value, 0) {
                    interface.offset_secs = secs;
                }
            }
            _ => {}
        }
    }
    Ok(interface)
}

/// `if_tsresol`: bit 7 clear = 10^-n seconds, set = 2^-n seconds.
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        2u64.checked_pow(exponent)
    }
}

/// Iterates (code, value) options, stopping at opt_endofopt or at the first option that
/// does not fit (options are informative, so a damaged tail is ignored, not fatal).
fn options(mut bytes: &[u8], order: ByteOrder) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = order.u16_at(bytes, 0)?;
        let len = usize::from(order.u16_at(bytes, 2)?);
        if code == OPT_END {
            return None;
        }
        let value = bytes.get(4..4 + len)?;
        let padded = (4 + len).div_ceil(4) * 4;
        bytes = bytes.get(padded..).unwrap_or_default();
        Some((code, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(units_per_sec(6), Some(1_000_000));
        assert_eq!(units_per_sec(9), Some(1_000_000_000));
        assert_eq!(units_per_sec(0x80 | 10), Some(1024));
        assert_eq!(units_per_sec(20), None);
        assert_eq!(units_per_sec(0x80 | 64), None);
    }

    #[test]
    fn options_stop_at_end_and_at_damage() {
        // if_tsresol=9 (padded to 4), then opt_endofopt, then junk that must not be seen.
        let bytes = [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0];
        let parsed: Vec<_> = options(&bytes, ByteOrder::Little).collect();
        assert_eq!(parsed, vec![(9u16, &[9u8][..])]);
        // An option claiming more bytes than remain ends the iteration.
        let damaged = [2, 0, 200, 0, 1, 2];
        assert_eq!(options(&damaged, ByteOrder::Little).count(), 0);
    }
}
