//! The simulation loop: time advances in fixed steps; in each step flows send packets along their
//! routes, every switch port samples what arrives on it (1-in-N with a random skip), counters due
//! are read, and agents pack samples into datagrams. Datagrams come out in time order through
//! [`Simulator::next_datagram`].
//!
//! Time is integer microseconds from the start of the run, so nothing drifts however long it
//! runs; all state is bounded (flows by `traffic.max_active_flows`, queues by one step's output).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use rtflow_sflow::{
    CounterRecord, CounterSampleInfo, DataSource, EthernetCounters, FlowRecord, FlowSampleInfo,
    GenericInterfaceCounters, HostNetIo, Interface, PortName, SampledHeader,
};

use crate::agent::{Agent, Emitted, Outbox};
use crate::error::ScenarioError;
use crate::fabric::{Endpoint, Fabric, HOST_IFINDEX, HostInfo, PortRole};
use crate::machine::{Machine, MachineKind};
use crate::packet::{MAX_HEADER, PacketSpec, write_header};
use crate::rng::Rng;
use crate::scenario::{Event, Scenario, name_is_internet};
use crate::traffic::{self, Flow, FlowSpec, Owner, ephemeral_port};

/// Length of one simulation step (µs). Counter intervals are whole steps.
pub const STEP_US: u64 = 50_000;
/// sFlow `header_protocol` of an Ethernet frame.
const HEADER_ETHERNET: u32 = 1;
/// ifType ethernetCsmacd.
const IF_TYPE_ETHERNET: u32 = 6;
/// ifStatus bits: admin up, oper up.
const IF_ADMIN_UP: u32 = 1;
const IF_OPER_UP: u32 = 2;

/// One datagram as it leaves its agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimDatagram<'a> {
    /// Simulated time since the start of the run.
    pub time: Duration,
    /// The agent's address and UDP source port.
    pub source: SocketAddrV4,
    /// The sFlow v5 datagram.
    pub payload: &'a [u8],
}

/// Running totals of a simulation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Datagrams produced.
    pub datagrams: u64,
    /// Bytes of sFlow produced (UDP payloads).
    pub bytes: u64,
    /// Flow samples exported.
    pub flow_samples: u64,
    /// Flow samples the switches dropped (over `sampling.max_samples_per_second`).
    pub dropped_samples: u64,
    /// Counter samples exported.
    pub counter_samples: u64,
    /// Mice (short flows) started.
    pub mice_started: u64,
    /// Mice not started because `traffic.max_active_flows` was reached.
    pub mice_skipped: u64,
    /// Flows active now.
    pub active_flows: usize,
    /// The most flows active at any time.
    pub peak_active_flows: usize,
}

/// Per switch port: its counters, its sampler and the packets that arrived this step.
#[derive(Debug, Default)]
struct PortState {
    in_octets: u64,
    in_packets: u64,
    in_discards: u64,
    out_octets: u64,
    out_packets: u64,
    /// Packets to go until the next sampled one (at least 1).
    skip: u64,
    /// Packets that could have been sampled (sFlow's sample_pool), since boot.
    pool: u64,
    /// Flow samples sent, and samples dropped for lack of export capacity.
    sequence: u32,
    drops: u32,
    arrivals: Vec<Arrival>,
}

/// Packets of one flow arriving on a port in this step.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    flow: u32,
    hop: u8,
    packets: u64,
    /// The flow's packet count before this step (for TCP sequence numbers and IP ids).
    first_packet: u64,
}

/// A packet picked by a port's sampler.
#[derive(Clone, Copy, Debug)]
struct PendingSample {
    time_us: u64,
    order: u32,
    port: u32,
    flow: u32,
    hop: u8,
    packet: u64,
    pool: u64,
}

/// Traffic seen by a host's eth0 (its leaf port's counters, mirrored).
#[derive(Debug, Default, Clone, Copy)]
struct HostTraffic {
    rx_octets: u64,
    rx_packets: u64,
    tx_octets: u64,
    tx_packets: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CounterKind {
    SwitchPort(usize),
    /// The switch's own hsflowd (2:1: host_descr, CPU, memory).
    SwitchHost(usize),
    /// A server's hsflowd 2:1 sample.
    Host(usize),
    /// A server's eth0.
    HostInterface(usize),
}

#[derive(Debug)]
struct CounterSource {
    kind: CounterKind,
    agent: usize,
    interval_steps: u64,
    next_step: u64,
    sequence: u32,
}

/// A scenario event occurrence starting or ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Action {
    time_us: u64,
    event: usize,
    start: bool,
}

