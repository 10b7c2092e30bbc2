//! [`Server`]: starts the sFlow input (UDP or replay), the engine ticker and the HTTP API; stops them.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use rtflow_engine::{Engine, EngineConfig};
use rtflow_flowlang::OuiTable;
use socket2::{Domain, Protocol, Socket, Type};

use crate::clock::EngineClock;
use crate::error::ServerError;
use crate::feed::InternalFeed;
use crate::history::{ClickHouseSettings, History};
use crate::http;
use crate::ingest;
use crate::procstats;
use crate::replay;
use crate::scripting;
use crate::snmp::{self as snmp_names, SnmpSettings};
use crate::state::{AppState, HttpLimits, HttpSettings, Shared};
use crate::ticker;

/// Default sFlow port (`sflow.port`).
pub use rtflow_engine::DEFAULT_SFLOW_PORT;
/// Default HTTP port (`http.port`).
pub const DEFAULT_HTTP_PORT: u16 = 8008;
/// sFlow-RT's default `prometheus.metric.prefix`.
pub const DEFAULT_PROMETHEUS_PREFIX: &str = "sflow_";
/// Default requested `SO_RCVBUF` (the kernel may grant less; see `net.core.rmem_max`).
pub const DEFAULT_RCVBUF: usize = 32 * 1024 * 1024;
/// The IEEE OUI list of Debian's `ieee-data` package, used when `oui.names` is not set.
const DEFAULT_OUI_FILE: &str = "/usr/share/ieee-data/oui.txt";

/// How the server is set up. `Default` gives sFlow-RT's ports on all addresses.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// UDP port for sFlow (0 = ephemeral).
    pub sflow_port: u16,
    /// Address for the sFlow socket; `None` = `[::]` dual-stack, else `0.0.0.0`.
    pub sflow_bind: Option<IpAddr>,
    /// HTTP port (0 = ephemeral).
    pub http_port: u16,
    /// Address for the HTTP listener; `None` = `[::]` dual-stack, else `0.0.0.0`.
    pub http_bind: Option<IpAddr>,
    /// Replay this capture instead of listening for UDP (sFlow-RT `sflow.file`).
    pub replay: Option<PathBuf>,
    /// Play `replay` once, then serve what it left (sFlow-RT loops `sflow.file` forever, the default).
    pub replay_once: bool,
    /// Replay pace relative to the recording (engine time runs this much faster than real time); also
    /// paces `feed`.
    pub replay_speed: f64,
    /// An in-process sFlow input instead of UDP (`serve --demo`: the simulator), with what it installs.
    pub feed: Option<InternalFeed>,
    /// Refuse PUT/DELETE with 403 (`http.readonly`).
    pub readonly: bool,
    /// Requested `SO_RCVBUF` in bytes (0 = kernel default).
    pub rcvbuf: usize,
    /// Receive/decode threads, each with its own sFlow socket on the shared port (`SO_REUSEPORT`, Linux);
    /// datagrams are spread over them by sFlow agent address (see `rtflow_net::steer_by_sflow_agent`).
    pub ingest_workers: usize,
    /// The engine's limits, budget, shards and timeouts (`--engine-shards`, `--memory-budget`…).
    pub engine: EngineConfig,
    /// Log every HTTP request (`http.log`).
    pub http_log: bool,
    /// Prefix of the Prometheus metric names (`prometheus.metric.prefix`).
    pub prometheus_prefix: String,
    /// Every sFlow-RT system property given (`-D`, property files), applied or not.
    pub properties: BTreeMap<String, String>,
    /// IEEE `oui.txt` for `oui:<mac>:name` (`oui.names`); `None` = `/usr/share/ieee-data/oui.txt` when it exists.
    pub oui_names: Option<PathBuf>,
    /// Connection cap and timeouts of the REST API.
    pub http_limits: HttpLimits,
    /// Flow history in ClickHouse (`clickhouse.*`); off unless `url` is set.
    pub clickhouse: ClickHouseSettings,
    /// SNMP names (`snmp.*`); off unless `snmp.ifname=yes`.
    pub snmp: SnmpSettings,
    /// Scripts and apps to run (`script.file`, `--script`, `--app-dir`, `script.*` limits).
    pub scripts: rtflow_script::ScriptConfig,
    /// Directory of the third-party `/inc/` web libraries (`http.inc.dir`); `None` = the default locations.
    pub inc_dir: Option<PathBuf>,
    /// Where `GET /` leads (`http.html.redirect`, default `./html/index.html`, rtflow's status page), e.g.
    /// `./app/browse-flows/html/` to open an app.
    pub home_page: String,
    /// Serve the web pages (`http.html`, default yes); off, only the REST API and the apps' handlers answer.
    pub html_pages: bool,
    /// The engine clock; `None` follows the wall clock (at `replay_speed` when replaying). Tests pass an
    /// [`EngineClock::manual`] clock and advance it, instead of pacing datagrams over real time.
    pub clock: Option<Arc<EngineClock>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            sflow_port: DEFAULT_SFLOW_PORT,
            sflow_bind: None,
            http_port: DEFAULT_HTTP_PORT,
            http_bind: None,
            replay: None,
            replay_once: false,
            replay_speed: 1.0,
            feed: None,
            readonly: false,
            rcvbuf: DEFAULT_RCVBUF,
            ingest_workers: default_ingest_workers(),
            engine: EngineConfig::default(),
            http_log: false,
            prometheus_prefix: DEFAULT_PROMETHEUS_PREFIX.to_string(),
            properties: BTreeMap::new(),
            oui_names: None,
            http_limits: HttpLimits::default(),
            clickhouse: ClickHouseSettings::default(),
            snmp: SnmpSettings::default(),
            scripts: rtflow_script::ScriptConfig {
                app_dir: Some(PathBuf::from(rtflow_script::DEFAULT_APP_DIR)),
                ..Default::default()
            },
            inc_dir: None,
            home_page: DEFAULT_HOME_PAGE.to_string(),
            html_pages: true,
            clock: None,
        }
    }
}

