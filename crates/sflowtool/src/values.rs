//! Allocation-free writers for the value forms sflowtool prints, plus the JSON string escaper.

use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use rtflow_packet::format::Ipv6Full;
use rtflow_sflow::Address;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `00`..`99` as digit pairs.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut table = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        table[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    table
};

#[inline(always)]
fn pair(v: u32) -> [u8; 2] {
    DIGIT_PAIRS[(v % 100) as usize]
}

/// Decimal. Values below 100,000 (ports, protocol numbers, small counters) are written by digit
/// count, each case a constant-length copy; larger ones by `itoa`.
#[inline]
pub(crate) fn push_u32(out: &mut Vec<u8>, v: u32) {
    if v < 100 {
        if v < 10 {
            out.push(b'0' + v as u8);
        } else {
            out.extend_from_slice(&pair(v));
        }
    } else if v < 10_000 {
        if v < 1000 {
            let [a, b] = pair(v);
            out.extend_from_slice(&[b'0' + (v / 100) as u8, a, b]);
        } else {
            let ([a, b], [c, d]) = (pair(v / 100), pair(v));
            out.extend_from_slice(&[a, b, c, d]);
        }
    } else if v < 100_000 {
        let ([a, b], [c, d]) = (pair(v / 100), pair(v));
        out.extend_from_slice(&[b'0' + (v / 10_000) as u8, a, b, c, d]);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
pub(crate) fn push_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Dotted quad.
#[inline]
pub(crate) fn push_ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    let [a, b, c, d] = ip.octets();
    push_u8(out, a);
    for octet in [b, c, d] {
        out.push(b'.');
        push_u8(out, octet);
    }
}

/// Decimal, one constant-length copy per digit count.
#[inline(always)]
fn push_u8(out: &mut Vec<u8>, v: u8) {
    let v = u32::from(v);
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&pair(v));
    } else {
        let [a, b] = pair(v);
        out.extend_from_slice(&[b'0' + (v / 100) as u8, a, b]);
    }
}

/// sflowtool's uncompressed form: eight groups of four lowercase hex digits
/// (`2001:0db8:0000:0000:0000:0000:0000:0001`), in every output mode.
pub(crate) fn push_ipv6(out: &mut Vec<u8>, ip: Ipv6Addr) {
    out.extend_from_slice(&Ipv6Full(ip).to_ascii());
}

/// An sFlow address, `-` when unknown (sflowtool's `printAddress`).
pub(crate) fn push_address(out: &mut Vec<u8>, address: &Address) {
    match *address {
        Address::Unknown => out.push(b'-'),
        Address::V4(ip) => push_ipv4(out, ip),
        Address::V6(ip) => push_ipv6(out, ip),
    }
}

/// Lowercase hex without separators (`printMAC`).
#[inline]
pub(crate) fn push_hex_lower(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    if let Some(dst) = out.get_mut(start..) {
        for (pair, &b) in dst.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&[
                HEX_LOWER[usize::from(b >> 4)],
                HEX_LOWER[usize::from(b & 0x0f)],
            ]);
        }
    }
}

/// `XX-` (uppercase hex and a dash) for every byte value, as a little-endian 24-bit number.
const HEX_UPPER_DASHED: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = u32::from_le_bytes([HEX_UPPER[i >> 4], HEX_UPPER[i & 0x0f], b'-', 0]);
        i += 1;
    }
    table
};

/// Uppercase hex bytes joined by `-` (`headerBytes`, OUIs). The hot spot of the JSON and text
/// output (a 128-byte header is 383 characters): each 8 bytes become three 64-bit words of
/// text, so every copy has a constant length and is inlined (no `memcpy` call, no byte stores
/// re-read as wider loads).
pub(crate) fn push_hex_upper_dashed(out: &mut Vec<u8>, bytes: &[u8]) {
    let Some((&last, rest)) = bytes.split_last() else {
        return;
    };
    let triple = |b: u8| u64::from(HEX_UPPER_DASHED[usize::from(b)]);
    out.reserve(3 * bytes.len());
    let mut blocks = rest.chunks_exact(8);
    for block in &mut blocks {
        let &[b0, b1, b2, b3, b4, b5, b6, b7] = block else {
            continue;
        };
        let (t2, t5) = (triple(b2), triple(b5));
        let w0 = triple(b0) | triple(b1) << 24 | t2 << 48;
        let w1 = t2 >> 16 | triple(b3) << 8 | triple(b4) << 32 | t5 << 56;
        let w2 = t5 >> 8 | triple(b6) << 16 | triple(b7) << 40;
        out.extend_from_slice(&w0.to_le_bytes());
        out.extend_from_slice(&w1.to_le_bytes());
        out.extend_from_slice(&w2.to_le_bytes());
    }
    for &b in blocks.remainder() {
        out.extend_from_slice(&HEX_UPPER_DASHED[usize::from(b)].to_le_bytes()[..3]);
    }
    out.extend_from_slice(&HEX_UPPER_DASHED[usize::from(last)].to_le_bytes()[..2]);
}

