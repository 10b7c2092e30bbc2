//! Flows: one direction of a conversation with its rate, packet sizes and lifetime. A TCP
//! transfer is two flows, data one way and ACKs (one per two segments) the other.
//!
//! The kinds of traffic: mice (web, application, DNS, NTP, syslog), steady long-lived flows,
//! and the scenario's events (elephants, DNS amplification).

use std::net::Ipv4Addr;

use crate::fabric::{Endpoint, Fabric, Path, mix};
use crate::packet::{ETHERNET_OVERHEAD, IPPROTO_TCP, IPPROTO_UDP, Payload, TCP_ACK, TCP_PSH};
use crate::rng::Rng;
use crate::scenario::{Protocol, TrafficConfig};

/// A full-size Ethernet frame: 1500 bytes of IP plus header and FCS.
pub(crate) const FULL_FRAME: u32 = 1500 + ETHERNET_OVERHEAD;
/// A TCP ACK with timestamps: 52 bytes of IP.
pub(crate) const ACK_FRAME: u32 = 52 + ETHERNET_OVERHEAD;
/// TCP payload per full-size segment (1500 - 20 IP - 32 TCP).
const MSS: u64 = 1448;
/// Names queried in amplification attacks (wire format).
const AMPLIFIED_NAMES: [&[u8]; 3] = [b"\x03isc\x03org\x00", b"\x04ripe\x03net\x00", b"\x02sl\x00"];
const QUERIED_NAMES: [&[u8]; 4] = [
    b"\x03www\x07example\x03com\x00",
    b"\x03api\x08internal\x00",
    b"\x02db\x08internal\x00",
    b"\x04mail\x07example\x03org\x00",
];

