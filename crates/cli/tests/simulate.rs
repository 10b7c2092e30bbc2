//! `rtflow simulate`: the committed captures regenerate byte for byte, files and UDP carry the
//! same datagrams, the topology is what `PUT /topology/json` takes, mistakes are reported.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rtflow_capture::{CaptureFormat, Timestamp};

mod common;

use common::{RTFLOW, receive_all};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn repo(path: &str) -> PathBuf {
    Path::new(REPO).join(path)
}

fn simulate(args: &[&str]) -> Output {
    let output = Command::new(RTFLOW)
        .arg("simulate")
        .args(args)
        .current_dir(REPO)
        .output()
        .expect("run rtflow simulate");
    assert!(
        output.status.success(),
        "rtflow simulate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// (timestamp, source, payload) of every UDP datagram of a capture.
fn datagrams(path: &Path) -> (CaptureFormat, Vec<(Timestamp, String, Vec<u8>)>) {
    let mut reader = rtflow_capture::open(path).expect("open capture");
    let format = reader.format();
    let mut all = Vec::new();
    while let Some(d) = reader.next_datagram().expect("read capture") {
        all.push((d.timestamp, d.src.to_string(), d.payload.to_vec()));
    }
    (format, all)
}

#[test]
fn committed_captures_regenerate_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for (scenario, name) in [
        (
            "scenarios/dns-amplification.toml",
            "sim-dns-amplification.pcap",
        ),
        (
            "scenarios/elephant-fabric.toml",
            "sim-leaf-spine-elephant.pcap",
        ),
    ] {
        let out = dir.path().join(name);
        let out_arg = out.to_str().unwrap();
        // The command written in tests/data/sim-captures.md.
        simulate(&["-q", "--scenario", scenario, "--seed", "1", "-w", out_arg]);
        let committed = std::fs::read(repo(&format!("tests/data/{name}"))).unwrap();
        let fresh = std::fs::read(&out).unwrap();
        assert!(
            committed == fresh,
            "tests/data/{name} is not what `rtflow simulate --scenario {scenario} --seed 1` writes \
             now: regenerate it with the command in tests/data/sim-captures.md"
        );
        assert!(
            committed.len() < 64 * 1024,
            "{name} grew to {} bytes",
            committed.len()
        );
    }
}

#[test]
fn pcap_pcapng_and_udp_carry_the_same_datagrams() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("run.pcap");
    let pcapng = dir.path().join("run.pcapng");
    let common = [
        "-q",
        "--scenario",
        "scenarios/dns-amplification.toml",
        "--seed",
        "4",
    ];
    simulate(&[&common[..], &["-w", pcap.to_str().unwrap()]].concat());
    simulate(&[&common[..], &["-w", pcapng.to_str().unwrap()]].concat());
    let (format, from_pcap) = datagrams(&pcap);
    assert_eq!(format, CaptureFormat::Pcap { nanosecond: false });
    let (format, from_pcapng) = datagrams(&pcapng);
    assert_eq!(format, CaptureFormat::Pcapng);
    assert_eq!(from_pcap, from_pcapng);
    assert!(from_pcap.len() > 20);
    // Capture time starts at 2026-01-01T00:00:00Z and covers the 10 s run.
    let (first, last) = (from_pcap[0].0, from_pcap[from_pcap.len() - 1].0);
    assert!(
        first.secs >= 1_767_225_600 && last.secs <= 1_767_225_610,
        "{first:?}..{last:?}"
    );
    // Agents send from their own addresses.
    assert!(
        from_pcap
            .iter()
            .any(|(_, src, _)| src.starts_with("10.0.0.1:"))
    );
    assert!(
        from_pcap
            .iter()
            .any(|(_, src, _)| src.starts_with("10.1.1.13:"))
    );

    // The same run over UDP, as fast as possible, delivers the same payloads in the same order.
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    receiver.set_nonblocking(false).expect("blocking receiver");
    let target = receiver.local_addr().unwrap().to_string();
    let child = Command::new(RTFLOW)
        .args(["simulate", "--max", "--target", &target])
        .args(common)
        .current_dir(REPO)
        .spawn()
        .unwrap();
    let received = receive_all(&receiver, from_pcap.len());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected: Vec<Vec<u8>> = from_pcap.into_iter().map(|(_, _, p)| p).collect();
    assert_eq!(received, expected);
}

