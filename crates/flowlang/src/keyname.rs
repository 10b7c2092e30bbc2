//! Flow key names (sFlow-RT spec §3.1) and the `.N` inner-header layer suffix.

use std::fmt;

/// Highest accepted inner-header layer (`ipsource.3`). Layer 1 is the first
/// tunnel-encapsulated (VXLAN/GRE/Geneve) header stack.
pub(crate) const MAX_LAYER: u8 = 3;

macro_rules! key_names {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal ),+ $(,)?) => {
        /// Every flow key name the engine knows. Names are sFlow-RT's.
        ///
        /// An [`AttributeSource`](super::AttributeSource) may not be able to
        /// supply every key for every sample; absent keys are "missing".
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KeyName {
            $( #[doc = concat!("sFlow-RT flow key `", $name, "`.")] $(#[$doc])* $variant, )+
        }

        impl KeyName {
            /// All key names, in declaration order (for `/flowkeys/json`).
            pub const ALL: &'static [KeyName] = &[ $( KeyName::$variant, )+ ];

            /// The sFlow-RT name of this key.
            pub const fn as_str(self) -> &'static str {
                match self { $( KeyName::$variant => $name, )+ }
            }

            /// Parses a bare key name (no `.N` suffix). Case-sensitive, like sFlow-RT.
            pub fn parse(name: &str) -> Option<KeyName> {
                match name { $( $name => Some(KeyName::$variant), )+ _ => None }
            }
        }
    };
}

