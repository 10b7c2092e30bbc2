//! What sflowtool remembers of a flow sample while reading its records (its per-sample
//! `SFSample.s` fields), for the outputs built from that state after the sample: `-l` `FLOW`
//! lines and NetFlow export. Each record overwrites what it sets (last writer wins), as in
//! sflowtool.

use crate::header_fields::{self as fields, FieldValue};
use rtflow_sflow::{Address, FlowRecord, SampledHeader};

/// The state of one flow sample.
#[derive(Default)]
pub(crate) struct SampleState {
    pub(crate) input_port: u32,
    pub(crate) output_port: u32,
    pub(crate) sampling_rate: u32,
    pub(crate) src_mac: [u8; 6],
    pub(crate) dst_mac: [u8; 6],
    pub(crate) eth_type: u32,
    pub(crate) in_vlan: u32,
    pub(crate) out_vlan: u32,
    pub(crate) src_ip: Address,
    pub(crate) dst_ip: Address,
    pub(crate) protocol: u32,
    pub(crate) tos: u32,
    pub(crate) ttl: u32,
    /// Source port, or the ICMP type.
    pub(crate) src_port: u32,
    /// Destination port, or the ICMP code.
    pub(crate) dst_port: u32,
    pub(crate) tcp_flags: u32,
    /// `sampledPacketSize`: the header record's frame length, or an IP record's length.
    pub(crate) packet_size: u32,
    pub(crate) stripped: u32,
    /// Offset of the IPv4 / IPv6 header in the sampled header (0 if none).
    pub(crate) ipv4_offset: u32,
    pub(crate) ipv6_offset: u32,
    /// An IPv4 / IPv6 header was found in a sampled header (sflowtool's `gotIPV4`/`gotIPV6`).
    pub(crate) header_ipv4: bool,
    pub(crate) header_ipv6: bool,
    /// An IPv4 / IPv6 data record was read (`gotIPV4Struct`/`gotIPV6Struct`).
    pub(crate) struct_ipv4: bool,
    pub(crate) struct_ipv6: bool,
    pub(crate) fragment_offset: u32,
    /// The UDP header's length field (0 unless the header held UDP).
    pub(crate) udp_length: u32,
    pub(crate) flow_label: u32,
    pub(crate) next_hop: Address,
    pub(crate) src_mask: u32,
    pub(crate) dst_mask: u32,
    pub(crate) src_as: u32,
    pub(crate) src_peer_as: u32,
    pub(crate) dst_as: u32,
    pub(crate) dst_peer_as: u32,
}

impl SampleState {
    /// A flow sample's state before its records: its ports and sampling rate.
    pub(crate) fn new(input_port: u32, output_port: u32, sampling_rate: u32) -> Self {
        SampleState {
            input_port,
            output_port,
            sampling_rate,
            ..SampleState::default()
        }
    }

