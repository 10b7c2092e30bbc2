//! `--replay` as sFlow-RT's `sflow.file`: the capture loops forever, so even a capture shorter than a second
//! can be queried like a live feed; `--replay-once` plays it once; `--replay-speed` below 1 slows engine time
//! with the replay, so rates stay true.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Agent, Api, TcpFlow, assert_close, eventually, loopback_config, start};

const SAMPLING_RATE: u32 = 100;
const FRAME: u32 = 1000;
const FLOW: TcpFlow = TcpFlow {
    src: Ipv4Addr::new(10, 1, 0, 1),
    dst: Ipv4Addr::new(10, 2, 0, 1),
    sport: 40_001,
    dport: 80,
};

/// A capture of `datagrams` flow datagrams 100 ms apart, each with `samples` samples of [`FLOW`]:
/// `samples` × 1 MB/s.
fn write_capture(path: &Path, datagrams: u64, samples: usize) {
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 1), 1, SAMPLING_RATE);
    let source: SocketAddr = "10.0.0.1:50001".parse().unwrap_or_else(|e| panic!("{e}"));
    let flows = vec![FLOW; samples];
    let records: Vec<(u64, SocketAddr, Vec<u8>)> = (0..datagrams)
        .map(|i| {
            let offset = i * 100;
            let dgram = agent.flow_datagram(100_000 + offset as u32, &flows, FRAME);
            (offset, source, dgram)
        })
        .collect();
    common::write_capture(path, &records);
}

async fn analyzer_u64(api: &Api, field: &str) -> u64 {
    api.get("/analyzer/json").await[field].as_u64().unwrap_or(0)
}

async fn top_value(api: &Api) -> f64 {
    api.get("/activeflows/ALL/pair/json").await[0]["value"]
        .as_f64()
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_capture_loops_like_a_live_feed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let pcap = dir.path().join("short.pcap");
    // 0.5 s of traffic: 5 datagrams of 3 samples, 3 MB/s.
    write_capture(&pcap, 5, 3);
    let mut config = loopback_config();
    config.replay = Some(pcap);
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    api.put_ok(
        "/flow/pair/json",
        r#"{"keys":"ipsource,ipdestination","value":"bytes","t":1}"#,
    )
    .await;
    // Ten passes later the flow still runs at its rate: the repeated sequence numbers were not dropped as
    // duplicates, and each pass follows the previous one at the capture's pace.
    eventually(
        Duration::from_secs(30),
        "ten passes of the capture",
        || async { (analyzer_u64(&api, "sFlowDatagramsReplayed").await >= 50).then_some(()) },
    )
    .await;
    assert_close(top_value(&api).await, 3_000_000.0, 0.15, "looped flow rate");
    let analyzer = api.get("/analyzer/json").await;
    assert_eq!(analyzer["replayFinished"], false, "{analyzer}");
    assert!(!server.replay_finished());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_once_ends_and_a_slow_replay_slows_engine_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let pcap = dir.path().join("two-seconds.pcap");
    // 2 s of traffic at 1 MB/s, played at half speed: 4 s of real time, 2 s of engine time.
    write_capture(&pcap, 21, 1);
    let mut config = loopback_config();
    config.replay = Some(pcap);
    config.replay_once = true;
    config.replay_speed = 0.5;
    let server = start(config).await;
    let real_start = Instant::now();
    let api = Api::new(server.http_addr());
    let started = analyzer_u64(&api, "time").await;
    api.put_ok(
        "/flow/pair/json",
        r#"{"keys":"ipsource,ipdestination","value":"bytes","t":0.5}"#,
    )
    .await;
    // Halfway through, the rate is the recorded one: engine time runs at the replay's pace.
    eventually(Duration::from_secs(30), "1.5 s of the capture", || async {
        (analyzer_u64(&api, "sFlowDatagramsReplayed").await >= 16).then_some(())
    })
    .await;
    assert_close(
        top_value(&api).await,
        1_000_000.0,
        0.25,
        "flow rate at half speed",
    );
    eventually(Duration::from_secs(30), "the end of the replay", || async {
        server.replay_finished().then_some(())
    })
    .await;
    let ended = analyzer_u64(&api, "time").await;
    let engine_ms = ended.saturating_sub(started);
    assert!(
        real_start.elapsed() >= Duration::from_millis(3_500),
        "a 2 s capture at half speed played in {:?}",
        real_start.elapsed()
    );
    assert!(
        engine_ms >= 1_900 && Duration::from_millis(engine_ms) < real_start.elapsed(),
        "engine time ran {engine_ms} ms over a 2 s capture played at half speed in {:?}",
        real_start.elapsed()
    );
    assert_eq!(analyzer_u64(&api, "sFlowDatagramsReplayed").await, 21);
    assert_eq!(api.get("/analyzer/json").await["replayFinished"], true);
    server.shutdown().await;
}
