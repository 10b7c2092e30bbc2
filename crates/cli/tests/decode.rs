//! `rtflow decode` end to end: sflowtool's spec examples, tshark/tcpdump cross-checks on the
//! shared captures, live UDP (IPv4 and IPv6), bad input and JSON escaping.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    FlowRecord, FlowSampleInfo, HostDescription, Interface, PortName, SampledHeader,
};
use serde_json::Value;

mod common;

use common::{RTFLOW, pipe_into, spec_block};
use rtflow_testkit::{Shared, require_shared, shared_capture};

/// Runs `rtflow decode ARGS`; returns (stdout, stderr), asserting exit code 0.
fn decode(args: &[&str]) -> (Vec<u8>, String) {
    let output = Command::new(RTFLOW)
        .arg("decode")
        .args(args)
        .output()
        .expect("run rtflow");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "rtflow decode {args:?} failed: {stderr}"
    );
    (output.stdout, stderr)
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each -j line is valid JSON"))
        .collect()
}

#[test]
fn text_output_matches_the_spec_example_line_for_line() {
    let path = shared_capture!("tcpdump_sflow_expanded.pcap");
    let spec = require_shared!(Shared::Spec);
    let (stdout, _) = decode(&["-r", path.to_str().unwrap()]);
    let ours = String::from_utf8(stdout).unwrap();
    let expected = spec_block(&spec, "## default text");
    // For file input sflowtool prints `datagramSourceIP -` and the epoch as receive time; we do
    // the same, so no line needs to be excluded.
    assert_eq!(
        ours.lines().collect::<Vec<_>>(),
        expected.lines().collect::<Vec<_>>()
    );
}

#[test]
fn json_output_matches_the_spec_example() {
    let path = shared_capture!("tcpdump_sflow_expanded.pcap");
    let spec = require_shared!(Shared::Spec);
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    let expected: Value = serde_json::from_str(spec_block(&spec, "## -j").trim()).unwrap();
    assert_eq!(json_lines(&stdout), vec![expected]);
    // Compact form: exactly one line per datagram.
    assert_eq!(stdout.iter().filter(|&&b| b == b'\n').count(), 1);
}

#[test]
fn pretty_json_parses_to_the_same_document() {
    let path = shared_capture!("tcpdump_sflow_expanded.pcap");
    let (compact, _) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    let (pretty, _) = decode(&["-r", path.to_str().unwrap(), "-J"]);
    let pretty: Value = serde_json::from_slice(&pretty).expect("-J output is valid JSON");
    assert_eq!(vec![pretty], json_lines(&compact));
}

struct TsharkDatagram {
    malformed: bool,
    sequence: String,
    agent: String,
    num_samples: usize,
    flow_sequences: Vec<String>,
    sampling_rates: Vec<String>,
    counter_sequences: Vec<String>,
}

fn tshark_datagrams(path: &Path) -> Vec<TsharkDatagram> {
    let output = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
        ])
        .args([
            "-e",
            "_ws.malformed",
            "-e",
            "sflow_245.sequence_number",
            "-e",
            "sflow_245.agent",
        ])
        .args(["-e", "sflow_245.agent.v6"])
        .args([
            "-e",
            "sflow_245.numsamples",
            "-e",
            "sflow.flow_sample.sequence_number",
        ])
        .args([
            "-e",
            "sflow.flow_sample.sampling_rate",
            "-e",
            "sflow.counters_sample.sequence_number",
        ])
        .output()
        .expect("tshark must be installed (apt install tshark)");
    assert!(output.status.success());
    let list = |s: &str| -> Vec<String> {
        s.split('|')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            TsharkDatagram {
                malformed: !f[0].is_empty(),
                sequence: f[1].to_string(),
                // IPv4 or IPv6 agent, whichever tshark filled in.
                agent: format!("{}{}", f[2], f[3]),
                num_samples: f[4].parse().unwrap_or(0),
                flow_sequences: list(f[5]),
                sampling_rates: list(f[6]),
                // tshark repeats the counter sample sequence number per record: dedupe runs.
                counter_sequences: list(f[7]),
            }
        })
        .collect()
}

