//! The sampled header record (0:1): its own fields, then the per-packet fields decoded by
//! `crate::header_fields` in sflowtool's order.

use crate::header_fields::{self as fields, FieldName, FieldSink, FieldValue};
use rtflow_sflow::SampledHeader;

use crate::out::{Out, StyleKind};
use crate::values::{
    push_hex_lower, push_hex_upper_dashed, push_i32, push_ipv4, push_ipv6, push_u32,
};

/// Header protocols sflowtool knows but does not decode (`NO_DECODE` note): token bus, token
/// ring, FDDI, frame relay, X.25, PPP, SMDS, AAL5, AAL5-IP, MPLS, POS and the 802.11 A-MPDU /
/// A-MSDU forms (16-18).
fn is_known_undecoded(protocol: u32) -> bool {
    matches!(protocol, 2..=10 | 13 | 14 | 16..=18)
}

pub(crate) fn sampled_header<S: StyleKind>(o: &mut Out<'_, S>, h: &SampledHeader<'_>) {
    sampled_header_fields(o, h, true);
}

/// `stripped`: false for sFlow v2/v4, whose header records have no stripped count.
pub(crate) fn sampled_header_fields<S: StyleKind>(
    o: &mut Out<'_, S>,
    h: &SampledHeader<'_>,
    stripped: bool,
) {
    o.text("flowSampleType", "HEADER");
    o.u32("headerProtocol", h.protocol);
    o.u32("sampledPacketSize", h.frame_length);
    if stripped {
        o.u32("strippedBytes", h.stripped);
    }
    o.u32("headerLen", h.header.len() as u32);
    o.with("headerBytes", |b| push_hex_upper_dashed(b, h.header));
    match h.protocol {
        // Ethernet, IPv4, IPv6 and 802.11 MAC frames are decoded.
        1 | 11 | 12 | fields::HEADER_PROTOCOL_IEEE80211 => {}
        p => o.text_line(|b| {
            b.extend_from_slice(if is_known_undecoded(p) {
                b"NO_DECODE headerProtocol="
            } else {
                b"UNKNOWN headerProtocol="
            });
            push_u32(b, p);
        }),
    }
    let header = walker_input(h);
    fields::visit_fields(&header, &mut HeaderSink(o));
}

/// The sampled header record as the field walker of `crate::header_fields` takes it.
pub(crate) fn walker_input<'a>(h: &rtflow_sflow::SampledHeader<'a>) -> fields::SampledHeader<'a> {
    fields::SampledHeader {
        header_protocol: h.protocol,
        frame_length: h.frame_length,
        stripped: h.stripped,
        header: h.header,
    }
}

/// Writes the header fields; inlined at each of the walker's call sites, where the name and the
/// value kind are constants.
struct HeaderSink<'o, 'b, S: StyleKind>(&'o mut Out<'b, S>);

impl<S: StyleKind> FieldSink for HeaderSink<'_, '_, S> {
    #[inline(always)]
    fn field(&mut self, name: FieldName, value: FieldValue) {
        match name.depth {
            None => write_field(self.0, name.name, value),
            Some(depth) => self
                .0
                .with_suffix(name.name, depth, |b| push_value(b, value)),
        }
    }
}

/// One closure per value kind, so that once inlined with a constant `value` only its own
/// writer remains.
#[inline(always)]
fn write_field<S: StyleKind>(o: &mut Out<'_, S>, name: &str, value: FieldValue) {
    match value {
        FieldValue::U32(v) => o.with(name, |b| push_u32(b, v)),
        FieldValue::I32(v) => o.with(name, |b| push_i32(b, v)),
        FieldValue::Mac(mac) => o.with(name, |b| push_hex_lower(b, &mac)),
        FieldValue::Ipv4(ip) => o.with(name, |b| push_ipv4(b, ip)),
        FieldValue::Ipv6(ip) => o.with(name, |b| push_ipv6(b, ip)),
        other => o.with(name, |b| push_value(b, other)),
    }
}

pub(crate) fn push_value(b: &mut Vec<u8>, value: FieldValue) {
    match value {
        FieldValue::U32(v) => push_u32(b, v),
        FieldValue::I32(v) => push_i32(b, v),
        FieldValue::Mac(mac) => push_hex_lower(b, &mac),
        FieldValue::Ipv4(ip) => push_ipv4(b, ip),
        FieldValue::Ipv6(ip) => push_ipv6(b, ip),
        FieldValue::Hex(v) => {
            use std::io::Write as _;
            let _ = write!(b, "0x{v:x}");
        }
        FieldValue::Oui(oui) => push_hex_upper_dashed(b, &oui),
        FieldValue::Text(text) => b.extend_from_slice(text.as_bytes()),
    }
}
