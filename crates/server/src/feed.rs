//! In-process sFlow input: a [`DatagramFeed`] hands datagrams with their times to the feed thread,
//! which paces them (times `replay_speed`) and ingests each through the same path as the UDP socket
//! ([`crate::ingest::ingest_datagram`]). `--replay` is a feed read from a capture; `serve --demo`
//! is a feed from the simulator, which also brings a topology, flows and thresholds to install.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtflow_engine::{Engine, FlowDefinition, Millis, Threshold, Topology};

use crate::error::ServerError;

/// One datagram of a feed.
#[derive(Clone, Copy, Debug)]
pub struct FeedDatagram<'a> {
    /// When it arrives, from the start of the feed. A time earlier than the previous one is
    /// taken as the previous one (engine time never goes back).
    pub offset: Duration,
    /// Its UDP source (the agent's address for simulated datagrams).
    pub source: SocketAddr,
    /// The sFlow datagram.
    pub payload: &'a [u8],
}

/// A source of datagrams ingested in-process, in time order.
pub trait DatagramFeed: Send {
    /// The next datagram, or `None` when the feed has ended.
    fn next_datagram(&mut self) -> Option<FeedDatagram<'_>>;
}

/// Opens a feed when the server starts.
pub type OpenFeed = dyn Fn() -> Box<dyn DatagramFeed> + Send + Sync;

/// An in-process input for [`crate::ServerConfig::feed`], with what to install in the engine
/// before its first datagram (as if PUT through the REST API).
#[derive(Clone)]
pub struct InternalFeed {
    /// Names the feed in logs ("simulator: leaf-spine").
    pub name: String,
    /// Creates the datagram source.
    pub open: Arc<OpenFeed>,
    /// Installed as `/topology/json`.
    pub topology: Option<Topology>,
    /// Installed as `/flow/{name}/json`.
    pub flows: Vec<(String, FlowDefinition)>,
    /// Installed as `/threshold/{name}/json`.
    pub thresholds: Vec<(String, Threshold)>,
}

impl fmt::Debug for InternalFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InternalFeed")
            .field("name", &self.name)
            .field("topology", &self.topology.is_some())
            .field(
                "flows",
                &self.flows.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "thresholds",
                &self.thresholds.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl InternalFeed {
    /// Installs the topology, flows and thresholds.
    pub(crate) fn install(&self, engine: &mut Engine, now: Millis) -> Result<(), ServerError> {
        let failed = |what: String| {
            move |source| ServerError::FeedSetup {
                feed: self.name.clone(),
                what,
                source: Box::new(source),
            }
        };
        if let Some(topology) = &self.topology {
            engine
                .set_topology(now, topology.clone())
                .map_err(failed("the topology".into()))?;
        }
        for (name, definition) in &self.flows {
            engine
                .set_object::<rtflow_engine::Flows>(now, name, definition.clone())
                .map_err(failed(format!("flow {name}")))?;
        }
        for (name, threshold) in &self.thresholds {
            engine
                .set_object::<rtflow_engine::Thresholds>(now, name, threshold.clone())
                .map_err(failed(format!("threshold {name}")))?;
        }
        Ok(())
    }
}
