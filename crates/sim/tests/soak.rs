//! Soak: the default scenario (what `rtflow serve --demo` runs, events repeating every 5 minutes)
//! for hours of simulated time, as fast as it goes. The process's resident memory stays flat once
//! the first hour has run, and the schedule does not drift: every cycle's elephant and attack
//! start when the scenario says, and counter samples stay exactly one polling interval apart.
//!
//! One test in its own binary, so the resident set measured is this run's alone.

use std::net::Ipv4Addr;

use rtflow_sflow::{Datagram, FlowRecord, Sample};
use rtflow_sim::{Scenario, Simulator};

const HOURS: f64 = 3.0;
const CYCLE: f64 = 300.0;
const ELEPHANT_AT: f64 = 30.0; // h1-1 -> h3-2 rsync (TCP 873), sampled on leaf1's ingress from h1-1
const ATTACK_AT: f64 = 60.0; // DNS responses of 1200+ bytes to h2-1, sampled on leaf2's uplinks
/// Samples wait in their agent up to a second before a datagram carries them; one more second
/// covers the first sample of a flow at these sampling rates.
const FIRST_SAMPLE_WITHIN: f64 = 2.0;

const LEAF1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const LEAF2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const H1_1: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 11);
const H3_2: Ipv4Addr = Ipv4Addr::new(10, 1, 3, 12);
const H2_1: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 11);

/// Resident set size of this process in bytes (Linux), from /proc/self/status.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Default)]
struct Cycle {
    elephant_from: Option<f64>,
    attack_from: Option<f64>,
}

#[test]
fn hours_of_the_default_scenario_keep_memory_flat_and_the_schedule_exact() {
    let scenario = Scenario::default_scenario().expect("default scenario");
    assert_eq!(
        scenario.cycle, CYCLE,
        "the test follows the default scenario"
    );
    let mut sim = Simulator::new(&scenario, Some(1), Some(HOURS * 3600.0)).expect("valid");

    let cycles = (HOURS * 3600.0 / CYCLE) as usize;
    let mut seen: Vec<Cycle> = (0..cycles).map(|_| Cycle::default()).collect();
    let mut counter_uptimes: Vec<u32> = Vec::new();
    let mut resident_after_first_hour = None;
    let mut peak_resident = 0;
    let mut next_check = 3600.0;
    while let Some(d) = sim.next_datagram() {
        let time = d.time.as_secs_f64();
        if time >= next_check {
            if let Some(rss) = resident_bytes() {
                resident_after_first_hour.get_or_insert(rss);
                peak_resident = peak_resident.max(rss);
            }
            next_check += 600.0;
        }
        let agent = *d.source.ip();
        if agent != LEAF1 && agent != LEAF2 {
            continue;
        }
        let datagram = Datagram::decode(d.payload).expect("valid sFlow v5");
        let cycle = &mut seen[((time / CYCLE) as usize).min(cycles - 1)];
        for sample in datagram.samples() {
            match sample.expect("sample decodes") {
                Sample::Counter(c) if agent == LEAF1 && c.info.source_id.index == 3 => {
                    counter_uptimes.push(datagram.header.uptime_ms);
                }
                Sample::Flow(flow) => {
                    for record in flow.records() {
                        let Ok(FlowRecord::SampledHeader(h)) = record else {
                            continue;
                        };
                        let fields = rtflow_packet::decode(h.protocol, h.header);
                        let Some(ip) = fields.outer.ipv4 else {
                            continue;
                        };
                        // Amplified responses are large; the background's DNS answers are small.
                        let dns_response = fields.outer.udp.is_some_and(|u| u.src_port == 53)
                            && h.frame_length >= 1200;
                        let rsync = fields.outer.tcp.is_some_and(|t| t.dst_port == 873);
                        if agent == LEAF1 && ip.src == H1_1 && ip.dst == H3_2 && rsync {
                            cycle.elephant_from.get_or_insert(time);
                        }
                        if agent == LEAF2 && ip.dst == H2_1 && dns_response {
                            cycle.attack_from.get_or_insert(time);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(sim.elapsed().as_secs_f64(), HOURS * 3600.0);

    // The story starts on time in every cycle, the last as the first.
    for (k, cycle) in seen.iter().enumerate() {
        let start = k as f64 * CYCLE;
        for (what, at, from) in [
            ("elephant", ELEPHANT_AT, cycle.elephant_from),
            ("attack", ATTACK_AT, cycle.attack_from),
        ] {
            let from = from.unwrap_or_else(|| panic!("cycle {k}: no {what} seen"));
            assert!(
                (start + at..start + at + FIRST_SAMPLE_WITHIN).contains(&from),
                "cycle {k}: {what} first seen at {from} s, scheduled at {} s",
                start + at
            );
        }
    }
    // leaf1 swp1's counters every 20 s of the agent's uptime, to the millisecond, for hours.
    let polling_ms = (scenario.sampling.polling_interval * 1000.0) as u32;
    assert_eq!(
        counter_uptimes.len(),
        (HOURS * 3600.0 / scenario.sampling.polling_interval) as usize
    );
    assert!(
        counter_uptimes
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) == polling_ms),
        "the counter polling interval drifted"
    );

    // Memory: whatever the first hour needed is reused afterwards. A leak of even a few bytes per
    // datagram (about 350,000 an hour) would exceed the allowance.
    if let Some(first) = resident_after_first_hour {
        assert!(
            peak_resident <= first + 1024 * 1024,
            "resident memory grew from {first} to {peak_resident} bytes after the first hour"
        );
    }
}
