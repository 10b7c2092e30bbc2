//! The per-header fields sflowtool prints for a sampled header record (0:1), in sflowtool's order
//! and with its quirks, derived from sflowtool's `decodeLinkLayer`, `decodeIPV4`, `decodeIPV6` and
//! `decodeIPLayer4`. Deliberately independent of [`rtflow_packet::decode`] (the analytics engine's
//! decoder): sflowtool decodes less (no MPLS,
//! no tunnels, ICMP only over IPv4) and its output must be matched exactly.
//!
//! 802.11 headers (header protocol 15) give sflowtool's `decode80211MAC` fields: `srcMAC`,
//! `dstMAC`, `txMAC`, `rxMAC` of data frames, nothing above the MAC layer.
//!
//! Known differences: sflowtool may read past the captured header for a TCP header cut short
//! (8..13 bytes left); here `TCPFlags` is then omitted. Likewise for a wireless-bridge 802.11 frame
//! (to-DS and from-DS) shorter than its fourth address: `srcMAC` is then omitted.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use rtflow_packet::bytes::{array_at, be16, ipv4_at, ipv6_at, mac_at, u8_at};
use rtflow_packet::format::{Ipv6Full, MacHex};
use rtflow_packet::{HEADER_PROTOCOL_ETHERNET, HEADER_PROTOCOL_IPV4, HEADER_PROTOCOL_IPV6};

/// The sampled header record fields sflowtool's header decode depends on.
#[derive(Clone, Copy, Debug)]
pub struct SampledHeader<'a> {
    /// sFlow header protocol of the sampled header (1 = Ethernet, 11 = IPv4, 12 = IPv6).
    pub header_protocol: u32,
    /// Length of the original frame on the wire, in bytes.
    pub frame_length: u32,
    /// Bytes removed from the frame before sampling (e.g. the FCS).
    pub stripped: u32,
    /// The sampled bytes, starting at the header protocol's first layer.
    pub header: &'a [u8],
}

/// A field name; QinQ tags beyond the first get a depth suffix (`decodedVLAN.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldName {
    /// sflowtool's field name (`srcMAC`, `decodedVLAN`, …).
    pub name: &'static str,
    /// Position of a repeated field after the first (QinQ tags), `None` for the first.
    pub depth: Option<u32>,
}

impl FieldName {
    const fn plain(name: &'static str) -> Self {
        FieldName { name, depth: None }
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.depth {
            Some(depth) => write!(f, "{}.{}", self.name, depth),
            None => f.write_str(self.name),
        }
    }
}

impl PartialEq<&str> for FieldName {
    fn eq(&self, other: &&str) -> bool {
        self.depth.is_none() && self.name == *other
    }
}

/// A field value; `Display` renders it exactly as sflowtool prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// A number printed in decimal.
    U32(u32),
    /// sflowtool prints `IPSize` with `%d` from an unsigned subtraction, so it can be negative.
    I32(i32),
    /// A MAC address printed as 12 lowercase hex digits, no separators.
    Mac([u8; 6]),
    /// An IPv4 address in dotted decimal.
    Ipv4(Ipv4Addr),
    /// An IPv6 address in full form (sflowtool does not compress zeros).
    Ipv6(Ipv6Addr),
    /// `0x%1x` (IPv6 flow label).
    Hex(u32),
    /// Uppercase hex bytes joined by `-` (`00-80-C2`).
    Oui([u8; 3]),
    /// A fixed text, printed as is.
    Text(&'static str),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::U32(v) => write!(f, "{v}"),
            FieldValue::I32(v) => write!(f, "{v}"),
            FieldValue::Mac(m) => MacHex(*m).fmt(f),
            FieldValue::Ipv4(a) => write!(f, "{a}"),
            FieldValue::Ipv6(a) => Ipv6Full(*a).fmt(f),
            FieldValue::Hex(v) => write!(f, "0x{v:x}"),
            FieldValue::Oui([a, b, c]) => write!(f, "{a:02X}-{b:02X}-{c:02X}"),
            FieldValue::Text(s) => f.write_str(s),
        }
    }
}

/// The sampled header record's `header_protocol` for an IEEE 802.11 MAC frame.
pub const HEADER_PROTOCOL_IEEE80211: u32 = 15;

const ETHERNET_HEADER_LEN: usize = 14;
/// Frame control, duration, three addresses and sequence control.
const IEEE80211_HEADER_LEN: usize = 24;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const MAX_8023_LENGTH: u16 = 1500;

