//! The sampled header record (0:1): its own fields, then the per-packet fields decoded by
//! `rtflow_packet::sflowtool` in sflowtool's order.

use rtflow_packet::sflowtool::{self as fields, FieldName, FieldValue};
use rtflow_sflow::SampledHeader;

use crate::out::{Out, StyleKind};
use crate::values::{
    push_hex_lower, push_hex_upper_dashed, push_i32, push_ipv4, push_ipv6, push_u32,
};

/// Header protocols sflowtool knows but does not decode (`NO_DECODE` note).
fn is_known_undecoded(protocol: u32) -> bool {
    matches!(protocol, 2..=10 | 13 | 14 | 106 | 107)
}

pub(crate) fn sampled_header<S: StyleKind>(o: &mut Out<'_, S>, h: &SampledHeader<'_>) {
    o.text("flowSampleType", "HEADER");
    o.u32("headerProtocol", h.protocol);
    o.u32("sampledPacketSize", h.frame_length);
    o.u32("strippedBytes", h.stripped);
    o.u32("headerLen", h.header.len() as u32);
    o.with("headerBytes", |b| push_hex_upper_dashed(b, h.header));
    match h.protocol {
        1 | 11 | 12 | 105 => {}
        p => o.text_line(|b| {
            b.extend_from_slice(if is_known_undecoded(p) {
                b"NO_DECODE headerProtocol="
            } else {
                b"UNKNOWN headerProtocol="
            });
            push_u32(b, p);
        }),
    }
    let header = fields::SampledHeader {
        header_protocol: h.protocol,
        frame_length: h.frame_length,
        stripped: h.stripped,
        header: h.header,
    };
    fields::for_each_field(&header, |name, value| field(o, name, value));
}

fn field<S: StyleKind>(o: &mut Out<'_, S>, name: FieldName, value: FieldValue) {
    let write = |b: &mut Vec<u8>| push_value(b, value);
    match name.depth {
        None => o.with(name.name, write),
        Some(depth) => o.with_suffix(name.name, depth, write),
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