/// The simulator. Build it with [`Simulator::new`], then pull datagrams with
/// [`Simulator::next_datagram`] until it returns `None` (never, for an unbounded run).
pub struct Simulator {
    scenario: Scenario,
    fabric: Fabric,
    traffic_rng: Rng,
    sampling_rng: Rng,
    machine_rng: Rng,
    /// Index of the next step to run.
    step: u64,
    end_us: Option<u64>,
    finished: bool,
    link_up: Vec<bool>,
    routing_version: u64,
    ports: Vec<PortState>,
    host_traffic: Vec<HostTraffic>,
    /// Export tokens per switch (flow samples it may still send this second).
    tokens: Vec<f64>,
    agents: Vec<Agent>,
    /// Machines by agent index: switches first, then hsflowd hosts.
    machines: Vec<Machine>,
    counter_sources: Vec<CounterSource>,
    flows: Vec<Flow>,
    actions: Vec<Action>,
    next_action: usize,
    cycle: u64,
    samples: Vec<PendingSample>,
    /// Agents that read counters this step (reused buffer).
    polled: Vec<bool>,
    outbox: Outbox,
    current: Option<Emitted>,
    header: [u8; MAX_HEADER],
    stats: SimStats,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("scenario", &self.scenario.name)
            .field("elapsed", &self.elapsed())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator for `scenario`. `seed` and `duration` (seconds; 0 = unbounded) override the
    /// scenario's. Fails when the scenario is not one that can be simulated (see
    /// [`Scenario::validate`]).
    pub fn new(
        scenario: &Scenario,
        seed: Option<u64>,
        duration: Option<f64>,
    ) -> Result<Self, ScenarioError> {
        scenario.validate(&scenario.name)?;
        let scenario = scenario.clone();
        let mut root = Rng::new(seed.unwrap_or(scenario.seed));
        let mut fabric_rng = root.fork(1);
        let fabric = Fabric::build(&scenario, &mut fabric_rng);
        let mut traffic_rng = root.fork(2);
        let sampling_rng = root.fork(3);
        let mut machine_rng = root.fork(4);
        let duration = duration.unwrap_or(scenario.duration);
        let end_us =
            (duration.is_finite() && duration > 0.0).then(|| (duration * 1e6).round() as u64);
        let mut ports: Vec<PortState> = fabric
            .ports
            .iter()
            .map(|p| PortState {
                // Counters as if the port had been up a while.
                skip: 1 + sampling_rng_skip(&mut machine_rng, p.sampling_rate),
                ..PortState::default()
            })
            .collect();
        for port in &mut ports {
            port.pool = machine_rng.below(1 << 30);
            port.in_packets = machine_rng.below(1 << 32);
            port.out_packets = machine_rng.below(1 << 32);
            port.in_octets = port.in_packets * 700;
            port.out_octets = port.out_packets * 700;
        }

        let mut agents = Vec::new();
        let mut machines = Vec::new();
        let mut counter_sources = Vec::new();
        let switch_interval = interval_steps(scenario.sampling.polling_interval);
        let host_interval = interval_steps(scenario.hosts.polling_interval);
        for (index, switch) in fabric.switches.iter().enumerate() {
            let boot = machine_rng.between(3_600_000, 40 * 86_400_000);
            agents.push(Agent::new(
                switch.agent,
                ephemeral_port(&mut machine_rng),
                boot,
            ));
            let mut uuid = [0u8; 16];
            uuid[..8].copy_from_slice(&machine_rng.next_u64().to_be_bytes());
            uuid[8..].copy_from_slice(&machine_rng.next_u64().to_be_bytes());
            machines.push(Machine::new(
                MachineKind::Switch,
                switch.name.clone(),
                uuid,
                "4.19.0-cl-1-amd64".into(),
                &[],
                boot,
                &mut machine_rng,
            ));
            for &port in &switch.ports {
                counter_sources.push(CounterSource {
                    kind: CounterKind::SwitchPort(port),
                    agent: index,
                    interval_steps: switch_interval,
                    next_step: machine_rng.below(switch_interval),
                    sequence: 0,
                });
            }
            counter_sources.push(CounterSource {
                kind: CounterKind::SwitchHost(index),
                agent: index,
                interval_steps: switch_interval,
                next_step: machine_rng.below(switch_interval),
                sequence: 0,
            });
        }
        if scenario.hosts.hsflowd {
            for (index, host) in fabric.hosts.iter().enumerate() {
                let agent = agents.len();
                let boot = machine_rng.between(3_600_000, 90 * 86_400_000);
                agents.push(Agent::new(host.ip, ephemeral_port(&mut machine_rng), boot));
                machines.push(Machine::new(
                    MachineKind::Server,
                    host.name.clone(),
                    host.uuid,
                    scenario.hosts.os_release.clone(),
                    &[(HOST_IFINDEX, host.mac)],
                    boot,
                    &mut machine_rng,
                ));
                let phase = machine_rng.below(host_interval);
                for kind in [CounterKind::Host(index), CounterKind::HostInterface(index)] {
                    counter_sources.push(CounterSource {
                        kind,
                        agent,
                        interval_steps: host_interval,
                        next_step: phase,
                        sequence: 0,
                    });
                }
            }
        }

        let mut flows = Vec::new();
        for spec in traffic::steady(&scenario.traffic, &fabric, &mut traffic_rng) {
            flows.push(spec.build(&fabric, &mut traffic_rng));
        }
        let cycle = (scenario.cycle * 1e6).round() as u64;
        let mut simulator = Self {
            link_up: vec![true; fabric.links.len()],
            host_traffic: vec![HostTraffic::default(); fabric.hosts.len()],
            tokens: vec![0.0; fabric.switches.len()],
            stats: SimStats {
                active_flows: flows.len(),
                peak_active_flows: flows.len(),
                ..SimStats::default()
            },
            scenario,
            fabric,
            traffic_rng,
            sampling_rng,
            machine_rng,
            step: 0,
            end_us,
            finished: false,
            routing_version: 0,
            ports,
            agents,
            machines,
            counter_sources,
            flows,
            actions: Vec::new(),
            next_action: 0,
            cycle,
            samples: Vec::new(),
            polled: Vec::new(),
            outbox: Outbox::default(),
            current: None,
            header: [0; MAX_HEADER],
        };
        simulator.plan_actions(0);
        Ok(simulator)
    }

