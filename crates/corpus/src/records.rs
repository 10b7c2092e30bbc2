//! `records.pcap`: a few datagrams that together hold every sample type and, with values set,
//! the flow and counter records real agents send (the third-party captures' set and more):
//! compact and expanded samples, IPv4 and IPv6 agents, every interface encoding (ifIndex,
//! discarded, multiple, local), discard samples with drop-reason records, host and application
//! structures, vendor records, an unknown sample type and unknown records, and sampled headers
//! of many stacks (802.1Q, QinQ, MPLS, ARP, IPv4/IPv6, TCP/UDP, ICMP/ICMPv6, GRE, VXLAN, DNS,
//! raw IPv4 and IPv6 headers).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use rtflow_sflow::{
    Adapter, AdapterList, Address, AsPath, BroadcomTables, CounterRecord, CounterSampleInfo,
    DataSource, DatagramHeader, DiscardSampleInfo, EthernetCounters, ExtendedEgressQueue,
    ExtendedFunction, ExtendedGateway, ExtendedHwTrap, ExtendedLinuxDropReason, ExtendedMpls,
    ExtendedNat, ExtendedNatPort, ExtendedRouter, ExtendedSocketIpv4, ExtendedSocketIpv6,
    ExtendedSwitch, ExtendedTcpInfo, ExtendedUrl, ExtendedUser, ExtendedVlanTunnel, FlowRecord,
    FlowSampleInfo, GenericInterfaceCounters, HostAdapters, HostCpu, HostCpuExtra, HostDescription,
    HostDiskIo, HostMemory, HostNetIo, HttpRequest, HttpRequestV1, Interface, MacAddr, MacList,
    Mib2UdpGroup, NvidiaGpuCounters, Opaque, PortName, ProcessorCounters, Sample, SampledEthernet,
    SampledHeader, SampledIpv4, SampledIpv6, SfpCounters, SfpLane, SfpLanes, Tag, U32List, VirtCpu,
    VirtNode, VlanCounters,
};

use crate::capture::{Capture, Dgram};
use crate::headers::{
    ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
    PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_SYN, arp_request,
    dns_query, echo_request, ethernet, gre, ipv4, ipv6, mac, mpls, tcp, udp, vlan, vxlan,
};

pub(crate) const DESCRIPTION: &str = "every sample type and the flow/counter records agents \
    send, with values: compact and expanded samples, IPv4 and IPv6 agents, all interface \
    encodings, discard samples with drop reasons, host/application/vendor structures, unknown \
    sample and record types, sampled headers of 802.1Q, QinQ, MPLS, ARP, TCP, UDP/DNS, ICMP, \
    ICMPv6, GRE, VXLAN and raw IPv4/IPv6";

const START_SECS: u64 = 1_700_000_000;
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn a4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

fn a6(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last)
}

fn header(protocol: u32, packet: &[u8]) -> FlowRecord<'_> {
    FlowRecord::SampledHeader(SampledHeader {
        protocol,
        frame_length: packet.len() as u32 + if protocol == 1 { 4 } else { 0 },
        stripped: if protocol == 1 { 4 } else { 0 },
        header: &packet[..packet.len().min(128)],
    })
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    ethernet(mac(0x0a00_0002), mac(0x0a00_0001), ethertype, payload)
}

fn flow_info(sequence: u32, if_index: u32, input: Interface, output: Interface) -> FlowSampleInfo {
    FlowSampleInfo {
        expanded: false,
        sequence_number: sequence,
        source_id: DataSource {
            class: 0,
            index: if_index,
        },
        sampling_rate: 1024,
        sample_pool: 1024 * sequence + 17,
        drops: 0,
        input,
        output,
    }
}

fn datagram(agent: Address, sub_agent_id: u32, sequence: u32) -> Dgram {
    Dgram::new(DatagramHeader {
        agent,
        sub_agent_id,
        sequence_number: sequence,
        uptime_ms: 3_600_000 + sequence * 1000,
    })
}

