//! `rtflow decode`'s other sflowtool options end to end: -L, -g, -H, -f, -T, -M, -V/-v, -P, -k.
//! Expected values come from the sflowtool spec example, from tcpdump/tshark, from the
//! capture files read back independently, or from captures generated here with known content.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rtflow_sflow::{
    Address, DataSource, DatagramBuilder, DatagramHeader, DiscardSampleInfo, ExtendedSocketIpv4,
    ExtendedSocketIpv6, ExtendedSwitch, FlowRecord, FlowSampleInfo, HttpRequest, Interface, Opaque,
    SampledHeader, Tag,
};

mod common;

use common::{RTFLOW, assert_receives, ip_frame, pipe_into, spec_block, write_pcap};
use rtflow_testkit::{Shared, require_shared, shared_capture};

fn run(args: &[&str]) -> Output {
    Command::new(RTFLOW)
        .arg("decode")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run rtflow: {e}"))
}

/// Runs `rtflow decode ARGS`, asserting success; returns stdout.
fn decode(args: &[&str]) -> Vec<u8> {
    let output = run(args);
    assert!(
        output.status.success(),
        "rtflow decode {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("UTF-8 output: {e}"))
}

/// The `key value` lines of the spec's default text example.
fn spec_text_example(spec_dir: &Path) -> String {
    spec_block(spec_dir, "## default text")
}

fn spec_value(example: &str, key: &str) -> String {
    example
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{key} in the spec example"))
        .to_string()
}

/// Every UDP payload of a capture, read by the capture crate (not by `rtflow decode`).
fn payloads(path: &Path) -> Vec<Vec<u8>> {
    let mut reader = rtflow_capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut all = Vec::new();
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        all.push(d.payload.to_vec());
    }
    all
}

/// `frame` with an 802.1Q tag for `vlan` after the MAC addresses.
fn tagged(frame: &[u8], vlan: u16) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&[0x81, 0x00]);
    out.extend_from_slice(&vlan.to_be_bytes());
    out.extend_from_slice(&frame[12..]);
    out
}

/// A datagram with a flow sample (header 10.0.0.1 → 10.0.0.2, VLAN `flow_vlan`), a discard
/// sample (header 10.9.9.1 → 10.9.9.2, ACL drop) and a flow sample with an extended switch
/// record (in VLAN 30, out VLAN 31) and an untagged header 10.0.0.3 → 10.0.0.4.
fn header(frame: &[u8]) -> FlowRecord<'_> {
    FlowRecord::SampledHeader(SampledHeader {
        protocol: 1,
        frame_length: frame.len() as u32 + 4,
        stripped: 4,
        header: frame,
    })
}

fn mixed_datagram(flow_vlan: u16) -> Vec<u8> {
    let flow_frame = tagged(
        &ip_frame("10.0.0.1:1111", "10.0.0.2:2222", b"flow"),
        flow_vlan,
    );
    let drop_frame = ip_frame("10.9.9.1:3333", "10.9.9.2:4444", b"dropped");
    let switch_frame = ip_frame("10.0.0.3:5555", "10.0.0.4:6666", b"switched");
    let info = |sequence| FlowSampleInfo {
        sequence_number: sequence,
        source_id: DataSource { class: 0, index: 7 },
        sampling_rate: 100,
        sample_pool: 1000,
        input: Interface::index(1),
        output: Interface::index(2),
        ..Default::default()
    };
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 10)),
        sub_agent_id: 1,
        sequence_number: 42,
        uptime_ms: 5000,
    });
    builder.flow_sample(&info(1), &[header(&flow_frame)]);
    builder.discard_sample(
        &DiscardSampleInfo {
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 7 },
            input_if_index: 1,
            reason: 258,
            ..Default::default()
        },
        &[header(&drop_frame)],
    );
    builder.flow_sample(
        &info(2),
        &[
            header(&switch_frame),
            FlowRecord::ExtendedSwitch(ExtendedSwitch {
                src_vlan: 30,
                src_priority: 0,
                dst_vlan: 31,
                dst_priority: 0,
            }),
        ],
    );
    builder.finish()
}

