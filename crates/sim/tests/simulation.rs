//! The simulator's output checked as a collector would see it: decoded with the project's sFlow
//! and packet decoders, against what the scenario says should happen.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use rtflow_sflow::{Address, CounterRecord, Datagram, FlowRecord, Sample};
use rtflow_sim::{Scenario, Simulator};

/// One flow sample, flattened.
#[derive(Clone, Debug)]
struct FlowSampleSeen {
    time: f64,
    agent: Ipv4Addr,
    ifindex: u32,
    output: u32,
    sequence: u32,
    rate: u32,
    pool: u32,
    drops: u32,
    frame_length: u32,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    ttl: u8,
}

/// One interface counter sample, flattened.
#[derive(Clone, Debug)]
struct PortCountersSeen {
    time: f64,
    uptime_ms: u32,
    agent: Ipv4Addr,
    ifindex: u32,
    sequence: u32,
    in_octets: u64,
    out_octets: u64,
    oper_up: bool,
    speed: u64,
    name: Option<String>,
}

#[derive(Default)]
struct Seen {
    datagrams: usize,
    flows: Vec<FlowSampleSeen>,
    ports: Vec<PortCountersSeen>,
    /// Agent -> (host_name, adapter MACs).
    hosts: BTreeMap<Ipv4Addr, (String, Vec<[u8; 6]>)>,
    /// Agent -> (datagram sequence numbers, uptimes) in order.
    datagram_sequences: BTreeMap<Ipv4Addr, Vec<(u32, u32)>>,
    max_size: usize,
    times: Vec<f64>,
}

fn agent_of(datagram: &Datagram<'_>) -> Ipv4Addr {
    match datagram.header.agent {
        Address::V4(a) => a,
        other => panic!("simulated agents are IPv4, got {other:?}"),
    }
}

fn run(scenario: &Scenario, seed: u64, seconds: f64) -> (Seen, Simulator) {
    let mut sim = Simulator::new(scenario, Some(seed), Some(seconds)).expect("valid scenario");
    let mut seen = Seen::default();
    while let Some(d) = sim.next_datagram() {
        let time = d.time.as_secs_f64();
        let datagram = Datagram::decode(d.payload).expect("valid sFlow v5");
        let agent = agent_of(&datagram);
        assert_eq!(
            IpAddr::V4(*d.source.ip()),
            IpAddr::V4(agent),
            "sent from the agent address"
        );
        seen.datagrams += 1;
        seen.max_size = seen.max_size.max(d.payload.len());
        seen.times.push(time);
        seen.datagram_sequences
            .entry(agent)
            .or_default()
            .push((datagram.header.sequence_number, datagram.header.uptime_ms));
        let mut count = 0;
        for sample in datagram.samples() {
            count += 1;
            match sample.expect("every sample decodes") {
                Sample::Flow(flow) => {
                    for record in flow.records() {
                        let FlowRecord::SampledHeader(h) = record.expect("record decodes") else {
                            continue;
                        };
                        let fields = rtflow_packet::decode(h.protocol, h.header);
                        let ip = fields.outer.ipv4.expect("IPv4 header");
                        let (src_port, dst_port) = match (fields.outer.tcp, fields.outer.udp) {
                            (Some(t), _) => (t.src_port, t.dst_port),
                            (_, Some(u)) => (u.src_port, u.dst_port),
                            _ => (0, 0),
                        };
                        seen.flows.push(FlowSampleSeen {
                            time,
                            agent,
                            ifindex: flow.info.source_id.index,
                            output: flow.info.output.value,
                            sequence: flow.info.sequence_number,
                            rate: flow.info.sampling_rate,
                            pool: flow.info.sample_pool,
                            drops: flow.info.drops,
                            frame_length: h.frame_length,
                            src: ip.src,
                            dst: ip.dst,
                            protocol: ip.protocol,
                            src_port,
                            dst_port,
                            ttl: ip.ttl,
                        });
                    }
                }
                Sample::Counter(counter) => {
                    let mut port: Option<PortCountersSeen> = None;
                    let mut name = None;
                    for record in counter.records() {
                        match record.expect("record decodes") {
                            CounterRecord::GenericInterface(g) => {
                                port = Some(PortCountersSeen {
                                    time,
                                    uptime_ms: datagram.header.uptime_ms,
                                    agent,
                                    ifindex: g.if_index,
                                    sequence: counter.info.sequence_number,
                                    in_octets: g.if_in_octets,
                                    out_octets: g.if_out_octets,
                                    oper_up: g.if_status & 2 != 0,
                                    speed: g.if_speed,
                                    name: None,
                                });
                            }
                            CounterRecord::PortName(p) => {
                                name = Some(String::from_utf8_lossy(p.name).into_owned());
                            }
                            CounterRecord::HostDescription(h) => {
                                let entry = seen.hosts.entry(agent).or_default();
                                entry.0 = String::from_utf8_lossy(h.hostname).into_owned();
                            }
                            CounterRecord::HostAdapters(a) => {
                                let entry = seen.hosts.entry(agent).or_default();
                                entry.1 = a
                                    .adapters
                                    .iter()
                                    .flat_map(|ad| ad.macs.iter().map(|m| m.0))
                                    .collect();
                            }
                            _ => {}
                        }
                    }
                    if let Some(mut port) = port {
                        port.name = name;
                        seen.ports.push(port);
                    }
                }
                other => panic!("unexpected sample {other:?}"),
            }
        }
        assert_eq!(count, datagram.num_samples());
        assert!(count > 0, "no empty datagrams");
    }
    (seen, sim)
}

