//! `rtflow decode` behaving as sflowtool where its users depend on it (issue 9): IPv6 text form,
//! XDR padding, `-g` context, 802.11 headers, non-v5 payloads, sFlow v2/v4, `-t` for every header
//! protocol, and the remaining sflowtool options. Inputs are generated here with the project's
//! encoder (or hand-built where the encoder cannot express the case); expected values follow
//! sflowtool's source, and pcap output is read back by the real tcpdump/tshark.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Output};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    ExtendedRouter, ExtendedSocketIpv6, FlowRecord, FlowSampleInfo, GenericInterfaceCounters,
    Interface, Opaque, Sample, SampledHeader, SampledIpv6, Tag,
};

mod common;

use common::{RTFLOW, ip_frame, write_pcap};

fn run(args: &[&str]) -> Output {
    Command::new(RTFLOW)
        .arg("decode")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run rtflow: {e}"))
}

/// Runs `rtflow decode ARGS`, asserting success; returns stdout as text.
fn decode(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "rtflow decode {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("UTF-8 output: {e}"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

/// Writes `payloads` into `dir/name` and returns the path as a string.
fn capture(dir: &Path, name: &str, payloads: &[Vec<u8>]) -> String {
    let path = dir.join(name);
    write_pcap(&path, payloads);
    path.to_str().expect("UTF-8 path").to_string()
}

fn v6(text: &str) -> Ipv6Addr {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn flow_info(sequence: u32) -> FlowSampleInfo {
    FlowSampleInfo {
        sequence_number: sequence,
        source_id: DataSource { class: 0, index: 3 },
        sampling_rate: 256,
        sample_pool: 256 * sequence,
        input: Interface::index(3),
        output: Interface::index(4),
        ..Default::default()
    }
}

fn header_record(protocol: u32, header: &[u8]) -> FlowRecord<'_> {
    FlowRecord::SampledHeader(SampledHeader {
        protocol,
        frame_length: header.len() as u32 + 4,
        stripped: 4,
        header,
    })
}

// ---- IPv6 addresses ----

/// An IPv6 agent sending a flow sample whose header, IPv6 record, router record and socket
/// record all hold IPv6 addresses, and a counter sample.
fn ipv6_datagram(frame: &[u8]) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V6(v6("2a03:2887:ff03::5")),
        sub_agent_id: 0,
        sequence_number: 9,
        uptime_ms: 1000,
    });
    builder.flow_sample(
        &flow_info(1),
        &[
            header_record(1, frame),
            FlowRecord::SampledIpv6(SampledIpv6 {
                length: 100,
                protocol: 17,
                src_ip: v6("2001:db8::10"),
                dst_ip: v6("2001:db8::20"),
                src_port: 53,
                dst_port: 5353,
                tcp_flags: 0,
                priority: 0,
            }),
            FlowRecord::ExtendedRouter(ExtendedRouter {
                next_hop: Address::V6(v6("fe80::1")),
                src_mask_len: 64,
                dst_mask_len: 48,
            }),
            FlowRecord::ExtendedSocketIpv6(ExtendedSocketIpv6 {
                protocol: 6,
                local_ip: v6("2001:db8::80"),
                remote_ip: v6("2001:db8::c1"),
                local_port: 80,
                remote_port: 40000,
            }),
        ],
    );
    builder.counter_sample(
        &CounterSampleInfo {
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 3 },
            expanded: false,
        },
        &[CounterRecord::GenericInterface(GenericInterfaceCounters {
            if_index: 3,
            ..Default::default()
        })],
    );
    builder.finish()
}

#[test]
fn ipv6_addresses_are_uncompressed_in_every_output_mode() {
    let dir = tempdir();
    let frame = ip_frame("[2001:db8::1]:1234", "[2001:db8::2]:53", b"query");
    let path = capture(dir.path(), "v6.pcap", &[ipv6_datagram(&frame)]);
    let full = |short: &str| rtflow_packet::format::Ipv6Full(v6(short)).to_string();
    let agent = full("2a03:2887:ff03::5");
    assert_eq!(agent, "2a03:2887:ff03:0000:0000:0000:0000:0005");
    let text = decode(&["-r", &path]);
    for (key, short) in [
        ("agent", "2a03:2887:ff03::5"),
        ("srcIP6", "2001:db8::1"),
        ("dstIP6", "2001:db8::2"),
        ("nextHop", "fe80::1"),
        ("socket6_local_ip", "2001:db8::80"),
        ("socket6_remote_ip", "2001:db8::c1"),
    ] {
        let line = format!("\n{key} {}\n", full(short));
        assert!(text.contains(&line), "{line:?} in\n{text}");
    }
    // The IPv6 record's addresses follow the header's (same field names).
    assert!(text.contains(&format!("srcIP6 {}\n", full("2001:db8::10"))));

    let json = decode(&["-r", &path, "-j"]);
    assert!(json.contains(&format!("\"agent\":\"{agent}\"")), "{json}");
    assert!(json.contains(&format!("\"srcIP6\":\"{}\"", full("2001:db8::1"))));
    let pretty = decode(&["-r", &path, "-J"]);
    assert!(pretty.contains(&format!("\"nextHop\":\"{}\"", full("fe80::1"))));
    // -g: the agent in the prefix of every line from the agent line on.
    let grep = decode(&["-r", &path, "-g"]);
    let from_agent: Vec<&str> = grep
        .lines()
        .skip_while(|l| !l.contains(" agent "))
        .collect();
    assert!(from_agent.len() > 40, "{grep}");
    assert!(
        from_agent
            .iter()
            .all(|line| line.contains(&format!(" {agent} 0 9 "))),
        "{grep}"
    );
    // -l: agent and addresses in the FLOW line, agent in the CNTR line.
    let csv = decode(&["-r", &path, "-l"]);
    let mut lines = csv.lines();
    let flow = lines.next().unwrap_or_default();
    assert!(flow.starts_with(&format!("FLOW,{agent},")), "{csv}");
    // The socket record, last, sets the sample's addresses (as sflowtool's readExtendedSocket6).
    assert!(flow.contains(&format!(
        ",{},{},",
        full("2001:db8::80"),
        full("2001:db8::c1")
    )));
    assert!(
        lines
            .next()
            .unwrap_or_default()
            .starts_with(&format!("CNTR,{agent},"))
    );
    let fields = decode(&["-r", &path, "-L", "agent,srcIP6,socket6_remote_ip"]);
    assert_eq!(
        fields,
        format!(
            "{agent},{},{}\n",
            full("2001:db8::10"),
            full("2001:db8::c1")
        )
    );
    // Nothing anywhere in the compressed form.
    for output in [&text, &json, &pretty, &grep, &csv, &fields] {
        assert!(!output.contains("2001:db8::"), "{output}");
    }
}