fn mixed_capture(dir: &Path) -> String {
    let path = dir.join("mixed.pcap");
    write_pcap(&path, &[mixed_datagram(20), mixed_datagram(21)]);
    path.to_str().expect("UTF-8 path").to_string()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

// ---- -L ----

#[test]
fn field_lines_hold_the_spec_example_values_in_the_order_named() {
    let path = shared_capture!("tcpdump_sflow_expanded.pcap");
    let example = spec_text_example(&require_shared!(Shared::Spec));
    let out = text(decode(&[
        "-r",
        path.to_str().unwrap_or_default(),
        "-L",
        "agent,srcIP,dstIP,UDPDstPort,TCPDstPort,nextHop",
    ]));
    let expected = format!(
        "{},{},{},,{},{}\n",
        spec_value(&example, "agent"),
        spec_value(&example, "srcIP"),
        spec_value(&example, "dstIP"),
        spec_value(&example, "TCPDstPort"),
        spec_value(&example, "nextHop"),
    );
    assert_eq!(out, expected);
    assert_eq!(
        expected,
        "49.49.49.49,52.52.52.52,53.53.53.53,,52237,54.54.54.54\n"
    );
}

#[test]
fn field_lines_agree_with_the_flow_csv_columns_on_ecmp() {
    let path = shared_capture!("ecmp.pcap");
    field_lines_agree_with_the_flow_csv_columns(&path, 52_785, 3_682);
}

#[test]
fn field_lines_agree_with_the_flow_csv_columns_on_the_generated_fabric() {
    let entry = rtflow_testkit::manifest_entry("fabric.pcap");
    let count = |key| entry.count(key) as usize;
    field_lines_agree_with_the_flow_csv_columns(
        &entry.path(),
        count("flow_samples"),
        count("counter_samples"),
    );
}

fn field_lines_agree_with_the_flow_csv_columns(
    path: &Path,
    flow_samples: usize,
    counter_samples: usize,
) {
    let name = path.display();
    let path = path.to_str().unwrap_or_default();
    let fields = text(decode(&[
        "-r",
        path,
        "-q",
        "-L",
        "srcIP,dstIP,IPProtocol,meanSkipCount",
    ]));
    // The -l FLOW line has the same values in columns 10, 11, 12 and the last one (sflowtool's
    // writeFlowLine); it is written by separate code.
    let flows: Vec<String> = text(decode(&["-r", path, "-q", "-l"]))
        .lines()
        .filter(|line| line.starts_with("FLOW,"))
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            format!("{},{},{},{}", c[9], c[10], c[11], c[c.len() - 1])
        })
        .collect();
    assert_eq!(flows.len(), flow_samples, "flow samples in {name}");
    assert_eq!(fields.lines().collect::<Vec<_>>(), flows);
    // Counter samples have none of these fields: no line. Every sample has a sampleType.
    let all = text(decode(&["-r", path, "-q", "-L", "agent,sampleType"]));
    assert_eq!(
        all.lines().count(),
        flow_samples + counter_samples,
        "samples in {name}"
    );
    let counters = all.lines().filter(|l| l.ends_with(",COUNTERSSAMPLE"));
    assert_eq!(counters.count(), counter_samples);
}

#[test]
fn bad_field_list_names_the_option() {
    let output = run(&["-r", "-", "-L", " , "]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'--fields <FIELDS>'") && stderr.contains("no field names"),
        "{stderr}"
    );
}

// ---- -g ----

