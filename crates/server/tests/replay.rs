//! End-to-end over `--replay`: a generated 30 s capture with flows and counters at known rates is replayed
//! 5x faster through the server; the REST API is queried over real HTTP while it plays and after.
//!
//! Traffic (sampling 1 in 100, 1000-byte frames, datagrams every 100 ms, flows from t = 2 s):
//! * agent 10.0.0.1 ifIndex 1: A 10.1.0.1→10.2.0.1 3 samples/datagram (3 MB/s), B 2/datagram (2 MB/s),
//!   C 1/datagram (1 MB/s); counters every second with ifInOctets +1 MB/s and ifOutOctets +250 kB/s.
//! * agent 10.0.0.2 ifIndex 5: D 10.1.0.4→10.2.0.4 6 samples/datagram (6 MB/s) during [2 s, 8 s) and
//!   [14 s, 30 s), silent in between.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Agent, Api, TcpFlow, assert_close, eventually, loopback_config, start};
use serde_json::Value;

const SAMPLING_RATE: u32 = 100;
const FRAME: u32 = 1000;
const DURATION_MS: u64 = 30_000;
const SPEED: f64 = 5.0;
/// Bytes per second contributed by one sample per 100 ms datagram.
const RATE_PER_SAMPLE: f64 = 10.0 * SAMPLING_RATE as f64 * FRAME as f64;

fn flow(n: u8) -> TcpFlow {
    TcpFlow {
        src: Ipv4Addr::new(10, 1, 0, n),
        dst: Ipv4Addr::new(10, 2, 0, n),
        sport: 40_000 + u16::from(n),
        dport: 80,
    }
}

fn d_active(offset_ms: u64) -> bool {
    (2_000..8_000).contains(&offset_ms) || (14_000..DURATION_MS).contains(&offset_ms)
}

/// Writes the capture; returns how many datagrams have an offset before each whole second.
fn write_test_capture(path: &Path) -> Vec<u64> {
    let mut agent1 = Agent::new(Ipv4Addr::new(10, 0, 0, 1), 1, SAMPLING_RATE);
    let mut agent2 = Agent::new(Ipv4Addr::new(10, 0, 0, 2), 5, SAMPLING_RATE);
    let (a, b, c, d) = (flow(1), flow(2), flow(3), flow(4));
    let mut datagrams: Vec<(u64, SocketAddr, Vec<u8>)> = Vec::new();
    for offset in (0..DURATION_MS).step_by(100) {
        let uptime = 100_000 + offset as u32;
        if offset % 1000 == 0 {
            let seconds = offset / 1000;
            let dgram =
                agent1.counter_datagram(uptime, 5_000_000 + seconds * 1_000_000, seconds * 250_000);
            datagrams.push((
                offset,
                "10.0.0.1:50001".parse().unwrap_or_else(|e| panic!("{e}")),
                dgram,
            ));
        }
        if offset >= 2_000 {
            let dgram = agent1.flow_datagram(uptime, &[a, a, a, b, b, c], FRAME);
            datagrams.push((
                offset,
                "10.0.0.1:50001".parse().unwrap_or_else(|e| panic!("{e}")),
                dgram,
            ));
        }
        if d_active(offset) {
            let dgram = agent2.flow_datagram(uptime, &[d; 6], FRAME);
            datagrams.push((
                offset,
                "10.0.0.2:50002".parse().unwrap_or_else(|e| panic!("{e}")),
                dgram,
            ));
        }
    }
    common::write_capture(path, &datagrams);
    (0..=DURATION_MS / 1000)
        .map(|s| datagrams.iter().filter(|(o, _, _)| *o < s * 1000).count() as u64)
        .collect()
}

fn number(value: &Value, field: &str) -> f64 {
    value[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} missing in {value}"))
}

