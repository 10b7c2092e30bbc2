//! Plain `Copy` result types of a header decode. Every sub-struct is present only when its fixed
//! header was completely inside the captured bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::dns::DnsQuestion;
use crate::stack::{Proto, Stack};

/// Ethernet II / 802.3 header. `ethertype` is the protocol after any VLAN tags and LLC/SNAP
/// (sFlow-RT `ethernetprotocol`, sflowtool `ethernet_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ethernet {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// EtherType of the network layer.
    pub ethertype: u16,
    /// Bytes from the start of the frame to the network header (MACs, type, VLAN tags, LLC/SNAP).
    pub header_len: u16,
    /// The frame used an 802.3 length field with an LLC/SNAP header.
    pub llc: bool,
}

impl Ethernet {
    /// The destination is the broadcast address `ff:ff:ff:ff:ff:ff`.
    pub fn is_broadcast(&self) -> bool {
        self.dst == [0xff; 6]
    }

    /// Group address other than broadcast.
    pub fn is_multicast(&self) -> bool {
        self.dst[0] & 1 == 1 && !self.is_broadcast()
    }

    /// The destination is an individual (not group) address.
    pub fn is_unicast(&self) -> bool {
        self.dst[0] & 1 == 0
    }
}

/// One 802.1Q / 802.1ad tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Vlan {
    /// Tag protocol identifier (0x8100, 0x88a8, 0x9100, ...).
    pub tpid: u16,
    /// VLAN identifier (0..=4095).
    pub id: u16,
    /// 802.1p priority code point (0..=7).
    pub priority: u8,
    /// Drop eligible indicator (formerly CFI).
    pub dei: bool,
}

/// Maximum VLAN tags recorded; frames with more tags stop decoding there.
pub const MAX_VLAN_TAGS: usize = 4;

/// VLAN tags, outermost first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VlanTags {
    tags: [Vlan; MAX_VLAN_TAGS],
    len: u8,
}

impl VlanTags {
    /// No tags (a `const` usable where `Default` is not).
    pub const EMPTY: VlanTags = VlanTags {
        tags: [Vlan {
            tpid: 0,
            id: 0,
            priority: 0,
            dei: false,
        }; MAX_VLAN_TAGS],
        len: 0,
    };

    /// Returns false (and records nothing) when full.
    pub(crate) fn push(&mut self, vlan: Vlan) -> bool {
        match self.tags.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = vlan;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The recorded tags, outermost first.
    pub fn as_slice(&self) -> &[Vlan] {
        self.tags.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Outer (service) tag, or the only tag.
    pub fn outer(&self) -> Option<Vlan> {
        self.as_slice().first().copied()
    }

    /// Second tag of a QinQ frame.
    pub fn inner(&self) -> Option<Vlan> {
        self.as_slice().get(1).copied()
    }

    /// Number of tags recorded.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// The frame had no VLAN tag.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One MPLS label stack entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MplsLabel {
    /// The 20-bit label value.
    pub label: u32,
    /// Traffic class (formerly EXP), 3 bits.
    pub tc: u8,
    /// The S bit: last entry of the stack.
    pub bottom_of_stack: bool,
    /// Time to live.
    pub ttl: u8,
}

/// Maximum MPLS entries recorded; deeper entries are walked but not stored.
pub const MAX_MPLS_LABELS: usize = 8;

/// MPLS label stack, top first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MplsStack {
    labels: [MplsLabel; MAX_MPLS_LABELS],
    len: u8,
    /// Total entries seen (may exceed the stored ones).
    pub depth: u8,
}

impl MplsStack {
    /// An empty stack (a `const` usable where `Default` is not).
    pub const EMPTY: MplsStack = MplsStack {
        labels: [MplsLabel {
            label: 0,
            tc: 0,
            bottom_of_stack: false,
            ttl: 0,
        }; MAX_MPLS_LABELS],
        len: 0,
        depth: 0,
    };

    pub(crate) fn push(&mut self, entry: MplsLabel) {
        if let Some(slot) = self.labels.get_mut(usize::from(self.len)) {
            *slot = entry;
            self.len += 1;
        }
        self.depth = self.depth.saturating_add(1);
    }

