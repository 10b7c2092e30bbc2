//! Flow history in ClickHouse (`rtflow-history`) inside the server: its settings (`clickhouse.*` properties and
//! `--clickhouse …` options), the exporter as a datagram subscriber of ingest, its figures for `/analyzer/json`
//! and Prometheus, and the client the `/history/*` queries use.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rtflow_engine::Millis;
use rtflow_history::{
    AsyncClient, Endpoint, Enricher, ExportConfig, ExportStats, Exporter, Layout, Retention,
};
use serde_json::{Map, Value};

use crate::error::ServerError;
use crate::properties::PropertyError;
use crate::subscribers::DatagramSubscriber;

/// Where rows go and how they are batched and kept (`clickhouse.*`). History is on when `url` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickHouseSettings {
    /// `clickhouse.url`: `http://host:8123/[?database=name]`.
    pub url: Option<String>,
    /// `clickhouse.database` (else the URL's `?database=`, else `rtflow`).
    pub database: Option<String>,
    /// `clickhouse.user` / `clickhouse.password` (else the URL's user info).
    pub user: Option<String>,
    /// See `user`.
    pub password: Option<String>,
    /// `clickhouse.cluster`: a `remote_servers` cluster; rows go to this node's `*_local` tables and queries
    /// read the `Distributed` tables.
    pub cluster: Option<String>,
    /// `clickhouse.spool.dir`: where batches wait for ClickHouse (kept across restarts).
    pub spool_dir: PathBuf,
    /// `clickhouse.spool.maxbytes`.
    pub spool_max_bytes: u64,
    /// `clickhouse.batch.rows` / `clickhouse.batch.ms`: a batch is sent at this many rows or this age.
    pub batch_rows: usize,
    /// See `batch_rows`.
    pub batch_interval: Duration,
    /// `clickhouse.retention.days` (raw rows), `clickhouse.retention.1m.days`, `.5m.days`, `.1h.days`.
    pub retention: Retention,
    /// `clickhouse.retry.max.ms`: the longest wait between retries while ClickHouse fails.
    pub retry_max: Duration,
    /// `clickhouse.queue.wait.ms`: how long ingest waits for room in the exporter's full queue (back-pressure)
    /// before it sheds datagrams (counted).
    pub queue_wait: Duration,
}

/// Default spool directory (relative to the working directory).
pub const DEFAULT_SPOOL_DIR: &str = "rtflow-spool";

impl Default for ClickHouseSettings {
    fn default() -> Self {
        ClickHouseSettings {
            url: None,
            database: None,
            user: None,
            password: None,
            cluster: None,
            spool_dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            spool_max_bytes: 1 << 30,
            batch_rows: 50_000,
            batch_interval: Duration::from_secs(5),
            retention: Retention::default(),
            retry_max: Duration::from_secs(30),
            queue_wait: Duration::from_secs(2),
        }
    }
}

