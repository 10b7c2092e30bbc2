//! Flow history benchmark: what exporting every sample to ClickHouse costs and how fast its parts go, against a
//! private Debian ClickHouse 18.16 started for the run.
//!
//! 1. engine ingest alone, one core (samples/s), then the same loop handing every datagram to the exporter
//!    while the exporter (batcher + sender threads) runs on the other core: ingest rate (slowed by the hand-off's
//!    back-pressure when the batcher falls behind), rows written/s, waits for room, datagrams lost;
//! 2. the exporter's batcher on one core: datagram decode, names, RowBinary encode (rows/s);
//! 3. ClickHouse inserts into `flows` with its three rollup views: batches/s and rows/s for 1,000- and 50,000-row batches;
//! 4. the spool: writing synced 50,000-row segments, and draining them (rows/s, MB/s);
//! 5. a history top-N over 10 million stored rows (one day): raw table vs the 1-minute, 5-minute and 1-hour rollups.
//!
//! Run: `cargo bench -p rtflow-server --bench history` (`RTFLOW_BENCH_SECS` sets the timed phases, default 5;
//! `RTFLOW_BENCH_ROWS` the stored rows of part 5, default 10,000,000). Uses ../shared/captures/ecmp.pcap when
//! present, else tests/data/fabric.pcap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtflow_engine::{Engine, FlowDefinition};
use rtflow_history::query::{HistoryRequest, plan_top};
use rtflow_history::{
    Client, Endpoint, ExportConfig, Exporter, Layout, NoEnrichment, Retention, RowDecoder,
    RowNames, Spool, encode_row, ensure_schema,
};
use rtflow_testkit::servers::{ClickHouse, ScratchDir};

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("RTFLOW_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    )
}