// ---- XDR padding ----

/// A legal datagram with an unknown sample of length 5 (3 bytes of XDR padding follow it), then
/// a flow sample whose first record is an unknown record of length 5, then a counter sample.
fn padded_datagram(frame: &[u8]) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 9)),
        sub_agent_id: 0,
        sequence_number: 1,
        uptime_ms: 1,
    });
    builder.sample(&Sample::Unknown(Opaque {
        tag: Tag::new(0, 99),
        data: &[1, 2, 3, 4, 5],
    }));
    builder.flow_sample(
        &flow_info(1),
        &[
            FlowRecord::Unknown(Opaque {
                tag: Tag::new(0, 4000),
                data: &[9, 9, 9, 9, 9],
            }),
            header_record(1, frame),
        ],
    );
    builder.counter_sample(
        &CounterSampleInfo {
            sequence_number: 7,
            source_id: DataSource { class: 0, index: 3 },
            expanded: false,
        },
        &[CounterRecord::GenericInterface(GenericInterfaceCounters {
            if_index: 3,
            ..Default::default()
        })],
    );
    builder.finish()
}

#[test]
fn samples_and_records_of_odd_length_are_followed_by_padding_and_decoding_goes_on() {
    let dir = tempdir();
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let bytes = padded_datagram(&frame);
    // The encoder pads: 5 body bytes take 8 on the wire.
    assert_eq!(&bytes[28..40], &[0, 0, 0, 99, 0, 0, 0, 5, 1, 2, 3, 4]);
    assert_eq!(&bytes[40..44], &[5, 0, 0, 0]);
    let path = capture(dir.path(), "padded.pcap", &[bytes]);
    let output = run(&["-r", &path]);
    let text = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 decoded, 0 not sFlow"), "{stderr}");
    assert!(
        text.contains("skipping unknown sample: 0:99 len=5\n"),
        "{text}"
    );
    assert!(
        text.contains("skipping unknown flow_sample_element: 0:4000 len=5\n"),
        "{text}"
    );
    assert!(text.contains("srcIP 10.0.0.1\n"), "{text}");
    assert!(
        text.contains("sampleType COUNTERSSAMPLE\nsampleSequenceNo 7\n"),
        "{text}"
    );
    assert_eq!(text.matches("endSample").count(), 3, "{text}");
}

// ---- -g ----

#[test]
fn grep_prefix_of_counter_sample_lines_names_data_source_0_0() {
    let dir = tempdir();
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let path = capture(dir.path(), "g.pcap", &[padded_datagram(&frame)]);
    let grep = decode(&["-r", &path, "-g"]);
    let prefix = "2023-11-14T22:13:20+0000 192.0.2.9 0 1";
    let line = |key: &str| {
        grep.lines()
            .find(|line| line.split(' ').nth(7) == Some(key))
            .unwrap_or_else(|| panic!("{key} line in\n{grep}"))
    };
    // The flow sample's lines name its data source 0:3 once it is read ...
    assert!(
        line("srcIP").starts_with(&format!("{prefix} 0:3 0:1 0:1 ")),
        "{grep}"
    );
    // ... the counter sample's lines keep 0:0, as sflowtool prints them.
    for key in [
        "sampleSequenceNo",
        "sourceId",
        "ifIndex",
        "ifPromiscuousMode",
    ] {
        let counter_lines: Vec<&str> = grep
            .lines()
            .filter(|l| l.contains(" 0:2 ") && l.split(' ').nth(7) == Some(key))
            .collect();
        assert_eq!(counter_lines.len(), 1, "{key} in\n{grep}");
        assert!(
            counter_lines[0].starts_with(&format!("{prefix} 0:0 0:2 ")),
            "{grep}"
        );
    }
}

// ---- 802.11 and other header protocols ----

/// An 802.11 data frame from a station to the AP (to-DS): BSSID a1.., source b2.., destination
/// c3.., then an LLC/SNAP header.
fn wifi_frame() -> Vec<u8> {
    let mut frame = vec![0x08, 0x01, 0, 0];
    for byte in [0xa1, 0xb2, 0xc3] {
        frame.extend_from_slice(&[byte; 6]);
    }
    frame.extend_from_slice(&[0x10, 0x00, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    frame
}

/// One flow sample per header protocol, each holding `header`.
fn protocols_datagram(protocols: &[u32], header: &[u8]) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 11)),
        sub_agent_id: 0,
        sequence_number: 1,
        uptime_ms: 1,
    });
    for (i, &protocol) in protocols.iter().enumerate() {
        builder.flow_sample(&flow_info(i as u32 + 1), &[header_record(protocol, header)]);
    }
    builder.finish()
}

