//! Decodes every datagram of the shared third-party captures.

mod common;

use rtflow_testkit::{Shared, require_shared, shared_capture};

use rtflow_sflow::{CounterRecord, Datagram, DatagramBuilder, DecodeError, FlowRecord, Sample};

#[derive(Debug, Default)]
struct Stats {
    datagrams: usize,
    not_v5: usize,
    flow_samples: usize,
    counter_samples: usize,
    discard_samples: usize,
    other_samples: usize,
    flow_records: usize,
    counter_records: usize,
    unknown_records: usize,
    errors: Vec<String>,
}

fn decode_all(payloads: &[Vec<u8>]) -> Stats {
    let mut stats = Stats::default();
    for payload in payloads {
        stats.datagrams += 1;
        let datagram = match Datagram::decode(payload) {
            Ok(d) => d,
            Err(DecodeError::NotSflowV5 { .. }) => {
                stats.not_v5 += 1;
                continue;
            }
            Err(e) => {
                stats.errors.push(e.to_string());
                continue;
            }
        };
        for sample in datagram.samples() {
            match sample {
                Ok(Sample::Flow(s)) => {
                    stats.flow_samples += 1;
                    count_flow_records(s.records(), &mut stats);
                }
                Ok(Sample::Discard(s)) => {
                    stats.discard_samples += 1;
                    count_flow_records(s.records(), &mut stats);
                }
                Ok(Sample::Counter(s)) => {
                    stats.counter_samples += 1;
                    for record in s.records() {
                        match record {
                            Ok(CounterRecord::Unknown(_)) => stats.unknown_records += 1,
                            Ok(_) => stats.counter_records += 1,
                            Err(e) => stats.errors.push(e.to_string()),
                        }
                    }
                }
                Ok(Sample::Unknown(_)) => stats.other_samples += 1,
                Err(e) => stats.errors.push(e.to_string()),
            }
        }
    }
    stats
}

fn count_flow_records(records: rtflow_sflow::FlowRecords<'_>, stats: &mut Stats) {
    for record in records {
        match record {
            Ok(FlowRecord::Unknown(_)) => stats.unknown_records += 1,
            Ok(_) => stats.flow_records += 1,
            Err(e) => stats.errors.push(e.to_string()),
        }
    }
}

#[test]
fn ecmp_counts_match_sflowtool_and_tshark() {
    let payloads = common::udp_payloads(&shared_capture!("ecmp.pcap"));
    let stats = decode_all(&payloads);
    assert_eq!(stats.datagrams, 9_279);
    assert_eq!(stats.flow_samples, 52_785);
    assert_eq!(stats.counter_samples, 3_682);
    assert_eq!(stats.not_v5, 0);
    assert!(
        stats.errors.is_empty(),
        "{:?}",
        &stats.errors[..stats.errors.len().min(5)]
    );
    // The Broadcom ASIC table record (4413:3) is decoded, not left opaque.
    let broadcom = payloads
        .iter()
        .filter_map(|p| Datagram::decode(p).ok())
        .flat_map(|d| d.samples().collect::<Vec<_>>())
        .filter_map(|s| match s {
            Ok(Sample::Counter(c)) => Some(c),
            _ => None,
        })
        .flat_map(|c| c.records().collect::<Vec<_>>())
        .filter(|r| matches!(r, Ok(CounterRecord::BroadcomTables(_))))
        .count();
    assert!(broadcom > 0);
}

#[test]
fn every_capture_decodes_without_panic() {
    let dir = require_shared!(Shared::Captures);
    for path in common::all_captures(&dir) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let stats = decode_all(&common::udp_payloads(&path));
        eprintln!("{name}: {stats:?}");
        assert!(stats.datagrams > 0, "{name}: no UDP datagrams found");
        match name.as_str() {
            "malformed/sflow_print-segv.pcap" => {
                assert!(
                    !stats.errors.is_empty(),
                    "{name}: malformed datagram accepted"
                );
            }
            "tcpdump_sflow_multiple_counter_30_pdus.pcap" => {
                assert_eq!(stats.datagrams, 30);
                assert_eq!(stats.not_v5, 5);
                assert!(stats.errors.is_empty(), "{name}: {:?}", stats.errors);
            }
            _ => {
                assert_eq!(stats.not_v5, 0, "{name}");
                assert!(stats.errors.is_empty(), "{name}: {:?}", stats.errors);
            }
        }
    }
}

