//! The ClickHouse sink against a real Debian `clickhouse-server` (18.16): schema and migrations (a rollup added to a
//! database in use is filled from the finer one), every column of a row, the rollups, retries across an outage, the spool across a restart of the sink, a full spool, a batch
//! ClickHouse refuses, and retention by partition drops.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::{PATIENCE, config, fresh_database, now_ms, start, traffic, wait_for, wait_written};
use rtflow_history::synth::{Agent, Packet};
use rtflow_history::{
    Client, Endpoint, Enricher, Exporter, InterfaceNames, Layout, Retention, Spool,
    drop_expired_partitions, ensure_schema,
};
use rtflow_testkit::servers::ClickHouse;

fn client(server: &ClickHouse, database: &str) -> Client {
    let endpoint = Endpoint::parse(&server.url(), Some(database), None, None).unwrap();
    Client::new(endpoint, Duration::from_secs(10)).unwrap()
}

#[test]
fn schema_is_created_once_and_migrations_are_recorded() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("schema");
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    let first = ensure_schema(&client, &layout, &Retention::default()).unwrap();
    assert_eq!(first.applied, vec![1, 2, 3, 4, 5]);
    assert_eq!(first.version, 5);
    assert!(first.server_version.starts_with("18.16"), "{first:?}");
    let again = ensure_schema(&client, &layout, &Retention::default()).unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(again.version, 5);
    let tables = server.answer(&format!(
        "SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = '{database}' ORDER BY name)"
    ));
    assert_eq!(
        tables,
        "['flows','flows_1h','flows_1h_mv','flows_1m','flows_1m_mv','flows_5m','flows_5m_mv','rtflow_migrations']"
    );
    for rollup in ["flows_1m", "flows_5m", "flows_1h"] {
        let engine = server.answer(&format!(
            "SELECT engine FROM system.tables WHERE database = '{database}' AND name = '{rollup}'"
        ));
        assert_eq!(engine, "SummingMergeTree", "{rollup}");
    }
}

#[test]
fn a_table_from_an_older_version_gains_the_new_column() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("upgrade");
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    ensure_schema(&client, &layout, &Retention::default()).unwrap();
    // Make it look like version 3: a row stored back then, no SourceIdName, migrations 1–3 recorded.
    server.answer(&format!(
        "INSERT INTO {database}.flows (TimeReceived, Bytes) VALUES (now(), 7)"
    ));
    server.answer(&format!(
        "ALTER TABLE {database}.flows DROP COLUMN SourceIdName"
    ));
    server.answer(&format!(
        "ALTER TABLE {database}.rtflow_migrations DELETE WHERE Version = 4"
    ));
    wait_for(
        "the mutation removing version 4",
        PATIENCE,
        || {
            server.answer(&format!(
                "SELECT count() FROM {database}.rtflow_migrations WHERE Version = 4"
            ))
        },
        |n| n == "0",
    );
    let report = ensure_schema(&client, &layout, &Retention::default()).unwrap();
    assert_eq!(report.applied, vec![4]);
    let columns = server.answer(&format!(
        "SELECT groupArray(name) FROM system.columns WHERE database = '{database}' AND table = 'flows' \
         AND name IN ('SourceIdIndex', 'SourceIdName', 'InIf')"
    ));
    assert_eq!(
        columns, "['SourceIdIndex','SourceIdName','InIf']",
        "added after SourceIdIndex"
    );
    assert_eq!(
        server.answer(&format!(
            "SELECT Bytes, SourceIdName = '' FROM {database}.flows FORMAT TSV"
        )),
        "7\t1",
        "old rows are kept, the new column has its default"
    );
}

