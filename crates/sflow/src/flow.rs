//! Flow records (the `flow_data` structures of flow and discard samples).
//!
//! Field names follow the sFlow v5 specification and its extension documents; strings are
//! borrowed raw bytes (`&[u8]`, usually UTF-8 or ASCII but not validated).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Tag, XdrError};
use crate::record::{RecordList, Records, record_enum};
use crate::types::{Address, AsPath, MacAddr, U32List};
use crate::xdr::{Reader, Xdr, put_u32, xdr_struct};

/// 0:1 sampled packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SampledHeader<'a> {
    /// Header protocol (1 = Ethernet, 11 = IPv4, 12 = IPv6, ...).
    pub protocol: u32,
    /// Original length of the packet before sampling.
    pub frame_length: u32,
    /// Bytes removed from the packet before the header was taken (e.g. FCS).
    pub stripped: u32,
    /// The sampled header bytes.
    pub header: &'a [u8],
}

impl<'a> Xdr<'a> for SampledHeader<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(Self {
            protocol: r.u32()?,
            frame_length: r.u32()?,
            stripped: r.u32()?,
            header: r.opaque("header length")?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.protocol);
        put_u32(out, self.frame_length);
        put_u32(out, self.stripped);
        self.header.encode(out);
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2 Ethernet frame data (also the body of 0:1021/0:1022 L2 tunnel records).
    pub struct SampledEthernet {
        /// MAC packet length excluding lower-layer encapsulation.
        pub length: u32,
        /// Source MAC.
        pub src_mac: MacAddr,
        /// Destination MAC.
        pub dst_mac: MacAddr,
        /// Ethernet type.
        pub eth_type: u32,
    }
}

xdr_struct! {
    /// 0:3 IPv4 data (also the body of 0:1023/0:1024 IPv4 tunnel records).
    pub struct SampledIpv4 {
        /// IP packet length.
        pub length: u32,
        /// IP protocol.
        pub protocol: u32,
        /// Source address.
        pub src_ip: Ipv4Addr,
        /// Destination address.
        pub dst_ip: Ipv4Addr,
        /// Source port.
        pub src_port: u32,
        /// Destination port.
        pub dst_port: u32,
        /// TCP flags.
        pub tcp_flags: u32,
        /// IP type of service.
        pub tos: u32,
    }
}

