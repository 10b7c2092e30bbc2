//! `rtflow serve`: the sFlow-RT compatible analytics server (REST API on port 8008, sFlow on UDP 6343).

use std::io::IsTerminal as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::serve_signals::{Request as SignalRequest, Signals};
use anyhow::Context;
use rtflow_server::{DEFAULT_RCVBUF, Properties, Server, ServerConfig, Unapplied};

/// Options of `rtflow serve`. Settings come, each overriding the one before, from the built-in
/// defaults, sFlow-RT property files (`--config`, `system.propertyFiles`), `-D` properties, and the
/// named options below.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// UDP port for sFlow datagrams (sFlow-RT `sflow.port`; 0 = any free port) [default: 6343].
    #[arg(long, value_name = "PORT")]
    pub sflow_port: Option<u16>,

    /// Address for the sFlow socket (sFlow-RT `sflow.hostname`; default: [::] dual-stack, else 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub sflow_bind: Option<IpAddr>,

    /// HTTP port of the REST API (sFlow-RT `http.port`; 0 = any free port) [default: 8008].
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<u16>,

    /// Address for the REST API (sFlow-RT `http.hostname`; default: [::] dual-stack, else 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub http_bind: Option<IpAddr>,

    /// Replay this pcap/pcapng capture at its recorded pace instead of listening for UDP
    /// (sFlow-RT `sflow.file`); like sFlow-RT, it loops forever (see --replay-once). Every sFlow
    /// datagram is taken, whatever its UDP port.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Play the --replay capture once, then go on serving what it left (engine time then runs in
    /// real time).
    #[arg(long)]
    pub replay_once: bool,

    /// Run with the built-in network simulator feeding the server in-process (no UDP input): a
    /// leaf-and-spine fabric with its topology installed, flows `pair` and `dns_responses`, and
    /// thresholds `elephant` and `dns_amplification` that fire as the scenario plays.
    #[arg(long, conflicts_with = "replay")]
    pub demo: bool,

    /// The scenario `--demo` runs (TOML or YAML, see scenarios/README.md) [default: the built-in
    /// leaf-spine one].
    #[arg(long, value_name = "FILE", requires = "demo")]
    pub scenario: Option<PathBuf>,

    /// Seed of the `--demo` simulation [default: the scenario's].
    #[arg(long, value_name = "N", requires = "demo")]
    pub seed: Option<u64>,

    /// Replay (or run --demo) N times faster than recorded (N below 1: slower); engine time runs at
    /// the same pace, so rates stay true.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    pub replay_speed: f64,

    /// Refuse PUT and DELETE requests with 403 (sFlow-RT `http.readonly=yes`).
    #[arg(long)]
    pub readonly: bool,

    /// Threshold events kept for /events/json (sFlow-RT `events.max`).
    #[arg(long, value_name = "N")]
    pub events_max: Option<usize>,

    /// Flow records kept for /flows/json (sFlow-RT `flows.max`).
    #[arg(long, value_name = "N")]
    pub flows_max: Option<usize>,

    /// IEEE oui.txt naming the organizations of MAC prefixes for `oui:<mac>:name` keys (sFlow-RT
    /// `oui.names`) [default: /usr/share/ieee-data/oui.txt when it exists].
    #[arg(long, value_name = "FILE")]
    pub oui_file: Option<PathBuf>,

    /// Directory of the third-party web libraries served at /inc/ to sFlow-RT app pages (property
    /// `http.inc.dir`) [default: the first of <prefix>/share/rtflow/inc, target/inc beside a cargo-built
    /// binary, /usr/local/share/rtflow/inc and /usr/share/rtflow/inc that exists; scripts/fetch-inc fills it].
    #[arg(long, value_name = "DIR")]
    pub inc_dir: Option<PathBuf>,

    /// Requested UDP receive buffer (SO_RCVBUF) in bytes; the kernel caps it at net.core.rmem_max.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RCVBUF)]
    pub rcvbuf: usize,

    /// Memory budget of the engine's per-agent state (agents, data sources, active flows), in MiB; beyond it
    /// the least useful agents are evicted (shown as sFlowAgentsEvicted) [default: 512].
    #[arg(long, value_name = "MIB")]
    pub memory_budget: Option<usize>,

    /// A data source without a sample for this many seconds is forgotten, even while its agent keeps sending
    /// (a flood of random data-source ids); agents are forgotten after an hour of silence [default: 300].
    #[arg(long, value_name = "SECS")]
    pub data_source_timeout: Option<u64>,

    /// Shards of the engine's per-agent state, each with its own lock, so that ingest workers updating
    /// agents in different shards do not wait for each other; the memory budget and the agent limit are
    /// shared evenly by the shards.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub engine_shards: usize,

    /// Receive/decode threads, each with its own sFlow socket on the port (SO_REUSEPORT, Linux); an agent's
    /// datagrams always go to the same one [default: one per core, at most 4].
    #[arg(long, value_name = "N")]
    pub ingest_workers: Option<usize>,

    /// Most open REST API connections; at the cap the longest-idle one is closed for a newcomer, and when all
    /// are busy the newcomer gets a 503 (further capped by the open-file limit) [default: 10000].
    #[arg(long, value_name = "N")]
    pub http_max_connections: Option<usize>,

    /// Seconds a REST API connection may wait for a request's headers, from its opening or its last response,
    /// before it is closed (idle keep-alive connections, slow clients) [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub http_idle_timeout: Option<Duration>,

    /// Seconds a request body may take to arrive before a 408 [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub http_body_timeout: Option<Duration>,

    /// An sFlow-RT system property, as sFlow-RT's own `-Dname=value` (e.g. `-Dsflow.port=6343`,
    /// `-Dhttp.readonly=yes`, `-Dprometheus.metric.prefix=rt_`); repeatable.
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    pub properties: Vec<String>,

    /// A JavaScript file to run as an sFlow-RT script (as `-Dscript.file=FILE`); repeatable.
    #[arg(long = "script", value_name = "FILE")]
    pub scripts: Vec<PathBuf>,

    /// Directory of sFlow-RT apps: every APPDIR/NAME/scripts/*.js is started and APPDIR/NAME/html/ served at
    /// /app/NAME/html/ (property `app.dir`) [default: ./app].
    #[arg(long, value_name = "DIR")]
    pub app_dir: Option<PathBuf>,

    /// An sFlow-RT properties file (`conf.d/sflow-rt.conf` style `name=value` lines); repeatable.
    #[arg(long = "config", value_name = "FILE")]
    pub config_files: Vec<PathBuf>,

    /// Keep every flow and discard sample in ClickHouse (`clickhouse.url`), e.g.
    /// http://127.0.0.1:8123/?database=rtflow; see also the clickhouse.* properties.
    #[arg(long, value_name = "URL", help_heading = "Flow history")]
    pub clickhouse: Option<String>,

    /// ClickHouse database (`clickhouse.database`) [default: the URL's ?database=, else rtflow].
    #[arg(long, value_name = "NAME", help_heading = "Flow history")]
    pub clickhouse_database: Option<String>,

    /// ClickHouse user (`clickhouse.user`).
    #[arg(long, value_name = "USER", help_heading = "Flow history")]
    pub clickhouse_user: Option<String>,

    /// ClickHouse password (`clickhouse.password`; a properties file keeps it off the command line).
    #[arg(long, value_name = "PASSWORD", help_heading = "Flow history")]
    pub clickhouse_password: Option<String>,

    /// A ClickHouse cluster (`remote_servers` name, `clickhouse.cluster`): rows go to this node's *_local
    /// tables, history queries read the Distributed tables over every shard.
    #[arg(long, value_name = "NAME", help_heading = "Flow history")]
    pub clickhouse_cluster: Option<String>,

    /// Where batches wait for ClickHouse, kept across restarts (`clickhouse.spool.dir`) [default: ./rtflow-spool].
    #[arg(long, value_name = "DIR", help_heading = "Flow history")]
    pub history_spool: Option<PathBuf>,
}

