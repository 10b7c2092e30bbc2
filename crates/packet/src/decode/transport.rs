//! TCP, UDP, ICMP/ICMPv6 and the tunnels found at this layer (VXLAN, Geneve, GRE, IP-in-IP).

use std::net::IpAddr;

use super::{Continuation, Entry, LevelDecoder};
use crate::bytes::{be16, be24, be32, has, ipv4_at, ipv6_at, u8_at};
use crate::fields::{Icmp, IcmpQuoted, Tcp, Tunnel, Udp};
use crate::stack::Proto;

const TCP_MIN_HEADER_LEN: usize = 20;
const UDP_HEADER_LEN: usize = 8;
const ICMP_HEADER_LEN: usize = 4;
/// Type, code, checksum and the 4-byte rest-of-header (echo id/seq, or unused before a quoted packet).
const ICMP_FULL_HEADER_LEN: usize = 8;
const VXLAN_HEADER_LEN: usize = 8;
const GENEVE_HEADER_LEN: usize = 8;
const GRE_BASE_LEN: usize = 4;

const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const DNS_PORT: u16 = 53;
const VXLAN_FLAG_VNI_VALID: u8 = 0x08;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Transparent Ethernet bridging: the tunnel carries Ethernet frames.
const ETHERTYPE_TEB: u16 = 0x6558;

const GRE_CHECKSUM: u16 = 0x8000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;

const PROTO_ICMP: u8 = 1;
const PROTO_IPIP: u8 = 4;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6_IN_IP: u8 = 41;
const PROTO_GRE: u8 = 47;
const PROTO_ICMPV6: u8 = 58;

fn entry_for_ethertype(ethertype: u16, off: usize) -> Option<Entry> {
    match ethertype {
        ETHERTYPE_TEB => Some(Entry::Ethernet(off)),
        ETHERTYPE_IPV4 => Some(Entry::Ipv4(off)),
        ETHERTYPE_IPV6 => Some(Entry::Ipv6(off)),
        _ => None,
    }
}

