//! rtflow-server: the sFlow-RT compatible server around [`rtflow_engine::Engine`].
//!
//! * sFlow input: a UDP socket read by a dedicated OS thread (large `SO_RCVBUF`, dual-stack), or a pcap
//!   replayed at the recorded pace (`--replay`, sFlow-RT's `sflow.file`).
//! * A ticker thread calls [`rtflow_engine::Engine::tick`] and wakes long-polling `/events/json` and
//!   `/flows/json` requests.
//! * The REST API of sFlow-RT (spec §1) with axum.
//!
//! ```no_run
//! # async fn run() -> Result<(), rtflow_server::ServerError> {
//! let server = rtflow_server::Server::start(rtflow_server::ServerConfig::default()).await?;
//! println!("API on {}", server.http_addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod clock;
mod error;
mod feed;
mod history;
mod http;
mod ingest;
mod loopguard;
mod procstats;
mod properties;
mod receive;
mod replay;
mod scripting;
mod server;
mod snmp;
mod state;
mod subscribers;
mod ticker;
mod ui;

pub use clock::EngineClock;
pub use error::ServerError;
pub use feed::{DatagramFeed, FeedDatagram, InternalFeed, OpenFeed};
pub use history::{ClickHouseSettings, DEFAULT_SPOOL_DIR};
pub use properties::{Properties, PropertyError, Unapplied};
pub use server::{
    DEFAULT_HTTP_PORT, DEFAULT_PROMETHEUS_PREFIX, DEFAULT_RCVBUF, DEFAULT_SFLOW_PORT, Server,
    ServerConfig,
};
pub use snmp::SnmpSettings;
pub use state::HttpLimits;

/// The version reported by `/version` and `/analyzer/json`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