pub(crate) fn capture() -> Capture {
    let mut capture = Capture::default();
    let collector4 = SocketAddr::from(([192, 0, 2, 254], rtflow_sflow::SFLOW_PORT));
    let collector6 = SocketAddr::from((
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe),
        rtflow_sflow::SFLOW_PORT,
    ));
    let router = SocketAddr::from((ROUTER, 49_152));
    let datagrams: [(SocketAddr, SocketAddr, Dgram); 7] = [
        (router, collector4, switch_records()),
        (router, collector4, sampled_data_records()),
        (router, collector4, header_stacks()),
        (
            SocketAddr::from((ROUTER6, 49_153)),
            collector6,
            expanded_samples(),
        ),
        (router, collector4, discards()),
        (SocketAddr::from((HOST, 49_154)), collector4, host_records()),
        (router, collector4, vendor_and_unknown()),
    ];
    for (i, (src, dst, d)) in datagrams.into_iter().enumerate() {
        capture.push_sflow(
            (START_SECS + i as u64, 250_000 * (i as u32 % 4)),
            src,
            dst,
            d,
        );
    }
    capture
}

/// A routed, switched and BGP-annotated TCP SYN on VLAN 20.
fn switch_records() -> Dgram {
    let mut d = datagram(Address::V4(ROUTER), 0, 1);
    let syn = tcp(40_000, 443, 1, TCP_SYN, &[]);
    let ip = ipv4(a4(10), a4(20), PROTO_TCP, 63, 1, &syn);
    let frame = eth(ETHERTYPE_VLAN, &vlan(3, 20, ETHERTYPE_IPV4, &ip));
    let path = AsPath::segments_to_bytes(&[(2, &[64_500, 64_501, 64_502]), (1, &[64_510, 64_511])]);
    let communities = U32List::to_be_bytes(&[0xfde8_0001, 0xfde8_0064]);
    d.flow(
        &flow_info(1, 3, Interface::index(3), Interface::index(4)),
        &[
            header(1, &frame),
            FlowRecord::ExtendedSwitch(ExtendedSwitch {
                src_vlan: 20,
                src_priority: 3,
                dst_vlan: 30,
                dst_priority: 0,
            }),
            FlowRecord::ExtendedRouter(ExtendedRouter {
                next_hop: Address::V4(a4(1)),
                src_mask_len: 24,
                dst_mask_len: 16,
            }),
            FlowRecord::ExtendedGateway(ExtendedGateway {
                next_hop: Address::V4(a4(2)),
                as_number: 64_496,
                src_as: 64_497,
                src_peer_as: 64_498,
                dst_as_path: AsPath::from_segments_bytes(2, &path).unwrap_or_default(),
                communities: U32List::from_be_bytes(&communities),
                local_pref: 100,
            }),
        ],
    );
    // A second sample: IPv6 next hops, user/URL/NAT/MPLS annotations.
    let in_stack = U32List::to_be_bytes(&[16, 17]);
    let out_stack = U32List::to_be_bytes(&[18]);
    let vlan_stack = U32List::to_be_bytes(&[100, 200]);
    let udp_dns = udp(53_000, 53, &dns_query(0x1234, "www.example.com", 28));
    let ip6 = ipv6(a6(1), a6(2), PROTO_UDP, &udp_dns);
    d.flow(
        &flow_info(2, 3, Interface::index(3), Interface::index(5)),
        &[
            header(1, &eth(ETHERTYPE_IPV6, &ip6)),
            FlowRecord::ExtendedRouter(ExtendedRouter {
                next_hop: Address::V6(a6(0xfe)),
                src_mask_len: 64,
                dst_mask_len: 48,
            }),
            FlowRecord::ExtendedUser(ExtendedUser {
                src_charset: 106,
                src_user: b"alice",
                dst_charset: 106,
                dst_user: b"bob",
            }),
            FlowRecord::ExtendedUrl(ExtendedUrl {
                direction: 1,
                url: b"/index.html",
                host: b"www.example.com",
            }),
            FlowRecord::ExtendedMpls(ExtendedMpls {
                next_hop: Address::V4(a4(3)),
                in_stack: U32List::from_be_bytes(&in_stack),
                out_stack: U32List::from_be_bytes(&out_stack),
            }),
            FlowRecord::ExtendedNat(ExtendedNat {
                src: Address::V4(Ipv4Addr::new(198, 51, 100, 7)),
                dst: Address::V4(a4(20)),
            }),
            FlowRecord::ExtendedNatPort(ExtendedNatPort {
                src_port: 61_000,
                dst_port: 53,
            }),
            FlowRecord::ExtendedVlanTunnel(ExtendedVlanTunnel {
                stack: U32List::from_be_bytes(&vlan_stack),
            }),
        ],
    );
    d
}

