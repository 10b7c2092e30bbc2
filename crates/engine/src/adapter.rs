//! sFlow v5 datagram bytes → engine inputs, via `rtflow_sflow` (structures) and `rtflow_packet` (headers).
//! Counter structures are flattened to sFlow-RT metric names (spec §4). Never panics on any input.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rtflow_sflow::{
    Address, BroadcomTables, CounterRecord, Datagram, FlowRecord, InterfaceKind, Sample,
};

use crate::sample::{
    CounterSample, CounterValue, DataSource, DatagramInfo, FlowSample, GatewayInfo, Port,
    QueueInfo, RouterInfo, SwitchInfo, TcpInfo,
};

/// What one datagram contributed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// The datagram's agent, when its header decoded.
    pub agent: Option<IpAddr>,
    /// Flow samples ingested.
    pub flow_samples: u32,
    /// Counter samples ingested.
    pub counter_samples: u32,
    /// Discarded-packet (drop notification) samples ingested.
    pub discard_samples: u32,
    /// Samples or records of unknown type (skipped).
    pub skipped: u32,
    /// Records of a known type that failed to decode inside otherwise valid samples (skipped; the samples
    /// were used without them). Counted in `/analyzer/json` and per agent.
    pub record_decode_errors: u32,
}

/// A datagram (or part of it) that could not be decoded. Samples decoded before the error were ingested.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// The datagram stops decoding part-way (or at once).
    #[error("datagram from {source_addr}: {error}")]
    Decode {
        /// Where it came from.
        source_addr: SocketAddr,
        /// The agent, when the datagram header was readable.
        agent: Option<IpAddr>,
        /// Boxed to keep `Result<IngestSummary, IngestError>` small on the hot path. Shown in the
        /// message, so not also a `source()`.
        error: Box<rtflow_sflow::DecodeError>,
    },
    /// The datagram's agent address has type 0 (unknown): it names no agent to account it to.
    #[error("datagram from {source_addr}: agent address is unknown (address type 0)")]
    UnknownAgentAddress {
        /// Where it came from.
        source_addr: SocketAddr,
    },
}

/// One sample of a [`DecodedDatagram`], in datagram order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodedSample {
    /// A flow or discard sample: an index into [`DecodedDatagram::flows`].
    Flow(usize),
    /// A counter sample: an index into [`DecodedDatagram::counters`].
    Counter(usize),
    /// A sample of an unknown type (skipped).
    Unknown,
}

/// One sFlow datagram decoded into engine inputs. Decoding reads no engine state, so it runs outside the
/// engine lock (see `ingest.rs`); the buffers are reused from datagram to datagram.
#[derive(Debug)]
pub struct DecodedDatagram {
    /// The UDP source, IPv4-mapped IPv6 addresses shown as IPv4.
    pub(crate) source: SocketAddr,
    pub(crate) size: usize,
    /// The header, when it decoded and named a known kind of agent address.
    pub(crate) info: Option<DatagramInfo>,
    pub(crate) samples: Vec<DecodedSample>,
    pub(crate) flows: Vec<FlowSample>,
    /// Counter samples; only the first `counter_count` belong to this datagram (the rest keep their
    /// allocations for the next one).
    counters: Vec<CounterSample>,
    counter_count: usize,
    pub(crate) summary: IngestSummary,
    /// Why decoding stopped early; the samples before the error were decoded.
    pub(crate) error: Option<IngestError>,
    /// Whether the header decoded and the samples are still to be decoded (`decode_samples`).
    samples_pending: bool,
}

impl Default for DecodedDatagram {
    fn default() -> Self {
        Self {
            source: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0),
            size: 0,
            info: None,
            samples: Vec::new(),
            flows: Vec::new(),
            counters: Vec::new(),
            counter_count: 0,
            summary: IngestSummary::default(),
            error: None,
            samples_pending: false,
        }
    }
}

