//! Flow keys of a real sample: [`AttributeSource`] for a [`FlowSample`] seen at an agent's data source.
//!
//! Text forms follow sFlow-RT: MACs as 12 uppercase hex digits, booleans `true`/`false`, bit strings for
//! `tcpflags`/`ipflags`/`ipecn`, decimal numbers. Layer 0 is the outer header, layer 1 the tunnelled one.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use rtflow_packet::format::{BitString, dscp_name};
use rtflow_packet::{Headers, Tunnel};

use crate::sample::{DataSource, FlowSample, Port};
use rtflow_flowlang::{AttributeSource, KeyName};

pub use rtflow_packet::PacketFields;

/// A flow sample in the context where it was observed.
pub struct SampleAttributes<'a> {
    /// The agent that sent the sample.
    pub agent: IpAddr,
    /// The data source that took it.
    pub source: DataSource,
    /// The sample.
    pub sample: &'a FlowSample,
}

impl<'a> SampleAttributes<'a> {
    /// The attributes of `sample`, taken by `source` at `agent`.
    pub fn new(agent: IpAddr, source: DataSource, sample: &'a FlowSample) -> Self {
        Self {
            agent,
            source,
            sample,
        }
    }

    fn headers(&self, layer: u8) -> Option<&'a Headers> {
        match layer {
            0 => Some(&self.sample.packet.outer),
            1 => self.sample.packet.inner.as_ref(),
            _ => None,
        }
    }

    fn direction(&self) -> Option<&'static str> {
        if !self.source.is_interface() {
            return None;
        }
        if self.sample.input.index() == Some(self.source.index) {
            Some("ingress")
        } else if self.sample.output.index() == Some(self.source.index) {
            Some("egress")
        } else {
            None
        }
    }
}

fn write_port(port: Port, out: &mut String) -> bool {
    match port {
        Port::Index(i) => push_integer(u64::from(i), out),
        Port::Discarded(_) => out.push_str("discard"),
        Port::Multiple(_) => out.push_str("multiple"),
        Port::Internal => out.push_str("internal"),
        Port::Unknown => out.push_str("unknown"),
    }
    true
}

fn write_mac(mac: [u8; 6], out: &mut String) -> bool {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in mac {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    true
}

/// Integers without the `fmt` machinery (hot path: ports, protocols, ifIndexes).
fn push_integer(value: u64, out: &mut String) {
    let mut buffer = itoa::Buffer::new();
    out.push_str(buffer.format(value));
}

/// Dotted quad without the `fmt` machinery, in one push (hot path: ipsource/ipdestination keys).
fn push_ipv4(ip: Ipv4Addr, out: &mut String) {
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            if let Some(slot) = text.get_mut(len) {
                *slot = b'.';
            }
            len += 1;
        }
        let digits: &[u8] = match octet {
            0..=9 => &[b'0' + octet],
            10..=99 => &[b'0' + octet / 10, b'0' + octet % 10],
            _ => &[
                b'0' + octet / 100,
                b'0' + octet / 10 % 10,
                b'0' + octet % 10,
            ],
        };
        if let Some(slot) = text.get_mut(len..len + digits.len()) {
            slot.copy_from_slice(digits);
        }
        len += digits.len();
    }
    // Only ASCII digits and dots were written.
    out.push_str(std::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or_default());
}

fn write_ipv4(ip: Option<Ipv4Addr>, out: &mut String) -> bool {
    ip.map(|ip| push_ipv4(ip, out)).is_some()
}

fn write_display(value: Option<impl std::fmt::Display>, out: &mut String) -> bool {
    match value {
        Some(v) => {
            let _ = write!(out, "{v}");
            true
        }
        None => false,
    }
}

fn write_bool(value: Option<bool>, out: &mut String) -> bool {
    write_display(value.map(|b| if b { "true" } else { "false" }), out)
}