/// The decoded-packet flow records (0:2, 0:3, 0:4) as switches that do not copy headers send them.
fn sampled_data_records() -> Dgram {
    let mut d = datagram(Address::V4(ROUTER), 0, 2);
    d.flow(
        &flow_info(3, 6, Interface::index(6), Interface::index(7)),
        &[
            FlowRecord::SampledEthernet(SampledEthernet {
                length: 1518,
                src_mac: MacAddr(mac(0x0a00_0010)),
                dst_mac: MacAddr(mac(0x0a00_0011)),
                eth_type: u32::from(ETHERTYPE_IPV4),
            }),
            FlowRecord::SampledIpv4(SampledIpv4 {
                length: 1500,
                protocol: u32::from(PROTO_TCP),
                src_ip: a4(30),
                dst_ip: a4(31),
                src_port: 33_000,
                dst_port: 80,
                tcp_flags: u32::from(TCP_ACK),
                tos: 0x28,
            }),
        ],
    );
    d.flow(
        &flow_info(4, 6, Interface::index(6), Interface::index(8)),
        &[FlowRecord::SampledIpv6(SampledIpv6 {
            length: 1280,
            protocol: u32::from(PROTO_UDP),
            src_ip: a6(30),
            dst_ip: a6(31),
            src_port: 4500,
            dst_port: 4500,
            tcp_flags: 0,
            priority: 5,
        })],
    );
    d
}

/// Sampled headers of many protocol stacks, one flow sample each.
fn header_stacks() -> Dgram {
    let mut d = datagram(Address::V4(ROUTER), 0, 3);
    let tcp_ack = |id| {
        ipv4(
            a4(40),
            a4(41),
            PROTO_TCP,
            64,
            id,
            &tcp(50_000, 22, u32::from(id), TCP_ACK, &[0x55; 40]),
        )
    };
    let inner = ethernet(
        mac(0x0b00_0001),
        mac(0x0b00_0002),
        ETHERTYPE_IPV4,
        &tcp_ack(2),
    );
    let vxlan_frame = eth(
        ETHERTYPE_IPV4,
        &ipv4(
            a4(50),
            a4(51),
            PROTO_UDP,
            64,
            3,
            &udp(49_999, 4789, &vxlan(5001, &inner)),
        ),
    );
    let qinq = eth(
        ETHERTYPE_QINQ,
        &vlan(
            0,
            100,
            ETHERTYPE_VLAN,
            &vlan(5, 200, ETHERTYPE_IPV4, &tcp_ack(1)),
        ),
    );
    let icmp = ipv4(
        a4(60),
        a4(61),
        PROTO_ICMP,
        64,
        4,
        &echo_request(8, 7, 1, &[0xab; 32]),
    );
    let gre_frame = eth(
        ETHERTYPE_IPV4,
        &ipv4(
            a4(70),
            a4(71),
            PROTO_GRE,
            64,
            5,
            &gre(ETHERTYPE_IPV4, &icmp),
        ),
    );
    let mpls_frame = eth(
        ETHERTYPE_MPLS,
        &mpls(
            1000,
            64,
            &ipv4(a4(80), a4(81), PROTO_UDP, 64, 6, &udp(1234, 5678, &[1; 16])),
        ),
    );
    let arp = eth(
        ETHERTYPE_ARP,
        &arp_request(mac(0x0a00_0001), a4(90), a4(91)),
    );
    let icmp6 = ipv6(
        a6(60),
        a6(61),
        PROTO_ICMPV6,
        &echo_request(128, 9, 2, &[0xcd; 24]),
    );
    let tcp6 = ipv6(
        a6(70),
        a6(71),
        PROTO_TCP,
        &tcp(443, 50_123, 77, TCP_ACK, &[0; 64]),
    );
    let packets: [(u32, Vec<u8>); 10] = [
        (1, qinq),
        (1, vxlan_frame),
        (1, eth(ETHERTYPE_IPV4, &icmp)),
        (1, gre_frame),
        (1, mpls_frame),
        (1, arp),
        (1, eth(ETHERTYPE_IPV6, &icmp6)),
        (1, eth(ETHERTYPE_IPV6, &tcp6)),
        (11, tcp_ack(8)),   // raw IPv4 header, no link layer
        (12, tcp6.clone()), // raw IPv6 header
    ];
    for (i, (protocol, packet)) in packets.iter().enumerate() {
        let seq = 10 + i as u32;
        d.flow(
            &flow_info(seq, 9, Interface::index(9), Interface::index(10)),
            &[header(*protocol, packet)],
        );
    }
    d
}

