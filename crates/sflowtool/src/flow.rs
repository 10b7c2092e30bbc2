//! Flow records (flow and discard sample elements) with sflowtool's field names and order
//! (`readFlowSampleElements` and the `readExtended*` / `readFlowSample_*` functions).

use rtflow_sflow::{
    ExtendedGateway, ExtendedSocketIpv4, ExtendedSocketIpv6, FlowRecord, HttpRequest,
    SampledEthernet, SampledIpv4, SampledIpv6, U32List,
};

use crate::datagram::skipping;
use crate::header::sampled_header;
use crate::out::{Out, StyleKind};
use crate::values::{push_hex_lower, push_u32};

pub(crate) fn record<S: StyleKind>(o: &mut Out<'_, S>, record: &FlowRecord<'_>) {
    o.grep.element_tag = record.tag();
    o.tag("flowBlock_tag", record.tag());
    body(o, record);
}

/// The record's fields after its `flowBlock_tag` line (sFlow v2/v4 records have no tag line).
pub(crate) fn body<S: StyleKind>(o: &mut Out<'_, S>, record: &FlowRecord<'_>) {
    match record {
        FlowRecord::SampledHeader(h) => sampled_header(o, h),
        FlowRecord::SampledEthernet(e) => ethernet(o, "", e),
        FlowRecord::SampledIpv4(ip) => ipv4(o, "", ip),
        FlowRecord::SampledIpv6(ip) => ipv6(o, "", ip),
        FlowRecord::ExtendedSwitch(s) => {
            o.text("extendedType", "SWITCH");
            o.u32("in_vlan", s.src_vlan);
            o.u32("in_priority", s.src_priority);
            o.u32("out_vlan", s.dst_vlan);
            o.u32("out_priority", s.dst_priority);
        }
        FlowRecord::ExtendedRouter(r) => {
            o.text("extendedType", "ROUTER");
            o.address("nextHop", &r.next_hop);
            o.u32("srcSubnetMask", r.src_mask_len);
            o.u32("dstSubnetMask", r.dst_mask_len);
        }
        FlowRecord::ExtendedGateway(g) => gateway(o, g, true),
        FlowRecord::ExtendedUser(u) => {
            o.text("extendedType", "USER");
            o.u32("src_user_charset", u.src_charset);
            o.u32("dst_user_charset", u.dst_charset);
            o.bytes("src_user", u.src_user);
            o.bytes("dst_user", u.dst_user);
        }
        FlowRecord::ExtendedUrl(u) => {
            o.text("extendedType", "URL");
            o.u32("url_direction", u.direction);
            o.bytes("url", u.url);
            o.bytes("host", u.host);
        }
        FlowRecord::ExtendedMpls(m) => {
            o.text("extendedType", "MPLS");
            o.address("mpls_nexthop", &m.next_hop);
            label_stack(o, "mpls_input_stack", &m.in_stack);
            label_stack(o, "mpls_output_stack", &m.out_stack);
        }
        FlowRecord::ExtendedNat(n) => {
            o.text("extendedType", "NAT");
            o.address("nat_src", &n.src);
            o.address("nat_dst", &n.dst);
        }
        FlowRecord::ExtendedNatPort(n) => {
            o.text("extendedType", "NAT PORT");
            o.u32("nat_src_port", n.src_port);
            o.u32("nat_dst_port", n.dst_port);
        }
        FlowRecord::ExtendedMplsTunnel(t) => {
            o.bytes_if_any("mpls_tunnel_lsp_name", t.name);
            o.u32("mpls_tunnel_id", t.id);
            o.u32("mpls_tunnel_cos", t.cos);
        }
        FlowRecord::ExtendedMplsVc(vc) => {
            o.bytes_if_any("mpls_vc_name", vc.name);
            o.u32("mpls_vll_vc_id", vc.id);
            o.u32("mpls_vc_cos", vc.cos);
        }
        FlowRecord::ExtendedMplsFtn(f) => {
            o.bytes_if_any("mpls_ftn_descr", f.description);
            o.u32("mpls_ftn_mask", f.mask);
        }
        FlowRecord::ExtendedMplsLdpFec(f) => {
            o.u32("mpls_fec_addr_prefix_len", f.addr_prefix_length);
        }
        FlowRecord::ExtendedVlanTunnel(t) => vlan_tunnel(o, &t.stack),
        FlowRecord::Extended80211Payload(p) => {
            o.u32("cipher_suite", p.cipher_suite);
            sampled_header(o, &p.header);
        }
        FlowRecord::Extended80211Rx(rx) => {
            o.bytes_if_any("rx_SSID", rx.ssid);
            o.mac("rx_BSSID", &rx.bssid);
            o.u32("rx_version", rx.version);
            o.u32("rx_channel", rx.channel);
            o.u64("rx_speed", rx.speed);
            o.u32("rx_rsni", rx.rsni);
            o.u32("rx_rcpi", rx.rcpi);
            o.u32("rx_packet_uS", rx.packet_duration_us);
        }
        FlowRecord::Extended80211Tx(tx) => {
            o.bytes_if_any("tx_SSID", tx.ssid);
            o.mac("tx_BSSID", &tx.bssid);
            o.u32("tx_version", tx.version);
            o.u32("tx_transmissions", tx.transmissions);
            o.u32("tx_packet_uS", tx.packet_duration_us);
            o.u32("tx_retrans_uS", tx.retrans_duration_us);
            o.u32("tx_channel", tx.channel);
            o.u64("tx_speed", tx.speed);
            o.u32("tx_power_mW", tx.power_mw);
        }
        FlowRecord::ExtendedL2TunnelEgress(e) => ethernet(o, "tunnel_l2_out_", e),
        FlowRecord::ExtendedL2TunnelIngress(e) => ethernet(o, "tunnel_l2_in_", e),
        FlowRecord::ExtendedIpv4TunnelEgress(ip) => ipv4(o, "tunnel_ipv4_out_", ip),
        FlowRecord::ExtendedIpv4TunnelIngress(ip) => ipv4(o, "tunnel_ipv4_in_", ip),
        FlowRecord::ExtendedIpv6TunnelEgress(ip) => ipv6(o, "tunnel_ipv6_out_", ip),
        FlowRecord::ExtendedIpv6TunnelIngress(ip) => ipv6(o, "tunnel_ipv6_in_", ip),
        FlowRecord::ExtendedDecapEgress(d) => decap(o, "out_", d.inner_header_offset),
        FlowRecord::ExtendedDecapIngress(d) => decap(o, "in_", d.inner_header_offset),
        FlowRecord::ExtendedVniEgress(v) => vni(o, "out_", v.vni),
        FlowRecord::ExtendedVniIngress(v) => vni(o, "in_", v.vni),
        FlowRecord::ExtendedEgressQueue(q) => {
            o.text("extendedType", "egress_queue");
            o.u32("egress_queue_id", q.queue);
        }
        FlowRecord::ExtendedFunction(f) => {
            o.text("extendedType", "function");
            o.bytes_if_any("symbol", f.symbol);
        }
        FlowRecord::ExtendedTransitDelay(t) => {
            o.text("extendedType", "transit_delay");
            o.u32("transit_delay_nS", t.delay_ns);
        }
        FlowRecord::ExtendedQueueDepth(q) => {
            o.text("extendedType", "queue_depth");
            o.u32("queue_depth_bytes", q.depth_bytes);
        }
        FlowRecord::ExtendedHwTrap(t) => {
            o.text("extendedType", "hw_trap");
            o.bytes_if_any("hw_trap_group", t.group);
            o.bytes_if_any("hw_trap_name", t.trap);
        }
        FlowRecord::ExtendedLinuxDropReason(r) => {
            o.text("extendedType", "linux_reason");
            o.bytes_if_any("linux_drop_reason", r.reason);
        }
        FlowRecord::ExtendedSocketIpv4(s) => socket4(o, &SOCKET4, s),
        FlowRecord::ExtendedProxySocketIpv4(s) => socket4(o, &PROXY_SOCKET4, s),
        FlowRecord::ExtendedSocketIpv6(s) => socket6(o, &SOCKET6, s),
        FlowRecord::ExtendedProxySocketIpv6(s) => socket6(o, &PROXY_SOCKET6, s),
        FlowRecord::Memcache(m) => {
            o.text("flowSampleType", "memcache");
            o.u32("memcache_op_protocol", m.protocol);
            o.u32("memcache_op_cmd", m.command);
            if !m.key.is_empty() {
                o.with("memcache_op_key", |b| url_encode(b, m.key));
            }
            o.u32("memcache_op_nkeys", m.nkeys);
            o.u32("memcache_op_value_bytes", m.value_bytes);
            o.u32("memcache_op_duration_uS", m.duration_us);
            o.u32("memcache_op_status", m.status);
        }
        FlowRecord::Http(h) => http(o, &HttpRequest::from(*h), HttpVersion::First),
        FlowRecord::Http2(h) => http(o, h, HttpVersion::Current),
        FlowRecord::App(a) => {
            o.text("flowSampleType", "applicationOperation");
            o.bytes_if_any("application", a.context.application);
            o.bytes_if_any("operation", a.context.operation);
            o.bytes_if_any("attributes", a.context.attributes);
            o.bytes_if_any("status_descr", a.status_description);
            o.u64("request_bytes", a.req_bytes);
            o.u64("response_bytes", a.resp_bytes);
            o.u32("duration_uS", a.duration_us);
            match APP_STATUS.get(a.status as usize) {
                Some(name) => o.text("status", name),
                None => o.with("status", |b| {
                    b.extend_from_slice(b"<out-of-range=");
                    push_u32(b, a.status);
                    b.push(b'>');
                }),
            }
        }
        FlowRecord::AppContext(c) => {
            o.bytes_if_any("server_context_application", c.application);
            o.bytes_if_any("server_context_operation", c.operation);
            o.bytes_if_any("server_context_attributes", c.attributes);
        }
        FlowRecord::AppActorInitiator(a) => o.bytes_if_any("actor_initiator", a.actor),
        FlowRecord::AppActorTarget(a) => o.bytes_if_any("actor_target", a.actor),
        FlowRecord::ExtendedTcpInfo(t) => {
            let direction = match t.direction {
                0 => "unknown",
                1 => "received",
                2 => "sent",
                _ => "<bad value>",
            };
            o.text("tcpinfo_direction", direction);
            o.u32("tcpinfo_send_mss", t.snd_mss);
            o.u32("tcpinfo_receive_mss", t.rcv_mss);
            o.u32("tcpinfo_unacked_pkts", t.unacked);
            o.u32("tcpinfo_lost_pkts", t.lost);
            o.u32("tcpinfo_retrans_pkts", t.retrans);
            o.u32("tcpinfo_path_mtu", t.pmtu);
            o.u32("tcpinfo_rtt_uS", t.rtt_us);
            o.u32("tcpinfo_rtt_uS_var", t.rtt_var_us);
            o.u32("tcpinfo_send_congestion_win", t.snd_cwnd);
            o.u32("tcpinfo_reordering", t.reordering);
            o.u32("tcpinfo_rtt_uS_min", t.min_rtt_us);
        }
        FlowRecord::ExtendedEntities(e) => {
            o.text("extendedType", "entities");
            o.u32("entities_src_class", e.src_ds_class);
            o.u32("entities_src_index", e.src_ds_index);
            o.u32("entities_dst_class", e.dst_ds_class);
            o.u32("entities_dst_index", e.dst_ds_index);
        }
        // 802.11 aggregation (0:1016) is not decoded by sflowtool either.
        FlowRecord::Extended80211Aggregation(_) => {
            skipping(o, "flow_sample_element", record.tag(), 0);
        }
        FlowRecord::Unknown(opaque) => {
            skipping(o, "flow_sample_element", opaque.tag, opaque.data.len());
        }
        _ => skipping(o, "flow_sample_element", record.tag(), 0),
    }
}

