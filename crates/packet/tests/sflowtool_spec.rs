//! The sampled header from /work/shared/spec/sflowtool-format.md (sflowtool 6.x output for
//! tcpdump_sflow_expanded.pcap): the analytics decoder finds the values sflowtool printed. (The
//! sflowtool output formats' own header walker is tested in crates/sflowtool.)

use std::net::Ipv4Addr;

use rtflow_packet::format::MacHex;
use rtflow_packet::{HEADER_PROTOCOL_ETHERNET, decode};
use rtflow_testkit::headers::{SFLOWTOOL_SPEC_HEADER, from_dashed_hex};

#[test]
fn decode_agrees_with_sflowtool_values() {
    let bytes = from_dashed_hex(SFLOWTOOL_SPEC_HEADER);
    let f = decode(HEADER_PROTOCOL_ETHERNET, &bytes);
    let eth = f.outer.ethernet.expect("ethernet");
    assert_eq!(MacHex(eth.dst).to_string(), "22421f4a9fcd");
    assert_eq!(MacHex(eth.src).to_string(), "948ed30a713b");
    assert_eq!(eth.ethertype, 2048);
    assert_eq!((f.outer.vlan(), f.outer.priority()), (Some(809), Some(0)));
    let ip = f.outer.ipv4.expect("ipv4");
    assert_eq!(
        (ip.src, ip.dst),
        (Ipv4Addr::new(52, 52, 52, 52), Ipv4Addr::new(53, 53, 53, 53))
    );
    assert_eq!(
        (ip.protocol, ip.tos, ip.ttl, ip.total_length),
        (6, 8, 61, 104)
    );
    // sflowtool prints the identification byte-swapped (no ntohs on a little-endian host).
    assert_eq!(ip.id.swap_bytes(), 20139);
    // IPSize = sampledPacketSize - strippedBytes - offset of the IP header.
    assert_eq!(126 - 4 - u32::from(ip.offset), 104);
    let tcp = f.outer.tcp.expect("tcp");
    assert_eq!((tcp.src_port, tcp.dst_port, tcp.flags8()), (22, 52237, 24));
    assert_eq!(f.stack.to_string(), "eth.vlan.ip.tcp");
    assert_eq!(f.truncated, None);
}
