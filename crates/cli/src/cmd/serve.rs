//! `rtflow serve`: the sFlow-RT compatible analytics server (REST API on port 8008, sFlow on UDP 6343).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rtflow_engine::EngineConfig;
use rtflow_server::{DEFAULT_RCVBUF, Server, ServerConfig};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// UDP port for sFlow datagrams (sFlow-RT `sflow.port`; 0 = any free port).
    #[arg(long, default_value_t = rtflow_server::DEFAULT_SFLOW_PORT, value_name = "PORT")]
    pub sflow_port: u16,

    /// Address for the sFlow socket (default: [::] dual-stack, else 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub sflow_bind: Option<IpAddr>,

    /// HTTP port of the REST API (sFlow-RT `http.port`; 0 = any free port).
    #[arg(long, default_value_t = rtflow_server::DEFAULT_HTTP_PORT, value_name = "PORT")]
    pub http_port: u16,

    /// Address for the REST API (sFlow-RT `http.hostname`; default: [::] dual-stack, else 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub http_bind: Option<IpAddr>,

    /// Replay this pcap/pcapng capture at its recorded pace instead of listening for UDP
    /// (sFlow-RT `sflow.file`).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Replay N times faster than recorded; engine time runs N times faster too, so rates stay true.
    #[arg(long, value_name = "N", default_value_t = 1.0, requires = "replay")]
    pub replay_speed: f64,

    /// Refuse PUT and DELETE requests with 403 (sFlow-RT `http.readonly`).
    #[arg(long)]
    pub readonly: bool,

    /// Threshold events kept for /events/json (sFlow-RT `events.max`).
    #[arg(long, value_name = "N")]
    pub events_max: Option<usize>,

    /// Flow records kept for /flows/json (sFlow-RT `flows.max`).
    #[arg(long, value_name = "N")]
    pub flows_max: Option<usize>,

    /// Requested UDP receive buffer (SO_RCVBUF) in bytes; the kernel caps it at net.core.rmem_max.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RCVBUF)]
    pub rcvbuf: usize,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<ServerConfig> {
        if !(self.replay_speed.is_finite() && self.replay_speed > 0.0) {
            anyhow::bail!(
                "--replay-speed must be a positive number, got {}",
                self.replay_speed
            );
        }
        let mut engine = EngineConfig::default();
        if let Some(n) = self.events_max {
            engine.events_max = n.max(1);
        }
        if let Some(n) = self.flows_max {
            engine.flows_max = n.max(1);
        }
        Ok(ServerConfig {
            sflow_port: self.sflow_port,
            sflow_bind: self.sflow_bind,
            http_port: self.http_port,
            http_bind: self.http_bind,
            replay: self.replay.clone(),
            replay_speed: self.replay_speed,
            readonly: self.readonly,
            rcvbuf: self.rcvbuf,
            engine,
        })
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rtflow-http")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        if let Some(addr) = server.sflow_addr() {
            eprintln!("rtflow serve: sFlow on udp {addr}");
        }
        eprintln!("rtflow serve: REST API on http://{}", server.http_addr());
        wait_for_stop_signal().await;
        eprintln!("rtflow serve: stopping");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