impl ServeArgs {
    /// The server configuration and the properties it did not apply (to report once logging runs).
    fn config(&self) -> anyhow::Result<(ServerConfig, Vec<(String, Unapplied)>)> {
        if !(self.replay_speed.is_finite() && self.replay_speed > 0.0) {
            anyhow::bail!(
                "--replay-speed must be a positive number, got {}",
                self.replay_speed
            );
        }
        let properties = self.properties()?;
        let mut config = ServerConfig::default();
        let unapplied = properties.apply(&mut config)?;
        // Named options override properties.
        if let Some(port) = self.sflow_port {
            config.sflow_port = port;
        }
        if self.sflow_bind.is_some() {
            config.sflow_bind = self.sflow_bind;
        }
        if let Some(port) = self.http_port {
            config.http_port = port;
        }
        if self.http_bind.is_some() {
            config.http_bind = self.http_bind;
        }
        if self.replay.is_some() {
            config.replay = self.replay.clone();
        }
        if self.demo {
            config.feed = Some(super::demo::demo_feed(self.scenario.as_deref(), self.seed)?);
        }
        if self.oui_file.is_some() {
            config.oui_names = self.oui_file.clone();
        }
        config.scripts.scripts.extend(self.scripts.iter().cloned());
        if self.app_dir.is_some() {
            config.scripts.app_dir = self.app_dir.clone();
        }
        if self.inc_dir.is_some() {
            config.inc_dir = self.inc_dir.clone();
        }
        config.replay_speed = self.replay_speed;
        config.replay_once = self.replay_once;
        config.readonly |= self.readonly;
        config.rcvbuf = self.rcvbuf;
        if let Some(mib) = self.memory_budget {
            config.engine.memory_budget_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(secs) = self.data_source_timeout {
            config.engine.data_source_timeout_ms = secs.saturating_mul(1000);
        }
        config.engine.shards = self.engine_shards.max(1);
        if let Some(workers) = self.ingest_workers {
            config.ingest_workers = workers.max(1);
        }
        let limits = &mut config.http_limits;
        if let Some(n) = self.http_max_connections {
            limits.max_connections = n.max(1);
        }
        if let Some(timeout) = self.http_idle_timeout {
            limits.idle_timeout = timeout;
        }
        if let Some(timeout) = self.http_body_timeout {
            limits.body_timeout = timeout;
        }
        if let Some(n) = self.events_max {
            config.engine.events_max = n.max(1);
        }
        if let Some(n) = self.flows_max {
            config.engine.flows_max = n.max(1);
        }
        let history = &mut config.clickhouse;
        for (option, slot) in [
            (&self.clickhouse, &mut history.url),
            (&self.clickhouse_database, &mut history.database),
            (&self.clickhouse_user, &mut history.user),
            (&self.clickhouse_password, &mut history.password),
            (&self.clickhouse_cluster, &mut history.cluster),
        ] {
            if option.is_some() {
                slot.clone_from(option);
            }
        }
        if let Some(dir) = &self.history_spool {
            history.spool_dir = dir.clone();
        }
        Ok((config, unapplied))
    }

    /// `--config` files, then the files `system.propertyFiles` names, then `-D` definitions (which win).
    fn properties(&self) -> anyhow::Result<Properties> {
        let mut definitions = Properties::default();
        for definition in &self.properties {
            definitions.set_definition(definition)?;
        }
        let mut properties = Properties::default();
        for path in &self.config_files {
            read_properties_file(&mut properties, path)?;
        }
        let mut named = properties.property_files();
        named.extend(definitions.property_files());
        for path in &named {
            read_properties_file(&mut properties, path)?;
        }
        for (name, value) in definitions.iter() {
            properties.set(name, value);
        }
        Ok(properties)
    }
}

fn positive_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!(
            "expected a positive number of seconds, got {text:?}"
        )),
    }
}

