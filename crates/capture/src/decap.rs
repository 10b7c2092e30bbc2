//! Link layer -> IP -> UDP decapsulation. Works on offsets so that callers can borrow the
//! payload from their own buffer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

use crate::byte_order::{ByteOrder, be16};
use crate::link_type::LinkType;
use crate::skip::SkipReason;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad (QinQ outer tag) and the pre-standard QinQ tag.
const ETHERTYPE_VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];

const IP_PROTO_UDP: u8 = 17;
const UDP_HEADER_LEN: usize = 8;

/// Where the UDP datagram sits in a link-layer frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpLocation {
    /// Source address and UDP port.
    pub src: SocketAddr,
    /// Destination address and UDP port.
    pub dst: SocketAddr,
    /// Byte range of the UDP payload within the frame.
    pub payload: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IpVersion {
    V4,
    V6,
}

/// Finds the UDP payload of a captured frame, or says why there is none.
pub fn locate_udp(link_type: LinkType, frame: &[u8]) -> Result<UdpLocation, SkipReason> {
    let (version, ip_start) = network_layer(link_type, frame)?;
    let packet = frame.get(ip_start..).ok_or(SkipReason::Truncated)?;
    let (mut location, payload_start_in_packet) = match version {
        IpVersion::V4 => ipv4_udp(packet)?,
        IpVersion::V6 => ipv6_udp(packet)?,
    };
    location.payload = ip_start + payload_start_in_packet + location.payload.start
        ..ip_start + payload_start_in_packet + location.payload.end;
    Ok(location)
}