#[test]
fn grep_lines_are_the_text_lines_with_the_sflowtool_context_prefix() {
    let path = shared_capture!("tcpdump_sflow_expanded.pcap");
    let example = spec_text_example(&require_shared!(Shared::Spec));
    let out = text(decode(&["-r", path.to_str().unwrap_or_default(), "-g"]));
    let mut stripped = Vec::new();
    for line in out.lines() {
        // time agent subAgentId datagramSequenceNo sourceId sampleTag elementTag, then the line.
        let parts: Vec<&str> = line.splitn(8, ' ').collect();
        assert_eq!(parts.len(), 8, "{line}");
        assert_eq!(
            parts[0], "2022-12-29T15:03:48+0000",
            "pcap time, as in the example"
        );
        stripped.push(parts[7]);
    }
    assert_eq!(stripped, example.lines().collect::<Vec<_>>());
    let line_of = |key: &str| {
        out.lines()
            .find(|line| line.split(' ').nth(7) == Some(key))
            .unwrap_or_else(|| panic!("{key} line"))
            .to_string()
    };
    // Before the agent is read nothing is known; from the sample on, the identity is complete.
    assert!(line_of("startDatagram").starts_with("2022-12-29T15:03:48+0000 - 0 0 0:0 0:0 0:0 "));
    assert!(
        line_of("TCPDstPort")
            .starts_with("2022-12-29T15:03:48+0000 49.49.49.49 0 115694180 0:11001 0:3 0:1 ")
    );
    assert!(
        line_of("dstSubnetMask")
            .starts_with("2022-12-29T15:03:48+0000 49.49.49.49 0 115694180 0:11001 0:3 0:1002 ")
    );
}

// ---- -f ----

#[test]
fn forwarding_sends_every_datagram_unchanged_over_udp() {
    // 30 payloads, 5 of them NetFlow: forwarding does not care what they hold.
    let path = shared_capture!("tcpdump_sflow_multiple_counter_30_pdus.pcap");
    forwarding_sends_every_datagram_unchanged(&path, 30, 25);
}

#[test]
fn forwarding_sends_every_generated_datagram_unchanged_over_udp() {
    // NetFlow, IPFIX and sFlow v4 among the sFlow v5 datagrams.
    let entry = rtflow_testkit::manifest_entry("mixed.pcap");
    let count = |key| entry.count(key) as usize;
    forwarding_sends_every_datagram_unchanged(
        &entry.path(),
        count("datagrams"),
        count("sflow_v5") + count("sflow_legacy"),
    );
}

fn forwarding_sends_every_datagram_unchanged(path: &Path, datagrams: usize, sflow: usize) {
    let expected = payloads(path);
    assert_eq!(expected.len(), datagrams);
    let receivers: Vec<UdpSocket> = (0..2)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let targets: Vec<String> = receivers
        .iter()
        .map(|r| {
            format!(
                "127.0.0.1/{}",
                r.local_addr().map(|a| a.port()).unwrap_or(0)
            )
        })
        .collect();
    // Forwarding only: nothing on stdout (as sflowtool).
    let stdout = decode(&[
        "-r",
        path.to_str().unwrap_or_default(),
        "-q",
        "-f",
        &targets[0],
        "-f",
        &targets[1],
    ]);
    assert!(stdout.is_empty());
    for receiver in &receivers {
        assert_receives(receiver, &expected);
    }
    // With an output option it forwards and decodes.
    let receiver = &receivers[0];
    let stdout = text(decode(&[
        "-r",
        path.to_str().unwrap_or_default(),
        "-q",
        "-j",
        "-f",
        &targets[0],
    ]));
    // One line per datagram: the payloads that are not sFlow with their datagram fields only, as sflowtool.
    assert_eq!(stdout.lines().count(), datagrams);
    assert_eq!(
        stdout.matches("\"agent\"").count(),
        sflow,
        "the sFlow datagrams decoded (v5, and v2/v4 as sflowtool)"
    );
    assert_receives(receiver, &expected);
}

#[test]
fn bad_forward_targets_name_the_option() {
    for bad in ["127.0.0.1:6343", "127.0.0.1/0", "/6343"] {
        let output = run(&["-r", "-", "-f", bad]);
        assert!(!output.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("'--forward <HOST/PORT>'"),
            "{bad}: {stderr}"
        );
    }
}

// ---- -T and -t ----