impl ClickHouseSettings {
    /// Applies one `clickhouse.*` property; `Ok(false)` for a name that is not one of them.
    pub fn apply_property(&mut self, name: &str, value: &str) -> Result<bool, PropertyError> {
        let invalid = |expected: &'static str| PropertyError::Invalid {
            name: name.to_string(),
            value: value.to_string(),
            expected,
        };
        let text = || (!value.is_empty()).then(|| value.to_string());
        let days = || -> Result<Option<u32>, PropertyError> {
            match value.parse::<u32>() {
                Ok(0) => Ok(None),
                Ok(days) => Ok(Some(days)),
                Err(_) => Err(invalid("a number of days (0 keeps forever)")),
            }
        };
        match name {
            "clickhouse.url" => self.url = text(),
            "clickhouse.database" => self.database = text(),
            "clickhouse.user" => self.user = text(),
            "clickhouse.password" => self.password = Some(value.to_string()),
            "clickhouse.cluster" => self.cluster = text(),
            "clickhouse.spool.dir" => self.spool_dir = PathBuf::from(value),
            "clickhouse.spool.maxbytes" => {
                self.spool_max_bytes = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1 << 20)
                    .ok_or_else(|| invalid("a number of bytes, at least 1048576"))?;
            }
            "clickhouse.batch.rows" => {
                self.batch_rows = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or_else(|| invalid("a number of rows from 1 to 1000000"))?;
            }
            "clickhouse.batch.ms" => {
                self.batch_interval = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=600_000).contains(n))
                    .map(Duration::from_millis)
                    .ok_or_else(|| invalid("milliseconds from 1 to 600000"))?;
            }
            "clickhouse.retry.max.ms" => {
                self.retry_max = value
                    .parse()
                    .ok()
                    .filter(|n| (100..=3_600_000).contains(n))
                    .map(Duration::from_millis)
                    .ok_or_else(|| invalid("milliseconds from 100 to 3600000"))?;
            }
            "clickhouse.queue.wait.ms" => {
                self.queue_wait = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=600_000).contains(n))
                    .map(Duration::from_millis)
                    .ok_or_else(|| invalid("milliseconds from 1 to 600000"))?;
            }
            "clickhouse.retention.days" => self.retention.raw_days = days()?,
            "clickhouse.retention.1m.days" => self.retention.minute_days = days()?,
            "clickhouse.retention.5m.days" => self.retention.five_minute_days = days()?,
            "clickhouse.retention.1h.days" => self.retention.hour_days = days()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The exporter's configuration, `None` when history is off.
    pub fn export_config(&self) -> Result<Option<ExportConfig>, ServerError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let endpoint = Endpoint::parse(
            url,
            self.database.as_deref(),
            self.user.as_deref(),
            self.password.as_deref(),
        )
        .map_err(ServerError::ClickHouseUrl)?;
        let mut config = ExportConfig::new(endpoint, self.spool_dir.clone());
        config.cluster = self.cluster.clone();
        config.retention = self.retention;
        config.spool_max_bytes = self.spool_max_bytes;
        config.batch_rows = self.batch_rows;
        config.batch_interval = self.batch_interval;
        config.retry_max = self.retry_max;
        config.queue_wait = self.queue_wait;
        config.retry_initial = config.retry_initial.min(self.retry_max);
        Ok(Some(config))
    }
}

/// The running history: the exporter (a datagram subscriber) and the query side.
#[derive(Debug)]
pub(crate) struct History {
    pub exporter: Exporter,
    pub client: AsyncClient,
    pub layout: Layout,
}

/// Timeout of one history query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

impl History {
    /// Starts the exporter (blocking: opens the spool, starts threads; call from a blocking context).
    pub(crate) fn start(
        config: ExportConfig,
        enricher: Arc<dyn Enricher>,
    ) -> Result<History, ServerError> {
        let client = AsyncClient::new(config.endpoint.clone(), QUERY_TIMEOUT)
            .map_err(|e| ServerError::History(e.into()))?;
        let layout = config.layout();
        tracing::info!(
            "flow history: ClickHouse {}{}, spool {}",
            config.endpoint.display(),
            config
                .cluster
                .as_deref()
                .map(|c| format!(", cluster {c}"))
                .unwrap_or_default(),
            config.spool_dir.display()
        );
        let exporter = Exporter::start(config, enricher).map_err(ServerError::History)?;
        Ok(History {
            exporter,
            client,
            layout,
        })
    }
}

impl DatagramSubscriber for History {
    fn datagram(&self, received: Millis, _source: SocketAddr, datagram: &[u8]) {
        self.exporter.offer(received, datagram);
    }
}

/// The exporter's figures as `/analyzer/json` fields: `history` + the figure's name (`historyRowsWritten`, …).
pub(crate) fn analyzer_fields(stats: &ExportStats) -> Map<String, Value> {
    prefixed_fields("history", stats)
}

/// A struct's camelCase fields as `prefix` + capitalized name (`snmpPolls`, …).
pub(crate) fn prefixed_fields(prefix: &str, stats: &impl serde::Serialize) -> Map<String, Value> {
    let Ok(Value::Object(fields)) = serde_json::to_value(stats) else {
        return Map::new();
    };
    fields
        .into_iter()
        .map(|(name, value)| {
            let mut chars = name.chars();
            let capitalized: String = chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect();
            (format!("{prefix}{capitalized}"), value)
        })
        .collect()
}