/// The generated captures of tests/data (always present) decode to what their generator put in.
#[test]
fn generated_captures_decode_to_their_manifest_counts() {
    let entries = rtflow_testkit::manifest();
    let classic: Vec<_> = entries
        .iter()
        .filter(|e| e.name.ends_with(".pcap"))
        .collect();
    assert!(classic.len() >= 4, "{entries:?}");
    for entry in classic {
        let stats = decode_all(&common::udp_payloads(&entry.path()));
        let name = &entry.name;
        let count = |key| entry.count(key) as usize;
        assert_eq!(stats.datagrams, count("datagrams"), "{name}");
        assert_eq!(stats.not_v5, count("not_sflow_v5"), "{name}");
        if count("malformed") > 0 {
            // One error per broken datagram (samples before the break decode), each naming where.
            assert_eq!(stats.errors.len(), count("malformed"), "{name}");
            assert!(
                stats.errors.iter().all(|e| e.contains(" at offset ")),
                "{name}: {:?}",
                stats.errors
            );
            continue;
        }
        assert!(stats.errors.is_empty(), "{name}: {:?}", stats.errors);
        let samples = (
            stats.flow_samples,
            stats.counter_samples,
            stats.discard_samples,
            stats.other_samples,
        );
        let expected = (
            count("flow_samples"),
            count("counter_samples"),
            count("discard_samples"),
            count("other_samples"),
        );
        assert_eq!(samples, expected, "{name}");
    }
}

/// Every datagram of the generated captures re-encodes to its own bytes (their padding is zero).
#[test]
fn generated_captures_re_encode_byte_for_byte() {
    for path in common::all_captures(&rtflow_testkit::data_dir()) {
        let mut rebuilt_any = false;
        for payload in common::udp_payloads(&path) {
            let Some(rebuilt) = rebuild(&payload) else {
                continue;
            };
            assert!(rebuilt == payload, "{}", path.display());
            rebuilt_any = true;
        }
        assert!(
            rebuilt_any || path.ends_with("malformed.pcap"),
            "{}",
            path.display()
        );
    }
}

/// The datagram rebuilt from its decoded samples and records (`None` if it does not decode).
fn rebuild(payload: &[u8]) -> Option<Vec<u8>> {
    let datagram = Datagram::decode(payload).ok()?;
    let mut builder = DatagramBuilder::new(datagram.header);
    let mut samples = datagram.samples();
    for sample in samples.by_ref() {
        match sample.ok()? {
            Sample::Flow(s) => {
                let records: Vec<_> = s.records().collect::<Result<_, _>>().ok()?;
                builder.flow_sample(&s.info, &records);
            }
            Sample::Counter(s) => {
                let records: Vec<_> = s.records().collect::<Result<_, _>>().ok()?;
                builder.counter_sample(&s.info, &records);
            }
            Sample::Discard(s) => {
                let records: Vec<_> = s.records().collect::<Result<_, _>>().ok()?;
                builder.discard_sample(&s.info, &records);
            }
            other => {
                builder.sample(&other);
            }
        }
    }
    // Some test captures carry bytes after the declared samples; they are not re-encoded.
    let mut rebuilt = builder.finish();
    rebuilt.extend_from_slice(samples.remaining_bytes());
    Some(rebuilt)
}

#[test]
fn malformed_capture_error_names_location_and_offset() {
    let payloads = common::udp_payloads(&shared_capture!("malformed/sflow_print-segv.pcap"));
    let stats = decode_all(&payloads);
    for error in &stats.errors {
        assert!(error.contains(" at offset "), "{error}");
    }
}

#[test]
fn expanded_sample_fields_match_sflowtool_output() {
    let payloads = common::udp_payloads(&shared_capture!("tcpdump_sflow_expanded.pcap"));
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].len(), 328); // datagramSize
    let datagram = Datagram::decode(&payloads[0]).unwrap();
    assert_eq!(datagram.header.agent.to_string(), "49.49.49.49");
    assert_eq!(datagram.header.sub_agent_id, 0);
    assert_eq!(datagram.header.sequence_number, 115_694_180);
    assert_eq!(datagram.header.uptime_ms, 3_465_002_224);
    assert_eq!(datagram.num_samples(), 1);
    let samples: Vec<_> = datagram.samples().collect::<Result<_, _>>().unwrap();
    let Sample::Flow(flow) = samples[0] else {
        panic!("expected a flow sample")
    };
    assert_eq!(samples[0].tag().to_string(), "0:3");
    assert_eq!(flow.info.sequence_number, 2_170_480_284);
    assert_eq!(flow.info.source_id.to_string(), "0:11001");
    assert_eq!(flow.info.sampling_rate, 1000);
    assert_eq!(flow.info.sample_pool, 1_521_799_520);
    assert_eq!(flow.info.drops, 0);
    assert_eq!(flow.info.input.value, 29001);
    assert_eq!(flow.info.output.value, 1_285_816_721);

    let records: Vec<_> = flow.records().collect::<Result<_, _>>().unwrap();
    let tags: Vec<String> = records.iter().map(|r| r.tag().to_string()).collect();
    assert_eq!(tags, ["0:1", "0:1003", "0:1002"]);
    let FlowRecord::SampledHeader(h) = records[0] else {
        panic!()
    };
    assert_eq!(
        (h.protocol, h.frame_length, h.stripped, h.header.len()),
        (1, 126, 4, 122)
    );
    assert_eq!(&h.header[..6], &[0x22, 0x42, 0x1f, 0x4a, 0x9f, 0xcd]);
    assert_eq!(&h.header[118..], &[0x33, 0xac, 0xfb, 0xfe]);
    let FlowRecord::ExtendedGateway(g) = records[1] else {
        panic!()
    };
    assert_eq!(g.next_hop.to_string(), "54.54.54.54");
    assert_eq!(
        (g.as_number, g.src_as, g.src_peer_as),
        (28976, 203_476, 203_476)
    );
    assert_eq!(
        g.dst_as_path.asns().collect::<Vec<_>>(),
        [8218, 29605, 203_361]
    );
    assert_eq!((g.dst_as(), g.dst_peer_as()), (203_361, 8218));
    assert_eq!(
        g.communities.iter().collect::<Vec<_>>(),
        [538_574_949, 1_911_619_684, 1_911_669_584, 1_911_671_290]
    );
    assert_eq!(g.local_pref, 100);
    let FlowRecord::ExtendedRouter(r) = records[2] else {
        panic!()
    };
    assert_eq!(r.next_hop.to_string(), "54.54.54.54");
    assert_eq!((r.src_mask_len, r.dst_mask_len), (32, 22));
}