    /// The recorded entries, top first.
    pub fn as_slice(&self) -> &[MplsLabel] {
        self.labels.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The top entry, if any.
    pub fn top(&self) -> Option<MplsLabel> {
        self.as_slice().first().copied()
    }

    /// The frame carried no MPLS entry.
    pub fn is_empty(&self) -> bool {
        self.depth == 0
    }
}

/// ARP for IPv4 over Ethernet (htype 1, ptype 0x0800).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 = request, 2 = reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: [u8; 6],
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// IPv4 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4 {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload (6 TCP, 17 UDP, 1 ICMP, …).
    pub protocol: u8,
    /// Type of service byte (DSCP and ECN).
    pub tos: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification in network byte order as on the wire (see `crate::sflowtool` for sflowtool's `IPID`).
    pub id: u16,
    /// The 3 flag bits: reserved, DF, MF (bit 2 .. bit 0).
    pub flags: u8,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    /// Total length field: header and payload, in bytes.
    pub total_length: u16,
    /// Header length in bytes (IHL * 4), options included.
    pub header_len: u8,
    /// Offset of this header from the start of the sampled header bytes.
    pub offset: u16,
}

impl Ipv4 {
    /// Differentiated services code point (upper 6 bits of the TOS byte).
    pub fn dscp(&self) -> u8 {
        self.tos >> 2
    }

    /// Explicit congestion notification (lower 2 bits of the TOS byte).
    pub fn ecn(&self) -> u8 {
        self.tos & 0b11
    }

    /// The DF (don't fragment) flag is set.
    pub fn dont_fragment(&self) -> bool {
        self.flags & 0b010 != 0
    }

    /// The MF (more fragments) flag is set.
    pub fn more_fragments(&self) -> bool {
        self.flags & 0b001 != 0
    }

    /// Not the first fragment: the transport header is not in this packet.
    pub fn is_later_fragment(&self) -> bool {
        self.fragment_offset != 0
    }
}

/// Maximum IPv6 extension headers walked.
pub const MAX_IPV6_EXTENSIONS: usize = 8;

/// IPv6 header fields, with the extension header chain walked to the final protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6 {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Traffic class byte (DSCP and ECN).
    pub traffic_class: u8,
    /// 20-bit flow label.
    pub flow_label: u32,
    /// Payload length field: bytes after the fixed 40-byte header, extension headers included.
    pub payload_length: u16,
    /// Next header of the fixed header (first extension header or the transport protocol).
    pub next_header: u8,
    /// Protocol after the extension headers (sFlow-RT `ip6nexthdr` / sflowtool `IPProtocol`).
    /// Equals `next_header` when there are no extension headers; when the chain is truncated it is the
    /// last next-header value that could be read.
    pub protocol: u8,
    /// Hop limit.
    pub hop_limit: u8,
    extensions: [u8; MAX_IPV6_EXTENSIONS],
    extensions_len: u8,
    /// Fragment offset (8-byte units) from a fragment extension header, 0 if none.
    pub fragment_offset: u16,
    /// The M (more fragments) flag of a fragment extension header, false if none.
    pub more_fragments: bool,
    /// Offset of this header from the start of the sampled header bytes.
    pub offset: u16,
}

impl Ipv6 {
    pub(crate) fn new(src: Ipv6Addr, dst: Ipv6Addr, offset: u16) -> Self {
        Ipv6 {
            src,
            dst,
            traffic_class: 0,
            flow_label: 0,
            payload_length: 0,
            next_header: 0,
            protocol: 0,
            hop_limit: 0,
            extensions: [0; MAX_IPV6_EXTENSIONS],
            extensions_len: 0,
            fragment_offset: 0,
            more_fragments: false,
            offset,
        }
    }

    /// Differentiated services code point (upper 6 bits of the traffic class).
    pub fn dscp(&self) -> u8 {
        self.traffic_class >> 2
    }

    /// Explicit congestion notification (lower 2 bits of the traffic class).
    pub fn ecn(&self) -> u8 {
        self.traffic_class & 0b11
    }

    /// Extension header types walked, in order (0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 dest opts).
    pub fn extension_headers(&self) -> &[u8] {
        self.extensions
            .get(..usize::from(self.extensions_len))
            .unwrap_or(&[])
    }

