//! The protocol path of a decoded header (sFlow-RT's `stack` flow key, e.g. `eth.vlan.ip.udp.vxlan.eth.ip.tcp`),
//! kept in a small fixed array so that building it never allocates.

use std::fmt;

/// One protocol layer in a [`Stack`]. [`Proto::name`] gives the token used in the dotted path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// Ethernet (`eth`).
    Eth,
    /// An 802.1Q/802.1ad tag (`vlan`).
    Vlan,
    /// MPLS label stack (`mpls`).
    Mpls,
    /// ARP (`arp`).
    Arp,
    /// IPv4 (`ip`).
    Ip,
    /// IPv6 (`ip6`).
    Ip6,
    /// TCP (`tcp`).
    Tcp,
    /// UDP (`udp`).
    Udp,
    /// ICMP (`icmp`).
    Icmp,
    /// ICMPv6 (`icmp6`).
    Icmp6,
    /// GRE (`gre`).
    Gre,
    /// VXLAN (`vxlan`).
    Vxlan,
    /// Geneve (`geneve`).
    Geneve,
}

impl Proto {
    /// Token used in the dotted `stack` string.
    pub const fn name(self) -> &'static str {
        match self {
            Proto::Eth => "eth",
            Proto::Vlan => "vlan",
            Proto::Mpls => "mpls",
            Proto::Arp => "arp",
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Gre => "gre",
            Proto::Vxlan => "vxlan",
            Proto::Geneve => "geneve",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Maximum number of layers recorded; deeper layers set [`Stack::overflowed`].
pub const STACK_CAPACITY: usize = 16;

/// Ordered list of fully decoded protocol layers, outermost first.
/// `Display` renders the dotted path (`eth.ip.tcp`); an empty stack renders as an empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stack {
    protos: [Proto; STACK_CAPACITY],
    len: u8,
    overflowed: bool,
}

impl Default for Stack {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Stack {
    /// No layers (a `const` usable where `Default` is not).
    pub const EMPTY: Stack = Stack {
        protos: [Proto::Eth; STACK_CAPACITY],
        len: 0,
        overflowed: false,
    };

    /// Appends a layer; beyond [`STACK_CAPACITY`] the layer is dropped and `overflowed` is set.
    pub fn push(&mut self, proto: Proto) {
        match self.protos.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = proto;
                self.len += 1;
            }
            None => self.overflowed = true,
        }
    }

    /// The recorded layers, outermost first.
    pub fn as_slice(&self) -> &[Proto] {
        self.protos.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of layers recorded.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Nothing was decoded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when more layers were decoded than fit in the fixed array.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether `proto` is one of the recorded layers.
    pub fn contains(&self, proto: Proto) -> bool {
        self.as_slice().contains(&proto)
    }

    /// The innermost recorded layer.
    pub fn last(&self) -> Option<Proto> {
        self.as_slice().last().copied()
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, proto) in self.as_slice().iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(proto.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_path() {
        let mut s = Stack::EMPTY;
        assert_eq!(s.to_string(), "");
        for p in [
            Proto::Eth,
            Proto::Vlan,
            Proto::Ip6,
            Proto::Udp,
            Proto::Vxlan,
        ] {
            s.push(p);
        }
        assert_eq!(s.to_string(), "eth.vlan.ip6.udp.vxlan");
        assert_eq!(s.last(), Some(Proto::Vxlan));
        assert!(s.contains(Proto::Ip6));
        assert!(!s.contains(Proto::Ip));
    }

    #[test]
    fn overflow_is_recorded_not_panicking() {
        let mut s = Stack::EMPTY;
        for _ in 0..STACK_CAPACITY + 3 {
            s.push(Proto::Mpls);
        }
        assert_eq!(s.len(), STACK_CAPACITY);
        assert!(s.overflowed());
    }
}