/// Receives the fields of [`visit_fields`].
pub(crate) trait FieldSink {
    /// Takes one field, in the order sflowtool prints them.
    fn field(&mut self, name: FieldName, value: FieldValue);
}

struct FnSink<F>(F);

impl<F: FnMut(FieldName, FieldValue)> FieldSink for FnSink<F> {
    #[inline(always)]
    fn field(&mut self, name: FieldName, value: FieldValue) {
        (self.0)(name, value);
    }
}

/// Calls `emit` for each field sflowtool prints after `headerBytes`, in order.
#[inline]
pub fn for_each_field(h: &SampledHeader<'_>, emit: impl FnMut(FieldName, FieldValue)) {
    visit_fields(h, &mut FnSink(emit));
}

/// [`for_each_field`] for a [`FieldSink`]. The walker is always inlined into its caller, so
/// every call of [`FieldSink::field`] passes a constant name and value kind: a sink whose
/// `field` is `#[inline(always)]` then writes each key with a constant-length copy and each
/// value without a match on [`FieldValue`].
#[inline(always)]
pub(crate) fn visit_fields(h: &SampledHeader<'_>, emit: &mut impl FieldSink) {
    walk(h, emit);
}

/// Where the sampled header's transport payload starts, as sflowtool computes it
/// (`offsetToPayload`) for `-x`: after the TCP header (its data offset), the UDP header, the
/// first 2 bytes of ICMP, or at the start of any other transport; `None` when the header is not
/// Ethernet/IPv4/IPv6 or holds fewer than 8 bytes of the transport header (sflowtool's 0, "keep
/// everything"), and for IPv4 fragments after the first.
pub fn payload_offset(h: &SampledHeader<'_>) -> Option<usize> {
    struct Ignore;
    impl FieldSink for Ignore {
        #[inline(always)]
        fn field(&mut self, _: FieldName, _: FieldValue) {}
    }
    walk(h, &mut Ignore)
}

/// Emits the fields; returns the payload offset (see [`payload_offset`]).
#[inline(always)]
fn walk(h: &SampledHeader<'_>, emit: &mut impl FieldSink) -> Option<usize> {
    let b = h.header;
    let ip = match h.header_protocol {
        HEADER_PROTOCOL_ETHERNET => link_layer(b, emit),
        HEADER_PROTOCOL_IPV4 => Some(IpStart::V4(0)),
        HEADER_PROTOCOL_IPV6 => Some(IpStart::V6(0)),
        HEADER_PROTOCOL_IEEE80211 => {
            ieee80211(b, emit);
            None
        }
        _ => None,
    };
    let ip = ip?;
    let offset = match ip {
        IpStart::V4(off) | IpStart::V6(off) => off,
    };
    // "size of the original IP PDU": frame length minus stripped bytes minus link-layer header.
    let ip_size = h
        .frame_length
        .wrapping_sub(h.stripped)
        .wrapping_sub(offset as u32) as i32;
    emit.field(FieldName::plain("IPSize"), FieldValue::I32(ip_size));
    match ip {
        IpStart::V4(off) => ipv4(b, off, emit),
        IpStart::V6(off) => ipv6(b, off, emit),
    }
}

#[derive(Clone, Copy)]
enum IpStart {
    V4(usize),
    V6(usize),
}

fn is_vlan_tpid(t: u16) -> bool {
    matches!(t, 0x8100 | 0x88a8 | 0x9100 | 0x9200 | 0x9300)
}