/// Whether the JSON string `ours` and `theirs` name the same IP address.
fn same_address(ours: &Value, theirs: &str) -> Option<bool> {
    let ours: std::net::IpAddr = ours.as_str()?.parse().ok()?;
    Some(theirs.parse::<std::net::IpAddr>().ok()? == ours)
}

fn samples_of<'a>(datagram: &'a Value, kind: &str) -> Vec<&'a Value> {
    datagram["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["sampleType"] == kind)
        .collect()
}

fn field_list(samples: &[&Value], name: &str) -> Vec<String> {
    samples
        .iter()
        .map(|s| s[name].as_str().unwrap().to_string())
        .collect()
}

/// Counts and per-sample fields of our `-j` output against tshark, datagram by datagram.
/// tshark 4.0 gives up ("malformed") on counter samples holding host structures; for those
/// datagrams only the header fields it did dissect are compared.
fn cross_check_with_tshark(path: &Path) -> (usize, usize, usize) {
    let name = path.display();
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-j", "-q"]);
    let ours = json_lines(&stdout);
    let theirs: Vec<_> = tshark_datagrams(path)
        .into_iter()
        .filter(|t| !t.sequence.is_empty())
        .collect();
    assert_eq!(ours.len(), theirs.len(), "{name}: datagram count");
    let (mut flows, mut counters, mut fully_compared) = (0, 0, 0);
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(o["packetSequenceNo"], t.sequence.as_str(), "{name} #{i}");
        // tshark writes IPv6 agents compressed, sflowtool (and rtflow) uncompressed.
        assert_eq!(
            same_address(&o["agent"], &t.agent),
            Some(true),
            "{name} #{i}: {} vs {}",
            o["agent"],
            t.agent
        );
        assert_eq!(
            o["samplesInPacket"],
            t.num_samples.to_string().as_str(),
            "{name} #{i}"
        );
        let flow = samples_of(o, "FLOWSAMPLE");
        let cntr = samples_of(o, "COUNTERSSAMPLE");
        flows += flow.len();
        counters += cntr.len();
        if t.malformed {
            continue;
        }
        fully_compared += 1;
        assert_eq!(
            field_list(&flow, "sampleSequenceNo"),
            t.flow_sequences,
            "{name} #{i}"
        );
        assert_eq!(
            field_list(&flow, "meanSkipCount"),
            t.sampling_rates,
            "{name} #{i}"
        );
        let mut counter_sequences = t.counter_sequences.clone();
        counter_sequences.dedup();
        let mut ours_counter = field_list(&cntr, "sampleSequenceNo");
        ours_counter.dedup();
        assert_eq!(ours_counter, counter_sequences, "{name} #{i}");
    }
    (flows, counters, fully_compared)
}

#[test]
fn ecmp_counts_and_fields_agree_with_tshark() {
    let (flows, counters, compared) = cross_check_with_tshark(&shared_capture!("ecmp.pcap"));
    assert_eq!((flows, counters), (52_785, 3_682));
    // tshark gives up on 40 datagrams (host counter structures before the flow samples).
    assert!(
        compared >= 9_279 - 40,
        "tshark dissected only {compared} datagrams fully"
    );
}

#[test]
fn other_captures_agree_with_tshark() {
    let dir = require_shared!(Shared::Captures);
    for name in [
        "tcpdump_sflow_expanded.pcap",
        "tcpdump_sflow-print-v6.pcap",
        "sflow-parser_sflow.pcap",
        "loadme_sflow.pcap",
        "loghub_sflow.pcap",
        "overflowd_sflow.pcap",
        "oxyflow_sflow.pcap",
    ] {
        let (flows, counters, _) = cross_check_with_tshark(&dir.join(name));
        assert!(flows + counters > 0, "{name}: no samples decoded");
    }
}

#[test]
fn sampled_header_addresses_agree_with_tshark() {
    let compared = sampled_header_addresses_compared_with_tshark(&shared_capture!("ecmp.pcap"));
    assert!(compared > 1_000, "only {compared} sampled headers compared");
}

