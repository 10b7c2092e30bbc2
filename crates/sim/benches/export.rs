//! Export benchmark: how many sFlow datagrams per second the simulator builds on one core.
//!
//! Runs `scenarios/busy-fabric.toml` (seed 1) for `RTFLOW_BENCH_SIM_SECS` simulated seconds
//! (default 40: elephants and the attack are running from 30 s), three times, and prints the
//! median rates of two cases:
//! * generate: traffic, sampling, counters and datagram encoding (`Simulator::next_datagram`);
//! * generate + pcap: the same, each datagram also framed in Ethernet/IPv4/UDP (checksums
//!   computed) and written as a pcap record to a sink, as `rtflow simulate -w` does.
//!
//! Run: `cargo bench -p rtflow-sim --bench export`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use rtflow_capture::{LinkType, PcapWriter, Timestamp, build_udp_frame_into};
use rtflow_sim::{Scenario, Simulator};

const RUNS: usize = 3;

struct Run {
    datagrams: u64,
    samples: u64,
    bytes: u64,
    seconds: f64,
}

fn run(scenario: &Scenario, sim_secs: f64, pcap: bool) -> Run {
    let mut sim = Simulator::new(scenario, Some(1), Some(sim_secs)).expect("valid scenario");
    let collector = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 6343));
    let mut writer = PcapWriter::new(std::io::sink(), LinkType::ETHERNET, 0).expect("sink");
    let mut frame = Vec::with_capacity(1600);
    let started = Instant::now();
    while let Some(d) = sim.next_datagram() {
        if pcap {
            build_udp_frame_into(&mut frame, SocketAddr::V4(d.source), collector, d.payload)
                .expect("datagram fits in a frame");
            let time = Timestamp::new(1_767_225_600 + d.time.as_secs(), d.time.subsec_nanos());
            writer
                .write_packet(time, frame.len() as u32, &frame)
                .expect("sink");
        }
        std::hint::black_box(d.payload);
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    Run {
        datagrams: stats.datagrams,
        samples: stats.flow_samples + stats.counter_samples,
        bytes: stats.bytes,
        seconds,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/busy-fabric.toml"
    );
    let text = std::fs::read_to_string(path).expect("scenarios/busy-fabric.toml");
    let scenario = Scenario::from_toml(path, &text).expect("valid scenario");
    let sim_secs: f64 = std::env::var("RTFLOW_BENCH_SIM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40.0);
    for (name, pcap) in [("generate", false), ("generate + pcap", true)] {
        let runs: Vec<Run> = (0..RUNS).map(|_| run(&scenario, sim_secs, pcap)).collect();
        let first = &runs[0];
        let rate = median(
            runs.iter()
                .map(|r| r.datagrams as f64 / r.seconds)
                .collect(),
        );
        let samples = median(runs.iter().map(|r| r.samples as f64 / r.seconds).collect());
        let megabytes = median(
            runs.iter()
                .map(|r| r.bytes as f64 / r.seconds / 1e6)
                .collect(),
        );
        println!(
            "{name:>16}: {rate:>10.0} datagrams/s  {samples:>10.0} samples/s  {megabytes:>6.1} MB/s  \
             ({} datagrams for {sim_secs} simulated s, {:.2} s per run, median of {RUNS})",
            first.datagrams, first.seconds
        );
    }
}
