//! Classic pcap: writer -> reader round trips, hand-built headers in every magic variant, and
//! clean errors on damaged input.

use std::net::SocketAddr;

use rtflow_capture::{
    CaptureError, CaptureFormat, Extracted, LinkType, PcapReader, PcapWriter, SkipReason,
    Timestamp, build_udp_frame,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A small deterministic pseudo-random generator so that payloads are varied but reproducible.
fn payloads(count: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|i| {
            let len = (i * 37) % 1400 + 1;
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        })
        .collect()
}

#[test]
fn writer_reader_round_trip() {
    let payloads = payloads(50);
    let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 0).unwrap();
    for (i, payload) in payloads.iter().enumerate() {
        let (src, dst) = if i % 2 == 0 {
            (addr("10.0.0.1:40000"), addr("10.0.0.2:6343"))
        } else {
            (addr("[2001:db8::1]:40000"), addr("[2001:db8::2]:6343"))
        };
        let frame = build_udp_frame(src, dst, payload).unwrap();
        let ts = Timestamp::from_micros(1_600_000_000 + i as u64, i as u32 * 1000);
        writer.write_packet(ts, frame.len() as u32, &frame).unwrap();
    }
    let bytes = writer.into_inner();

    let mut reader = PcapReader::new(&bytes[..]).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcap { nanosecond: false });
    assert_eq!(reader.link_type(), Some(LinkType::ETHERNET));
    let mut i = 0;
    while let Some(datagram) = reader.next_datagram().unwrap() {
        assert_eq!(datagram.payload, &payloads[i][..]);
        assert_eq!(
            datagram.timestamp,
            Timestamp::from_micros(1_600_000_000 + i as u64, i as u32 * 1000)
        );
        assert_eq!(datagram.dst.port(), 6343);
        assert_eq!(datagram.src.is_ipv6(), i % 2 == 1);
        i += 1;
    }
    assert_eq!(i, payloads.len());
    assert_eq!(reader.skip_counts().total(), 0);
}

#[test]
fn snaplen_truncation_is_reported_as_a_skip() {
    let frame = build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:6343"), &[7; 300]).unwrap();
    let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 128).unwrap();
    writer
        .write_packet(Timestamp::default(), frame.len() as u32, &frame)
        .unwrap();
    let bytes = writer.into_inner();
    let mut reader = PcapReader::new(&bytes[..]).unwrap();
    match reader.next_extracted().unwrap() {
        Some(Extracted::Skipped { reason, .. }) => assert_eq!(reason, SkipReason::Truncated),
        other => panic!("expected a truncation skip, got {other:?}"),
    }
    assert_eq!(reader.skip_counts().get(SkipReason::Truncated), 1);
}

/// Hand-built file: header fields per the libpcap file format, in the given byte order.
fn handmade(
    big_endian: bool,
    magic: u32,
    link_type: u32,
    records: &[(u32, u32, &[u8])],
) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(magic));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&u32b(65535));
    out.extend_from_slice(&u32b(link_type));
    for &(secs, fraction, data) in records {
        out.extend_from_slice(&u32b(secs));
        out.extend_from_slice(&u32b(fraction));
        out.extend_from_slice(&u32b(data.len() as u32));
        out.extend_from_slice(&u32b(data.len() as u32));
        out.extend_from_slice(data);
    }
    out
}

#[test]
fn all_magic_variants_and_raw_ip() {
    let ip = &build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:6343"), b"raw").unwrap()[14..];
    for big_endian in [false, true] {
        for (magic, nanosecond, fraction, expected_nanos) in [
            (0xa1b2_c3d4, false, 123_456, 123_456_000),
            (0xa1b2_3c4d, true, 123_456_789, 123_456_789),
        ] {
            let file = handmade(big_endian, magic, 101, &[(42, fraction, ip)]);
            let mut reader = PcapReader::new(&file[..]).unwrap();
            assert_eq!(reader.format(), CaptureFormat::Pcap { nanosecond });
            assert_eq!(reader.link_type(), Some(LinkType::RAW));
            let datagram = reader.next_datagram().unwrap().unwrap();
            assert_eq!(datagram.payload, b"raw");
            assert_eq!(datagram.timestamp, Timestamp::new(42, expected_nanos));
        }
    }
}

#[test]
fn damaged_input_gives_clean_errors() {
    assert!(matches!(PcapReader::new(&[][..]), Err(CaptureError::Empty)));
    assert!(matches!(
        PcapReader::new(&b"GIF89a.."[..]),
        Err(CaptureError::UnknownMagic { .. })
    ));
    let frame = build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:6343"), b"data").unwrap();
    let file = handmade(false, 0xa1b2_c3d4, 1, &[(1, 0, &frame), (2, 0, &frame)]);

    let err = PcapReader::new(&file[..10]).err().expect("short header");
    assert!(
        matches!(
            err,
            CaptureError::Truncated {
                what: "pcap file header",
                ..
            }
        ),
        "{err}"
    );

    // Cut inside the second record's header, then inside its data.
    let second_record = 24 + 16 + frame.len();
    for (cut, error_offset) in [
        (second_record + 7, second_record),
        (file.len() - 3, second_record + 16),
    ] {
        let mut reader = PcapReader::new(&file[..cut]).unwrap();
        assert!(reader.next_datagram().unwrap().is_some());
        let err = reader.next_datagram().unwrap_err();
        assert!(matches!(err, CaptureError::Truncated { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("byte offset {error_offset}")),
            "{message}"
        );
    }

    // An absurd captured length is rejected without trying to allocate it.
    let mut huge = file.clone();
    huge[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut reader = PcapReader::new(&huge[..]).unwrap();
    assert!(matches!(
        reader.next_packet(),
        Err(CaptureError::TooLarge { .. })
    ));
}

#[test]
fn open_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.pcap");
    let frame = build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:6343"), b"file").unwrap();
    let mut writer =
        PcapWriter::new(std::fs::File::create(&path).unwrap(), LinkType::ETHERNET, 0).unwrap();
    writer
        .write_packet(Timestamp::new(5, 0), frame.len() as u32, &frame)
        .unwrap();
    writer.flush().unwrap();
    drop(writer);
    let mut reader = rtflow_capture::open(&path).unwrap();
    assert_eq!(reader.next_datagram().unwrap().unwrap().payload, b"file");
    let err = rtflow_capture::open(dir.path().join("missing.pcap"))
        .err()
        .expect("missing file");
    assert!(err.to_string().contains("missing.pcap"), "{err}");
}
