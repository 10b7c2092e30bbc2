//! rtflow-sim: a deterministic network simulator that exports standard sFlow v5.
//!
//! A [`Scenario`] (TOML or YAML, see `scenarios/README.md`) describes a leaf-and-spine fabric — switches
//! with named ports, ifIndexes and speeds, links between them, Linux hosts behind the leaf ports
//! (exporting host sFlow as hsflowd does), the Internet behind a border leaf — the background
//! traffic (mice and steady flows, TCP and UDP with realistic sizes and ports, spread over the
//! spines by ECMP) and scheduled events: elephants, DNS amplification attacks, link failures.
//!
//! Each switch samples the packets arriving on each port 1-in-N with a random skip, keeps
//! sample_pool, sequence numbers and drops consistent, reads its interface counters every polling
//! interval, and packs samples into datagrams with the project's own encoder (`rtflow-sflow`).
//! The same seed gives the same datagrams, byte for byte. Nothing here does I/O or reads a clock:
//! datagrams carry their simulated time, and callers pace and send them.
//!
//! ```
//! use rtflow_sim::{Scenario, Simulator};
//!
//! let scenario = Scenario::default_scenario()?;
//! let mut sim = Simulator::new(&scenario, Some(7), Some(2.0))?;
//! let mut datagrams = 0;
//! while let Some(datagram) = sim.next_datagram() {
//!     assert!(datagram.time.as_secs_f64() <= 2.0);
//!     datagrams += 1;
//! }
//! assert_eq!(datagrams, sim.stats().datagrams);
//! # Ok::<(), rtflow_sim::ScenarioError>(())
//! ```

mod agent;
mod error;
mod fabric;
mod machine;
mod packet;
mod rng;
mod scenario;
mod simulator;
mod traffic;
mod units;

pub use error::ScenarioError;
pub use fabric::HostInfo;
pub use rng::Rng;
pub use scenario::{
    DEFAULT_SCENARIO, Event, FabricConfig, HostsConfig, Protocol, SamplingConfig, Scenario,
    ScenarioFormat, TrafficConfig,
};
pub use simulator::{STEP_US, SimDatagram, SimStats, Simulator};
pub use units::Quantity;