xdr_struct! {
    /// 0:4 IPv6 data (also the body of 0:1025/0:1026 IPv6 tunnel records).
    pub struct SampledIpv6 {
        /// IP packet length.
        pub length: u32,
        /// Next header.
        pub protocol: u32,
        /// Source address.
        pub src_ip: Ipv6Addr,
        /// Destination address.
        pub dst_ip: Ipv6Addr,
        /// Source port.
        pub src_port: u32,
        /// Destination port.
        pub dst_port: u32,
        /// TCP flags.
        pub tcp_flags: u32,
        /// IP priority.
        pub priority: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1001 extended switch data.
    pub struct ExtendedSwitch {
        /// 802.1Q VLAN of the incoming frame.
        pub src_vlan: u32,
        /// 802.1p priority of the incoming frame.
        pub src_priority: u32,
        /// 802.1Q VLAN of the outgoing frame.
        pub dst_vlan: u32,
        /// 802.1p priority of the outgoing frame.
        pub dst_priority: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1002 extended router data.
    pub struct ExtendedRouter {
        /// Next-hop router.
        pub next_hop: Address,
        /// Source prefix length.
        pub src_mask_len: u32,
        /// Destination prefix length.
        pub dst_mask_len: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1003 extended gateway (BGP) data.
    pub struct ExtendedGateway<'a> {
        /// BGP next hop.
        pub next_hop: Address,
        /// This router's AS.
        pub as_number: u32,
        /// Source AS.
        pub src_as: u32,
        /// Source peer AS.
        pub src_peer_as: u32,
        /// AS path to the destination.
        pub dst_as_path: AsPath<'a>,
        /// BGP communities.
        pub communities: U32List<'a>,
        /// BGP local preference.
        pub local_pref: u32,
    }
}

impl ExtendedGateway<'_> {
    /// The destination AS: the last AS of the path, or 0 when the path is empty (sflowtool's `dst_as`).
    pub fn dst_as(&self) -> u32 {
        self.dst_as_path.asns().last().unwrap_or(0)
    }

    /// The destination peer AS: the first AS of the path, or 0 (sflowtool's `dst_peer_as`).
    pub fn dst_peer_as(&self) -> u32 {
        self.dst_as_path.asns().next().unwrap_or(0)
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1004 extended user data.
    pub struct ExtendedUser<'a> {
        /// MIBEnum charset of `src_user` (106 = UTF-8).
        pub src_charset: u32,
        /// Source user.
        pub src_user: &'a [u8],
        /// MIBEnum charset of `dst_user`.
        pub dst_charset: u32,
        /// Destination user.
        pub dst_user: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1005 extended URL data.
    pub struct ExtendedUrl<'a> {
        /// 1 = source, 2 = destination.
        pub direction: u32,
        /// URL.
        pub url: &'a [u8],
        /// HTTP host.
        pub host: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1006 extended MPLS data.
    pub struct ExtendedMpls<'a> {
        /// Next hop.
        pub next_hop: Address,
        /// Incoming label stack (top first).
        pub in_stack: U32List<'a>,
        /// Outgoing label stack (top first).
        pub out_stack: U32List<'a>,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1007 extended NAT data.
    pub struct ExtendedNat {
        /// Translated source.
        pub src: Address,
        /// Translated destination.
        pub dst: Address,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1008 extended MPLS tunnel.
    pub struct ExtendedMplsTunnel<'a> {
        /// Tunnel LSP name.
        pub name: &'a [u8],
        /// Tunnel id.
        pub id: u32,
        /// Tunnel COS.
        pub cos: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1009 extended MPLS virtual circuit.
    pub struct ExtendedMplsVc<'a> {
        /// VC instance name.
        pub name: &'a [u8],
        /// VLL/VC instance id.
        pub id: u32,
        /// VC label COS.
        pub cos: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1010 extended MPLS FTN.
    pub struct ExtendedMplsFtn<'a> {
        /// mplsFTNDescr.
        pub description: &'a [u8],
        /// mplsFTNMask.
        pub mask: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1011 extended MPLS LDP FEC.
    pub struct ExtendedMplsLdpFec {
        /// mplsFecAddrPrefixLength.
        pub addr_prefix_length: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1012 extended VLAN tunnel: stripped 802.1Q TPID/TCI words, outermost first.
    pub struct ExtendedVlanTunnel<'a> {
        /// TPID << 16 | TCI per layer.
        pub stack: U32List<'a>,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1013 extended 802.11 payload (unencrypted MAC data).
    pub struct Extended80211Payload<'a> {
        /// Cipher suite (OUI << 8 | suite type).
        pub cipher_suite: u32,
        /// The unencrypted header.
        pub header: SampledHeader<'a>,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1014 extended 802.11 receive data.
    pub struct Extended80211Rx<'a> {
        /// SSID.
        pub ssid: &'a [u8],
        /// BSSID.
        pub bssid: MacAddr,
        /// 802.11 version (1 a, 2 b, 3 g, 4 n).
        pub version: u32,
        /// Channel.
        pub channel: u32,
        /// Speed (bits/s).
        pub speed: u64,
        /// Received signal to noise ratio.
        pub rsni: u32,
        /// Received channel power.
        pub rcpi: u32,
        /// Packet duration (µs).
        pub packet_duration_us: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1015 extended 802.11 transmit data.
    pub struct Extended80211Tx<'a> {
        /// SSID.
        pub ssid: &'a [u8],
        /// BSSID.
        pub bssid: MacAddr,
        /// 802.11 version.
        pub version: u32,
        /// Number of transmissions (0 unknown, 1 first attempt, n: n-1 retransmissions).
        pub transmissions: u32,
        /// Packet duration (µs).
        pub packet_duration_us: u32,
        /// Retransmission duration (µs).
        pub retrans_duration_us: u32,
        /// Channel.
        pub channel: u32,
        /// Speed (bits/s).
        pub speed: u64,
        /// Transmit power (mW).
        pub power_mw: u32,
    }
}

/// 0:1016 extended 802.11 aggregation: a list of PDUs, each a list of flow records.
#[derive(Clone, Copy)]
pub struct Extended80211Aggregation<'a> {
    pdu_count: u32,
    raw: &'a [u8],
    /// Datagram offset of `raw`, for error messages only (ignored by `==`).
    offset: usize,
}

impl PartialEq for Extended80211Aggregation<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.pdu_count == other.pdu_count && self.raw == other.raw
    }
}