#[test]
fn ipv6_agent_is_decoded() {
    let payloads = common::udp_payloads(&shared_capture!("tcpdump_sflow-print-v6.pcap"));
    let datagram = Datagram::decode(&payloads[0]).unwrap();
    assert!(matches!(
        datagram.header.agent,
        rtflow_sflow::Address::V6(_)
    ));
}

#[test]
fn discard_sample_is_decoded() {
    let payloads = common::udp_payloads(&shared_capture!(
        "telegraf/sflow_issue_15375_sflow_drop_1036.pcap"
    ));
    let datagram = Datagram::decode(&payloads[0]).unwrap();
    let discard = datagram
        .samples()
        .find_map(|s| match s {
            Ok(Sample::Discard(d)) => Some(d),
            _ => None,
        })
        .expect("a discard sample");
    let records: Vec<_> = discard.records().collect::<Result<_, _>>().unwrap();
    eprintln!("{:?}\n{records:?}", discard.info);
    assert!(
        records
            .iter()
            .any(|r| r.tag().format == 1036 || r.tag().format == 1)
    );
}

/// Debug rendering of a datagram with every sample and record decoded.
fn deep_decode(payload: &[u8]) -> String {
    let datagram = Datagram::decode(payload).unwrap();
    let mut out = format!("{:?}\n", datagram.header);
    for sample in datagram.samples() {
        let sample = sample.unwrap();
        out += &format!("{:?}\n", sample.tag());
        match sample {
            Sample::Flow(s) => {
                out += &format!("{:?}\n", s.info);
                s.records().for_each(|r| out += &format!("{r:?}\n"));
            }
            Sample::Discard(s) => {
                out += &format!("{:?}\n", s.info);
                s.records().for_each(|r| out += &format!("{r:?}\n"));
            }
            Sample::Counter(s) => {
                out += &format!("{:?}\n", s.info);
                s.records().for_each(|r| out += &format!("{r:?}\n"));
            }
            Sample::Unknown(o) => out += &format!("{o:?}\n"),
        }
    }
    out
}

/// Rebuilding each sample from its decoded records reproduces the original bytes exactly, which
/// checks every decoder against its encoder on real data.
#[test]
fn captures_re_encode_byte_for_byte() {
    let dir = require_shared!(Shared::Captures);
    for path in common::all_captures(&dir) {
        if path.ends_with("malformed/sflow_print-segv.pcap") {
            continue;
        }
        for payload in common::udp_payloads(&path) {
            let Some(rebuilt) = rebuild(&payload) else {
                continue;
            };
            // XDR padding is written as zeros; a few agents leave garbage in it, so where bytes
            // differ the lengths and the fully decoded structures must still be identical.
            assert_eq!(rebuilt.len(), payload.len(), "{}", path.display());
            if rebuilt != payload {
                assert_eq!(
                    deep_decode(&rebuilt),
                    deep_decode(&payload),
                    "{}",
                    path.display()
                );
            }
        }
    }
}

/// Throughput smoke check (run with `--release -- --ignored --nocapture`); the real benchmark
/// lives elsewhere.
#[test]
#[ignore]
fn ecmp_decode_throughput() {
    let payloads = common::udp_payloads(&shared_capture!("ecmp.pcap"));
    let rounds = 50;
    let start = std::time::Instant::now();
    let mut records = 0usize;
    for _ in 0..rounds {
        for payload in &payloads {
            let datagram = Datagram::decode(payload).unwrap();
            for sample in datagram.samples() {
                match sample.unwrap() {
                    Sample::Flow(s) => records += s.records().filter(Result::is_ok).count(),
                    Sample::Counter(s) => records += s.records().filter(Result::is_ok).count(),
                    _ => {}
                }
            }
        }
    }
    let per_second = (rounds * payloads.len()) as f64 / start.elapsed().as_secs_f64();
    eprintln!("{per_second:.0} datagrams/s ({records} records)");
    assert!(records > 0);
}