fn read_properties_file(properties: &mut Properties, path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read properties file {}", path.display()))?;
    properties.read_file_text(&path.display().to_string(), &text)?;
    Ok(())
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (config, unapplied) = args.config()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, not in a file, a pipe or journald.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    for (name, kind) in unapplied {
        match kind {
            Unapplied::Unsupported => {
                tracing::warn!("property {name}: not supported by rtflow, ignored");
            }
            Unapplied::Unknown => {
                tracing::info!("property {name}: not an sFlow-RT core property, kept for scripts");
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rtflow-http")
        .build()
        .context("cannot start the async runtime")?;
    let demo_lines = if args.demo {
        super::demo::describe(args.scenario.as_deref())?
    } else {
        Vec::new()
    };
    runtime.block_on(async {
        let mut signals = Signals::register().context("cannot handle signals")?;
        let server = Server::start(config).await?;
        for line in demo_lines {
            tracing::info!("{line}");
        }
        // The one announcement of the bound addresses (the server itself does not log them).
        if let Some(addr) = server.sflow_addr() {
            eprintln!("rtflow serve: sFlow on udp {addr}");
        }
        eprintln!("rtflow serve: REST API on http://{}", server.http_addr());
        loop {
            match signals.next().await {
                SignalRequest::Status(name) => {
                    eprintln!("rtflow serve: status ({name}): {}", server.status_report());
                }
                SignalRequest::Stop(name) => {
                    eprintln!("rtflow serve: stopping ({name})");
                    break;
                }
            }
        }
        server.shutdown().await;
        eprintln!("rtflow serve: stopped");
        Ok(ExitCode::SUCCESS)
    })
}