#[test]
fn printed_topology_is_what_put_topology_json_takes() {
    let output = simulate(&["--print", "topology"]);
    let topology: rtflow_engine::Topology =
        serde_json::from_slice(&output.stdout).expect("topology JSON");
    assert_eq!(topology.nodes.len(), 6);
    assert_eq!(topology.links.len(), 8);
    let link = &topology.links["leaf3-spine2"];
    assert_eq!(
        (link.node1.as_str(), link.port1.as_str()),
        ("leaf3", "swp50")
    );
    assert_eq!(
        (link.node2.as_str(), link.port2.as_str()),
        ("spine2", "swp3")
    );
    let leaf3 = &topology.nodes["leaf3"];
    assert_eq!(leaf3.agent.as_deref(), Some("10.0.0.3"));
    assert_eq!(leaf3.ports["swp50"].ifindex.as_deref(), Some("52"));

    let output = simulate(&["--print", "hosts"]);
    let hosts: serde_json::Value = serde_json::from_slice(&output.stdout).expect("hosts JSON");
    let h = &hosts[9];
    assert_eq!(h["name"], "h3-2");
    assert_eq!(h["ip"], "10.1.3.12");
    assert_eq!(h["leaf"], "leaf3");
    assert_eq!(h["port"], "swp2");
    assert_eq!(h["ifindex"], 4);

    let output = simulate(&["--print", "scenario"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(repo("scenarios/leaf-spine.toml")).unwrap()
    );
}

#[test]
fn mistakes_are_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[fabric]\nspines = 2\nleafs = 3\n").unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(RTFLOW)
            .arg("simulate")
            .args(args)
            .current_dir(REPO)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        String::from_utf8(output.stderr).unwrap()
    };
    let message = run(&[
        "--scenario",
        bad.to_str().unwrap(),
        "--duration",
        "1",
        "-w",
        "/dev/null",
    ]);
    assert!(
        message.contains("bad.toml") && message.contains("leafs"),
        "{message}"
    );
    let message = run(&["-w", dir.path().join("x.pcap").to_str().unwrap()]);
    assert!(message.contains("--duration"), "{message}");
    let message = run(&["--scenario", "no/such/file.toml"]);
    assert!(message.contains("no/such/file.toml"), "{message}");
    let message = run(&["--speed", "0", "--duration", "1"]);
    assert!(message.contains("--speed"), "{message}");
}

#[test]
fn shipped_scenarios_are_valid() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(repo("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if matches!(ext, "toml" | "yaml" | "yml") {
            let output = simulate(&["--scenario", path.to_str().unwrap(), "--print", "topology"]);
            let topology: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert!(
                topology["nodes"].as_object().is_some_and(|n| !n.is_empty()),
                "{path:?}"
            );
            checked.push(ext.to_string());
        }
    }
    // The four TOML scenarios and the YAML one, at least.
    assert!(
        checked.iter().filter(|e| *e == "toml").count() >= 4,
        "{checked:?}"
    );
    assert!(checked.iter().any(|e| e == "yaml"), "{checked:?}");
}

/// `rtflow simulate --print hosts | head`: the reader leaving early is not an error. The busy
/// fabric's hosts (about 95 kB) overflow the pipe, so the write meets the closed end.
#[test]
fn print_into_a_closed_pipe_exits_quietly() {
    let mut child = Command::new(RTFLOW)
        .args([
            "simulate",
            "--scenario",
            "scenarios/busy-fabric.toml",
            "--print",
            "hosts",
        ])
        .current_dir(REPO)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rtflow simulate");
    drop(child.stdout.take()); // the reader leaves at once
    let output = child.wait_with_output().expect("wait for rtflow simulate");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
