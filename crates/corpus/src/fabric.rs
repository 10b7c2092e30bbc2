//! `fabric.pcap`: 120 s of a two-leaf, two-spine routed fabric exporting sFlow, laid out like the
//! fabric of sFlow-RT's ECMP demo so that the same acceptance tests run on it: agents
//! 192.168.0.11-14 named leaf1, leaf2, spine1, spine2; uplinks swp1s0-3 on the leaves and
//! swp49-52 on the spines; two long TCP transfers (10.4.1.2 -> 10.4.2.2 and 10.4.3.2 -> 10.4.4.2,
//! about 4 Gbit/s each, 30 s on and 10 s off, staggered) and their ACK streams, each routed
//! through one spine (ECMP), so every flow is seen on three switches.
//!
//! Each switch samples the packets entering each port 1-in-[`SAMPLING_RATE`] with a random skip
//! (sample pool and sequence numbers consistent), polls each port's counters every
//! [`COUNTER_INTERVAL_S`] s (generic, Ethernet and port-name records) and its host counters every
//! [`HOST_INTERVAL_S`] s (host description, adapters, CPU, memory, disk, network, Broadcom ASIC
//! tables), and sends a datagram of what it has once a second. Interface counters are the
//! integral of the traffic, so counter rates equal what the flow samples estimate.

use std::net::{Ipv4Addr, SocketAddr};

use rtflow_sflow::{
    Adapter, AdapterList, Address, BroadcomTables, CounterRecord, CounterSampleInfo, DataSource,
    DatagramHeader, EthernetCounters, ExtendedSwitch, FlowRecord, FlowSampleInfo,
    GenericInterfaceCounters, HostAdapters, HostCpu, HostDescription, HostDiskIo, HostMemory,
    HostNetIo, Interface, MacAddr, MacList, PortName, SampledHeader,
};

use crate::capture::{Capture, Dgram};
use crate::headers::{ETHERTYPE_IPV4, PROTO_TCP, TCP_ACK, TCP_PSH, ethernet, ipv4, mac, tcp};

pub(crate) const DESCRIPTION: &str = "120 s of a leaf-and-spine fabric (agents 192.168.0.11-14: \
    leaf1, leaf2, spine1, spine2): two 4 Gbit/s TCP transfers 10.4.1.2->10.4.2.2 and \
    10.4.3.2->10.4.4.2 with their ACK streams, ECMP through one spine each, sampled 1-in-200000; \
    port counters every 10 s, host counters every 20 s";

/// Capture start (2023-11-14T22:13:20Z).
pub(crate) const START_SECS: u64 = 1_700_000_000;
const DURATION_S: u64 = 120;
/// 1-in-N packet sampling on every port.
const SAMPLING_RATE: u32 = 200_000;
const COUNTER_INTERVAL_S: u64 = 10;
const HOST_INTERVAL_S: u64 = 20;
/// Bytes of each packet copied into a sampled header record.
const HEADER_BYTES: usize = 64;
/// A datagram is sent once it holds this much (or once a second).
const DATAGRAM_TARGET: usize = 1300;
/// Simulation step.
const TICK_MS: u64 = 10;
const COLLECTOR: ([u8; 4], u16) = ([192, 168, 0, 1], rtflow_sflow::SFLOW_PORT);

struct Port {
    if_index: u32,
    name: &'static str,
    speed: u64,
}

const fn port(if_index: u32, name: &'static str, speed: u64) -> Port {
    Port {
        if_index,
        name,
        speed,
    }
}

const TEN_G: u64 = 10_000_000_000;
const LEAF_PORTS: &[Port] = &[
    port(1, "eth0", 1_000_000_000),
    port(3, "swp1s0", TEN_G),
    port(4, "swp1s1", TEN_G),
    port(5, "swp1s2", TEN_G),
    port(6, "swp1s3", TEN_G),
    port(7, "swp2", TEN_G),
    port(8, "swp3", TEN_G),
];
const SPINE_PORTS: &[Port] = &[
    port(1, "eth0", 1_000_000_000),
    port(3, "swp49", TEN_G),
    port(4, "swp50", TEN_G),
    port(5, "swp51", TEN_G),
    port(6, "swp52", TEN_G),
];

struct Switch {
    name: &'static str,
    agent: Ipv4Addr,
    ports: &'static [Port],
    /// Uptime at the start of the capture.
    boot_ms: u32,
}