/// sflowtool's names of the application operation status codes.
const APP_STATUS: [&str; 11] = [
    "SUCCESS",
    "OTHER",
    "TIMEOUT",
    "INTERNAL_ERROR",
    "BAD_REQUEST",
    "FORBIDDEN",
    "TOO_LARGE",
    "NOT_IMPLEMENTED",
    "NOT_FOUND",
    "UNAVAILABLE",
    "UNAUTHORIZED",
];

fn flow_sample_type<S: StyleKind>(o: &mut Out<'_, S>, prefix: &str, kind: &str) {
    o.with("flowSampleType", |b| {
        b.extend_from_slice(prefix.as_bytes());
        b.extend_from_slice(kind.as_bytes());
    });
}

fn ethernet<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, e: &SampledEthernet) {
    flow_sample_type(o, prefix, "ETHERNET");
    o.prefix2 = prefix;
    o.u32("ethernet_type", e.eth_type);
    o.u32("ethernet_len", e.length);
    o.mac("ethernet_src", &e.src_mac);
    o.mac("ethernet_dst", &e.dst_mac);
    o.prefix2 = "";
}

fn ports<S: StyleKind>(o: &mut Out<'_, S>, protocol: u32, src: u32, dst: u32, tcp_flags: u32) {
    match protocol {
        1 => o.u32("ICMPType", dst),
        6 => {
            o.u32("TCPSrcPort", src);
            o.u32("TCPDstPort", dst);
            o.u32("TCPFlags", tcp_flags);
        }
        17 => {
            o.u32("UDPSrcPort", src);
            o.u32("UDPDstPort", dst);
        }
        _ => {}
    }
}