key_names! {
    // Agent / sample
    /// IP address of the sFlow agent that sent the sample.
    Agent => "agent",
    InputIfIndex => "inputifindex",
    OutputIfIndex => "outputifindex",
    /// `ingress` / `egress` relative to the sampling data source.
    Direction => "direction",
    /// Frame length of the sampled packet (numeric; also the `bytes` value).
    Bytes => "bytes",
    /// Always 1 per packet sample (numeric; the `frames` value).
    Frames => "frames",
    /// 1 per sampled application transaction (numeric; the `requests` value).
    Requests => "requests",
    /// Application transaction duration in microseconds (numeric).
    Duration => "duration",
    SamplingRate => "samplingrate",
    /// Bytes stripped from the sampled header by the agent.
    Stripped => "stripped",
    /// The data source that sampled the packet (`3`, `2.1`).
    Ds => "ds",
    /// Offset of the Ethernet header in the sampled header bytes.
    EthOffset => "eth_offset",
    // L2
    MacSource => "macsource",
    MacDestination => "macdestination",
    EthernetProtocol => "ethernetprotocol",
    Vlan => "vlan",
    Priority => "priority",
    IsBroadcast => "isbroadcast",
    IsMulticast => "ismulticast",
    IsUnicast => "isunicast",
    // ARP
    ArpOperation => "arpoperation",
    ArpMacSender => "arpmacsender",
    ArpMacTarget => "arpmactarget",
    ArpIpSender => "arpipsender",
    ArpIpTarget => "arpiptarget",
    /// Dotted protocol path, e.g. `eth.ip.tcp`.
    Stack => "stack",
    // IPv4
    IpSource => "ipsource",
    IpDestination => "ipdestination",
    IpProtocol => "ipprotocol",
    IpTos => "iptos",
    IpDscp => "ipdscp",
    IpDscpName => "ipdscpname",
    IpEcn => "ipecn",
    IpTtl => "ipttl",
    IpFlags => "ipflags",
    IpFragOffset => "ipfragoffset",
    IpBytes => "ipbytes",
    IpOffset => "ip_offset",
    /// IPv4 identification field.
    IpId => "ipid",
    /// Bytes of IPv4 options (header length − 20).
    IpOptionsLength => "ipoptionslength",
    IpSourceMaskBits => "ipsourcemaskbits",
    IpDestinationMaskBits => "ipdestinationmaskbits",
    IpNextHopRouter => "ipnexthoprouter",
    // IPv6
    Ip6Source => "ip6source",
    Ip6Destination => "ip6destination",
    Ip6NextHdr => "ip6nexthdr",
    Ip6Tos => "ip6tos",
    Ip6Dscp => "ip6dscp",
    Ip6DscpName => "ip6dscpname",
    Ip6Ecn => "ip6ecn",
    Ip6Ttl => "ip6ttl",
    Ip6FlowLabel => "ip6flowlabel",
    Ip6Bytes => "ip6bytes",
    Ip6Offset => "ip6_offset",
    /// `yes`/`no`: the M flag of an IPv6 fragment header (absent without one).
    Ip6FragM => "ip6fragm",
    /// Fragment offset (8-byte units) of an IPv6 fragment header (absent without one).
    Ip6FragOffset => "ip6fragoffset",
    // L4
    TcpSourcePort => "tcpsourceport",
    TcpDestinationPort => "tcpdestinationport",
    /// 9-character bit string (NS CWR ECE URG ACK PSH RST SYN FIN).
    TcpFlags => "tcpflags",
    TcpWindow => "tcpwindow",
    TcpSeqNo => "tcpseqno",
    TcpAckNo => "tcpackno",
    /// TCP data offset field (header length in 32-bit words).
    TcpOffset => "tcpoffset",
    /// TCP options: not decoded by rtflow, so never present.
    TcpOpts => "tcpopts",
    /// Bytes of TCP options (header length − 20).
    TcpOptBytes => "tcpoptbytes",
    /// TCP payload bytes of the packet, from the IP length (not just the captured part).
    TcpPayloadBytes => "tcppayloadbytes",
    /// Offset of the TCP header in the sampled header bytes.
    TcpHeaderOffset => "tcp_offset",
    UdpSourcePort => "udpsourceport",
    UdpDestinationPort => "udpdestinationport",
    IcmpType => "icmptype",
    IcmpCode => "icmpcode",
    IcmpSeqNo => "icmpseqno",
    /// ICMPv6 type and code (IPv6 packets only).
    Icmp6Type => "icmp6type",
    Icmp6Code => "icmp6code",
    IcmpUnreachableNet => "icmpunreachablenet",
    IcmpUnreachableHost => "icmpunreachablehost",
    IcmpUnreachableProtocol => "icmpunreachableprotocol",
    IcmpUnreachablePort => "icmpunreachableport",
    // Tunnels / overlay
    Vni => "vni",
    VxlanVni => "vxlanvni",
    GreVsid => "grevsid",
    GeneveVni => "genevevni",
    // DNS / application
    DnsQName => "dnsqname",
    DnsQType => "dnsqtype",
    DnsQTypeName => "dnsqtypename",
    DnsQr => "dnsqr",
    HttpUrl => "httpurl",
    UriPath => "uripath",
    HttpMethod => "httpmethod",
    HttpHost => "httphost",
    HttpStatus => "httpstatus",
    // BGP / routing (extended_router, extended_gateway)
    BgpAs => "bgpas",
    BgpSourceAs => "bgpsourceas",
    BgpSourcePeerAs => "bgpsourcepeeras",
    BgpDestinationAs => "bgpdestinationas",
    BgpDestinationPeerAs => "bgpdestinationpeeras",
    BgpDestinationAsPath => "bgpdestinationaspath",
    BgpNextHop => "bgpnexthop",
    BgpCommunities => "bgpcommunities",
    BgpLocalPref => "bgplocalpref",
    // Switch ASIC extensions (extended_switch, egress queue, transit delay, drops)
    VlanSource => "vlansource",
    VlanDestination => "vlandestination",
    PrioritySource => "prioritysource",
    PriorityDestination => "prioritydestination",
    QueueIndex => "queueindex",
    QueueDepth => "queuedepth",
    TransitDelay => "transitdelay",
    /// Drop reason of a packet-drop notification (`dropped:true` definitions).
    Reason => "reason",
    // InfiniBand / RoCEv2
    IbbtOffset => "ibbt_offset",
    IbbtOpcode => "ibbtopcode",
    IbbtSe => "ibbtse",
    IbbtM => "ibbtm",
    IbbtOpTransport => "ibbtoptransport",
    IbbtOpName => "ibbtopname",
    IbbtAethAck => "ibbtaethack",
    IbbtRdmaLen => "ibbtrdmalen",
    // TCP stats (extended_tcp_info)
    TcpRtt => "tcprtt",
    TcpRttSdev => "tcprttsdev",
    TcpRttWait => "tcprttwait",
    TcpUnacked => "tcpunacked",
    TcpLost => "tcplost",
    TcpRetrans => "tcpretrans",
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key name plus its header layer: `ipsource` is layer 0, `ipsource.1` layer 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub name: KeyName,
    pub layer: u8,
}