#[test]
fn discard_pcap_holds_only_the_dropped_packet_headers() {
    let dir = tempdir();
    let path = mixed_capture(dir.path());
    let discards = pipe_into(
        &["tcpdump", "-r", "-", "-nn"],
        &decode(&["-r", &path, "-q", "-T"]),
    );
    let lines: Vec<&str> = discards.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one discard sample per datagram: {discards}"
    );
    for line in &lines {
        assert!(
            line.contains("10.9.9.1.3333 > 10.9.9.2.4444: UDP"),
            "{line}"
        );
    }
    let flows = pipe_into(
        &["tcpdump", "-r", "-", "-nn"],
        &decode(&["-r", &path, "-q", "-t"]),
    );
    assert_eq!(flows.lines().count(), 4, "{flows}");
    assert!(
        !flows.contains("10.9.9.1"),
        "-t leaves discard samples out: {flows}"
    );
    // -c counts packets, as with -t.
    let one = pipe_into(
        &["tcpdump", "-r", "-", "-nn"],
        &decode(&["-r", &path, "-q", "-T", "-c", "1"]),
    );
    assert_eq!(one.lines().count(), 1);
}

// ---- -M ----

#[test]
fn datagram_pcap_is_the_same_sflow_for_tshark_and_byte_for_byte() {
    let path = shared_capture!("ecmp.pcap");
    // tshark gives up on 40 datagrams' host counters before their flow samples (see decode.rs),
    // the same ones in both files.
    datagram_pcap_is_the_same_sflow(&path, 9_279, 52_000);
}

#[test]
fn datagram_pcap_of_the_generated_fabric_is_the_same_sflow() {
    let entry = rtflow_testkit::manifest_entry("fabric.pcap");
    // tshark gives up on the datagrams with host counters (24 of them), before some flow samples.
    let least = entry.count("flow_samples") as usize * 9 / 10;
    datagram_pcap_is_the_same_sflow(&entry.path(), entry.count("datagrams") as usize, least);
}

/// `-M` writes the datagrams of `path` in a pcap stream that holds the same payloads and that
/// tshark dissects the same way (`datagrams` sFlow datagrams, more than `least_flows` flow samples).
fn datagram_pcap_is_the_same_sflow(path: &Path, datagrams: usize, least_flows: usize) {
    let stream = decode(&["-r", path.to_str().unwrap_or_default(), "-q", "-M"]);
    let dir = tempdir();
    let copy = dir.path().join("m.pcap");
    std::fs::write(&copy, &stream).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        payloads(&copy),
        payloads(path),
        "payloads unchanged, in order"
    );
    let summary = |file: &Path| {
        let output = Command::new("tshark")
            .args(["-r", file.to_str().unwrap_or_default(), "-T", "fields"])
            .args([
                "-e",
                "sflow_245.sequence_number",
                "-e",
                "sflow_245.numsamples",
            ])
            .output()
            .unwrap_or_else(|e| panic!("tshark must be installed: {e}"));
        assert!(output.status.success());
        text(output.stdout)
    };
    let original = summary(path);
    assert_eq!(original.lines().count(), datagrams);
    assert_eq!(summary(&copy), original);
    let flows = |file: &Path| {
        let output = Command::new("tshark")
            .args(["-r", file.to_str().unwrap_or_default(), "-Y", "sflow"])
            .args(["-T", "fields", "-e", "sflow.flow_sample.sequence_number"])
            .output()
            .unwrap_or_else(|e| panic!("tshark: {e}"));
        text(output.stdout)
            .split([',', '\n'])
            .filter(|s| !s.is_empty())
            .count()
    };
    assert_eq!(flows(&copy), flows(path));
    assert!(flows(&copy) > least_flows);
}

// ---- -V / -v ----