#[test]
fn the_5_minute_rollup_added_to_a_running_database_starts_with_its_history() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("fivemin");
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    ensure_schema(&client, &layout, &Retention::default()).unwrap();
    // Make it look like version 4: no flows_5m yet, then an hour of rows (3 per minute) through flows_1m.
    server.answer(&format!("DROP TABLE {database}.flows_5m_mv"));
    server.answer(&format!("DROP TABLE {database}.flows_5m"));
    let forget_version_5 = || {
        server.answer(&format!(
            "ALTER TABLE {database}.rtflow_migrations DELETE WHERE Version = 5"
        ));
        wait_for(
            "the mutation removing version 5",
            PATIENCE,
            || {
                server.answer(&format!(
                    "SELECT count() FROM {database}.rtflow_migrations WHERE Version = 5"
                ))
            },
            |n| n == "0",
        );
    };
    forget_version_5();
    let insert = |hours_ago: u32| {
        server.answer(&format!(
            "INSERT INTO {database}.flows (TimeReceived, InIf, Proto, Bytes, Packets) \
             SELECT toStartOfHour(now()) - INTERVAL {hours_ago} HOUR + number * 20, number % 3, 6, 1000, 10 \
             FROM system.numbers LIMIT 180"
        ))
    };
    insert(2);
    let sums = |table: &str| {
        server.answer(&format!(
            "SELECT count(), sum(Flows), sum(Bytes), sum(Packets), uniqExact(TimeReceived) FROM {database}.{table} \
             FORMAT TSV"
        ))
    };
    let report = ensure_schema(&client, &layout, &Retention::default()).unwrap();
    assert_eq!(report.applied, vec![5]);
    // 12 buckets × 3 interfaces, every sample counted once.
    assert_eq!(sums("flows_5m"), "36\t180\t180000\t1800\t12");
    // Run again (as after a crash before the migration was recorded): the filled table is not filled twice.
    forget_version_5();
    assert_eq!(
        ensure_schema(&client, &layout, &Retention::default())
            .unwrap()
            .applied,
        vec![5]
    );
    assert_eq!(sums("flows_5m"), "36\t180\t180000\t1800\t12");
    // New rows reach it through its view.
    insert(1);
    let totals = |table: &str| {
        server.answer(&format!(
            "SELECT sum(Flows), sum(Bytes) FROM {database}.{table} FORMAT TSV"
        ))
    };
    assert_eq!(totals("flows_5m"), "360\t360000");
    assert_eq!(totals("flows_5m"), totals("flows_1m"));
}

/// SNMP-like names for one agent, to see them land in the rows.
struct Names;

impl Enricher for Names {
    fn exporter_name(&self, agent: IpAddr) -> Option<Arc<str>> {
        (agent == IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))).then(|| Arc::from("edge9"))
    }

    fn interface(&self, agent: IpAddr, if_index: u32) -> Option<InterfaceNames> {
        (agent == IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)) && if_index == 3).then(|| {
            InterfaceNames {
                name: Arc::from("xe-0/0/3"),
                description: Arc::from("transit: ISP A"),
                speed_mbps: 10_000,
            }
        })
    }
}

#[test]
fn rows_carry_every_field_and_the_rollups_add_up() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("rows");
    let spool = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(
        config(&server.url(), &database, spool.path()),
        Arc::new(Names),
    )
    .unwrap();
    let mut snmp_agent = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)), 256);
    let mut sflow_named = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 1);
    let now = now_ms();
    let udp = Packet {
        src: Ipv4Addr::new(10, 9, 0, 1),
        dst: Ipv4Addr::new(10, 9, 0, 2),
        src_port: 5353,
        dst_port: 53,
        proto: 17,
        frame_length: 120,
    };
    let tcp = Packet::tcp(
        Ipv4Addr::new(10, 10, 0, 1),
        Ipv4Addr::new(10, 10, 0, 2),
        22,
        1_514,
    );
    // Agent 10 names itself and its interface 3 in counter samples; agent 9 is named by the enricher.
    exporter.offer(
        now,
        &sflow_named.names("leaf10", &[(3, "swp3", 25_000_000_000)]),
    );
    exporter.offer(now, &snmp_agent.flows(3, 7, &[udp, udp]));
    exporter.offer(now, &sflow_named.flows(3, 4, &[tcp]));
    exporter.offer(now, &sflow_named.discard(3, 258, &tcp));
    let stats = wait_written(&exporter, 4);
    assert_eq!((stats.rows_batched, stats.discard_rows), (4, 1));
    assert_eq!(stats.schema_version, 5);
    assert_eq!(stats.last_error, "");

    let row = server.answer(&format!(
        "SELECT TimeReceived = toDateTime({secs}), SamplingRate, IPv6NumToString(ExporterAddress), ExporterName, \
         SourceIdName, InIf, OutIf, InIfName, InIfDescription, InIfSpeed, OutIfName, EType, hex(SrcMAC), \
         IPv6NumToString(SrcAddr), IPv6NumToString(DstAddr), Proto, SrcPort, DstPort, DSCP, IPTTL, FrameLength, \
         Bytes, Packets, Discarded \
         FROM {database}.flows WHERE ExporterName = 'edge9' LIMIT 1 FORMAT TSV",
        secs = now / 1000
    ));
    assert_eq!(
        row,
        "1\t256\t::ffff:192.0.2.9\tedge9\txe-0/0/3\t3\t7\txe-0/0/3\ttransit: ISP A\t10000\t\t2048\t020000000001\t\
         ::ffff:10.9.0.1\t::ffff:10.9.0.2\t17\t5353\t53\t46\t64\t120\t30720\t256\t0"
    );
    let named = server.answer(&format!(
        "SELECT ExporterName, InIfName, InIfSpeed, TCPFlags, Discarded, DiscardReason, Bytes FROM {database}.flows \
         WHERE ExporterAddress = toFixedString(IPv6StringToNum('::ffff:192.0.2.10'), 16) \
         ORDER BY Discarded FORMAT TSV"
    ));
    assert_eq!(
        named,
        "leaf10\tswp3\t25000\t24\t0\t0\t1514\nleaf10\tswp3\t25000\t24\t1\t258\t1514"
    );
    for rollup in ["flows_1m", "flows_5m", "flows_1h"] {
        let sums = server.answer(&format!(
            "SELECT sum(Flows), sum(Bytes), sum(Packets) FROM {database}.{rollup} FORMAT TSV"
        ));
        assert_eq!(
            sums,
            format!("4\t{}\t{}", 2 * 120 * 256 + 2 * 1514, 2 * 256 + 2),
            "{rollup}"
        );
    }
    let minute = server.answer(&format!(
        "SELECT count() FROM {database}.flows_1m WHERE toSecond(TimeReceived) != 0"
    ));
    assert_eq!(minute, "0", "1-minute buckets start on the minute");
    let five = server.answer(&format!(
        "SELECT count() FROM {database}.flows_5m WHERE toUnixTimestamp(TimeReceived) % 300 != 0"
    ));
    assert_eq!(
        five, "0",
        "5-minute buckets start on a multiple of 5 minutes"
    );
}

