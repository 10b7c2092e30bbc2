//! Flow records of definitions with `log:true` (`/flows/json`).

use std::net::IpAddr;

use serde::Serialize;

use crate::ring::HasId;
use crate::sample::Millis;

/// One logged flow, with sFlow-RT's field names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRecord {
    /// `flowID`: increasing, so clients ask for the records after the last one they saw.
    #[serde(rename = "flowID")]
    pub flow_id: u64,
    /// Flow definition name.
    pub name: String,
    /// The flow's keys joined with the definition's `fs` separator.
    #[serde(rename = "flowKeys")]
    pub flow_keys: String,
    /// Total of the definition's value over [start, end], scaled by the sampling rate (e.g. bytes). For a
    /// `flowStart` record: the first sample's scaled value.
    pub value: f64,
    /// ms epoch.
    pub start: Millis,
    /// ms epoch.
    pub end: Millis,
    /// The agent that saw the flow.
    pub agent: IpAddr,
    /// `dataSource`: the data source that saw it.
    #[serde(rename = "dataSource")]
    pub data_source: String,
}

impl HasId for FlowRecord {
    fn id(&self) -> u64 {
        self.flow_id
    }
    fn topic(&self) -> &str {
        &self.name
    }
}
