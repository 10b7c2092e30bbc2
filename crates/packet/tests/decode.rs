//! Decoding hand-assembled headers whose field values are known by construction.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rtflow_packet::{
    HEADER_PROTOCOL_ETHERNET, HEADER_PROTOCOL_IPV4, HEADER_PROTOCOL_IPV6, IcmpQuoted, Proto,
    Tunnel, decode,
};
use rtflow_testkit::headers::*;

fn eth_ipv4_tcp() -> Vec<u8> {
    let ip = ipv4(&Ipv4Spec {
        tos: 0xb9, // DSCP 46 (EF), ECN 1
        total_length: 60,
        id: 0xbeef,
        flags: 0b010,
        ttl: 57,
        protocol: 6,
        src: [192, 0, 2, 1],
        dst: [198, 51, 100, 7],
        options: vec![1, 1, 1, 0], // NOP NOP NOP EOL: one 4-byte option word
        ..Ipv4Spec::default()
    });
    concat(&[
        &ethernet(MAC_A, MAC_B, 0x0800),
        &ip,
        &tcp(443, 50123, 0xdead_beef, 7, 0x1c2, 29200),
    ])
}

#[test]
fn ethernet_ipv4_tcp_with_options() {
    let f = decode(HEADER_PROTOCOL_ETHERNET, &eth_ipv4_tcp());
    let eth = f.outer.ethernet.expect("ethernet");
    assert_eq!(
        (eth.dst, eth.src, eth.ethertype, eth.header_len),
        (MAC_A, MAC_B, 0x0800, 14)
    );
    assert!(eth.is_unicast() && !eth.is_broadcast() && !eth.is_multicast());
    let ip = f.outer.ipv4.expect("ipv4");
    assert_eq!(ip.src, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(ip.dst, Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!((ip.tos, ip.dscp(), ip.ecn()), (0xb9, 46, 1));
    assert_eq!(
        (ip.ttl, ip.id, ip.flags, ip.fragment_offset, ip.total_length),
        (57, 0xbeef, 0b010, 0, 60)
    );
    assert_eq!((ip.header_len, ip.offset), (24, 14));
    assert!(ip.dont_fragment() && !ip.more_fragments());
    let tcp = f.outer.tcp.expect("tcp");
    assert_eq!(
        (tcp.src_port, tcp.dst_port, tcp.seq, tcp.ack),
        (443, 50123, 0xdead_beef, 7)
    );
    assert_eq!(
        (tcp.flags, tcp.flags8(), tcp.window, tcp.header_len),
        (0x1c2, 0xc2, 29200, 20)
    );
    assert_eq!(f.stack.to_string(), "eth.ip.tcp");
    assert_eq!(f.truncated, None);
    assert_eq!(
        (
            f.outer.src_port(),
            f.outer.dst_port(),
            f.outer.ip_protocol()
        ),
        (Some(443), Some(50123), Some(6))
    );
    assert!(f.inner.is_none() && f.tunnel.is_none() && f.dns.is_none());
}

fn qinq_udp() -> Vec<u8> {
    concat(&[
        &ethernet([0xff; 6], MAC_B, 0x88a8),
        &vlan_tag(5, true, 100, 0x8100),
        &vlan_tag(3, false, 200, 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 17,
            ..Ipv4Spec::default()
        }),
        &udp(5000, 6000, 28),
    ])
}

#[test]
fn qinq_tags_are_recorded_outer_first() {
    let f = decode(HEADER_PROTOCOL_ETHERNET, &qinq_udp());
    let outer = f.outer.vlans.outer().expect("outer tag");
    let inner = f.outer.vlans.inner().expect("inner tag");
    assert_eq!(
        (outer.tpid, outer.id, outer.priority, outer.dei),
        (0x88a8, 100, 5, true)
    );
    assert_eq!(
        (inner.tpid, inner.id, inner.priority, inner.dei),
        (0x8100, 200, 3, false)
    );
    assert_eq!((f.outer.vlan(), f.outer.priority()), (Some(100), Some(5)));
    let eth = f.outer.ethernet.expect("ethernet");
    assert_eq!((eth.ethertype, eth.header_len), (0x0800, 22));
    assert!(eth.is_broadcast() && !eth.is_unicast());
    let udp = f.outer.udp.expect("udp");
    assert_eq!((udp.src_port, udp.dst_port, udp.length), (5000, 6000, 28));
    assert_eq!(f.outer.ipv4.map(|ip| ip.offset), Some(22));
    assert_eq!(f.stack.to_string(), "eth.vlan.vlan.ip.udp");
}

#[test]
fn vlan_0x9100_is_a_tag() {
    let frame = concat(&[
        &ethernet(MAC_A, MAC_B, 0x9100),
        &vlan_tag(0, false, 7, 0x0800),
        &ipv4(&Ipv4Spec::default()),
    ]);
    let f = decode(HEADER_PROTOCOL_ETHERNET, &frame);
    assert_eq!(f.outer.vlan(), Some(7));
    assert!(f.outer.ipv4.is_some());
}

fn mpls_icmp_echo() -> Vec<u8> {
    concat(&[
        &ethernet(MAC_A, MAC_B, 0x8847),
        &mpls_entry(16004, 5, false, 254),
        &mpls_entry(299_792, 0, true, 253),
        &ipv4(&Ipv4Spec {
            protocol: 1,
            ..Ipv4Spec::default()
        }),
        &icmp_echo(8, 0x4242, 17),
    ])
}

#[test]
fn mpls_label_stack_then_ipv4_by_version_nibble() {
    let f = decode(HEADER_PROTOCOL_ETHERNET, &mpls_icmp_echo());
    assert_eq!(f.outer.ethertype(), Some(0x8847));
    let labels = f.outer.mpls.as_slice();
    assert_eq!(labels.len(), 2);
    assert_eq!(
        (
            labels[0].label,
            labels[0].tc,
            labels[0].bottom_of_stack,
            labels[0].ttl
        ),
        (16004, 5, false, 254)
    );
    assert_eq!(
        (
            labels[1].label,
            labels[1].tc,
            labels[1].bottom_of_stack,
            labels[1].ttl
        ),
        (299_792, 0, true, 253)
    );
    let icmp = f.outer.icmp.expect("icmp");
    assert_eq!(
        (icmp.icmp_type, icmp.code, icmp.echo_id, icmp.echo_seq),
        (8, 0, Some(0x4242), Some(17))
    );
    assert_eq!(f.outer.ipv4.map(|ip| ip.offset), Some(22));
    assert_eq!(f.stack.to_string(), "eth.mpls.ip.icmp");
}

fn ipv6_with_extensions() -> Vec<u8> {
    let hop_by_hop = [44, 0, 1, 4, 0, 0, 0, 0]; // next = fragment, 8 bytes (PadN)
    let fragment = [51, 0, 0x00, 0x01, 0, 0, 0, 9]; // next = AH, offset 0, M flag set, id 9
    let auth = [
        60, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]; // (4+2)*4 = 24 bytes
    let dest_opts = [6, 0, 1, 4, 0, 0, 0, 0]; // next = TCP
    concat(&[
        &ethernet(MAC_A, MAC_B, 0x86dd),
        &ipv6(0x2e, 0xabcde, 68, 0, 33, ip6(1), ip6(2)),
        &hop_by_hop,
        &fragment,
        &auth,
        &dest_opts,
        &tcp(22, 40000, 1, 2, 0x010, 512),
    ])
}

#[test]
fn ipv6_extension_chain_is_walked_to_tcp() {
    let bytes = ipv6_with_extensions();
    let f = decode(HEADER_PROTOCOL_ETHERNET, &bytes);
    let ip = f.outer.ipv6.expect("ipv6");
    assert_eq!(
        (ip.src, ip.dst),
        (Ipv6Addr::from(ip6(1)), Ipv6Addr::from(ip6(2)))
    );
    assert_eq!((ip.traffic_class, ip.dscp(), ip.ecn()), (0x2e, 11, 2));
    assert_eq!(
        (ip.flow_label, ip.payload_length, ip.hop_limit),
        (0xabcde, 68, 33)
    );
    assert_eq!((ip.next_header, ip.protocol, ip.fragment_offset), (0, 6, 0));
    assert_eq!(ip.extension_headers(), &[0, 44, 51, 60]);
    let tcp = f.outer.tcp.expect("tcp");
    assert_eq!((tcp.src_port, tcp.dst_port, tcp.flags), (22, 40000, 0x010));
    assert_eq!(f.stack.to_string(), "eth.ip6.tcp");
    assert_eq!(f.truncated, None);
}

#[test]
fn ipv6_later_fragment_has_no_transport() {
    let frame = concat(&[
        &ipv6(0, 0, 16, 44, 64, ip6(1), ip6(2)),
        &[17, 0, 0x00, 0xb9, 0, 0, 0, 1], // offset 23 (0xb9 >> 3), M flag
        &udp(1, 2, 8),
    ]);
    let f = decode(HEADER_PROTOCOL_IPV6, &frame);
    let ip = f.outer.ipv6.expect("ipv6");
    assert_eq!((ip.protocol, ip.fragment_offset), (17, 23));
    assert!(f.outer.udp.is_none());
    assert_eq!(f.stack.to_string(), "ip6");
}

#[test]
fn icmpv6_echo_request() {
    let frame = concat(&[
        &ipv6(0, 0, 8, 58, 255, ip6(1), ip6(2)),
        &icmp_echo(128, 7, 300),
    ]);
    let f = decode(HEADER_PROTOCOL_IPV6, &frame);
    let icmp = f.outer.icmp.expect("icmpv6");
    assert_eq!(
        (icmp.icmp_type, icmp.code, icmp.echo_id, icmp.echo_seq),
        (128, 0, Some(7), Some(300))
    );
    assert_eq!(f.stack.to_string(), "ip6.icmp6");
}

#[test]
fn icmpv6_unreachable_quotes_the_original_destination() {
    let quoted = concat(&[
        &ipv6(0, 0, 8, 17, 64, ip6(2), ip6(9)),
        &udp(33000, 33434, 8),
    ]);
    let frame = concat(&[
        &ipv6(0, 0, 56, 58, 64, ip6(3), ip6(2)),
        &[1, 4, 0, 0, 0, 0, 0, 0],
        &quoted,
    ]);
    let f = decode(HEADER_PROTOCOL_IPV6, &frame);
    let icmp = f.outer.icmp.expect("icmpv6");
    assert_eq!((icmp.icmp_type, icmp.code, icmp.echo_seq), (1, 4, None));
    let expected = IcmpQuoted {
        dst: IpAddr::V6(Ipv6Addr::from(ip6(9))),
        protocol: 17,
        dst_port: Some(33434),
    };
    assert_eq!(icmp.unreachable, Some(expected));
}

#[test]
fn icmp_port_unreachable_quotes_ip_and_port() {
    let quoted = concat(&[
        &ipv4(&Ipv4Spec {
            protocol: 17,
            src: [10, 0, 0, 2],
            dst: [203, 0, 113, 53],
            ..Ipv4Spec::default()
        }),
        &udp(40000, 53, 40),
    ]);
    let frame = concat(&[
        &ipv4(&Ipv4Spec {
            protocol: 1,
            src: [203, 0, 113, 53],
            dst: [10, 0, 0, 2],
            ..Ipv4Spec::default()
        }),
        &[3, 3, 0, 0, 0, 0, 0, 0],
        &quoted,
    ]);
    let f = decode(HEADER_PROTOCOL_IPV4, &frame);
    let icmp = f.outer.icmp.expect("icmp");
    assert_eq!((icmp.icmp_type, icmp.code), (3, 3));
    let expected = IcmpQuoted {
        dst: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 53)),
        protocol: 17,
        dst_port: Some(53),
    };
    assert_eq!(icmp.unreachable, Some(expected));
    // The quoted UDP/53 header is not the packet's own transport: no DNS decode, no UDP layer.
    assert!(f.outer.udp.is_none() && f.dns.is_none());
    assert_eq!(f.stack.to_string(), "ip.icmp");
}

