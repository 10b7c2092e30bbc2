//! Helpers shared by the `rtflow` integration tests: the binary, the sflowtool format spec's
//! examples, UDP receiving and piping into tcpdump/tshark.

#![allow(dead_code)]

use std::path::Path;

pub(crate) const RTFLOW: &str = env!("CARGO_BIN_EXE_rtflow");

/// The body of the fenced block following `heading` in the sflowtool format spec of `spec_dir`
/// (`../shared/spec`, from `rtflow_testkit::require_shared!(Shared::Spec)`).
pub(crate) fn spec_block(spec_dir: &Path, heading: &str) -> String {
    let path = spec_dir.join("sflowtool-format.md");
    let spec = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the sflowtool format spec {}: {e}", path.display()));
    let after = spec
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("spec section {heading:?}"));
    after
        .split("```\n")
        .nth(1)
        .unwrap_or_else(|| panic!("fenced block after {heading:?}"))
        .to_string()
}

/// The next `count` datagrams on `socket` (its read timeout bounds each wait).
pub(crate) fn receive_all(socket: &std::net::UdpSocket, count: usize) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 70_000];
    (0..count)
        .map(|i| {
            let len = socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("datagram {i} of {count}: {e}"));
            buf.get(..len).unwrap_or_default().to_vec()
        })
        .collect()
}

/// Receives `expected.len()` datagrams on `receiver` (5 s each) and asserts they equal `expected` in order.
pub(crate) fn assert_receives(receiver: &std::net::UdpSocket, expected: &[Vec<u8>]) {
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(receive_all(receiver, expected.len()), expected);
}

/// Runs `command` (e.g. `["tcpdump", "-r", "-"]`) with `input` on its stdin; returns its stdout,
/// asserting success. The tool must be installed (`.ci/run` installs tcpdump and tshark).
pub(crate) fn pipe_into(command: &[&str], input: &[u8]) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let (program, args) = command
        .split_first()
        .unwrap_or_else(|| panic!("pipe_into: empty command"));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let mut stdin = child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("{program}: no stdin"));
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let _ = writer.join();
    assert!(output.status.success(), "{command:?} failed");
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("{program} output: {e}"))
}

/// Writes `payloads` as a pcap of UDP datagrams 192.0.2.1:5000 → 192.0.2.2:6343, one second
/// apart from 2023-11-14T22:13:20Z.
pub(crate) fn write_pcap(path: &Path, payloads: &[Vec<u8>]) {
    use rtflow_capture::{LinkType, PcapWriter, Timestamp};
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = PcapWriter::new(file, LinkType::ETHERNET, 0).unwrap_or_else(|e| panic!("{e}"));
    for (i, payload) in payloads.iter().enumerate() {
        let frame = ip_frame("192.0.2.1:5000", "192.0.2.2:6343", payload);
        let ts = Timestamp::new(1_700_000_000 + i as u64, 0);
        writer
            .write_packet(ts, frame.len() as u32, &frame)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// An Ethernet/IP/UDP frame from `src` to `dst` (socket addresses) carrying `payload`.
pub(crate) fn ip_frame(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let parse = |a: &str| {
        a.parse::<std::net::SocketAddr>()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    rtflow_capture::build_udp_frame(parse(src), parse(dst), payload)
        .unwrap_or_else(|e| panic!("{e}"))
}