    /// Returns false when the fixed array is full.
    pub(crate) fn push_extension(&mut self, header_type: u8) -> bool {
        match self.extensions.get_mut(usize::from(self.extensions_len)) {
            Some(slot) => {
                *slot = header_type;
                self.extensions_len += 1;
                true
            }
            None => false,
        }
    }
}

/// TCP header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// The 9 flag bits NS CWR ECE URG ACK PSH RST SYN FIN (bit 8 .. bit 0).
    pub flags: u16,
    /// Data offset in bytes.
    pub header_len: u8,
    /// Receive window (unscaled).
    pub window: u16,
    /// Offset of this header from the start of the sampled header bytes.
    pub offset: u16,
}

impl Tcp {
    /// The classic 8 flag bits (sflowtool `TCPFlags`, NetFlow tcp_flags).
    pub fn flags8(&self) -> u8 {
        (self.flags & 0xff) as u8
    }
}

/// UDP header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// UDP length field (header + payload).
    pub length: u16,
}

/// The original datagram quoted by an ICMP / ICMPv6 destination-unreachable message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpQuoted {
    /// Destination address of the quoted packet.
    pub dst: IpAddr,
    /// IP protocol of the quoted packet.
    pub protocol: u8,
    /// Destination port of a quoted TCP/UDP header, when captured.
    pub dst_port: Option<u16>,
}

/// ICMP (IPv4) or ICMPv6 message; which one follows from the enclosing IP version / [`Proto`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// Echo request/reply identifier.
    pub echo_id: Option<u16>,
    /// Echo request/reply sequence number.
    pub echo_seq: Option<u16>,
    /// Destination unreachable (ICMP type 3 / ICMPv6 type 1): the quoted packet's destination.
    pub unreachable: Option<IcmpQuoted>,
}

/// The tunnel between the outer headers and [`PacketFields::inner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tunnel {
    /// VXLAN (UDP port 4789), carrying Ethernet.
    Vxlan {
        /// The 24-bit VXLAN network identifier.
        vni: u32,
    },
    /// Geneve (UDP port 6081); `protocol` is the carried EtherType.
    Geneve {
        /// The 24-bit virtual network identifier.
        vni: u32,
        /// EtherType of the carried packet.
        protocol: u16,
    },
    /// GRE version 0; `protocol` is the carried EtherType (0x6558 = Ethernet, e.g. NVGRE).
    Gre {
        /// EtherType of the carried packet.
        protocol: u16,
        /// The key field, when the K bit is set (NVGRE: VSID and flow id).
        key: Option<u32>,
    },
    /// IP-in-IP (IP protocol 4 or 41).
    IpInIp,
}

impl Tunnel {
    /// VXLAN or Geneve virtual network identifier.
    pub fn vni(&self) -> Option<u32> {
        match *self {
            Tunnel::Vxlan { vni } | Tunnel::Geneve { vni, .. } => Some(vni),
            _ => None,
        }
    }
}

/// Headers of one encapsulation level (the outer packet, or the inner packet of one tunnel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers {
    /// Ethernet header, unless the header protocol starts at IP.
    pub ethernet: Option<Ethernet>,
    /// 802.1Q/802.1ad tags, outermost first.
    pub vlans: VlanTags,
    /// MPLS label stack, top first.
    pub mpls: MplsStack,
    /// ARP for IPv4 over Ethernet.
    pub arp: Option<Arp>,
    /// IPv4 header.
    pub ipv4: Option<Ipv4>,
    /// IPv6 header.
    pub ipv6: Option<Ipv6>,
    /// TCP header.
    pub tcp: Option<Tcp>,
    /// UDP header.
    pub udp: Option<Udp>,
    /// ICMP when `ipv4` is set, ICMPv6 when `ipv6` is set.
    pub icmp: Option<Icmp>,
}

/// The inner headers of the single decoded tunnel level.
pub type InnerFields = Headers;

impl Default for Headers {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Headers {
    /// Nothing decoded (a `const` usable where `Default` is not).
    pub const EMPTY: Headers = Headers {
        ethernet: None,
        vlans: VlanTags::EMPTY,
        mpls: MplsStack::EMPTY,
        arp: None,
        ipv4: None,
        ipv6: None,
        tcp: None,
        udp: None,
        icmp: None,
    };

