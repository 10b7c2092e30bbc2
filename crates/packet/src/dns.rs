//! First question of a DNS message (sFlow-RT `dnsqname`, `dnsqtypename`, `dnsqr`), copied into a
//! fixed-size buffer.

use std::fmt;

use crate::bytes::{be16, u8_at};

/// Longest presentation-form name kept (RFC 1035 limits names to 255 octets on the wire).
pub const MAX_QNAME_LEN: usize = 255;

const DNS_HEADER_LEN: usize = 12;
const QR_RESPONSE: u16 = 0x8000;
const LABEL_POINTER_BITS: u8 = 0xc0;

/// The first question of a DNS message: name, type, class and the message's QR bit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DnsQuestion {
    name: [u8; MAX_QNAME_LEN],
    name_len: u8,
    /// Query type (1 A, 28 AAAA, …).
    pub qtype: u16,
    /// Query class (1 IN).
    pub qclass: u16,
    /// QR bit: the message is a response (sFlow-RT `dnsqr` = `true`).
    pub is_response: bool,
}

impl DnsQuestion {
    /// Query name in dotted form without a trailing dot (`www.example.com`); the root is `""`.
    /// Labels hold printable ASCII only (other messages are not decoded), so this is always valid UTF-8.
    pub fn name(&self) -> &str {
        let bytes = self.name.get(..usize::from(self.name_len)).unwrap_or(&[]);
        std::str::from_utf8(bytes).unwrap_or("")
    }

    /// Mnemonic of `qtype` (sFlow-RT `dnsqtypename`), `None` for unlisted types.
    pub fn qtype_name(&self) -> Option<&'static str> {
        qtype_name(self.qtype)
    }
}

impl fmt::Debug for DnsQuestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsQuestion")
            .field("name", &self.name())
            .field("qtype", &self.qtype)
            .field("qclass", &self.qclass)
            .field("is_response", &self.is_response)
            .finish()
    }
}

/// Common resource record type mnemonics (IANA DNS parameters registry).
pub fn qtype_name(qtype: u16) -> Option<&'static str> {
    Some(match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return None,
    })
}

/// Decodes the first question of the DNS message starting at `off`. `None` when the message has no
/// question, the question is cut off, uses a compression pointer, or holds non-printable label bytes.
pub(crate) fn decode_question(b: &[u8], off: usize) -> Option<DnsQuestion> {
    let flags = be16(b, off.checked_add(2)?)?;
    let qdcount = be16(b, off.checked_add(4)?)?;
    if qdcount == 0 {
        return None;
    }
    let mut q = DnsQuestion {
        name: [0; MAX_QNAME_LEN],
        name_len: 0,
        qtype: 0,
        qclass: 0,
        is_response: flags & QR_RESPONSE != 0,
    };
    let mut pos = off.checked_add(DNS_HEADER_LEN)?;
    let mut out = 0usize;
    loop {
        let label_len = u8_at(b, pos)?;
        pos += 1;
        if label_len == 0 {
            break;
        }
        if label_len & LABEL_POINTER_BITS != 0 {
            return None;
        }
        let label = b.get(pos..pos.checked_add(usize::from(label_len))?)?;
        if out > 0 {
            *q.name.get_mut(out)? = b'.';
            out += 1;
        }
        let dest = q.name.get_mut(out..out.checked_add(label.len())?)?;
        if !label.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        dest.copy_from_slice(label);
        out += label.len();
        pos += label.len();
    }
    q.name_len = u8::try_from(out).ok()?;
    q.qtype = be16(b, pos)?;
    q.qclass = be16(b, pos + 2)?;
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Query for www.example.com AAAA IN, id 0x1234, RD set (RFC 1035 wire format).
    const QUERY: &[u8] = &[
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm',
        0, //
        0x00, 0x1c, 0x00, 0x01,
    ];

    #[test]
    fn decodes_first_question() {
        let q = decode_question(QUERY, 0).expect("complete question");
        assert_eq!(q.name(), "www.example.com");
        assert_eq!(q.qtype, 28);
        assert_eq!(q.qtype_name(), Some("AAAA"));
        assert_eq!(q.qclass, 1);
        assert!(!q.is_response);
    }

    #[test]
    fn response_bit_and_offset() {
        let mut msg = vec![0xaa, 0xbb];
        msg.extend_from_slice(QUERY);
        msg[2 + 2] = 0x81; // QR=1
        let q = decode_question(&msg, 2).expect("complete question");
        assert!(q.is_response);
        assert_eq!(q.name(), "www.example.com");
    }

    #[test]
    fn truncated_or_compressed_questions_are_rejected() {
        for cut in 0..QUERY.len() {
            assert!(decode_question(&QUERY[..cut], 0).is_none(), "cut at {cut}");
        }
        let mut compressed = QUERY[..12].to_vec();
        compressed.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert!(decode_question(&compressed, 0).is_none());
    }

    #[test]
    fn root_name_and_unknown_type() {
        let msg = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 1];
        let q = decode_question(&msg, 0).expect("root question");
        assert_eq!(q.name(), "");
        assert_eq!(q.qtype_name(), None);
    }
}