fn arp_request() -> Vec<u8> {
    let mut arp = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    arp.extend_from_slice(&MAC_B);
    arp.extend_from_slice(&[192, 168, 1, 10]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&[192, 168, 1, 1]);
    concat(&[&ethernet([0xff; 6], MAC_B, 0x0806), &arp])
}

#[test]
fn arp_request_fields() {
    let f = decode(HEADER_PROTOCOL_ETHERNET, &arp_request());
    let arp = f.outer.arp.expect("arp");
    assert_eq!(arp.operation, 1);
    assert_eq!(
        (arp.sender_mac, arp.sender_ip),
        (MAC_B, Ipv4Addr::new(192, 168, 1, 10))
    );
    assert_eq!(
        (arp.target_mac, arp.target_ip),
        ([0; 6], Ipv4Addr::new(192, 168, 1, 1))
    );
    assert_eq!(f.outer.ethertype(), Some(0x0806));
    assert_eq!(f.stack.to_string(), "eth.arp");
}

fn vxlan_frame() -> Vec<u8> {
    let inner = concat(&[
        &ethernet([0x02, 0, 0, 0, 0, 0x1a], [0x02, 0, 0, 0, 0, 0x1b], 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 1,
            src: [172, 16, 0, 1],
            dst: [172, 16, 0, 2],
            ttl: 9,
            ..Ipv4Spec::default()
        }),
        &icmp_echo(0, 1, 2),
    ]);
    concat(&[
        &ethernet(MAC_A, MAC_B, 0x8100),
        &vlan_tag(0, false, 42, 0x86dd),
        &ipv6(0, 0, 100, 17, 64, ip6(1), ip6(2)),
        &udp(54321, 4789, 100),
        &[0x08, 0, 0, 0, 0x00, 0x13, 0x88, 0x00], // VNI 5000
        &inner,
    ])
}

