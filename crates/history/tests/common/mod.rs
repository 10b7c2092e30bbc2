//! Helpers of the history integration tests: exporters on a real ClickHouse, and waiting for conditions.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rtflow_history::synth::{Agent, Packet};
use rtflow_history::{Endpoint, ExportConfig, ExportStats, Exporter, NoEnrichment};

/// Longest wait for an expected state.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `condition` every 10 ms until it holds; panics with `what` (and the last value seen) after `limit`.
pub(crate) fn wait_for<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> T,
    mut condition: impl FnMut(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let value = probe();
        if condition(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last: {value:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A database name no other test of this process uses.
pub(crate) fn fresh_database(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A sink config for `url`/`database` with small, fast batches and quick retries.
pub(crate) fn config(url: &str, database: &str, spool: &Path) -> ExportConfig {
    let endpoint = Endpoint::parse(url, Some(database), None, None).expect("endpoint");
    let mut config = ExportConfig::new(endpoint, spool.to_path_buf());
    config.batch_rows = 1_000;
    config.batch_interval = Duration::from_millis(200);
    config.retry_initial = Duration::from_millis(20);
    config.retry_max = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(10);
    config
}

pub(crate) fn start(config: ExportConfig) -> Exporter {
    Exporter::start(config, Arc::new(NoEnrichment)).expect("exporter starts")
}

/// Waits until the sink has written `rows` rows.
pub(crate) fn wait_written(exporter: &Exporter, rows: u64) -> ExportStats {
    wait_for(
        &format!("{rows} rows written"),
        PATIENCE,
        || exporter.stats(),
        |s| s.rows_written >= rows,
    )
}

/// `count` datagrams of agent 192.0.2.<agent>, each with `per_datagram` TCP samples of 1000 bytes at 1:100
/// from 10.0.<agent>.x to 10.1.0.1:443 on ifIndex 3 → 7. Returns (datagrams, rows, scaled bytes).
pub(crate) fn traffic(agent: u8, count: usize, per_datagram: usize) -> (Vec<Vec<u8>>, u64, u64) {
    let mut sender = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, agent)), 100);
    let mut datagrams = Vec::new();
    let mut rows = 0;
    let mut bytes = 0;
    for i in 0..count {
        let packets: Vec<Packet> = (0..per_datagram)
            .map(|j| {
                let host = ((i * per_datagram + j) % 250) as u8 + 1;
                Packet::tcp(
                    Ipv4Addr::new(10, 0, agent, host),
                    Ipv4Addr::new(10, 1, 0, 1),
                    443,
                    1_000,
                )
            })
            .collect();
        datagrams.push(sender.flows(3, 7, &packets));
        rows += per_datagram as u64;
        bytes += per_datagram as u64 * 1_000 * 100;
    }
    (datagrams, rows, bytes)
}

/// Unix time in ms.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
