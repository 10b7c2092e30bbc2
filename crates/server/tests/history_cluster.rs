//! Past one machine: two ClickHouse servers (private Debian 18.16 processes) in one `remote_servers` cluster,
//! two rtflow servers each writing its own agents to its own node's local tables, and history queries on
//! either answering for both through the `Distributed` tables.

mod common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::{Api, eventually, loopback_config, start};
use rtflow_history::synth::{Agent, Packet};
use rtflow_testkit::servers::ClickHouse;
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(60);
const CLUSTER: &str = "rtflow_test";
const DATABASE: &str = "flows_cluster";

fn cluster_config(nodes: &[&ClickHouse]) -> String {
    let shards: String = nodes
        .iter()
        .map(|n| {
            format!(
                "<shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>",
                n.tcp_port
            )
        })
        .collect();
    format!("<remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rtflows_on_two_shards_are_queried_as_one() {
    let (Some(mut a), Some(mut b)) = (ClickHouse::prepare(), ClickHouse::prepare()) else {
        return;
    };
    let cluster = cluster_config(&[&a, &b]);
    a.launch(&cluster);
    b.launch(&cluster);
    let spools = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut servers = Vec::new();
    for (node, spool) in [(&a, spools.0.path()), (&b, spools.1.path())] {
        let mut config = loopback_config();
        config.clickhouse.url = Some(node.url());
        config.clickhouse.database = Some(DATABASE.into());
        config.clickhouse.cluster = Some(CLUSTER.into());
        config.clickhouse.spool_dir = spool.to_path_buf();
        config.clickhouse.batch_interval = Duration::from_millis(100);
        servers.push(start(config).await);
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Agent .61 reports to the first rtflow, agent .62 to the second; .61 carries twice the traffic.
    for (server, agent, datagrams) in [(&servers[0], 61u8, 20), (&servers[1], 62, 10)] {
        let mut sender = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, agent)), 100);
        let packet = Packet::tcp(
            Ipv4Addr::new(10, 61, 0, agent),
            Ipv4Addr::new(10, 62, 0, 1),
            443,
            1_000,
        );
        for _ in 0..datagrams {
            socket
                .send_to(&sender.flows(1, 2, &[packet]), server.sflow_addr().unwrap())
                .unwrap();
        }
    }
    for (server, rows) in [(&servers[0], 20), (&servers[1], 10)] {
        let api = Api::new(server.http_addr());
        eventually(PATIENCE, "rows written", || async {
            (api.get("/analyzer/json").await["historyRowsWritten"] == rows).then_some(())
        })
        .await;
    }
    // Each node holds its own rows; the Distributed table on either node holds both.
    let local =
        |node: &ClickHouse| node.answer(&format!("SELECT count() FROM {DATABASE}.flows_local"));
    assert_eq!((local(&a), local(&b)), ("20".to_string(), "10".to_string()));
    for node in [&a, &b] {
        assert_eq!(
            node.answer(&format!(
                "SELECT count(), uniqExact(ExporterAddress) FROM {DATABASE}.flows FORMAT TSV"
            )),
            "30\t2"
        );
        assert_eq!(
            node.answer(&format!("SELECT sum(Flows) FROM {DATABASE}.flows_1m")),
            "30",
            "rollups are sharded too"
        );
    }
    // History queries on either rtflow see both agents.
    for server in &servers {
        let api = Api::new(server.http_addr());
        let flows: Value = api
            .get("/history/activeflows/ALL/json?keys=agent&from=-10m&table=flows_1m")
            .await;
        let agents: Vec<&str> = flows
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["key"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(agents, vec!["192.0.2.61", "192.0.2.62"], "{flows}");
    }
    for server in servers {
        server.shutdown().await;
    }
}
