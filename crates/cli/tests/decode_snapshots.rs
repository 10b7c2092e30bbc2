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
    let stdout = String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("UTF-8 output: {e}"));
    // The summary names the file by the path given: keep the snapshot independent of where the
    // repository is.
    (stdout, stderr.replace(&path.display().to_string(), name))
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
