//! Throughput of `rtflow decode` building blocks on ecmp.pcap's 9,279 datagrams, held in memory
//! and repeated. Run: `cargo bench -p rtflow-sflowtool --bench decode [-- NAME-SUBSTRING]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rtflow_sflow::{Datagram, FlowRecord, Sample};
use rtflow_sflowtool::{DatagramInfo, Format, Formatter, Timestamp};

const MIN_TIME: Duration = Duration::from_secs(2);

fn load(path: &std::path::Path) -> Vec<(Vec<u8>, Timestamp)> {
    let mut reader = rtflow_capture::open(path).expect("readable ecmp.pcap");
    let mut datagrams = Vec::new();
    while let Some(d) = reader.next_datagram().expect("readable capture") {
        datagrams.push((d.payload.to_vec(), d.timestamp));
    }
    datagrams
}

/// Runs `pass` over all datagrams until MIN_TIME has elapsed; prints datagrams/s and samples/s.
fn measure(
    filter: Option<&str>,
    name: &str,
    datagrams: &[(Vec<u8>, Timestamp)],
    samples: u64,
    mut pass: impl FnMut() -> u64,
) {
    if filter.is_some_and(|f| !name.contains(f)) {
        return;
    }
    black_box(pass()); // warm-up
    let start = Instant::now();
    let mut rounds = 0u64;
    let mut check = 0u64;
    while start.elapsed() < MIN_TIME {
        check = check.wrapping_add(pass());
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let per_sec = |n: u64| (n * rounds) as f64 / secs;
    println!(
        "{name:<36} {:>12.0} datagrams/s {:>12.0} samples/s  ({rounds} x {} datagrams, check {check})",
        per_sec(datagrams.len() as u64),
        per_sec(samples),
        datagrams.len()
    );
}

fn codec_only(datagrams: &[(Vec<u8>, Timestamp)], decode_headers: bool) -> u64 {
    let mut n = 0u64;
    let mut fields = rtflow_packet::PacketFields::EMPTY;
    for (bytes, _) in datagrams {
        let Ok(datagram) = Datagram::decode(bytes) else {
            continue;
        };
        for sample in datagram.samples().flatten() {
            n += 1;
            match sample {
                Sample::Flow(flow) => {
                    for record in flow.records().flatten() {
                        if let (true, FlowRecord::SampledHeader(h)) = (decode_headers, &record) {
                            rtflow_packet::decode_into(h.protocol, h.header, &mut fields);
                            black_box(&fields);
                        }
                        black_box(&record);
                    }
                }
                Sample::Counter(counters) => {
                    for record in counters.records().flatten() {
                        black_box(&record);
                    }
                }
                other => {
                    black_box(&other);
                }
            }
        }
    }
    n
}

fn main() {
    // Optional case filter; cargo bench itself passes `--bench`.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let filter = filter.as_deref();
    let Some(ecmp) = rtflow_testkit::shared_capture("ecmp.pcap") else {
        return; // after one skip line
    };
    let datagrams = load(&ecmp);
    let samples = codec_only(&datagrams, false);
    println!(
        "ecmp.pcap: {} datagrams, {samples} samples",
        datagrams.len()
    );
    measure(
        filter,
        "codec (all samples and records)",
        &datagrams,
        samples,
        || codec_only(&datagrams, false),
    );
    measure(
        filter,
        "codec + sampled header decode",
        &datagrams,
        samples,
        || codec_only(&datagrams, true),
    );
    for (name, format) in [
        ("-j JSON into Vec<u8>", Format::Json),
        ("text into Vec<u8>", Format::Text),
    ] {
        let formatter = Formatter::new(format);
        let mut sink = Vec::with_capacity(1 << 20);
        measure(filter, name, &datagrams, samples, || {
            let mut bytes = 0u64;
            for (payload, timestamp) in &datagrams {
                sink.clear();
                let info = DatagramInfo {
                    source: None,
                    received: None,
                    pcap_timestamp: Some(*timestamp),
                };
                let _ = formatter.write_datagram(&info, payload, &mut sink);
                bytes += sink.len() as u64;
            }
            black_box(bytes)
        });
    }
}