#[test]
fn wifi_headers_are_decoded_and_other_protocols_say_no_decode() {
    let dir = tempdir();
    let frame = wifi_frame();
    let path = capture(
        dir.path(),
        "wifi.pcap",
        &[protocols_datagram(&[15, 16, 17, 18, 13, 105], &frame)],
    );
    let text = decode(&["-r", &path]);
    let samples: Vec<&str> = text.split("startSample").skip(1).collect();
    assert_eq!(samples.len(), 6, "{text}");
    let after_bytes = |sample: &str| -> Vec<String> {
        sample
            .lines()
            .skip_while(|l| !l.starts_with("headerBytes "))
            .skip(1)
            .take_while(|l| !l.starts_with("endSample"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        after_bytes(samples[0]),
        [
            "srcMAC b2b2b2b2b2b2",
            "dstMAC c3c3c3c3c3c3",
            "txMAC b2b2b2b2b2b2",
            "rxMAC a1a1a1a1a1a1"
        ]
    );
    for (sample, note) in samples[1..].iter().zip([
        "NO_DECODE headerProtocol=16",
        "NO_DECODE headerProtocol=17",
        "NO_DECODE headerProtocol=18",
        "NO_DECODE headerProtocol=13",
        "UNKNOWN headerProtocol=105",
    ]) {
        assert_eq!(after_bytes(sample), [note], "{sample}");
    }
    // JSON carries the fields but not the notes (sflowtool logs those as text only).
    let json = decode(&["-r", &path, "-j"]);
    assert!(
        json.contains("\"txMAC\":\"b2b2b2b2b2b2\",\"rxMAC\":\"a1a1a1a1a1a1\""),
        "{json}"
    );
    assert!(!json.contains("NO_DECODE"));
}

// ---- -V/-v with whole-datagram outputs, input errors ----

#[test]
fn vlan_filters_with_whole_datagram_outputs_are_ignored_with_a_warning() {
    let dir = tempdir();
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let path = capture(dir.path(), "v.pcap", &[padded_datagram(&frame)]);
    for format in [None, Some("-j"), Some("-J"), Some("-g"), Some("-M")] {
        let plain: Vec<&str> = ["-r", path.as_str()].into_iter().chain(format).collect();
        let filtered: Vec<&str> = plain.iter().copied().chain(["-V", "20"]).collect();
        let (unfiltered, output) = (run(&plain), run(&filtered));
        assert!(output.status.success(), "{filtered:?}");
        // sflowtool prints every sample in these modes whatever the filter: so does rtflow.
        assert_eq!(output.stdout, unfiltered.stdout, "{filtered:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.matches("warning: -V/-v ignored").count(),
            1,
            "{stderr}"
        );
    }
    // The per-sample outputs apply it (no warning): VLAN 20 drops the untagged flow sample.
    let output = run(&["-r", &path, "-l", "-V", "20"]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("warning"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("FLOW,"));
}

#[test]
fn a_missing_input_file_prints_its_os_error_once() {
    let output = run(&["-r", "/nonexistent/capture.pcap"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "rtflow: cannot open /nonexistent/capture.pcap: No such file or directory (os error 2)"
    );
}

// ---- payloads that are not sFlow ----

#[test]
fn payloads_that_are_not_sflow_give_sflowtools_header_only_record() {
    // mixed.pcap: 12 datagrams; NetFlow v5/v9 and IPFIX payloads among sFlow v5 and v4.
    let path = rtflow_testkit::data_dir().join("mixed.pcap");
    let path = path.to_str().expect("UTF-8 path");
    let text = decode(&["-q", "-r", path]);
    let records: Vec<&str> = text
        .split("startDatagram =================================\n")
        .skip(1)
        .collect();
    assert_eq!(records.len(), 12, "one record per datagram, as sflowtool");
    let header_only: Vec<&str> = records
        .iter()
        .copied()
        .filter(|r| !r.contains("\nagent "))
        .collect();
    assert_eq!(header_only.len(), 4, "{text}");
    for record in &header_only {
        let keys: Vec<&str> = record
            .lines()
            .map(|l| l.split(' ').next().unwrap_or_default())
            .collect();
        assert_eq!(
            keys,
            [
                "datagramSourceIP",
                "datagramSize",
                "unixSecondsUTC",
                "unixSecondsUTC_uS",
                "localtime",
                "pcapTimestamp",
                "pcapTimestamp_uS",
                "datagramVersion",
                "endDatagram"
            ],
            "{record}"
        );
    }
    // NetFlow v5 and v9 start with their version in the top 16 bits; IPFIX with 10.
    let mut versions: Vec<u32> = header_only
        .iter()
        .filter_map(|r| {
            let line = r.lines().find(|l| l.starts_with("datagramVersion "))?;
            line.strip_prefix("datagramVersion ")?.parse().ok()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions.len(), 4);
    assert!(versions.iter().any(|&v| v >> 16 == 5), "{versions:?}");
    assert!(versions.iter().any(|&v| v >> 16 == 9), "{versions:?}");
    assert!(versions.iter().any(|&v| v >> 16 == 10), "{versions:?}");

    // JSON: one object per datagram, the same fields.
    let json = decode(&["-q", "-r", path, "-j"]);
    let docs: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(docs.len(), 12);
    let short: Vec<&serde_json::Value> = docs.iter().filter(|d| d.get("agent").is_none()).collect();
    assert_eq!(short.len(), 4);
    assert!(
        short
            .iter()
            .all(|d| d["datagramVersion"].is_string() && d.get("samples").is_none())
    );
    // -g prefixes them like any line before the agent is read.
    let grep = decode(&["-q", "-r", path, "-g"]);
    assert_eq!(
        grep.matches(" - 0 0 0:0 0:0 0:0 datagramVersion ").count(),
        12,
        "{grep}"
    );
    // The per-sample outputs have nothing to print for them; the summary counts them.
    let output = run(&["-r", path, "-l"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("12 datagrams: 8 decoded, 4 not sFlow, 0 malformed"),
        "{stderr}"
    );
}

// ---- sFlow v2 and v4 ----

/// A v2 or v4 datagram from agent 10.0.0.1: a flow sample (sampled Ethernet/IPv4/UDP header,
/// output "multiple 2", switch, gateway, user and URL records), an IPv6-data flow sample with a
/// router record, and an Ethernet counters sample and a VLAN counters sample.
fn legacy_datagram(version: u32, frame: &[u8], path_raw: &[u8]) -> Vec<u8> {
    use rtflow_sflow::{
        AsPath, EthernetCounters, ExtendedGateway, ExtendedSwitch, LegacyCounterBlock,
        LegacyCounterSample, LegacyDatagramBuilder, LegacyFlowInfo, LegacyRecord, U32List,
        VlanCounters, counters_version,
    };
    let info = |sequence, output| LegacyFlowInfo {
        sequence_number: sequence,
        source_id: DataSource { class: 0, index: 5 },
        sampling_rate: 100,
        sample_pool: 700,
        drops: 1,
        input: 5,
        output,
    };
    let gateway = if version == 2 {
        LegacyRecord::GatewayV2 {
            as_number: 65000,
            src_as: 64512,
            src_peer_as: 64513,
            dst_as_path: U32List::from_be_bytes(path_raw),
        }
    } else {
        LegacyRecord::GatewayV4(ExtendedGateway {
            next_hop: Address::Unknown,
            as_number: 65000,
            src_as: 64512,
            src_peer_as: 64513,
            dst_as_path: AsPath::from_segments_bytes(2, path_raw).expect("AS path"),
            communities: U32List::from_be_bytes(&[0, 0, 0, 7, 0, 0, 0, 8]),
            local_pref: 100,
        })
    };
    let mut builder =
        LegacyDatagramBuilder::new(version, Address::V4(Ipv4Addr::new(10, 0, 0, 1)), 42, 1000);
    builder.flow_sample(
        &info(7, 0x8000_0002),
        &LegacyRecord::Header(SampledHeader {
            protocol: 1,
            frame_length: frame.len() as u32 + 4,
            stripped: 0,
            header: frame,
        }),
        &[
            LegacyRecord::Switch(ExtendedSwitch {
                src_vlan: 10,
                src_priority: 0,
                dst_vlan: 20,
                dst_priority: 1,
            }),
            gateway,
            LegacyRecord::User {
                src_user: b"alice",
                dst_user: b"bob",
            },
            LegacyRecord::Url {
                direction: 1,
                url: b"/index.html",
            },
        ],
    );
    builder.flow_sample(
        &info(8, 6),
        &LegacyRecord::Ipv6(SampledIpv6 {
            length: 80,
            protocol: 6,
            src_ip: v6("2001:db8::1"),
            dst_ip: v6("2001:db8::2"),
            src_port: 443,
            dst_port: 50000,
            tcp_flags: 0x18,
            priority: 0,
        }),
        &[LegacyRecord::Router(ExtendedRouter {
            next_hop: Address::V4(Ipv4Addr::new(10, 0, 0, 254)),
            src_mask_len: 24,
            dst_mask_len: 16,
        })],
    );
    builder.counter_sample(&LegacyCounterSample {
        sequence_number: 3,
        source_id: DataSource { class: 0, index: 5 },
        sampling_interval: 20,
        version: counters_version::ETHERNET,
        generic: Some(GenericInterfaceCounters {
            if_index: 5,
            if_type: 6,
            if_speed: 1_000_000_000,
            if_in_octets: 12345,
            ..Default::default()
        }),
        specific: Some(LegacyCounterBlock::Ethernet(EthernetCounters {
            dot3_stats_fcs_errors: 2,
            ..Default::default()
        })),
    });
    builder.counter_sample(&LegacyCounterSample {
        sequence_number: 4,
        source_id: DataSource { class: 0, index: 5 },
        sampling_interval: 20,
        version: counters_version::VLAN,
        generic: None,
        specific: Some(LegacyCounterBlock::Vlan(VlanCounters {
            vlan_id: 10,
            octets: 999,
            ..Default::default()
        })),
    });
    builder.finish()
}

fn legacy_capture(dir: &Path, version: u32) -> String {
    let frame = ip_frame("10.1.1.1:1000", "10.2.2.2:53", b"hello");
    let path_raw = rtflow_sflow::AsPath::segments_to_bytes(&[(2, &[65001, 65002]), (1, &[7, 8])]);
    let raw: Vec<u8> = if version == 2 {
        [65001u32, 65002, 65003]
            .iter()
            .flat_map(|a| a.to_be_bytes())
            .collect()
    } else {
        path_raw
    };
    capture(
        dir,
        &format!("v{version}.pcap"),
        &[legacy_datagram(version, &frame, &raw)],
    )
}

/// The lines of `text` from the first line starting with `from` up to (not including) the
/// next one starting with `to`.
fn section<'t>(text: &'t str, from: &str, to: &str) -> Vec<&'t str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(from));
    let first = lines.next().into_iter();
    first
        .chain(lines.take_while(|l| !l.starts_with(to)))
        .collect()
}

#[test]
fn sflow_v2_and_v4_print_as_sflowtool_prints_them() {
    let dir = tempdir();
    let v4 = legacy_capture(dir.path(), 4);
    let text = decode(&["-r", &v4]);
    // The datagram header has no agentSubId.
    assert_eq!(
        section(&text, "datagramVersion", "startSample"),
        [
            "datagramVersion 4",
            "agent 10.0.0.1",
            "packetSequenceNo 42",
            "sysUpTime 1000",
            "samplesInPacket 4"
        ]
    );
    // No flowBlock_tag, no strippedBytes, the output port's "multiple" form, the v4 gateway
    // without bgp_nexthop, the user without character sets, the URL without host.
    let first = section(&text, "sampleType_tag 0:1", "endSample");
    let expected_start = [
        "sampleType_tag 0:1",
        "sampleType FLOWSAMPLE",
        "sampleSequenceNo 7",
        "sourceId 0:5",
        "meanSkipCount 100",
        "samplePool 700",
        "dropEvents 1",
        "inputPort 5",
        "outputPort multiple 2",
        "flowSampleType HEADER",
        "headerProtocol 1",
        "sampledPacketSize 51",
        "headerLen 47",
    ];
    assert_eq!(first[..expected_start.len()], expected_start);
    assert!(
        first.contains(&"IPSize 37"),
        "51 - 14, nothing stripped: {first:?}"
    );
    let expected_end = [
        "UDPBytes 13",
        "extendedType SWITCH",
        "in_vlan 10",
        "in_priority 0",
        "out_vlan 20",
        "out_priority 1",
        "extendedType GATEWAY",
        "my_as 65000",
        "src_as 64512",
        "src_peer_as 64513",
        "dst_as_path 65001-65002-(7-8)",
        "dst_as 8",
        "dst_peer_as 65001",
        "BGP_communities 7-8",
        "BGP_localpref 100",
        "extendedType USER",
        "src_user alice",
        "dst_user bob",
        "extendedType URL",
        "url_direction 1",
        "url /index.html",
    ];
    assert_eq!(first[first.len() - expected_end.len()..], expected_end);
    // Counters: interval and version lines, then the generic and the specific counters without
    // counterBlock_tag lines; VLAN counters have no generic part.
    let counters = section(&text, "sampleType COUNTERSSAMPLE", "ifIndex");
    assert_eq!(
        counters,
        [
            "sampleType COUNTERSSAMPLE",
            "sampleSequenceNo 3",
            "sourceId 0:5",
            "statsSamplingInterval 20",
            "counterBlockVersion 2"
        ]
    );
    assert!(
        text.contains("ifPromiscuousMode 0\ndot3StatsAlignmentErrors 0\ndot3StatsFCSErrors 2\n")
    );
    assert!(
        text.contains("counterBlockVersion 7\nin_vlan 10\noctets 999\n"),
        "{text}"
    );
    assert!(!text.contains("_tag 0:1\nsampleType COUNTERS") && !text.contains("Block_tag"));

    // JSON: the packet data and each extended record are one element; a counters sample has two
    // (generic, specific), the first empty for VLAN counters.
    let json: serde_json::Value =
        serde_json::from_str(decode(&["-r", &v4, "-j"]).trim()).unwrap_or_else(|e| panic!("{e}"));
    let samples = json["samples"].as_array().cloned().unwrap_or_default();
    let elements = |i: usize| {
        samples[i]["elements"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(elements(0).len(), 5);
    assert_eq!(elements(0)[0]["flowSampleType"], "HEADER");
    assert_eq!(elements(0)[2]["dst_as_path"], "65001-65002-(7-8)");
    assert_eq!(
        elements(1)[0]["srcIP6"],
        "2001:0db8:0000:0000:0000:0000:0000:0001"
    );
    assert_eq!(elements(1)[1]["nextHop"], "10.0.0.254");
    assert_eq!(elements(2)[0]["ifInOctets"], "12345");
    assert_eq!(elements(2)[1]["dot3StatsFCSErrors"], "2");
    assert_eq!(elements(3)[0], serde_json::json!({}));
    assert_eq!(elements(3)[1]["octets"], "999");

    // -l: FLOW lines from the v2/v4 state (sflowtool prints the output port with %d), CNTR
    // lines from the generic counters (zeros for VLAN counters).
    assert_eq!(
        decode(&["-r", &v4, "-l"]),
        "FLOW,10.0.0.1,5,-2147483646,020000000001,020000000002,0x0800,10,20,10.1.1.1,10.2.2.2,\
         17,0x00,64,1000,53,0x00,51,37,100\n\
         FLOW,10.0.0.1,5,6,000000000000,000000000000,0x0000,0,0,\
         2001:0db8:0000:0000:0000:0000:0000:0001,2001:0db8:0000:0000:0000:0000:0000:0002,\
         6,0x00,0,443,50000,0x18,80,80,100\n\
         CNTR,10.0.0.1,5,6,1000000000,0,0,12345,0,0,0,0,0,0,0,0,0,0,0,0,0\n\
         CNTR,10.0.0.1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
    );
    // -L works on the same fields.
    assert_eq!(
        decode(&[
            "-r",
            &v4,
            "-L",
            "datagramVersion,agent,srcIP,dstIP6,url,octets"
        ]),
        "4,10.0.0.1,10.1.1.1,,/index.html,\n4,10.0.0.1,,2001:0db8:0000:0000:0000:0000:0000:0002,,\n4,10.0.0.1,,,,999\n"
    );

    // v2: the flat gateway form with its path length.
    let v2 = legacy_capture(dir.path(), 2);
    let text = decode(&["-r", &v2]);
    assert!(text.contains("datagramVersion 2\nagent 10.0.0.1\n"));
    assert_eq!(
        section(&text, "extendedType GATEWAY", "extendedType USER"),
        [
            "extendedType GATEWAY",
            "my_as 65000",
            "src_as 64512",
            "src_peer_as 64513",
            "dst_as 65003",
            "dst_peer_as 65001",
            "dst_as_path_len 3",
            "dst_as_path 65001-65002-65003"
        ]
    );
    let output = run(&["-r", &v2, "-l"]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("1 datagrams: 1 decoded, 0 not sFlow"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sflow_v4_sampled_headers_go_into_the_pcap_stream() {
    let dir = tempdir();
    let v4 = legacy_capture(dir.path(), 4);
    let output = run(&["-r", &v4, "-t"]);
    assert!(output.status.success());
    let tcpdump = common::pipe_into(&["tcpdump", "-r", "-", "-nn", "-e"], &output.stdout);
    let lines: Vec<&str> = tcpdump.lines().collect();
    assert_eq!(lines.len(), 1, "{tcpdump}");
    assert!(
        lines[0].contains("10.1.1.1.1000 > 10.2.2.2.53"),
        "{tcpdump}"
    );
}

// ---- -t for every header protocol, -x ----

/// The (captured length, original length, bytes) of each packet of a little-endian pcap stream.
fn pcap_packets(stream: &[u8]) -> Vec<(usize, u32, Vec<u8>)> {
    let mut packets = Vec::new();
    let mut at = 24;
    while let Some(record) = stream.get(at..at + 16) {
        let word =
            |i: usize| u32::from_le_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]);
        let (caplen, len) = (word(8) as usize, word(12));
        let data = stream
            .get(at + 16..at + 16 + caplen)
            .unwrap_or_default()
            .to_vec();
        packets.push((caplen, len, data));
        at += 16 + caplen;
    }
    packets
}

#[test]
fn every_header_protocol_is_written_with_an_encapsulation_tcpdump_reads_or_counted() {
    let dir = tempdir();
    let frame = ip_frame("10.1.1.1:1000", "10.2.2.2:53", b"hello");
    let ip = &frame[14..];
    let ip6_frame = ip_frame("[2001:db8::1]:1000", "[2001:db8::2]:53", b"hello");
    let ip6 = &ip6_frame[14..];
    // MPLS: one label (16, bottom of stack, TTL 64) over IPv4.
    let mpls = [&[0x00, 0x01, 0x01, 0x40][..], ip].concat();
    // PPP in HDLC framing (ff 03), protocol 0x0021 = IPv4; and with a compressed protocol.
    let ppp = [&[0xff, 0x03, 0x00, 0x21][..], ip].concat();
    let ppp_compressed = [&[0x21][..], ip].concat();
    // Cisco HDLC on a POS link: address 0x0f, control 0, EtherType.
    let hdlc = [&[0x0f, 0x00, 0x08, 0x00][..], ip].concat();
    let headers: [(u32, &[u8]); 10] = [
        (1, &frame),
        (11, ip),
        (12, ip6),
        (13, &mpls),
        (7, &ppp),
        (7, &ppp_compressed),
        (14, &hdlc),
        (15, &wifi_frame()),
        (3, &frame),
        (15, &wifi_frame()),
    ];
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 12)),
        sub_agent_id: 0,
        sequence_number: 1,
        uptime_ms: 1,
    });
    for (i, (protocol, header)) in headers.iter().enumerate() {
        builder.flow_sample(
            &flow_info(i as u32 + 1),
            &[header_record(*protocol, header)],
        );
    }
    let path = capture(dir.path(), "protocols.pcap", &[builder.finish()]);
    let output = run(&["-r", &path, "-t"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One notice per protocol left out, and the counts in the summary.
    assert_eq!(stderr.matches("are not written").count(), 2, "{stderr}");
    assert!(
        stderr.contains("header protocol 15 (IEEE 802.11) are not written"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "sampled headers not written: 2 of header protocol 15 (IEEE 802.11), \
             1 of header protocol 3 (ISO 802.5 token ring)"
        ),
        "{stderr}"
    );
    let tcpdump = common::pipe_into(&["tcpdump", "-r", "-", "-nn", "-e", "-v"], &output.stdout);
    let packets: Vec<&str> = tcpdump
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
        .collect();
    assert_eq!(packets.len(), 7, "{tcpdump}");
    let udp = "10.1.1.1.1000 > 10.2.2.2.53";
    for (packet, (kind, inner)) in packets.iter().zip([
        ("ethertype IPv4", udp),
        ("ethertype IPv4", udp),
        ("ethertype IPv6", "2001:db8::1.1000 > 2001:db8::2.53"),
        ("ethertype MPLS unicast", "label 16"),
        ("ethertype PPPoE S", "PPPoE"),
        ("ethertype PPPoE S", "PPPoE"),
        ("ethertype IPv4", udp),
    ]) {
        let full: String = tcpdump
            .split(packet)
            .nth(1)
            .map(|rest| format!("{packet}{}", rest.split("\n0").next().unwrap_or_default()))
            .unwrap_or_default();
        assert!(
            full.contains(kind) && full.contains(inner),
            "{kind} / {inner} in {full}"
        );
    }
    // The IPv4 packet inside MPLS and PPPoE is decoded too.
    assert_eq!(tcpdump.matches(udp).count(), 6, "{tcpdump}");
    // Original lengths follow the encapsulation: +14 for the synthetic Ethernet header, +6 for
    // PPPoE minus the 2 HDLC bytes (plus 1 for a widened protocol), -4 for the Cisco HDLC
    // address, control and EtherType moved into the Ethernet header.
    let lens: Vec<u32> = pcap_packets(&output.stdout).iter().map(|p| p.1).collect();
    let n = |h: &[u8]| h.len() as u32 + 4;
    assert_eq!(
        lens,
        [
            n(&frame),
            n(ip) + 14,
            n(ip6) + 14,
            n(&mpls) + 14,
            n(&ppp) + 14 + 6 - 2,
            n(&ppp_compressed) + 14 + 6 + 1,
            n(&hdlc) + 14 - 4
        ]
    );
}

#[test]
fn remove_content_cuts_each_packet_where_its_payload_starts() {
    let dir = tempdir();
    let udp = ip_frame("10.1.1.1:1000", "10.2.2.2:53", b"secret payload");
    let udp6 = ip_frame("[2001:db8::1]:1000", "[2001:db8::2]:53", b"secret");
    let raw_ip = udp[14..].to_vec();
    let arp = [vec![0xffu8; 6], vec![2; 6], vec![0x08, 0x06], vec![0; 28]].concat();
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 13)),
        sub_agent_id: 0,
        sequence_number: 1,
        uptime_ms: 1,
    });
    for (i, (protocol, header)) in [(1, &udp), (1, &udp6), (11, &raw_ip), (1, &arp)]
        .into_iter()
        .enumerate()
    {
        builder.flow_sample(&flow_info(i as u32 + 1), &[header_record(protocol, header)]);
    }
    let path = capture(dir.path(), "x.pcap", &[builder.finish()]);
    let whole = decode_bytes(&["-r", &path, "-t"]);
    let cut = decode_bytes(&["-r", &path, "-t", "-x"]);
    let caplens =
        |stream: &[u8]| -> Vec<usize> { pcap_packets(stream).iter().map(|p| p.0).collect() };
    assert_eq!(
        caplens(&whole),
        [udp.len(), udp6.len(), raw_ip.len() + 14, arp.len()]
    );
    // Up to the end of the UDP header (Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8), the synthetic
    // Ethernet header included; no transport header, no cut (as sflowtool).
    assert_eq!(caplens(&cut), [42, 62, 42, arp.len()]);
    // Original lengths are unchanged, and the bytes kept are the same.
    for (a, b) in pcap_packets(&whole).iter().zip(pcap_packets(&cut)) {
        assert_eq!(a.1, b.1);
        assert!(a.2.starts_with(&b.2));
    }
    assert!(!String::from_utf8_lossy(&cut).contains("secret"));
}

/// Runs `rtflow decode ARGS`, asserting success; returns stdout as bytes.
fn decode_bytes(args: &[&str]) -> Vec<u8> {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

// ---- -b, -A, -D, -? ----

/// Starts `rtflow decode ARGS` listening on port 0 and returns it with the address it reported.
fn listening(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    use std::process::Stdio;
    let mut child = Command::new(RTFLOW)
        .arg("decode")
        .args(["-p", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn rtflow: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
    let mut line = String::new();
    std::io::BufReader::new(stderr)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    let address = line
        .strip_prefix("rtflow decode: listening on ")
        .and_then(|rest| rest.strip_suffix(" (UDP)\n"))
        .unwrap_or_else(|| panic!("listening line: {line:?}"))
        .to_string();
    (child, address)
}

#[test]
fn bind_address_and_listen_families_follow_sflowtools_options() {
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let datagram = padded_datagram(&frame);
    // -b: only that address; the datagram sent to it is decoded (-c 1 then ends the run).
    let (child, address) = listening(&["-b", "127.0.0.1", "-j", "-c", "1"]);
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    sender
        .send_to(&datagram, &address)
        .unwrap_or_else(|e| panic!("{e}"));
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let json = String::from_utf8_lossy(&output.stdout);
    assert!(json.contains("\"agent\":\"192.0.2.9\""), "{json}");
    // The last of -4, -6 and -A counts (sflowtool's getopt order).
    for (args, prefix) in [
        (&["-4", "-A"][..], "[::]:"),
        (&["-A", "-4"][..], "0.0.0.0:"),
        (&["-6", "-4"][..], "0.0.0.0:"),
        (&["-b", "::1"][..], "[::1]:"),
    ] {
        let (mut child, address) = listening(args);
        let _ = child.kill();
        let _ = child.wait();
        assert!(address.starts_with(prefix), "{args:?}: {address}");
    }
    let output = run(&["-p", "0", "-4", "-b", "::1"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("-b ::1 is not an address"));
}

#[test]
fn dns_option_is_accepted_and_question_mark_prints_help() {
    let dir = tempdir();
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let path = capture(dir.path(), "d.pcap", &[padded_datagram(&frame)]);
    assert_eq!(
        decode(&["-D", "-r", &path, "-l"]),
        decode(&["-r", &path, "-l"])
    );
    let help = decode(&["-?"]);
    assert!(help.contains("Usage: rtflow decode"), "{help}");
    assert!(help.contains("-x, --remove-content"), "{help}");
}

// ---- NetFlow export ----

/// Flow samples for NetFlow: a TCP/IPv4 header with router and gateway records, a UDP/IPv6
/// header, an IPv4 fragment (not exported, as in sflowtool), and a counter sample.
fn netflow_datagram(tcp: &[u8], udp6: &[u8], fragment: &[u8]) -> Vec<u8> {
    use rtflow_sflow::{AsPath, ExtendedGateway, U32List};
    let path = AsPath::segments_to_bytes(&[(2, &[64500, 64501, 64502])]);
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(Ipv4Addr::new(192, 0, 2, 20)),
        sub_agent_id: 0,
        sequence_number: 5,
        uptime_ms: 1,
    });
    builder.flow_sample(
        &flow_info(1),
        &[
            header_record(1, tcp),
            FlowRecord::ExtendedRouter(ExtendedRouter {
                next_hop: Address::V4(Ipv4Addr::new(192, 0, 2, 254)),
                src_mask_len: 24,
                dst_mask_len: 20,
            }),
            FlowRecord::ExtendedGateway(ExtendedGateway {
                next_hop: Address::V4(Ipv4Addr::new(192, 0, 2, 253)),
                as_number: 64496,
                src_as: 64497,
                src_peer_as: 64498,
                dst_as_path: AsPath::from_segments_bytes(1, &path).expect("AS path"),
                communities: U32List::default(),
                local_pref: 100,
            }),
        ],
    );
    builder.flow_sample(&flow_info(2), &[header_record(1, udp6)]);
    builder.flow_sample(&flow_info(3), &[header_record(1, fragment)]);
    builder.counter_sample(
        &CounterSampleInfo {
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 3 },
            expanded: false,
        },
        &[CounterRecord::GenericInterface(
            GenericInterfaceCounters::default(),
        )],
    );
    builder.finish()
}

/// An Ethernet/IPv4/TCP frame 10.1.0.1:40000 → 10.2.0.2:443 with flags PSH+ACK and `payload`.
fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    // Start from a UDP frame for the Ethernet and IPv4 headers, then make it TCP.
    let udp = ip_frame("10.1.0.1:40000", "10.2.0.2:443", &[]);
    let mut frame = udp[..34].to_vec();
    frame[23] = 6;
    let total = (20 + 20 + payload.len()) as u16;
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&[0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18]);
    frame.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// Runs `rtflow decode ARGS` sending NetFlow to a loopback socket; returns what it received.
fn netflow_received(args: &[&str], expected: usize) -> (Vec<Vec<u8>>, u16) {
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = receiver.local_addr().map(|a| a.port()).unwrap_or_default();
    let port_text = port.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-c", "127.0.0.1", "-d", &port_text]);
    let output = run(&all);
    assert!(
        output.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty(),
        "NetFlow export alone prints nothing, as sflowtool"
    );
    let packets = common::receive_all(&receiver, expected);
    // Nothing more arrives.
    receiver
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        receiver.recv(&mut [0u8; 2048]).is_err(),
        "more than {expected} packets"
    );
    (packets, port)
}