#[test]
fn vxlan_inner_frame_is_decoded_one_level() {
    let f = decode(HEADER_PROTOCOL_ETHERNET, &vxlan_frame());
    assert_eq!(f.tunnel, Some(Tunnel::Vxlan { vni: 5000 }));
    assert_eq!(f.vni(), Some(5000));
    let inner = f.inner.expect("inner headers");
    let eth = inner.ethernet.expect("inner ethernet");
    assert_eq!(
        (eth.dst, eth.src),
        ([0x02, 0, 0, 0, 0, 0x1a], [0x02, 0, 0, 0, 0, 0x1b])
    );
    let ip = inner.ipv4.expect("inner ipv4");
    assert_eq!(
        (ip.src, ip.dst, ip.ttl),
        (
            Ipv4Addr::new(172, 16, 0, 1),
            Ipv4Addr::new(172, 16, 0, 2),
            9
        )
    );
    assert_eq!(
        inner.icmp.map(|i| (i.icmp_type, i.echo_seq)),
        Some((0, Some(2)))
    );
    assert_eq!(f.outer.udp.map(|u| u.dst_port), Some(4789));
    assert_eq!(f.outer.vlan(), Some(42));
    assert_eq!(f.stack.to_string(), "eth.vlan.ip6.udp.vxlan.eth.ip.icmp");
}

