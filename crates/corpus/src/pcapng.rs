//! A small pcapng writer for `records.pcapng`: a section header, two Ethernet interfaces (one
//! with microsecond, one with nanosecond timestamps), one enhanced packet block per datagram
//! (alternating interfaces, the first with a comment), then an interface statistics block.

use crate::capture::Packet;

const SECTION_HEADER: u32 = 0x0a0d_0d0a;
const INTERFACE_DESCRIPTION: u32 = 1;
const INTERFACE_STATISTICS: u32 = 5;
const ENHANCED_PACKET: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// The pcapng file (little-endian) holding `packets`.
pub(crate) fn write(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length not given
    option(
        &mut shb,
        OPT_COMMENT,
        b"rtflow-corpus: records.pcap as pcapng",
    );
    option(&mut shb, OPT_END, &[]);
    block(&mut out, SECTION_HEADER, &shb);
    // Interface 0: microseconds (the default resolution, stated anyway); 1: nanoseconds.
    for (name, resolution) in [(&b"sflow-us"[..], 6u8), (&b"sflow-ns"[..], 9u8)] {
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u16.to_le_bytes()); // LINKTYPE_ETHERNET
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes()); // no snap length limit
        option(&mut idb, IF_NAME, name);
        option(&mut idb, IF_TSRESOL, &[resolution]);
        option(&mut idb, OPT_END, &[]);
        block(&mut out, INTERFACE_DESCRIPTION, &idb);
    }
    for (i, packet) in packets.iter().enumerate() {
        let interface = (i % 2) as u32;
        let (secs, micros) = packet.time;
        let units = if interface == 0 {
            secs * 1_000_000 + u64::from(micros)
        } else {
            secs * 1_000_000_000 + u64::from(micros) * 1000
        };
        let frame = packet.frame();
        let mut epb = Vec::new();
        epb.extend_from_slice(&interface.to_le_bytes());
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        let len = frame.len() as u32;
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(&frame);
        pad(&mut epb);
        if i == 0 {
            option(&mut epb, OPT_COMMENT, b"first datagram");
            option(&mut epb, OPT_END, &[]);
        }
        block(&mut out, ENHANCED_PACKET, &epb);
    }
    let mut isb = Vec::new();
    isb.extend_from_slice(&0u32.to_le_bytes());
    isb.extend_from_slice(&[0; 8]); // timestamp
    option(&mut isb, OPT_END, &[]);
    block(&mut out, INTERFACE_STATISTICS, &isb);
    out
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}