fn default_scenario() -> Scenario {
    Scenario::default_scenario().expect("default scenario")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let scenario = default_scenario();
    let collect = |seed| {
        let mut sim = Simulator::new(&scenario, Some(seed), Some(5.0)).expect("valid scenario");
        let mut all = Vec::new();
        while let Some(d) = sim.next_datagram() {
            all.extend_from_slice(&d.time.as_micros().to_be_bytes());
            all.extend_from_slice(&d.source.port().to_be_bytes());
            all.extend_from_slice(d.payload);
        }
        all
    };
    let a = collect(11);
    assert!(!a.is_empty());
    assert_eq!(a, collect(11), "the same seed must give the same datagrams");
    assert_ne!(a, collect(12), "another seed must give other datagrams");
}

/// The default scenario for 180 s: elephant from 30 s, attack 60-120 s, leaf1-spine2 down 90-150 s.
#[test]
fn default_scenario_plays_its_events_on_time() {
    let scenario = default_scenario();
    let (seen, sim) = run(&scenario, 1, 180.0);
    let hosts: HashMap<String, Ipv4Addr> =
        sim.hosts().into_iter().map(|h| (h.name, h.ip)).collect();
    let agent = |name: &str| -> Ipv4Addr {
        sim.topology()["nodes"][name]["agent"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };

    // Datagrams: time-ordered, within the MTU, numbered 1, 2, 3... per agent with uptime moving on.
    assert!(
        seen.times.windows(2).all(|w| w[0] <= w[1]),
        "datagrams in time order"
    );
    assert!(
        seen.max_size <= 1400,
        "largest datagram {} bytes",
        seen.max_size
    );
    for (agent, seqs) in &seen.datagram_sequences {
        for (i, w) in seqs.windows(2).enumerate() {
            assert_eq!(w[1].0, w[0].0 + 1, "{agent}: datagram sequence gap at {i}");
            assert!(w[1].1 >= w[0].1, "{agent}: uptime went back");
        }
    }

    // The elephant h1-1 -> h3-2: nothing before 30 s, then seen on leaf1, one spine and leaf3.
    let (h11, h32) = (hosts["h1-1"], hosts["h3-2"]);
    let elephant: Vec<_> = seen
        .flows
        .iter()
        .filter(|f| f.src == h11 && f.dst == h32 && f.dst_port == 873)
        .collect();
    let first = elephant.first().expect("elephant samples").time;
    assert!(
        (30.0..30.5).contains(&first),
        "elephant first sampled at {first} s"
    );
    let before_failure: BTreeSet<Ipv4Addr> = elephant
        .iter()
        .filter(|f| f.time < 90.0)
        .map(|f| f.agent)
        .collect();
    assert!(before_failure.contains(&agent("leaf1")) && before_failure.contains(&agent("leaf3")));
    assert_eq!(
        before_failure.len(),
        3,
        "leaf1, one spine, leaf3: {before_failure:?}"
    );
    let ttls: BTreeSet<(Ipv4Addr, u8)> = elephant.iter().map(|f| (f.agent, f.ttl)).collect();
    assert!(
        ttls.contains(&(agent("leaf1"), 64)) && ttls.contains(&(agent("leaf3"), 62)),
        "{ttls:?}"
    );
    let last = elephant.last().unwrap().time;
    // Datagram times: a sample leaves at most a second after it was taken.
    assert!(
        (149.0..151.1).contains(&last),
        "elephant last exported at {last} s (ends at 150 s)"
    );

    // The attack: UDP from port 53, many sources, to h2-1, from 60 s to 120 s.
    let victim = hosts["h2-1"];
    let attack: Vec<_> = seen
        .flows
        .iter()
        .filter(|f| f.dst == victim && f.src_port == 53 && f.protocol == 17)
        .collect();
    let sources: BTreeSet<Ipv4Addr> = attack.iter().map(|f| f.src).collect();
    assert!(sources.len() > 100, "attack from {} sources", sources.len());
    assert!(
        sources
            .iter()
            .all(|s| s.octets()[0] == 198 && (s.octets()[1] & 0xfe) == 18),
        "Internet sources"
    );
    let (start, end) = (attack.first().unwrap().time, attack.last().unwrap().time);
    assert!(
        (60.0..60.5).contains(&start) && (119.0..121.1).contains(&end),
        "attack {start}..{end} s"
    );
    // It enters at the border leaf's Internet port (leaf4 swp51 = ifIndex 53).
    assert!(
        attack
            .iter()
            .any(|f| f.agent == agent("leaf4") && f.ifindex == 53)
    );

    // The link failure: no samples on leaf1 swp50 / spine2 swp1 while down, oper down in counters.
    let (leaf1, spine2) = (agent("leaf1"), agent("spine2"));
    let on_failed = |f: &&FlowSampleSeen| {
        (f.agent == leaf1 && (f.ifindex == 52 || f.output == 52))
            || (f.agent == spine2 && (f.ifindex == 3 || f.output == 3))
    };
    let during: Vec<_> = seen
        .flows
        .iter()
        .filter(|f| f.time > 90.1 && f.time < 150.0)
        .filter(on_failed)
        .collect();
    assert!(
        during.is_empty(),
        "samples crossed the failed link: {:?}",
        &during[..during.len().min(3)]
    );
    assert!(
        seen.flows
            .iter()
            .filter(|f| f.time < 90.0)
            .any(|f| on_failed(&f)),
        "link used before"
    );
    assert!(
        seen.flows
            .iter()
            .filter(|f| f.time > 150.5)
            .any(|f| on_failed(&f)),
        "link used again after"
    );
    let status: Vec<(f64, bool)> = seen
        .ports
        .iter()
        .filter(|p| p.agent == leaf1 && p.ifindex == 52)
        .map(|p| (p.time, p.oper_up))
        .collect();
    assert!(
        status.iter().any(|(t, up)| *t > 90.0 && *t < 150.0 && !up),
        "oper down while failed: {status:?}"
    );
    assert!(
        status
            .iter()
            .all(|(t, up)| *up || (*t >= 90.0 && *t <= 150.0)),
        "{status:?}"
    );

    // Hosts export as hsflowd: host_descr names them, host_adapters carries their MAC.
    for host in sim.hosts() {
        let (name, macs) = seen
            .hosts
            .get(&host.ip)
            .unwrap_or_else(|| panic!("no host counters from {}", host.ip));
        assert_eq!(name, &host.name);
        let mac: String = macs
            .iter()
            .flat_map(|m| m.iter().map(|b| format!("{b:02X}")))
            .collect();
        assert_eq!(mac, host.mac);
    }
    // Switch ports carry their names and speeds.
    let swp51 = seen
        .ports
        .iter()
        .find(|p| p.agent == agent("leaf4") && p.ifindex == 53)
        .unwrap();
    assert_eq!(swp51.name.as_deref(), Some("swp51"));
    assert_eq!(swp51.speed, 10_000_000_000);
}

/// Counter samples come every polling interval exactly (by the agent's uptime), and the octets
/// they count match what the flow samples estimate, within sampling error.
#[test]
fn counters_agree_with_sampled_traffic() {
    let scenario = default_scenario();
    let (seen, _) = run(&scenario, 3, 250.0);
    let mut by_port: BTreeMap<(Ipv4Addr, u32), Vec<&PortCountersSeen>> = BTreeMap::new();
    for p in &seen.ports {
        by_port.entry((p.agent, p.ifindex)).or_default().push(p);
    }
    let mut compared = 0;
    for ((agent, ifindex), samples) in &by_port {
        for w in samples.windows(2) {
            assert_eq!(
                w[1].sequence,
                w[0].sequence + 1,
                "{agent}/{ifindex} counter sequence"
            );
            let gap = w[1].uptime_ms.wrapping_sub(w[0].uptime_ms);
            assert!(
                (19_000..=21_000).contains(&gap),
                "{agent}/{ifindex}: counter samples {gap} ms apart"
            );
        }
        // Compare over the window between the first and last counter sample.
        let (first, last) = (samples[0], samples[samples.len() - 1]);
        let flows: Vec<_> = seen
            .flows
            .iter()
            .filter(|f| {
                f.agent == *agent
                    && f.ifindex == *ifindex
                    && f.time >= first.time
                    && f.time < last.time
            })
            .collect();
        if flows.len() < 400 {
            continue; // too few samples for a tight comparison
        }
        let estimate: f64 = flows
            .iter()
            .map(|f| f64::from(f.frame_length) * f64::from(f.rate))
            .sum();
        let counted = (last.in_octets - first.in_octets) as f64;
        // Relative error of a sampled total is about 1/sqrt(samples); allow 4 sigma.
        let tolerance = 4.0 / (flows.len() as f64).sqrt();
        let error = (estimate - counted).abs() / counted;
        assert!(
            error < tolerance,
            "{agent}/{ifindex}: counters {counted} octets, samples estimate {estimate} ({} samples, error {error:.3})",
            flows.len()
        );
        compared += 1;
        // sample_pool advances by the packets counted, sequence by one per sample.
        let pools: Vec<u32> = flows.iter().map(|f| f.pool).collect();
        assert!(
            pools.windows(2).all(|w| w[1] > w[0]),
            "{agent}/{ifindex}: sample_pool not increasing"
        );
        assert!(
            flows.windows(2).all(|w| w[1].sequence == w[0].sequence + 1),
            "{agent}/{ifindex}: sequence gap"
        );
        let pool_delta = f64::from(flows[flows.len() - 1].pool - flows[0].pool);
        let per_sample = pool_delta / (flows.len() - 1) as f64;
        let rate = f64::from(flows[0].rate);
        assert!(
            (per_sample - rate).abs() / rate < tolerance,
            "{agent}/{ifindex}: pool/sample {per_sample} vs 1-in-{rate}"
        );
        assert!(flows.iter().all(|f| f.drops == 0));
    }
    assert!(
        compared >= 5,
        "only {compared} ports had enough samples to compare"
    );

    // The elephant's ingress port (leaf1 swp1, ifIndex 3) counts 4 Gbit/s on top of the background
    // it carries once the elephant has gone (30-150 s).
    let port = &by_port[&(Ipv4Addr::new(10, 0, 0, 1), 3)];
    let bits_per_second = |from: f64, to: f64| {
        let at = |t: f64| port.iter().rfind(|p| p.time <= t).unwrap();
        let (a, b) = (at(from), at(to));
        assert!(b.time - a.time >= 60.0);
        (b.in_octets - a.in_octets) as f64 * 8.0 / (b.time - a.time)
    };
    let (with, without) = (bits_per_second(50.0, 145.0), bits_per_second(170.0, 250.0));
    assert!(
        (with - without - 4e9).abs() < 0.03 * 4e9,
        "elephant port carries {with} bit/s, {without} without it"
    );

    // Both ends of a link count the same traffic: leaf1 swp49 out = spine1 swp1 in. The two
    // switches read their counters at different moments, so each count is interpolated to the
    // same two instants.
    let octets_at = |agent: Ipv4Addr, ifindex: u32, out: bool, t: f64| {
        let samples = &by_port[&(agent, ifindex)];
        let value = |p: &PortCountersSeen| if out { p.out_octets } else { p.in_octets } as f64;
        let after = samples.iter().position(|p| p.time >= t).unwrap();
        let (a, b) = (samples[after - 1], samples[after]);
        value(a) + (value(b) - value(a)) * (t - a.time) / (b.time - a.time)
    };
    let rate = |agent, ifindex, out| {
        (octets_at(agent, ifindex, out, 225.0) - octets_at(agent, ifindex, out, 25.0)) / 200.0
    };
    let leaf_out = rate(Ipv4Addr::new(10, 0, 0, 1), 51, true);
    let spine_in = rate(Ipv4Addr::new(10, 0, 0, 101), 3, false);
    assert!(
        leaf_out > 1e6 && (leaf_out - spine_in).abs() / leaf_out < 0.03,
        "leaf1 swp49 sends {leaf_out} B/s, spine1 swp1 receives {spine_in} B/s"
    );
}

/// With an export budget below the sampled packet rate, the switch drops samples and says so:
/// drops grow, sequence numbers stay gap-free, and sample_pool / sequence gives the effective
/// rate, so a collector can still scale correctly.
#[test]
fn export_budget_drops_are_reported_consistently() {
    let text = r#"
        [fabric]
        spines = 0
        leaves = 1
        hosts_per_leaf = 2
        [sampling]
        host_port = 100
        max_samples_per_second = 200
        [traffic]
        mice_per_second = 0
        steady_flows = 0
        [[events]]
        kind = "elephant"
        at = 0
        src = "h1-1"
        dst = "h1-2"
        rate = "2G"
        protocol = "udp"
    "#;
    let scenario = Scenario::from_toml("drops.toml", text).unwrap();
    let (seen, sim) = run(&scenario, 5, 30.0);
    let flows: Vec<_> = seen.flows.iter().filter(|f| f.ifindex == 3).collect();
    // 2 Gbit/s of 1518-byte frames is 165k packets/s: 1,650 samples/s wanted, 200 allowed.
    let per_second = flows.len() as f64 / 30.0;
    assert!(
        (190.0..=210.0).contains(&per_second),
        "{per_second} samples/s exported"
    );
    assert!(sim.stats().dropped_samples > 40_000, "{:?}", sim.stats());
    assert!(
        flows
            .windows(2)
            .all(|w| w[1].sequence == w[0].sequence + 1 && w[1].drops >= w[0].drops)
    );
    let (first, last) = (flows[0], flows[flows.len() - 1]);
    let drops = last.drops - first.drops;
    let sent = last.sequence - first.sequence;
    let pool = f64::from(last.pool - first.pool);
    // Every sampled packet was either sent or dropped.
    let sampled = f64::from(sent + drops);
    assert!(
        (pool / sampled - 100.0).abs() < 2.0,
        "pool {pool} / sampled {sampled}"
    );
    // The effective rate a collector derives (pool per sample sent) covers the 165k packets/s.
    let effective = pool / f64::from(sent);
    let estimated_pps = effective * per_second;
    assert!(
        (estimated_pps - 164_690.0).abs() / 164_690.0 < 0.03,
        "{estimated_pps} packets/s"
    );
}

/// Hours of simulated time, run fast: state stays bounded, and time does not drift.
#[test]
fn long_runs_stay_bounded_and_on_schedule() {
    let text = r#"
        duration = 0
        cycle = 600
        [fabric]
        spines = 2
        leaves = 2
        hosts_per_leaf = 2
        [sampling]
        host_port = 20000
        uplink = 50000
        internet = 50000
        polling_interval = 30
        [hosts]
        polling_interval = 30
        [traffic]
        mice_per_second = 50
        steady_flows = 2
        [[events]]
        kind = "elephant"
        at = 60
        duration = 300
        src = "h1-1"
        dst = "h2-2"
        rate = "2G"
        [[events]]
        kind = "dns_amplification"
        at = 120
        duration = 120
        target = "h2-1"
        sources = 1000
        rate = "1G"
    "#;
    let scenario = Scenario::from_toml("long.toml", text).unwrap();
    let hours = 4.0;
    let mut sim = Simulator::new(&scenario, Some(9), Some(hours * 3600.0)).expect("valid scenario");
    let mut footprint_after_first_hour = 0;
    let mut peak_footprint = 0;
    let mut last_time = 0.0;
    let mut counter_times: Vec<u32> = Vec::new();
    while let Some(d) = sim.next_datagram() {
        let time = d.time.as_secs_f64();
        assert!(time >= last_time);
        last_time = time;
        // leaf1's datagrams: record the uptime of each one holding leaf1 swp1's counters.
        if d.source.ip() == &Ipv4Addr::new(10, 0, 0, 1) {
            let datagram = Datagram::decode(d.payload).unwrap();
            for sample in datagram.samples() {
                if let Ok(Sample::Counter(c)) = sample
                    && c.info.source_id.index == 3
                    && c.info.source_id.class == 0
                {
                    counter_times.push(datagram.header.uptime_ms);
                }
            }
        }
        if time > 3600.0 {
            let footprint = sim.retained_bytes();
            if footprint_after_first_hour == 0 {
                footprint_after_first_hour = footprint;
            }
            peak_footprint = peak_footprint.max(footprint);
        }
    }
    assert!(
        last_time > hours * 3600.0 - 2.0 && last_time <= hours * 3600.0,
        "ended at {last_time} s"
    );
    assert_eq!(sim.elapsed().as_secs_f64(), hours * 3600.0);
    // Cycles of 10 minutes: by hour 1 every kind of traffic has been through; later hours only reuse.
    assert!(
        peak_footprint <= footprint_after_first_hour * 2 + 64 * 1024,
        "footprint grew from {footprint_after_first_hour} to {peak_footprint} bytes"
    );
    assert!(sim.stats().peak_active_flows < 2_000, "{:?}", sim.stats());
    // Every 30 s for 4 hours, exactly: 480 samples, each 30,000 ms of uptime after the last.
    assert_eq!(counter_times.len(), 480);
    assert!(
        counter_times
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) == 30_000),
        "counter interval drifted"
    );
}