#[test]
fn only_one_tunnel_level_is_opened() {
    // VXLAN inside VXLAN: the second VXLAN header stays undecoded inner UDP payload.
    let innermost = vxlan_frame();
    let frame = concat(&[
        &ethernet(MAC_A, MAC_B, 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 17,
            ..Ipv4Spec::default()
        }),
        &udp(1000, 4789, 200),
        &[0x08, 0, 0, 0, 0, 0, 7, 0],
        &innermost,
    ]);
    let f = decode(HEADER_PROTOCOL_ETHERNET, &frame);
    assert_eq!(f.vni(), Some(7));
    assert_eq!(f.stack.to_string(), "eth.ip.udp.vxlan.eth.vlan.ip6.udp");
}

#[test]
fn gre_with_key_carrying_ipv4() {
    let frame = concat(&[
        &ipv4(&Ipv4Spec {
            protocol: 47,
            ..Ipv4Spec::default()
        }),
        &[0x20, 0x00, 0x08, 0x00, 0x00, 0x01, 0xe2, 0x40], // K flag, IPv4, key 123456
        &ipv4(&Ipv4Spec {
            protocol: 17,
            src: [1, 1, 1, 1],
            dst: [8, 8, 8, 8],
            ..Ipv4Spec::default()
        }),
        &udp(5353, 53, 30),
        &[
            0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'c', b'o', b'm', 0, 0, 15, 0, 1,
        ],
    ]);
    let f = decode(HEADER_PROTOCOL_IPV4, &frame);
    assert_eq!(
        f.tunnel,
        Some(Tunnel::Gre {
            protocol: 0x0800,
            key: Some(123_456)
        })
    );
    assert_eq!(f.gre_key(), Some(123_456));
    let inner = f.inner.expect("inner");
    assert_eq!(inner.ip_dst(), Some(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8))));
    assert!(inner.ethernet.is_none());
    let dns = f.dns.expect("dns in inner udp/53");
    assert_eq!(
        (dns.name(), dns.qtype_name(), dns.is_response),
        ("com", Some("MX"), false)
    );
    assert_eq!(f.stack.to_string(), "ip.gre.ip.udp");
}