fn ipv4<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, ip: &SampledIpv4) {
    flow_sample_type(o, prefix, "IPV4");
    o.prefix2 = prefix;
    o.u32("sampledPacketSize", ip.length);
    o.u32("IPSize", ip.length);
    o.ipv4("srcIP", ip.src_ip);
    o.ipv4("dstIP", ip.dst_ip);
    o.u32("IPProtocol", ip.protocol);
    o.u32("IPTOS", ip.tos);
    ports(o, ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
    o.prefix2 = "";
}

fn ipv6<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, ip: &SampledIpv6) {
    flow_sample_type(o, prefix, "IPV6");
    o.prefix2 = prefix;
    o.u32("sampledPacketSize", ip.length);
    o.u32("IPSize", ip.length);
    o.ipv6("srcIP6", ip.src_ip);
    o.ipv6("dstIP6", ip.dst_ip);
    o.u32("IPProtocol", ip.protocol);
    o.u32("priority", ip.priority);
    ports(o, ip.protocol, ip.src_port, ip.dst_port, ip.tcp_flags);
    o.prefix2 = "";
}

/// `bgp_nexthop`: false for sFlow v4, whose gateway data has no next hop.
pub(crate) fn gateway<S: StyleKind>(
    o: &mut Out<'_, S>,
    g: &ExtendedGateway<'_>,
    bgp_nexthop: bool,
) {
    o.text("extendedType", "GATEWAY");
    if bgp_nexthop {
        o.address("bgp_nexthop", &g.next_hop);
    }
    o.u32("my_as", g.as_number);
    o.u32("src_as", g.src_as);
    o.u32("src_peer_as", g.src_peer_as);
    if !g.dst_as_path.is_empty() {
        o.with("dst_as_path", |b| {
            for (i, segment) in g.dst_as_path.segments().enumerate() {
                if i > 0 {
                    b.push(b'-');
                }
                // AS_SET segments are parenthesized.
                let set = segment.kind == 1;
                if set {
                    b.push(b'(');
                }
                join_u32(b, segment.asns.iter(), b'-');
                if set {
                    b.push(b')');
                }
            }
        });
    }
    // First ASN of the first segment and last ASN of the last segment, 0 if absent.
    let dst_peer_as = g
        .dst_as_path
        .segments()
        .next()
        .and_then(|s| s.asns.iter().next())
        .unwrap_or(0);
    let dst_as = g
        .dst_as_path
        .segments()
        .last()
        .and_then(|s| s.asns.iter().last())
        .unwrap_or(0);
    o.u32("dst_as", dst_as);
    o.u32("dst_peer_as", dst_peer_as);
    if !g.communities.is_empty() {
        o.with("BGP_communities", |b| {
            join_u32(b, g.communities.iter(), b'-');
        });
    }
    o.u32("BGP_localpref", g.local_pref);
}