#[test]
fn vlan_filters_look_at_the_header_vlan_and_the_switch_record() {
    let dir = tempdir();
    let path = mixed_capture(dir.path());
    // Datagram 1's first flow sample is on VLAN 20, datagram 2's on 21; the second flow sample
    // of each has in VLAN 30 / out VLAN 31 from its extended switch record.
    let flow_lines = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["-r", path.as_str(), "-q", "-L", "srcIP,discarded_srcIP"];
        all.extend_from_slice(args);
        text(decode(&all)).lines().map(str::to_string).collect()
    };
    // Discard samples name their fields discarded_*.
    let (f1, d, f2) = ("10.0.0.1,", ",10.9.9.1", "10.0.0.3,");
    assert_eq!(flow_lines(&[]), [f1, d, f2, f1, d, f2]);
    assert_eq!(flow_lines(&["-V", "20"]), [f1]);
    assert_eq!(flow_lines(&["-V", "20-21"]), [f1, f1]);
    // Either VLAN of the switch record lets the sample through; untagged discards are VLAN 0.
    assert_eq!(flow_lines(&["-V", "31"]), [f2, f2]);
    // Samples without a switch record have output VLAN 0, so -V 0 keeps them and -v 20 does
    // not drop VLAN 20 unless 0 goes too (sflowtool's documented rule).
    assert_eq!(flow_lines(&["-V", "0"]), [f1, d, f1, d]);
    assert_eq!(flow_lines(&["-v", "20"]), [f1, d, f2, f1, d, f2]);
    assert_eq!(flow_lines(&["-v", "0,20"]), [f2, f1, f2]);
    assert_eq!(flow_lines(&["-v", "30", "-v", "31"]), [f1, d, f1, d]);
    // -l: FLOW lines filtered, -t: packets filtered.
    let csv = text(decode(&["-r", &path, "-q", "-l", "-V", "21"]));
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert!(csv.contains(",10.0.0.1,10.0.0.2,"), "{csv}");
    let pcap = pipe_into(
        &["tcpdump", "-r", "-", "-nn", "-e"],
        &decode(&["-r", &path, "-q", "-t", "-V", "20"]),
    );
    assert_eq!(pcap.lines().count(), 1, "{pcap}");
    assert!(pcap.contains("vlan 20"), "{pcap}");
}

#[test]
fn vlan_filter_errors_name_the_option() {
    let dir = tempdir();
    let path = mixed_capture(dir.path());
    for (args, needle) in [
        (
            vec!["-V", "5000"],
            "'--include-vlans <VLANS>': VLAN 5000 is out of range",
        ),
        (
            vec!["-v", "20-10"],
            "'--exclude-vlans <VLANS>': VLAN range 20-10",
        ),
        (vec!["-v", "ten"], "'--exclude-vlans <VLANS>'"),
    ] {
        let mut all = vec!["-r", path.as_str()];
        all.extend_from_slice(&args);
        let output = run(&all);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

// ---- -H ----

fn socket4(remote: [u8; 4]) -> ExtendedSocketIpv4 {
    ExtendedSocketIpv4 {
        protocol: 6,
        local_ip: Ipv4Addr::new(192, 0, 2, 80),
        remote_ip: Ipv4Addr::from(remote),
        local_port: 80,
        remote_port: 50_000,
    }
}

/// Flow samples: a GET with every string and a client socket; a header-only sample (no line);
/// a POST with empty strings and no socket record; a HEAD over IPv6 whose proxy socket record
/// (not the client) comes before the client's socket record; a sample with two HTTP records.
fn http_datagram() -> Vec<u8> {
    let frame = ip_frame("10.0.0.1:1111", "10.0.0.2:80", b"GET /");
    let get = HttpRequest {
        method: 2,
        protocol: 1001,
        uri: b"/index.html?q=1",
        host: b"www.example.com",
        referrer: b"http://example.com/start",
        user_agent: b"curl/8.5.0",
        xff: b"203.0.113.9",
        auth_user: b"alice",
        mime_type: b"text/html",
        req_bytes: 77,
        resp_bytes: 5120,
        duration_us: 900,
        status: 200,
    };
    let post = HttpRequest {
        method: 4,
        protocol: 2000,
        status: 201,
        resp_bytes: 0,
        ..HttpRequest::default()
    };
    let head = HttpRequest {
        method: 3,
        protocol: 1000,
        uri: b"/",
        status: 304,
        resp_bytes: 18_446_744_073_709_551_615,
        ..HttpRequest::default()
    };
    let client6 = ExtendedSocketIpv6 {
        protocol: 6,
        local_ip: "2001:db8::80".parse().unwrap_or_else(|e| panic!("{e}")),
        remote_ip: "2001:db8::c1".parse().unwrap_or_else(|e| panic!("{e}")),
        local_port: 443,
        remote_port: 40_000,
    };
    let info = FlowSampleInfo {
        sequence_number: 1,
        source_id: DataSource {
            class: 3,
            index: 80,
        },
        sampling_rate: 10,
        ..Default::default()
    };
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 80)),
        sub_agent_id: 0,
        sequence_number: 7,
        uptime_ms: 1000,
    });
    builder.flow_sample(
        &info,
        &[
            FlowRecord::ExtendedSocketIpv4(socket4([198, 51, 100, 7])),
            FlowRecord::Http2(get),
        ],
    );
    builder.flow_sample(&info, &[header(&frame)]);
    builder.flow_sample(&info, &[FlowRecord::Http2(post)]);
    builder.flow_sample(
        &info,
        &[
            FlowRecord::Http2(head),
            FlowRecord::ExtendedProxySocketIpv4(socket4([10, 10, 10, 10])),
            FlowRecord::ExtendedSocketIpv6(client6),
        ],
    );
    builder.flow_sample(
        &info,
        &[
            FlowRecord::Http2(get),
            FlowRecord::ExtendedSocketIpv4(socket4([198, 51, 100, 8])),
            FlowRecord::Http2(post),
        ],
    );
    builder.finish()
}

