//! Allocation-free `Display` helpers for values whose text form is not obvious.

use std::fmt;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A MAC address as 12 lowercase hex digits without separators (`22421f4a9fcd`), the form used by
/// sflowtool (`dstMAC`) and sFlow-RT (`macsource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacHex(pub [u8; 6]);

impl MacHex {
    /// The 12 ASCII hex digits.
    pub fn to_ascii(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair.copy_from_slice(&[
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0x0f)],
            ]);
        }
        out
    }
}

impl fmt::Display for MacHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.to_ascii();
        // Hex digits are ASCII, so this conversion cannot fail.
        f.write_str(std::str::from_utf8(&ascii).map_err(|_| fmt::Error)?)
    }
}

/// An IPv6 address in sflowtool's uncompressed form: eight groups of four lowercase hex digits
/// (`2a03:2887:ff03:0000:0000:0000:0000:0005`), as sflowtool prints every IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Full(pub std::net::Ipv6Addr);

impl Ipv6Full {
    /// Length of the text form.
    pub const LEN: usize = 39;

    /// The 39 ASCII characters.
    pub fn to_ascii(&self) -> [u8; Self::LEN] {
        let mut out = [b':'; Self::LEN];
        for (i, byte) in self.0.octets().into_iter().enumerate() {
            // Two bytes per group, each group followed by a ':' (the last one is cut off).
            let at = i / 2 * 5 + i % 2 * 2;
            if let Some(slot) = out.get_mut(at..at + 2) {
                slot.copy_from_slice(&[
                    HEX_DIGITS[usize::from(byte >> 4)],
                    HEX_DIGITS[usize::from(byte & 0x0f)],
                ]);
            }
        }
        out
    }
}

impl fmt::Display for Ipv6Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.to_ascii();
        f.write_str(std::str::from_utf8(&ascii).map_err(|_| fmt::Error)?)
    }
}

/// The low `width` bits of `value` as a string of `0`/`1`, most significant bit first.
///
/// sFlow-RT renders `tcpflags` this way with width 9 (NS CWR ECE URG ACK PSH RST SYN FIN, so SYN is
/// `.......1.`), `ipflags` with width 3 (reserved DF MF) and `ipecn` with width 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitString {
    /// The bits, in the low `width` bits.
    pub value: u32,
    /// How many bits to print.
    pub width: u8,
}

impl BitString {
    /// sFlow-RT's `tcpflags`: the 9 TCP flag bits.
    pub const fn tcp_flags(flags: u16) -> Self {
        BitString {
            value: flags as u32,
            width: 9,
        }
    }

    /// sFlow-RT's `ipflags`: the 3 IPv4 flag bits (reserved, DF, MF).
    pub const fn ip_flags(flags: u8) -> Self {
        BitString {
            value: flags as u32,
            width: 3,
        }
    }

    /// sFlow-RT's `ipecn`: the 2 ECN bits.
    pub const fn ecn(ecn: u8) -> Self {
        BitString {
            value: ecn as u32,
            width: 2,
        }
    }
}

impl fmt::Display for BitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in (0..u32::from(self.width.min(32))).rev() {
            f.write_str(if (self.value >> bit) & 1 == 1 {
                "1"
            } else {
                "0"
            })?;
        }
        Ok(())
    }
}

/// Standard name of a DSCP code point (RFC 2474 class selectors, RFC 2597 AF, RFC 3246 EF,
/// RFC 5865 VOICE-ADMIT, RFC 8622 LE), `None` for unassigned values.
pub fn dscp_name(dscp: u8) -> Option<&'static str> {
    Some(match dscp {
        0 => "CS0",
        1 => "LE",
        8 => "CS1",
        10 => "AF11",
        12 => "AF12",
        14 => "AF13",
        16 => "CS2",
        18 => "AF21",
        20 => "AF22",
        22 => "AF23",
        24 => "CS3",
        26 => "AF31",
        28 => "AF32",
        30 => "AF33",
        32 => "CS4",
        34 => "AF41",
        36 => "AF42",
        38 => "AF43",
        40 => "CS5",
        44 => "VA",
        46 => "EF",
        48 => "CS6",
        56 => "CS7",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_sflowtools_uncompressed_form() {
        let full = |text: &str| Ipv6Full(text.parse().unwrap()).to_string();
        assert_eq!(
            full("2a03:2887:ff03::5"),
            "2a03:2887:ff03:0000:0000:0000:0000:0005"
        );
        assert_eq!(full("::"), "0000:0000:0000:0000:0000:0000:0000:0000");
        assert_eq!(
            full("fe80::abcd:ef01:2345:6789"),
            "fe80:0000:0000:0000:abcd:ef01:2345:6789"
        );
        assert_eq!(
            full("::ffff:10.1.2.3"),
            "0000:0000:0000:0000:0000:ffff:0a01:0203"
        );
    }

    #[test]
    fn mac_is_lowercase_hex_without_separators() {
        assert_eq!(
            MacHex([0x22, 0x42, 0x1f, 0x4a, 0x9f, 0xcd]).to_string(),
            "22421f4a9fcd"
        );
        assert_eq!(MacHex([0xff; 6]).to_string(), "ffffffffffff");
    }

    #[test]
    fn bit_strings() {
        // SYN (0x02) matches sFlow-RT's `tcpflags~.......1.` pattern.
        assert_eq!(BitString::tcp_flags(0x002).to_string(), "000000010");
        assert_eq!(BitString::tcp_flags(0x018).to_string(), "000011000");
        assert_eq!(BitString::tcp_flags(0x100).to_string(), "100000000");
        assert_eq!(BitString::ip_flags(0b010).to_string(), "010");
        assert_eq!(BitString::ecn(3).to_string(), "11");
    }

    #[test]
    fn dscp_names() {
        assert_eq!(dscp_name(46), Some("EF"));
        assert_eq!(dscp_name(10), Some("AF11"));
        assert_eq!(dscp_name(0), Some("CS0"));
        assert_eq!(dscp_name(3), None);
    }
}
