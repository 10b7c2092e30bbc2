//! rtflow-history: flow history in ClickHouse.
//!
//! * `row`: one [`FlowRow`] per sFlow flow or discard sample, decoded from the datagram bytes;
//! * [`schema`]: the `flows` table, the `flows_1m` / `flows_5m` / `flows_1h` rollups kept by materialized views,
//!   versioned migrations, and the cluster layout (local tables + `Distributed` tables);
//! * `spool`: the bounded on-disk [`Spool`] between the batcher and ClickHouse;
//! * `exporter`: the sink ([`Exporter`]): bounded hand-off from ingest (back-pressure), batcher, spool, sender with retries;
//! * `client`: ClickHouse's HTTP interface ([`Client`], [`AsyncClient`]) (RowBinary inserts, JSONCompact answers).
//!
//! Everything runs against Debian's ClickHouse 18.16 as well as current servers.

mod client;
mod encode;
mod exporter;
pub mod query;
mod row;
mod rowbinary;
pub mod schema;
mod setup;
mod spool;
pub mod synth;

pub use client::{AsyncClient, ClickHouseError, Client, Endpoint, EndpointError};
pub use encode::{InterfaceNames, RowNames, encode_row};
pub use exporter::{Enricher, ExportConfig, ExportError, ExportStats, Exporter, NoEnrichment};
pub use row::{DecodeSummary, FlowRow, RowDecodeError, RowDecoder};
pub use schema::Layout;
pub use setup::{Retention, SchemaReport, drop_expired_partitions, ensure_schema};
pub use spool::{Spool, SpoolError};