impl Eq for Extended80211Aggregation<'_> {}

impl std::fmt::Debug for Extended80211Aggregation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extended80211Aggregation")
            .field("pdu_count", &self.pdu_count)
            .field("raw", &self.raw)
            .finish()
    }
}

impl<'a> Extended80211Aggregation<'a> {
    /// Number of PDUs.
    pub fn pdu_count(&self) -> u32 {
        self.pdu_count
    }

    /// The raw PDU bytes (without the count).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Builds an aggregation from PDUs given as lists of flow records.
    pub fn encode_pdus(pdus: &[&[FlowRecord<'_>]]) -> Vec<u8> {
        let mut out = Vec::new();
        for records in pdus {
            put_u32(&mut out, records.len() as u32);
            for record in *records {
                record.encode(&mut out);
            }
        }
        out
    }

    /// Wraps bytes produced by [`Extended80211Aggregation::encode_pdus`]; `None` if malformed.
    pub fn from_pdu_bytes(pdu_count: u32, raw: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(raw, 0);
        Self::walk(&mut r, pdu_count).ok()?;
        r.is_empty().then_some(Self {
            pdu_count,
            raw,
            offset: 0,
        })
    }

    fn walk(r: &mut Reader<'a>, pdu_count: u32) -> Result<(), XdrError> {
        for _ in 0..pdu_count {
            let n = r.length("PDU record count", 8)?;
            for _ in 0..n {
                r.u32()?;
                let len = r.length("record length", 1)?;
                r.bytes(len)?;
            }
        }
        Ok(())
    }

    /// The PDUs; each yields its flow records.
    pub fn pdus(&self) -> impl Iterator<Item = FlowRecords<'a>> + use<'a> {
        let mut r = Reader::new(self.raw, self.offset);
        (0..self.pdu_count).map_while(move |_| {
            let start = r.clone();
            let n = r.length("PDU record count", 8).ok()?;
            for _ in 0..n {
                r.u32().ok()?;
                let len = r.length("record length", 1).ok()?;
                r.bytes(len).ok()?;
            }
            let mut pdu = start.clone();
            let used = start.remaining() - r.remaining();
            let mut pdu_reader = pdu.sub(used).ok()?;
            let list = RecordList::decode(&mut pdu_reader, 0, Tag::new(0, 1016)).ok()?;
            Some(FlowRecords { inner: list.iter() })
        })
    }
}

impl<'a> Xdr<'a> for Extended80211Aggregation<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let pdu_count = r.length("PDU count", 4)? as u32;
        let offset = r.offset();
        let start = r.clone();
        Self::walk(r, pdu_count)?;
        let used = start.remaining() - r.remaining();
        let mut start = start;
        Ok(Self {
            pdu_count,
            raw: start.bytes(used)?,
            offset,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.pdu_count);
        out.extend_from_slice(self.raw);
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1020 extended NAT port data.
    pub struct ExtendedNatPort {
        /// Translated source port.
        pub src_port: u32,
        /// Translated destination port.
        pub dst_port: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1027 / 0:1028 extended decapsulation: offset of the inner header in the sampled header.
    pub struct ExtendedDecap {
        /// Offset of the inner header.
        pub inner_header_offset: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1029 / 0:1030 extended VNI (VXLAN / GENEVE / NVGRE virtual network identifier).
    pub struct ExtendedVni {
        /// Virtual network identifier.
        pub vni: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1036 extended egress queue.
    pub struct ExtendedEgressQueue {
        /// Queue id.
        pub queue: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1038 extended function: the software function that dropped the packet.
    pub struct ExtendedFunction<'a> {
        /// Function symbol.
        pub symbol: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1039 extended transit delay.
    pub struct ExtendedTransitDelay {
        /// Transit delay (ns).
        pub delay_ns: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1040 extended queue depth.
    pub struct ExtendedQueueDepth {
        /// Queue depth (bytes).
        pub depth_bytes: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1041 extended hardware trap (devlink trap group and name).
    pub struct ExtendedHwTrap<'a> {
        /// Trap group.
        pub group: &'a [u8],
        /// Trap name.
        pub trap: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1042 extended Linux drop reason.
    pub struct ExtendedLinuxDropReason<'a> {
        /// Reason (kernel `SKB_DROP_REASON_*` name).
        pub reason: &'a [u8],
    }
}

xdr_struct! {
    /// 0:2100 / 0:2102 extended (proxy) socket IPv4.
    pub struct ExtendedSocketIpv4 {
        /// IP protocol.
        pub protocol: u32,
        /// Local address.
        pub local_ip: Ipv4Addr,
        /// Remote address.
        pub remote_ip: Ipv4Addr,
        /// Local port.
        pub local_port: u32,
        /// Remote port.
        pub remote_port: u32,
    }
}

xdr_struct! {
    /// 0:2101 / 0:2103 extended (proxy) socket IPv6.
    pub struct ExtendedSocketIpv6 {
        /// IP protocol.
        pub protocol: u32,
        /// Local address.
        pub local_ip: Ipv6Addr,
        /// Remote address.
        pub remote_ip: Ipv6Addr,
        /// Local port.
        pub local_port: u32,
        /// Remote port.
        pub remote_port: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2200 memcache operation.
    pub struct MemcacheOperation<'a> {
        /// Protocol (0 other, 1 ASCII, 2 binary).
        pub protocol: u32,
        /// Command.
        pub command: u32,
        /// Key.
        pub key: &'a [u8],
        /// Number of keys.
        pub nkeys: u32,
        /// Value bytes.
        pub value_bytes: u32,
        /// Duration (µs).
        pub duration_us: u32,
        /// Status.
        pub status: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2201 HTTP request, the structure's first version: unlike 0:2206 it has no X-Forwarded-For
    /// and no request byte count (sFlow HTTP extension; sflowtool reads it the same way).
    pub struct HttpRequestV1<'a> {
        /// Method (0 other, 1 OPTIONS, 2 GET, ...).
        pub method: u32,
        /// Protocol (1.1 = 1001).
        pub protocol: u32,
        /// URI.
        pub uri: &'a [u8],
        /// Host.
        pub host: &'a [u8],
        /// Referer.
        pub referrer: &'a [u8],
        /// User-Agent.
        pub user_agent: &'a [u8],
        /// Authenticated user.
        pub auth_user: &'a [u8],
        /// MIME type.
        pub mime_type: &'a [u8],
        /// Response body bytes.
        pub resp_bytes: u64,
        /// Duration (µs).
        pub duration_us: u32,
        /// HTTP status.
        pub status: u32,
    }
}

impl<'a> From<HttpRequestV1<'a>> for HttpRequest<'a> {
    /// The common view of both versions: no X-Forwarded-For (empty), no request bytes (0).
    fn from(v1: HttpRequestV1<'a>) -> Self {
        HttpRequest {
            method: v1.method,
            protocol: v1.protocol,
            uri: v1.uri,
            host: v1.host,
            referrer: v1.referrer,
            user_agent: v1.user_agent,
            xff: &[],
            auth_user: v1.auth_user,
            mime_type: v1.mime_type,
            req_bytes: 0,
            resp_bytes: v1.resp_bytes,
            duration_us: v1.duration_us,
            status: v1.status,
        }
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2206 HTTP request (the current version, also for HTTP/2).
    pub struct HttpRequest<'a> {
        /// Method (0 other, 1 OPTIONS, 2 GET, ...).
        pub method: u32,
        /// Protocol (1.1 = 1001).
        pub protocol: u32,
        /// URI.
        pub uri: &'a [u8],
        /// Host.
        pub host: &'a [u8],
        /// Referer.
        pub referrer: &'a [u8],
        /// User-Agent.
        pub user_agent: &'a [u8],
        /// X-Forwarded-For.
        pub xff: &'a [u8],
        /// Authenticated user.
        pub auth_user: &'a [u8],
        /// MIME type.
        pub mime_type: &'a [u8],
        /// Request body bytes.
        pub req_bytes: u64,
        /// Response body bytes.
        pub resp_bytes: u64,
        /// Duration (µs).
        pub duration_us: u32,
        /// HTTP status.
        pub status: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2203 application operation context.
    pub struct AppContext<'a> {
        /// Application.
        pub application: &'a [u8],
        /// Operation.
        pub operation: &'a [u8],
        /// Attributes.
        pub attributes: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2202 application operation.
    pub struct AppOperation<'a> {
        /// Context.
        pub context: AppContext<'a>,
        /// Status description.
        pub status_description: &'a [u8],
        /// Request bytes.
        pub req_bytes: u64,
        /// Response bytes.
        pub resp_bytes: u64,
        /// Duration (µs).
        pub duration_us: u32,
        /// Status (0 success, 1 other, 2 timeout, ...).
        pub status: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2204 / 0:2205 application initiator / target actor.
    pub struct AppActor<'a> {
        /// Actor.
        pub actor: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2209 extended TCP info (Linux `tcp_info`).
    pub struct ExtendedTcpInfo {
        /// Direction (0 unknown, 1 received, 2 sent).
        pub direction: u32,
        /// Send MSS.
        pub snd_mss: u32,
        /// Receive MSS.
        pub rcv_mss: u32,
        /// Unacknowledged packets.
        pub unacked: u32,
        /// Lost packets.
        pub lost: u32,
        /// Retransmitted packets.
        pub retrans: u32,
        /// Path MTU.
        pub pmtu: u32,
        /// Smoothed RTT (µs).
        pub rtt_us: u32,
        /// RTT variance (µs).
        pub rtt_var_us: u32,
        /// Send congestion window.
        pub snd_cwnd: u32,
        /// Reordering.
        pub reordering: u32,
        /// Minimum RTT (µs).
        pub min_rtt_us: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2210 extended entities: source and destination data sources.
    pub struct ExtendedEntities {
        /// Source data source class.
        pub src_ds_class: u32,
        /// Source data source index.
        pub src_ds_index: u32,
        /// Destination data source class.
        pub dst_ds_class: u32,
        /// Destination data source index.
        pub dst_ds_index: u32,
    }
}

record_enum! {
    /// A flow record (`flow_data`) of a flow or discard sample.
    pub enum FlowRecord<'a> {
        /// 0:1 sampled header.
        (0, 1) SampledHeader(SampledHeader<'a>),
        /// 0:2 Ethernet frame.
        (0, 2) SampledEthernet(SampledEthernet),
        /// 0:3 IPv4.
        (0, 3) SampledIpv4(SampledIpv4),
        /// 0:4 IPv6.
        (0, 4) SampledIpv6(SampledIpv6),
        /// 0:1001 switch.
        (0, 1001) ExtendedSwitch(ExtendedSwitch),
        /// 0:1002 router.
        (0, 1002) ExtendedRouter(ExtendedRouter),
        /// 0:1003 gateway.
        (0, 1003) ExtendedGateway(ExtendedGateway<'a>),
        /// 0:1004 user.
        (0, 1004) ExtendedUser(ExtendedUser<'a>),
        /// 0:1005 URL.
        (0, 1005) ExtendedUrl(ExtendedUrl<'a>),
        /// 0:1006 MPLS.
        (0, 1006) ExtendedMpls(ExtendedMpls<'a>),
        /// 0:1007 NAT.
        (0, 1007) ExtendedNat(ExtendedNat),
        /// 0:1008 MPLS tunnel.
        (0, 1008) ExtendedMplsTunnel(ExtendedMplsTunnel<'a>),
        /// 0:1009 MPLS VC.
        (0, 1009) ExtendedMplsVc(ExtendedMplsVc<'a>),
        /// 0:1010 MPLS FTN.
        (0, 1010) ExtendedMplsFtn(ExtendedMplsFtn<'a>),
        /// 0:1011 MPLS LDP FEC.
        (0, 1011) ExtendedMplsLdpFec(ExtendedMplsLdpFec),
        /// 0:1012 VLAN tunnel.
        (0, 1012) ExtendedVlanTunnel(ExtendedVlanTunnel<'a>),
        /// 0:1013 802.11 payload.
        (0, 1013) Extended80211Payload(Extended80211Payload<'a>),
        /// 0:1014 802.11 receive.
        (0, 1014) Extended80211Rx(Extended80211Rx<'a>),
        /// 0:1015 802.11 transmit.
        (0, 1015) Extended80211Tx(Extended80211Tx<'a>),
        /// 0:1016 802.11 aggregation.
        (0, 1016) Extended80211Aggregation(Extended80211Aggregation<'a>),
        /// 0:1020 NAT port.
        (0, 1020) ExtendedNatPort(ExtendedNatPort),
        /// 0:1021 L2 tunnel egress (outer Ethernet header).
        (0, 1021) ExtendedL2TunnelEgress(SampledEthernet),
        /// 0:1022 L2 tunnel ingress.
        (0, 1022) ExtendedL2TunnelIngress(SampledEthernet),
        /// 0:1023 IPv4 tunnel egress (outer IPv4 header).
        (0, 1023) ExtendedIpv4TunnelEgress(SampledIpv4),
        /// 0:1024 IPv4 tunnel ingress.
        (0, 1024) ExtendedIpv4TunnelIngress(SampledIpv4),
        /// 0:1025 IPv6 tunnel egress.
        (0, 1025) ExtendedIpv6TunnelEgress(SampledIpv6),
        /// 0:1026 IPv6 tunnel ingress.
        (0, 1026) ExtendedIpv6TunnelIngress(SampledIpv6),
        /// 0:1027 decapsulate egress.
        (0, 1027) ExtendedDecapEgress(ExtendedDecap),
        /// 0:1028 decapsulate ingress.
        (0, 1028) ExtendedDecapIngress(ExtendedDecap),
        /// 0:1029 VNI egress.
        (0, 1029) ExtendedVniEgress(ExtendedVni),
        /// 0:1030 VNI ingress.
        (0, 1030) ExtendedVniIngress(ExtendedVni),
        /// 0:1036 egress queue.
        (0, 1036) ExtendedEgressQueue(ExtendedEgressQueue),
        /// 0:1038 function.
        (0, 1038) ExtendedFunction(ExtendedFunction<'a>),
        /// 0:1039 transit delay.
        (0, 1039) ExtendedTransitDelay(ExtendedTransitDelay),
        /// 0:1040 queue depth.
        (0, 1040) ExtendedQueueDepth(ExtendedQueueDepth),
        /// 0:1041 hardware trap.
        (0, 1041) ExtendedHwTrap(ExtendedHwTrap<'a>),
        /// 0:1042 Linux drop reason.
        (0, 1042) ExtendedLinuxDropReason(ExtendedLinuxDropReason<'a>),
        /// 0:2100 socket IPv4.
        (0, 2100) ExtendedSocketIpv4(ExtendedSocketIpv4),
        /// 0:2101 socket IPv6.
        (0, 2101) ExtendedSocketIpv6(ExtendedSocketIpv6),
        /// 0:2102 proxy socket IPv4.
        (0, 2102) ExtendedProxySocketIpv4(ExtendedSocketIpv4),
        /// 0:2103 proxy socket IPv6.
        (0, 2103) ExtendedProxySocketIpv6(ExtendedSocketIpv6),
        /// 0:2200 memcache operation.
        (0, 2200) Memcache(MemcacheOperation<'a>),
        /// 0:2201 HTTP request (first version).
        (0, 2201) Http(HttpRequestV1<'a>),
        /// 0:2202 application operation.
        (0, 2202) App(AppOperation<'a>),
        /// 0:2203 application context.
        (0, 2203) AppContext(AppContext<'a>),
        /// 0:2204 application initiator.
        (0, 2204) AppActorInitiator(AppActor<'a>),
        /// 0:2205 application target.
        (0, 2205) AppActorTarget(AppActor<'a>),
        /// 0:2206 HTTP request (current version, HTTP/1 and HTTP/2).
        (0, 2206) Http2(HttpRequest<'a>),
        /// 0:2209 TCP info.
        (0, 2209) ExtendedTcpInfo(ExtendedTcpInfo),
        /// 0:2210 entities.
        (0, 2210) ExtendedEntities(ExtendedEntities),
    }
}

/// Iterator over the flow records of a flow or discard sample.
#[derive(Debug, Clone)]
pub struct FlowRecords<'a> {
    pub(crate) inner: Records<'a, FlowRecord<'a>>,
}

impl<'a> Iterator for FlowRecords<'a> {
    type Item = Result<FlowRecord<'a>, crate::error::DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
