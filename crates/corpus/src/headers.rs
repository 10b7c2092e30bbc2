//! Packet builders for the sampled headers: Ethernet, 802.1Q, MPLS, ARP, IPv4 (with a correct
//! header checksum), IPv6, TCP, UDP, ICMP/ICMPv6 echo, GRE, VXLAN and a DNS query. Each returns
//! the whole packet with correct length fields; a sampled header is a prefix of it.

use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
pub(crate) const ETHERTYPE_VLAN: u16 = 0x8100;
pub(crate) const ETHERTYPE_QINQ: u16 = 0x88a8;
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
pub(crate) const ETHERTYPE_MPLS: u16 = 0x8847;

pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_GRE: u8 = 47;
pub(crate) const PROTO_ICMPV6: u8 = 58;

pub(crate) const TCP_ACK: u8 = 0x10;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_SYN: u8 = 0x02;

/// A locally administered MAC address numbered `n`.
pub(crate) fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x00, b[0], b[1], b[2], b[3]]
}

pub(crate) fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + payload.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An 802.1Q (or 802.1ad) tag body: priority and VLAN id, then the inner EtherType and payload.
pub(crate) fn vlan(priority: u8, id: u16, inner_type: u16, payload: &[u8]) -> Vec<u8> {
    let tci = (u16::from(priority) << 13) | (id & 0x0fff);
    let mut out = tci.to_be_bytes().to_vec();
    out.extend_from_slice(&inner_type.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One MPLS label stack entry (bottom of stack) before `payload`.
pub(crate) fn mpls(label: u32, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let entry = (label << 12) | (1 << 8) | u32::from(ttl);
    let mut out = entry.to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// IPv4 with the given protocol; `id` and `ttl` vary the header, the checksum is correct.
pub(crate) fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut ip = vec![0x45, 0x00];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&[0x40, 0x00, ttl, protocol, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let checksum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    ip.extend_from_slice(payload);
    ip
}

pub(crate) fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let mut ip = vec![0x60, 0x00, 0x00, 0x00];
    ip.extend_from_slice(&len.to_be_bytes());
    ip.extend_from_slice(&[next_header, 64]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(payload);
    ip
}

/// A TCP segment (20-byte header, checksum left zero: no decoder here verifies it).
pub(crate) fn tcp(src_port: u16, dst_port: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + payload.len());
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&seq.wrapping_mul(7).to_be_bytes()); // acknowledgement number
    out.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

pub(crate) fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    out
}

/// An ICMP (type 8) or ICMPv6 (type 128) echo request.
pub(crate) fn echo_request(icmp_type: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![icmp_type, 0, 0, 0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// GRE (no options) carrying `protocol` (an EtherType).
pub(crate) fn gre(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A VXLAN header (VNI valid) before an inner Ethernet frame.
pub(crate) fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, 0, 0, 0];
    out.extend_from_slice(&(vni << 8).to_be_bytes());
    out.extend_from_slice(inner);
    out
}

/// An ARP request (Ethernet/IPv4) for `target` from `sender`.
pub(crate) fn arp_request(sender_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut out = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    out.extend_from_slice(&sender_mac);
    out.extend_from_slice(&sender.octets());
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&target.octets());
    out
}

/// A DNS query (recursion desired) for `name` with question type `qtype`.
pub(crate) fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = id.to_be_bytes().to_vec();
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        out.push(u8::try_from(label.len()).unwrap_or(63));
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // class IN
    out
}

/// The ones'-complement sum of 16-bit words (RFC 1071).
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_verifies_to_zero() {
        let ip = ipv4(
            Ipv4Addr::new(10, 4, 1, 2),
            Ipv4Addr::new(10, 4, 2, 2),
            PROTO_TCP,
            64,
            7,
            &[0; 20],
        );
        assert_eq!(internet_checksum(&ip[..20]), 0);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 40);
    }
}