/// sFlow-RT's default `http.html.redirect`.
pub(crate) const DEFAULT_HOME_PAGE: &str = "./html/index.html";

/// A running server. Drop without [`Server::shutdown`] leaves its threads running until the process exits.
pub struct Server {
    shared: AppState,
    http_addr: SocketAddr,
    sflow_addr: Option<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
    http_task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds the sockets and starts every component. Must run inside a multi-threaded tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        if config.replay.is_some() && config.feed.is_some() {
            return Err(ServerError::TwoInputs);
        }
        let speed = if config.replay.is_some() || config.feed.is_some() {
            config.replay_speed
        } else {
            1.0
        };
        http::raise_open_file_limit();
        let mut engine = Engine::new(config.engine.clone());
        engine.set_oui_table(load_oui_table(config.oui_names.as_deref())?);
        let inc = crate::ui::IncAssets::locate(config.inc_dir.as_deref())?;
        inc.log_status();
        let mut shared = Shared::new(
            engine,
            config
                .clock
                .clone()
                .unwrap_or_else(|| Arc::new(EngineClock::new(speed))),
            HttpSettings {
                readonly: config.readonly,
                log_requests: config.http_log,
                prometheus_prefix: config.prometheus_prefix.clone(),
                limits: config.http_limits.clone(),
                inc: Arc::new(inc),
                home: config.home_page.clone(),
                html: config.html_pages,
            },
        );
        let poller = snmp_names::start_poller(&config.snmp)?;
        shared.snmp = poller.clone();
        if let Some(export) = config.clickhouse.export_config()? {
            let enricher: Arc<dyn rtflow_history::Enricher> = match &poller {
                Some(poller) => Arc::new(snmp_names::SnmpEnricher(poller.clone())),
                None => Arc::new(rtflow_history::NoEnrichment),
            };
            let history = start_history(export, enricher).await?;
            shared.subscribers.push(history.clone());
            shared.history = Some(history);
        }
        let shared: AppState = Arc::new(shared);
        // Sockets first: a start that fails must not leave threads behind.
        let listener = bind_http(config.http_bind, config.http_port)?;
        let http_addr = listener
            .local_addr()
            .map_err(|source| ServerError::BindHttp {
                addr: SocketAddr::new(
                    config.http_bind.unwrap_or(Ipv4Addr::UNSPECIFIED.into()),
                    config.http_port,
                ),
                source,
            })?;
        let mut threads = Vec::new();
        let mut sflow_addr = None;
        let mut socket_inodes = Vec::new();
        match (&config.replay, &config.feed) {
            (Some(path), _) => {
                threads.push(replay::spawn_replay(
                    path,
                    config.replay_once,
                    shared.clone(),
                )?);
                tracing::info!("replaying {} at {speed}x (UDP input off)", path.display());
            }
            (None, Some(feed)) => {
                feed.install(&mut shared.engine.write(), shared.clock.now())?;
                let source = (feed.open)();
                threads.push(replay::spawn_feed(
                    source,
                    feed.name.clone(),
                    shared.clone(),
                )?);
                tracing::info!("sFlow from {} at {speed}x (UDP input off)", feed.name);
            }
            (None, None) => {
                let bound = ingest::bind_sflow_sockets(
                    config.sflow_bind,
                    config.sflow_port,
                    config.rcvbuf,
                    config.ingest_workers.max(1),
                )?;
                let Some(first) = bound.first() else {
                    return Err(ServerError::Thread(std::io::Error::other(
                        "no sFlow socket was bound",
                    )));
                };
                shared
                    .stats
                    .receive_buffer
                    .store(first.granted_rcvbuf as u64, Ordering::Relaxed);
                // The caller announces the bound addresses (`Server::sflow_addr`, `http_addr`).
                sflow_addr = Some(first.local_addr);
                let _ = shared.own_sflow_socket.set(first.local_addr);
                socket_inodes = bound
                    .iter()
                    .filter_map(|b| socket_inode_of(&b.socket))
                    .collect();
                let sockets = bound.into_iter().map(|b| b.socket).collect();
                threads.extend(ingest::spawn_udp_ingest_workers(sockets, &shared)?);
            }
        }
        threads.push(ticker::spawn_ticker(shared.clone(), socket_inodes)?);
        if let Some(poller) = &shared.snmp {
            threads.push(snmp_names::spawn_engine_names(
                shared.clone(),
                poller.clone(),
            )?);
        }
        let script_host = Arc::new(scripting::ServerHost {
            shared: shared.clone(),
            properties: config.properties.clone(),
            http_addr,
        });
        let scripts = match rtflow_script::ScriptHost::start(config.scripts.clone(), script_host) {
            Ok(scripts) => scripts,
            Err(err) => {
                shared.begin_shutdown();
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(ServerError::Scripts(err));
            }
        };
        *shared.scripts.write() = Some(Arc::new(scripts));
        let http_task = tokio::spawn(http::serve(listener, shared.clone()));
        Ok(Server {
            shared,
            http_addr,
            sflow_addr,
            threads,
            http_task,
        })
    }

    /// Where the REST API listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where the sFlow UDP socket listens (`None` when replaying or fed in-process).
    pub fn sflow_addr(&self) -> Option<SocketAddr> {
        self.sflow_addr
    }

    /// The main counters on one line (`name=value …`), for a status signal.
    pub fn status_report(&self) -> String {
        http::status_line(&self.shared)
    }

    /// Whether a `--replay-once` capture has been played to the end (a looping replay never ends).
    pub fn replay_finished(&self) -> bool {
        self.shared.stats.replay_done.load(Ordering::Relaxed)
    }

    /// Stops accepting requests, ends long-polls and joins the threads; then the history exporter seals what
    /// it holds into its spool and sends what it can within its grace period.
    pub async fn shutdown(self) {
        self.shared.begin_shutdown();
        let _ = self.http_task.await;
        let threads = self.threads;
        let history = self.shared.history.clone();
        let snmp = self.shared.snmp.clone();
        let scripts = self.shared.scripts.write().take();
        let _ = tokio::task::spawn_blocking(move || {
            // Scripts first: they hold the server's state through their host.
            if let Some(scripts) = scripts.and_then(|s| Arc::try_unwrap(s).ok()) {
                scripts.shutdown();
            }
            for thread in threads {
                let _ = thread.join();
            }
            if let Some(history) = history {
                history.exporter.shutdown();
            }
            if let Some(snmp) = snmp {
                snmp.shutdown();
            }
        })
        .await;
    }
}