/// Compares the sampled headers' IPv4 addresses of the first 500 datagrams of `path` as our
/// JSON decodes them with tshark's dissection; returns how many were compared.
fn sampled_header_addresses_compared_with_tshark(path: &Path) -> usize {
    // ip.src/ip.dst of tshark's dissection of each sampled header (the outer UDP/IP first).
    let output = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-c",
            "500",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
        ])
        .args(["-E", "aggregator=|", "-e", "ip.src", "-e", "ip.dst"])
        .output()
        .expect("tshark");
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-j", "-c", "500"]);
    let ours = json_lines(&stdout);
    let mut compared = 0;
    for (o, line) in ours
        .iter()
        .zip(String::from_utf8(output.stdout).unwrap().lines())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (src, dst): (Vec<&str>, Vec<&str>) =
            (f[0].split('|').collect(), f[1].split('|').collect());
        let elements = samples_of(o, "FLOWSAMPLE")
            .into_iter()
            .flat_map(|s| s["elements"].as_array().unwrap())
            .filter(|e| e.get("srcIP").is_some())
            .collect::<Vec<_>>();
        let our_src: Vec<&str> = elements
            .iter()
            .map(|e| e["srcIP"].as_str().unwrap())
            .collect();
        let our_dst: Vec<&str> = elements
            .iter()
            .map(|e| e["dstIP"].as_str().unwrap())
            .collect();
        // Inner ICMP-quoted headers would add extra addresses on tshark's side: skip those.
        if src.len() == our_src.len() + 1 {
            assert_eq!(&src[1..], &our_src[..]);
            assert_eq!(&dst[1..], &our_dst[..]);
            compared += our_src.len();
        }
    }
    compared
}

#[test]
fn netflow_payloads_are_reported_as_not_sflow() {
    let path = shared_capture!("tcpdump_sflow_multiple_counter_30_pdus.pcap");
    let (stdout, stderr) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    // One line per datagram, as sflowtool: the NetFlow ones hold the datagram fields only.
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 30);
    let netflow: Vec<&Value> = lines.iter().filter(|d| d.get("agent").is_none()).collect();
    assert_eq!(netflow.len(), 5);
    for doc in netflow {
        // NetFlow v5: version 5 and the record count in the first word.
        let version: u32 = doc["datagramVersion"].as_str().unwrap().parse().unwrap();
        assert_eq!(version >> 16, 5, "{doc}");
        assert!(doc.get("samples").is_none());
    }
    assert_eq!(
        stderr
            .matches("not an sFlow datagram (version word ")
            .count(),
        5,
        "{stderr}"
    );
    assert!(
        stderr.contains("30 datagrams: 25 decoded, 5 not sFlow, 0 malformed"),
        "{stderr}"
    );
}

#[test]
fn csv_counter_lines_have_sflowtool_columns() {
    let path = shared_capture!("ecmp.pcap");
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-l", "-q"]);
    let text = String::from_utf8(stdout).unwrap();
    let flows = text.lines().filter(|l| l.starts_with("FLOW,")).count();
    let cntrs: Vec<&str> = text.lines().filter(|l| l.starts_with("CNTR,")).collect();
    assert_eq!((flows, cntrs.len()), (52_785, 3_682));
    // The spec's first CNTR line appears verbatim (agent, ifIndex, type, speed, ... 21 columns).
    let spec = spec_block(&require_shared!(Shared::Spec), "## -l");
    let first = spec.lines().next().unwrap();
    assert!(cntrs.contains(&first), "missing {first}");
    assert!(
        text.lines()
            .filter(|l| l.starts_with("FLOW,"))
            .all(|l| l.split(',').count() == 20)
    );
}

#[test]
fn pcap_stream_has_one_packet_per_sampled_header_for_tcpdump_and_tshark() {
    let path = shared_capture!("ecmp.pcap");
    let (pcap, _) = decode(&["-r", path.to_str().unwrap(), "-t", "-q"]);
    let tcpdump = pipe_into(&["tcpdump", "-r", "-", "-nn"], &pcap);
    let lines: Vec<&str> = tcpdump.lines().collect();
    assert_eq!(lines.len(), 52_785);
    // The first sampled header's addresses, as our JSON decodes them.
    let (json, _) = decode(&["-r", path.to_str().unwrap(), "-j", "-c", "100"]);
    let docs = json_lines(&json);
    let first_flow = docs
        .iter()
        .find_map(|d| samples_of(d, "FLOWSAMPLE").first().copied())
        .expect("a flow sample among the first datagrams");
    let element = first_flow["elements"][0].clone();
    let (src, dst) = (
        element["srcIP"].as_str().unwrap(),
        element["dstIP"].as_str().unwrap(),
    );
    assert!(
        lines[0].contains(src) && lines[0].contains(dst),
        "{} vs {src} {dst}",
        lines[0]
    );
    let tshark = pipe_into(&["tshark", "-r", "-"], &pcap);
    assert_eq!(tshark.lines().count(), 52_785);
    // -c stops after COUNT packets, like tcpdump.
    let (limited, _) = decode(&["-r", path.to_str().unwrap(), "-t", "-c", "10", "-q"]);
    assert_eq!(
        pipe_into(&["tcpdump", "-r", "-", "-nn"], &limited)
            .lines()
            .count(),
        10
    );
}

