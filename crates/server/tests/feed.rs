//! An in-process feed (`ServerConfig::feed`, what `serve --demo` uses): its topology, flows and
//! thresholds are installed before the first datagram, its datagrams are ingested at their own
//! times (paced by `replay_speed`), and the server says when it has ended.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::{Agent, Api, TcpFlow, assert_close, eventually, loopback_config, start};
use rtflow_engine::{FlowDefinition, Threshold, Topology};
use rtflow_server::{DatagramFeed, FeedDatagram, InternalFeed, ServerConfig};
use serde_json::json;

/// 20 s of one agent: counters every second (ifInOctets +2 MB/s), a flow sample of a 1000-byte
/// frame sampled 1-in-100 in every 100 ms datagram (1 MB/s).
struct TestFeed {
    datagrams: Vec<(Duration, Vec<u8>)>,
    next: usize,
}

const AGENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

impl TestFeed {
    fn new() -> Self {
        let mut agent = Agent::new(AGENT, 3, 100);
        let flow = TcpFlow {
            src: Ipv4Addr::new(10, 1, 0, 1),
            dst: Ipv4Addr::new(10, 2, 0, 1),
            sport: 40_000,
            dport: 443,
        };
        let mut datagrams = Vec::new();
        for offset_ms in (0..20_000u64).step_by(100) {
            let uptime = 50_000 + offset_ms as u32;
            if offset_ms % 1000 == 0 {
                let octets = 1_000_000 + offset_ms * 2_000;
                datagrams.push((
                    Duration::from_millis(offset_ms),
                    agent.counter_datagram(uptime, octets, 0),
                ));
            }
            datagrams.push((
                Duration::from_millis(offset_ms),
                agent.flow_datagram(uptime, &[flow], 1000),
            ));
        }
        Self { datagrams, next: 0 }
    }
}

impl DatagramFeed for TestFeed {
    fn next_datagram(&mut self) -> Option<FeedDatagram<'_>> {
        let (offset, payload) = self.datagrams.get(self.next)?;
        self.next += 1;
        Some(FeedDatagram {
            offset: *offset,
            source: SocketAddr::from((AGENT, 6343)),
            payload,
        })
    }
}

fn feed() -> InternalFeed {
    let topology: Topology = serde_json::from_value(json!({
        "nodes": {"sw1": {"agent": "10.0.0.7", "ports": {"swp1": {"ifindex": "3"}}}},
        "links": {}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let pair = FlowDefinition::from_json_value(
        &json!({"keys": "ipsource,ipdestination", "value": "bytes"}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let threshold: Threshold =
        serde_json::from_value(json!({"metric": "pair", "value": 500_000, "byFlow": true}))
            .unwrap_or_else(|e| panic!("{e}"));
    InternalFeed {
        name: "test feed".into(),
        open: Arc::new(|| Box::new(TestFeed::new()) as Box<dyn DatagramFeed>),
        topology: Some(topology),
        flows: vec![("pair".into(), pair)],
        thresholds: vec![("big".into(), threshold)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_is_installed_paced_and_ingested_like_a_replay() {
    let server = start(ServerConfig {
        feed: Some(feed()),
        replay_speed: 10.0,
        ..loopback_config()
    })
    .await;
    assert_eq!(
        server.sflow_addr(),
        None,
        "no UDP socket while fed in-process"
    );
    let api = Api::new(server.http_addr());

    // Installed before any datagram, as if PUT.
    let topology = api.get("/topology/json").await;
    assert_eq!(topology["nodes"]["sw1"]["agent"], "10.0.0.7");
    assert_eq!(
        api.get("/flow/pair/json").await["keys"],
        "ipsource,ipdestination"
    );
    assert_eq!(api.get("/threshold/big/json").await["metric"], "pair");

    // 20 s of feed at 10x: rates are per second of feed time, not of wall time.
    eventually(Duration::from_secs(20), "the feed to end", || async {
        server.replay_finished().then_some(())
    })
    .await;
    let analyzer = api.get("/analyzer/json").await;
    assert_eq!(analyzer["sFlowDatagramsReplayed"], 220);
    let counters = api.get("/metric/10.0.0.7/ifinoctets/json").await;
    let rate = counters[0]["metricValue"].as_f64().unwrap_or(0.0);
    assert_close(rate, 2_000_000.0, 0.01, "ifinoctets");
    let flows = api.get("/activeflows/ALL/pair/json").await;
    assert_eq!(flows[0]["key"], "10.1.0.1,10.2.0.1");
    let events = api.get("/events/json?maxEvents=10").await;
    let events = events.as_array().cloned().unwrap_or_default();
    assert!(
        events
            .iter()
            .any(|e| e["thresholdID"] == "big" && e["flowKey"] == "10.1.0.1,10.2.0.1"),
        "threshold on the installed flow fired: {events:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_and_a_replay_cannot_both_be_the_input() {
    let result = rtflow_server::Server::start(ServerConfig {
        feed: Some(feed()),
        replay: Some("capture.pcap".into()),
        ..loopback_config()
    })
    .await;
    let err = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("--replay"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_definition_stops_the_start_naming_it() {
    let mut feed = feed();
    feed.flows[0].0 = "bad name with spaces/and slash".into();
    let result = rtflow_server::Server::start(ServerConfig {
        feed: Some(feed),
        ..loopback_config()
    })
    .await;
    let err = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("test feed") && err.contains("flow bad name"),
        "{err}"
    );
}
