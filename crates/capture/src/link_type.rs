use std::fmt;

/// A LINKTYPE_* value (tcpdump.org link-layer header types) as stored in pcap / pcapng.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet (DLT_EN10MB).
    pub const ETHERNET: LinkType = LinkType(1);
    /// DLT_RAW as numbered on most BSDs (raw IPv4 or IPv6).
    pub const RAW_BSD: LinkType = LinkType(12);
    /// DLT_RAW as numbered on OpenBSD (raw IPv4 or IPv6).
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, version taken from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture v1 (`tcpdump -i any` before libpcap 1.10).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4, no link-layer header.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6, no link-layer header.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux "cooked" capture v2 (`tcpdump -i any` with libpcap 1.10 and later).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The link type's tcpdump name (`EN10MB`, `LINUX_SLL`, …), `None` for a type the reader does not decode.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "EN10MB",
            LinkType::RAW_BSD | LinkType::RAW_OPENBSD | LinkType::RAW => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "link type {}", self.0),
        }
    }
}