fn datagram_with_strings(sequence: u32, hostname: &[u8], port_name: &[u8]) -> Vec<u8> {
    let header = [0u8; 14];
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(10, 1, 2, 3)),
        sub_agent_id: 7,
        sequence_number: sequence,
        uptime_ms: 1000,
    });
    builder.flow_sample(
        &FlowSampleInfo {
            sequence_number: 5,
            source_id: DataSource { class: 0, index: 3 },
            sampling_rate: 512,
            sample_pool: 1024,
            input: Interface::index(3),
            output: Interface::index(4),
            ..Default::default()
        },
        &[FlowRecord::SampledHeader(SampledHeader {
            protocol: 1,
            frame_length: 64,
            stripped: 4,
            header: &header,
        })],
    );
    builder.counter_sample(
        &CounterSampleInfo {
            expanded: false,
            sequence_number: 9,
            source_id: DataSource { class: 2, index: 1 },
        },
        &[
            CounterRecord::HostDescription(HostDescription {
                hostname,
                uuid: [0x11; 16],
                machine_type: 3,
                os_name: 2,
                os_release: b"6.1",
            }),
            CounterRecord::PortName(PortName { name: port_name }),
        ],
    );
    builder.finish()
}

/// Writes a classic pcap holding `payloads` as UDP datagrams to port 6343.
fn write_pcap(path: &Path, payloads: &[Vec<u8>]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer =
        rtflow_capture::PcapWriter::new(file, rtflow_capture::LinkType::ETHERNET, 0).unwrap();
    for (i, payload) in payloads.iter().enumerate() {
        let frame = rtflow_capture::build_udp_frame(
            "192.0.2.1:5000".parse().unwrap(),
            "192.0.2.2:6343".parse().unwrap(),
            payload,
        )
        .unwrap();
        let ts = rtflow_capture::Timestamp::new(1_700_000_000 + i as u64, 0);
        writer.write_packet(ts, frame.len() as u32, &frame).unwrap();
    }
}

#[test]
fn json_stays_valid_with_quotes_and_backslashes_in_agent_strings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strings.pcap");
    let hostname = b"evil\"host\\name\n\x01\xff";
    let port_name = b"eth\"0\\";
    write_pcap(&path, &[datagram_with_strings(1, hostname, port_name)]);
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    let doc = json_lines(&stdout).remove(0);
    let elements = &samples_of(&doc, "COUNTERSSAMPLE")[0]["elements"];
    assert_eq!(elements[0]["hostname"], "evil\"host\\name\n\u{1}\u{fffd}");
    assert_eq!(elements[0]["UUID"], "11111111-1111-1111-1111-111111111111");
    assert_eq!(elements[0]["os_release"], "6.1");
    assert_eq!(elements[1]["counterBlock_tag"], "0:1005");
    assert_eq!(elements[1]["ifName"], "eth\"0\\");
    let (pretty, _) = decode(&["-r", path.to_str().unwrap(), "-J"]);
    let pretty: Value = serde_json::from_slice(&pretty).expect("-J stays valid JSON");
    assert_eq!(pretty, doc);
}

#[test]
fn malformed_datagram_is_reported_with_offset_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pcap");
    let good = datagram_with_strings(1, b"host", b"eth0");
    let truncated = good[..good.len() - 10].to_vec();
    let later = datagram_with_strings(3, b"host", b"eth0");
    write_pcap(&path, &[good.clone(), truncated, later]);
    let (stdout, stderr) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    let docs = json_lines(&stdout);
    let sequences: Vec<&str> = docs
        .iter()
        .map(|d| d["packetSequenceNo"].as_str().unwrap())
        .collect();
    assert_eq!(sequences, ["1", "3"]);
    let report = stderr
        .lines()
        .find(|l| l.contains("#2"))
        .expect("report for datagram #2");
    assert!(report.contains("at offset"), "{report}");
    assert!(report.contains("192.0.2.1"), "{report}");
    assert!(
        stderr.contains("3 datagrams: 2 decoded, 0 not sFlow, 1 malformed"),
        "{stderr}"
    );
}