#[inline(always)]
fn link_layer(b: &[u8], emit: &mut impl FieldSink) -> Option<IpStart> {
    if b.len() < ETHERNET_HEADER_LEN {
        return None;
    }
    emit.field(FieldName::plain("dstMAC"), FieldValue::Mac(mac_at(b, 0)?));
    emit.field(FieldName::plain("srcMAC"), FieldValue::Mac(mac_at(b, 6)?));
    let mut type_len = be16(b, 12)?;
    let mut pos = ETHERNET_HEADER_LEN;
    let mut depth = 0u32;
    while is_vlan_tpid(type_len) {
        let (tci, next) = (be16(b, pos)?, be16(b, pos + 2)?);
        let suffix = (depth > 0).then_some(depth);
        emit.field(
            FieldName {
                name: "decodedVLAN",
                depth: suffix,
            },
            FieldValue::U32(u32::from(tci & 0x0fff)),
        );
        emit.field(
            FieldName {
                name: "decodedPriority",
                depth: suffix,
            },
            FieldValue::U32(u32::from(tci >> 13)),
        );
        type_len = next;
        pos += 4;
        depth += 1;
    }
    // sflowtool gives up unless the whole header could hold an IPv4 header.
    if b.len() < IPV4_HEADER_LEN {
        return None;
    }
    if matches!(type_len, 0x0200 | 0x0201 | 0x0600) {
        // IPX: no further decode when the IPX checksum/length look valid.
        let looks_ipx = be16(b, pos)? == 0xffff && (30..=30 + 546).contains(&be16(b, pos + 2)?);
        if looks_ipx {
            return None;
        }
    }
    if type_len <= MAX_8023_LENGTH {
        let llc = (u8_at(b, pos)?, u8_at(b, pos + 1)?, u8_at(b, pos + 2)?);
        if llc == (0xaa, 0xaa, 0x03) {
            pos += 3;
            let oui = array_at::<3>(b, pos)?;
            if oui != [0, 0, 0] {
                emit.field(FieldName::plain("VSNAP_OUI"), FieldValue::Oui(oui));
                return None;
            }
            pos += 3;
            type_len = be16(b, pos)?;
            pos += 2;
        } else if llc.0 == 0x06 && llc.1 == 0x06 && llc.2 & 0x01 == 1 {
            pos += 3;
            type_len = 0x0800;
        } else {
            return None;
        }
    }
    emit.field(
        FieldName::plain("ethernet_type"),
        FieldValue::U32(u32::from(type_len)),
    );
    match type_len {
        0x0800 => {
            let first = u8_at(b, pos)?;
            let enough = b.len().saturating_sub(pos) >= IPV4_HEADER_LEN;
            (enough && first >> 4 == 4 && first & 0x0f >= 5).then_some(IpStart::V4(pos))
        }
        0x86dd => (u8_at(b, pos)? >> 4 == 6).then_some(IpStart::V6(pos)),
        _ => None,
    }
}

/// The addresses of an 802.11 data frame, named by role from the to-DS/from-DS bits.
fn ieee80211(b: &[u8], emit: &mut impl FieldSink) {
    if b.len() < IEEE80211_HEADER_LEN {
        return;
    }
    let (Some(fc0), Some(fc1)) = (u8_at(b, 0), u8_at(b, 1)) else {
        return;
    };
    // Frame control is little-endian: type in bits 2-3 of the first byte, DS bits in the second.
    let is_data = (fc0 >> 2) & 3 == 2;
    if !is_data {
        return;
    }
    let (to_ds, from_ds) = (fc1 & 1 == 1, fc1 & 2 == 2);
    let (Some(addr1), Some(addr2), Some(addr3)) = (mac_at(b, 4), mac_at(b, 10), mac_at(b, 16))
    else {
        return;
    };
    // To-DS/from-DS: 00 DA SA BSSID; 01 DA BSSID SA; 10 BSSID SA DA; 11 RA TA DA SA (addr4).
    let (src, dst) = match (to_ds, from_ds) {
        (false, false) => (Some(addr2), addr1),
        (false, true) => (Some(addr3), addr1),
        (true, false) => (Some(addr2), addr3),
        (true, true) => (mac_at(b, IEEE80211_HEADER_LEN), addr3),
    };
    if let Some(src) = src {
        emit.field(FieldName::plain("srcMAC"), FieldValue::Mac(src));
    }
    emit.field(FieldName::plain("dstMAC"), FieldValue::Mac(dst));
    emit.field(FieldName::plain("txMAC"), FieldValue::Mac(addr2));
    emit.field(FieldName::plain("rxMAC"), FieldValue::Mac(addr1));
}

