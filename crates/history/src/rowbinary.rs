//! ClickHouse's `RowBinary` input format, the few types the flow tables use: little-endian fixed-width
//! integers, `DateTime` as a UInt32 of seconds, `FixedString(16)` as 16 raw bytes, `String` as a LEB128
//! length followed by the bytes. Every ClickHouse version since well before 18.16 reads these bytes the same
//! way, and so do `IPv6` / `LowCardinality(String)` columns of current servers.

use std::net::{IpAddr, Ipv6Addr};

/// The 16-byte form stored in `FixedString(16)` address columns: IPv6 as is, IPv4 as `::ffff:a.b.c.d`
/// (what Akvorado stores, and what `IPv6NumToString` prints back), "none" as 16 zero bytes.
pub(crate) fn address_bytes(address: Option<IpAddr>) -> [u8; 16] {
    match address {
        Some(IpAddr::V4(v4)) => v4.to_ipv6_mapped().octets(),
        Some(IpAddr::V6(v6)) => v6.octets(),
        None => Ipv6Addr::UNSPECIFIED.octets(),
    }
}

/// Appends values to a RowBinary buffer.
pub(crate) trait RowBinary {
    fn u8(&mut self, value: u8);
    fn u16(&mut self, value: u16);
    fn u32(&mut self, value: u32);
    fn u64(&mut self, value: u64);
    fn fixed16(&mut self, value: &[u8; 16]);
    fn string(&mut self, value: &str);
}

impl RowBinary for Vec<u8> {
    fn u8(&mut self, value: u8) {
        self.push(value);
    }

    fn u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_le_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_le_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_le_bytes());
    }

    fn fixed16(&mut self, value: &[u8; 16]) {
        self.extend_from_slice(value);
    }

    fn string(&mut self, value: &str) {
        let mut length = value.len() as u64;
        loop {
            let low = (length & 0x7f) as u8;
            length >>= 7;
            if length == 0 {
                self.push(low);
                break;
            }
            self.push(low | 0x80);
        }
        self.extend_from_slice(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_carry_a_leb128_length() {
        let mut out = Vec::new();
        out.string("lo");
        assert_eq!(out, b"\x02lo");
        let long = "x".repeat(300);
        let mut out = Vec::new();
        out.string(&long);
        // 300 = 0b10_0101100 → 0xac 0x02
        assert_eq!(&out[..2], &[0xac, 0x02]);
        assert_eq!(out.len(), 302);
    }

    #[test]
    fn integers_are_little_endian() {
        let mut out = Vec::new();
        out.u16(0x0800);
        out.u32(1);
        out.u64(0x0102);
        assert_eq!(out, [0x00, 0x08, 1, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ipv4_is_stored_mapped() {
        let bytes = address_bytes(Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            Ipv6Addr::from(bytes),
            "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(address_bytes(None), [0; 16]);
    }
}