async fn replayed(api: &Api) -> u64 {
    api.get("/analyzer/json").await["sFlowDatagramsReplayed"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_capture_gives_true_rates_top_flows_events_and_flow_log() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let pcap = dir.path().join("synthetic.pcap");
    let before_second = write_test_capture(&pcap);
    let mut config = loopback_config();
    config.replay = Some(pcap);
    config.replay_once = true;
    config.replay_speed = SPEED;
    let server = start(config).await;
    assert_eq!(
        server.sflow_addr(),
        None,
        "UDP input must be off while replaying"
    );
    let api = Api::new(server.http_addr());

    // Configure within the first 2 s of engine time (0.4 s real), before any flow sample is replayed.
    let configured = Instant::now();
    api.put_ok(
        "/flow/pair/json",
        r#"{"keys":"ipsource,ipdestination","value":"bytes","t":5}"#,
    )
    .await;
    api.put_ok(
        "/flow/burst/json",
        r#"{"keys":["ipsource","ipdestination"],"t":0.5}"#,
    )
    .await;
    api.put_ok(
        "/flow/logged/json",
        r#"{"keys":"ipsource,ipdestination","t":0.2,"log":true}"#,
    )
    .await;
    api.put_ok(
        "/threshold/big/json",
        r#"{"metric":"burst","value":4500000,"byFlow":true,"timeout":1}"#,
    )
    .await;
    assert!(
        replayed(&api).await <= before_second[2],
        "configuration took too long ({:?}): flow samples were already replayed",
        configured.elapsed()
    );

    // Events long-poll: blocks until D crosses the threshold (engine ~2.1 s), returns that one event.
    let first = api
        .get("/events/json?eventID=0&maxEvents=10&timeout=20")
        .await;
    let first = first.as_array().cloned().unwrap_or_default();
    assert_eq!(first.len(), 1, "first event: {first:?}");
    let event = &first[0];
    assert_eq!(event["thresholdID"], "big");
    assert_eq!(event["metric"], "burst");
    assert_eq!(event["flowKey"], flow(4).key());
    assert_eq!(event["agent"], "10.0.0.2");
    assert_eq!(event["dataSource"], "5");
    assert!(number(event, "value") > 4_500_000.0);
    let first_id = event["eventID"]
        .as_u64()
        .unwrap_or_else(|| panic!("eventID in {event}"));

    // While D is silent the threshold re-arms; the next event comes when D resumes at engine 14 s.
    let started = Instant::now();
    let second = api
        .get(&format!(
            "/events/json?eventID={first_id}&maxEvents=10&timeout=20"
        ))
        .await;
    let second = second.as_array().cloned().unwrap_or_default();
    assert_eq!(second.len(), 1, "second event: {second:?}");
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "the long-poll did not block"
    );
    assert_eq!(second[0]["flowKey"], flow(4).key());
    let second_id = second[0]["eventID"].as_u64().unwrap_or(0);
    assert!(second_id > first_id);
    let gap_ms = number(&second[0], "timestamp") - number(event, "timestamp");
    assert!(
        (11_000.0..13_000.0).contains(&gap_ms),
        "events {gap_ms} ms apart in engine time"
    );

    // Steady state (engine time ≥ 25 s, replay still running): rates and order.
    let needed = before_second[25];
    eventually(Duration::from_secs(20), "engine time 25 s", || async {
        (replayed(&api).await >= needed).then_some(())
    })
    .await;
    let top = api.get("/activeflows/10.0.0.1/pair/json?maxFlows=10").await;
    let top = top.as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = top.iter().filter_map(|f| f["key"].as_str()).collect();
    assert_eq!(keys, [flow(1).key(), flow(2).key(), flow(3).key()]);
    for (entry, samples) in top.iter().zip([3.0, 2.0, 1.0]) {
        assert_close(
            number(entry, "value"),
            samples * RATE_PER_SAMPLE,
            0.05,
            &format!("rate of {entry}"),
        );
        assert_eq!(entry["agent"], "10.0.0.1");
        assert_eq!(entry["dataSource"], "1");
    }
    let all = api.get("/activeflows/ALL/pair/json?maxFlows=2").await;
    let all_keys: Vec<&str> = all
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(all_keys, [flow(4).key(), flow(1).key()]);
    // D restarted at 14 s; with t = 5 s its smoothed rate is still converging (≈ 90 % at 25 s).
    let d_rate = number(&all[0], "value");
    assert!(
        (0.85 * 6.0 * RATE_PER_SAMPLE..6.0 * RATE_PER_SAMPLE).contains(&d_rate),
        "rate of D {d_rate}"
    );
    let filtered = api
        .get("/activeflows/ALL/pair/json?minValue=1500000&filter=10.1.0.*,10.2.0.2")
        .await;
    assert_eq!(filtered.as_array().map(Vec::len), Some(1), "{filtered}");
    assert_eq!(filtered[0]["key"], flow(2).key());

    let value = api
        .get(&format!(
            "/flowvalue/10.0.0.1/1.pair/json?key={}",
            flow(2).key()
        ))
        .await;
    assert_close(
        value.as_f64().unwrap_or(0.0),
        2.0 * RATE_PER_SAMPLE,
        0.05,
        "flowvalue of B",
    );
    let locations = api
        .get(&format!(
            "/flowlocations/ALL/pair/json?key={}",
            flow(4).key()
        ))
        .await;
    assert_eq!(locations.as_array().map(Vec::len), Some(1));
    assert_eq!(locations[0]["agent"], "10.0.0.2");

    // Counter rates from ifInOctets/ifOutOctets deltas.
    let counters = api
        .get("/metric/10.0.0.1/ifinoctets,ifoutoctets/json")
        .await;
    assert_close(
        number(&counters[0], "metricValue"),
        1_000_000.0,
        0.01,
        "ifinoctets",
    );
    assert_close(
        number(&counters[1], "metricValue"),
        250_000.0,
        0.01,
        "ifoutoctets",
    );
    assert_eq!(counters[0]["dataSource"], "1");
    let flow_metric = api.get("/metric/10.0.0.1/sum:pair/json").await;
    assert_close(
        number(&flow_metric[0], "metricValue"),
        6.0 * RATE_PER_SAMPLE,
        0.05,
        "sum:pair",
    );

    // Prometheus exposition of the same values.
    let text = api
        .get_text("/prometheus/metrics/ALL/ifinoctets,ifoutoctets/txt")
        .await;
    let line = text
        .lines()
        .find(|l| l.starts_with("sflow_ifinoctets{"))
        .unwrap_or_else(|| panic!("no ifinoctets sample in {text}"));
    assert!(
        line.contains(r#"agent="10.0.0.1""#) && line.contains(r#"datasource="1""#),
        "{line}"
    );
    let sample: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert_close(sample, 1_000_000.0, 0.01, "prometheus ifinoctets");
    assert_eq!(text.matches("# TYPE sflow_ifinoctets gauge").count(), 1);
    promtool_check(&text);
    promtool_check(&api.get_text("/prometheus/metrics/ALL/ALL/txt").await);
    promtool_check(&api.get_text("/prometheus/analyzer/txt").await);

    // Flow log: D's first burst ended (idle 1 s) with every sampled byte of [2 s, 8 s).
    let log = api
        .get("/flows/json?flowID=-1&maxFlows=100&name=logged")
        .await;
    let log = log.as_array().cloned().unwrap_or_default();
    let d_record = log
        .iter()
        .find(|r| r["flowKeys"] == flow(4).key())
        .unwrap_or_else(|| panic!("no record of D's first burst in {log:?}"));
    assert_eq!(
        number(d_record, "value"),
        60.0 * 6.0 * f64::from(SAMPLING_RATE * FRAME)
    );
    let span = number(d_record, "end") - number(d_record, "start");
    assert!(
        (5_800.0..=6_000.0).contains(&span),
        "D's burst lasted {span} ms"
    );
    assert_eq!(d_record["agent"], "10.0.0.2");
    let last_id = log.first().map(|r| number(r, "flowID") as u64).unwrap_or(0);

    // After the replay the engine clock runs in real time: the remaining flows end ~1 s later, and a
    // long-poll from the newest id blocks until their records exist.
    eventually(Duration::from_secs(20), "end of replay", || async {
        server.replay_finished().then_some(())
    })
    .await;
    let started = Instant::now();
    let newer = api
        .get(&format!(
            "/flows/json?flowID={last_id}&maxFlows=100&timeout=10&name=logged"
        ))
        .await;
    let newer = newer.as_array().cloned().unwrap_or_default();
    assert!(
        started.elapsed() > Duration::from_millis(200),
        "flow log long-poll did not block"
    );
    assert!(!newer.is_empty());
    assert!(newer.iter().all(|r| number(r, "flowID") as u64 > last_id));
    let ids: Vec<u64> = newer.iter().map(|r| number(r, "flowID") as u64).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {ids:?}"
    );
    let newest = ids.first().copied().unwrap_or(0);

    // No further events or records: long-polls time out with [].
    let started = Instant::now();
    let none = api
        .get(&format!("/events/json?eventID={second_id}&timeout=1"))
        .await;
    assert_eq!(none, serde_json::json!([]));
    assert!(started.elapsed() >= Duration::from_millis(900));
    let everything = api.get("/events/json?eventID=-1&maxEvents=10").await;
    assert_eq!(
        everything.as_array().map(Vec::len),
        Some(2),
        "exactly two threshold events: {everything}"
    );
    // A position ahead of the newest id (a client from before a restart) gets the latest records at once.
    let started = Instant::now();
    let ahead = api
        .get(&format!(
            "/flows/json?flowID={}&timeout=20&maxFlows=100&name=logged",
            newest + 1000
        ))
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(ahead, api.get("/flows/json?maxFlows=100&name=logged").await);

    server.shutdown().await;
}

