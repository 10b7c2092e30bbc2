//! State shared by the ingest thread, the replay thread, the ticker and the HTTP handlers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use rtflow_engine::Engine;
use tokio::sync::watch;

use crate::clock::EngineClock;
use crate::history::History;
use crate::loopguard::RecentDatagrams;
use crate::procstats::CpuSampler;
use crate::subscribers::DatagramSubscriber;

/// Counters kept outside the engine (the engine counts datagrams, samples and decode errors itself).
#[derive(Debug, Default)]
pub(crate) struct RuntimeStats {
    /// Datagrams the kernel dropped on the sFlow socket (`/proc/net/udp*` drops column).
    pub kernel_drops: AtomicU64,
    /// Datagrams forwarded to `/forwarding` targets, and failed sends.
    pub forwarded: AtomicU64,
    pub forward_errors: AtomicU64,
    /// Re-encoded datagrams sent to `/tenant` collectors, and failed sends.
    pub tenant_forwarded: AtomicU64,
    pub tenant_forward_errors: AtomicU64,
    /// Datagrams received again byte for byte while forwarding or tenants are active (loop guard): dropped.
    pub looped: AtomicU64,
    /// Replayed datagrams (`--replay`).
    pub replayed: AtomicU64,
    pub replay_done: AtomicBool,
    pub http_connections_total: AtomicU64,
    pub http_connections_current: AtomicU64,
    /// Requests in progress: from routing until the response body is sent (long-polls and streams included).
    pub http_requests_current: AtomicU64,
    /// Connections refused with a 503 at the cap (every connection busy), idle ones closed to make room, and
    /// connections or requests ended by the idle (header) or body timeout.
    pub http_connections_refused: AtomicU64,
    pub http_connections_evicted: AtomicU64,
    pub http_timeouts: AtomicU64,
    /// Granted `SO_RCVBUF` in bytes (0 when no UDP socket).
    pub receive_buffer: AtomicU64,
    pub process_cpu_load_millis: AtomicU64,
    pub system_cpu_load_millis: AtomicU64,
}

impl RuntimeStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Everything the server's threads and handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The engine: ingest workers hold it for reading and lock only the shard of each datagram's agent
    /// (`IngestWorker::apply_shared`); queries that only read hold it for reading too; configuration changes
    /// and the tick take it for writing.
    pub engine: RwLock<Engine>,
    pub clock: Arc<EngineClock>,
    pub stats: RuntimeStats,
    pub http: HttpSettings,
    /// Latest event / flow-record ids, published by the ticker to wake long-polls.
    pub last_event_id: watch::Sender<u64>,
    pub last_flow_id: watch::Sender<u64>,
    /// Set with `stopping` by [`Shared::begin_shutdown`]: a plain flag for the threads that poll it on
    /// every datagram or tick, where the watch channel's lock would be needless.
    pub shutdown: AtomicBool,
    /// Turns true once at shutdown: stops the HTTP server and ends long-polls and event streams.
    pub stopping: watch::Sender<bool>,
    pub cpu: Mutex<CpuSampler>,
    pub started: Instant,
    /// The sFlow UDP socket's address, set once bound (none when replaying): `/forwarding` and `/tenant`
    /// targets equal to it are refused.
    pub own_sflow_socket: OnceLock<SocketAddr>,
    /// Sinks that get every ingested datagram (set before the server starts ingesting).
    pub subscribers: Vec<Arc<dyn DatagramSubscriber>>,
    /// Flow history in ClickHouse, when configured.
    pub history: Option<Arc<History>>,
    /// SNMP names (`snmp.ifname=yes`).
    pub snmp: Option<Arc<rtflow_snmp::SnmpPoller>>,
    /// The running scripts and apps (set once the HTTP listener is bound; taken at shutdown).
    pub scripts: parking_lot::RwLock<Option<Arc<rtflow_script::ScriptHost>>>,
    /// Datagrams received or sent on while forwarding or tenants are active, shared by every ingest worker
    /// (a datagram that comes back may arrive on another worker's socket): one that comes back is a loop.
    pub recent_datagrams: Mutex<RecentDatagrams>,
}

pub(crate) type AppState = Arc<Shared>;

/// Settings of the REST API.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpSettings {
    /// Refuse changes with 403 (`http.readonly`).
    pub readonly: bool,
    /// Log every request (`http.log`).
    pub log_requests: bool,
    /// Prefix of the Prometheus metric names (`prometheus.metric.prefix`).
    pub prometheus_prefix: String,
    pub limits: HttpLimits,
    /// Where the third-party `/inc/` web libraries are served from.
    pub inc: Arc<crate::ui::IncAssets>,
    /// Where `GET /` leads (`http.html.redirect`).
    pub home: String,
    /// Serve the web pages (rtflow's UI, `/api/`, `/inc/`, apps' `html/`); `http.html=no` leaves the REST API only.
    pub html: bool,
}

/// Limits that keep the REST API reachable under idle, slow or hostile clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Open connections at most (further capped by the open-file limit). At the cap the connection idle the
    /// longest is closed for a newcomer; when all are busy the newcomer gets a 503.
    pub max_connections: usize,
    /// A connection whose next request's headers are not complete this long after it opened or after its last
    /// response is closed (idle keep-alive connections and slow-loris headers alike).
    pub idle_timeout: Duration,
    /// A request body must arrive within this time, else 408 and the connection closes.
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl Shared {
    pub(crate) fn new(engine: Engine, clock: Arc<EngineClock>, http: HttpSettings) -> Self {
        Self {
            engine: RwLock::new(engine),
            clock,
            stats: RuntimeStats::default(),
            http,
            last_event_id: watch::channel(0).0,
            last_flow_id: watch::channel(0).0,
            shutdown: AtomicBool::new(false),
            stopping: watch::channel(false).0,
            cpu: Mutex::new(CpuSampler::new()),
            started: Instant::now(),
            own_sflow_socket: OnceLock::new(),
            subscribers: Vec::new(),
            history: None,
            snmp: None,
            scripts: parking_lot::RwLock::new(None),
            recent_datagrams: Mutex::new(RecentDatagrams::default()),
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Marks the server as stopping and wakes everything that waits on [`Shared::stopping`].
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.stopping.send_replace(true);
    }

    /// Resolves once shutdown has begun.
    pub(crate) async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    /// Publishes the engine's newest event and flow ids (wakes long-polls waiting for them).
    pub(crate) fn publish_ids(&self, event_id: u64, flow_id: u64) {
        self.last_event_id
            .send_if_modified(|id| replace_if_changed(id, event_id));
        self.last_flow_id
            .send_if_modified(|id| replace_if_changed(id, flow_id));
    }
}

fn replace_if_changed(slot: &mut u64, value: u64) -> bool {
    let changed = *slot != value;
    *slot = value;
    changed
}