/// Starts the history exporter on a blocking thread (it opens its spool and builds a blocking HTTP client).
async fn start_history(
    config: rtflow_history::ExportConfig,
    enricher: Arc<dyn rtflow_history::Enricher>,
) -> Result<Arc<History>, ServerError> {
    tokio::task::spawn_blocking(move || History::start(config, enricher).map(Arc::new))
        .await
        .map_err(|e| ServerError::Thread(std::io::Error::other(e)))?
}

/// The OUI names table from `configured`, else from [`DEFAULT_OUI_FILE`] when it exists, else empty. A
/// configured file that cannot be read stops the start (the operator asked for it); the default file only
/// warns, as without names `oui:<mac>:name` keys are missing while `oui:<mac>:number` keys still work.
fn load_oui_table(configured: Option<&Path>) -> Result<OuiTable, ServerError> {
    let default = Path::new(DEFAULT_OUI_FILE);
    let path = match configured {
        Some(path) => path,
        None if default.exists() => default,
        None => {
            tracing::info!(
                "no OUI names (oui.names unset, {DEFAULT_OUI_FILE} absent): oui:<mac>:name keys will be missing"
            );
            return Ok(OuiTable::default());
        }
    };
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(source) if configured.is_some() => {
            return Err(ServerError::OuiNames {
                path: path.to_path_buf(),
                source,
            });
        }
        Err(err) => {
            tracing::warn!(
                "cannot read OUI names file {}: {err}; oui:<mac>:name keys will be missing",
                path.display()
            );
            return Ok(OuiTable::default());
        }
    };
    let (table, stats) = OuiTable::parse_ieee(&text);
    if table.is_empty() {
        tracing::warn!(
            "OUI names file {} has no `XX-XX-XX (hex) name` entries; oui:<mac>:name keys will be missing",
            path.display()
        );
        return Ok(table);
    }
    tracing::info!(
        "OUI names: {} organizations from {} ({} malformed lines skipped)",
        table.len(),
        path.display(),
        stats.bad_lines
    );
    Ok(table)
}