pub(crate) fn join_u32(b: &mut Vec<u8>, values: impl Iterator<Item = u32>, sep: u8) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            b.push(sep);
        }
        push_u32(b, v);
    }
}

/// `label.exp.bos.ttl` per MPLS label stack entry, joined by `-`.
fn label_stack<S: StyleKind>(o: &mut Out<'_, S>, name: &str, stack: &U32List<'_>) {
    if stack.is_empty() {
        return;
    }
    o.with(name, |b| {
        for (i, entry) in stack.iter().enumerate() {
            if i > 0 {
                b.push(b'-');
            }
            join_u32(
                b,
                [entry >> 12, (entry >> 9) & 7, (entry >> 8) & 1, entry & 255].into_iter(),
                b'.',
            );
        }
    });
}

/// `0xTPID` followed directly by `priority.cfi.vlan`, entries joined by `-` (sflowtool's form).
fn vlan_tunnel<S: StyleKind>(o: &mut Out<'_, S>, stack: &U32List<'_>) {
    if stack.is_empty() {
        return;
    }
    o.with("vlan_tunnel", |b| {
        for (i, entry) in stack.iter().enumerate() {
            if i > 0 {
                b.push(b'-');
            }
            b.extend_from_slice(b"0x");
            push_hex_lower(b, &[(entry >> 24) as u8, (entry >> 16) as u8]);
            join_u32(
                b,
                [(entry >> 13) & 7, (entry >> 12) & 1, entry & 4095].into_iter(),
                b'.',
            );
        }
    });
}

