//! `rtflow decode`'s output formats on the generated captures of tests/data, held as reviewed
//! snapshots (crates/cli/tests/snapshots): any change of a field, its name, order or formatting
//! fails here. records.pcap holds every sample type and the records agents send, so each format
//! is exercised on all of them. Where ../shared is present, decode.rs and decode_options.rs also
//! compare these formats with sflowtool's own output (the format spec's examples).
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -p rtflow-cli --test decode_snapshots`
//! (or `cargo insta review`), then review `git diff crates/cli/tests/snapshots`.

use std::process::Command;

mod common;

use common::RTFLOW;

/// `rtflow decode -r tests/data/NAME ARGS`: (stdout, stderr), asserting success.
fn decode(name: &str, args: &[&str]) -> (String, String) {
    let (stdout, stderr) = decode_bytes(name, args);
    let stdout = String::from_utf8(stdout).unwrap_or_else(|e| panic!("UTF-8 output: {e}"));
    (stdout, stderr)
}

/// [`decode`] for binary output (the pcap streams).
fn decode_bytes(name: &str, args: &[&str]) -> (Vec<u8>, String) {
    let path = rtflow_testkit::data_file(name);
    let output = Command::new(RTFLOW)
        .args(["decode", "-r"])
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run rtflow: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "rtflow decode {name} {args:?}: {stderr}"
    );
    // The summary names the file by the path given: keep the snapshot independent of where the
    // repository is.
    (
        output.stdout,
        stderr.replace(&path.display().to_string(), name),
    )
}

/// A pcap stream as reviewable text: the file header's link type and snaplen, then each
/// packet's timestamp, lengths and bytes in hex (32 a line).
fn pcap_listing(stream: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut reader =
        rtflow_capture::PcapReader::new(stream).unwrap_or_else(|e| panic!("pcap stream: {e}"));
    let mut text = String::new();
    while let Some(packet) = reader
        .next_packet()
        .unwrap_or_else(|e| panic!("pcap packet: {e}"))
    {
        let _ = writeln!(
            text,
            "{}.{:06} caplen {} len {}",
            packet.timestamp.secs,
            packet.timestamp.micros(),
            packet.data.len(),
            packet.orig_len
        );
        for line in packet.data.chunks(32) {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(text, "  {}", hex.join(""));
        }
    }
    format!(
        "link type {:?}, snaplen {:?}, {} packets\n{text}",
        reader.link_type(),
        reader.snaplen(),
        reader.packets_read()
    )
}

#[test]
fn text() {
    insta::assert_snapshot!("records_text", decode("records.pcap", &["-q"]).0);
}

#[test]
fn json_lines_parse_and_match() {
    let (stdout, _) = decode("records.pcap", &["-j", "-q"]);
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("-j line is not JSON ({e}): {line}"));
    }
    insta::assert_snapshot!("records_json", stdout);
}

#[test]
fn pretty_json_is_the_same_documents() {
    let (compact, _) = decode("records.pcap", &["-j", "-q"]);
    let (pretty, _) = decode("records.pcap", &["-J", "-q"]);
    let compact: Vec<serde_json::Value> = compact
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let pretty: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&pretty)
        .into_iter()
        .map(|v| v.unwrap_or_else(|e| panic!("-J output: {e}")))
        .collect();
    assert_eq!(pretty, compact);
}

#[test]
fn csv() {
    insta::assert_snapshot!("records_csv", decode("records.pcap", &["-l", "-q"]).0);
}

#[test]
fn grep_lines() {
    insta::assert_snapshot!("records_grep", decode("records.pcap", &["-g", "-q"]).0);
}

#[test]
fn field_lines() {
    let fields = "agent,sampleType,srcIP,dstIP,IPProtocol,TCPDstPort,UDPDstPort,discarded_srcIP";
    insta::assert_snapshot!(
        "records_fields",
        decode("records.pcap", &["-L", fields, "-q"]).0
    );
}

#[test]
fn http_common_log() {
    insta::assert_snapshot!("records_http_log", decode("records.pcap", &["-H", "-q"]).0);
}

#[test]
fn pcapng_input_decodes_like_pcap() {
    assert_eq!(
        decode("records.pcapng", &["-j", "-q"]).0,
        decode("records.pcap", &["-j", "-q"]).0
    );
}

#[test]
fn not_sflow_and_malformed_reports() {
    let (mixed_text, mixed_report) = decode("mixed.pcap", &[]);
    insta::assert_snapshot!("mixed_text", mixed_text);
    insta::assert_snapshot!("mixed_report", mixed_report);
    let (malformed_text, malformed_report) = decode("malformed.pcap", &[]);
    assert!(malformed_text.is_empty(), "{malformed_text}");
    insta::assert_snapshot!("malformed_report", malformed_report);
}

#[test]
fn pretty_json() {
    insta::assert_snapshot!(
        "records_json_pretty",
        decode("records.pcap", &["-J", "-q"]).0
    );
}

#[test]
fn sampled_header_pcap_streams() {
    let flows = pcap_listing(&decode_bytes("records.pcap", &["-t", "-q"]).0);
    insta::assert_snapshot!("records_header_pcap", flows);
    let discards = pcap_listing(&decode_bytes("records.pcap", &["-T", "-q"]).0);
    insta::assert_snapshot!("records_discard_pcap", discards);
    let cut = pcap_listing(&decode_bytes("records.pcap", &["-t", "-x", "-q"]).0);
    insta::assert_snapshot!("records_header_pcap_no_payload", cut);
}

#[test]
fn datagram_pcap_stream() {
    let datagrams = pcap_listing(&decode_bytes("records.pcap", &["-M", "-q"]).0);
    insta::assert_snapshot!("records_datagram_pcap", datagrams);
}

/// mixed.pcap: the per-sample formats on sFlow v5 among datagrams that are not (its sFlow v4
/// datagram has no samples; v2/v4 samples are checked against sflowtool in decode_parity.rs).
#[test]
fn per_sample_formats_on_sflow_v4_and_v5() {
    insta::assert_snapshot!("mixed_json", decode("mixed.pcap", &["-j", "-q"]).0);
    insta::assert_snapshot!("mixed_csv", decode("mixed.pcap", &["-l", "-q"]).0);
    insta::assert_snapshot!("mixed_grep", decode("mixed.pcap", &["-g", "-q"]).0);
    let fields = "agent,datagramVersion,sampleType,srcIP,dstIP,IPProtocol,TCPDstPort,UDPDstPort";
    insta::assert_snapshot!(
        "mixed_fields",
        decode("mixed.pcap", &["-L", fields, "-q"]).0
    );
}