/// One receive/decode thread per core, at most four.
fn default_ingest_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn socket_inode_of(socket: &std::net::UdpSocket) -> Option<u64> {
    #[cfg(unix)]
    {
        procstats::socket_inode(std::os::fd::AsRawFd::as_raw_fd(socket))
    }
    #[cfg(not(unix))]
    {
        let _ = socket;
        None
    }
}

/// Binds the HTTP listener: to `bind` if given, else `[::]` dual-stack, falling back to `0.0.0.0`.
fn bind_http(bind: Option<IpAddr>, port: u16) -> Result<tokio::net::TcpListener, ServerError> {
    let attempt = |addr: SocketAddr| -> std::io::Result<tokio::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if addr.is_ipv6() && addr.ip().is_unspecified() {
            socket.set_only_v6(false)?;
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        tokio::net::TcpListener::from_std(socket.into())
    };
    match bind {
        Some(ip) => {
            let addr = SocketAddr::new(ip, port);
            attempt(addr).map_err(|source| ServerError::BindHttp { addr, source })
        }
        None => {
            let dual = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            attempt(dual).or_else(|err| {
                let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
                tracing::info!("dual-stack HTTP bind to {dual} failed ({err}), using {v4}");
                attempt(v4).map_err(|source| ServerError::BindHttp { addr: v4, source })
            })
        }
    }
}