#[test]
fn geneve_with_options_carrying_ethernet() {
    let frame = concat(&[
        &ipv4(&Ipv4Spec {
            protocol: 17,
            ..Ipv4Spec::default()
        }),
        &udp(999, 6081, 80),
        &[0x01, 0x00, 0x65, 0x58, 0x00, 0x00, 0x2a, 0x00], // 1 option word, TEB, VNI 42
        &[0x01, 0x02, 0x03, 0x04],
        &ethernet(MAC_B, MAC_A, 0x0806),
    ]);
    let f = decode(HEADER_PROTOCOL_IPV4, &frame);
    assert_eq!(
        f.tunnel,
        Some(Tunnel::Geneve {
            vni: 42,
            protocol: 0x6558
        })
    );
    let inner = f.inner.expect("inner");
    assert_eq!(inner.ethernet.map(|e| (e.dst, e.src)), Some((MAC_B, MAC_A)));
    // The inner ARP body is missing: recorded as truncated.
    assert_eq!(f.truncated, Some(Proto::Arp));
    assert_eq!(f.stack.to_string(), "ip.udp.geneve.eth");
}

#[test]
fn dns_response_question() {
    let dns = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, //
        4, b's', b'f', b'l', b'o', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1, 0xc0, 0x0c,
    ];
    let frame = concat(&[
        &ethernet(MAC_A, MAC_B, 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 17,
            ..Ipv4Spec::default()
        }),
        &udp(53, 40000, 60),
        &dns,
    ]);
    let f = decode(HEADER_PROTOCOL_ETHERNET, &frame);
    let q = f.dns.expect("dns question");
    assert_eq!(
        (q.name(), q.qtype, q.qtype_name(), q.qclass, q.is_response),
        ("sflo.com", 1, Some("A"), 1, true)
    );
}

#[test]
fn llc_snap_carrying_ipv4() {
    let frame = concat(&[
        &ethernet(MAC_A, MAC_B, 46 + 8),
        &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00],
        &ipv4(&Ipv4Spec {
            protocol: 6,
            ..Ipv4Spec::default()
        }),
        &tcp(1, 2, 3, 4, 0x002, 5),
    ]);
    let f = decode(HEADER_PROTOCOL_ETHERNET, &frame);
    let eth = f.outer.ethernet.expect("ethernet");
    assert_eq!((eth.ethertype, eth.header_len, eth.llc), (0x0800, 22, true));
    assert_eq!(f.outer.tcp.map(|t| t.flags), Some(0x002));
    assert_eq!(f.stack.to_string(), "eth.ip.tcp");
}

