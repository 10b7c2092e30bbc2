//! SNMP names end to end: an agent that sends no names (like hsflowd or pmacct) gets sysName and ifName from a
//! private Debian snmpd, in the real-time engine (`snmp.ifname=yes`: /dump, Prometheus labels) and on the
//! rows stored in a private ClickHouse.

mod common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::{Api, eventually, loopback_config, start};
use rtflow_history::synth::{Agent, Packet};
use rtflow_testkit::servers::snmp_credentials::{COMMUNITY, SYS_NAME};
use rtflow_testkit::servers::{ClickHouse, Snmpd};

const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmp_names_fill_the_engine_and_label_stored_rows() {
    let Some(snmpd) = Snmpd::start() else {
        return;
    };
    let Some(clickhouse) = ClickHouse::shared() else {
        return;
    };
    let spool = tempfile::tempdir().unwrap();
    let database = format!("snmp_{}", std::process::id());
    let mut config = loopback_config();
    for (name, value) in [
        ("snmp.ifname", "yes".to_string()),
        ("snmp.community", COMMUNITY.to_string()),
        ("snmp.port", snmpd.port.to_string()),
        ("snmp.timeout.ms", "500".to_string()),
    ] {
        assert!(config.snmp.apply_property(name, &value));
    }
    config.clickhouse.url = Some(clickhouse.url());
    config.clickhouse.database = Some(database.clone());
    config.clickhouse.spool_dir = spool.path().to_path_buf();
    config.clickhouse.batch_interval = Duration::from_millis(100);
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    let sflow = server.sflow_addr().expect("UDP input");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The agent is this machine's loopback: snmpd answers for 127.0.0.1, whose ifIndex 1 is "lo".
    let mut agent = Agent::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 10);
    let packet = Packet::tcp(
        Ipv4Addr::new(10, 7, 0, 1),
        Ipv4Addr::new(10, 7, 0, 2),
        443,
        800,
    );
    socket
        .send_to(&agent.flows(1, 1, &[packet]), sflow)
        .unwrap();

    let names = eventually(PATIENCE, "SNMP names in the engine", || async {
        let dump = api.get("/dump/ALL/host_name;ifname/json").await;
        let has = |metric: &str, value: &str| {
            dump.as_array().is_some_and(|rows| {
                rows.iter()
                    .any(|r| r["metricName"] == metric && r["metricValue"] == value)
            })
        };
        (has("host_name", SYS_NAME) && has("ifname", "lo")).then_some(dump)
    })
    .await;
    assert!(
        names
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r["agent"] == "127.0.0.1")),
        "{names}"
    );

    // Rows stored from now on carry the names.
    for _ in 0..5 {
        socket
            .send_to(&agent.flows(1, 1, &[packet]), sflow)
            .unwrap();
    }
    let analyzer = eventually(PATIENCE, "6 rows written", || async {
        let analyzer = api.get("/analyzer/json").await;
        (analyzer["historyRowsWritten"] == 6).then_some(analyzer)
    })
    .await;
    assert!(
        analyzer["snmpPolls"].as_u64().unwrap_or(0) >= 1,
        "{analyzer}"
    );
    assert_eq!(analyzer["snmpAgentsNamed"], 1, "{analyzer}");
    let named = clickhouse.answer(&format!(
        "SELECT count() FROM {database}.flows WHERE ExporterName = '{SYS_NAME}' AND InIfName = 'lo' AND OutIfName = 'lo' AND InIfSpeed = 10"
    ));
    assert!(
        named.parse::<u32>().unwrap_or(0) >= 5,
        "named rows: {named}"
    );

    // Prometheus labels the agent's counter metrics with the names (and sFlow-RT's other interface labels).
    socket
        .send_to(&agent.counters(1, 10_000_000, 1_000), sflow)
        .unwrap();
    let line = eventually(PATIENCE, "labelled ifspeed", || async {
        let text = api.get_text("/prometheus/metrics/ALL/ifspeed/txt").await;
        text.lines()
            .find(|l| l.starts_with("sflow_ifspeed{"))
            .map(str::to_string)
    })
    .await;
    assert_eq!(
        line,
        format!(
            "sflow_ifspeed{{agent=\"127.0.0.1\",datasource=\"1\",host=\"{SYS_NAME}\",ifindex=\"1\",\
             ifname=\"lo\",ifspeed=\"10M\",iftype=\"0\",ifadminstatus=\"down\",ifoperstatus=\"down\"}} 10000000"
        )
    );
    // The ALL/ALL scrape (label names taken from the same dump) labels it alike.
    let all = api.get_text("/prometheus/metrics/ALL/ALL/txt").await;
    assert!(all.lines().any(|l| l == line), "{line} not in {all}");
    server.shutdown().await;
}
