//! Arbitrary bytes, and arbitrary corruption of valid files, never panic the reader.

use proptest::prelude::*;
use rtflow_capture::{LinkType, PcapReader, PcapWriter, Timestamp, build_udp_frame, locate_udp};

/// Reads everything, returning the number of packets seen before the end or the first error.
fn drain(bytes: &[u8]) -> usize {
    let Ok(mut reader) = PcapReader::new(bytes) else {
        return 0;
    };
    let mut packets = 0;
    while let Ok(Some(_)) = reader.next_extracted() {
        packets += 1;
    }
    packets
}

fn valid_pcap(link_type: LinkType) -> Vec<u8> {
    let mut writer = PcapWriter::new(Vec::new(), link_type, 0).unwrap();
    for (i, (src, dst)) in [("10.0.0.1:1", "10.0.0.2:6343"), ("[::1]:1", "[::2]:6343")]
        .into_iter()
        .enumerate()
    {
        let frame =
            build_udp_frame(src.parse().unwrap(), dst.parse().unwrap(), &[i as u8; 40]).unwrap();
        writer
            .write_packet(Timestamp::new(i as u64, 0), frame.len() as u32, &frame)
            .unwrap();
    }
    writer.into_inner()
}

const PCAPNG_HEAD: [u8; 48] = [
    0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0, // SHB
    1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, // IDB, Ethernet
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        drain(&bytes);
    }

    #[test]
    fn random_records_after_a_valid_pcap_header(link in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = valid_pcap(LinkType(link))[..24].to_vec();
        bytes.extend_from_slice(&body);
        drain(&bytes);
    }

    #[test]
    fn random_blocks_after_a_valid_pcapng_header(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = PCAPNG_HEAD.to_vec();
        bytes.extend_from_slice(&body);
        drain(&bytes);
    }

    #[test]
    fn corrupted_valid_file(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid_pcap(LinkType::ETHERNET);
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        drain(&bytes[..keep]);
    }

    #[test]
    fn random_frames_for_every_link_type(link in prop::sample::select(vec![0u16, 1, 12, 14, 101, 108, 113, 228, 229, 276]), frame in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(location) = locate_udp(LinkType(link), &frame) {
            prop_assert!(location.payload.start <= location.payload.end);
            prop_assert!(location.payload.end <= frame.len());
        }
    }
}

#[test]
fn a_valid_file_yields_both_packets() {
    assert_eq!(drain(&valid_pcap(LinkType::ETHERNET)), 2);
    // The pcapng prefix used above is itself valid: a section with one Ethernet interface.
    let mut reader = PcapReader::new(&PCAPNG_HEAD[..]).unwrap();
    assert!(reader.next_packet().unwrap().is_none());
    assert_eq!(reader.link_type(), Some(LinkType::ETHERNET));
}
