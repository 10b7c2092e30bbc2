//! Synthetic Ethernet / IPv4-or-IPv6 / UDP frames around a payload, for generating captures.

use std::net::{IpAddr, SocketAddr};

/// 65535 - 20 (IPv4 header) - 8 (UDP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65_507;
/// 65535 (IPv6 payload length) - 8 (UDP header).
pub const MAX_UDP_PAYLOAD_V6: usize = 65_527;

/// Locally administered, clearly synthetic MAC addresses.
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const TTL: u8 = 64;
const IP_PROTO_UDP: u8 = 17;

/// Why a UDP frame cannot be synthesised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// One address is IPv4 and the other IPv6.
    #[error("source {src} and destination {dst} are not the same address family")]
    MixedFamilies {
        /// The source given.
        src: SocketAddr,
        /// The destination given.
        dst: SocketAddr,
    },
    /// The payload does not fit in one IP packet.
    #[error("UDP payload of {len} bytes exceeds the {max}-byte maximum")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The largest payload of the address family.
        max: usize,
    },
}

/// An Ethernet frame carrying `payload` in UDP from `src` to `dst`, with correct IP and UDP
/// lengths and checksums.
pub fn build_udp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Result<Vec<u8>, FrameError> {
    let mut frame = Vec::with_capacity(14 + 40 + 8 + payload.len());
    build_udp_frame_into(&mut frame, src, dst, payload)?;
    Ok(frame)
}

/// Like [`build_udp_frame`], but replaces the contents of `frame` (reuses its allocation).
pub fn build_udp_frame_into(
    frame: &mut Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Result<(), FrameError> {
    let max = match (src.ip(), dst.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => MAX_UDP_PAYLOAD_V4,
        (IpAddr::V6(_), IpAddr::V6(_)) => MAX_UDP_PAYLOAD_V6,
        _ => return Err(FrameError::MixedFamilies { src, dst }),
    };
    if payload.len() > max {
        return Err(FrameError::PayloadTooLarge {
            len: payload.len(),
            max,
        });
    }
    // Both fit in u16 thanks to the check above.
    let udp_len = (8 + payload.len()) as u16;
    frame.clear();
    frame.extend_from_slice(&DST_MAC);
    frame.extend_from_slice(&SRC_MAC);
    let mut pseudo_sum = 0u32;
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            frame.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&(20 + udp_len).to_be_bytes());
            ip[6] = 0x40; // don't fragment
            ip[8] = TTL;
            ip[9] = IP_PROTO_UDP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let checksum = !fold(sum_words(&ip));
            ip[10..12].copy_from_slice(&checksum.to_be_bytes());
            frame.extend_from_slice(&ip);
            pseudo_sum += sum_words(&s.octets()) + sum_words(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            frame.extend_from_slice(&0x86ddu16.to_be_bytes());
            let mut ip = [0u8; 40];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
            ip[6] = IP_PROTO_UDP;
            ip[7] = TTL;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            frame.extend_from_slice(&ip);
            pseudo_sum += sum_words(&s.octets()) + sum_words(&d.octets());
        }
        _ => return Err(FrameError::MixedFamilies { src, dst }),
    }
    pseudo_sum += u32::from(IP_PROTO_UDP) + u32::from(udp_len);
    let mut udp = [0u8; 8];
    udp[0..2].copy_from_slice(&src.port().to_be_bytes());
    udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    let checksum = !fold(pseudo_sum + sum_words(&udp) + sum_words(payload));
    // A computed 0 is sent as all ones; 0 would mean "no checksum".
    let checksum = if checksum == 0 { 0xffff } else { checksum };
    udp[6..8].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&udp);
    frame.extend_from_slice(payload);
    Ok(())
}

/// Sum of big-endian 16-bit words (odd trailing byte padded with zero), not yet folded.
fn sum_words(bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    let mut sum: u32 = 0;
    for pair in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([pair[0], pair[1]])));
        // Fold early so that 64 KiB payloads cannot overflow.
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    #[test]
    fn ipv4_header_checksum_matches_known_example() {
        // The classic worked example (Wikipedia "IPv4 header checksum"):
        // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
        let frame = build_udp_frame(
            addr("192.168.0.1:1"),
            addr("192.168.0.199:2"),
            &[0; 0x73 - 28],
        )
        .unwrap();
        assert_eq!(
            &frame[14..34],
            &[
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
            ]
        );
    }

    #[test]
    fn checksums_verify_to_zero() {
        for (src, dst) in [
            ("10.1.2.3:6343", "10.9.8.7:6343"),
            ("[2001:db8::1]:40000", "[2001:db8::ff]:6343"),
        ] {
            let payload: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
            let (src, dst) = (addr(src), addr(dst));
            let frame = build_udp_frame(src, dst, &payload).unwrap();
            let (ip_len, mut pseudo) = match (src.ip(), dst.ip()) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    assert_eq!(
                        fold(sum_words(&frame[14..34])),
                        0xffff,
                        "IPv4 header checksum"
                    );
                    (20, sum_words(&s.octets()) + sum_words(&d.octets()))
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    (40, sum_words(&s.octets()) + sum_words(&d.octets()))
                }
                _ => unreachable!(),
            };
            let udp = &frame[14 + ip_len..];
            assert_eq!(udp.len(), 8 + payload.len());
            pseudo += 17 + udp.len() as u32;
            assert_eq!(fold(pseudo + sum_words(udp)), 0xffff, "UDP checksum");
            assert_eq!(&udp[8..], &payload[..]);
        }
    }

    #[test]
    fn rejects_mixed_families_and_oversized_payloads() {
        let err = build_udp_frame(addr("10.0.0.1:1"), addr("[::1]:2"), b"x");
        assert!(matches!(err, Err(FrameError::MixedFamilies { .. })));
        let big = vec![0u8; MAX_UDP_PAYLOAD_V4 + 1];
        let err = build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &big);
        assert_eq!(
            err,
            Err(FrameError::PayloadTooLarge {
                len: MAX_UDP_PAYLOAD_V4 + 1,
                max: MAX_UDP_PAYLOAD_V4
            })
        );
        assert!(build_udp_frame(addr("[::1]:1"), addr("[::2]:2"), &big).is_ok());
        let max = vec![0u8; MAX_UDP_PAYLOAD_V4];
        let frame = build_udp_frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &max).unwrap();
        assert_eq!(&frame[16..18], &[0xff, 0xff]);
    }
}
