//! MAC address text as flow keys carry it (`D8D385B2DD2B`), for the `oui:` and `host:` key functions.

/// Parses 12 hex digits (either case), optionally separated by `:` or `-` as `d8:d3:85:b2:dd:2b`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let bytes = text.trim().as_bytes();
    let separated = bytes.len() == 17;
    if bytes.len() != 12 && !separated {
        return None;
    }
    let mut mac = [0u8; 6];
    for (index, byte) in mac.iter_mut().enumerate() {
        let at = if separated { index * 3 } else { index * 2 };
        if separated && index > 0 && !matches!(bytes.get(at - 1), Some(b':' | b'-')) {
            return None;
        }
        let high = hex_value(*bytes.get(at)?)?;
        let low = hex_value(*bytes.get(at + 1)?)?;
        *byte = (high << 4) | low;
    }
    Some(mac)
}

/// The organizationally unique identifier: the first three bytes as a 24-bit number.
pub(crate) fn oui_of(mac: &[u8; 6]) -> u32 {
    u32::from_be_bytes([0, mac[0], mac[1], mac[2]])
}

/// Appends `oui` as six upper-case hex digits (`D8D385`).
pub(crate) fn push_oui(out: &mut String, oui: u32) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for shift in [20u32, 16, 12, 8, 4, 0] {
        let nibble = (oui >> shift) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_separated_forms() {
        let expected = [0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B];
        assert_eq!(parse_mac("D8D385B2DD2B"), Some(expected));
        assert_eq!(parse_mac("d8d385b2dd2b"), Some(expected));
        assert_eq!(parse_mac("d8:d3:85:b2:dd:2b"), Some(expected));
        assert_eq!(parse_mac("D8-D3-85-B2-DD-2B"), Some(expected));
    }

    #[test]
    fn rejects_other_text() {
        for text in [
            "",
            "D8D385B2DD2",
            "D8D385B2DD2BX",
            "G8D385B2DD2B",
            "d8:d3:85:b2:dd_2b",
            "d8d3:85:b2:dd:2b:",
            "10.0.0.1",
            "ÿÿÿÿÿÿ",
        ] {
            assert_eq!(parse_mac(text), None, "{text:?}");
        }
    }

    #[test]
    fn oui_number_text() {
        let mac = [0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B];
        assert_eq!(oui_of(&mac), 0xD8D385);
        let mut out = String::from("x");
        push_oui(&mut out, oui_of(&mac));
        assert_eq!(out, "xD8D385");
        out.clear();
        push_oui(&mut out, 0x00000C);
        assert_eq!(out, "00000C");
    }
}