/// A scenario changed in code is checked too: no panic on a fabric that cannot exist.
#[test]
fn invalid_scenarios_built_in_code_are_refused() {
    let mut scenario = Scenario::default();
    scenario.fabric.leaves = 0;
    let err = Simulator::new(&scenario, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fabric.leaves"), "{err}");
    let mut scenario = Scenario::default();
    scenario.sampling.host_port = 0;
    assert!(Simulator::new(&scenario, None, Some(1.0)).is_err());
}

/// The shipped YAML scenario runs as written: its UDP elephant crosses spine1 until the link
/// leaf1-spine1 fails at t=20 s, then spine2 only, and spine1 again once the link is back at 40 s.
#[test]
fn yaml_scenario_moves_its_elephant_off_the_failed_link() {
    let text = include_str!("../../../scenarios/link-failure.yaml");
    let scenario = Scenario::from_yaml("scenarios/link-failure.yaml", text).expect("valid YAML");
    assert_eq!(scenario.name, "link-failure");
    assert_eq!(scenario.events.len(), 3);
    let (seen, sim) = run(&scenario, 1, scenario.duration);
    let hosts: HashMap<String, Ipv4Addr> =
        sim.hosts().into_iter().map(|h| (h.name, h.ip)).collect();
    let agent = |name: &str| -> Ipv4Addr {
        sim.topology()["nodes"][name]["agent"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .expect("agent address")
    };
    let (spine1, spine2) = (agent("spine1"), agent("spine2"));
    let (src, dst) = (hosts["h1-2"], hosts["h2-2"]);
    let spines_in = |from: f64, to: f64| -> BTreeSet<Ipv4Addr> {
        seen.flows
            .iter()
            .filter(|f| f.src == src && f.dst == dst && f.dst_port == 9000 && f.protocol == 17)
            .filter(|f| f.time > from && f.time < to)
            .map(|f| f.agent)
            .filter(|a| *a == spine1 || *a == spine2)
            .collect()
    };
    assert!(spines_in(0.0, 5.0).is_empty(), "the elephant starts at 5 s");
    assert_eq!(spines_in(6.0, 20.0), BTreeSet::from([spine1]));
    // An agent holds a sample up to a second: a datagram sent at 21.0 s may still carry samples
    // taken before 20 s, so each window starts a second after the change.
    assert_eq!(spines_in(21.0, 40.0), BTreeSet::from([spine2]));
    assert_eq!(spines_in(41.0, 60.0), BTreeSet::from([spine1]));
    // leaf1's uplink to spine1 (swp49, ifIndex 51) reports the failure in its counters.
    let leaf1 = agent("leaf1");
    let status: Vec<(f64, bool)> = seen
        .ports
        .iter()
        .filter(|p| p.agent == leaf1 && p.ifindex == 51)
        .map(|p| (p.time, p.oper_up))
        .collect();
    assert!(
        status.iter().any(|(t, up)| (20.0..40.0).contains(t) && !up)
            && status.iter().all(|(t, up)| *up != (20.0..40.0).contains(t)),
        "leaf1 swp49 oper status: {status:?}"
    );
}

/// sample_pool counts the packets a port received, exactly as its ifInUcastPkts counter does: in
/// each agent's export order, the pool advance across the flow samples between two counter
/// samples of a port falls short of the counter's advance only by the packets before the first
/// and after the last of those samples, each fewer than one maximum skip (2N-1).
#[test]
fn sample_pool_advances_with_the_packet_counters() {
    enum Event {
        Counter { in_packets: u32, discards: u32 },
        Flow { pool: u32, rate: u32, drops: u32 },
    }
    let scenario = default_scenario();
    let mut sim = Simulator::new(&scenario, Some(4), Some(200.0)).expect("valid scenario");
    // (agent, ifIndex) -> the port's samples in export order.
    let mut streams: BTreeMap<(Ipv4Addr, u32), Vec<Event>> = BTreeMap::new();
    while let Some(d) = sim.next_datagram() {
        let datagram = Datagram::decode(d.payload).expect("valid sFlow v5");
        let agent = agent_of(&datagram);
        for sample in datagram.samples() {
            match sample.expect("sample decodes") {
                Sample::Flow(flow) => streams
                    .entry((agent, flow.info.source_id.index))
                    .or_default()
                    .push(Event::Flow {
                        pool: flow.info.sample_pool,
                        rate: flow.info.sampling_rate,
                        drops: flow.info.drops,
                    }),
                Sample::Counter(counter) => {
                    for record in counter.records() {
                        if let Ok(CounterRecord::GenericInterface(g)) = record {
                            streams
                                .entry((agent, g.if_index))
                                .or_default()
                                .push(Event::Counter {
                                    in_packets: g.if_in_ucast_pkts,
                                    discards: g.if_in_discards,
                                });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut intervals = 0;
    for ((agent, ifindex), events) in &streams {
        let mut last_counter: Option<(u32, u32)> = None;
        let mut pools: Vec<u32> = Vec::new();
        let mut max_skip = 0u64;
        for event in events {
            match *event {
                Event::Flow { pool, rate, drops } => {
                    assert_eq!(drops, 0, "{agent}/{ifindex}: no export budget, no drops");
                    max_skip = 2 * u64::from(rate) - 1;
                    pools.push(pool);
                }
                Event::Counter {
                    in_packets,
                    discards,
                } => {
                    if let (Some((before, discards_before)), Some(first), Some(last)) =
                        (last_counter, pools.first(), pools.last())
                        && discards == discards_before
                    {
                        let counted = u64::from(in_packets.wrapping_sub(before));
                        let pooled = u64::from(last.wrapping_sub(*first));
                        let outside = counted.checked_sub(pooled).unwrap_or_else(|| {
                            panic!("{agent}/{ifindex}: pool advanced {pooled}, counter {counted}")
                        });
                        assert!(
                            (1..=2 * max_skip).contains(&outside),
                            "{agent}/{ifindex}: counter advanced {counted} packets, sample_pool \
                             {pooled}: {outside} outside the samples (max skip {max_skip})"
                        );
                        intervals += 1;
                    }
                    last_counter = Some((in_packets, discards));
                    pools.clear();
                }
            }
        }
    }
    // 200 s at a 20 s polling interval, on the switch ports that carry traffic.
    assert!(intervals >= 200, "only {intervals} intervals compared");
}