#[test]
fn ipv4_later_fragment_has_no_transport() {
    let frame = concat(&[
        &ipv4(&Ipv4Spec {
            protocol: 17,
            flags: 0b001,
            fragment_offset: 185,
            ..Ipv4Spec::default()
        }),
        &udp(1, 2, 3),
    ]);
    let f = decode(HEADER_PROTOCOL_IPV4, &frame);
    let ip = f.outer.ipv4.expect("ipv4");
    assert_eq!(
        (
            ip.fragment_offset,
            ip.more_fragments(),
            ip.is_later_fragment()
        ),
        (185, true, true)
    );
    assert!(f.outer.udp.is_none());
    assert_eq!(f.stack.to_string(), "ip");
}

#[test]
fn unsupported_header_protocols_are_undecoded() {
    for protocol in [0, 2, 7, 13, 105, u32::MAX] {
        let f = decode(protocol, &eth_ipv4_tcp());
        assert!(f.undecoded, "protocol {protocol}");
        assert!(f.outer.is_empty() && f.stack.is_empty());
        assert_eq!(f.header_protocol, protocol);
    }
    assert!(!decode(HEADER_PROTOCOL_ETHERNET, &[]).undecoded);
}

#[test]
fn non_ip_payloads_stop_cleanly() {
    // IPv4 EtherType but IPv6 version nibble; IPX EtherType.
    let mut bad_version = concat(&[&ethernet(MAC_A, MAC_B, 0x0800), &ipv4(&Ipv4Spec::default())]);
    bad_version[14] = 0x65;
    let f = decode(HEADER_PROTOCOL_ETHERNET, &bad_version);
    assert!(f.outer.ipv4.is_none());
    assert_eq!(
        (f.stack.to_string(), f.truncated),
        ("eth".to_string(), None)
    );
    let ipx = concat(&[&ethernet(MAC_A, MAC_B, 0x8137), &[0xff; 30]]);
    assert_eq!(
        decode(HEADER_PROTOCOL_ETHERNET, &ipx).stack.to_string(),
        "eth"
    );
}

/// Every prefix of a valid frame decodes without panicking, to a stack that is a prefix of the full
/// stack, and reports a truncated layer whenever the stack is shorter.
#[test]
fn truncation_at_every_offset() {
    let frames: Vec<(u32, Vec<u8>)> = vec![
        (HEADER_PROTOCOL_ETHERNET, eth_ipv4_tcp()),
        (HEADER_PROTOCOL_ETHERNET, qinq_udp()),
        (HEADER_PROTOCOL_ETHERNET, mpls_icmp_echo()),
        (HEADER_PROTOCOL_ETHERNET, ipv6_with_extensions()),
        (HEADER_PROTOCOL_ETHERNET, arp_request()),
        (HEADER_PROTOCOL_ETHERNET, vxlan_frame()),
    ];
    for (protocol, frame) in frames {
        let full = decode(protocol, &frame);
        assert_eq!(full.truncated, None, "full frame {}", full.stack);
        for cut in 0..frame.len() {
            let part = decode(protocol, &frame[..cut]);
            let (short, long) = (part.stack.as_slice(), full.stack.as_slice());
            assert!(
                long.starts_with(short),
                "cut {cut}: {} vs {}",
                part.stack,
                full.stack
            );
            if short.len() < long.len() {
                assert!(
                    part.truncated.is_some(),
                    "cut {cut} of {}: {} without truncation",
                    full.stack,
                    part.stack
                );
            }
            // Fields that were decoded agree with the full decode.
            if let (Some(a), Some(b)) = (part.outer.ipv4, full.outer.ipv4) {
                assert_eq!(a, b);
            }
            if let (Some(a), Some(b)) = (
                part.outer.ipv6.map(|i| (i.src, i.dst)),
                full.outer.ipv6.map(|i| (i.src, i.dst)),
            ) {
                assert_eq!(a, b);
            }
        }
    }
}
