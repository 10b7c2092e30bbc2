//! rtflow-snmp: names for sFlow agents that send none (hsflowd and pmacct send no interface names), polled over
//! SNMP v2c or v3 (authentication and privacy), IPv4 or IPv6, with credentials chosen per agent address range.
//!
//! * [`poll_agent`]: one blocking poll of `sysName.0` and the ifName/ifDescr/ifAlias/ifHighSpeed/ifSpeed columns.
//! * [`SnmpPoller`]: a cache with background workers; lookups never block and queue a poll for what is not
//!   known yet or due for a refresh, so ingest never waits for SNMP.
//!
//! Built on the `snmp2` crate. Its sessions use connected UDP sockets: an agent that answers from another
//! address than the one polled (some routers answer from a loopback) is not heard.

mod config;
mod poll;
mod poller;

pub use config::{AuthProtocol, Credentials, PrivProtocol, RangeCredentials, SnmpConfig};
pub use poll::{AgentNames, Interface, PollError, poll_agent};
pub use poller::{SnmpPoller, SnmpStats};