    /// sFlow-RT `vlan`: id of the outer tag.
    pub fn vlan(&self) -> Option<u16> {
        self.vlans.outer().map(|v| v.id)
    }

    /// sFlow-RT `priority`: 802.1p priority of the outer tag.
    pub fn priority(&self) -> Option<u8> {
        self.vlans.outer().map(|v| v.priority)
    }

    /// EtherType of the network layer (after VLAN tags and LLC/SNAP).
    pub fn ethertype(&self) -> Option<u16> {
        self.ethernet.map(|e| e.ethertype)
    }

    /// IPv4 protocol, or IPv6 protocol after extension headers.
    pub fn ip_protocol(&self) -> Option<u8> {
        self.ipv4
            .map(|ip| ip.protocol)
            .or(self.ipv6.map(|ip| ip.protocol))
    }

    /// IPv4 or IPv6 source address.
    pub fn ip_src(&self) -> Option<IpAddr> {
        self.ipv4
            .map(|ip| IpAddr::V4(ip.src))
            .or(self.ipv6.map(|ip| IpAddr::V6(ip.src)))
    }

    /// IPv4 or IPv6 destination address.
    pub fn ip_dst(&self) -> Option<IpAddr> {
        self.ipv4
            .map(|ip| IpAddr::V4(ip.dst))
            .or(self.ipv6.map(|ip| IpAddr::V6(ip.dst)))
    }

    /// Offset of the IP header from the start of the sampled header bytes.
    pub fn ip_offset(&self) -> Option<u16> {
        self.ipv4
            .map(|ip| ip.offset)
            .or(self.ipv6.map(|ip| ip.offset))
    }

    /// TCP or UDP source port.
    pub fn src_port(&self) -> Option<u16> {
        self.tcp
            .map(|t| t.src_port)
            .or(self.udp.map(|u| u.src_port))
    }

    /// TCP or UDP destination port.
    pub fn dst_port(&self) -> Option<u16> {
        self.tcp
            .map(|t| t.dst_port)
            .or(self.udp.map(|u| u.dst_port))
    }

    /// Nothing at all was decoded at this level.
    pub fn is_empty(&self) -> bool {
        self.ethernet.is_none()
            && self.mpls.is_empty()
            && self.ipv4.is_none()
            && self.ipv6.is_none()
    }
}

/// Result of decoding one sampled header. Plain `Copy` data: no heap, no borrowed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketFields {
    /// The sFlow `header_protocol` the bytes were decoded as.
    pub header_protocol: u32,
    /// The header protocol is not one this crate decodes (only 1 Ethernet, 11 IPv4, 12 IPv6).
    pub undecoded: bool,
    /// Headers of the packet as sampled (the tunnel's outer packet, if any).
    pub outer: Headers,
    /// The first tunnel found in the outer headers.
    pub tunnel: Option<Tunnel>,
    /// Headers carried inside `tunnel` (sFlow-RT `.1` keys). Only one tunnel level is decoded.
    pub inner: Option<InnerFields>,
    /// First question of a DNS message on UDP port 53 (from the innermost decoded level).
    pub dns: Option<DnsQuestion>,
    /// Fully decoded layers, outermost first.
    pub stack: Stack,
    /// Where decoding first ran out of captured bytes: the layer whose header was cut off (or, for
    /// MPLS, whose payload was entirely missing). `None` when every identified header was complete.
    pub truncated: Option<Proto>,
}

impl Default for PacketFields {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl PacketFields {
    /// Nothing decoded (a `const` usable where `Default` is not).
    pub const EMPTY: PacketFields = PacketFields {
        header_protocol: 0,
        undecoded: false,
        outer: Headers::EMPTY,
        tunnel: None,
        inner: None,
        dns: None,
        stack: Stack::EMPTY,
        truncated: None,
    };

    /// VXLAN / Geneve VNI of the decoded tunnel (sFlow-RT `vxlanvni` / `genevevni`).
    pub fn vni(&self) -> Option<u32> {
        self.tunnel.and_then(|t| t.vni())
    }

    /// GRE key (sFlow-RT `grevsid` for NVGRE).
    pub fn gre_key(&self) -> Option<u32> {
        match self.tunnel {
            Some(Tunnel::Gre { key, .. }) => key,
            _ => None,
        }
    }
}