/// tshark's NetFlow fields of `packets` (received on `port`), one line per flow record.
fn tshark_netflow(dir: &Path, packets: &[Vec<u8>], port: u16, fields: &[&str]) -> Vec<String> {
    use rtflow_capture::{LinkType, PcapWriter, Timestamp};
    let path = dir.join(format!("netflow-{port}.pcap"));
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = PcapWriter::new(file, LinkType::ETHERNET, 0).unwrap_or_else(|e| panic!("{e}"));
    for packet in packets {
        let frame = ip_frame("127.0.0.1:40000", &format!("127.0.0.1:{port}"), packet);
        writer
            .write_packet(Timestamp::new(1_700_000_000, 0), frame.len() as u32, &frame)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(writer);
    let mut command = Command::new("tshark");
    command
        .args(["-r", path.to_str().unwrap_or_default(), "-d"])
        .arg(format!("udp.port=={port},cflow"))
        .args(["-T", "fields", "-E", "separator=,"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("tshark must be installed: {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn netflow_v5_and_v9_export_decodes_in_tshark_with_sflowtools_fields() {
    let dir = tempdir();
    let tcp = tcp_frame(&[0u8; 100]);
    let udp6 = ip_frame("[2001:db8::1]:5353", "[2001:db8::2]:53", &[0u8; 30]);
    let mut fragment = ip_frame("10.1.0.1:1", "10.2.0.2:2", &[0u8; 20]);
    fragment[20..22].copy_from_slice(&[0x00, 0x10]); // fragment offset 16 (x 8 bytes)
    let path = capture(
        dir.path(),
        "netflow.pcap",
        &[netflow_datagram(&tcp, &udp6, &fragment)],
    );
    let fields = [
        "cflow.version",
        "cflow.srcaddr",
        "cflow.dstaddr",
        "cflow.nexthop",
        "cflow.inputint",
        "cflow.outputint",
        "cflow.packets",
        "cflow.octets",
        "cflow.srcport",
        "cflow.dstport",
        "cflow.protocol",
        "cflow.tcpflags",
        "cflow.srcas",
        "cflow.dstas",
        "cflow.srcmask",
        "cflow.dstmask",
    ];
    // v5: one packet, for the IPv4 sample only. Scaled by the sampling rate (256): the IP
    // packet is 140 bytes (the frame's 158 + 4 FCS - 4 stripped - 14 Ethernet).
    let (packets, port) = netflow_received(&["-r", &path], 1);
    assert_eq!(packets[0].len(), 24 + 48);
    assert_eq!(
        tshark_netflow(dir.path(), &packets, port, &fields),
        ["5,10.1.0.1,10.2.0.2,192.0.2.254,3,4,256,35840,40000,443,6,0x18,64497,64502,24,20"]
    );
    // -e: peer ASes; -s: 1 packet of 140 bytes, the rate in the header's sampling interval.
    let (packets, port) = netflow_received(&["-r", &path, "-e", "-s"], 1);
    let mut with_interval = fields.to_vec();
    with_interval.extend(["cflow.samplingmode", "cflow.samplerate"]);
    assert_eq!(
        tshark_netflow(dir.path(), &packets, port, &with_interval),
        ["5,10.1.0.1,10.2.0.2,192.0.2.254,3,4,1,140,40000,443,6,0x18,64498,64500,24,20,1,256"]
    );
    // v9 -s: the rate in each record's SAMPLING_INTERVAL element.
    let (packets, port) = netflow_received(&["-r", &path, "-N", "9", "-s"], 2);
    let intervals = tshark_netflow(
        dir.path(),
        &packets,
        port,
        &["cflow.packets", "cflow.sampling_interval"],
    );
    assert_eq!(intervals, ["1,256", "1,256"]);
    // v9: the IPv4 packet and an IPv6 one (template 257), each with its template.
    let (packets, port) = netflow_received(&["-r", &path, "-N", "9"], 2);
    let mut v9 = fields.to_vec();
    v9.extend(["cflow.srcaddrv6", "cflow.dstaddrv6", "cflow.template_id"]);
    let lines = tshark_netflow(dir.path(), &packets, port, &v9);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "9,10.1.0.1,10.2.0.2,192.0.2.254,3,4,256,35840,40000,443,6,0x18,64497,64502,24,20,,,256"
        ),
        "{lines:?}"
    );
    // UDP over IPv6: the bytes are the UDP length (38), as sflowtool counts UDP.
    assert!(
        lines[1]
            .starts_with("9,,,,3,4,256,9728,5353,53,17,0x00,0,0,0,0,2001:db8::1,2001:db8::2,257"),
        "{lines:?}"
    );
    // Sequence numbers count the packets sent.
    let sequences = tshark_netflow(dir.path(), &packets, port, &["cflow.sequence"]);
    assert_eq!(sequences, ["0", "1"]);
}

#[test]
fn netflow_options_name_what_is_missing_and_count_stays_a_count() {
    let dir = tempdir();
    let frame = ip_frame("10.0.0.1:1", "10.0.0.2:2", b"x");
    let path = capture(
        dir.path(),
        "c.pcap",
        &[padded_datagram(&frame), padded_datagram(&frame)],
    );
    for (args, needle) in [
        (&["-c", "127.0.0.1"][..], "give its UDP port with -d PORT"),
        (&["-d", "2055"][..], "give -c HOST too"),
        (&["-N", "9"][..], "-N is a NetFlow export option"),
        (
            &["-N", "7", "-c", "::1", "-d", "2055"][..],
            "invalid NetFlow version",
        ),
        (
            &["-c", "1", "-c", "2"][..],
            "-c COUNT is given more than once",
        ),
    ] {
        let mut all = vec!["-r", path.as_str()];
        all.extend_from_slice(args);
        let output = run(&all);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // A number is still a count: one datagram of the two.
    let text = decode(&["-r", &path, "-c", "1"]);
    assert_eq!(text.matches("startDatagram").count(), 1);
    // Both at once: the count stops the run, NetFlow goes out meanwhile.
    let (packets, _) = netflow_received(&["-r", &path, "-c", "1"], 1);
    assert_eq!(packets.len(), 1);
}

#[test]
fn netflow_spoofed_from_the_agent_address_with_dash_s() {
    let dir = tempdir();
    let tcp = tcp_frame(&[0u8; 10]);
    let udp6 = ip_frame("[2001:db8::1]:1", "[2001:db8::2]:2", b"x");
    let path = capture(
        dir.path(),
        "spoof.pcap",
        &[netflow_datagram(&tcp, &udp6, &tcp)],
    );
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = receiver
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_default()
        .to_string();
    let output = run(&["-r", &path, "-c", "127.0.0.1", "-d", &port, "-S"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("needs root or CAP_NET_RAW") {
        // Raw sockets need privileges; CI runs as root.
        eprintln!("skipped: -S needs root or CAP_NET_RAW: {stderr}");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let mut buf = [0u8; 2048];
    // Two IPv4 samples (the third repeats the TCP header), each from the agent's address and
    // the collector's port, as sflowtool spoofs them.
    for _ in 0..2 {
        let (len, from) = receiver
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(len, 24 + 48);
        assert_eq!(from.to_string(), format!("192.0.2.20:{port}"));
        assert_eq!(&buf[..2], &[0, 5]);
    }
}

// ---- -R: sFlow from a raw capture ----

/// A raw capture of `count` Ethernet/IPv4/UDP packets 10 ms apart, packet i (from 1) going
/// 10.9.0.1:i → 10.9.0.2:9 with 200 bytes of payload.
fn raw_capture(dir: &Path, count: u16) -> String {
    use rtflow_capture::{LinkType, PcapWriter, Timestamp};
    let path = dir.join("raw.pcap");
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = PcapWriter::new(file, LinkType::ETHERNET, 0).unwrap_or_else(|e| panic!("{e}"));
    for i in 1..=count {
        let frame = ip_frame(&format!("10.9.0.1:{i}"), "10.9.0.2:9", &[0xab; 200]);
        let ts = Timestamp::new(1_700_000_000, u32::from(i) * 10_000 * 1000);
        writer
            .write_packet(ts, frame.len() as u32, &frame)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(writer);
    path.to_str().expect("UTF-8 path").to_string()
}

fn json_docs(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// (sampleSequenceNo, samplePool, UDPSrcPort) of every flow sample.
fn sampled(docs: &[serde_json::Value]) -> Vec<(u32, u32, u32)> {
    let number = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    docs.iter()
        .flat_map(|d| d["samples"].as_array().cloned().unwrap_or_default())
        .map(|s| {
            (
                number(&s["sampleSequenceNo"]),
                number(&s["samplePool"]),
                number(&s["elements"][0]["UDPSrcPort"]),
            )
        })
        .collect()
}

#[test]
fn raw_packets_are_sampled_into_sflow_as_sflowtools_agent_simulator() {
    let dir = tempdir();
    let raw = raw_capture(dir.path(), 100);
    // 1 in 1: every packet, in order.
    let docs = json_docs(&decode(&["-q", "-r", &raw, "-R", "1", "-j"]));
    let all = sampled(&docs);
    assert_eq!(all.len(), 100);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, s)| *s == (i as u32 + 1, i as u32 + 1, i as u32 + 1))
    );
    let first = &docs[0];
    assert_eq!(first["agent"], "0.0.0.0");
    assert_eq!(first["agentSubId"], "24336");
    let sample = &first["samples"][0];
    assert_eq!(sample["sampleType_tag"], "0:3");
    assert_eq!(sample["sourceId"], "0:0");
    assert_eq!(sample["meanSkipCount"], "1");
    let header = &sample["elements"][0];
    assert_eq!(header["headerProtocol"], "1");
    assert_eq!(header["sampledPacketSize"], "246", "242-byte frame + 4 FCS");
    assert_eq!(header["strippedBytes"], "4");
    assert_eq!(header["headerLen"], "128");
    // Datagrams stay under 1400 bytes: 6 samples of 128-byte headers each.
    assert_eq!(docs.len(), 17);
    let sizes: Vec<u32> = docs
        .iter()
        .map(|d| {
            d["datagramSize"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u32::MAX)
        })
        .collect();
    assert!(sizes.iter().all(|&size| size <= 1400), "{sizes:?}");
    let sequences: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["packetSequenceNo"].as_str())
        .collect();
    assert_eq!(sequences[..3], ["1", "2", "3"]);

    // 1 in 10: the packets sflowtool's generator picks (seed 1, gaps 1..19), the pool counting
    // every packet.
    let docs = json_docs(&decode(&["-q", "-r", &raw, "-R", "10", "-j"]));
    let picked: Vec<u32> = sampled(&docs).iter().map(|s| s.2).collect();
    assert_eq!(picked, [1, 6, 22, 25, 27, 38, 49, 50, 57, 64, 80, 91, 95]);
    assert!(sampled(&docs).iter().all(|s| s.1 == s.2));
    assert_eq!(docs[0]["samples"][0]["meanSkipCount"], "10");

    // With -f the datagrams go to the collector and nothing is printed.
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    let target = format!(
        "127.0.0.1/{}",
        receiver.local_addr().map(|a| a.port()).unwrap_or(0)
    );
    let output = run(&["-r", &raw, "-R", "10", "-f", &target]);
    assert!(output.status.success() && output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sampled 1 in 10: 100 packets, 13 samples in"),
        "{stderr}"
    );
    let received = common::receive_all(&receiver, docs.len());
    let samples: u32 = received
        .iter()
        .map(|d| {
            rtflow_sflow::Datagram::decode(d)
                .map(|d| d.num_samples())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(samples, 13);
    // -R needs -r.
    assert!(!run(&["-R", "10"]).status.success());
}
