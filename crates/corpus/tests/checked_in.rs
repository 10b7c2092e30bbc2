//! The captures in `tests/data` are exactly what the generator produces, and hold what the
//! manifest says (checked here with the project's decoder and capture reader).

mod common;

use rtflow_sflow::{Datagram, DecodeError, Sample};
use rtflow_testkit::{ManifestEntry, data_dir, manifest};

const REGENERATE: &str = "cargo run -p rtflow-corpus --example regenerate";

#[test]
fn checked_in_files_equal_the_generator_output() {
    let files = rtflow_corpus::data_files();
    for file in &files {
        let path = data_dir().join(file.name);
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `{REGENERATE}`)", path.display()));
        assert!(
            on_disk == file.bytes,
            "{} differs from what the generator produces: run `{REGENERATE}` and commit the result",
            path.display()
        );
    }
    let on_disk = std::fs::read_to_string(data_dir().join("MANIFEST")).unwrap_or_default();
    assert_eq!(
        on_disk,
        rtflow_corpus::manifest(&files),
        "tests/data/MANIFEST is stale: run `{REGENERATE}`"
    );
    // The same generator twice gives the same bytes (no clock, no unseeded randomness).
    let again = rtflow_corpus::data_files();
    assert!(files.iter().zip(&again).all(|(a, b)| a.bytes == b.bytes));
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Decoded {
    datagrams: u64,
    sflow_v5: u64,
    not_sflow_v5: u64,
    sflow_legacy: u64,
    malformed: u64,
    flow_samples: u64,
    counter_samples: u64,
    discard_samples: u64,
    other_samples: u64,
    sampled_headers: u64,
    agents: Vec<String>,
}

fn decode(entry: &ManifestEntry) -> Decoded {
    let mut out = Decoded::default();
    let mut reader = rtflow_capture::open(entry.path()).unwrap_or_else(|e| panic!("{e}"));
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        out.datagrams += 1;
        let datagram = match Datagram::decode(d.payload) {
            Ok(datagram) => datagram,
            Err(DecodeError::NotSflowV5 { .. }) => {
                out.not_sflow_v5 += 1;
                if matches!(d.payload.get(..4), Some([0, 0, 0, 2 | 4])) {
                    out.sflow_legacy += 1;
                }
                continue;
            }
            Err(_) => {
                out.malformed += 1;
                continue;
            }
        };
        let samples: Result<Vec<Sample<'_>>, _> = datagram.samples().collect();
        let Ok(samples) = samples else {
            out.malformed += 1;
            continue;
        };
        out.sflow_v5 += 1;
        let agent = datagram.header.agent.to_string();
        if !out.agents.contains(&agent) {
            out.agents.push(agent);
        }
        for sample in samples {
            match sample {
                Sample::Flow(s) => {
                    out.flow_samples += 1;
                    for record in s.records() {
                        let record = record.unwrap_or_else(|e| panic!("{}: {e}", entry.name));
                        if matches!(record, rtflow_sflow::FlowRecord::SampledHeader(_)) {
                            out.sampled_headers += 1;
                        }
                    }
                }
                Sample::Counter(s) => {
                    out.counter_samples += 1;
                    for record in s.records() {
                        record.unwrap_or_else(|e| panic!("{}: {e}", entry.name));
                    }
                }
                Sample::Discard(s) => {
                    out.discard_samples += 1;
                    for record in s.records() {
                        record.unwrap_or_else(|e| panic!("{}: {e}", entry.name));
                    }
                }
                Sample::Unknown(_) => out.other_samples += 1,
            }
        }
    }
    out
}

#[test]
fn the_decoder_finds_what_the_manifest_lists() {
    let entries = manifest();
    assert!(entries.len() >= 5, "{entries:?}");
    for entry in &entries {
        let expected = Decoded {
            datagrams: entry.count("datagrams"),
            sflow_v5: entry.count("sflow_v5"),
            not_sflow_v5: entry.count("not_sflow_v5"),
            sflow_legacy: entry.count("sflow_legacy"),
            malformed: entry.count("malformed"),
            flow_samples: entry.count("flow_samples"),
            counter_samples: entry.count("counter_samples"),
            discard_samples: entry.count("discard_samples"),
            other_samples: entry.count("other_samples"),
            sampled_headers: entry.count("sampled_headers"),
            agents: entry.agents(),
        };
        assert_eq!(decode(entry), expected, "{}", entry.name);
    }
}

/// records.pcap exercises what the README of tests/data promises (independent of ../shared).
#[test]
fn records_capture_covers_every_sample_type_and_header_stack() {
    let mut inventory = common::Inventory::default();
    inventory.add_capture(&rtflow_testkit::data_file("records.pcap"));
    for item in [
        "agent IPv4",
        "agent IPv6",
        "sample 0:1",
        "sample 0:2",
        "sample 0:3",
        "sample 0:4",
        "sample 0:5",
        "sample 4300:10",
        "input interface local",
        "output interface discarded",
        "output interface multiple",
        "output interface multiple (count unknown)",
        "header protocol 11",
        "header protocol 12",
        "header layer vlan",
        "header layer mpls",
        "header layer arp",
        "header layer gre",
        "header layer vxlan",
        "header layer icmp",
        "header layer icmp6",
        "flow record 9999:2",
        "counter record 9999:1",
        "discard record 0:1036",
    ] {
        assert!(
            inventory.items.contains(item),
            "records.pcap lacks {item:?}: {:?}",
            inventory.items
        );
    }
}
