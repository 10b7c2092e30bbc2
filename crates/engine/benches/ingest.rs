//! Engine ingest benchmark (issue: ≥ 1,000,000 flow samples/s on one core with 10 flow definitions).
//!
//! Loads ecmp.pcap from `../shared/captures`, installs 10 flow definitions, then feeds the capture's datagrams
//! through the full ingest path (`Engine::ingest_sflow`: sFlow decode, sampled-header decode, every definition,
//! counters, sequence accounting) in a loop with a monotonic clock, ticking once per simulated second.
//!
//! Run: `cargo bench -p rtflow-engine --bench ingest` (prints rates; `RTFLOW_BENCH_SECS` sets the duration).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rtflow_engine::{Engine, FlowDefinition};

const DEFINITIONS: [(&str, &str); 10] = [
    ("pair", "ipsource,ipdestination"),
    ("src", "ipsource"),
    ("dst", "ipdestination"),
    ("dport", "tcpdestinationport"),
    ("proto", "ipprotocol"),
    ("macs", "macsource,macdestination"),
    (
        "fivetuple",
        "ipsource,ipdestination,tcpsourceport,tcpdestinationport",
    ),
    ("stack", "stack"),
    ("ports", "inputifindex,outputifindex"),
    ("total", ""),
];

struct Recorded {
    offset_ms: u64,
    source: SocketAddr,
    payload: Vec<u8>,
}

fn load_ecmp(path: &Path) -> Vec<Recorded> {
    let mut reader = rtflow_capture::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut first_ms = None;
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        let ms = d.timestamp.as_duration().as_millis() as u64;
        let first = *first_ms.get_or_insert(ms);
        out.push(Recorded {
            offset_ms: ms - first,
            source: d.src,
            payload: d.payload.to_vec(),
        });
    }
    out
}

fn main() {
    let Some(ecmp) = rtflow_testkit::shared_capture("ecmp.pcap") else {
        return; // after one skip line
    };
    let datagrams = load_ecmp(&ecmp);
    let span_ms = datagrams.last().map_or(1, |d| d.offset_ms + 1);
    let budget = Duration::from_secs_f64(
        std::env::var("RTFLOW_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0),
    );

    let mut engine = Engine::default();
    for (name, keys) in DEFINITIONS {
        engine
            .set_flow(0, name, FlowDefinition::new(keys, "bytes"))
            .unwrap_or_else(|e| panic!("flow {name}: {e}"));
    }

    let (mut sent, mut flow_samples, mut samples, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut next_tick = 1_000u64;
    let start = Instant::now();
    let mut pass = 0u64;
    while start.elapsed() < budget {
        let base = 1_700_000_000_000 + pass * span_ms;
        for d in &datagrams {
            let now = base + d.offset_ms;
            if now >= next_tick {
                engine.tick(now);
                next_tick = now + 1_000;
            }
            match engine.ingest_sflow(now, d.source, &d.payload) {
                Ok(summary) => {
                    flow_samples += summary.flow_samples as u64;
                    samples += (summary.flow_samples + summary.counter_samples) as u64;
                }
                Err(_) => errors += 1,
            }
            sent += 1;
        }
        pass += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("engine ingest (ecmp.pcap x{pass}, 10 flow definitions, one core, {secs:.1} s):");
    println!("  {:>12.0} datagrams/s", sent as f64 / secs);
    println!("  {:>12.0} flow samples/s", flow_samples as f64 / secs);
    println!(
        "  {:>12.0} samples/s (flow + counter)",
        samples as f64 / secs
    );
    println!("  decode errors: {errors}");
}