impl DecodedDatagram {
    /// The agent that sent the datagram, when its header decoded.
    pub fn agent(&self) -> Option<IpAddr> {
        self.info.map(|info| info.agent)
    }

    pub(crate) fn counters(&self) -> &[CounterSample] {
        self.counters.get(..self.counter_count).unwrap_or_default()
    }

    /// A cleared counter sample to fill, reusing an earlier datagram's allocation when there is one.
    fn next_counter_sample(&mut self, source: DataSource, sequence: u32) -> usize {
        let index = self.counter_count;
        if index == self.counters.len() {
            self.counters.push(CounterSample {
                source,
                sequence,
                values: Vec::with_capacity(32),
                adapter_macs: Vec::new(),
            });
        } else if let Some(sample) = self.counters.get_mut(index) {
            sample.source = source;
            sample.sequence = sequence;
            sample.values.clear();
            sample.adapter_macs.clear();
        }
        self.counter_count += 1;
        index
    }

    /// Decodes the header of `bytes`, received from `source` (agent, sequence), and checks the framing of its
    /// samples without decoding them (a framing error is kept in `error`); replaces what this held. Never
    /// panics on any input, nor does [`decode_samples`](Self::decode_samples).
    /// [`decode_samples`](Self::decode_samples) completes it, for a datagram that is to be analysed.
    pub(crate) fn decode_header(&mut self, source: SocketAddr, bytes: &[u8]) {
        // IPv4 senders on a dual-stack socket arrive as ::ffff:a.b.c.d; agents and logs show them as IPv4.
        let source = SocketAddr::new(source.ip().to_canonical(), source.port());
        self.source = source;
        self.size = bytes.len();
        self.info = None;
        self.samples_pending = false;
        self.samples.clear();
        self.flows.clear();
        self.counter_count = 0;
        self.summary = IngestSummary::default();
        self.error = None;
        let datagram = match Datagram::decode(bytes) {
            Ok(d) => d,
            Err(error) => {
                self.error = Some(IngestError::Decode {
                    source_addr: source,
                    agent: None,
                    error: Box::new(error),
                });
                return;
            }
        };
        let agent = match datagram.header.agent {
            Address::V4(a) => IpAddr::V4(a),
            Address::V6(a) => IpAddr::V6(a).to_canonical(),
            Address::Unknown => {
                self.error = Some(IngestError::UnknownAgentAddress {
                    source_addr: source,
                });
                return;
            }
        };
        self.info = Some(DatagramInfo {
            agent,
            sub_agent_id: datagram.header.sub_agent_id,
            sequence: datagram.header.sequence_number,
            uptime_ms: datagram.header.uptime_ms,
            source,
            size: bytes.len(),
        });
        self.summary.agent = Some(agent);
        self.samples_pending = true;
        if let Err(error) = datagram.samples().check_framing() {
            self.error = Some(IngestError::Decode {
                source_addr: source,
                agent: Some(agent),
                error: Box::new(error),
            });
        }
    }