#[inline(always)]
fn ipv4(b: &[u8], off: usize, emit: &mut impl FieldSink) -> Option<usize> {
    let header = array_at::<IPV4_HEADER_LEN>(b, off)?;
    let (Some(tot_len), Some(frag), Some(src), Some(dst)) = (
        be16(&header, 2),
        be16(&header, 6),
        ipv4_at(&header, 12),
        ipv4_at(&header, 16),
    ) else {
        return None;
    };
    let (tos, ttl, protocol) = (header[1], header[8], header[9]);
    emit.field(
        FieldName::plain("ip.tot_len"),
        FieldValue::U32(u32::from(tot_len)),
    );
    emit.field(FieldName::plain("srcIP"), FieldValue::Ipv4(src));
    emit.field(FieldName::plain("dstIP"), FieldValue::Ipv4(dst));
    emit.field(
        FieldName::plain("IPProtocol"),
        FieldValue::U32(u32::from(protocol)),
    );
    emit.field(FieldName::plain("IPTOS"), FieldValue::U32(u32::from(tos)));
    emit.field(FieldName::plain("IPTTL"), FieldValue::U32(u32::from(ttl)));
    // sflowtool prints the identification without byte-order conversion, i.e. byte-swapped on the
    // little-endian hosts it runs on.
    let id = u16::from_le_bytes([header[4], header[5]]);
    emit.field(FieldName::plain("IPID"), FieldValue::U32(u32::from(id)));
    let fragment_offset = frag & 0x1fff;
    if fragment_offset > 0 {
        emit.field(
            FieldName::plain("IPFragmentOffset"),
            FieldValue::U32(u32::from(fragment_offset)),
        );
        return None;
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    if b.len().saturating_sub(off) < header_len {
        return None;
    }
    layer4(b, off + header_len, protocol, emit)
}

#[inline(always)]
fn ipv6(b: &[u8], off: usize, emit: &mut impl FieldSink) -> Option<usize> {
    let header = array_at::<IPV6_HEADER_LEN>(b, off)?;
    let (Some(payload_len), Some(src), Some(dst)) =
        (be16(&header, 4), ipv6_at(&header, 8), ipv6_at(&header, 24))
    else {
        return None;
    };
    if header[0] >> 4 != 6 {
        return None;
    }
    let tos = ((header[0] & 0x0f) << 4) | (header[1] >> 4);
    emit.field(FieldName::plain("IPTOS"), FieldValue::U32(u32::from(tos)));
    let label =
        (u32::from(header[1] & 0x0f) << 16) | (u32::from(header[2]) << 8) | u32::from(header[3]);
    emit.field(FieldName::plain("IP6_label"), FieldValue::Hex(label));
    let payload = if payload_len == 0 {
        FieldValue::Text("<jumbo>")
    } else {
        FieldValue::U32(u32::from(payload_len))
    };
    emit.field(FieldName::plain("IPV6_payloadLen"), payload);
    emit.field(
        FieldName::plain("IPTTL"),
        FieldValue::U32(u32::from(header[7])),
    );
    emit.field(FieldName::plain("srcIP6"), FieldValue::Ipv6(src));
    emit.field(FieldName::plain("dstIP6"), FieldValue::Ipv6(dst));

    let mut next_header = header[6];
    let mut pos = off + IPV6_HEADER_LEN;
    // sflowtool skips these with an 8-octet length unit (also for AH) and no further checks.
    while matches!(next_header, 0 | 43 | 44 | 51 | 60) {
        emit.field(
            FieldName::plain("IP6HeaderExtension"),
            FieldValue::U32(u32::from(next_header)),
        );
        let (Some(next), Some(len)) = (u8_at(b, pos), u8_at(b, pos + 1)) else {
            return None;
        };
        next_header = next;
        pos += 8 * (usize::from(len) + 1);
        if pos > b.len() {
            return None;
        }
    }
    emit.field(
        FieldName::plain("IPProtocol"),
        FieldValue::U32(u32::from(next_header)),
    );
    layer4(b, pos, next_header, emit)
}

#[inline(always)]
fn layer4(b: &[u8], off: usize, protocol: u8, emit: &mut impl FieldSink) -> Option<usize> {
    if b.len().saturating_sub(off) < 8 {
        return None;
    }
    let u8_field = |at: usize| u8_at(b, at).map(|v| FieldValue::U32(u32::from(v)));
    let u16_field = |at: usize| be16(b, at).map(|v| FieldValue::U32(u32::from(v)));
    match protocol {
        1 => {
            emit_if_some(emit, "ICMPType", u8_field(off));
            emit_if_some(emit, "ICMPCode", u8_field(off + 1));
            // sflowtool's ICMP header struct is type and code only.
            Some(off + 2)
        }
        6 => {
            emit_if_some(emit, "TCPSrcPort", u16_field(off));
            emit_if_some(emit, "TCPDstPort", u16_field(off + 2));
            emit_if_some(emit, "TCPFlags", u8_field(off + 13));
            let data_offset = usize::from(u8_at(b, off + 12)? >> 4) * 4;
            Some(off + data_offset)
        }
        17 => {
            emit_if_some(emit, "UDPSrcPort", u16_field(off));
            emit_if_some(emit, "UDPDstPort", u16_field(off + 2));
            emit_if_some(emit, "UDPBytes", u16_field(off + 4));
            Some(off + 8)
        }
        _ => Some(off),
    }
}

#[inline(always)]
fn emit_if_some(emit: &mut impl FieldSink, name: &'static str, value: Option<FieldValue>) {
    if let Some(value) = value {
        emit.field(FieldName::plain(name), value);
    }
}