/// Runs `promtool check metrics` when promtool is installed.
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not installed; skipping promtool check");
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("promtool: {e}"));
    // Exit 3 = lint findings only. sFlow-RT's own names (which dashboards query) break two naming
    // conventions; those findings are expected, any other fails.
    const SFLOW_RT_NAMES: [&str; 2] = ["sflow_analyzer_agent_count ", "sflow_analyzer_uptime_ms "];
    let findings =
        String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    let only_sflow_rt_names = output.status.code() == Some(3)
        && findings
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| SFLOW_RT_NAMES.iter().any(|n| l.starts_with(n)));
    assert!(
        output.status.success() || only_sflow_rt_names,
        "promtool check metrics failed: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_fails_cleanly_on_a_missing_capture_or_a_busy_port() {
    let mut config = loopback_config();
    config.replay = Some("/nonexistent/capture.pcap".into());
    let err = rtflow_server::Server::start(config).await.err();
    assert!(
        matches!(err, Some(rtflow_server::ServerError::Capture { .. })),
        "{err:?}"
    );

    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let mut config = loopback_config();
    config.sflow_port = busy.local_addr().map(|a| a.port()).unwrap_or(0);
    let err = rtflow_server::Server::start(config).await.err();
    assert!(
        matches!(err, Some(rtflow_server::ServerError::BindUdp { .. })),
        "{err:?}"
    );
}