    /// Decodes the samples of the datagram whose header [`decode_header`](Self::decode_header) decoded from
    /// the same `bytes` (once; nothing to do when the header did not decode).
    pub(crate) fn decode_samples(&mut self, bytes: &[u8]) {
        if !std::mem::take(&mut self.samples_pending) {
            return;
        }
        let (Some(agent), Ok(datagram)) = (self.summary.agent, Datagram::decode(bytes)) else {
            return;
        };
        let source = self.source;
        // The full decode reports the first error itself (a framing error, or an earlier one in a sample).
        self.error = None;
        for sample in datagram.samples() {
            let sample = match sample {
                Ok(s) => s,
                Err(error) => {
                    self.error = Some(IngestError::Decode {
                        source_addr: source,
                        agent: Some(agent),
                        error: Box::new(error),
                    });
                    return;
                }
            };
            match sample {
                Sample::Flow(flow) => {
                    let mut out = FlowSample {
                        source: DataSource::new(
                            flow.info.source_id.class,
                            flow.info.source_id.index,
                        ),
                        sequence: flow.info.sequence_number,
                        sampling_rate: flow.info.sampling_rate,
                        sample_pool: flow.info.sample_pool,
                        drops: flow.info.drops,
                        input: port(flow.info.input.kind(), true),
                        output: port(flow.info.output.kind(), false),
                        ..FlowSample::default()
                    };
                    self.summary.record_decode_errors +=
                        apply_flow_records(&mut out, flow.records());
                    self.samples.push(DecodedSample::Flow(self.flows.len()));
                    self.flows.push(out);
                    self.summary.flow_samples += 1;
                }
                Sample::Discard(discard) => {
                    let index = |i: u32| {
                        if i == 0 {
                            Port::Unknown
                        } else {
                            Port::Index(i)
                        }
                    };
                    let mut out = FlowSample {
                        source: DataSource::new(
                            discard.info.source_id.class,
                            discard.info.source_id.index,
                        ),
                        sequence: discard.info.sequence_number,
                        sampling_rate: 1,
                        drops: discard.info.drops,
                        input: index(discard.info.input_if_index),
                        output: Port::Discarded(discard.info.reason),
                        dropped: Some(discard.info.reason),
                        ..FlowSample::default()
                    };
                    self.summary.record_decode_errors +=
                        apply_flow_records(&mut out, discard.records());
                    self.samples.push(DecodedSample::Flow(self.flows.len()));
                    self.flows.push(out);
                    self.summary.discard_samples += 1;
                }
                Sample::Counter(counters) => {
                    let index = self.next_counter_sample(
                        DataSource::new(
                            counters.info.source_id.class,
                            counters.info.source_id.index,
                        ),
                        counters.info.sequence_number,
                    );
                    let mut skipped = 0;
                    let mut errors = 0;
                    if let Some(out) = self.counters.get_mut(index) {
                        for record in counters.records() {
                            match record {
                                Ok(CounterRecord::HostAdapters(host)) => {
                                    out.adapter_macs.extend(
                                        host.adapters.iter().flat_map(|adapter| {
                                            adapter.macs.iter().map(|mac| mac.0)
                                        }),
                                    );
                                }
                                Ok(record) => {
                                    if !flatten_counters(&record, &mut out.values) {
                                        skipped += 1;
                                    }
                                }
                                Err(_) => errors += 1,
                            }
                        }
                    }
                    self.summary.skipped += skipped;
                    self.summary.record_decode_errors += errors;
                    self.samples.push(DecodedSample::Counter(index));
                    self.summary.counter_samples += 1;
                }
                Sample::Unknown(_) => {
                    self.samples.push(DecodedSample::Unknown);
                    self.summary.skipped += 1;
                }
            }
        }
    }
}

fn port(kind: InterfaceKind, is_input: bool) -> Port {
    match kind {
        InterfaceKind::Index(0x3FFF_FFFF) if is_input => Port::Unknown,
        InterfaceKind::Index(0x3FFF_FFFF) => Port::Internal,
        InterfaceKind::Index(0) => Port::Unknown,
        InterfaceKind::Index(i) => Port::Index(i),
        InterfaceKind::Discarded(r) => Port::Discarded(r),
        InterfaceKind::Multiple(n) => Port::Multiple(n),
        _ => Port::Unknown,
    }
}

fn address(a: Address) -> Option<IpAddr> {
    a.ip()
}