impl LevelDecoder<'_> {
    pub(super) fn transport(&mut self, off: usize, protocol: u8, over_ipv6: bool) -> Continuation {
        match (protocol, over_ipv6) {
            (PROTO_TCP, _) => self.tcp(off),
            (PROTO_UDP, _) => self.udp(off),
            (PROTO_ICMP, false) => self.icmp(off, Proto::Icmp),
            (PROTO_ICMPV6, true) => self.icmp(off, Proto::Icmp6),
            (PROTO_GRE, _) if self.tunnels_allowed => self.gre(off),
            (PROTO_IPIP, _) if self.tunnels_allowed => tunnel(Tunnel::IpInIp, Entry::Ipv4(off)),
            (PROTO_IPV6_IN_IP, _) if self.tunnels_allowed => {
                tunnel(Tunnel::IpInIp, Entry::Ipv6(off))
            }
            _ => Continuation::Done,
        }
    }

    fn tcp(&mut self, off: usize) -> Continuation {
        let b = self.bytes;
        if !has(b, off, TCP_MIN_HEADER_LEN) {
            return self.cut_off(Proto::Tcp);
        }
        let fields = (
            be16(b, off),
            be16(b, off + 2),
            be32(b, off + 4),
            be32(b, off + 8),
            be16(b, off + 12),
            be16(b, off + 14),
        );
        if let (
            Some(src_port),
            Some(dst_port),
            Some(seq),
            Some(ack),
            Some(offset_flags),
            Some(window),
        ) = fields
        {
            self.headers.tcp = Some(Tcp {
                src_port,
                dst_port,
                seq,
                ack,
                flags: offset_flags & 0x01ff,
                header_len: ((offset_flags >> 12) * 4) as u8,
                window,
                offset: super::ip::offset16(off),
            });
            self.stack.push(Proto::Tcp);
        }
        Continuation::Done
    }

    fn udp(&mut self, off: usize) -> Continuation {
        let b = self.bytes;
        let (Some(src_port), Some(dst_port), Some(length), true) = (
            be16(b, off),
            be16(b, off + 2),
            be16(b, off + 4),
            has(b, off, UDP_HEADER_LEN),
        ) else {
            return self.cut_off(Proto::Udp);
        };
        self.headers.udp = Some(Udp {
            src_port,
            dst_port,
            length,
        });
        self.stack.push(Proto::Udp);
        let payload = off + UDP_HEADER_LEN;
        if self.tunnels_allowed {
            match dst_port {
                VXLAN_PORT => return self.vxlan(payload),
                GENEVE_PORT => return self.geneve(payload),
                _ => {}
            }
        }
        if src_port == DNS_PORT || dst_port == DNS_PORT {
            return Continuation::Dns { offset: payload };
        }
        Continuation::Done
    }

    fn vxlan(&mut self, off: usize) -> Continuation {
        let b = self.bytes;
        let (Some(flags), Some(vni), true) = (
            u8_at(b, off),
            be24(b, off + 4),
            has(b, off, VXLAN_HEADER_LEN),
        ) else {
            return self.cut_off(Proto::Vxlan);
        };
        if flags & VXLAN_FLAG_VNI_VALID == 0 {
            return Continuation::Done;
        }
        self.stack.push(Proto::Vxlan);
        tunnel(
            Tunnel::Vxlan { vni },
            Entry::Ethernet(off + VXLAN_HEADER_LEN),
        )
    }

    fn geneve(&mut self, off: usize) -> Continuation {
        let b = self.bytes;
        let (Some(ver_optlen), Some(protocol), Some(vni), true) = (
            u8_at(b, off),
            be16(b, off + 2),
            be24(b, off + 4),
            has(b, off, GENEVE_HEADER_LEN),
        ) else {
            return self.cut_off(Proto::Geneve);
        };
        if ver_optlen >> 6 != 0 {
            return Continuation::Done;
        }
        self.stack.push(Proto::Geneve);
        let options_len = usize::from(ver_optlen & 0x3f) * 4;
        let inner = off + GENEVE_HEADER_LEN + options_len;
        match entry_for_ethertype(protocol, inner) {
            Some(entry) => tunnel(Tunnel::Geneve { vni, protocol }, entry),
            None => Continuation::Done,
        }
    }

    fn gre(&mut self, off: usize) -> Continuation {
        let b = self.bytes;
        let (Some(flags_version), Some(protocol)) = (be16(b, off), be16(b, off + 2)) else {
            return self.cut_off(Proto::Gre);
        };
        if flags_version & 0x0007 != 0 {
            // Version 1 is PPTP's enhanced GRE, carrying PPP rather than an EtherType payload.
            return Continuation::Done;
        }
        let mut pos = off + GRE_BASE_LEN;
        if flags_version & GRE_CHECKSUM != 0 {
            pos += 4; // checksum + reserved
        }
        let mut key = None;
        if flags_version & GRE_KEY != 0 {
            match be32(b, pos) {
                Some(k) => key = Some(k),
                None => return self.cut_off(Proto::Gre),
            }
            pos += 4;
        }
        if flags_version & GRE_SEQUENCE != 0 {
            pos += 4;
        }
        if pos > b.len() {
            return self.cut_off(Proto::Gre);
        }
        self.stack.push(Proto::Gre);
        match entry_for_ethertype(protocol, pos) {
            Some(entry) => tunnel(Tunnel::Gre { protocol, key }, entry),
            None => Continuation::Done,
        }
    }

    fn icmp(&mut self, off: usize, proto: Proto) -> Continuation {
        let b = self.bytes;
        let (Some(icmp_type), Some(code), true) = (
            u8_at(b, off),
            u8_at(b, off + 1),
            has(b, off, ICMP_HEADER_LEN),
        ) else {
            return self.cut_off(proto);
        };
        let is_v6 = proto == Proto::Icmp6;
        let is_echo = if is_v6 {
            matches!(icmp_type, 128 | 129)
        } else {
            matches!(icmp_type, 0 | 8)
        };
        let is_unreachable = if is_v6 {
            icmp_type == 1
        } else {
            icmp_type == 3
        };
        let mut icmp = Icmp {
            icmp_type,
            code,
            echo_id: None,
            echo_seq: None,
            unreachable: None,
        };
        if is_echo {
            icmp.echo_id = be16(b, off + 4);
            icmp.echo_seq = be16(b, off + 6);
        }
        if is_unreachable {
            let quoted = off + ICMP_FULL_HEADER_LEN;
            icmp.unreachable = if is_v6 {
                quoted_ipv6(b, quoted)
            } else {
                quoted_ipv4(b, quoted)
            };
        }
        self.headers.icmp = Some(icmp);
        self.stack.push(proto);
        Continuation::Done
    }
}

fn tunnel(tunnel: Tunnel, entry: Entry) -> Continuation {
    Continuation::Tunnel { tunnel, entry }
}

/// Destination port of a quoted TCP or UDP header (both start with source then destination port).
fn quoted_port(b: &[u8], l4: usize, protocol: u8) -> Option<u16> {
    matches!(protocol, PROTO_TCP | PROTO_UDP)
        .then(|| be16(b, l4 + 2))
        .flatten()
}

fn quoted_ipv4(b: &[u8], off: usize) -> Option<IcmpQuoted> {
    let version_ihl = u8_at(b, off)?;
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || header_len < 20 {
        return None;
    }
    let protocol = u8_at(b, off + 9)?;
    let dst = ipv4_at(b, off + 16)?;
    Some(IcmpQuoted {
        dst: IpAddr::V4(dst),
        protocol,
        dst_port: quoted_port(b, off + header_len, protocol),
    })
}

fn quoted_ipv6(b: &[u8], off: usize) -> Option<IcmpQuoted> {
    if u8_at(b, off)? >> 4 != 6 {
        return None;
    }
    let protocol = u8_at(b, off + 6)?;
    let dst = ipv6_at(b, off + 24)?;
    Some(IcmpQuoted {
        dst: IpAddr::V6(dst),
        protocol,
        dst_port: quoted_port(b, off + 40, protocol),
    })
}
