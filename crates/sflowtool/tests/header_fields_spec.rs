//! The sampled header from /work/shared/spec/sflowtool-format.md (sflowtool 6.x output for
//! tcpdump_sflow_expanded.pcap) and hand-assembled ones: the header walker of the sflowtool
//! formats must print what sflowtool printed.

use rtflow_packet::HEADER_PROTOCOL_IPV6;
use rtflow_sflowtool::header_fields::{
    HEADER_PROTOCOL_IEEE80211, SampledHeader, for_each_field, payload_offset,
};
use rtflow_testkit::headers::*;

/// The lines sflowtool printed after `headerBytes` (sampledPacketSize 126, strippedBytes 4).
const SFLOWTOOL_LINES: &[(&str, &str)] = &[
    ("dstMAC", "22421f4a9fcd"),
    ("srcMAC", "948ed30a713b"),
    ("decodedVLAN", "809"),
    ("decodedPriority", "0"),
    ("ethernet_type", "2048"),
    ("IPSize", "104"),
    ("ip.tot_len", "104"),
    ("srcIP", "52.52.52.52"),
    ("dstIP", "53.53.53.53"),
    ("IPProtocol", "6"),
    ("IPTOS", "8"),
    ("IPTTL", "61"),
    ("IPID", "20139"),
    ("TCPSrcPort", "22"),
    ("TCPDstPort", "52237"),
    ("TCPFlags", "24"),
];

fn emitted(header: &SampledHeader<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for_each_field(header, |name, value| {
        out.push((name.to_string(), value.to_string()));
    });
    out
}

#[test]
fn sflowtool_field_sequence_matches_spec_output() {
    let bytes = from_dashed_hex(SFLOWTOOL_SPEC_HEADER);
    assert_eq!(bytes.len(), 122, "headerLen");
    let header = SampledHeader {
        header_protocol: 1,
        frame_length: 126,
        stripped: 4,
        header: &bytes,
    };
    let expected: Vec<(String, String)> = SFLOWTOOL_LINES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(emitted(&header), expected);
    // Ethernet + 802.1Q + IPv4 + TCP with 12 bytes of options (data offset 8 words).
    assert_eq!(payload_offset(&header), Some(18 + 20 + 32));
    // Too little of the TCP header, or not a decoded header protocol: no offset.
    let cut = SampledHeader {
        header: &bytes[..18 + 20 + 7],
        ..header
    };
    assert_eq!(payload_offset(&cut), None);
    let mpls = SampledHeader {
        header_protocol: 13,
        ..header
    };
    assert_eq!(payload_offset(&mpls), None);
}

#[test]
fn sflowtool_qinq_depth_suffix_and_udp() {
    let frame = concat(&[
        &ethernet(MAC_A, MAC_B, 0x88a8),
        &vlan_tag(5, false, 100, 0x8100),
        &vlan_tag(3, false, 200, 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 17,
            total_length: 48,
            id: 0x0102,
            ..Ipv4Spec::default()
        }),
        &udp(5000, 53, 28),
    ]);
    let header = SampledHeader {
        header_protocol: 1,
        frame_length: 80,
        stripped: 4,
        header: &frame,
    };
    let fields = emitted(&header);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("decodedVLAN"), Some("100"));
    assert_eq!(get("decodedPriority"), Some("5"));
    assert_eq!(get("decodedVLAN.1"), Some("200"));
    assert_eq!(get("decodedPriority.1"), Some("3"));
    assert_eq!(get("IPSize"), Some("54")); // 80 - 4 - 22
    assert_eq!(get("IPID"), Some("513")); // 0x0102 byte-swapped = 0x0201
    assert_eq!(get("UDPSrcPort"), Some("5000"));
    assert_eq!(get("UDPDstPort"), Some("53"));
    assert_eq!(get("UDPBytes"), Some("28"));
    assert_eq!(get("TCPSrcPort"), None);
    // Ethernet + 2 tags + IPv4 + UDP: the payload starts after 14 + 8 + 20 + 8 bytes.
    assert_eq!(payload_offset(&header), Some(50));
}