/// Applies the flow records a flow key can use; returns how many records were skipped as undecodable.
fn apply_flow_records<'a>(
    out: &mut FlowSample,
    records: impl Iterator<Item = Result<FlowRecord<'a>, rtflow_sflow::DecodeError>>,
) -> u32 {
    let mut skipped = 0;
    for record in records {
        let Ok(record) = record else {
            skipped += 1;
            continue;
        };
        match record {
            FlowRecord::SampledHeader(h) => {
                out.frame_length = h.frame_length;
                out.stripped = h.stripped;
                rtflow_packet::decode_into(h.protocol, h.header, &mut out.packet);
            }
            FlowRecord::ExtendedSwitch(s) => {
                out.switch = Some(SwitchInfo {
                    src_vlan: s.src_vlan,
                    src_priority: s.src_priority,
                    dst_vlan: s.dst_vlan,
                    dst_priority: s.dst_priority,
                });
            }
            FlowRecord::ExtendedRouter(r) => {
                if let Some(next_hop) = address(r.next_hop) {
                    out.router = Some(RouterInfo {
                        next_hop,
                        src_mask_len: r.src_mask_len,
                        dst_mask_len: r.dst_mask_len,
                    });
                }
            }
            FlowRecord::ExtendedGateway(g) => {
                let path: Vec<String> = g.dst_as_path.asns().map(|a| a.to_string()).collect();
                let communities: Vec<String> = g
                    .communities
                    .iter()
                    .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                    .collect();
                out.gateway = Some(GatewayInfo {
                    next_hop: address(g.next_hop).unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    as_number: g.as_number,
                    src_as: g.src_as,
                    src_peer_as: g.src_peer_as,
                    dst_peer_as: g.dst_peer_as(),
                    dst_as: g.dst_as(),
                    dst_as_path: Arc::from(path.join("-")),
                    communities: Arc::from(communities.join("-")),
                    local_pref: g.local_pref,
                });
            }
            FlowRecord::ExtendedEgressQueue(q) => {
                out.queue.get_or_insert_with(QueueInfo::default).queue_index = Some(q.queue);
            }
            FlowRecord::ExtendedQueueDepth(q) => {
                out.queue
                    .get_or_insert_with(QueueInfo::default)
                    .queue_depth_bytes = Some(q.depth_bytes);
            }
            FlowRecord::ExtendedTransitDelay(d) => {
                out.queue
                    .get_or_insert_with(QueueInfo::default)
                    .transit_delay_ns = Some(d.delay_ns);
            }
            FlowRecord::ExtendedTcpInfo(t) => {
                out.tcp_info = Some(TcpInfo {
                    rtt_us: t.rtt_us,
                    rtt_sdev_us: t.rtt_var_us,
                    rtt_wait_us: t.min_rtt_us,
                    unacked: t.unacked,
                });
            }
            _ => {}
        }
    }
    skipped
}