#[test]
fn an_outage_is_absorbed_by_the_spool_and_nothing_is_lost() {
    let Some(mut server) = ClickHouse::prepare() else {
        return;
    };
    // ClickHouse is not running yet: the sink must still start, spool, and retry.
    let database = fresh_database("outage");
    let spool = tempfile::tempdir().unwrap();
    let exporter = start(config(&server.url(), &database, spool.path()));
    let (datagrams, rows, bytes) = traffic(1, 200, 10);
    let now = now_ms();
    for datagram in &datagrams[..100] {
        assert!(exporter.offer(now, datagram));
    }
    let spooled = wait_for(
        "batches in the spool while ClickHouse is down",
        PATIENCE,
        || exporter.stats(),
        |s| s.spool_rows == rows / 2 && s.insert_retries >= 2,
    );
    assert_eq!(spooled.rows_written, 0);
    assert!(!spooled.last_error.is_empty());
    server.launch("");
    for datagram in &datagrams[100..] {
        assert!(exporter.offer(now, datagram));
    }
    let done = wait_written(&exporter, rows);
    assert_eq!(done.rows_written, rows);
    assert_eq!((done.spool_dropped_rows, done.datagrams_lost), (0, 0));
    wait_for(
        "an empty spool",
        PATIENCE,
        || exporter.stats(),
        |s| s.spool_batches == 0,
    );
    let stored = server.answer(&format!(
        "SELECT count(), sum(Bytes) FROM {database}.flows FORMAT TSV"
    ));
    assert_eq!(stored, format!("{rows}\t{bytes}"));
}

#[test]
fn what_the_spool_accepted_survives_a_restart_of_the_sink() {
    let Some(mut server) = ClickHouse::prepare() else {
        return;
    };
    let database = fresh_database("restart");
    let spool = tempfile::tempdir().unwrap();
    let (datagrams, rows, bytes) = traffic(2, 50, 20);
    {
        let mut config = config(&server.url(), &database, spool.path());
        config.shutdown_grace = Duration::from_millis(100);
        let first = start(config);
        let now = now_ms();
        for datagram in &datagrams {
            assert!(first.offer(now, datagram));
        }
        first.shutdown();
        let stats = first.stats();
        assert_eq!((stats.rows_batched, stats.rows_written), (rows, 0));
        assert_eq!(stats.spool_rows, rows, "every row is on disk at shutdown");
    }
    server.launch("");
    let second = start(config(&server.url(), &database, spool.path()));
    let stats = wait_written(&second, rows);
    assert_eq!(stats.rows_written, rows);
    let stored = server.answer(&format!(
        "SELECT count(), sum(Bytes) FROM {database}.flows FORMAT TSV"
    ));
    assert_eq!(stored, format!("{rows}\t{bytes}"));
}