const SWITCHES: [Switch; 4] = [
    Switch {
        name: "leaf1",
        agent: Ipv4Addr::new(192, 168, 0, 11),
        ports: LEAF_PORTS,
        boot_ms: 86_400_000,
    },
    Switch {
        name: "leaf2",
        agent: Ipv4Addr::new(192, 168, 0, 12),
        ports: LEAF_PORTS,
        boot_ms: 90_000_000,
    },
    Switch {
        name: "spine1",
        agent: Ipv4Addr::new(192, 168, 0, 13),
        ports: SPINE_PORTS,
        boot_ms: 93_600_000,
    },
    Switch {
        name: "spine2",
        agent: Ipv4Addr::new(192, 168, 0, 14),
        ports: SPINE_PORTS,
        boot_ms: 97_200_000,
    },
];

/// One switch a stream crosses: (switch, input ifIndex, output ifIndex).
type Hop = (usize, u32, u32);

/// A one-way packet stream.
struct Stream {
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    frame_bytes: u32,
    packets_per_s: u64,
    flags: u8,
    hops: [Hop; 3],
    /// Active when `(t + phase) % 40 < 30` seconds.
    phase_s: u64,
}

impl Stream {
    fn active(&self, t_ms: u64) -> bool {
        (t_ms / 1000 + self.phase_s) % 40 < 30
    }
}

const LEAF1: usize = 0;
const LEAF2: usize = 1;
const SPINE1: usize = 2;
const SPINE2: usize = 3;

fn streams() -> [Stream; 4] {
    let h = |n: u8| Ipv4Addr::new(10, 4, n, 2);
    // leaf1 swp1s0 - spine1 swp49, spine1 swp51 - leaf2 swp1s2 (via spine1);
    // leaf1 swp1s2 - spine2 swp51, spine2 swp49 - leaf2 swp1s0 (via spine2).
    let via_spine1 = [(LEAF1, 7, 3), (SPINE1, 3, 5), (LEAF2, 5, 7)];
    let back_spine1 = [(LEAF2, 7, 5), (SPINE1, 5, 3), (LEAF1, 3, 7)];
    let via_spine2 = [(LEAF1, 8, 5), (SPINE2, 5, 3), (LEAF2, 3, 8)];
    let back_spine2 = [(LEAF2, 8, 3), (SPINE2, 3, 5), (LEAF1, 5, 8)];
    // 1514-byte frames at 330,000/s = 4 Gbit/s; one 66-byte ACK per two segments.
    let data = |src, dst, hops, phase_s| Stream {
        src,
        dst,
        frame_bytes: 1514,
        packets_per_s: 330_000,
        flags: TCP_ACK | TCP_PSH,
        hops,
        phase_s,
    };
    let acks = |src, dst, hops, phase_s| Stream {
        src,
        dst,
        frame_bytes: 66,
        packets_per_s: 165_000,
        flags: TCP_ACK,
        hops,
        phase_s,
    };
    [
        data((h(1), 41_000), (h(2), 5001), via_spine1, 0),
        acks((h(2), 5001), (h(1), 41_000), back_spine1, 0),
        data((h(3), 42_000), (h(4), 5001), via_spine2, 20),
        acks((h(4), 5001), (h(3), 42_000), back_spine2, 20),
    ]
}

/// A switch's MAC address (`n` switch index) or a host's (by its address).
fn switch_mac(n: usize) -> [u8; 6] {
    mac(0x0500 + n as u32)
}

fn host_mac(ip: Ipv4Addr) -> [u8; 6] {
    mac(u32::from(ip))
}