/// An IPv6 agent's expanded samples: 32-bit data source and interface values.
fn expanded_samples() -> Dgram {
    let mut d = datagram(Address::V6(ROUTER6), 3, 4);
    let frame = eth(
        ETHERTYPE_IPV4,
        &ipv4(
            a4(100),
            a4(101),
            PROTO_UDP,
            60,
            9,
            &udp(5353, 5353, &[0; 48]),
        ),
    );
    let big_index = 20_000_000;
    d.flow(
        &FlowSampleInfo {
            expanded: true,
            sequence_number: 1,
            source_id: DataSource {
                class: 0,
                index: big_index,
            },
            sampling_rate: 4096,
            sample_pool: 409_600,
            drops: 2,
            input: Interface::index(big_index),
            output: Interface {
                format: 2,
                value: 3,
            },
        },
        &[header(1, &frame)],
    );
    d.counter(
        &CounterSampleInfo {
            expanded: true,
            sequence_number: 1,
            source_id: DataSource {
                class: 0,
                index: big_index,
            },
        },
        &[
            CounterRecord::GenericInterface(GenericInterfaceCounters {
                if_index: big_index,
                if_type: 6,
                if_speed: 100_000_000_000,
                if_direction: 1,
                if_status: 3,
                if_in_octets: 123_456_789_012,
                if_in_ucast_pkts: 98_765_432,
                if_in_multicast_pkts: 1234,
                if_in_broadcast_pkts: 56,
                if_in_discards: 7,
                if_in_errors: 1,
                if_in_unknown_protos: 2,
                if_out_octets: 98_765_432_109,
                if_out_ucast_pkts: 87_654_321,
                if_out_multicast_pkts: 4321,
                if_out_broadcast_pkts: 65,
                if_out_discards: 8,
                if_out_errors: 0,
                if_promiscuous_mode: 0,
            }),
            CounterRecord::Ethernet(EthernetCounters {
                dot3_stats_alignment_errors: 1,
                dot3_stats_fcs_errors: 2,
                dot3_stats_single_collision_frames: 0,
                dot3_stats_multiple_collision_frames: 0,
                dot3_stats_sqe_test_errors: 0,
                dot3_stats_deferred_transmissions: 0,
                dot3_stats_late_collisions: 0,
                dot3_stats_excessive_collisions: 0,
                dot3_stats_internal_mac_transmit_errors: 3,
                dot3_stats_carrier_sense_errors: 0,
                dot3_stats_frame_too_longs: 4,
                dot3_stats_internal_mac_receive_errors: 0,
                dot3_stats_symbol_errors: 5,
            }),
            CounterRecord::PortName(PortName {
                name: b"Ethernet1/1",
            }),
        ],
    );
    // Compact samples with the other interface encodings: discarded (ACL), multiple with an
    // unknown count, the local (internal) interface, an unknown output interface.
    let local = Interface::index(0x3fff_ffff);
    for (seq, (input, output)) in [
        (
            Interface::index(2),
            Interface {
                format: 1,
                value: 258,
            },
        ),
        (
            Interface::index(2),
            Interface {
                format: 2,
                value: 0,
            },
        ),
        (local, Interface::index(2)),
        (Interface::index(2), Interface::index(0)),
    ]
    .into_iter()
    .enumerate()
    {
        d.flow(
            &flow_info(20 + seq as u32, 2, input, output),
            &[header(1, &frame)],
        );
    }
    d
}