#[test]
fn a_full_spool_drops_the_oldest_batches_and_counts_them() {
    let Some(server) = ClickHouse::prepare() else {
        return;
    };
    let database = fresh_database("full");
    let spool = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(), &database, spool.path());
    config.batch_rows = 100;
    // ~100 rows of ~190 bytes per batch: room for about five batches.
    config.spool_max_bytes = 100_000;
    let exporter = start(config);
    let (datagrams, rows, _) = traffic(3, 100, 10);
    let now = now_ms();
    for datagram in &datagrams {
        assert!(exporter.offer(now, datagram));
    }
    let stats = wait_for(
        "every batch sealed into the spool",
        PATIENCE,
        || exporter.stats(),
        |s| s.batches_spooled == 10,
    );
    assert!(stats.spool_bytes <= 100_000, "{stats:?}");
    assert!(stats.spool_dropped_rows > 0, "{stats:?}");
    assert_eq!(
        stats.spool_dropped_rows + stats.spool_rows,
        rows,
        "{stats:?}"
    );
    assert_eq!(
        stats.spool_dropped_batches,
        stats.batches_spooled - stats.spool_batches
    );
    drop(server);
}

#[test]
fn a_batch_clickhouse_keeps_refusing_is_given_up_and_counted() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("refused");
    let spool_dir = tempfile::tempdir().unwrap();
    {
        // A batch left by some other version, for a column this schema does not have.
        let (spool, _) = Spool::open(spool_dir.path(), 1 << 20).unwrap();
        spool.push("NoSuchColumn", 3, &[1, 2, 3]).unwrap();
    }
    let exporter = start(config(&server.url(), &database, spool_dir.path()));
    let (datagrams, rows, _) = traffic(4, 2, 5);
    for datagram in &datagrams {
        exporter.offer(now_ms(), datagram);
    }
    let stats = wait_written(&exporter, rows);
    assert_eq!(stats.rows_rejected, 3);
    assert!(stats.insert_retries >= 5, "{stats:?}");
}

#[test]
fn partitions_older_than_the_retention_are_dropped() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("retention");
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    let retention = Retention {
        raw_days: Some(3),
        minute_days: Some(30),
        five_minute_days: Some(7),
        hour_days: None,
    };
    ensure_schema(&client, &layout, &retention).unwrap();
    for days_ago in [0, 10] {
        server.answer(&format!(
            "INSERT INTO {database}.flows (TimeReceived, Bytes) VALUES (now() - INTERVAL {days_ago} DAY, 1)"
        ));
    }
    // The 10-day-old day partitions of flows (3 days) and flows_5m (7 days).
    assert_eq!(
        drop_expired_partitions(&client, &layout, &retention).unwrap(),
        2
    );
    let left = server.answer(&format!(
        "SELECT count(), min(TimeReceived) > now() - INTERVAL 1 DAY FROM {database}.flows FORMAT TSV"
    ));
    assert_eq!(left, "1\t1");
    // The 1-minute rollup keeps 30 days and the 1-hour one forever: both rows still there.
    for (rollup, flows) in [("flows_1m", "2"), ("flows_5m", "1"), ("flows_1h", "2")] {
        assert_eq!(
            server.answer(&format!("SELECT sum(Flows) FROM {database}.{rollup}")),
            flows,
            "{rollup}"
        );
    }
    assert_eq!(
        drop_expired_partitions(&client, &layout, &retention).unwrap(),
        0
    );
}