type Values = Vec<(&'static str, CounterValue)>;

fn c32(values: &mut Values, name: &'static str, v: u32) {
    values.push((name, CounterValue::Counter32(v)));
}

fn c64(values: &mut Values, name: &'static str, v: u64) {
    values.push((name, CounterValue::Counter64(v)));
}

fn gauge(values: &mut Values, name: &'static str, v: f64) {
    values.push((name, CounterValue::Gauge(v)));
}

fn text(values: &mut Values, name: &'static str, v: &str) {
    values.push((name, CounterValue::Text(Arc::from(v))));
}

fn bytes_text(values: &mut Values, name: &'static str, v: &[u8]) {
    let s = String::from_utf8_lossy(v);
    let s = s.trim_end_matches('\0');
    if !s.is_empty() {
        text(values, name, s);
    }
}

/// A 32-bit float gauge as its shortest decimal form (0.6, not 0.6000000238418579), as sFlow-RT writes it.
fn f32_gauge(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// The raw Broadcom table sizes (sFlow-RT exposes them beside the utilizations).
fn broadcom_tables(values: &mut Values, b: &BroadcomTables) {
    for (name, v) in [
        ("bcm_host_entries", b.host_entries),
        ("bcm_host_entries_max", b.host_entries_max),
        ("bcm_ipv4_entries", b.ipv4_entries),
        ("bcm_ipv4_entries_max", b.ipv4_entries_max),
        ("bcm_ipv6_entries", b.ipv6_entries),
        ("bcm_ipv6_entries_max", b.ipv6_entries_max),
        ("bcm_ipv4_ipv6_entries", b.ipv4_ipv6_entries),
        ("bcm_ipv4_ipv6_entries_max", b.ipv4_ipv6_entries_max),
        ("bcm_long_ipv6_entries", b.long_ipv6_entries),
        ("bcm_long_ipv6_entries_max", b.long_ipv6_entries_max),
        ("bcm_total_routes", b.total_routes),
        ("bcm_total_routes_max", b.total_routes_max),
        ("bcm_ecmp_nexthops", b.ecmp_nexthops),
        ("bcm_ecmp_nexthops_max", b.ecmp_nexthops_max),
        ("bcm_mac_entries", b.mac_entries),
        ("bcm_mac_entries_max", b.mac_entries_max),
        ("bcm_ipv4_neighbors", b.ipv4_neighbors),
        ("bcm_ipv6_neighbors", b.ipv6_neighbors),
        ("bcm_ipv4_routes", b.ipv4_routes),
        ("bcm_ipv6_routes", b.ipv6_routes),
        ("bcm_acl_ingress_entries", b.acl_ingress_entries),
        ("bcm_acl_ingress_entries_max", b.acl_ingress_entries_max),
        ("bcm_acl_ingress_counters", b.acl_ingress_counters),
        ("bcm_acl_ingress_counters_max", b.acl_ingress_counters_max),
        ("bcm_acl_ingress_meters", b.acl_ingress_meters),
        ("bcm_acl_ingress_meters_max", b.acl_ingress_meters_max),
        ("bcm_acl_ingress_slices", b.acl_ingress_slices),
        ("bcm_acl_ingress_slices_max", b.acl_ingress_slices_max),
        ("bcm_acl_egress_entries", b.acl_egress_entries),
        ("bcm_acl_egress_entries_max", b.acl_egress_entries_max),
        ("bcm_acl_egress_counters", b.acl_egress_counters),
        ("bcm_acl_egress_counters_max", b.acl_egress_counters_max),
        ("bcm_acl_egress_meters", b.acl_egress_meters),
        ("bcm_acl_egress_meters_max", b.acl_egress_meters_max),
        ("bcm_acl_egress_slices", b.acl_egress_slices),
        ("bcm_acl_egress_slices_max", b.acl_egress_slices_max),
    ] {
        // All ones = not supported by the agent.
        if v != u32::MAX {
            gauge(values, name, f64::from(v));
        }
    }
}

/// Utilization in percent of a table, skipped when the maximum is unknown.
fn utilization(values: &mut Values, name: &'static str, used: u32, max: u32) {
    if max > 0 && max != u32::MAX && used != u32::MAX {
        gauge(values, name, 100.0 * f64::from(used) / f64::from(max));
    }
}

/// Flattens one counter record into sFlow-RT metric names; returns false for structures not mapped.
fn flatten_counters(record: &CounterRecord<'_>, values: &mut Values) -> bool {
    match record {
        CounterRecord::GenericInterface(g) => {
            // sFlow-RT gives ifindex as a string (`"3"`).
            text(values, "ifindex", itoa::Buffer::new().format(g.if_index));
            text(values, "iftype", &if_type_name(g.if_type));
            gauge(values, "ifspeed", g.if_speed as f64);
            text(values, "ifdirection", if_direction(g.if_direction));
            text(
                values,
                "ifadminstatus",
                if g.if_status & 1 != 0 { "up" } else { "down" },
            );
            text(
                values,
                "ifoperstatus",
                if g.if_status & 2 != 0 { "up" } else { "down" },
            );
            c64(values, "ifinoctets", g.if_in_octets);
            c32(values, "ifinucastpkts", g.if_in_ucast_pkts);
            c32(values, "ifinmulticastpkts", g.if_in_multicast_pkts);
            c32(values, "ifinbroadcastpkts", g.if_in_broadcast_pkts);
            c32(values, "ifindiscards", g.if_in_discards);
            c32(values, "ifinerrors", g.if_in_errors);
            c32(values, "ifinunknownprotos", g.if_in_unknown_protos);
            c64(values, "ifoutoctets", g.if_out_octets);
            c32(values, "ifoutucastpkts", g.if_out_ucast_pkts);
            c32(values, "ifoutmulticastpkts", g.if_out_multicast_pkts);
            c32(values, "ifoutbroadcastpkts", g.if_out_broadcast_pkts);
            c32(values, "ifoutdiscards", g.if_out_discards);
            c32(values, "ifouterrors", g.if_out_errors);
            text(
                values,
                "ifpromiscuousmode",
                if g.if_promiscuous_mode == 1 {
                    "true"
                } else {
                    "false"
                },
            );
        }
        CounterRecord::Ethernet(e) => {
            c32(values, "eth_alignmenterrors", e.dot3_stats_alignment_errors);
            c32(values, "eth_fcserrors", e.dot3_stats_fcs_errors);
            c32(
                values,
                "eth_singlecollisions",
                e.dot3_stats_single_collision_frames,
            );
            c32(
                values,
                "eth_multiplecollisions",
                e.dot3_stats_multiple_collision_frames,
            );
            c32(values, "eth_sqetesterrors", e.dot3_stats_sqe_test_errors);
            c32(
                values,
                "eth_deferredtx",
                e.dot3_stats_deferred_transmissions,
            );
            c32(values, "eth_latecollision", e.dot3_stats_late_collisions);
            c32(
                values,
                "eth_excessivecollisions",
                e.dot3_stats_excessive_collisions,
            );
            c32(
                values,
                "eth_internalmactxerrors",
                e.dot3_stats_internal_mac_transmit_errors,
            );
            c32(
                values,
                "eth_carriersenseerrors",
                e.dot3_stats_carrier_sense_errors,
            );
            c32(values, "eth_frametoolongs", e.dot3_stats_frame_too_longs);
            c32(
                values,
                "eth_internalmacrxerrors",
                e.dot3_stats_internal_mac_receive_errors,
            );
            c32(values, "eth_symbolerrors", e.dot3_stats_symbol_errors);
        }
        CounterRecord::Processor(p) => {
            gauge(values, "cpu_5sec", f64::from(p.five_sec_cpu));
            gauge(values, "cpu_1min", f64::from(p.one_min_cpu));
            gauge(values, "cpu_5min", f64::from(p.five_min_cpu));
            gauge(values, "mem_total", p.total_memory as f64);
            gauge(values, "mem_free", p.free_memory as f64);
        }
        CounterRecord::PortName(p) => bytes_text(values, "ifname", p.name),
        CounterRecord::HostDescription(h) => {
            bytes_text(values, "host_name", h.hostname);
            if h.uuid != [0; 16] {
                text(values, "uuid", &format_uuid(&h.uuid));
            }
            text(values, "machine_type", machine_type(h.machine_type));
            text(values, "os_name", os_name(h.os_name));
            bytes_text(values, "os_release", h.os_release);
        }
        CounterRecord::HostCpu(c) => {
            gauge(values, "load_one", f32_gauge(c.load_one));
            gauge(values, "load_five", f32_gauge(c.load_five));
            gauge(values, "load_fifteen", f32_gauge(c.load_fifteen));
            gauge(values, "proc_run", f64::from(c.proc_run));
            gauge(values, "proc_total", f64::from(c.proc_total));
            gauge(values, "cpu_num", f64::from(c.cpu_num));
            gauge(values, "cpu_speed", f64::from(c.cpu_speed_mhz));
            gauge(values, "uptime", f64::from(c.uptime_s));
            c32(values, "cpu_user", c.cpu_user_ms);
            c32(values, "cpu_nice", c.cpu_nice_ms);
            c32(values, "cpu_system", c.cpu_system_ms);
            c32(values, "cpu_idle", c.cpu_idle_ms);
            c32(values, "cpu_wio", c.cpu_wio_ms);
            c32(values, "cpu_intr", c.cpu_intr_ms);
            c32(values, "cpu_sintr", c.cpu_sintr_ms);
            c32(values, "interrupts", c.interrupts);
            c32(values, "contexts", c.contexts);
            if let Some(extra) = c.extra {
                c32(values, "cpu_steal", extra.cpu_steal_ms);
                c32(values, "cpu_guest", extra.cpu_guest_ms);
                c32(values, "cpu_guest_nice", extra.cpu_guest_nice_ms);
            }
        }
        CounterRecord::HostMemory(m) => {
            gauge(values, "mem_total", m.mem_total as f64);
            gauge(values, "mem_free", m.mem_free as f64);
            gauge(values, "mem_shared", m.mem_shared as f64);
            gauge(values, "mem_buffers", m.mem_buffers as f64);
            gauge(values, "mem_cached", m.mem_cached as f64);
            gauge(values, "swap_total", m.swap_total as f64);
            gauge(values, "swap_free", m.swap_free as f64);
            c32(values, "page_in", m.page_in);
            c32(values, "page_out", m.page_out);
            c32(values, "swap_in", m.swap_in);
            c32(values, "swap_out", m.swap_out);
        }
        CounterRecord::HostDiskIo(d) => {
            gauge(values, "disk_total", d.disk_total as f64);
            gauge(values, "disk_free", d.disk_free as f64);
            // part_max_used is in hundredths of a percent.
            if d.part_max_used != u32::MAX {
                gauge(values, "part_max_used", f64::from(d.part_max_used) / 100.0);
            }
            // sFlow-RT's names.
            c32(values, "reads", d.reads);
            c64(values, "bytes_read", d.bytes_read);
            c32(values, "read_time", d.read_time_ms);
            c32(values, "writes", d.writes);
            c64(values, "bytes_written", d.bytes_written);
            c32(values, "write_time", d.write_time_ms);
        }
        CounterRecord::HostNetIo(n) => {
            c64(values, "bytes_in", n.bytes_in);
            c32(values, "pkts_in", n.pkts_in);
            c32(values, "errs_in", n.errs_in);
            c32(values, "drops_in", n.drops_in);
            c64(values, "bytes_out", n.bytes_out);
            c32(values, "pkts_out", n.pkts_out);
            c32(values, "errs_out", n.errs_out);
            c32(values, "drops_out", n.drops_out);
        }
        CounterRecord::BroadcomTables(b) => {
            broadcom_tables(values, b);
            utilization(
                values,
                "bcm_host_utilization",
                b.host_entries,
                b.host_entries_max,
            );
            utilization(
                values,
                "bcm_mac_utilization",
                b.mac_entries,
                b.mac_entries_max,
            );
            utilization(
                values,
                "bcm_ipv4_utilization",
                b.ipv4_entries,
                b.ipv4_entries_max,
            );
            utilization(
                values,
                "bcm_ipv6_utilization",
                b.ipv6_entries,
                b.ipv6_entries_max,
            );
            utilization(
                values,
                "bcm_ipv4_ipv6_utilization",
                b.ipv4_ipv6_entries,
                b.ipv4_ipv6_entries_max,
            );
            utilization(
                values,
                "bcm_long_ipv6_utilization",
                b.long_ipv6_entries,
                b.long_ipv6_entries_max,
            );
            utilization(
                values,
                "bcm_total_routes_utilization",
                b.total_routes,
                b.total_routes_max,
            );
            utilization(
                values,
                "bcm_ecmp_nexthops_utilization",
                b.ecmp_nexthops,
                b.ecmp_nexthops_max,
            );
            utilization(
                values,
                "bcm_acl_ingress_utilization",
                b.acl_ingress_entries,
                b.acl_ingress_entries_max,
            );
            utilization(
                values,
                "bcm_acl_ingress_meters_utilization",
                b.acl_ingress_meters,
                b.acl_ingress_meters_max,
            );
            utilization(
                values,
                "bcm_acl_ingress_counters_utilization",
                b.acl_ingress_counters,
                b.acl_ingress_counters_max,
            );
            utilization(
                values,
                "bcm_acl_egress_utilization",
                b.acl_egress_entries,
                b.acl_egress_entries_max,
            );
            utilization(
                values,
                "bcm_acl_egress_meters_utilization",
                b.acl_egress_meters,
                b.acl_egress_meters_max,
            );
            utilization(
                values,
                "bcm_acl_egress_counters_utilization",
                b.acl_egress_counters,
                b.acl_egress_counters_max,
            );
        }
        _ => return false,
    }
    true
}

fn if_direction(direction: u32) -> &'static str {
    match direction {
        1 => "full-duplex",
        2 => "half-duplex",
        3 => "in",
        4 => "out",
        _ => "unknown",
    }
}

/// IANA ifType names for the common types; other types as their number.
fn if_type_name(if_type: u32) -> String {
    let name = match if_type {
        1 => "other",
        6 => "ethernetCsmacd",
        24 => "softwareLoopback",
        53 => "propVirtual",
        62 => "fastEther",
        71 => "ieee80211",
        117 => "gigabitEthernet",
        131 => "tunnel",
        135 => "l2vlan",
        136 => "l3ipvlan",
        161 => "ieee8023adLag",
        209 => "bridge",
        _ => return if_type.to_string(),
    };
    name.to_string()
}

/// Host sFlow `machine_type` enumeration.
fn machine_type(value: u32) -> &'static str {
    match value {
        1 => "other",
        2 => "x86",
        3 => "x86_64",
        4 => "ia64",
        5 => "sparc",
        6 => "alpha",
        7 => "powerpc",
        8 => "m68k",
        9 => "mips",
        10 => "arm",
        11 => "hppa",
        12 => "s390",
        _ => "unknown",
    }
}