/// Deterministic xorshift random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A skip count with mean `n`, uniform in [1, 2n - 1].
    fn skip(&mut self, n: u32) -> f64 {
        1.0 + (self.next() % (2 * u64::from(n) - 1)) as f64
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PortCounters {
    in_octets: u64,
    in_packets: u64,
    out_octets: u64,
    out_packets: u64,
}

/// Sampling state of one data source (a port's ingress).
struct Sampler {
    switch: usize,
    if_index: u32,
    pool: f64,
    until_next: f64,
    sequence: u32,
}

enum Pending {
    Flow {
        info: FlowSampleInfo,
        stream: usize,
        hop: usize,
        packet: u64,
    },
    Ports {
        info: CounterSampleInfo,
        port: usize,
        counters: PortCounters,
    },
    Host {
        info: CounterSampleInfo,
        t_ms: u64,
    },
}

struct Agent {
    sequence: u32,
    pending: Vec<Pending>,
    counter_sequences: Vec<u32>,
    host_sequence: u32,
}

pub(crate) fn capture() -> Capture {
    let streams = streams();
    let mut rng = Rng(0x5eed_fab1_c0de_0001);
    let mut counters: Vec<Vec<PortCounters>> = SWITCHES
        .iter()
        .map(|s| vec![PortCounters::default(); s.ports.len()])
        .collect();
    // Data sources: every port that some stream enters.
    let mut samplers: Vec<Sampler> = Vec::new();
    for stream in &streams {
        for &(switch, input, _) in &stream.hops {
            if !samplers
                .iter()
                .any(|s| s.switch == switch && s.if_index == input)
            {
                samplers.push(Sampler {
                    switch,
                    if_index: input,
                    pool: 0.0,
                    until_next: rng.skip(SAMPLING_RATE),
                    sequence: 0,
                });
            }
        }
    }
    samplers.sort_by_key(|s| (s.switch, s.if_index));
    let mut agents: Vec<Agent> = SWITCHES
        .iter()
        .map(|s| Agent {
            sequence: 0,
            pending: Vec::new(),
            counter_sequences: vec![0; s.ports.len()],
            host_sequence: 0,
        })
        .collect();
    let mut sent = vec![0u64; streams.len()]; // packets of each stream so far
    let mut capture = Capture::default();
    let tick_s = TICK_MS as f64 / 1000.0;

    for tick in 0..DURATION_S * 1000 / TICK_MS {
        let t_ms = tick * TICK_MS;
        // Traffic of this tick, counted on every port it crosses, sampled where it enters.
        for (s, stream) in streams.iter().enumerate() {
            if !stream.active(t_ms) {
                continue;
            }
            let packets = stream.packets_per_s as f64 * tick_s;
            let (whole, bytes) = (
                packets as u64,
                packets as u64 * u64::from(stream.frame_bytes),
            );
            for &(switch, input, output) in &stream.hops {
                let ports = SWITCHES[switch].ports;
                let slot = |index: u32| ports.iter().position(|p| p.if_index == index).unwrap_or(0);
                let c = &mut counters[switch];
                c[slot(input)].in_packets += whole;
                c[slot(input)].in_octets += bytes;
                c[slot(output)].out_packets += whole;
                c[slot(output)].out_octets += bytes;
            }
            sent[s] += whole;
        }
        for sampler in &mut samplers {
            let active: Vec<(usize, usize, f64)> = streams
                .iter()
                .enumerate()
                .filter(|(_, st)| st.active(t_ms))
                .filter_map(|(s, st)| {
                    let hop = st.hops.iter().position(|&(sw, input, _)| {
                        sw == sampler.switch && input == sampler.if_index
                    })?;
                    Some((s, hop, st.packets_per_s as f64 * tick_s))
                })
                .collect();
            let total: f64 = active.iter().map(|a| a.2).sum();
            if total == 0.0 {
                continue;
            }
            let mut left = total;
            while sampler.until_next <= left {
                left -= sampler.until_next;
                sampler.pool += sampler.until_next;
                sampler.until_next = rng.skip(SAMPLING_RATE);
                // The sampled packet belongs to a stream in proportion to its share of the port.
                let mut pick = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * total;
                let &(stream, hop, _) = active
                    .iter()
                    .find(|a| {
                        pick -= a.2;
                        pick < 0.0
                    })
                    .unwrap_or(&active[0]);
                sampler.sequence += 1;
                let (_, input, output) = streams[stream].hops[hop];
                agents[sampler.switch].pending.push(Pending::Flow {
                    info: FlowSampleInfo {
                        expanded: false,
                        sequence_number: sampler.sequence,
                        source_id: DataSource {
                            class: 0,
                            index: sampler.if_index,
                        },
                        sampling_rate: SAMPLING_RATE,
                        sample_pool: sampler.pool as u32,
                        drops: 0,
                        input: Interface::index(input),
                        output: Interface::index(output),
                    },
                    stream,
                    hop,
                    packet: sent[stream],
                });
            }
            sampler.until_next -= left;
            sampler.pool += left;
        }
        for (n, agent) in agents.iter_mut().enumerate() {
            // Counter polls, staggered per switch and port.
            for (p, port) in SWITCHES[n].ports.iter().enumerate() {
                let offset_ms = (n as u64 * 700 + p as u64 * 130) % (COUNTER_INTERVAL_S * 1000);
                if t_ms % (COUNTER_INTERVAL_S * 1000) == offset_ms / TICK_MS * TICK_MS {
                    agent.counter_sequences[p] += 1;
                    agent.pending.push(Pending::Ports {
                        info: CounterSampleInfo {
                            expanded: false,
                            sequence_number: agent.counter_sequences[p],
                            source_id: DataSource {
                                class: 0,
                                index: port.if_index,
                            },
                        },
                        port: p,
                        counters: counters[n][p],
                    });
                }
            }
            if t_ms % (HOST_INTERVAL_S * 1000) == 500 + n as u64 * 100 {
                agent.host_sequence += 1;
                agent.pending.push(Pending::Host {
                    info: CounterSampleInfo {
                        expanded: false,
                        sequence_number: agent.host_sequence,
                        source_id: DataSource { class: 2, index: 1 },
                    },
                    t_ms,
                });
            }
            // Once a second (staggered), send what is pending.
            if t_ms % 1000 == 250 * n as u64 && !agent.pending.is_empty() {
                flush(&mut capture, n, agent, t_ms, &streams, &counters[n]);
            }
        }
    }
    capture
}

/// Sends `agent`'s pending samples in as many datagrams as needed.
fn flush(
    capture: &mut Capture,
    n: usize,
    agent: &mut Agent,
    t_ms: u64,
    streams: &[Stream],
    counters: &[PortCounters],
) {
    let switch = &SWITCHES[n];
    let time = (START_SECS + t_ms / 1000, ((t_ms % 1000) * 1000) as u32);
    let src = SocketAddr::from((switch.agent.octets(), 50_000 + n as u16));
    let dst = SocketAddr::from(COLLECTOR);
    let new_datagram = |sequence: u32| {
        Dgram::new(DatagramHeader {
            agent: Address::V4(switch.agent),
            sub_agent_id: 0,
            sequence_number: sequence,
            uptime_ms: switch.boot_ms + t_ms as u32,
        })
    };
    agent.sequence += 1;
    let mut datagram = new_datagram(agent.sequence);
    for pending in agent.pending.drain(..) {
        if datagram.len() > DATAGRAM_TARGET {
            capture.push_sflow(time, src, dst, datagram);
            agent.sequence += 1;
            datagram = new_datagram(agent.sequence);
        }
        match pending {
            Pending::Flow {
                info,
                stream,
                hop,
                packet,
            } => add_flow_sample(&mut datagram, &info, &streams[stream], hop, packet),
            Pending::Ports {
                info,
                port,
                counters,
            } => add_port_counters(&mut datagram, &info, &switch.ports[port], counters),
            Pending::Host { info, t_ms } => {
                add_host_counters(&mut datagram, &info, n, t_ms, counters);
            }
        }
    }
    if datagram.num_samples() > 0 {
        capture.push_sflow(time, src, dst, datagram);
    }
}

fn add_flow_sample(
    datagram: &mut Dgram,
    info: &FlowSampleInfo,
    stream: &Stream,
    hop: usize,
    packet: u64,
) {
    let (switch, input, _) = stream.hops[hop];
    // Routed hops rewrite the MACs: host -> leaf, leaf -> spine, spine -> leaf.
    let src_mac = match hop {
        0 => host_mac(stream.src.0),
        _ => switch_mac(stream.hops[hop - 1].0),
    };
    let payload_len = stream.frame_bytes as usize - 14 - 20 - 20;
    let segment = tcp(
        stream.src.1,
        stream.dst.1,
        (packet as u32).wrapping_mul(1448),
        stream.flags,
        &vec![0u8; payload_len],
    );
    let ip = ipv4(
        stream.src.0,
        stream.dst.0,
        PROTO_TCP,
        64 - hop as u8,
        packet as u16,
        &segment,
    );
    let frame = ethernet(switch_mac(switch), src_mac, ETHERTYPE_IPV4, &ip);
    let header = SampledHeader {
        protocol: 1,
        frame_length: frame.len() as u32 + 4,
        stripped: 4,
        header: &frame[..HEADER_BYTES.min(frame.len())],
    };
    // Host-facing leaf ports are access ports of VLAN 100 (ifIndex 7 and 8).
    if input >= 7 {
        let vlan = ExtendedSwitch {
            src_vlan: 100,
            src_priority: 0,
            dst_vlan: 100,
            dst_priority: 0,
        };
        datagram.flow(
            info,
            &[
                FlowRecord::SampledHeader(header),
                FlowRecord::ExtendedSwitch(vlan),
            ],
        );
    } else {
        datagram.flow(info, &[FlowRecord::SampledHeader(header)]);
    }
}

fn add_port_counters(datagram: &mut Dgram, info: &CounterSampleInfo, port: &Port, c: PortCounters) {
    let generic = GenericInterfaceCounters {
        if_index: port.if_index,
        if_type: 6,
        if_speed: port.speed,
        if_direction: 1,
        if_status: 3,
        if_in_octets: c.in_octets,
        if_in_ucast_pkts: c.in_packets as u32,
        if_out_octets: c.out_octets,
        if_out_ucast_pkts: c.out_packets as u32,
        ..Default::default()
    };
    datagram.counter(
        info,
        &[
            CounterRecord::GenericInterface(generic),
            CounterRecord::Ethernet(EthernetCounters::default()),
            CounterRecord::PortName(PortName {
                name: port.name.as_bytes(),
            }),
        ],
    );
}

fn add_host_counters(
    datagram: &mut Dgram,
    info: &CounterSampleInfo,
    n: usize,
    t_ms: u64,
    ports: &[PortCounters],
) {
    let switch = &SWITCHES[n];
    let uptime_s = (switch.boot_ms as u64 + t_ms) / 1000;
    let macs: Vec<Vec<u8>> = (0..switch.ports.len())
        .map(|p| MacList::to_raw(&[MacAddr(mac(0x0500 + n as u32 * 16 + p as u32))]))
        .collect();
    let adapters: Vec<Adapter<'_>> = switch
        .ports
        .iter()
        .zip(&macs)
        .map(|(port, raw)| Adapter {
            if_index: port.if_index,
            macs: MacList::from_raw(raw),
        })
        .collect();
    let raw_adapters = AdapterList::to_raw(&adapters);
    let adapter_list = AdapterList::from_raw(adapters.len() as u32, &raw_adapters)
        .unwrap_or_else(|| unreachable!("encoded adapters decode"));
    let mut uuid = [0u8; 16];
    uuid[..4].copy_from_slice(&switch.agent.octets());
    uuid[15] = n as u8 + 1;
    // Only the management port's traffic reaches the CPU: none here, a trickle of control plane.
    let (bytes_in, bytes_out) = (
        ports[0].in_octets + t_ms * 50,
        ports[0].out_octets + t_ms * 40,
    );
    let cpu_ms = t_ms as u32;
    datagram.counter(
        info,
        &[
            CounterRecord::HostDescription(HostDescription {
                hostname: switch.name.as_bytes(),
                uuid,
                machine_type: 3,
                os_name: 2,
                os_release: b"4.19.0-cl-1-amd64",
            }),
            CounterRecord::HostAdapters(HostAdapters {
                adapters: adapter_list,
            }),
            CounterRecord::HostCpu(HostCpu {
                load_one: 0.25 + n as f32 * 0.125,
                load_five: 0.5,
                load_fifteen: 0.375,
                proc_run: 1,
                proc_total: 180,
                cpu_num: 4,
                cpu_speed_mhz: 2400,
                uptime_s: uptime_s as u32,
                cpu_user_ms: cpu_ms / 10,
                cpu_nice_ms: 0,
                cpu_system_ms: cpu_ms / 20,
                cpu_idle_ms: cpu_ms * 3,
                cpu_wio_ms: cpu_ms / 100,
                cpu_intr_ms: cpu_ms / 200,
                cpu_sintr_ms: cpu_ms / 100,
                interrupts: cpu_ms * 2,
                contexts: cpu_ms * 5,
                extra: None,
            }),
            CounterRecord::HostMemory(HostMemory {
                mem_total: 8 << 30,
                mem_free: (5 << 30) - t_ms * 1000,
                mem_shared: 64 << 20,
                mem_buffers: 256 << 20,
                mem_cached: 1 << 30,
                swap_total: 0,
                swap_free: 0,
                ..Default::default()
            }),
            CounterRecord::HostDiskIo(HostDiskIo {
                disk_total: 16 << 30,
                disk_free: 10 << 30,
                part_max_used: 4200,
                reads: cpu_ms / 50,
                bytes_read: t_ms * 4096,
                writes: cpu_ms / 25,
                bytes_written: t_ms * 8192,
                ..Default::default()
            }),
            CounterRecord::HostNetIo(HostNetIo {
                bytes_in,
                pkts_in: (bytes_in / 200) as u32,
                bytes_out,
                pkts_out: (bytes_out / 200) as u32,
                ..Default::default()
            }),
            CounterRecord::BroadcomTables(BroadcomTables {
                host_entries: 12 + n as u32,
                host_entries_max: 8192,
                ipv4_entries: 40,
                ipv4_entries_max: 16_384,
                total_routes: 52,
                total_routes_max: 32_768,
                ecmp_nexthops: 4,
                ecmp_nexthops_max: 16_346,
                mac_entries: 20,
                mac_entries_max: 32_768,
                ipv4_neighbors: 6,
                ipv4_routes: 44,
                acl_ingress_entries: 120,
                acl_ingress_entries_max: 4096,
                ..Default::default()
            }),
        ],
    );
}