impl FlowKey {
    /// Parses `name` or `name.N` (1 ≤ N ≤ [`MAX_LAYER`]). `None` if unknown.
    pub fn parse(text: &str) -> Option<FlowKey> {
        if let Some(name) = KeyName::parse(text) {
            return Some(FlowKey { name, layer: 0 });
        }
        let (base, suffix) = text.rsplit_once('.')?;
        let name = KeyName::parse(base)?;
        // Exactly one digit: rejects `ipsource.01`, `ipsource.+1`, `ipsource.`.
        let layer = match suffix.as_bytes() {
            [digit @ b'1'..=b'9'] => digit - b'0',
            _ => return None,
        };
        (layer <= MAX_LAYER).then_some(FlowKey { name, layer })
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.layer == 0 {
            f.write_str(self.name.as_str())
        } else {
            write!(f, "{}.{}", self.name.as_str(), self.layer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for &key in KeyName::ALL {
            assert!(seen.insert(key.as_str()), "duplicate name {key}");
            assert_eq!(KeyName::parse(key.as_str()), Some(key));
            assert!(
                key.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{key}"
            );
        }
    }

    #[test]
    fn spec_names_are_known() {
        for name in [
            "macsource",
            "ethernetprotocol",
            "isunicast",
            "arpipsender",
            "stack",
            "ipsource",
            "ipdscpname",
            "ip_offset",
            "ip6flowlabel",
            "tcpflags",
            "icmpunreachableport",
            "inputifindex",
            "direction",
            "vxlanvni",
            "genevevni",
            "dnsqname",
            "dnsqr",
            "httpurl",
            "uripath",
            "bgpdestinationaspath",
            "queuedepth",
            "vlansource",
            "reason",
            "ibbt_offset",
            "ibbtrdmalen",
            "tcprtt",
            // Accepted by sFlow-RT 3.1 and used by real clients (ddos-protect).
            "ds",
            "eth_offset",
            "tcp_offset",
            "ipid",
            "ipoptionslength",
            "tcpackno",
            "tcpseqno",
            "tcpoffset",
            "tcpoptbytes",
            "tcpopts",
            "tcppayloadbytes",
            "tcpwindow",
            "ip6fragm",
            "ip6fragoffset",
            "icmp6type",
            "icmp6code",
            "agent",
            "bytes",
            "frames",
            "requests",
            "duration",
        ] {
            assert!(KeyName::parse(name).is_some(), "{name}");
        }
    }

    #[test]
    fn layer_suffix() {
        assert_eq!(
            FlowKey::parse("ipsource.1"),
            Some(FlowKey {
                name: KeyName::IpSource,
                layer: 1
            })
        );
        assert_eq!(
            FlowKey::parse("ipsource.1")
                .map(|k| k.to_string())
                .as_deref(),
            Some("ipsource.1")
        );
        assert_eq!(
            FlowKey::parse("macsource"),
            Some(FlowKey {
                name: KeyName::MacSource,
                layer: 0
            })
        );
        for bad in [
            "ipsource.0",
            "ipsource.4",
            "ipsource.01",
            "ipsource.",
            "ipsorce",
            "IPSOURCE",
            "",
            ".1",
            "ipsource.1.1",
        ] {
            assert_eq!(FlowKey::parse(bad), None, "{bad}");
        }
    }
}