/// sFlow-RT `ipdscpname`: the class name in lowercase with the code point, `be(0)`, `af11(10)`, `ef(46)`;
/// an unnamed code point as its number.
fn write_dscp_name(dscp: Option<u8>, out: &mut String) -> bool {
    let Some(dscp) = dscp else { return false };
    let name = match dscp {
        0 => Some("BE"),
        _ => dscp_name(dscp),
    };
    if let Some(name) = name {
        out.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        out.push('(');
        push_integer(u64::from(dscp), out);
        out.push(')');
    } else {
        push_integer(u64::from(dscp), out);
    }
    true
}

/// sFlow-RT `iptos`: the type-of-service byte as 8 binary digits (`00000010`).
fn write_tos(tos: Option<u8>, out: &mut String) -> bool {
    let Some(tos) = tos else { return false };
    for bit in (0..8).rev() {
        out.push(if tos & (1 << bit) != 0 { '1' } else { '0' });
    }
    true
}

impl AttributeSource for SampleAttributes<'_> {
    fn agent(&self) -> Option<IpAddr> {
        Some(self.agent)
    }

    fn address_attribute(&self, key: KeyName, layer: u8) -> Option<IpAddr> {
        use KeyName as K;
        if key == K::Agent {
            return Some(self.agent);
        }
        let h = self.headers(layer)?;
        match key {
            K::IpSource => h.ipv4.map(|ip| IpAddr::V4(ip.src)),
            K::IpDestination => h.ipv4.map(|ip| IpAddr::V4(ip.dst)),
            K::Ip6Source => h.ipv6.map(|ip| IpAddr::V6(ip.src)),
            K::Ip6Destination => h.ipv6.map(|ip| IpAddr::V6(ip.dst)),
            _ => None,
        }
    }

    fn write_attribute(&self, key: KeyName, layer: u8, out: &mut String) -> bool {
        use KeyName as K;
        let sample = self.sample;
        // Keys that do not depend on the header layer.
        match key {
            K::Agent => return write_display(Some(self.agent), out),
            K::InputIfIndex => return write_port(sample.input, out),
            K::OutputIfIndex => return write_port(sample.output, out),
            K::Direction => return write_display(self.direction(), out),
            K::Reason => return write_display(sample.dropped, out),
            K::Ds => return write_display(Some(self.source), out),
            K::TcpOpts => return false,
            K::Stack if layer == 0 => {
                if sample.packet.stack.is_empty() {
                    return false;
                }
                // As `Stack`'s `Display`, without the `fmt` machinery (hot path: `first:stack:…` filters).
                for (i, protocol) in sample.packet.stack.as_slice().iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    out.push_str(protocol.name());
                }
                return true;
            }
            K::DnsQName => {
                return write_display(
                    sample
                        .packet
                        .dns
                        .as_ref()
                        .map(rtflow_packet::DnsQuestion::name),
                    out,
                );
            }
            K::DnsQTypeName => {
                return write_display(
                    sample
                        .packet
                        .dns
                        .as_ref()
                        .and_then(rtflow_packet::DnsQuestion::qtype_name),
                    out,
                );
            }
            K::DnsQr => return write_bool(sample.packet.dns.as_ref().map(|d| d.is_response), out),
            K::Vni | K::VxlanVni if layer == 0 => {
                let vni = match sample.packet.tunnel {
                    Some(Tunnel::Vxlan { vni }) => Some(vni),
                    _ if key == K::Vni => sample.packet.vni(),
                    _ => None,
                };
                return write_display(vni, out);
            }
            K::GeneveVni if layer == 0 => {
                let vni = match sample.packet.tunnel {
                    Some(Tunnel::Geneve { vni, .. }) => Some(vni),
                    _ => None,
                };
                return write_display(vni, out);
            }
            K::GreVsid if layer == 0 => return write_display(sample.packet.gre_key(), out),
            K::IpSourceMaskBits => {
                return write_display(sample.router.map(|r| r.src_mask_len), out);
            }
            K::IpDestinationMaskBits => {
                return write_display(sample.router.map(|r| r.dst_mask_len), out);
            }
            K::IpNextHopRouter => return write_display(sample.router.map(|r| r.next_hop), out),
            K::BgpNextHop => {
                return write_display(sample.gateway.as_ref().map(|g| g.next_hop), out);
            }
            K::BgpAs => return write_display(sample.gateway.as_ref().map(|g| g.as_number), out),
            K::BgpSourceAs => return write_display(sample.gateway.as_ref().map(|g| g.src_as), out),
            K::BgpSourcePeerAs => {
                return write_display(sample.gateway.as_ref().map(|g| g.src_peer_as), out);
            }
            K::BgpDestinationAs => {
                return write_display(sample.gateway.as_ref().map(|g| g.dst_as), out);
            }
            K::BgpDestinationPeerAs => {
                return write_display(sample.gateway.as_ref().map(|g| g.dst_peer_as), out);
            }
            K::BgpDestinationAsPath => {
                return write_display(sample.gateway.as_ref().map(|g| &g.dst_as_path), out);
            }
            K::BgpCommunities => {
                return write_display(sample.gateway.as_ref().map(|g| &g.communities), out);
            }
            K::BgpLocalPref => {
                return write_display(sample.gateway.as_ref().map(|g| g.local_pref), out);
            }
            K::VlanSource => return write_display(sample.switch.map(|s| s.src_vlan), out),
            K::VlanDestination => return write_display(sample.switch.map(|s| s.dst_vlan), out),
            K::PrioritySource => return write_display(sample.switch.map(|s| s.src_priority), out),
            K::PriorityDestination => {
                return write_display(sample.switch.map(|s| s.dst_priority), out);
            }
            _ => {}
        }
        // Numeric for values (`avg:iptos`), but written as bits in keys, as sFlow-RT writes them.
        if matches!(key, K::IpTos | K::Ip6Tos) {
            let headers = self.headers(layer);
            let tos = match key {
                K::IpTos => headers.and_then(|h| h.ipv4).map(|ip| ip.tos),
                _ => headers.and_then(|h| h.ipv6).map(|ip| ip.traffic_class),
            };
            return write_tos(tos, out);
        }
        if let Some(n) = self.numeric_attribute(key, layer) {
            // Numeric keys are non-negative integers.
            push_integer(n as u64, out);
            return true;
        }
        let Some(h) = self.headers(layer) else {
            return false;
        };
        match key {
            K::MacSource => h.ethernet.is_some_and(|e| write_mac(e.src, out)),
            K::MacDestination => h.ethernet.is_some_and(|e| write_mac(e.dst, out)),
            K::IsBroadcast => write_bool(h.ethernet.map(|e| e.is_broadcast()), out),
            K::IsMulticast => write_bool(h.ethernet.map(|e| e.is_multicast()), out),
            K::IsUnicast => write_bool(h.ethernet.map(|e| e.is_unicast()), out),
            K::ArpMacSender => h.arp.is_some_and(|a| write_mac(a.sender_mac, out)),
            K::ArpMacTarget => h.arp.is_some_and(|a| write_mac(a.target_mac, out)),
            K::ArpIpSender => write_display(h.arp.map(|a| a.sender_ip), out),
            K::ArpIpTarget => write_display(h.arp.map(|a| a.target_ip), out),
            K::IpSource => write_ipv4(h.ipv4.map(|ip| ip.src), out),
            K::IpDestination => write_ipv4(h.ipv4.map(|ip| ip.dst), out),
            K::Ip6Source => write_display(h.ipv6.map(|ip| ip.src), out),
            K::Ip6Destination => write_display(h.ipv6.map(|ip| ip.dst), out),
            K::IpDscpName => write_dscp_name(h.ipv4.map(|ip| ip.dscp()), out),
            K::Ip6DscpName => write_dscp_name(h.ipv6.map(|ip| ip.dscp()), out),
            K::Ip6FragM => write_display(
                h.ipv6
                    .filter(has_fragment_header)
                    .map(|ip| if ip.more_fragments { "yes" } else { "no" }),
                out,
            ),
            K::IpEcn => write_display(h.ipv4.map(|ip| BitString::ecn(ip.ecn())), out),
            K::Ip6Ecn => write_display(h.ipv6.map(|ip| BitString::ecn(ip.ecn())), out),
            K::IpFlags => write_display(h.ipv4.map(|ip| BitString::ip_flags(ip.flags)), out),
            K::TcpFlags => write_display(h.tcp.map(|t| BitString::tcp_flags(t.flags)), out),
            K::IcmpUnreachableNet | K::IcmpUnreachableHost => {
                let wanted = if key == K::IcmpUnreachableNet { 0 } else { 1 };
                write_display(unreachable(h, wanted).map(|q| q.dst), out)
            }
            K::IcmpUnreachableProtocol => write_display(unreachable(h, 2).map(|q| q.protocol), out),
            K::IcmpUnreachablePort => {
                write_display(unreachable(h, 3).and_then(|q| q.dst_port), out)
            }
            K::Stack => false,
            _ => false,
        }
    }

    fn numeric_attribute(&self, key: KeyName, layer: u8) -> Option<f64> {
        use KeyName as K;
        let sample = self.sample;
        let value: Option<u64> = match key {
            K::Bytes => Some(u64::from(sample.frame_length)),
            K::Frames => Some(1),
            K::SamplingRate => Some(u64::from(sample.sampling_rate)),
            K::Stripped => Some(u64::from(sample.stripped)),
            K::QueueIndex => sample.queue.and_then(|q| q.queue_index).map(u64::from),
            K::QueueDepth => sample
                .queue
                .and_then(|q| q.queue_depth_bytes)
                .map(u64::from),
            K::TransitDelay => sample.queue.and_then(|q| q.transit_delay_ns).map(u64::from),
            K::TcpRtt => sample.tcp_info.map(|t| u64::from(t.rtt_us)),
            K::TcpRttSdev => sample.tcp_info.map(|t| u64::from(t.rtt_sdev_us)),
            K::TcpRttWait => sample.tcp_info.map(|t| u64::from(t.rtt_wait_us)),
            K::TcpUnacked => sample.tcp_info.map(|t| u64::from(t.unacked)),
            _ => {
                let h = self.headers(layer)?;
                let v4 = h.ipv4;
                let v6 = h.ipv6;
                match key {
                    K::EthernetProtocol => h.ethertype().map(u64::from),
                    K::Vlan => h.vlan().map(u64::from).or_else(|| {
                        sample
                            .switch
                            .filter(|_| layer == 0)
                            .map(|s| u64::from(s.src_vlan))
                    }),
                    K::Priority => h.priority().map(u64::from).or_else(|| {
                        sample
                            .switch
                            .filter(|_| layer == 0)
                            .map(|s| u64::from(s.src_priority))
                    }),
                    K::ArpOperation => h.arp.map(|a| u64::from(a.operation)),
                    K::IpProtocol => v4.map(|ip| u64::from(ip.protocol)),
                    K::IpTos => v4.map(|ip| u64::from(ip.tos)),
                    K::IpDscp => v4.map(|ip| u64::from(ip.dscp())),
                    K::IpTtl => v4.map(|ip| u64::from(ip.ttl)),
                    K::IpFragOffset => v4.map(|ip| u64::from(ip.fragment_offset)),
                    K::IpBytes => v4.map(|ip| u64::from(ip.total_length)),
                    K::IpOffset => v4.map(|ip| u64::from(ip.offset)),
                    K::Ip6NextHdr => v6.map(|ip| u64::from(ip.protocol)),
                    K::Ip6Tos => v6.map(|ip| u64::from(ip.traffic_class)),
                    K::Ip6Dscp => v6.map(|ip| u64::from(ip.dscp())),
                    K::Ip6Ttl => v6.map(|ip| u64::from(ip.hop_limit)),
                    K::Ip6FlowLabel => v6.map(|ip| u64::from(ip.flow_label)),
                    // IPv6 payload length plus the 40-byte fixed header, like IPv4 total length.
                    K::Ip6Bytes => v6.map(|ip| u64::from(ip.payload_length) + 40),
                    K::Ip6Offset => v6.map(|ip| u64::from(ip.offset)),
                    K::TcpSourcePort => h.tcp.map(|t| u64::from(t.src_port)),
                    K::TcpDestinationPort => h.tcp.map(|t| u64::from(t.dst_port)),
                    K::UdpSourcePort => h.udp.map(|u| u64::from(u.src_port)),
                    K::UdpDestinationPort => h.udp.map(|u| u64::from(u.dst_port)),
                    K::IcmpType => h.icmp.map(|i| u64::from(i.icmp_type)),
                    K::IcmpCode => h.icmp.map(|i| u64::from(i.code)),
                    K::IcmpSeqNo => h.icmp.and_then(|i| i.echo_seq).map(u64::from),
                    K::Icmp6Type => h
                        .icmp
                        .filter(|_| v6.is_some())
                        .map(|i| u64::from(i.icmp_type)),
                    K::Icmp6Code => h.icmp.filter(|_| v6.is_some()).map(|i| u64::from(i.code)),
                    K::IpId => v4.map(|ip| u64::from(ip.id)),
                    K::IpOptionsLength => v4.map(|ip| u64::from(ip.header_len.saturating_sub(20))),
                    K::Ip6FragOffset => v6
                        .filter(has_fragment_header)
                        .map(|ip| u64::from(ip.fragment_offset)),
                    K::TcpWindow => h.tcp.map(|t| u64::from(t.window)),
                    K::TcpSeqNo => h.tcp.map(|t| u64::from(t.seq)),
                    K::TcpAckNo => h.tcp.map(|t| u64::from(t.ack)),
                    K::TcpOffset => h.tcp.map(|t| u64::from(t.header_len / 4)),
                    K::TcpOptBytes => h.tcp.map(|t| u64::from(t.header_len.saturating_sub(20))),
                    K::TcpHeaderOffset => h.tcp.map(|t| u64::from(t.offset)),
                    K::TcpPayloadBytes => tcp_payload_bytes(h),
                    K::EthOffset => eth_offset(h, layer),
                    K::DnsQType if layer == 0 => {
                        sample.packet.dns.as_ref().map(|d| u64::from(d.qtype))
                    }
                    _ => None,
                }
            }
        };
        value.map(|v| v as f64)
    }
}

