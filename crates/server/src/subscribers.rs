//! The seam between ingest and the sinks that want every received datagram (the ClickHouse history
//! exporter today). Ingest calls each subscriber once per datagram, after the engine has taken it and outside
//! any lock; a subscriber must not block (it copies what it needs into its own bounded queue and counts what
//! it cannot take).

use std::net::SocketAddr;

use rtflow_engine::Millis;

/// Receives every sFlow datagram ingest accepted (UDP or replay).
pub(crate) trait DatagramSubscriber: Send + Sync + std::fmt::Debug {
    /// `received` is the engine time the datagram was ingested at; `source` its UDP source.
    fn datagram(&self, received: Millis, source: SocketAddr, datagram: &[u8]);
}
