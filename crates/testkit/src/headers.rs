//! Hand-assembled packet headers with known field values, for the decoders' tests (checksums are
//! left zero: the decoders do not verify them).

/// The sampled header of sflowtool's example output in `../shared/spec/sflowtool-format.md` (sflowtool 6.x on
/// `tcpdump_sflow_expanded.pcap`, `sampledPacketSize` 126, `strippedBytes` 4), as sflowtool prints
/// `headerBytes`: Ethernet, 802.1Q VLAN 809, IPv4 52.52.52.52 -> 53.53.53.53, TCP 22 -> 52237.
pub const SFLOWTOOL_SPEC_HEADER: &str = "22-42-1F-4A-9F-CD-94-8E-D3-0A-71-3B-81-00-03-29-08-00-45-08-00-68-AB-4E-40-00-3D-06-16-F2-34-34-34-34-35-35-35-35-00-16-CC-0D-F8-55-7B-84-92-F0-5F-F9-80-18-00-44-E4-20-00-00-01-01-08-0A-5D-8F-E2-7B-CC-23-EE-A7-00-00-00-20-06-E3-0B-56-CB-4A-16-94-51-64-42-DE-04-05-22-D8-7D-CA-14-33-D3-16-2A-13-BA-89-90-91-00-9E-29-3E-91-0B-53-E7-33-56-09-F2-2F-7F-B4-39-33-AC-FB-FE";

/// A locally administered MAC address for frames' one end.
pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
/// A locally administered MAC address for frames' other end.
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

/// An Ethernet II header: destination, source, EtherType.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A VLAN tag body: TCI (priority, DEI, id) followed by the next EtherType.
pub fn vlan_tag(priority: u8, dei: bool, id: u16, next: u16) -> Vec<u8> {
    let tci = (u16::from(priority) << 13) | (u16::from(dei) << 12) | id;
    let mut v = tci.to_be_bytes().to_vec();
    v.extend_from_slice(&next.to_be_bytes());
    v
}

/// One MPLS label stack entry: label, traffic class, bottom-of-stack bit, TTL.
pub fn mpls_entry(label: u32, tc: u8, bottom: bool, ttl: u8) -> [u8; 4] {
    ((label << 12) | (u32::from(tc) << 9) | (u32::from(bottom) << 8) | u32::from(ttl)).to_be_bytes()
}

/// The IPv4 header fields [`ipv4`] writes (version and IHL are derived).
pub struct Ipv4Spec {
    /// Type of service (DSCP and ECN).
    pub tos: u8,
    /// Total length of the packet, header included.
    pub total_length: u16,
    /// Identification.
    pub id: u16,
    /// The three flag bits (reserved, DF, MF).
    pub flags: u8,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload (6 TCP, 17 UDP, …).
    pub protocol: u8,
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Options, a multiple of 4 bytes.
    pub options: Vec<u8>,
}

impl Default for Ipv4Spec {
    fn default() -> Self {
        Ipv4Spec {
            tos: 0,
            total_length: 100,
            id: 0x1234,
            flags: 0b010,
            fragment_offset: 0,
            ttl: 64,
            protocol: 6,
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
            options: Vec::new(),
        }
    }
}

/// An IPv4 header from `spec` (checksum zero).
pub fn ipv4(spec: &Ipv4Spec) -> Vec<u8> {
    assert_eq!(spec.options.len() % 4, 0);
    let ihl = 5 + spec.options.len() / 4;
    let mut h = vec![0x40 | ihl as u8, spec.tos];
    h.extend_from_slice(&spec.total_length.to_be_bytes());
    h.extend_from_slice(&spec.id.to_be_bytes());
    h.extend_from_slice(&((u16::from(spec.flags) << 13) | spec.fragment_offset).to_be_bytes());
    h.extend_from_slice(&[spec.ttl, spec.protocol, 0, 0]);
    h.extend_from_slice(&spec.src);
    h.extend_from_slice(&spec.dst);
    h.extend_from_slice(&spec.options);
    h
}

/// A fixed IPv6 header with the given fields.
pub fn ipv6(
    traffic_class: u8,
    flow_label: u32,
    payload_length: u16,
    next_header: u8,
    hop_limit: u8,
    src: [u8; 16],
    dst: [u8; 16],
) -> Vec<u8> {
    let first = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0xf_ffff);
    let mut h = first.to_be_bytes().to_vec();
    h.extend_from_slice(&payload_length.to_be_bytes());
    h.extend_from_slice(&[next_header, hop_limit]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

/// A 20-byte TCP header (no options; `flags` holds the 9 flag bits; checksum zero).
pub fn tcp(src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: u16, window: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&src_port.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&ack.to_be_bytes());
    h.extend_from_slice(&((5u16 << 12) | (flags & 0x1ff)).to_be_bytes());
    h.extend_from_slice(&window.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// A UDP header (`length` covers header and payload; checksum zero).
pub fn udp(src_port: u16, dst_port: u16, length: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&src_port.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&length.to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h
}

/// An ICMP echo header (`icmp_type` 8 request, 0 reply; checksum zero).
pub fn icmp_echo(icmp_type: u8, id: u16, seq: u16) -> Vec<u8> {
    let mut h = vec![icmp_type, 0, 0, 0];
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h
}

/// An address in the IPv6 documentation prefix, `2001:db8::LAST`.
pub fn ip6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    a
}

/// The layers joined into one header.
pub fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `hex` as printed by sflowtool's headerBytes (`22-42-1F-...`).
pub fn from_dashed_hex(hex: &str) -> Vec<u8> {
    hex.split('-')
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex byte"))
        .collect()
}