/// Drop notifications (0:5) with the drop-reason records.
fn discards() -> Dgram {
    let mut d = datagram(Address::V4(ROUTER), 0, 5);
    let icmp6 = eth(
        ETHERTYPE_IPV6,
        &ipv6(
            a6(80),
            a6(81),
            PROTO_ICMPV6,
            &echo_request(128, 1, 1, &[0; 16]),
        ),
    );
    let syn = eth(
        ETHERTYPE_IPV4,
        &ipv4(
            a4(110),
            a4(111),
            PROTO_TCP,
            64,
            10,
            &tcp(1025, 23, 9, TCP_SYN, &[]),
        ),
    );
    d.discard(
        &DiscardSampleInfo {
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 4 },
            drops: 0,
            input_if_index: 4,
            output_if_index: 0,
            reason: 258,
        },
        &[
            header(1, &syn),
            FlowRecord::ExtendedEgressQueue(ExtendedEgressQueue { queue: 42 }),
            FlowRecord::ExtendedHwTrap(ExtendedHwTrap {
                group: b"acl_drops",
                trap: b"ingress_flow_action_drop",
            }),
        ],
    );
    d.discard(
        &DiscardSampleInfo {
            sequence_number: 2,
            source_id: DataSource { class: 0, index: 4 },
            drops: 1,
            input_if_index: 4,
            output_if_index: 5,
            reason: 1,
        },
        &[
            header(1, &icmp6),
            FlowRecord::ExtendedFunction(ExtendedFunction {
                symbol: b"ip6_forward",
            }),
            FlowRecord::ExtendedLinuxDropReason(ExtendedLinuxDropReason {
                reason: b"NO_ROUTE",
            }),
        ],
    );
    d
}

