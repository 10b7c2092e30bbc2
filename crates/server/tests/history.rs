//! Flow history through the server: UDP datagrams in, rows in a real ClickHouse (Debian 18.16, a private
//! instance), the exporter's figures in /analyzer/json and Prometheus, and /history/activeflows and
//! /history/trend answering from ClickHouse.

mod common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::{Api, eventually, loopback_config, start};
use rtflow_history::synth::{Agent, Packet};
use rtflow_testkit::servers::ClickHouse;
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(60);

fn history_config(
    url: &str,
    database: &str,
    spool: &std::path::Path,
) -> rtflow_server::ServerConfig {
    let mut config = loopback_config();
    config.clickhouse.url = Some(url.to_string());
    config.clickhouse.database = Some(database.to_string());
    config.clickhouse.spool_dir = spool.to_path_buf();
    config.clickhouse.batch_interval = Duration::from_millis(100);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_reach_clickhouse_and_history_queries_answer() {
    let Some(clickhouse) = ClickHouse::shared() else {
        return;
    };
    let spool = tempfile::tempdir().unwrap();
    let database = format!("server_{}", std::process::id());
    let server = start(history_config(&clickhouse.url(), &database, spool.path())).await;
    let api = Api::new(server.http_addr());
    let sflow = server.sflow_addr().expect("UDP input");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut agent = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)), 1_000);
    let web = Packet::tcp(
        Ipv4Addr::new(10, 5, 0, 1),
        Ipv4Addr::new(10, 6, 0, 1),
        443,
        1_500,
    );
    let ssh = Packet::tcp(
        Ipv4Addr::new(10, 5, 0, 2),
        Ipv4Addr::new(10, 6, 0, 1),
        22,
        200,
    );
    for _ in 0..20 {
        socket
            .send_to(&agent.flows(5, 6, &[web, web, ssh]), sflow)
            .unwrap();
    }
    let analyzer = eventually(PATIENCE, "60 rows written", || async {
        let analyzer = api.get("/analyzer/json").await;
        (analyzer["historyRowsWritten"] == 60).then_some(analyzer)
    })
    .await;
    assert_eq!(analyzer["sFlowFlowSamples"], 60);
    assert_eq!(analyzer["historyDatagramsLost"], 0);
    assert_eq!(analyzer["historySchemaVersion"], 5);
    assert_eq!(analyzer["historyLastError"], "");
    let stored = clickhouse.answer(&format!(
        "SELECT count(), sum(Bytes) FROM {database}.flows FORMAT TSV"
    ));
    assert_eq!(stored, format!("60\t{}", 20 * (2 * 1_500 + 200) * 1_000));

    let (status, body) = api
        .request(
            reqwest::Method::GET,
            "/history/activeflows/ALL/json?keys=ipsource,tcpdestinationport&value=bytes&from=-10m",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let flows: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(flows[0]["key"], "10.5.0.1,443");
    assert_eq!(flows[1]["key"], "10.5.0.2,22");
    assert_eq!(flows[0]["agent"], "192.0.2.50");
    let ratio = flows[0]["value"].as_f64().unwrap() / flows[1]["value"].as_f64().unwrap();
    assert!((ratio - 15.0).abs() < 1e-9, "{flows}");
    // An agent list that excludes the sender finds nothing.
    let none = api
        .get("/history/activeflows/192.0.2.99/json?keys=ipsource&from=-10m")
        .await;
    assert_eq!(none, serde_json::json!([]));
    let trend = api
        .get("/history/trend/ALL/json?keys=ipsource&value=frames&from=-10m&step=60&maxFlows=1")
        .await;
    assert_eq!(trend["series"][0]["key"], "10.5.0.1");
    assert_eq!(trend["series"][1]["key"], "-other-");
    // The range starts on a step boundary at or before `from`: 10 or 11 one-minute points.
    let (from, to) = (
        trend["from"].as_u64().unwrap(),
        trend["to"].as_u64().unwrap(),
    );
    assert_eq!(from % 60_000, 0);
    let points = trend["times"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(points, (to - from).div_ceil(60_000));
    assert!((10..=11).contains(&points), "{trend}");
    let bad = api
        .request(
            reqwest::Method::GET,
            "/history/activeflows/ALL/json?keys=nosuch",
            None,
        )
        .await;
    assert_eq!(bad.0, 400, "{}", bad.1);
    assert!(bad.1.contains("nosuch"), "{}", bad.1);

    let prometheus = api.get_text("/prometheus/analyzer/txt").await;
    assert!(
        prometheus.contains("\nsflow_analyzer_history_rows_written_total 60\n"),
        "{prometheus}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_routes_say_when_history_is_off() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());
    let (status, body) = api
        .request(
            reqwest::Method::GET,
            "/history/trend/ALL/json?keys=ipsource",
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(body.contains("--clickhouse"), "{body}");
    let analyzer = api.get("/analyzer/json").await;
    assert!(analyzer.get("historyRowsWritten").is_none());
    server.shutdown().await;
}