    /// Applies one record.
    pub(crate) fn record(&mut self, record: &FlowRecord<'_>) {
        match record {
            FlowRecord::SampledHeader(h) => self.header(h),
            FlowRecord::SampledEthernet(e)
            | FlowRecord::ExtendedL2TunnelEgress(e)
            | FlowRecord::ExtendedL2TunnelIngress(e) => {
                self.src_mac = e.src_mac.0;
                self.dst_mac = e.dst_mac.0;
                self.eth_type = e.eth_type;
            }
            FlowRecord::SampledIpv4(ip)
            | FlowRecord::ExtendedIpv4TunnelEgress(ip)
            | FlowRecord::ExtendedIpv4TunnelIngress(ip) => {
                self.ip_struct(ip.length, ip.src_ip.into(), ip.dst_ip.into(), ip.protocol);
                self.tos = ip.tos;
                self.ports(ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
                self.struct_ipv4 = true;
            }
            FlowRecord::SampledIpv6(ip)
            | FlowRecord::ExtendedIpv6TunnelEgress(ip)
            | FlowRecord::ExtendedIpv6TunnelIngress(ip) => {
                self.ip_struct(
                    ip.length,
                    Address::V6(ip.src_ip),
                    Address::V6(ip.dst_ip),
                    ip.protocol,
                );
                self.ports(ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
                self.struct_ipv6 = true;
            }
            FlowRecord::ExtendedSwitch(s) => {
                self.in_vlan = s.src_vlan;
                self.out_vlan = s.dst_vlan;
            }
            FlowRecord::ExtendedRouter(r) => {
                self.next_hop = r.next_hop;
                self.src_mask = r.src_mask_len;
                self.dst_mask = r.dst_mask_len;
            }
            FlowRecord::ExtendedGateway(g) => {
                self.src_as = g.src_as;
                self.src_peer_as = g.src_peer_as;
                self.dst_as = g.dst_as();
                self.dst_peer_as = g.dst_peer_as();
            }
            FlowRecord::ExtendedSocketIpv4(s) => {
                self.src_ip = Address::V4(s.local_ip);
                self.dst_ip = Address::V4(s.remote_ip);
            }
            FlowRecord::ExtendedSocketIpv6(s) => {
                self.src_ip = Address::V6(s.local_ip);
                self.dst_ip = Address::V6(s.remote_ip);
            }
            _ => {}
        }
    }

    fn header(&mut self, h: &SampledHeader<'_>) {
        self.packet_size = h.frame_length;
        self.stripped = h.stripped;
        self.header_ipv4 = false;
        self.header_ipv6 = false;
        let header = crate::header::walker_input(h);
        fields::for_each_field(&header, |name, value| {
            let number = match value {
                FieldValue::U32(v) => v,
                _ => 0,
            };
            match (name.name, value) {
                ("dstMAC", FieldValue::Mac(mac)) => self.dst_mac = mac,
                ("srcMAC", FieldValue::Mac(mac)) => self.src_mac = mac,
                ("decodedVLAN", _) => self.in_vlan = number,
                ("ethernet_type", _) => self.eth_type = number,
                // IPSize = frame - stripped - offset of the IP header, printed when one was found.
                ("IPSize", FieldValue::I32(size)) => {
                    let offset = h
                        .frame_length
                        .wrapping_sub(h.stripped)
                        .wrapping_sub(size as u32);
                    let ipv6 = h.protocol == rtflow_packet::HEADER_PROTOCOL_IPV6
                        || (h.protocol == rtflow_packet::HEADER_PROTOCOL_ETHERNET
                            && self.eth_type == 0x86dd);
                    if ipv6 {
                        self.header_ipv6 = true;
                        self.ipv6_offset = offset;
                    } else {
                        self.header_ipv4 = true;
                        self.ipv4_offset = offset;
                    }
                }
                ("srcIP", FieldValue::Ipv4(ip)) => self.src_ip = Address::V4(ip),
                ("dstIP", FieldValue::Ipv4(ip)) => self.dst_ip = Address::V4(ip),
                ("srcIP6", FieldValue::Ipv6(ip)) => self.src_ip = Address::V6(ip),
                ("dstIP6", FieldValue::Ipv6(ip)) => self.dst_ip = Address::V6(ip),
                ("IPProtocol", _) => self.protocol = number,
                ("IPTOS", _) => self.tos = number,
                ("IPTTL", _) => self.ttl = number,
                ("IP6_label", FieldValue::Hex(label)) => self.flow_label = label,
                ("IPFragmentOffset", _) => self.fragment_offset = number,
                ("TCPSrcPort" | "UDPSrcPort" | "ICMPType", _) => self.src_port = number,
                ("TCPDstPort" | "UDPDstPort" | "ICMPCode", _) => self.dst_port = number,
                ("TCPFlags", _) => self.tcp_flags = number,
                ("UDPBytes", _) => self.udp_length = number,
                _ => {}
            }
        });
    }

    fn ip_struct(&mut self, length: u32, src: Address, dst: Address, protocol: u32) {
        self.packet_size = length;
        self.src_ip = src;
        self.dst_ip = dst;
        self.protocol = protocol;
    }

    fn ports(&mut self, protocol: u32, src: u32, dst: u32, tcp_flags: u32) {
        self.src_port = src;
        self.dst_port = dst;
        if protocol == 6 {
            self.tcp_flags = tcp_flags;
        }
    }

    /// sflowtool's `IP_size` of the `FLOW` line: the packet size minus stripped bytes and the
    /// IPv4 header's offset.
    pub(crate) fn ipv4_size(&self) -> u32 {
        self.packet_size
            .wrapping_sub(self.stripped)
            .wrapping_sub(self.ipv4_offset)
    }
}
