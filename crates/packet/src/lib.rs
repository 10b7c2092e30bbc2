//! rtflow-packet: allocation-free decoding of the packet headers carried in sFlow flow samples
//! (the sampled header record, flow data format 0:1).
//!
//! * [`decode`] / [`decode_into`] turn header bytes into [`PacketFields`]: Ethernet, 802.1Q/QinQ,
//!   MPLS, ARP, IPv4, IPv6 (extension headers walked), TCP, UDP, ICMP/ICMPv6, GRE, VXLAN and Geneve,
//!   one level of tunnel inner headers, the first DNS question, and the protocol [`Stack`]
//!   (sFlow-RT's `stack` key). This is what the analytics engine uses for sFlow-RT flow keys. (The
//!   sflowtool output formats walk headers their own way, with sflowtool's quirks: that walker
//!   lives in `rtflow-sflowtool`.)
//! * [`format`] renders values whose text form is not obvious (MACs, bit strings, DSCP names).
//!
//! Truncated headers (agents usually copy the first 128 bytes) decode as far as the bytes go; a
//! sub-struct is present only when its fixed header was completely captured, and
//! [`PacketFields::truncated`] names the first layer that was cut off. Nothing here panics or
//! allocates, whatever the input.

pub mod bytes;
mod decode;
mod dns;
mod fields;
pub mod format;
mod stack;

pub use decode::{HEADER_PROTOCOL_ETHERNET, HEADER_PROTOCOL_IPV4, HEADER_PROTOCOL_IPV6};
pub use dns::{DnsQuestion, MAX_QNAME_LEN, qtype_name};
pub use fields::{
    Arp, Ethernet, Headers, Icmp, IcmpQuoted, InnerFields, Ipv4, Ipv6, MAX_IPV6_EXTENSIONS,
    MAX_MPLS_LABELS, MAX_VLAN_TAGS, MplsLabel, MplsStack, PacketFields, Tcp, Tunnel, Udp, Vlan,
    VlanTags,
};
pub use stack::{Proto, STACK_CAPACITY, Stack};

/// Decodes the header bytes of an sFlow sampled header record.
///
/// `header_protocol` is the record's `header_protocol` field: 1 (Ethernet), 11 (IPv4) and 12 (IPv6)
/// are decoded; any other value yields [`PacketFields::undecoded`] = true with nothing else set.
/// `bytes` is the (usually truncated) copy of the packet. Never panics, never allocates.
pub fn decode(header_protocol: u32, bytes: &[u8]) -> PacketFields {
    let mut fields = PacketFields::EMPTY;
    decode_into(header_protocol, bytes, &mut fields);
    fields
}

/// Like [`decode`], but overwrites `out` in place (avoids moving the result on hot paths).
pub fn decode_into(header_protocol: u32, bytes: &[u8], out: &mut PacketFields) {
    decode::decode_into(header_protocol, bytes, out);
}