/// `%.Nf` of a C `printf`; non-finite values as glibc prints them.
pub(crate) fn push_fixed(out: &mut Vec<u8>, v: f64, decimals: usize) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(out, "{v:.decimals$}");
    }
}

/// The bytes of an XDR string as a C string: up to the first NUL (sflowtool copies them into a
/// NUL-terminated buffer).
pub(crate) fn c_string(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => bytes.get(..end).unwrap_or(bytes),
        None => bytes,
    }
}

/// Appends `bytes` as the inside of a JSON string (without quotes): `"` `\` and control
/// characters escaped, valid UTF-8 copied, each invalid byte replaced by U+FFFD. The result is
/// always valid JSON string content.
pub(crate) fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                escape_valid(out, valid.as_bytes());
                return;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                escape_valid(out, valid);
                out.extend_from_slice("\u{fffd}".as_bytes());
                let skip = err.error_len().unwrap_or(after.len()).max(1);
                rest = after.get(skip..).unwrap_or(&[]);
            }
        }
    }
}

/// Escapes UTF-8 text; only ASCII bytes can need escaping, so multi-byte sequences pass through.
fn escape_valid(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(text.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX_LOWER[usize::from(b >> 4)]);
            out.push(HEX_LOWER[usize::from(b & 0x0f)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(text.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> String {
        let mut out = b"\"".to_vec();
        write_json_string(&mut out, bytes);
        out.push(b'"');
        String::from_utf8(out).expect("escaper output is UTF-8")
    }

    #[test]
    fn escaper_output_parses_back_to_the_input_text() {
        for text in [
            "plain",
            "quote \" and \\ backslash",
            "tab\tnl\ncr\r",
            "\u{1}\u{1f}\u{7f}",
            "héllo ✓",
        ] {
            let parsed: String = serde_json::from_str(&json(text.as_bytes())).expect("valid JSON");
            assert_eq!(parsed, text);
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let parsed: String =
            serde_json::from_str(&json(b"a\xff\xfeb\xe2\x82")).expect("valid JSON");
        assert_eq!(parsed, "a\u{fffd}\u{fffd}b\u{fffd}");
    }

    #[test]
    fn numbers_addresses_and_hex() {
        let mut out = Vec::new();
        push_ipv4(&mut out, Ipv4Addr::new(10, 0, 255, 1));
        out.push(b' ');
        push_address(&mut out, &Address::Unknown);
        out.push(b' ');
        push_hex_lower(&mut out, &[0x22, 0x42, 0xab]);
        out.push(b' ');
        push_hex_upper_dashed(&mut out, &[0x0a, 0xff, 0x00]);
        out.push(b' ');
        push_hex_upper_dashed(&mut out, &[]);
        push_hex_upper_dashed(&mut out, &(0..=17).collect::<Vec<u8>>());
        out.push(b' ');
        push_fixed(&mut out, 0.125, 2);
        out.push(b' ');
        push_i32(&mut out, -4);
        for v in [
            0,
            7,
            10,
            99,
            100,
            999,
            1000,
            9999,
            10_000,
            65_535,
            99_999,
            100_000,
            u32::MAX,
        ] {
            let mut one = Vec::new();
            push_u32(&mut one, v);
            assert_eq!(one, v.to_string().as_bytes());
        }
        for octet in [0u8, 9, 10, 99, 100, 255] {
            let mut one = Vec::new();
            push_ipv4(&mut one, Ipv4Addr::new(octet, 1, 23, 200));
            assert_eq!(one, format!("{octet}.1.23.200").as_bytes());
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "10.0.255.1 - 2242ab 0A-FF-00 \
             00-01-02-03-04-05-06-07-08-09-0A-0B-0C-0D-0E-0F-10-11 0.12 -4"
        );
        assert_eq!(c_string(b"eth0\0junk"), b"eth0");
    }
}