fn decap<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, offset: u32) {
    o.with("extendedType", |b| {
        b.extend_from_slice(prefix.as_bytes());
        b.extend_from_slice(b"decap");
    });
    o.prefix2 = prefix;
    o.u32("decap_inner_header_offset", offset);
    o.prefix2 = "";
}

fn vni<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, vni: u32) {
    o.with("extendedType", |b| {
        b.extend_from_slice(prefix.as_bytes());
        b.extend_from_slice(b"VNI");
    });
    o.prefix2 = prefix;
    o.u32("VNI", vni);
    o.prefix2 = "";
}

/// The `extendedType` of a socket record, then its field names: protocol, local / remote IP,
/// local / remote port.
type SocketNames = [&'static str; 6];

const SOCKET4: SocketNames = [
    "socket4",
    "socket4_ip_protocol",
    "socket4_local_ip",
    "socket4_remote_ip",
    "socket4_local_port",
    "socket4_remote_port",
];
const PROXY_SOCKET4: SocketNames = [
    "proxy_socket4",
    "proxy_socket4_ip_protocol",
    "proxy_socket4_local_ip",
    "proxy_socket4_remote_ip",
    "proxy_socket4_local_port",
    "proxy_socket4_remote_port",
];
const SOCKET6: SocketNames = [
    "socket6",
    "socket6_ip_protocol",
    "socket6_local_ip",
    "socket6_remote_ip",
    "socket6_local_port",
    "socket6_remote_port",
];
const PROXY_SOCKET6: SocketNames = [
    "proxy_socket6",
    "proxy_socket6_ip_protocol",
    "proxy_socket6_local_ip",
    "proxy_socket6_remote_ip",
    "proxy_socket6_local_port",
    "proxy_socket6_remote_port",
];

fn socket4<S: StyleKind>(o: &mut Out<'_, S>, names: &SocketNames, s: &ExtendedSocketIpv4) {
    let [kind, protocol, local_ip, remote_ip, local_port, remote_port] = *names;
    o.text("extendedType", kind);
    o.u32(protocol, s.protocol);
    o.ipv4(local_ip, s.local_ip);
    o.ipv4(remote_ip, s.remote_ip);
    o.u32(local_port, s.local_port);
    o.u32(remote_port, s.remote_port);
}

fn socket6<S: StyleKind>(o: &mut Out<'_, S>, names: &SocketNames, s: &ExtendedSocketIpv6) {
    let [kind, protocol, local_ip, remote_ip, local_port, remote_port] = *names;
    o.text("extendedType", kind);
    o.u32(protocol, s.protocol);
    o.ipv6(local_ip, s.local_ip);
    o.ipv6(remote_ip, s.remote_ip);
    o.u32(local_port, s.local_port);
    o.u32(remote_port, s.remote_port);
}

/// Which HTTP request structure a record is: 0:2201 lacks X-Forwarded-For and the request bytes,
/// which sflowtool then does not print.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HttpVersion {
    First,
    Current,
}

fn http<S: StyleKind>(o: &mut Out<'_, S>, h: &HttpRequest<'_>, version: HttpVersion) {
    let current = version == HttpVersion::Current;
    o.text("flowSampleType", "http");
    o.u32("http_method", h.method);
    o.u32("http_protocol", h.protocol);
    o.bytes_if_any("http_uri", h.uri);
    o.bytes_if_any("http_host", h.host);
    o.bytes_if_any("http_referrer", h.referrer);
    o.bytes_if_any("http_useragent", h.user_agent);
    if current {
        o.bytes_if_any("http_xff", h.xff);
    }
    o.bytes_if_any("http_authuser", h.auth_user);
    o.bytes_if_any("http_mimetype", h.mime_type);
    if current {
        o.u64("http_request_bytes", h.req_bytes);
    }
    o.u64("http_bytes", h.resp_bytes);
    o.u32("http_duration_uS", h.duration_us);
    o.u32("http_status", h.status);
}

/// sflowtool's `URLEncode`: alphanumerics kept, whitespace as `+`, the rest `%XX`.
fn url_encode(b: &mut Vec<u8>, key: &[u8]) {
    for &c in crate::values::c_string(key) {
        if c.is_ascii_alphanumeric() {
            b.push(c);
        } else if c.is_ascii_whitespace() {
            b.push(b'+');
        } else {
            b.push(b'%');
            crate::values::push_hex_upper_dashed(b, &[c]);
        }
    }
}
