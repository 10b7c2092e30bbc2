//! IPv4 (options skipped) and IPv6 (extension header chain walked to the final protocol).

use super::{Continuation, LevelDecoder};
use crate::bytes::{be16, ipv4_at, ipv6_at, u8_at};
use crate::fields::{Ipv4, Ipv6};
use crate::stack::Proto;

const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;

const EXT_HOP_BY_HOP: u8 = 0;
const EXT_ROUTING: u8 = 43;
const EXT_FRAGMENT: u8 = 44;
const EXT_AUTH: u8 = 51;
const EXT_DEST_OPTS: u8 = 60;

pub(super) fn offset16(off: usize) -> u16 {
    u16::try_from(off).unwrap_or(u16::MAX)
}

impl LevelDecoder<'_> {
    pub(super) fn ipv4(&mut self, start: usize) -> Continuation {
        let b = self.bytes;
        let Some(version_ihl) = u8_at(b, start) else {
            return self.cut_off(Proto::Ip);
        };
        let header_len = usize::from(version_ihl & 0x0f) * 4;
        if version_ihl >> 4 != 4 || header_len < IPV4_MIN_HEADER_LEN {
            return Continuation::Done;
        }
        let fields = (
            u8_at(b, start + 1),
            be16(b, start + 2),
            be16(b, start + 4),
            be16(b, start + 6),
            u8_at(b, start + 8),
            u8_at(b, start + 9),
            ipv4_at(b, start + 12),
            ipv4_at(b, start + 16),
        );
        let (
            Some(tos),
            Some(total_length),
            Some(id),
            Some(flags_frag),
            Some(ttl),
            Some(protocol),
            Some(src),
            Some(dst),
        ) = fields
        else {
            return self.cut_off(Proto::Ip);
        };
        let ip = Ipv4 {
            src,
            dst,
            protocol,
            tos,
            ttl,
            id,
            flags: (flags_frag >> 13) as u8,
            fragment_offset: flags_frag & 0x1fff,
            total_length,
            header_len: header_len as u8,
            offset: offset16(start),
        };
        self.headers.ipv4 = Some(ip);
        self.stack.push(Proto::Ip);
        if ip.is_later_fragment() {
            return Continuation::Done;
        }
        let payload = start + header_len;
        if payload > b.len() {
            // Options run past the captured bytes.
            return self.cut_off(Proto::Ip);
        }
        self.transport(payload, protocol, false)
    }

    pub(super) fn ipv6(&mut self, start: usize) -> Continuation {
        let b = self.bytes;
        let Some(first) = u8_at(b, start) else {
            return self.cut_off(Proto::Ip6);
        };
        if first >> 4 != 6 {
            return Continuation::Done;
        }
        let fields = (
            be16(b, start),
            u8_at(b, start + 1),
            be16(b, start + 2),
            be16(b, start + 4),
            u8_at(b, start + 6),
            u8_at(b, start + 7),
            ipv6_at(b, start + 8),
            ipv6_at(b, start + 24),
        );
        let (
            Some(ver_tc),
            Some(tc_fl),
            Some(fl_low),
            Some(payload_length),
            Some(next_header),
            Some(hop_limit),
            Some(src),
            Some(dst),
        ) = fields
        else {
            return self.cut_off(Proto::Ip6);
        };
        let mut ip = Ipv6::new(src, dst, offset16(start));
        ip.traffic_class = ((ver_tc >> 4) & 0xff) as u8;
        ip.flow_label = (u32::from(tc_fl & 0x0f) << 16) | u32::from(fl_low);
        ip.payload_length = payload_length;
        ip.next_header = next_header;
        ip.hop_limit = hop_limit;
        self.stack.push(Proto::Ip6);

        let (protocol, payload) = walk_extensions(b, &mut ip, next_header, start + IPV6_HEADER_LEN);
        ip.protocol = protocol;
        self.headers.ipv6 = Some(ip);
        let Some(payload) = payload else {
            return self.cut_off(Proto::Ip6);
        };
        if ip.fragment_offset != 0 {
            return Continuation::Done;
        }
        self.transport(payload, protocol, true)
    }
}

/// Follows the extension header chain from `protocol` at `pos`, recording each header (and a
/// fragment offset) in `ip`. Returns the last protocol reached and, unless the chain is cut off
/// by the captured bytes or overflows `ip`'s extension list, where its payload starts.
fn walk_extensions(
    b: &[u8],
    ip: &mut Ipv6,
    mut protocol: u8,
    mut pos: usize,
) -> (u8, Option<usize>) {
    while matches!(
        protocol,
        EXT_HOP_BY_HOP | EXT_ROUTING | EXT_FRAGMENT | EXT_AUTH | EXT_DEST_OPTS
    ) {
        let (Some(next), Some(len_field)) = (u8_at(b, pos), u8_at(b, pos + 1)) else {
            return (protocol, None);
        };
        if !ip.push_extension(protocol) {
            return (protocol, None);
        }
        let ext_len = match protocol {
            // AH counts 4-octet units minus 2 (RFC 4302); the others 8-octet units minus 1.
            EXT_AUTH => (usize::from(len_field) + 2) * 4,
            _ => (usize::from(len_field) + 1) * 8,
        };
        if protocol == EXT_FRAGMENT {
            let Some(frag) = be16(b, pos + 2) else {
                return (protocol, None);
            };
            ip.fragment_offset = frag >> 3;
            ip.more_fragments = frag & 1 != 0;
        }
        protocol = next;
        pos += ext_len;
        if pos > b.len() {
            return (protocol, None);
        }
    }
    (protocol, Some(pos))
}
