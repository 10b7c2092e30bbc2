//! Threshold events (`/events/json`).

use std::net::IpAddr;

use serde::Serialize;

use crate::ring::HasId;
use crate::sample::Millis;

/// One threshold crossing, with sFlow-RT's field names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// `eventID`: increasing, so clients ask for the events after the last one they saw.
    #[serde(rename = "eventID")]
    pub event_id: u64,
    /// ms epoch.
    pub timestamp: Millis,
    /// `thresholdID`: the threshold that fired.
    #[serde(rename = "thresholdID")]
    pub threshold_id: String,
    /// `metric`: the threshold's metric.
    pub metric: String,
    /// `threshold`: the threshold's value.
    pub threshold: f64,
    /// `value`: the value that crossed it.
    pub value: f64,
    /// `agent`: where it crossed.
    pub agent: IpAddr,
    /// `dataSource`: the data source where it crossed.
    #[serde(rename = "dataSource")]
    pub data_source: String,
    /// The flow that crossed the threshold (thresholds on flow metrics).
    #[serde(rename = "flowKey", skip_serializing_if = "Option::is_none")]
    pub flow_key: Option<String>,
    /// The flow's additional values when its definition has `values`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
}

impl HasId for Event {
    fn id(&self) -> u64 {
        self.event_id
    }
    fn topic(&self) -> &str {
        &self.threshold_id
    }
}