fn load_capture() -> (String, Vec<(SocketAddr, Vec<u8>)>) {
    let shared = rtflow_testkit::Shared::Captures.path().join("ecmp.pcap");
    let path = if shared.is_file() {
        shared
    } else {
        rtflow_testkit::data_file("fabric.pcap")
    };
    let mut reader =
        rtflow_capture::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Ok(Some(d)) = reader.next_datagram() {
        out.push((d.src, d.payload.to_vec()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name, out)
}

fn samples_in(datagrams: &[(SocketAddr, Vec<u8>)]) -> u64 {
    let mut decoder = RowDecoder::default();
    let mut rows = Vec::new();
    for (_, bytes) in datagrams {
        let _ = decoder.decode(0, bytes, &mut rows);
    }
    rows.len() as u64
}

fn engine() -> Engine {
    let mut engine = Engine::default();
    for (name, keys) in [
        ("pair", "ipsource,ipdestination"),
        ("dport", "tcpdestinationport"),
    ] {
        let definition: FlowDefinition =
            serde_json::from_value(serde_json::json!({"keys": keys, "value": "bytes"}))
                .unwrap_or_else(|e| panic!("{e}"));
        engine
            .set_object::<rtflow_engine::Flows>(0, name, definition)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    engine
}

/// Runs the engine over the capture in a loop for `budget`, calling `also` per datagram; samples/s.
fn ingest_loop(
    datagrams: &[(SocketAddr, Vec<u8>)],
    per_pass: u64,
    budget: Duration,
    mut also: impl FnMut(u64, &[u8]),
) -> f64 {
    let mut engine = engine();
    let started = Instant::now();
    let mut now = 1_700_000_000_000u64;
    let mut passes = 0u64;
    while started.elapsed() < budget {
        for (source, bytes) in datagrams {
            now += 1;
            let _ = engine.ingest_sflow(now, *source, bytes);
            also(now, bytes);
        }
        engine.tick(now);
        passes += 1;
    }
    (passes * per_pass) as f64 / started.elapsed().as_secs_f64()
}

fn rate(n: u64, elapsed: Duration) -> String {
    let r = n as f64 / elapsed.as_secs_f64();
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.0} k/s", r / 1e3)
    }
}

fn main() {
    let Some(server) = ClickHouse::start() else {
        return;
    };
    let budget = seconds();
    // RTFLOW_BENCH_PARTS=5 runs only part 5, and so on (default: all).
    let parts = std::env::var("RTFLOW_BENCH_PARTS").unwrap_or_else(|_| "12345".into());
    let part = |n: char| parts.contains(n);
    let (name, datagrams) = load_capture();
    let per_pass = samples_in(&datagrams);
    println!(
        "capture {name}: {} datagrams, {per_pass} flow/discard samples per pass",
        datagrams.len()
    );

    // 1. Engine ingest with and without the exporter.
    let scratch = ScratchDir::new("rtflow-bench");
    let names = RowNames::default();
    if part('1') {
        let alone = ingest_loop(&datagrams, per_pass, budget, |_, _| {});
        println!(
            "1. engine ingest alone (one core): {:.2} M samples/s",
            alone / 1e6
        );
        let endpoint = Endpoint::parse(&server.url(), Some("bench_export"), None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut config = ExportConfig::new(endpoint, scratch.path().join("spool"));
        config.batch_interval = Duration::from_millis(500);
        config.spool_max_bytes = 8 << 30;
        let exporter =
            Exporter::start(config, Arc::new(NoEnrichment)).unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let with = ingest_loop(&datagrams, per_pass, budget, |now, bytes| {
            exporter.offer(now, bytes);
        });
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let stats = exporter.stats();
            let idle = stats.queue_bytes == 0
                && stats.spool_batches == 0
                && stats.rows_written == stats.rows_batched;
            if idle || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let done = exporter.stats();
        let elapsed = started.elapsed();
        println!(
            "   engine ingest + hand-off to the exporter: {:.2} M samples/s ({:+.1}%); exporter wrote {} rows in {:.1} s = {} \
         ({} batches); ingest waited for room {} times ({:.1} s in all), {} datagrams lost at the hand-off ({:.1}%)",
            with / 1e6,
            (with / alone - 1.0) * 100.0,
            done.rows_written,
            elapsed.as_secs_f64(),
            rate(done.rows_written, elapsed),
            done.batches_written,
            done.queue_waits,
            done.queue_wait_ms as f64 / 1e3,
            done.datagrams_lost,
            100.0 * done.datagrams_lost as f64
                / (done.datagrams + done.datagrams_lost).max(1) as f64,
        );
        exporter.shutdown();
    }

    // 2. The batcher's work on one core.
    if part('2') {
        let mut decoder = RowDecoder::default();
        let mut rows = Vec::new();
        let mut body = Vec::with_capacity(64 << 20);
        let started = Instant::now();
        let mut encoded = 0u64;
        while started.elapsed() < budget {
            for (_, bytes) in &datagrams {
                rows.clear();
                let _ = decoder.decode(1_700_000_000_000, bytes, &mut rows);
                for row in &rows {
                    encode_row(row, &names, &mut body);
                }
                encoded += rows.len() as u64;
                if body.len() > 32 << 20 {
                    body.clear();
                }
            }
        }
        println!(
            "2. batcher (decode + RowBinary encode, one core): {} rows",
            rate(encoded, started.elapsed())
        );
    }
    // 3. Inserts.
    let endpoint = Endpoint::parse(&server.url(), Some("bench_insert"), None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(endpoint, Duration::from_secs(300)).unwrap_or_else(|e| panic!("{e}"));
    let layout = Layout {
        database: "bench_insert".into(),
        cluster: None,
    };
    ensure_schema(&client, &layout, &Retention::default()).unwrap_or_else(|e| panic!("{e}"));
    // (RowBinary body, rows) of `n` rows from the capture, stamped now.
    let batch_body = |n: usize| -> (Vec<u8>, u64) {
        let mut decoder = RowDecoder::default();
        let mut all = Vec::new();
        let mut out = Vec::new();
        let mut count = 0usize;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        'fill: loop {
            for (_, bytes) in &datagrams {
                all.clear();
                let _ = decoder.decode(now, bytes, &mut all);
                for row in &all {
                    encode_row(row, &names, &mut out);
                    count += 1;
                    if count >= n {
                        break 'fill;
                    }
                }
            }
        }
        (out, count as u64)
    };
    let target = format!(
        "{} ({})",
        layout.insert_table(),
        rtflow_history::schema::flow_column_list()
    );
    if part('3') {
        // Last: the same 50,000-row batches once the 5-minute rollup's view is gone, to see what it costs.
        for (batch_rows, views) in [(1_000usize, 3), (50_000, 3), (50_000, 2)] {
            if views == 2 {
                client
                    .execute("DROP TABLE bench_insert.flows_5m_mv")
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let (body, rows_in) = batch_body(batch_rows);
            let started = Instant::now();
            let mut batches = 0u64;
            while started.elapsed() < budget {
                client
                    .insert_row_binary(&target, body.clone())
                    .unwrap_or_else(|e| panic!("{e}"));
                batches += 1;
            }
            let elapsed = started.elapsed();
            println!(
                "3. ClickHouse inserts of {batch_rows}-row batches (flows + {views} rollup views): {:.1} batches/s, {} rows",
                batches as f64 / elapsed.as_secs_f64(),
                rate(batches * rows_in, elapsed)
            );
        }
    }

    // 4. Spool.
    if part('4') {
        let spool_dir = scratch.path().join("bench-spool");
        let (spool, _) = Spool::open(&spool_dir, 64 << 30).unwrap_or_else(|e| panic!("{e}"));
        let (segment, segment_rows) = batch_body(50_000);
        let segment_rows = u32::try_from(segment_rows).unwrap_or(u32::MAX);
        println!(
            "   ({} bytes per row in RowBinary)",
            segment.len() as u64 / u64::from(segment_rows.max(1))
        );
        let started = Instant::now();
        let mut written = 0u64;
        while started.elapsed() < budget {
            spool
                .push("c", segment_rows, &segment)
                .unwrap_or_else(|e| panic!("{e}"));
            written += 1;
        }
        let elapsed = started.elapsed();
        println!(
            "4. spool write (50,000-row segments, synced): {} rows, {:.0} MB/s",
            rate(written * u64::from(segment_rows), elapsed),
            (written * segment.len() as u64) as f64 / 1e6 / elapsed.as_secs_f64()
        );
        let started = Instant::now();
        let (mut drained, mut drained_bytes) = (0u64, 0u64);
        while let Some(Ok(segment)) = spool.oldest(Duration::ZERO, 50_000) {
            drained += u64::from(segment.rows);
            drained_bytes += segment.body.len() as u64;
            spool.acknowledge(&segment);
        }
        let elapsed = started.elapsed();
        println!(
            "   spool drain (read + delete): {} rows, {:.0} MB/s",
            rate(drained, elapsed),
            drained_bytes as f64 / 1e6 / elapsed.as_secs_f64()
        );
        drop(spool);
    }
    if !part('5') {
        return;
    }

    // 5. Top-N over many stored rows.
    let total: u64 = std::env::var("RTFLOW_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let layout = Layout {
        database: "bench_query".into(),
        cluster: None,
    };
    let endpoint = Endpoint::parse(&server.url(), Some("bench_query"), None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(endpoint, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"));
    ensure_schema(&client, &layout, &Retention::default()).unwrap_or_else(|e| panic!("{e}"));
    let day_end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        / 3600
        * 3600;
    let day_start = day_end - 86_400;
    let started = Instant::now();
    // One day of rows from 4 exporters × 8 interfaces. Addresses and ports are spread wide (raw-table columns);
    // source ASes follow a steep power law over 1,000 and destination ASes take 4 values, as real traffic
    // concentrates on few (the rollups' keys), so the rollups are much smaller than the raw table.
    client.execute(&format!(
        "INSERT INTO bench_query.flows (TimeReceived, SamplingRate, ExporterAddress, ExporterName, InIf, OutIf, \
         InIfName, OutIfName, EType, SrcAddr, DstAddr, Proto, SrcPort, DstPort, FrameLength, SrcAS, DstAS, Bytes, Packets) \
         SELECT toDateTime({day_start} + intDiv(number * 86400, {total})), 1000, \
         IPv4ToIPv6(toUInt32(3221225985 + number % 4)), concat('edge', toString(number % 4)), \
         intDiv(number, 4) % 8 + 1, intDiv(number, 4) % 8 + 9, concat('et-0/0/', toString(intDiv(number, 4) % 8)), \
         concat('et-0/1/', toString(intDiv(number, 4) % 8)), 2048, \
         IPv4ToIPv6(toUInt32(167772160 + intHash32(number * 7919 + 1) % 65536)), IPv4ToIPv6(toUInt32(167837696 + intHash32(number * 7919 + 2) % 4096)), \
         6, 1024 + intHash32(number * 7919 + 3) % 60000, 443, 1500, \
         64512 + toUInt32(pow((intHash32(number * 7919 + 4) % 1000) / 1000, 6) * 1000), 64600 + intHash32(number * 7919 + 5) % 4, 1500000, 1000 \
         FROM system.numbers LIMIT {total}"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let generated = started.elapsed();
    println!(
        "5. stored {total} rows (INSERT … SELECT, rollup views on) in {:.1} s ({})",
        generated.as_secs_f64(),
        rate(total, generated)
    );
    for (table, label) in [
        ("flows", "raw"),
        ("flows_1m", "1-minute rollup"),
        ("flows_5m", "5-minute rollup"),
        ("flows_1h", "1-hour rollup"),
    ] {
        let request = HistoryRequest {
            keys: vec!["bgpsourceas".into()],
            value: "bytes".into(),
            filter: None,
            agents: vec![],
            from_ms: day_start * 1000,
            to_ms: day_end * 1000,
            max_flows: 10,
            step: 0,
            table: Some(table.into()),
        };
        let plan = plan_top(&request, &layout).unwrap_or_else(|e| panic!("{e}"));
        let mut times = Vec::new();
        let mut first = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let rows = client
                .query_rows(&plan.sql)
                .unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed());
            first = rows;
        }
        times.sort();
        let rows_in_table = server.answer(&format!("SELECT count() FROM bench_query.{table}"));
        println!(
            "   top-10 source ASes over the day from {table} ({label}, {rows_in_table} rows): median {:.1} ms \
             (first {:.1} ms); top AS {}",
            times[2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            first
                .first()
                .and_then(|r| r.first())
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
}
