//! Metric output types (spec §1.2): the JSON shapes of `/dump`, `/table`, `/metric`.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A metric value as exposed: a number (rates per second, gauges) or a string.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// A number.
    Number(f64),
    /// Text (`host_name`, `os_name`, `ifname`…).
    Text(Arc<str>),
}

impl MetricValue {
    /// The value as a number; `None` for text.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MetricValue::Number(n) => Some(*n),
            MetricValue::Text(_) => None,
        }
    }

    /// The value as sFlow-RT filter queries compare it: integral numbers without a fraction (`10000000000`).
    pub fn to_filter_string(&self) -> String {
        match self {
            MetricValue::Number(n) => format_number(*n),
            MetricValue::Text(t) => t.to_string(),
        }
    }
}

impl From<f64> for MetricValue {
    fn from(n: f64) -> Self {
        MetricValue::Number(n)
    }
}

impl From<&str> for MetricValue {
    fn from(s: &str) -> Self {
        MetricValue::Text(Arc::from(s))
    }
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // JSON has no NaN/inf; serde_json writes them as null, we prefer 0 to keep clients' arithmetic sane.
            MetricValue::Number(n) if !n.is_finite() => serializer.serialize_i64(0),
            // Integral values as JSON integers (`2`, `10000000000`), as sFlow-RT writes them.
            MetricValue::Number(n) if n.fract() == 0.0 && n.abs() < MAX_EXACT_INTEGER => {
                serializer.serialize_i64(*n as i64)
            }
            MetricValue::Number(n) => serializer.serialize_f64(*n),
            MetricValue::Text(t) => serializer.serialize_str(t),
        }
    }
}

/// Integers up to 2^53 are exact in an f64.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Formats a number the way a metric value reads in a filter or key: integers without `.0`.
pub(crate) fn format_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < MAX_EXACT_INTEGER {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One flow of a flow-derived metric, largest first (`topKeys`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopKey {
    /// The flow key.
    pub key: String,
    /// Its value.
    pub value: f64,
    /// The definition's further `values`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// ms since this flow was last updated.
    #[serde(rename = "lastUpdate")]
    pub last_update: u64,
}

/// One metric of one data source (`/dump`, `/table` cells).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metric {
    /// `agent`.
    pub agent: IpAddr,
    /// `dataSource`.
    #[serde(rename = "dataSource")]
    pub data_source: String,
    /// `metricName`.
    #[serde(rename = "metricName")]
    pub metric_name: String,
    /// `metricValue`; none when the data source has no current value.
    #[serde(rename = "metricValue", skip_serializing_if = "Option::is_none")]
    pub metric_value: Option<MetricValue>,
    /// ms since the value was updated.
    #[serde(rename = "lastUpdate")]
    pub last_update: u64,
    /// `topKeys`: for a flow metric, the largest flows behind the value.
    #[serde(rename = "topKeys", skip_serializing_if = "Option::is_none")]
    pub top_keys: Option<Vec<TopKey>>,
}

/// Quartile summary attached to `med:`/`q1:`/`q2:`/`q3:`/`iqr:` statistics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quartiles {
    /// Smallest value.
    pub min: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub med: f64,
    /// Third quartile.
    pub q3: f64,
    /// Largest value.
    pub max: f64,
}

/// A metric summarized over the selected agents/data sources (`/metric/{agent}/{metric}/json`). When no data
/// exists the entry is still returned, without `metricValue` (clients index results positionally).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct Statistic {
    /// `agent`: where the selected value was observed (`max:`/`min:`), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<IpAddr>,
    /// `dataSource`: the data source of that value.
    #[serde(rename = "dataSource", skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// As requested, including the aggregation prefix (`med:ifinoctets`).
    #[serde(rename = "metricName")]
    pub metric_name: String,
    /// `metricValue`: the statistic; none when no data source has the metric.
    #[serde(rename = "metricValue", skip_serializing_if = "Option::is_none")]
    pub metric_value: Option<MetricValue>,
    /// `metricN`: how many data sources contributed.
    #[serde(rename = "metricN")]
    pub metric_n: usize,
    /// `lastUpdate`: ms since the selected value was updated.
    #[serde(rename = "lastUpdate", skip_serializing_if = "Option::is_none")]
    pub last_update: Option<u64>,
    /// `lastUpdateMin`: ms since the most recently updated contribution.
    #[serde(rename = "lastUpdateMin", skip_serializing_if = "Option::is_none")]
    pub last_update_min: Option<u64>,
    /// `lastUpdateMax`: ms since the least recently updated contribution.
    #[serde(rename = "lastUpdateMax", skip_serializing_if = "Option::is_none")]
    pub last_update_max: Option<u64>,
    /// Quartiles, for `med:`, `q1:`, `q2:`, `q3:` and `iqr:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quartiles: Option<Quartiles>,
    /// `topKeys`: for a flow metric, the largest flows behind the value.
    #[serde(rename = "topKeys", skip_serializing_if = "Option::is_none")]
    pub top_keys: Option<Vec<TopKey>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_as_plain_json() {
        assert_eq!(
            serde_json::to_string(&MetricValue::Number(1.5)).ok(),
            Some("1.5".into())
        );
        assert_eq!(
            serde_json::to_string(&MetricValue::from("up")).ok(),
            Some("\"up\"".into())
        );
        assert_eq!(MetricValue::Number(1e10).to_filter_string(), "10000000000");
        // Integral values are JSON integers, as sFlow-RT writes them.
        for (value, json) in [(2.0, "2"), (0.0, "0"), (1e10, "10000000000"), (-3.0, "-3")] {
            assert_eq!(
                serde_json::to_string(&MetricValue::Number(value)).ok(),
                Some(json.into())
            );
        }
        assert_eq!(
            serde_json::to_string(&MetricValue::Number(f64::NAN)).ok(),
            Some("0".into())
        );
        assert_eq!(MetricValue::Number(0.25).to_filter_string(), "0.25");
    }

    #[test]
    fn statistic_without_data_has_no_metric_value() {
        let s = Statistic {
            metric_name: "max:load_one".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert!(json.get("metricValue").is_none());
        assert_eq!(json["metricName"], "max:load_one");
        assert_eq!(json["metricN"], 0);
    }
}
