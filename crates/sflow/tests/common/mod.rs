//! Test-only helpers: a tiny classic-pcap reader yielding UDP payloads, and capture lookup.

#![allow(dead_code)]

use std::path::PathBuf;

/// The shared third-party captures directory, or `None` after printing the skip line (see
/// `rtflow_testkit::shared`).
pub(crate) fn captures_dir() -> Option<PathBuf> {
    rtflow_testkit::shared(rtflow_testkit::Shared::Captures)
}

/// All classic `.pcap` files under `dir`, sorted (this reader does not read pcapng).
pub(crate) fn all_captures(dir: &std::path::Path) -> Vec<PathBuf> {
    rtflow_testkit::capture_files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect()
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// UDP payloads of every Ethernet/IPv4/IPv6 UDP packet of a classic pcap file (either byte
/// order, micro- or nanosecond magic). Non-UDP packets are skipped.
pub(crate) fn udp_payloads(path: &std::path::Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("readable capture");
    let magic = &data[..4];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{} is not a classic pcap file", path.display()),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = data[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(u32_at(20), 1, "only Ethernet link type is supported");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32_at(at + 8) as usize;
        let frame = &data[at + 16..(at + 16 + caplen).min(data.len())];
        at += 16 + caplen;
        if let Some(payload) = udp_payload(frame) {
            out.push(payload.to_vec());
        }
    }
    out
}

fn udp_payload(frame: &[u8]) -> Option<&[u8]> {
    let mut ethertype = be16(frame, 12)?;
    let mut at = 14;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = be16(frame, at + 2)?;
        at += 4;
    }
    let ip = frame.get(at..)?;
    let (proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            (*ip.get(9)?, ip.get(ihl..total.min(ip.len()))?)
        }
        0x86dd => {
            let payload_len = usize::from(be16(ip, 4)?);
            (*ip.get(6)?, ip.get(40..(40 + payload_len).min(ip.len()))?)
        }
        _ => return None,
    };
    if proto != 17 {
        return None;
    }
    let udp_len = usize::from(be16(l4, 4)?);
    l4.get(8..udp_len.min(l4.len()))
}