/// A Linux host as hsflowd reports it: host counters and application (socket, HTTP) samples.
fn host_records() -> Dgram {
    let mut d = datagram(Address::V4(HOST), 0, 6);
    let macs = MacList::to_raw(&[MacAddr(mac(0x0a00_0020)), MacAddr(mac(0x0a00_0021))]);
    let one_mac = MacList::to_raw(&[MacAddr(mac(0x0a00_0022))]);
    let adapters = [
        Adapter {
            if_index: 2,
            macs: MacList::from_raw(&macs),
        },
        Adapter {
            if_index: 3,
            macs: MacList::from_raw(&one_mac),
        },
    ];
    let raw_adapters = AdapterList::to_raw(&adapters);
    let adapter_list = AdapterList::from_raw(2, &raw_adapters).unwrap_or_default();
    d.counter(
        &CounterSampleInfo {
            expanded: false,
            sequence_number: 1,
            source_id: DataSource { class: 2, index: 1 },
        },
        &[
            CounterRecord::HostDescription(HostDescription {
                hostname: b"web1.example.com",
                uuid: *b"\x8e\x4f\x2a\x10\x55\x66\x47\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
                machine_type: 3,
                os_name: 2,
                os_release: b"6.1.0-18-amd64",
            }),
            CounterRecord::HostAdapters(HostAdapters {
                adapters: adapter_list,
            }),
            CounterRecord::HostCpu(HostCpu {
                load_one: 0.5,
                load_five: 0.75,
                load_fifteen: 1.25,
                proc_run: 2,
                proc_total: 312,
                cpu_num: 8,
                cpu_speed_mhz: 3000,
                uptime_s: 864_000,
                cpu_user_ms: 1_000_000,
                cpu_nice_ms: 2000,
                cpu_system_ms: 300_000,
                cpu_idle_ms: 60_000_000,
                cpu_wio_ms: 4000,
                cpu_intr_ms: 500,
                cpu_sintr_ms: 7000,
                interrupts: 90_000_000,
                contexts: 150_000_000,
                extra: Some(HostCpuExtra {
                    cpu_steal_ms: 10,
                    cpu_guest_ms: 0,
                    cpu_guest_nice_ms: 0,
                }),
            }),
            CounterRecord::HostMemory(HostMemory {
                mem_total: 16 << 30,
                mem_free: 6 << 30,
                mem_shared: 100 << 20,
                mem_buffers: 300 << 20,
                mem_cached: 4 << 30,
                swap_total: 2 << 30,
                swap_free: 2 << 30,
                page_in: 1000,
                page_out: 2000,
                swap_in: 0,
                swap_out: 0,
            }),
            CounterRecord::HostDiskIo(HostDiskIo {
                disk_total: 500 << 30,
                disk_free: 200 << 30,
                part_max_used: 6000,
                reads: 120_000,
                bytes_read: 9 << 30,
                read_time_ms: 40_000,
                writes: 340_000,
                bytes_written: 20 << 30,
                write_time_ms: 90_000,
            }),
            CounterRecord::HostNetIo(HostNetIo {
                bytes_in: 70 << 30,
                pkts_in: 80_000_000,
                errs_in: 0,
                drops_in: 12,
                bytes_out: 90 << 30,
                pkts_out: 85_000_000,
                errs_out: 0,
                drops_out: 0,
            }),
            CounterRecord::Mib2Udp(Mib2UdpGroup {
                udp_in_datagrams: 5000,
                udp_no_ports: 12,
                udp_in_errors: 0,
                udp_out_datagrams: 4800,
                udp_rcvbuf_errors: 0,
                udp_sndbuf_errors: 0,
                udp_in_csum_errors: 0,
            }),
            CounterRecord::VirtNode(VirtNode {
                mhz: 3000,
                cpus: 8,
                memory: 16 << 30,
                memory_free: 6 << 30,
                num_domains: 2,
            }),
            CounterRecord::VirtCpu(VirtCpu {
                state: 1,
                cpu_time_ms: 123_456,
                nr_virt_cpu: 2,
            }),
        ],
    );
    // An HTTP request seen by mod-sflow, with its socket, and an IPv6 socket with TCP info.
    let app_source = DataSource {
        class: 3,
        index: 80,
    };
    let app_info = |sequence| FlowSampleInfo {
        expanded: false,
        sequence_number: sequence,
        source_id: app_source,
        sampling_rate: 10,
        sample_pool: 10 * sequence,
        drops: 0,
        input: Interface::index(0),
        output: Interface::index(0x3fff_ffff),
    };
    d.flow(
        &app_info(1),
        &[
            FlowRecord::Http2(HttpRequest {
                method: 2,
                protocol: 1001,
                uri: b"/api/v1/items?id=7",
                host: b"web1.example.com",
                referrer: b"https://example.com/",
                user_agent: b"curl/7.88.1",
                xff: b"203.0.113.9",
                auth_user: b"alice",
                mime_type: b"application/json",
                req_bytes: 0,
                resp_bytes: 5120,
                duration_us: 2500,
                status: 200,
            }),
            FlowRecord::ExtendedSocketIpv4(ExtendedSocketIpv4 {
                protocol: u32::from(PROTO_TCP),
                local_ip: HOST,
                remote_ip: a4(120),
                local_port: 80,
                remote_port: 51_234,
            }),
        ],
    );
    d.flow(
        &app_info(2),
        &[
            FlowRecord::Http(HttpRequestV1 {
                method: 3,
                protocol: 1001,
                uri: b"/login",
                host: b"web1.example.com",
                referrer: b"",
                user_agent: b"Mozilla/5.0",
                auth_user: b"",
                mime_type: b"text/html",
                resp_bytes: 812,
                duration_us: 900,
                status: 302,
            }),
            FlowRecord::ExtendedSocketIpv6(ExtendedSocketIpv6 {
                protocol: u32::from(PROTO_TCP),
                local_ip: a6(2),
                remote_ip: a6(120),
                local_port: 80,
                remote_port: 51_235,
            }),
            FlowRecord::ExtendedTcpInfo(ExtendedTcpInfo {
                direction: 1,
                snd_mss: 1448,
                rcv_mss: 1448,
                unacked: 0,
                lost: 0,
                retrans: 1,
                pmtu: 1500,
                rtt_us: 320,
                rtt_var_us: 40,
                snd_cwnd: 10,
                reordering: 3,
                min_rtt_us: 280,
            }),
        ],
    );
    d
}