#[test]
fn http_log_has_one_common_log_line_per_sample_with_an_http_record() {
    let dir = tempdir();
    let path = dir.path().join("http.pcap");
    write_pcap(&path, &[http_datagram(), http_datagram()]);
    let path = path.to_str().expect("UTF-8 path");
    let lines = |secs: &str| {
        [
            "198.51.100.7 - alice [14/Nov/2023:22:13:SS +0000] \"GET /index.html?q=1 HTTP/1.1\" \
             200 5120 \"http://example.com/start\" \"curl/8.5.0\"",
            " - - [14/Nov/2023:22:13:SS +0000] \"POST - HTTP/2.0\" 201 0 \"-\" \"-\"",
            "2001:0db8:0000:0000:0000:0000:0000:00c1 - - [14/Nov/2023:22:13:SS +0000] \"HEAD / HTTP/1.0\" 304 \
             18446744073709551615 \"-\" \"-\"",
            "198.51.100.8 - - [14/Nov/2023:22:13:SS +0000] \"POST - HTTP/2.0\" 201 0 \"-\" \"-\"",
        ]
        .map(|line| line.replace("SS", secs))
        .join("\n")
    };
    let expected = format!("{}\n{}\n", lines("20"), lines("21"));
    assert_eq!(text(decode(&["-r", path, "-H"])), expected);
    // -V/-v apply: these samples have no VLAN (0).
    assert_eq!(text(decode(&["-r", path, "-H", "-V", "0"])), expected);
    assert_eq!(text(decode(&["-r", path, "-H", "-v", "0"])), "");
}

#[test]
fn http_log_prints_nothing_for_captures_without_http_records() {
    let dir = tempdir();
    let path = mixed_capture(dir.path());
    // ecmp.pcap too when ../shared is there (else one skip line, and the generated captures only).
    let fabric = rtflow_testkit::data_file("fabric.pcap")
        .display()
        .to_string();
    let ecmp = rtflow_testkit::shared_capture("ecmp.pcap");
    for capture in [path, fabric]
        .into_iter()
        .chain(ecmp.map(|p| p.display().to_string()))
    {
        let output = run(&["-r", &capture, "-H"]);
        assert!(output.status.success(), "{capture}");
        assert!(output.stdout.is_empty(), "{capture}");
        // The summary still counts what the datagrams held.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("0 malformed"), "{stderr}");
    }
}

// ---- -P and -k ----

#[test]
fn playback_keeps_the_recorded_pace_scaled_by_the_speed() {
    let dir = tempdir();
    let path = mixed_capture(dir.path()); // two datagrams captured 1 s apart
    let timed = |speed: &str| {
        let start = Instant::now();
        let out = decode(&["-r", &path, "-q", "-l", "-P", speed]);
        (start.elapsed(), out)
    };
    let (half, out) = timed("2");
    assert!(half >= Duration::from_millis(500), "{half:?}");
    assert_eq!(out, decode(&["-r", &path, "-q", "-l"]));
    let (max, _) = timed("100");
    assert!(
        max < Duration::from_millis(450),
        "100 = as fast as possible: {max:?}"
    );
    for bad in ["0", "-2", "fast"] {
        let output = run(&["-r", &path, &format!("--playback={bad}")]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("'--playback <SPEED>'"), "{bad}: {stderr}");
    }
    let without_file = run(&["-P", "1"]);
    assert!(!without_file.status.success(), "-P needs -r");
}