/// Who created a flow, which decides when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Mouse,
    Steady,
    /// The scenario event with this index.
    Event(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Flow {
    pub owner: Owner,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// ECMP hash of the 5-tuple.
    pub hash: u64,
    /// Packets per second, and the fraction of a packet carried to the next step.
    pub pps: f64,
    pub carry: f64,
    /// Frame lengths are uniform in [frame_min, frame_max].
    pub frame_min: u32,
    pub frame_max: u32,
    /// Packets left to send (`u64::MAX` = until stopped).
    pub remaining: u64,
    /// Packets sent so far.
    pub sent: u64,
    /// IP TTL as the packet leaves its source.
    pub ttl: u8,
    pub tcp_flags: u8,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    /// Sequence number advance per packet.
    pub seq_step: u32,
    pub ip_id: u16,
    pub payload: Payload,
    /// Route cache, valid while `path_version` is the fabric's routing version.
    pub path: Option<Path>,
    pub path_version: u64,
}

impl Flow {
    /// Mean frame length (what the interface counters add per packet).
    pub(crate) fn mean_frame(&self) -> u64 {
        u64::from(self.frame_min + self.frame_max) / 2
    }

    /// Packets this flow sends in a step of `dt` seconds.
    pub(crate) fn take_packets(&mut self, dt: f64) -> u64 {
        if self.remaining == 0 {
            return 0;
        }
        let want = self.pps * dt + self.carry;
        let whole = want.floor();
        self.carry = want - whole;
        let n = (whole as u64).min(self.remaining);
        if self.remaining != u64::MAX {
            self.remaining -= n;
        }
        n
    }

    pub(crate) fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

/// What a new flow looks like; turned into a [`Flow`] by [`FlowSpec::build`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowSpec {
    pub owner: Owner,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    pub pps: f64,
    pub frame_min: u32,
    pub frame_max: u32,
    pub packets: u64,
    pub ttl: u8,
    pub payload: Payload,
}

impl FlowSpec {
    pub(crate) fn build(self, fabric: &Fabric, rng: &mut Rng) -> Flow {
        let src_ip = fabric.endpoint_ip(self.src);
        let dst_ip = fabric.endpoint_ip(self.dst);
        let hash = mix((u64::from(u32::from(src_ip)) << 32) | u64::from(u32::from(dst_ip)))
            ^ mix((u64::from(self.protocol) << 32)
                | (u64::from(self.src_port) << 16)
                | u64::from(self.dst_port));
        let tcp = self.protocol == IPPROTO_TCP;
        let data = tcp && self.frame_min > ACK_FRAME;
        Flow {
            owner: self.owner,
            src: self.src,
            dst: self.dst,
            src_ip,
            dst_ip,
            protocol: self.protocol,
            src_port: self.src_port,
            dst_port: self.dst_port,
            hash,
            pps: self.pps,
            carry: rng.unit(),
            frame_min: self.frame_min,
            frame_max: self.frame_max,
            remaining: self.packets,
            sent: 0,
            ttl: self.ttl,
            tcp_flags: if data { TCP_ACK | TCP_PSH } else { TCP_ACK },
            tcp_seq: rng.next_u32(),
            tcp_ack: rng.next_u32(),
            seq_step: if data { MSS as u32 } else { 0 },
            ip_id: rng.next_u32() as u16,
            payload: self.payload,
            path: None,
            path_version: u64::MAX,
        }
    }
}

pub(crate) fn ephemeral_port(rng: &mut Rng) -> u16 {
    rng.between(32_768, 60_999) as u16
}

impl FlowSpec {
    /// Full-size frames from `endpoints.0` to `endpoints.1` on `ports` (source, destination).
    pub(crate) fn bulk(
        owner: Owner,
        endpoints: (Endpoint, Endpoint),
        protocol: u8,
        ports: (u16, u16),
        pps: f64,
        packets: u64,
        ttl: u8,
    ) -> Self {
        FlowSpec {
            owner,
            src: endpoints.0,
            dst: endpoints.1,
            protocol,
            src_port: ports.0,
            dst_port: ports.1,
            pps,
            frame_min: FULL_FRAME,
            frame_max: FULL_FRAME,
            packets,
            ttl,
            payload: Payload::Zeros,
        }
    }
}

/// The two flows of a TCP transfer: `data` (full-size segments) and the ACKs going back, one per
/// two segments, with IP TTL `ack_ttl`.
pub(crate) fn tcp_transfer(data: FlowSpec, ack_ttl: u8) -> [FlowSpec; 2] {
    let acks = FlowSpec {
        src: data.dst,
        dst: data.src,
        src_port: data.dst_port,
        dst_port: data.src_port,
        pps: data.pps / 2.0,
        frame_min: ACK_FRAME,
        frame_max: ACK_FRAME,
        packets: if data.packets == u64::MAX {
            u64::MAX
        } else {
            data.packets.div_ceil(2)
        },
        ttl: ack_ttl,
        ..data
    };
    [data, acks]
}

/// Initial TTL of a packet from `endpoint`: 64 from Linux hosts; Internet packets have crossed
/// a dozen or so routers already.
pub(crate) fn source_ttl(endpoint: Endpoint, rng: &mut Rng) -> u8 {
    match endpoint {
        Endpoint::Host(_) => 64,
        Endpoint::Internet(_) => rng.between(44, 58) as u8,
    }
}

/// A new mouse: a short TCP transfer or a UDP exchange between random endpoints.
pub(crate) fn mouse(config: &TrafficConfig, fabric: &Fabric, rng: &mut Rng) -> Vec<FlowSpec> {
    let hosts = fabric.hosts.len();
    if hosts < 2 {
        return Vec::new();
    }
    let server_id = rng.index(hosts);
    let server = Endpoint::Host(server_id);
    let other_host = |rng: &mut Rng| {
        let other = (server_id + 1 + rng.index(hosts - 1)) % hosts;
        Endpoint::Host(other)
    };
    let internet = fabric.internet_port.is_some();
    let client_port = ephemeral_port(rng);
    match rng.weighted(&[0.55, 0.25, 0.12, 0.05, 0.03]) {
        // Web and application transfers: a request, then a response of a log-normal size.
        kind @ (0 | 1) => {
            let (client, server_port) = if kind == 0 {
                let client = if internet && rng.chance(config.internet_share) {
                    Endpoint::Internet(fabric.internet_address(rng))
                } else {
                    other_host(rng)
                };
                (client, if rng.chance(0.8) { 443 } else { 80 })
            } else {
                const APP_PORTS: [u16; 8] = [3306, 5432, 6379, 9092, 8080, 22, 11211, 2049];
                (other_host(rng), APP_PORTS[rng.index(APP_PORTS.len())])
            };
            let bytes = rng
                .lognormal(config.mice_median_bytes.0, 1.5)
                .clamp(200.0, config.mice_max_bytes.0);
            let packets = (bytes as u64).div_ceil(MSS).max(1);
            let rate = rng.uniform(config.mice_max_rate.0 / 20.0, config.mice_max_rate.0);
            let pps = rate / (8.0 * f64::from(FULL_FRAME));
            let data = FlowSpec::bulk(
                Owner::Mouse,
                (server, client),
                IPPROTO_TCP,
                (server_port, client_port),
                pps,
                packets,
                source_ttl(server, rng),
            );
            tcp_transfer(data, source_ttl(client, rng)).to_vec()
        }
        // DNS: a query to a resolver host and its answer.
        2 => {
            let client = other_host(rng);
            let qname = QUERIED_NAMES[rng.index(QUERIED_NAMES.len())];
            let id = rng.next_u32() as u16;
            let query = FlowSpec {
                owner: Owner::Mouse,
                src: client,
                dst: server,
                protocol: IPPROTO_UDP,
                src_port: client_port,
                dst_port: 53,
                pps: 1e6,
                frame_min: 80,
                frame_max: 100,
                packets: 1,
                ttl: 64,
                payload: Payload::Dns {
                    id,
                    response: false,
                    qtype: 1,
                    qname,
                },
            };
            let answer = FlowSpec {
                src: server,
                dst: client,
                src_port: 53,
                dst_port: client_port,
                frame_min: 120,
                frame_max: 480,
                payload: Payload::Dns {
                    id,
                    response: true,
                    qtype: 1,
                    qname,
                },
                ..query
            };
            vec![query, answer]
        }
        // NTP with a server on the Internet (or a host), syslog to a host.
        kind => {
            let client = Endpoint::Host(server_id);
            let (peer, port, frames, packets) = if kind == 3 {
                let peer = if internet {
                    Endpoint::Internet(fabric.internet_address(rng))
                } else {
                    other_host(rng)
                };
                (peer, 123, (90, 90), 1)
            } else {
                (other_host(rng), 514, (150, 400), rng.between(1, 5))
            };
            let request = FlowSpec {
                owner: Owner::Mouse,
                src: client,
                dst: peer,
                protocol: IPPROTO_UDP,
                src_port: if port == 123 { 123 } else { client_port },
                dst_port: port,
                pps: 100.0,
                frame_min: frames.0,
                frame_max: frames.1,
                packets,
                ttl: 64,
                payload: Payload::Zeros,
            };
            if port == 123 {
                let ttl = source_ttl(peer, rng);
                vec![
                    request,
                    FlowSpec {
                        src: peer,
                        dst: client,
                        ttl,
                        ..request
                    },
                ]
            } else {
                vec![request]
            }
        }
    }
}

/// The resolvers' responses of a DNS amplification attack on `target`: one flow per resolver,
/// together `rate` bits/s, frames of 1200..1518 bytes from UDP port 53.
pub(crate) fn dns_amplification(
    event: usize,
    fabric: &Fabric,
    target: Endpoint,
    sources: u32,
    rate: f64,
    rng: &mut Rng,
) -> Vec<FlowSpec> {
    let (frame_min, frame_max) = (1200, FULL_FRAME);
    let total_pps = rate / (8.0 * f64::from(frame_min + frame_max) / 2.0);
    // Resolvers differ in how much they send.
    let weights: Vec<f64> = (0..sources).map(|_| rng.uniform(0.5, 1.5)).collect();
    let weight_sum: f64 = weights.iter().sum();
    weights
        .iter()
        .map(|weight| {
            let resolver = Endpoint::Internet(fabric.internet_address(rng));
            FlowSpec {
                owner: Owner::Event(event),
                src: resolver,
                dst: target,
                protocol: IPPROTO_UDP,
                src_port: 53,
                dst_port: ephemeral_port(rng),
                pps: total_pps * weight / weight_sum,
                frame_min,
                frame_max,
                packets: u64::MAX,
                ttl: source_ttl(resolver, rng),
                payload: Payload::Dns {
                    id: rng.next_u32() as u16,
                    response: true,
                    qtype: 255,
                    qname: AMPLIFIED_NAMES[rng.index(AMPLIFIED_NAMES.len())],
                },
            }
        })
        .collect()
}

/// An elephant between `endpoints` on `ports`: a TCP transfer (with its ACKs) or a UDP stream of
/// full-size frames at `rate` bits/s.
pub(crate) fn elephant(
    event: usize,
    endpoints: (Endpoint, Endpoint),
    protocol: Protocol,
    ports: (u16, u16),
    rate: f64,
    rng: &mut Rng,
) -> Vec<FlowSpec> {
    let pps = rate / (8.0 * f64::from(FULL_FRAME));
    let ttl = source_ttl(endpoints.0, rng);
    let ip_protocol = match protocol {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
    };
    let data = FlowSpec::bulk(
        Owner::Event(event),
        endpoints,
        ip_protocol,
        ports,
        pps,
        u64::MAX,
        ttl,
    );
    match protocol {
        Protocol::Tcp => tcp_transfer(data, source_ttl(endpoints.1, rng)).to_vec(),
        Protocol::Udp => vec![data],
    }
}

/// Long-lived flows between random hosts, preferably on different leaves.
pub(crate) fn steady(config: &TrafficConfig, fabric: &Fabric, rng: &mut Rng) -> Vec<FlowSpec> {
    const PORTS: [u16; 6] = [3306, 2049, 9042, 873, 5432, 6379];
    let hosts = fabric.hosts.len();
    let mut specs = Vec::new();
    if hosts < 2 {
        return specs;
    }
    for _ in 0..config.steady_flows {
        let a = rng.index(hosts);
        let mut b = (a + 1 + rng.index(hosts - 1)) % hosts;
        for _ in 0..4 {
            if fabric.hosts[a].leaf != fabric.hosts[b].leaf {
                break;
            }
            b = (a + 1 + rng.index(hosts - 1)) % hosts;
        }
        let rate = config.steady_rate.0 * rng.uniform(0.5, 1.5);
        let pps = rate / (8.0 * f64::from(FULL_FRAME));
        let data = FlowSpec::bulk(
            Owner::Steady,
            (Endpoint::Host(a), Endpoint::Host(b)),
            IPPROTO_TCP,
            (ephemeral_port(rng), PORTS[rng.index(PORTS.len())]),
            pps,
            u64::MAX,
            64,
        );
        specs.extend(tcp_transfer(data, 64));
    }
    specs
}