#[test]
fn sflowtool_ipv6_fields() {
    let frame = concat(&[
        &ipv6(0xb8, 0x12345, 8, 0, 64, ip6(1), ip6(2)),
        &[17, 0, 0, 0, 0, 0, 0, 0],
        &udp(1, 2, 8),
    ]);
    let header = SampledHeader {
        header_protocol: HEADER_PROTOCOL_IPV6,
        frame_length: 60,
        stripped: 0,
        header: &frame,
    };
    // IPv6 + an 8-byte extension header + UDP.
    assert_eq!(payload_offset(&header), Some(56));
    let names: Vec<(String, String)> = emitted(&header);
    let expected = [
        ("IPSize", "60"),
        ("IPTOS", "184"),
        ("IP6_label", "0x12345"),
        ("IPV6_payloadLen", "8"),
        ("IPTTL", "64"),
        ("srcIP6", "2001:0db8:0000:0000:0000:0000:0000:0001"),
        ("dstIP6", "2001:0db8:0000:0000:0000:0000:0000:0002"),
        ("IP6HeaderExtension", "0"),
        ("IPProtocol", "17"),
        ("UDPSrcPort", "1"),
        ("UDPDstPort", "2"),
        ("UDPBytes", "8"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn sflowtool_short_headers_emit_prefix_only() {
    let bytes = from_dashed_hex(SFLOWTOOL_SPEC_HEADER);
    // Fewer than 20 bytes: MACs and VLAN only (sflowtool needs room for an IPv4 header to go on).
    let header = SampledHeader {
        header_protocol: 1,
        frame_length: 126,
        stripped: 4,
        header: &bytes[..19],
    };
    let names: Vec<String> = emitted(&header).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        ["dstMAC", "srcMAC", "decodedVLAN", "decodedPriority"]
    );
    for cut in 0..bytes.len() {
        let header = SampledHeader {
            header_protocol: 1,
            frame_length: 126,
            stripped: 4,
            header: &bytes[..cut],
        };
        let fields = emitted(&header);
        let full: Vec<(String, String)> = SFLOWTOOL_LINES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(full.starts_with(&fields), "cut {cut}: {fields:?}");
    }
}

/// An 802.11 frame: frame control (type in bits 2-3 of byte 0, to-DS/from-DS in byte 1),
/// duration, addresses 1-3 (`a`, `b`, `c` repeated), sequence control, then `tail`.
fn wifi_frame(frame_type: u8, ds_bits: u8, tail: &[u8]) -> Vec<u8> {
    let mut frame = vec![frame_type << 2, ds_bits, 0, 0];
    for byte in [0xa1, 0xb2, 0xc3] {
        frame.extend_from_slice(&[byte; 6]);
    }
    frame.extend_from_slice(&[0x10, 0x00]);
    frame.extend_from_slice(tail);
    frame
}

fn wifi_fields(frame: &[u8]) -> Vec<(String, String)> {
    emitted(&SampledHeader {
        header_protocol: HEADER_PROTOCOL_IEEE80211,
        frame_length: frame.len() as u32,
        stripped: 0,
        header: frame,
    })
}

#[test]
fn sflowtool_80211_addresses_by_distribution_system_bits() {
    let (a, b, c, d) = (
        "a1a1a1a1a1a1",
        "b2b2b2b2b2b2",
        "c3c3c3c3c3c3",
        "d4d4d4d4d4d4",
    );
    let pairs = |src: Option<&str>, dst: &str| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = src
            .map(|s| ("srcMAC".to_string(), s.to_string()))
            .into_iter()
            .collect();
        for (k, v) in [("dstMAC", dst), ("txMAC", b), ("rxMAC", a)] {
            out.push((k.to_string(), v.to_string()));
        }
        out
    };
    // Data frames (type 2), with an LLC/SNAP IPv4 payload that sflowtool does not decode.
    let payload = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45, 0, 0, 20];
    let mut bridge_tail = vec![0xd4; 6];
    bridge_tail.extend_from_slice(&payload);
    for (ds_bits, tail, src, dst) in [
        (0, &payload[..], Some(b), a),
        (2, &payload[..], Some(c), a),
        (1, &payload[..], Some(b), c),
        (3, &bridge_tail[..], Some(d), c),
        // A wireless-bridge frame cut before its fourth address: no srcMAC (sflowtool would
        // read past the header).
        (3, &[][..], None, c),
    ] {
        assert_eq!(
            wifi_fields(&wifi_frame(2, ds_bits, tail)),
            pairs(src, dst),
            "DS bits {ds_bits}"
        );
    }
    // Management (0) and control (1) frames, and headers shorter than 24 bytes: nothing.
    assert!(wifi_fields(&wifi_frame(0, 0, &payload)).is_empty());
    assert!(wifi_fields(&wifi_frame(1, 0, &payload)).is_empty());
    assert!(wifi_fields(&wifi_frame(2, 0, &[])[..23]).is_empty());
}