#[test]
fn unreadable_input_fails_and_missing_captures_dir_is_loud() {
    let output = Command::new(RTFLOW)
        .args(["decode", "-r", "/nonexistent/file.pcap"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    // One line naming the file once and the OS error once (no cause repeated along the chain).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("/nonexistent/file.pcap").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");
}

#[test]
fn live_udp_decodes_ipv4_and_ipv6_senders() {
    let mut child = Command::new(RTFLOW)
        .args(["decode", "-p", "0", "-j"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut received = Vec::new();
    for (sequence, (bind, target)) in [("127.0.0.1:0", "127.0.0.1"), ("[::1]:0", "::1")]
        .iter()
        .enumerate()
    {
        let socket = UdpSocket::bind(bind).unwrap();
        let datagram = datagram_with_strings(sequence as u32 + 10, b"h", b"p");
        socket.send_to(&datagram, (*target, port)).unwrap();
        let mut json = String::new();
        stdout.read_line(&mut json).unwrap();
        received.push((
            serde_json::from_str::<Value>(&json).unwrap(),
            socket.local_addr().unwrap(),
        ));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    for (i, (doc, from)) in received.iter().enumerate() {
        let source = match from.ip() {
            std::net::IpAddr::V6(ip) => rtflow_packet::format::Ipv6Full(ip).to_string(),
            ip => ip.to_string(),
        };
        assert_eq!(doc["datagramSourceIP"], source.as_str());
        assert_eq!(doc["packetSequenceNo"], (10 + i).to_string().as_str());
        assert_eq!(doc["agent"], "10.1.2.3");
        assert!(doc.get("pcapTimestamp").is_none());
        let secs: u64 = doc["unixSecondsUTC"].as_str().unwrap().parse().unwrap();
        assert!(secs > 1_600_000_000);
        let flow = &samples_of(doc, "FLOWSAMPLE")[0];
        assert_eq!(flow["meanSkipCount"], "512");
        assert_eq!(flow["elements"][0]["sampledPacketSize"], "64");
    }
}

// ---- the generated captures of tests/data (always present) ----

fn manifest_count(name: &str, key: &str) -> usize {
    rtflow_testkit::manifest_entry(name).count(key) as usize
}

#[test]
fn generated_fabric_counts_and_fields_agree_with_tshark() {
    let path = rtflow_testkit::data_file("fabric.pcap");
    let (flows, counters, compared) = cross_check_with_tshark(&path);
    let count = |key| manifest_count("fabric.pcap", key);
    assert_eq!(
        (flows, counters),
        (count("flow_samples"), count("counter_samples"))
    );
    // tshark 4.0 gives up on the datagrams with host counter structures (one per switch every
    // 20 s): all others are compared field by field.
    let with_host_counters = 4 * 120 / 20;
    assert!(
        compared >= count("datagrams") - with_host_counters,
        "tshark dissected only {compared} datagrams fully"
    );
    let addresses = sampled_header_addresses_compared_with_tshark(&path);
    assert!(
        addresses > 1_000,
        "only {addresses} sampled headers compared"
    );
}

#[test]
fn generated_records_agree_with_tshark_where_it_dissects() {
    let path = rtflow_testkit::data_file("records.pcap");
    let (flows, counters, _) = cross_check_with_tshark(&path);
    let count = |key| manifest_count("records.pcap", key);
    assert_eq!(
        (flows, counters),
        (count("flow_samples"), count("counter_samples"))
    );
}

#[test]
fn generated_mixed_capture_reports_what_is_not_sflow_v5() {
    let path = rtflow_testkit::data_file("mixed.pcap");
    let (stdout, stderr) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    let count = |key| manifest_count("mixed.pcap", key);
    // One JSON line per datagram: payloads that are not sFlow get sflowtool's header-only record, and sFlow
    // v2/v4 datagrams are decoded as sflowtool does.
    assert_eq!(json_lines(&stdout).len(), count("datagrams"));
    let not_sflow = count("not_sflow_v5") - count("sflow_legacy");
    assert_eq!(
        stderr.matches("not an sFlow datagram").count(),
        not_sflow,
        "{stderr}"
    );
    let summary = format!(
        "{} datagrams: {} decoded, {not_sflow} not sFlow, 0 malformed",
        count("datagrams"),
        count("sflow_v5") + count("sflow_legacy"),
    );
    assert!(stderr.contains(&summary), "{stderr}");
}

#[test]
fn generated_malformed_datagrams_are_each_reported_with_their_offset() {
    let path = rtflow_testkit::data_file("malformed.pcap");
    let (stdout, stderr) = decode(&["-r", path.to_str().unwrap(), "-j"]);
    assert!(stdout.is_empty());
    let broken = manifest_count("malformed.pcap", "malformed");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": skipped: "))
        .collect();
    assert_eq!(reports.len(), broken, "{stderr}");
    for (i, report) in reports.iter().enumerate() {
        assert!(
            report.contains(&format!("datagram #{} ", i + 1)),
            "{report}"
        );
        assert!(report.contains(" at offset "), "{report}");
    }
    let summary = format!("{broken} datagrams: 0 decoded, 0 not sFlow, {broken} malformed");
    assert!(stderr.contains(&summary), "{stderr}");
}

#[test]
fn generated_fabric_csv_has_a_line_per_sample() {
    let path = rtflow_testkit::data_file("fabric.pcap");
    let (stdout, _) = decode(&["-r", path.to_str().unwrap(), "-l", "-q"]);
    let text = String::from_utf8(stdout).unwrap();
    let flows: Vec<&str> = text.lines().filter(|l| l.starts_with("FLOW,")).collect();
    let cntrs: Vec<&str> = text.lines().filter(|l| l.starts_with("CNTR,")).collect();
    let count = |key| manifest_count("fabric.pcap", key);
    assert_eq!(
        (flows.len(), cntrs.len()),
        (count("flow_samples"), count("counter_samples"))
    );
    assert!(flows.iter().all(|l| l.split(',').count() == 20));
    // Every FLOW line is one of the generated transfers or its ACK stream, 1-in-200,000.
    let pairs = [
        "10.4.1.2,10.4.2.2",
        "10.4.2.2,10.4.1.2",
        "10.4.3.2,10.4.4.2",
        "10.4.4.2,10.4.3.2",
    ];
    for line in &flows {
        let c: Vec<&str> = line.split(',').collect();
        assert!(
            pairs.contains(&format!("{},{}", c[9], c[10]).as_str()),
            "{line}"
        );
        assert_eq!(c[c.len() - 1], "200000", "{line}");
    }
}

#[test]
fn generated_fabric_sampled_headers_read_in_tcpdump_and_tshark() {
    let path = rtflow_testkit::data_file("fabric.pcap");
    let headers = manifest_count("fabric.pcap", "sampled_headers");
    let (pcap, _) = decode(&["-r", path.to_str().unwrap(), "-t", "-q"]);
    let tcpdump = pipe_into(&["tcpdump", "-r", "-", "-nn"], &pcap);
    let lines: Vec<&str> = tcpdump.lines().collect();
    assert_eq!(lines.len(), headers);
    // Each packet is one of the generated TCP streams, as tcpdump reads it.
    let streams = [
        "10.4.1.2.41000 > 10.4.2.2.5001",
        "10.4.2.2.5001 > 10.4.1.2.41000",
        "10.4.3.2.42000 > 10.4.4.2.5001",
        "10.4.4.2.5001 > 10.4.3.2.42000",
    ];
    for line in &lines {
        assert!(streams.iter().any(|s| line.contains(s)), "{line}");
    }
    let tshark = pipe_into(&["tshark", "-r", "-"], &pcap);
    assert_eq!(tshark.lines().count(), headers);
    let (limited, _) = decode(&["-r", path.to_str().unwrap(), "-t", "-c", "10", "-q"]);
    let limited = pipe_into(&["tcpdump", "-r", "-", "-nn"], &limited);
    assert_eq!(limited.lines().count(), 10);
}