fn has_fragment_header(ip: &rtflow_packet::Ipv6) -> bool {
    ip.extension_headers().contains(&44)
}

/// TCP payload length by the IP header's length field: the packet's IP end minus the end of the TCP header.
fn tcp_payload_bytes(h: &Headers) -> Option<u64> {
    let tcp = h.tcp?;
    let ip_end = match (h.ipv4, h.ipv6) {
        (Some(ip), _) => u64::from(ip.offset) + u64::from(ip.total_length),
        (None, Some(ip)) => u64::from(ip.offset) + 40 + u64::from(ip.payload_length),
        (None, None) => return None,
    };
    Some(ip_end.saturating_sub(u64::from(tcp.offset) + u64::from(tcp.header_len)))
}

/// Offset of the Ethernet header: 0 for the outer packet, before the inner IP header for a tunnelled one.
fn eth_offset(h: &Headers, layer: u8) -> Option<u64> {
    let ethernet = h.ethernet?;
    if layer == 0 {
        return Some(0);
    }
    let ip = h.ip_offset()?;
    Some(u64::from(ip.saturating_sub(ethernet.header_len)))
}

/// The quoted packet of an ICMP destination-unreachable message with the given ICMPv4 code
/// (0 net, 1 host, 2 protocol, 3 port; ICMPv6 codes map: 0 no route → net, 3 address → host, 4 port → port).
fn unreachable(h: &Headers, wanted_v4_code: u8) -> Option<rtflow_packet::IcmpQuoted> {
    let icmp = h.icmp?;
    let quoted = icmp.unreachable?;
    let code = if h.ipv6.is_some() {
        match icmp.code {
            0 => 0,
            3 => 1,
            4 => 3,
            _ => return None,
        }
    } else {
        icmp.code
    };
    (code == wanted_v4_code).then_some(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_sample(frame: &[u8]) -> FlowSample {
        FlowSample {
            source: DataSource::interface(3),
            sampling_rate: 100,
            input: Port::Index(3),
            output: Port::Index(4),
            frame_length: 200,
            packet: rtflow_packet::decode(1, frame),
            ..Default::default()
        }
    }

    #[test]
    fn ipv4_and_tcp_header_keys_sflow_rt_accepts() {
        // IPv4 with 4 option bytes (IHL 6), id 0x1234, 148 bytes; TCP with 4 option bytes (offset 6), 100
        // payload bytes by the IP length (none captured).
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x46, 0, 0, 148, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 1]);
        f.extend_from_slice(&[0x9c, 0x40, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0x20, 0]);
        f.extend_from_slice(&[0x60, 0x10, 0x01, 0x00, 0, 0, 0, 0, 1, 1, 1, 1]);
        let s = frame_sample(&f);
        let a = SampleAttributes::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)), s.source, &s);
        let get = |name: &str| {
            let key = KeyName::parse(name).unwrap_or_else(|| panic!("{name} is not a key"));
            attr(&a, key, 0)
        };
        for (name, want) in [
            ("ds", "3"),
            ("eth_offset", "0"),
            ("ipid", "4660"),
            ("ipoptionslength", "4"),
            ("tcpwindow", "256"),
            ("tcpseqno", "4096"),
            ("tcpackno", "8192"),
            ("tcpoffset", "6"),
            ("tcpoptbytes", "4"),
            ("tcp_offset", "38"),
            ("tcppayloadbytes", "100"),
        ] {
            assert_eq!(get(name).as_deref(), Some(want), "{name}");
        }
        // IPv6-only keys are absent on IPv4; TCP options are not decoded (accepted, never present).
        for name in [
            "ip6fragm",
            "ip6fragoffset",
            "icmp6type",
            "icmp6code",
            "tcpopts",
        ] {
            assert_eq!(get(name), None, "{name}");
        }
    }

    #[test]
    fn ipv6_fragment_and_icmpv6_keys() {
        // IPv6 → fragment header (next 58, offset 0, M set) → ICMPv6 echo request.
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd];
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 16, 44, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        f.extend_from_slice(&[58, 0, 0x00, 0x01, 0, 0, 0, 7]);
        f.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
        let s = frame_sample(&f);
        let a = SampleAttributes::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)), s.source, &s);
        assert_eq!(attr(&a, KeyName::Ip6FragM, 0).as_deref(), Some("yes"));
        assert_eq!(attr(&a, KeyName::Ip6FragOffset, 0).as_deref(), Some("0"));
        assert_eq!(attr(&a, KeyName::Icmp6Type, 0).as_deref(), Some("128"));
        assert_eq!(attr(&a, KeyName::Icmp6Code, 0).as_deref(), Some("0"));
        assert_eq!(attr(&a, KeyName::IpId, 0), None);
    }

    #[test]
    fn dscp_names_and_tos_bits_read_as_in_sflow_rt() {
        let text = |f: fn(Option<u8>, &mut String) -> bool, v| {
            let mut out = String::new();
            f(Some(v), &mut out).then_some(out)
        };
        assert_eq!(text(write_dscp_name, 0).as_deref(), Some("be(0)"));
        assert_eq!(text(write_dscp_name, 10).as_deref(), Some("af11(10)"));
        assert_eq!(text(write_dscp_name, 46).as_deref(), Some("ef(46)"));
        assert_eq!(text(write_dscp_name, 56).as_deref(), Some("cs7(56)"));
        assert_eq!(text(write_dscp_name, 3).as_deref(), Some("3"));
        assert_eq!(text(write_tos, 2).as_deref(), Some("00000010"));
        assert_eq!(text(write_tos, 0).as_deref(), Some("00000000"));
        assert_eq!(text(write_tos, 255).as_deref(), Some("11111111"));
        assert!(!write_dscp_name(None, &mut String::new()));
    }

    /// Ethernet + IPv4 + TCP SYN from 10.0.0.1:40000 to 10.0.0.2:80, built by hand.
    fn tcp_syn_frame() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55]); // dst
        f.extend_from_slice(&[0xd8, 0xd3, 0x85, 0xb2, 0xdd, 0x2b]); // src
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0xb8, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[
            0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f
    }

    fn sample() -> FlowSample {
        FlowSample {
            source: DataSource::interface(3),
            sampling_rate: 100,
            input: Port::Index(3),
            output: Port::Internal,
            frame_length: 64,
            packet: rtflow_packet::decode(1, &tcp_syn_frame()),
            ..Default::default()
        }
    }

    fn attr(src: &SampleAttributes<'_>, key: KeyName, layer: u8) -> Option<String> {
        let mut out = String::new();
        src.write_attribute(key, layer, &mut out).then_some(out)
    }

    #[test]
    fn fast_ipv4_text_matches_std() {
        for ip in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 100, 1, 9],
            [192, 168, 99, 100],
        ] {
            let ip = Ipv4Addr::from(ip);
            let mut out = String::from("x");
            push_ipv4(ip, &mut out);
            assert_eq!(out, format!("x{ip}"));
        }
    }

    #[test]
    fn header_keys_render_like_sflow_rt() {
        let s = sample();
        let a = SampleAttributes::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)), s.source, &s);
        let get = |k| attr(&a, k, 0);
        assert_eq!(get(KeyName::IpSource).as_deref(), Some("10.0.0.1"));
        assert_eq!(get(KeyName::IpDestination).as_deref(), Some("10.0.0.2"));
        assert_eq!(get(KeyName::IpProtocol).as_deref(), Some("6"));
        assert_eq!(get(KeyName::TcpSourcePort).as_deref(), Some("40000"));
        assert_eq!(get(KeyName::TcpDestinationPort).as_deref(), Some("80"));
        assert_eq!(get(KeyName::TcpFlags).as_deref(), Some("000000010"));
        assert_eq!(get(KeyName::MacSource).as_deref(), Some("D8D385B2DD2B"));
        assert_eq!(get(KeyName::EthernetProtocol).as_deref(), Some("2048"));
        assert_eq!(get(KeyName::Stack).as_deref(), Some("eth.ip.tcp"));
        assert_eq!(get(KeyName::IpDscp).as_deref(), Some("46"));
        assert_eq!(get(KeyName::IpDscpName).as_deref(), Some("ef(46)"));
        assert_eq!(get(KeyName::IpTos).as_deref(), Some("10111000"));
        assert_eq!(a.numeric_attribute(KeyName::IpTos, 0), Some(184.0));
        assert_eq!(get(KeyName::IpFlags).as_deref(), Some("010"));
        assert_eq!(get(KeyName::IsUnicast).as_deref(), Some("true"));
        assert_eq!(get(KeyName::InputIfIndex).as_deref(), Some("3"));
        assert_eq!(get(KeyName::OutputIfIndex).as_deref(), Some("internal"));
        assert_eq!(get(KeyName::Direction).as_deref(), Some("ingress"));
        assert_eq!(get(KeyName::Agent).as_deref(), Some("192.168.0.1"));
        assert_eq!(get(KeyName::UdpSourcePort), None);
        assert_eq!(get(KeyName::Ip6Source), None);
        assert_eq!(
            attr(&a, KeyName::IpSource, 1),
            None,
            "no tunnel → no inner layer"
        );
        assert_eq!(a.numeric_attribute(KeyName::Bytes, 0), Some(64.0));
        assert_eq!(a.numeric_attribute(KeyName::Frames, 0), Some(1.0));
        assert_eq!(a.numeric_attribute(KeyName::IpBytes, 0), Some(40.0));
    }
}