/// Host sFlow `os_name` enumeration.
fn os_name(value: u32) -> &'static str {
    match value {
        1 => "other",
        2 => "linux",
        3 => "windows",
        4 => "darwin",
        5 => "hpux",
        6 => "aix",
        7 => "dragonfly",
        8 => "freebsd",
        9 => "netbsd",
        10 => "openbsd",
        11 => "osf",
        12 => "solaris",
        13 => "java",
        _ => "unknown",
    }
}

fn format_uuid(uuid: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_gauges_have_no_widening_noise() {
        assert_eq!(f32_gauge(0.6), 0.6);
        assert_eq!(f64::from(0.6f32).to_string(), "0.6000000238418579");
        let json = serde_json::to_string(&crate::MetricValue::Number(f32_gauge(0.6))).ok();
        assert_eq!(json.as_deref(), Some("0.6"));
    }

    #[test]
    fn broadcom_tables_give_raw_sizes_and_utilizations_by_sflow_rt_names() {
        let tables = BroadcomTables {
            long_ipv6_entries: 5,
            long_ipv6_entries_max: 20,
            ipv4_routes: 7,
            acl_ingress_slices: u32::MAX,
            ..Default::default()
        };
        let mut values = Values::new();
        assert!(flatten_counters(
            &CounterRecord::BroadcomTables(tables),
            &mut values
        ));
        let get = |name: &str| {
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| match v {
                    CounterValue::Gauge(g) => *g,
                    _ => f64::NAN,
                })
        };
        assert_eq!(get("bcm_long_ipv6_utilization"), Some(25.0));
        assert_eq!(get("bcm_long_ipv6_entries"), Some(5.0));
        assert_eq!(get("bcm_long_ipv6_entries_max"), Some(20.0));
        assert_eq!(get("bcm_ipv4_routes"), Some(7.0));
        assert_eq!(get("bcm_acl_ingress_slices"), None, "all ones: unsupported");
    }
}
