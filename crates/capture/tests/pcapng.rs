//! pcapng input built block by block from the specification (draft-ietf-opsawg-pcapng).

use rtflow_capture::{
    CaptureError, CaptureFormat, LinkType, PcapReader, SkipReason, Timestamp, build_udp_frame,
};

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }
    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }
}

/// Type, total length, body padded to 4, total length.
fn block(order: Order, block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&order.u32(block_type));
    out.extend_from_slice(&order.u32(total));
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&order.u32(total));
    out
}

fn section_header(order: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&order.u32(0x1a2b_3c4d));
    body.extend_from_slice(&order.u16(1));
    body.extend_from_slice(&order.u16(0));
    body.extend_from_slice(&[0xff; 8]); // section length: unknown
    block(order, 0x0a0d_0d0a, &body)
}

fn option(order: Order, code: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&order.u16(code));
    out.extend_from_slice(&order.u16(value.len() as u16));
    out.extend_from_slice(value);
    out.resize(out.len().div_ceil(4) * 4, 0);
    out
}

fn interface(order: Order, link_type: u16, snaplen: u32, options: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&order.u16(link_type));
    body.extend_from_slice(&order.u16(0));
    body.extend_from_slice(&order.u32(snaplen));
    for opt in options {
        body.extend_from_slice(opt);
    }
    if !options.is_empty() {
        body.extend_from_slice(&[0; 4]); // opt_endofopt
    }
    block(order, 1, &body)
}

fn enhanced_packet(order: Order, interface_id: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&order.u32(interface_id));
    body.extend_from_slice(&order.u32((ticks >> 32) as u32));
    body.extend_from_slice(&order.u32(ticks as u32));
    body.extend_from_slice(&order.u32(data.len() as u32));
    body.extend_from_slice(&order.u32(data.len() as u32));
    body.extend_from_slice(data);
    block(order, 6, &body)
}

fn simple_packet(order: Order, data: &[u8]) -> Vec<u8> {
    let mut body = order.u32(data.len() as u32).to_vec();
    body.extend_from_slice(data);
    block(order, 3, &body)
}

fn frame(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let src = "192.0.2.1:33000".parse().unwrap();
    let dst = format!("192.0.2.2:{dst_port}").parse().unwrap();
    build_udp_frame(src, dst, payload).unwrap()
}

/// Two interfaces (Ethernet in microseconds, raw IP in nanoseconds with an offset), a
/// name-resolution block to ignore, a simple packet, and an ARP frame to skip.
fn sample_file(order: Order) -> Vec<u8> {
    let ether = frame(6343, b"first");
    let raw_ip = frame(6343, b"second")[14..].to_vec();
    let mut arp = frame(1, b"arp");
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let mut file = section_header(order);
    file.extend(interface(order, 1, 65535, &[]));
    file.extend(interface(
        order,
        101,
        0,
        &[
            option(order, 2, b"eth1"), // if_name, ignored
            option(order, 9, &[9]),    // if_tsresol: nanoseconds
            option(order, 14, &order_i64(order, 100)),
        ],
    ));
    file.extend(block(order, 4, &[0, 0, 0, 0])); // NRB: skipped
    file.extend(enhanced_packet(order, 0, 1_700_000_000_250_000, &ether));
    file.extend(enhanced_packet(
        order,
        1,
        1_700_000_000_000_000_123,
        &raw_ip,
    ));
    file.extend(simple_packet(order, &ether));
    file.extend(enhanced_packet(order, 0, 0, &arp));
    file
}

fn order_i64(order: Order, v: i64) -> [u8; 8] {
    match order {
        Order::Little => v.to_le_bytes(),
        Order::Big => v.to_be_bytes(),
    }
}