    /// The next datagram, in time order; `None` once the run's duration is over.
    pub fn next_datagram(&mut self) -> Option<SimDatagram<'_>> {
        if let Some(sent) = self.current.take() {
            self.outbox.recycle(sent.payload);
        }
        while self.outbox.queue.is_empty() {
            if self.finished {
                return None;
            }
            self.run_step();
        }
        self.current = self.outbox.queue.pop_front();
        self.current.as_ref().map(|e| SimDatagram {
            time: Duration::from_micros(e.time_us),
            source: e.source,
            payload: &e.payload,
        })
    }

    /// Simulated time covered so far.
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.step * STEP_US)
    }

    /// Totals so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The topology as `PUT /topology/json` takes it (nodes with agents and ports, links).
    pub fn topology(&self) -> serde_json::Value {
        self.fabric.topology_json()
    }

    /// The hosts: names, addresses, MACs and where they are attached.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.fabric.host_infos()
    }

    /// The agents' addresses: switches first, then the hosts that run hsflowd.
    pub fn agent_addresses(&self) -> Vec<Ipv4Addr> {
        self.agents.iter().map(|a| a.address).collect()
    }

    /// Bytes held in the simulator's growable buffers (flows, per-step lists, datagram queue),
    /// to check that a long run does not grow.
    pub fn retained_bytes(&self) -> usize {
        self.flows.capacity() * std::mem::size_of::<Flow>()
            + self.samples.capacity() * std::mem::size_of::<PendingSample>()
            + self
                .ports
                .iter()
                .map(|p| p.arrivals.capacity() * std::mem::size_of::<Arrival>())
                .sum::<usize>()
            + self.actions.capacity() * std::mem::size_of::<Action>()
            + self.outbox.retained_bytes()
    }

    fn run_step(&mut self) {
        let t0 = self.step * STEP_US;
        if self.end_us.is_some_and(|end| t0 >= end) {
            let end = self.end_us.unwrap_or(t0);
            for agent in &mut self.agents {
                self.outbox.flush(agent, end);
            }
            self.finished = true;
            self.stats.datagrams = self.outbox.datagrams;
            self.stats.bytes = self.outbox.bytes;
            return;
        }
        let t1 = t0 + STEP_US;
        self.apply_actions(t0);
        self.read_counters(t0);
        self.start_mice();
        self.move_traffic(t0);
        self.sample_ports(t0);
        self.export_samples();
        self.flows.retain(Flow::not_done);
        self.stats.active_flows = self.flows.len();
        self.stats.peak_active_flows = self.stats.peak_active_flows.max(self.flows.len());
        for agent in &mut self.agents {
            if agent.is_overdue(t1) {
                self.outbox.flush(agent, t1);
            }
        }
        self.stats.datagrams = self.outbox.datagrams;
        self.stats.bytes = self.outbox.bytes;
        self.step += 1;
    }

    /// Start and end times of the events of the cycle starting at `cycle_start_us`.
    fn plan_actions(&mut self, cycle_start_us: u64) {
        self.actions.clear();
        self.next_action = 0;
        let cycle_end = (self.cycle > 0).then(|| cycle_start_us + self.cycle);
        for (event, spec) in self.scenario.events.iter().enumerate() {
            let start = cycle_start_us + (spec.at() * 1e6).round() as u64;
            self.actions.push(Action {
                time_us: start,
                event,
                start: true,
            });
            let end = spec
                .duration()
                .map(|d| start + (d * 1e6).round() as u64)
                .or(cycle_end);
            if let Some(end) = end {
                self.actions.push(Action {
                    time_us: end,
                    event,
                    start: false,
                });
            }
        }
        // Ends before starts at the same instant, so back-to-back cycles do not overlap.
        self.actions.sort_by_key(|a| (a.time_us, a.start, a.event));
        if let Some(end) = cycle_end {
            // A marker that plans the next cycle.
            self.actions.push(Action {
                time_us: end,
                event: usize::MAX,
                start: true,
            });
        }
    }

    fn apply_actions(&mut self, now_us: u64) {
        while let Some(&action) = self.actions.get(self.next_action) {
            if action.time_us > now_us {
                break;
            }
            self.next_action += 1;
            if action.event == usize::MAX {
                self.plan_actions(action.time_us);
                continue;
            }
            if action.start {
                self.start_event(action.event);
            } else {
                self.stop_event(action.event);
            }
        }
    }

    fn endpoint(&mut self, name: &str) -> Option<Endpoint> {
        if name_is_internet(name) {
            Some(Endpoint::Internet(
                self.fabric.internet_address(&mut self.traffic_rng),
            ))
        } else {
            self.fabric.host_by_name(name).map(Endpoint::Host)
        }
    }

    fn start_event(&mut self, index: usize) {
        let Some(event) = self.scenario.events.get(index).cloned() else {
            return;
        };
        let specs: Vec<FlowSpec> = match event {
            Event::Elephant {
                src,
                dst,
                rate,
                protocol,
                dst_port,
                src_port,
                ..
            } => {
                let (Some(src), Some(dst)) = (self.endpoint(&src), self.endpoint(&dst)) else {
                    return;
                };
                let src_port = src_port.unwrap_or_else(|| ephemeral_port(&mut self.traffic_rng));
                traffic::elephant(
                    index,
                    (src, dst),
                    protocol,
                    (src_port, dst_port.unwrap_or(5001)),
                    rate.0,
                    &mut self.traffic_rng,
                )
            }
            Event::DnsAmplification {
                target,
                sources,
                rate,
                ..
            } => {
                let Some(target) = self.fabric.host_by_name(&target) else {
                    return;
                };
                traffic::dns_amplification(
                    index,
                    &self.fabric,
                    Endpoint::Host(target),
                    sources,
                    rate.0,
                    &mut self.traffic_rng,
                )
            }
            Event::LinkDown { link, .. } => {
                if let Some(link) = self.fabric.link_by_name(&link) {
                    self.link_up[link] = false;
                    self.routing_version += 1;
                }
                return;
            }
        };
        for spec in specs {
            let flow = spec.build(&self.fabric, &mut self.traffic_rng);
            self.flows.push(flow);
        }
    }

    fn stop_event(&mut self, index: usize) {
        match self.scenario.events.get(index) {
            Some(Event::LinkDown { link, .. }) => {
                if let Some(link) = self.fabric.link_by_name(link) {
                    self.link_up[link] = true;
                    self.routing_version += 1;
                }
            }
            Some(_) => self.flows.retain(|f| f.owner != Owner::Event(index)),
            None => {}
        }
    }

    fn start_mice(&mut self) {
        let config = &self.scenario.traffic;
        let count = self
            .traffic_rng
            .poisson(config.mice_per_second * STEP_US as f64 / 1e6);
        let limit = config.max_active_flows as usize;
        for _ in 0..count {
            let specs = traffic::mouse(config, &self.fabric, &mut self.traffic_rng);
            if self.flows.len() + specs.len() > limit {
                self.stats.mice_skipped += 1;
                continue;
            }
            self.stats.mice_started += 1;
            for spec in specs {
                let flow = spec.build(&self.fabric, &mut self.traffic_rng);
                self.flows.push(flow);
            }
        }
    }

    /// Every flow sends this step's packets along its route, updating the counters of each port
    /// crossed and queueing the packets for the ingress samplers.
    fn move_traffic(&mut self, _t0: u64) {
        let dt = STEP_US as f64 / 1e6;
        for (index, flow) in self.flows.iter_mut().enumerate() {
            let first_packet = flow.sent;
            let packets = flow.take_packets(dt);
            if packets == 0 {
                continue;
            }
            flow.sent += packets;
            let octets = packets * flow.mean_frame();
            if let Endpoint::Host(h) = flow.src {
                let host = &mut self.host_traffic[h];
                host.tx_octets += octets;
                host.tx_packets += packets;
            }
            if flow.path_version != self.routing_version {
                flow.path = self
                    .fabric
                    .route(flow.src, flow.dst, flow.hash, &self.link_up);
                flow.path_version = self.routing_version;
            }
            let Some(path) = flow.path else {
                // No route: the first switch receives and discards the packets.
                if let Some(port) = self.fabric.attachment_port(flow.src) {
                    let state = &mut self.ports[port];
                    state.in_octets += octets;
                    state.in_packets += packets;
                    state.in_discards += packets;
                }
                continue;
            };
            for hop in path.hops() {
                let ingress = &mut self.ports[hop.in_port];
                ingress.in_octets += octets;
                ingress.in_packets += packets;
                ingress.arrivals.push(Arrival {
                    flow: index as u32,
                    hop: hop.index,
                    packets,
                    first_packet,
                });
                let egress = &mut self.ports[hop.out_port];
                egress.out_octets += octets;
                egress.out_packets += packets;
            }
            if let Endpoint::Host(h) = flow.dst {
                let host = &mut self.host_traffic[h];
                host.rx_octets += octets;
                host.rx_packets += packets;
            }
        }
    }

    /// Each port's sampler walks the packets that arrived: every `skip`-th packet is sampled and
    /// the next skip drawn uniformly from 1..=2N-1 (mean N), as switch hardware does.
    fn sample_ports(&mut self, t0: u64) {
        self.samples.clear();
        let mut order = 0u32;
        for (port_id, state) in self.ports.iter_mut().enumerate() {
            if state.arrivals.is_empty() {
                continue;
            }
            let rate = self.fabric.ports[port_id].sampling_rate;
            let total: u64 = state.arrivals.iter().map(|a| a.packets).sum();
            let mut consumed = 0u64;
            let mut block = 0usize;
            let mut block_start = 0u64;
            while state.skip <= total - consumed {
                consumed += state.skip;
                let index = consumed - 1;
                while block_start + state.arrivals[block].packets <= index {
                    block_start += state.arrivals[block].packets;
                    block += 1;
                }
                let arrival = state.arrivals[block];
                self.samples.push(PendingSample {
                    time_us: t0
                        + (u128::from(index) * u128::from(STEP_US) / u128::from(total)) as u64,
                    order,
                    port: port_id as u32,
                    flow: arrival.flow,
                    hop: arrival.hop,
                    packet: arrival.first_packet + (index - block_start),
                    pool: state.pool + consumed,
                });
                order += 1;
                state.skip = 1 + sampling_rng_skip(&mut self.sampling_rng, rate);
            }
            state.skip -= total - consumed;
            state.pool += total;
            state.arrivals.clear();
        }
        self.samples.sort_unstable_by_key(|s| (s.time_us, s.order));
    }

    /// Sends the step's samples, in time order, through each switch's export budget into its
    /// agent's datagrams.
    fn export_samples(&mut self) {
        let max_sps = self.scenario.sampling.max_samples_per_second;
        if max_sps > 0 {
            let refill = f64::from(max_sps) * STEP_US as f64 / 1e6;
            for tokens in &mut self.tokens {
                *tokens = (*tokens + refill).min(f64::from(max_sps));
            }
        }
        let header_bytes = self.scenario.sampling.header_bytes as usize;
        let max_size = self.scenario.sampling.datagram_size as usize;
        for sample in &self.samples {
            let port = &self.fabric.ports[sample.port as usize];
            let state = &mut self.ports[sample.port as usize];
            if max_sps > 0 {
                let tokens = &mut self.tokens[port.switch];
                if *tokens < 1.0 {
                    state.drops = state.drops.wrapping_add(1);
                    self.stats.dropped_samples += 1;
                    continue;
                }
                *tokens -= 1.0;
            }
            state.sequence = state.sequence.wrapping_add(1);
            let flow = &self.flows[sample.flow as usize];
            let Some(path) = flow.path else { continue };
            let hop = path.hops[usize::from(sample.hop)];
            let frame_length = if flow.frame_max > flow.frame_min {
                flow.frame_min
                    + self
                        .sampling_rng
                        .below(u64::from(flow.frame_max - flow.frame_min) + 1)
                        as u32
            } else {
                flow.frame_min
            };
            let spec = PacketSpec {
                src_mac: hop.src_mac,
                dst_mac: hop.dst_mac,
                src_ip: flow.src_ip,
                dst_ip: flow.dst_ip,
                ttl: flow.ttl.saturating_sub(hop.index),
                ip_id: flow.ip_id.wrapping_add(sample.packet as u16),
                protocol: flow.protocol,
                src_port: flow.src_port,
                dst_port: flow.dst_port,
                tcp_seq: flow
                    .tcp_seq
                    .wrapping_add((sample.packet as u32).wrapping_mul(flow.seq_step)),
                tcp_ack: flow.tcp_ack,
                tcp_flags: flow.tcp_flags,
                frame_length,
                payload: flow.payload,
            };
            let header_len = write_header(&spec, header_bytes, &mut self.header);
            let info = FlowSampleInfo {
                expanded: false,
                sequence_number: state.sequence,
                source_id: DataSource {
                    class: 0,
                    index: port.ifindex,
                },
                sampling_rate: port.sampling_rate,
                sample_pool: state.pool_at(sample.pool),
                drops: state.drops,
                input: Interface::index(port.ifindex),
                output: Interface::index(self.fabric.ports[hop.out_port].ifindex),
            };
            let header = &self.header[..header_len];
            let records = [FlowRecord::SampledHeader(SampledHeader {
                protocol: HEADER_ETHERNET,
                frame_length,
                stripped: 4,
                header,
            })];
            self.outbox.add_sample(
                &mut self.agents[port.switch],
                max_size,
                sample.time_us,
                |builder| {
                    builder.flow_sample(&info, &records);
                },
            );
            self.stats.flow_samples += 1;
        }
    }

    /// Counter samples due at `now_us` (the start of a step).
    fn read_counters(&mut self, now_us: u64) {
        let max_size = self.scenario.sampling.datagram_size as usize;
        let mut polled = std::mem::take(&mut self.polled);
        polled.clear();
        polled.resize(self.agents.len(), false);
        for source in &mut self.counter_sources {
            if source.next_step != self.step {
                continue;
            }
            source.next_step += source.interval_steps;
            source.sequence = source.sequence.wrapping_add(1);
            let agent = &mut self.agents[source.agent];
            let (source_id, records_of) = match source.kind {
                CounterKind::SwitchPort(port) => (
                    DataSource {
                        class: 0,
                        index: self.fabric.ports[port].ifindex,
                    },
                    CounterRecords::Port(port),
                ),
                CounterKind::SwitchHost(_) | CounterKind::Host(_) => {
                    (DataSource { class: 2, index: 1 }, CounterRecords::Machine)
                }
                CounterKind::HostInterface(host) => (
                    DataSource {
                        class: 0,
                        index: HOST_IFINDEX,
                    },
                    CounterRecords::HostInterface(host),
                ),
            };
            let info = CounterSampleInfo {
                expanded: false,
                sequence_number: source.sequence,
                source_id,
            };
            match records_of {
                CounterRecords::Port(port) => {
                    let spec = &self.fabric.ports[port];
                    let state = &self.ports[port];
                    let up = match spec.role {
                        PortRole::Fabric(link) => self.link_up[link],
                        _ => true,
                    };
                    let generic = GenericInterfaceCounters {
                        if_index: spec.ifindex,
                        if_type: IF_TYPE_ETHERNET,
                        if_speed: spec.speed,
                        if_direction: 1,
                        if_status: IF_ADMIN_UP | if up { IF_OPER_UP } else { 0 },
                        if_in_octets: state.in_octets,
                        if_in_ucast_pkts: state.in_packets as u32,
                        if_in_discards: state.in_discards as u32,
                        if_out_octets: state.out_octets,
                        if_out_ucast_pkts: state.out_packets as u32,
                        ..Default::default()
                    };
                    let name = spec.name.as_bytes();
                    let records = [
                        CounterRecord::GenericInterface(generic),
                        CounterRecord::Ethernet(EthernetCounters::default()),
                        CounterRecord::PortName(PortName { name }),
                    ];
                    self.outbox.add_sample(agent, max_size, now_us, |b| {
                        b.counter_sample(&info, &records);
                    });
                }
                CounterRecords::HostInterface(host) => {
                    let traffic = self.host_traffic[host];
                    let speed = self.fabric.ports[self.fabric.hosts[host].port].speed;
                    let records = [CounterRecord::GenericInterface(GenericInterfaceCounters {
                        if_index: HOST_IFINDEX,
                        if_type: IF_TYPE_ETHERNET,
                        if_speed: speed,
                        if_direction: 1,
                        if_status: IF_ADMIN_UP | IF_OPER_UP,
                        if_in_octets: traffic.rx_octets,
                        if_in_ucast_pkts: traffic.rx_packets as u32,
                        if_out_octets: traffic.tx_octets,
                        if_out_ucast_pkts: traffic.tx_packets as u32,
                        ..Default::default()
                    })];
                    self.outbox.add_sample(agent, max_size, now_us, |b| {
                        b.counter_sample(&info, &records);
                    });
                }
                CounterRecords::Machine => {
                    let machine = &mut self.machines[source.agent];
                    machine.advance(now_us, &mut self.machine_rng);
                    let net = match source.kind {
                        CounterKind::Host(host) => {
                            let t = self.host_traffic[host];
                            Some(HostNetIo {
                                bytes_in: t.rx_octets,
                                pkts_in: t.rx_packets as u32,
                                bytes_out: t.tx_octets,
                                pkts_out: t.tx_packets as u32,
                                ..Default::default()
                            })
                        }
                        _ => None,
                    };
                    let outbox = &mut self.outbox;
                    machine.with_records(now_us, net, |records| {
                        outbox.add_sample(agent, max_size, now_us, |b| {
                            b.counter_sample(&info, records);
                        });
                    });
                }
            }
            self.stats.counter_samples += 1;
            polled[source.agent] = true;
        }
        // Agents send counters as soon as they read them, so the datagram's uptime is the time
        // the counters were read and intervals between counter samples are exact.
        for (agent, _) in self.agents.iter_mut().zip(&polled).filter(|(_, p)| **p) {
            self.outbox.flush(agent, now_us);
        }
        self.polled = polled;
    }
}

/// Which records a counter sample carries.
#[derive(Clone, Copy)]
enum CounterRecords {
    Port(usize),
    HostInterface(usize),
    Machine,
}

impl PortState {
    /// sample_pool as sent: the 32-bit counter wraps.
    fn pool_at(&self, pool: u64) -> u32 {
        pool as u32
    }
}

impl Flow {
    fn not_done(&self) -> bool {
        !self.is_done()
    }
}

/// A skip for 1-in-`rate` sampling, minus one: uniform in 0..=2(rate-1), mean rate - 1.
fn sampling_rng_skip(rng: &mut Rng, rate: u32) -> u64 {
    rng.below(2 * u64::from(rate.max(1)) - 1)
}

fn interval_steps(seconds: f64) -> u64 {
    ((seconds * 1e6 / STEP_US as f64).round() as u64).max(1)
}