/// Vendor structures, and types this decoder does not know (kept opaque, never an error).
fn vendor_and_unknown() -> Dgram {
    let mut d = datagram(Address::V4(ROUTER), 1, 7);
    let lanes = SfpLanes::to_raw(&[SfpLane {
        lane_index: 1,
        tx_bias_current: 6000,
        tx_power: 700,
        tx_power_min: 100,
        tx_power_max: 2000,
        tx_wavelength: 1310,
        rx_power: 650,
        rx_power_min: 100,
        rx_power_max: 2000,
        rx_wavelength: 1310,
    }]);
    d.counter(
        &CounterSampleInfo {
            expanded: false,
            sequence_number: 9,
            source_id: DataSource { class: 0, index: 3 },
        },
        &[
            CounterRecord::Vlan(VlanCounters {
                vlan_id: 20,
                octets: 1_000_000,
                ucast_pkts: 900,
                multicast_pkts: 10,
                broadcast_pkts: 2,
                discards: 1,
            }),
            CounterRecord::Processor(ProcessorCounters {
                five_sec_cpu: 12,
                one_min_cpu: 10,
                five_min_cpu: 9,
                total_memory: 4 << 30,
                free_memory: 1 << 30,
            }),
            CounterRecord::Sfp(SfpCounters {
                module_id: 1,
                module_total_lanes: 1,
                module_supply_voltage_mv: 3300,
                module_temperature_millic: 41_500,
                lanes: SfpLanes::from_raw(&lanes),
            }),
            CounterRecord::BroadcomTables(BroadcomTables {
                host_entries: 10,
                host_entries_max: 8192,
                ipv4_entries: 120,
                ipv4_entries_max: 16_384,
                mac_entries: 300,
                mac_entries_max: 32_768,
                ..Default::default()
            }),
            CounterRecord::NvidiaGpu(NvidiaGpuCounters {
                device_count: 1,
                processes: 3,
                gpu_time_ms: 50_000,
                mem_time_ms: 20_000,
                mem_total: 24 << 30,
                mem_free: 10 << 30,
                ecc_errors: 0,
                energy_mj: 9_000_000,
                temperature_c: 61,
                fan_speed_percent: 40,
            }),
            CounterRecord::Unknown(Opaque {
                tag: Tag {
                    enterprise: 9999,
                    format: 1,
                },
                data: &[0, 0, 0, 1, 0, 0, 0, 2],
            }),
        ],
    );
    let frame = eth(
        ETHERTYPE_IPV4,
        &ipv4(
            a4(130),
            a4(131),
            PROTO_UDP,
            64,
            11,
            &udp(123, 123, &[0x1b; 48]),
        ),
    );
    d.flow(
        &flow_info(30, 3, Interface::index(3), Interface::index(4)),
        &[
            header(1, &frame),
            FlowRecord::Unknown(Opaque {
                tag: Tag {
                    enterprise: 9999,
                    format: 2,
                },
                data: b"vendor!!",
            }),
        ],
    );
    d.other(&Sample::Unknown(Opaque {
        tag: Tag {
            enterprise: 4300,
            format: 10,
        },
        data: &[0, 0, 0, 42],
    }));
    d
}