#[test]
fn reads_both_byte_orders_with_per_interface_resolution() {
    for order in [Order::Little, Order::Big] {
        let file = sample_file(order);
        let mut reader = PcapReader::new(&file[..]).unwrap();
        assert_eq!(reader.format(), CaptureFormat::Pcapng);

        let first = reader.next_datagram().unwrap().unwrap();
        assert_eq!(first.payload, b"first");
        assert_eq!(first.timestamp, Timestamp::new(1_700_000_000, 250_000_000));
        assert_eq!(first.dst.port(), 6343);
        assert_eq!(reader.link_type(), Some(LinkType::ETHERNET));

        let second = reader.next_datagram().unwrap().unwrap();
        assert_eq!(second.payload, b"second");
        // Nanosecond ticks plus if_tsoffset of 100 s.
        assert_eq!(second.timestamp, Timestamp::new(1_700_000_100, 123));

        let third = reader.next_datagram().unwrap().unwrap();
        assert_eq!(third.payload, b"first");
        assert_eq!(
            third.timestamp,
            Timestamp::default(),
            "simple packet blocks carry no time"
        );

        assert!(reader.next_datagram().unwrap().is_none());
        assert_eq!(reader.skip_counts().get(SkipReason::NotIp), 1);
        assert_eq!(reader.packets_read(), 4);
    }
}

#[test]
fn a_new_section_resets_interfaces_and_byte_order() {
    let mut file = sample_file(Order::Little);
    file.extend(section_header(Order::Big));
    file.extend(interface(
        Order::Big,
        229,
        0,
        &[option(Order::Big, 9, &[0x80 | 10])],
    ));
    let v6 = build_udp_frame(
        "[2001:db8::1]:1".parse().unwrap(),
        "[2001:db8::2]:6343".parse().unwrap(),
        b"six",
    )
    .unwrap();
    file.extend(enhanced_packet(Order::Big, 0, 3 * 1024 + 512, &v6[14..]));
    let mut reader = PcapReader::new(&file[..]).unwrap();
    let mut payloads = Vec::new();
    let mut last_ts = Timestamp::default();
    while let Some(datagram) = reader.next_datagram().unwrap() {
        payloads.push(datagram.payload.to_vec());
        last_ts = datagram.timestamp;
    }
    assert_eq!(payloads, [&b"first"[..], b"second", b"first", b"six"]);
    assert_eq!(
        last_ts,
        Timestamp::new(3, 500_000_000),
        "2^-10 s resolution"
    );
}

#[test]
fn packet_on_undeclared_interface_is_an_error() {
    let mut file = section_header(Order::Little);
    file.extend(interface(Order::Little, 1, 0, &[]));
    file.extend(enhanced_packet(Order::Little, 3, 0, &frame(1, b"x")));
    let mut reader = PcapReader::new(&file[..]).unwrap();
    let err = reader.next_packet().unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::UnknownInterface {
                interface_id: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn damaged_blocks_are_clean_errors() {
    let good = sample_file(Order::Little);
    // Cut in the middle of the last block.
    let mut reader = PcapReader::new(&good[..good.len() - 6]).unwrap();
    let err = loop {
        match reader.next_packet() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("truncation not detected"),
            Err(err) => break err,
        }
    };
    assert!(matches!(err, CaptureError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("byte offset"), "{err}");

    // Trailing length that disagrees with the leading one.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    let mut reader = PcapReader::new(&bad[..]).unwrap();
    let err = std::iter::from_fn(|| reader.next_packet().map(|p| p.map(|_| ())).transpose())
        .find_map(Result::err)
        .expect("mismatch detected");
    assert!(
        matches!(err, CaptureError::BlockLengthMismatch { .. }),
        "{err}"
    );

    // Captured length larger than the block.
    let mut body = Vec::new();
    for v in [0u32, 0, 0, 5000, 5000] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    let mut file = section_header(Order::Little);
    file.extend(interface(Order::Little, 1, 0, &[]));
    file.extend(block(Order::Little, 6, &body));
    let mut reader = PcapReader::new(&file[..]).unwrap();
    assert!(matches!(
        reader.next_packet(),
        Err(CaptureError::ShortBlock { .. })
    ));

    // Wrong byte-order magic in the section header.
    let mut file = section_header(Order::Little);
    file[8] = 0;
    assert!(matches!(
        PcapReader::new(&file[..]),
        Err(CaptureError::BadByteOrderMagic { .. })
    ));
}