/// Prometheus families of the exporter: (suffix, type, help, value).
fn prometheus_families(
    stats: &ExportStats,
) -> [(&'static str, &'static str, &'static str, u64); 15] {
    [
        (
            "datagrams_total",
            "counter",
            "datagrams handed to the history exporter",
            stats.datagrams,
        ),
        (
            "datagrams_lost_total",
            "counter",
            "datagrams dropped at the hand-off to the history exporter (its queue stayed full: exporter stuck)",
            stats.datagrams_lost,
        ),
        (
            "queue_waits_total",
            "counter",
            "datagrams ingest waited for room in the history exporter's queue for (back-pressure)",
            stats.queue_waits,
        ),
        (
            "queue_wait_milliseconds_total",
            "counter",
            "time ingest waited for room in the history exporter's queue",
            stats.queue_wait_ms,
        ),
        (
            "decode_errors_total",
            "counter",
            "datagrams the history exporter could not decode",
            stats.decode_errors,
        ),
        (
            "rows_batched_total",
            "counter",
            "flow and discard rows put into batches",
            stats.rows_batched,
        ),
        (
            "rows_written_total",
            "counter",
            "rows ClickHouse acknowledged",
            stats.rows_written,
        ),
        (
            "batches_written_total",
            "counter",
            "batches ClickHouse acknowledged",
            stats.batches_written,
        ),
        (
            "insert_retries_total",
            "counter",
            "failed ClickHouse requests that were retried",
            stats.insert_retries,
        ),
        (
            "rows_rejected_total",
            "counter",
            "rows of batches ClickHouse kept refusing (given up)",
            stats.rows_rejected,
        ),
        (
            "spool_dropped_rows_total",
            "counter",
            "rows dropped because the spool was full",
            stats.spool_dropped_rows,
        ),
        (
            "spool_bytes",
            "gauge",
            "bytes of batches waiting in the spool",
            stats.spool_bytes,
        ),
        (
            "spool_batches",
            "gauge",
            "batches waiting in the spool",
            stats.spool_batches,
        ),
        (
            "spool_rows",
            "gauge",
            "rows waiting in the spool",
            stats.spool_rows,
        ),
        (
            "schema_version",
            "gauge",
            "ClickHouse schema migrations in place",
            stats.schema_version,
        ),
    ]
}

/// The exporter's figures in Prometheus' text format, names starting with `prefix` + `history_`.
pub(crate) fn prometheus_text(prefix: &str, stats: &ExportStats) -> String {
    let mut out = String::new();
    for (suffix, kind, help, value) in prometheus_families(stats) {
        let name = format!("{prefix}history_{suffix}");
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_configure_the_exporter() {
        let mut settings = ClickHouseSettings::default();
        for (name, value) in [
            ("clickhouse.url", "http://ch:8123/?database=flows"),
            ("clickhouse.user", "rt"),
            ("clickhouse.batch.rows", "1000"),
            ("clickhouse.batch.ms", "250"),
            ("clickhouse.retention.days", "15"),
            ("clickhouse.retention.1h.days", "0"),
            ("clickhouse.retention.5m.days", "90"),
            ("clickhouse.spool.dir", "/var/spool/rtflow"),
            ("clickhouse.queue.wait.ms", "500"),
        ] {
            assert_eq!(settings.apply_property(name, value), Ok(true), "{name}");
        }
        assert_eq!(settings.apply_property("clickhouse.nope", "1"), Ok(false));
        assert!(
            settings
                .apply_property("clickhouse.batch.rows", "0")
                .is_err()
        );
        assert!(
            settings
                .apply_property("clickhouse.retention.days", "x")
                .is_err()
        );
        let config = settings.export_config().unwrap().unwrap();
        assert_eq!(config.endpoint.database, "flows");
        assert_eq!(config.endpoint.user.as_deref(), Some("rt"));
        assert_eq!(config.batch_rows, 1000);
        assert_eq!(config.batch_interval, Duration::from_millis(250));
        assert_eq!(config.retention.raw_days, Some(15));
        assert_eq!(config.retention.hour_days, None);
        assert_eq!(config.retention.five_minute_days, Some(90));
        assert_eq!(config.spool_dir, PathBuf::from("/var/spool/rtflow"));
        assert_eq!(config.queue_wait, Duration::from_millis(500));
        assert!(
            ClickHouseSettings::default()
                .export_config()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn figures_are_named_for_the_analyzer_and_prometheus() {
        let stats = ExportStats {
            rows_written: 7,
            spool_bytes: 100,
            ..ExportStats::default()
        };
        let fields = analyzer_fields(&stats);
        assert_eq!(fields["historyRowsWritten"], 7);
        assert_eq!(fields["historySpoolBytes"], 100);
        assert_eq!(fields["historyLastError"], "");
        let text = prometheus_text("sflow_", &stats);
        assert!(text.contains(
            "# TYPE sflow_history_rows_written_total counter\nsflow_history_rows_written_total 7\n"
        ));
        assert!(text.contains("sflow_history_spool_bytes 100\n"));
    }
}
