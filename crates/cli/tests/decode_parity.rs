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
    assert!(flow.contains(&format!(
        ",{},{},",
        full("2001:db8::10"),
        full("2001:db8::20")
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
