//! Random and mutated inputs never panic.

use proptest::prelude::*;
use rtflow_packet::{PacketFields, Proto, decode, decode_into};
use rtflow_testkit::headers::*;

fn decode_everything(protocol: u32, bytes: &[u8]) {
    let f = decode(protocol, bytes);
    let _ = f.stack.to_string();
    if let Some(dns) = f.dns {
        assert!(dns.name().len() <= rtflow_packet::MAX_QNAME_LEN);
    }
}

/// A VXLAN-in-IPv4 frame with a DNS query inside, used as a seed for mutation.
fn seed_frame() -> Vec<u8> {
    concat(&[
        &ethernet(MAC_A, MAC_B, 0x8100),
        &vlan_tag(1, false, 10, 0x0800),
        &ipv4(&Ipv4Spec {
            protocol: 17,
            ..Ipv4Spec::default()
        }),
        &udp(1, 4789, 90),
        &[0x08, 0, 0, 0, 0, 0, 1, 0],
        &ethernet(MAC_B, MAC_A, 0x86dd),
        &ipv6(0, 0, 40, 17, 1, ip6(1), ip6(2)),
        &udp(3333, 53, 40),
        &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1],
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(protocol in prop_oneof![Just(1u32), Just(11u32), Just(12u32), any::<u32>()],
                                bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        decode_everything(protocol, &bytes);
    }

    #[test]
    fn mutated_frames_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                                  cut in any::<prop::sample::Index>()) {
        let mut frame = seed_frame();
        for (index, value) in edits {
            let i = index.index(frame.len());
            frame[i] = value;
        }
        let len = cut.index(frame.len() + 1);
        decode_everything(1, &frame[..len]);
    }
}

#[test]
fn seed_frame_decodes_fully() {
    let f = decode(1, &seed_frame());
    assert_eq!(f.stack.to_string(), "eth.vlan.ip.udp.vxlan.eth.ip6.udp");
    assert_eq!(f.dns.map(|d| d.name().to_string()), Some("a".to_string()));
}

#[test]
fn decode_into_resets_previous_state() {
    let mut out = decode(1, &seed_frame());
    decode_into(12, &[], &mut out);
    assert_eq!(
        out,
        PacketFields {
            header_protocol: 12,
            truncated: Some(Proto::Ip6),
            ..PacketFields::EMPTY
        }
    );
    assert!(out.inner.is_none() && out.dns.is_none() && out.stack.is_empty());
}