#[test]
fn keep_going_is_accepted_and_changes_nothing() {
    let mixed = rtflow_testkit::data_file("mixed.pcap");
    let malformed = rtflow_testkit::data_file("malformed.pcap");
    // The third-party capture too when ../shared is there (else one skip line).
    let shared = rtflow_testkit::shared_capture("tcpdump_sflow_multiple_counter_30_pdus.pcap");
    for path in [mixed, malformed].into_iter().chain(shared) {
        let path = path.to_str().unwrap_or_default();
        let stdout = decode(&["-r", path, "-q"]);
        assert_eq!(decode(&["-r", path, "-k", "-q"]), stdout, "{path}");
    }
}

/// The body of a 0:2201 HTTP request record (the structure's first version) laid out by hand
/// from the sFlow HTTP extension, independently of the encoder: method, protocol, uri, host,
/// referrer, useragent, authuser, mimetype, bytes (u64), duration uS, status. No X-Forwarded-For
/// and no request bytes, unlike 0:2206.
fn http_v1_record_body() -> Vec<u8> {
    fn word(b: &mut Vec<u8>, v: u32) {
        b.extend_from_slice(&v.to_be_bytes());
    }
    fn string(b: &mut Vec<u8>, s: &[u8]) {
        word(b, s.len() as u32);
        b.extend_from_slice(s);
        b.resize(b.len().next_multiple_of(4), 0);
    }
    let mut b = Vec::new();
    word(&mut b, 2); // GET
    word(&mut b, 1001); // HTTP/1.1
    for s in [
        &b"/old"[..],
        b"legacy.example",
        b"",
        b"Wget/1.21",
        b"bob",
        b"text/plain",
    ] {
        string(&mut b, s);
    }
    b.extend_from_slice(&4096u64.to_be_bytes());
    word(&mut b, 1500); // uS
    word(&mut b, 404);
    b
}

#[test]
fn first_version_http_records_decode_without_xff_or_request_bytes() {
    let body = http_v1_record_body();
    let record = FlowRecord::Unknown(Opaque {
        tag: Tag {
            enterprise: 0,
            format: 2201,
        },
        data: &body,
    });
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 80)),
        sub_agent_id: 0,
        sequence_number: 1,
        uptime_ms: 1000,
    });
    builder.flow_sample(
        &FlowSampleInfo {
            sequence_number: 1,
            sampling_rate: 10,
            ..Default::default()
        },
        &[
            FlowRecord::ExtendedSocketIpv4(socket4([198, 51, 100, 7])),
            record,
        ],
    );
    let dir = tempdir();
    let path = dir.path().join("http1.pcap");
    write_pcap(&path, &[builder.finish()]);
    let path = path.to_str().expect("UTF-8 path");

    let output = run(&["-r", path]);
    let stdout = text(output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0 malformed"), "{stderr}");
    for line in [
        "flowBlock_tag 0:2201",
        "http_method 2",
        "http_protocol 1001",
        "http_uri /old",
        "http_host legacy.example",
        "http_useragent Wget/1.21",
        "http_authuser bob",
        "http_mimetype text/plain",
        "http_bytes 4096",
        "http_duration_uS 1500",
        "http_status 404",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
    for absent in ["http_xff", "http_request_bytes", "http_referrer"] {
        assert!(
            !stdout.contains(absent),
            "{absent} printed for 0:2201:\n{stdout}"
        );
    }
    let log = text(decode(&["-r", path, "-H"]));
    assert!(
        log.starts_with("198.51.100.7 - bob [")
            && log.ends_with("] \"GET /old HTTP/1.1\" 404 4096 \"-\" \"Wget/1.21\"\n"),
        "{log:?}"
    );
}
