//! The first bytes of a simulated packet, as a switch copies them into a sampled header record:
//! Ethernet, IPv4 (with a valid header checksum), TCP or UDP, and for DNS a real DNS header and
//! question. Payload bytes beyond that are zero.

use std::net::Ipv4Addr;

/// Ethernet header + FCS: the frame length is the IP length plus this.
pub(crate) const ETHERNET_OVERHEAD: u32 = 14 + 4;
/// The longest header a scenario may ask for (`sampling.header_bytes`).
pub(crate) const MAX_HEADER: usize = 256;

pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;

pub(crate) const TCP_ACK: u8 = 0x10;
pub(crate) const TCP_PSH: u8 = 0x08;

/// What follows the transport header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    Zeros,
    /// A DNS message for `qname` (in wire format, e.g. `\x03isc\x03org\x00`).
    Dns {
        id: u16,
        response: bool,
        qtype: u16,
        qname: &'static [u8],
    },
}

/// Everything needed to write one packet's headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketSpec {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub ttl: u8,
    pub ip_id: u16,
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    pub tcp_flags: u8,
    /// Frame length on the wire including the FCS.
    pub frame_length: u32,
    pub payload: Payload,
}

/// Writes the first `min(frame_length - 4, max_len)` bytes of the frame into `out` and returns
/// that length.
pub(crate) fn write_header(spec: &PacketSpec, max_len: usize, out: &mut [u8; MAX_HEADER]) -> usize {
    let wire_len = (spec.frame_length.saturating_sub(4) as usize).max(14 + 20);
    let len = wire_len.min(max_len).min(MAX_HEADER);
    let mut frame = [0u8; 14 + 20 + 32 + 64];
    frame[0..6].copy_from_slice(&spec.dst_mac);
    frame[6..12].copy_from_slice(&spec.src_mac);
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (wire_len - 14) as u16;
    let ip = &mut frame[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..6].copy_from_slice(&spec.ip_id.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = spec.ttl;
    ip[9] = spec.protocol;
    ip[12..16].copy_from_slice(&spec.src_ip.octets());
    ip[16..20].copy_from_slice(&spec.dst_ip.octets());
    let checksum = ip_checksum(ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    let mut end = 34;
    if spec.protocol == IPPROTO_TCP {
        let tcp = &mut frame[34..66];
        tcp[0..2].copy_from_slice(&spec.src_port.to_be_bytes());
        tcp[2..4].copy_from_slice(&spec.dst_port.to_be_bytes());
        tcp[4..8].copy_from_slice(&spec.tcp_seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&spec.tcp_ack.to_be_bytes());
        tcp[12] = 8 << 4; // 32-byte header: timestamps option
        tcp[13] = spec.tcp_flags;
        tcp[14..16].copy_from_slice(&502u16.to_be_bytes()); // window (scaled)
        // NOP, NOP, timestamps (kind 8, length 10).
        tcp[20..24].copy_from_slice(&[1, 1, 8, 10]);
        tcp[24..28].copy_from_slice(&spec.tcp_seq.rotate_left(7).to_be_bytes());
        tcp[28..32].copy_from_slice(&spec.tcp_ack.rotate_left(7).to_be_bytes());
        end = 66;
    } else if spec.protocol == IPPROTO_UDP {
        let udp_len = ip_len.saturating_sub(20);
        let udp = &mut frame[34..42];
        udp[0..2].copy_from_slice(&spec.src_port.to_be_bytes());
        udp[2..4].copy_from_slice(&spec.dst_port.to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        end = 42;
        if let Payload::Dns {
            id,
            response,
            qtype,
            qname,
        } = spec.payload
        {
            end += write_dns(&mut frame[42..], id, response, qtype, qname);
        }
    }
    let copied = end.min(len);
    out[..copied].copy_from_slice(&frame[..copied]);
    out[copied..len].fill(0);
    len
}

/// A DNS header and question; returns the bytes written (at most the room in `out`).
fn write_dns(out: &mut [u8], id: u16, response: bool, qtype: u16, qname: &[u8]) -> usize {
    let mut message = [0u8; 64];
    message[0..2].copy_from_slice(&id.to_be_bytes());
    // Response: QR, RD, RA; query: RD.
    let flags: u16 = if response { 0x8180 } else { 0x0100 };
    message[2..4].copy_from_slice(&flags.to_be_bytes());
    message[4..6].copy_from_slice(&1u16.to_be_bytes()); // one question
    if response {
        message[6..8].copy_from_slice(&24u16.to_be_bytes()); // answers
        message[10..12].copy_from_slice(&1u16.to_be_bytes()); // OPT record
    }
    let name_end = 12 + qname.len().min(40);
    message[12..name_end].copy_from_slice(&qname[..name_end - 12]);
    message[name_end..name_end + 2].copy_from_slice(&qtype.to_be_bytes());
    message[name_end + 2..name_end + 4].copy_from_slice(&1u16.to_be_bytes()); // class IN
    let len = (name_end + 4).min(out.len());
    out[..len].copy_from_slice(&message[..len]);
    len
}

fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks_exact(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(protocol: u8, payload: Payload) -> PacketSpec {
        PacketSpec {
            src_mac: [0x3c, 0xfd, 0xfe, 1, 1, 1],
            dst_mac: [0x44, 0x38, 0x39, 0, 0, 0],
            src_ip: Ipv4Addr::new(10, 1, 1, 11),
            dst_ip: Ipv4Addr::new(10, 1, 3, 12),
            ttl: 63,
            ip_id: 7,
            protocol,
            src_port: 40_000,
            dst_port: 873,
            tcp_seq: 1000,
            tcp_ack: 2000,
            tcp_flags: TCP_ACK | TCP_PSH,
            frame_length: 1518,
            payload,
        }
    }

    #[test]
    fn tcp_header_decodes_with_the_project_decoder() {
        let mut out = [0u8; MAX_HEADER];
        let len = write_header(&spec(IPPROTO_TCP, Payload::Zeros), 128, &mut out);
        assert_eq!(len, 128);
        let fields = rtflow_packet::decode(1, &out[..len]);
        let ip = fields.outer.ipv4.expect("IPv4");
        assert_eq!(ip.src, Ipv4Addr::new(10, 1, 1, 11));
        assert_eq!(ip.dst, Ipv4Addr::new(10, 1, 3, 12));
        assert_eq!(ip.total_length, 1500);
        assert_eq!(ip.ttl, 63);
        let tcp = fields.outer.tcp.expect("TCP");
        assert_eq!((tcp.src_port, tcp.dst_port), (40_000, 873));
        assert_eq!(
            ip_checksum(&out[14..34]),
            0,
            "IPv4 header checksum verifies"
        );
    }

    #[test]
    fn short_frames_are_copied_whole_and_dns_question_is_readable() {
        let mut out = [0u8; MAX_HEADER];
        let mut query = spec(
            IPPROTO_UDP,
            Payload::Dns {
                id: 0x1234,
                response: true,
                qtype: 255,
                qname: b"\x03isc\x03org\x00",
            },
        );
        query.src_port = 53;
        query.frame_length = 90;
        let len = write_header(&query, 128, &mut out);
        assert_eq!(len, 86, "frame length minus FCS");
        let fields = rtflow_packet::decode(1, &out[..len]);
        let udp = fields.outer.udp.expect("UDP");
        assert_eq!(udp.src_port, 53);
        assert_eq!(udp.length, 86 - 14 - 20);
        let dns = fields.dns.expect("DNS question");
        assert_eq!(dns.qtype, 255);
        assert_eq!(dns.name(), "isc.org");
        assert!(dns.is_response);
    }
}