/// IP version and offset of the IP header for each supported link type.
fn network_layer(link_type: LinkType, frame: &[u8]) -> Result<(IpVersion, usize), SkipReason> {
    match link_type {
        LinkType::ETHERNET => {
            let ethertype = be16(frame, 12).ok_or(SkipReason::Truncated)?;
            after_vlan_tags(frame, ethertype, 14)
        }
        LinkType::LINUX_SLL => {
            let protocol = be16(frame, 14).ok_or(SkipReason::Truncated)?;
            after_vlan_tags(frame, protocol, 16)
        }
        LinkType::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Err(SkipReason::Truncated);
            }
            let protocol = be16(frame, 0).ok_or(SkipReason::Truncated)?;
            after_vlan_tags(frame, protocol, 20)
        }
        LinkType::RAW | LinkType::RAW_BSD | LinkType::RAW_OPENBSD => {
            let first = frame.first().ok_or(SkipReason::Truncated)?;
            match first >> 4 {
                4 => Ok((IpVersion::V4, 0)),
                6 => Ok((IpVersion::V6, 0)),
                _ => Err(SkipReason::NotIp),
            }
        }
        LinkType::IPV4 => Ok((IpVersion::V4, 0)),
        LinkType::IPV6 => Ok((IpVersion::V6, 0)),
        LinkType::NULL | LinkType::LOOP => {
            // NULL stores the family in the capturing host's order, LOOP in network order;
            // accepting either order for both is unambiguous for the values below.
            let family = ByteOrder::Little
                .u32_at(frame, 0)
                .ok_or(SkipReason::Truncated)?;
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            match family {
                2 => Ok((IpVersion::V4, 4)),
                // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin.
                10 | 24 | 28 | 30 => Ok((IpVersion::V6, 4)),
                _ => Err(SkipReason::NotIp),
            }
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

/// Skips any number of VLAN tags; each is 2 bytes TCI followed by the next ethertype.
fn after_vlan_tags(
    frame: &[u8],
    mut ethertype: u16,
    mut offset: usize,
) -> Result<(IpVersion, usize), SkipReason> {
    while ETHERTYPE_VLAN_TAGS.contains(&ethertype) {
        ethertype = be16(frame, offset + 2).ok_or(SkipReason::Truncated)?;
        offset += 4;
    }
    match ethertype {
        ETHERTYPE_IPV4 => Ok((IpVersion::V4, offset)),
        ETHERTYPE_IPV6 => Ok((IpVersion::V6, offset)),
        _ => Err(SkipReason::NotIp),
    }
}

/// Returns the location (payload range relative to the UDP header) and the UDP header offset.
fn ipv4_udp(packet: &[u8]) -> Result<(UdpLocation, usize), SkipReason> {
    let header: &[u8; 20] = packet
        .get(..20)
        .and_then(|h| h.try_into().ok())
        .ok_or(SkipReason::Truncated)?;
    if header[0] >> 4 != 4 {
        return Err(SkipReason::Malformed);
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if header_len < 20 || total_len < header_len {
        return Err(SkipReason::Malformed);
    }
    if header[9] != IP_PROTO_UDP {
        return Err(SkipReason::NotUdp);
    }
    let flags_fragment = u16::from_be_bytes([header[6], header[7]]);
    let more_fragments = flags_fragment & 0x2000 != 0;
    let fragment_offset = flags_fragment & 0x1fff;
    if more_fragments || fragment_offset != 0 {
        return Err(SkipReason::Fragment);
    }
    // Bound by the IP total length: Ethernet padding and trailers are not payload.
    let ip_packet = packet.get(..total_len).ok_or(SkipReason::Truncated)?;
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    let udp = ip_packet.get(header_len..).ok_or(SkipReason::Malformed)?;
    let location = udp_location(udp, IpAddr::V4(src), IpAddr::V4(dst))?;
    Ok((location, header_len))
}

fn ipv6_udp(packet: &[u8]) -> Result<(UdpLocation, usize), SkipReason> {
    let header: &[u8; 40] = packet
        .get(..40)
        .and_then(|h| h.try_into().ok())
        .ok_or(SkipReason::Truncated)?;
    if header[0] >> 4 != 6 {
        return Err(SkipReason::Malformed);
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if payload_len == 0 {
        // Jumbograms (hop-by-hop jumbo option) are not used for UDP export.
        return Err(SkipReason::Malformed);
    }
    let ip_packet = packet
        .get(..40 + payload_len)
        .ok_or(SkipReason::Truncated)?;
    let src = ipv6_at(header, 8);
    let dst = ipv6_at(header, 24);
    let mut next_header = header[6];
    let mut offset = 40;
    loop {
        let ext = ip_packet.get(offset..).unwrap_or_default();
        match next_header {
            IP_PROTO_UDP => break,
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6: (len + 1) * 8.
            0 | 43 | 60 | 135 | 139 | 140 => {
                let (&next, &len) = ext.first().zip(ext.get(1)).ok_or(SkipReason::Malformed)?;
                next_header = next;
                offset += (usize::from(len) + 1) * 8;
            }
            // Fragment header: 8 bytes; offset in the top 13 bits, M flag in the lowest bit.
            44 => {
                let fragment = ext.get(..8).ok_or(SkipReason::Malformed)?;
                let offset_and_flags = be16(fragment, 2).ok_or(SkipReason::Malformed)?;
                if offset_and_flags >> 3 != 0 || offset_and_flags & 1 != 0 {
                    return Err(SkipReason::Fragment);
                }
                next_header = fragment.first().copied().ok_or(SkipReason::Malformed)?;
                offset += 8;
            }
            // Authentication header: (len + 2) * 4.
            51 => {
                let (&next, &len) = ext.first().zip(ext.get(1)).ok_or(SkipReason::Malformed)?;
                next_header = next;
                offset += (usize::from(len) + 2) * 4;
            }
            _ => return Err(SkipReason::NotUdp),
        }
    }
    let udp = ip_packet.get(offset..).ok_or(SkipReason::Malformed)?;
    let location = udp_location(udp, IpAddr::V6(src), IpAddr::V6(dst))?;
    Ok((location, offset))
}

fn ipv6_at(header: &[u8; 40], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    if let Some(bytes) = header.get(at..at + 16) {
        octets.copy_from_slice(bytes);
    }
    Ipv6Addr::from(octets)
}

/// `udp` is the IP payload, exactly as long as the IP header says.
fn udp_location(udp: &[u8], src: IpAddr, dst: IpAddr) -> Result<UdpLocation, SkipReason> {
    let (Some(src_port), Some(dst_port), Some(udp_len)) =
        (be16(udp, 0), be16(udp, 2), be16(udp, 4))
    else {
        return Err(SkipReason::Malformed);
    };
    let udp_len = usize::from(udp_len);
    if udp_len < UDP_HEADER_LEN || udp_len > udp.len() {
        return Err(SkipReason::Malformed);
    }
    Ok(UdpLocation {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        payload: UDP_HEADER_LEN..udp_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::build_udp_frame;

    fn v4(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    fn locate_payload(
        link_type: LinkType,
        frame: &[u8],
    ) -> Result<(UdpLocation, Vec<u8>), SkipReason> {
        let location = locate_udp(link_type, frame)?;
        let payload = frame[location.payload.clone()].to_vec();
        Ok((location, payload))
    }

    #[test]
    fn ethernet_ipv4_and_ipv6() {
        let frame = build_udp_frame(v4("10.0.0.1:5000"), v4("10.0.0.2:6343"), b"hello").unwrap();
        let (location, payload) = locate_payload(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(location.src, v4("10.0.0.1:5000"));
        assert_eq!(location.dst, v4("10.0.0.2:6343"));
        assert_eq!(payload, b"hello");

        let frame =
            build_udp_frame(v4("[2001:db8::1]:1"), v4("[2001:db8::2]:6343"), b"v6").unwrap();
        let (location, payload) = locate_payload(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(location.dst, v4("[2001:db8::2]:6343"));
        assert_eq!(payload, b"v6");
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut frame = build_udp_frame(v4("10.0.0.1:1"), v4("10.0.0.2:2"), b"x").unwrap();
        frame.extend_from_slice(&[0; 20]);
        assert_eq!(locate_payload(LinkType::ETHERNET, &frame).unwrap().1, b"x");
    }

    #[test]
    fn vlan_and_qinq_tags_are_skipped() {
        let plain = build_udp_frame(v4("10.0.0.1:1"), v4("10.0.0.2:2"), b"tagged").unwrap();
        let mut qinq = plain[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]);
        qinq.extend_from_slice(&plain[12..]);
        assert_eq!(
            locate_payload(LinkType::ETHERNET, &qinq).unwrap().1,
            b"tagged"
        );
    }

    #[test]
    fn other_link_types() {
        let ether = build_udp_frame(v4("10.0.0.1:1"), v4("10.0.0.2:2"), b"p").unwrap();
        let ip = &ether[14..];
        for link in [
            LinkType::RAW,
            LinkType::RAW_BSD,
            LinkType::RAW_OPENBSD,
            LinkType::IPV4,
        ] {
            assert_eq!(locate_payload(link, ip).unwrap().1, b"p", "{link}");
        }
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        assert_eq!(locate_payload(LinkType::LINUX_SLL, &sll).unwrap().1, b"p");
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(ip);
        assert_eq!(locate_payload(LinkType::LINUX_SLL2, &sll2).unwrap().1, b"p");
        for family in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut null = family.to_vec();
            null.extend_from_slice(ip);
            assert_eq!(locate_payload(LinkType::NULL, &null).unwrap().1, b"p");
            assert_eq!(locate_payload(LinkType::LOOP, &null).unwrap().1, b"p");
        }
        let ether6 = build_udp_frame(v4("[::1]:1"), v4("[::2]:2"), b"q").unwrap();
        assert_eq!(
            locate_payload(LinkType::IPV6, &ether6[14..]).unwrap().1,
            b"q"
        );
        assert_eq!(
            locate_payload(LinkType::RAW, &ether6[14..]).unwrap().1,
            b"q"
        );
        let mut null6 = 30u32.to_le_bytes().to_vec();
        null6.extend_from_slice(&ether6[14..]);
        assert_eq!(locate_payload(LinkType::NULL, &null6).unwrap().1, b"q");
        assert_eq!(
            locate_udp(LinkType(147), &ether),
            Err(SkipReason::UnsupportedLinkType)
        );
    }

    #[test]
    fn skip_reasons() {
        let frame = build_udp_frame(v4("10.0.0.1:1"), v4("10.0.0.2:2"), b"payload").unwrap();
        let mut arp = frame.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(locate_udp(LinkType::ETHERNET, &arp), Err(SkipReason::NotIp));

        let mut tcp = frame.clone();
        tcp[14 + 9] = 6;
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &tcp),
            Err(SkipReason::NotUdp)
        );

        let mut first_fragment = frame.clone();
        first_fragment[14 + 6] = 0x20;
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &first_fragment),
            Err(SkipReason::Fragment)
        );
        let mut later_fragment = frame.clone();
        later_fragment[14 + 7] = 0x10;
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &later_fragment),
            Err(SkipReason::Fragment)
        );

        assert_eq!(
            locate_udp(LinkType::ETHERNET, &frame[..frame.len() - 1]),
            Err(SkipReason::Truncated)
        );
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &frame[..10]),
            Err(SkipReason::Truncated)
        );

        let mut bad_udp_len = frame.clone();
        bad_udp_len[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &bad_udp_len),
            Err(SkipReason::Malformed)
        );

        let mut bad_ihl = frame.clone();
        bad_ihl[14] = 0x44;
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &bad_ihl),
            Err(SkipReason::Malformed)
        );
    }

    /// Inserts an IPv6 extension header of `ext` bytes with type `ext_type` before UDP.
    fn with_ipv6_extension(ext_type: u8, ext: &[u8]) -> Vec<u8> {
        let frame = build_udp_frame(v4("[::1]:1"), v4("[::2]:2"), b"ext").unwrap();
        let mut out = frame[..14 + 40].to_vec();
        let payload_len = u16::from_be_bytes([out[18], out[19]]) + ext.len() as u16;
        out[18..20].copy_from_slice(&payload_len.to_be_bytes());
        out[14 + 6] = ext_type;
        out.extend_from_slice(ext);
        out.extend_from_slice(&frame[14 + 40..]);
        out
    }

    #[test]
    fn ipv6_extension_headers() {
        // Hop-by-hop options, 8 bytes, next header UDP.
        let hop = with_ipv6_extension(0, &[17, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(locate_payload(LinkType::ETHERNET, &hop).unwrap().1, b"ext");
        // Atomic fragment (offset 0, M=0) is a complete datagram.
        let atomic = with_ipv6_extension(44, &[17, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            locate_payload(LinkType::ETHERNET, &atomic).unwrap().1,
            b"ext"
        );
        let first = with_ipv6_extension(44, &[17, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &first),
            Err(SkipReason::Fragment)
        );
        let later = with_ipv6_extension(44, &[17, 0, 0, 8, 0, 0, 0, 1]);
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &later),
            Err(SkipReason::Fragment)
        );
        // AH: payload len 1 => (1 + 2) * 4 = 12 bytes.
        let ah = with_ipv6_extension(51, &[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(locate_payload(LinkType::ETHERNET, &ah).unwrap().1, b"ext");
        let esp = with_ipv6_extension(50, &[0; 8]);
        assert_eq!(
            locate_udp(LinkType::ETHERNET, &esp),
            Err(SkipReason::NotUdp)
        );
    }
}