#[test]
fn history_queries_run_on_clickhouse_and_rollups_agree_with_raw() {
    use rtflow_history::query::{HistoryRequest, plan_top, plan_trend, top_flows, trend};
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("queries");
    let spool = tempfile::tempdir().unwrap();
    let exporter = start(config(&server.url(), &database, spool.path()));
    // Two hours back, aligned on the hour: 10.0.0.1 sends 3x what 10.0.0.2 sends, 10.0.0.3 a little UDP.
    let hour_ms = 3_600_000;
    let base = (now_ms() / hour_ms - 2) * hour_ms;
    let mut agent = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)), 10);
    let big = Packet::tcp(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 1, 0, 1),
        443,
        1_500,
    );
    let small = Packet::tcp(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 1, 0, 1),
        80,
        500,
    );
    let udp = Packet {
        proto: 17,
        ..Packet::tcp(
            Ipv4Addr::new(10, 0, 0, 3),
            Ipv4Addr::new(10, 1, 0, 1),
            53,
            100,
        )
    };
    let mut rows = 0;
    for minute in 0..120u64 {
        let at = base + minute * 60_000 + 1_000;
        exporter.offer(at, &agent.flows(3, 7, &[big, small, udp]));
        rows += 3;
    }
    wait_written(&exporter, rows);
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    let request = |keys: &str, table: Option<&str>| HistoryRequest {
        keys: keys.split(',').map(str::to_string).collect(),
        value: "bytes".into(),
        filter: None,
        agents: vec![],
        from_ms: base,
        to_ms: base + 2 * hour_ms,
        max_flows: 5,
        step: 0,
        table: table.map(str::to_string),
    };
    // Raw: by source address; 120 samples × 1500 B × 10 over 7200 s = 250 B/s.
    let plan = plan_top(&request("ipsource,ipprotocol", None), &layout).unwrap();
    assert_eq!(plan.table, "flows");
    let flows = top_flows(&plan, &client.query_rows(&plan.sql).unwrap());
    let got: Vec<(String, f64)> = flows.iter().map(|f| (f.key.clone(), f.value)).collect();
    assert_eq!(
        got,
        vec![
            ("10.0.0.1,6".to_string(), 250.0),
            ("10.0.0.2,6".to_string(), 500.0 / 6.0),
            ("10.0.0.3,17".to_string(), 100.0 / 6.0),
        ]
    );
    assert_eq!(
        (flows[0].agent.as_str(), flows[0].data_source.as_str()),
        ("192.0.2.20", "3")
    );
    // Interface/protocol keys: every table gives the same answer.
    let mut answers = Vec::new();
    for table in [
        None,
        Some("flows"),
        Some("flows_1m"),
        Some("flows_5m"),
        Some("flows_1h"),
    ] {
        let plan = plan_top(&request("inputifindex,ipprotocol", table), &layout).unwrap();
        let flows = top_flows(&plan, &client.query_rows(&plan.sql).unwrap());
        answers.push((
            plan.table,
            flows
                .iter()
                .map(|f| (f.key.clone(), f.value))
                .collect::<Vec<_>>(),
        ));
    }
    assert_eq!(
        answers[0].0, "flows_1h",
        "aligned 2-hour range of rollup keys"
    );
    for (table, answer) in &answers[1..] {
        assert_eq!(answer, &answers[0].1, "{table} disagrees");
    }
    // A filter with an address prefix (raw) and a trend.
    let mut filtered = request("ipsource", None);
    filtered.filter = Some("ipsource=10.0.0.0/30&ipprotocol=6".into());
    filtered.step = 600;
    let plan = plan_trend(&filtered, &layout).unwrap();
    let series = trend(&plan, &client.query_rows(&plan.sql).unwrap());
    assert_eq!(series.times.len(), 12);
    let keys: Vec<&str> = series.series.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["10.0.0.1", "10.0.0.2"]);
    // 10 samples per 600 s step × 15 000 B = 250 B/s in every step.
    assert!(
        series.series[0].values.iter().all(|v| *v == 250.0),
        "{series:?}"
    );
    // A top-1 trend puts the rest into -other-, from the 1-minute rollup when asked by minute.
    let mut top1 = request("ipprotocol", None);
    top1.max_flows = 1;
    top1.step = 60;
    let plan = plan_trend(&top1, &layout).unwrap();
    assert_eq!(plan.table, "flows_1m");
    let series = trend(&plan, &client.query_rows(&plan.sql).unwrap());
    let keys: Vec<&str> = series.series.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["6", "-other-"]);
    assert_eq!(series.series[1].values[0], 100.0 * 10.0 / 60.0);
}

#[test]
fn the_readme_sql_runs_on_this_clickhouse() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let readme = rtflow_testkit::data_dir().join("../../README.md");
    let text =
        std::fs::read_to_string(&readme).unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
    let database = fresh_database("readme");
    let client = client(&server, &database);
    let layout = Layout {
        database: database.clone(),
        cluster: None,
    };
    ensure_schema(&client, &layout, &Retention::default()).unwrap();
    server.answer(&format!(
        "INSERT INTO {database}.flows (TimeReceived, ExporterName, InIfName, Bytes, Packets, Discarded) \
         VALUES (now() - 120, 'edge1', 'xe-0/0/1', 1000, 1, 0), (now() - 7200, 'edge1', 'xe-0/0/2', 500, 1, 1)"
    ));
    let mut ran = 0;
    for block in text.split("```sql").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        if block.contains('$') {
            continue; // Grafana macros
        }
        for statement in block.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let sql = statement.replace("rtflow.", &format!("{database}."));
            let answer = server
                .query(&sql)
                .unwrap_or_else(|e| panic!("README query failed: {e}\n{sql}"));
            assert!(
                !answer.trim().is_empty() || sql.contains("Discarded = 1"),
                "{sql}"
            );
            ran += 1;
        }
    }
    assert!(ran >= 5, "README SQL examples found: {ran}");
}
