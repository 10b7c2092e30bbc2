//! Thresholds (`/threshold/{name}/json`): definitions and the trigger/re-arm state machine.
//!
//! A threshold fires once per (agent, data source) — or per flow key with `byFlow` — when the value exceeds it,
//! then stays triggered until the value has stayed at or below the threshold for `timeout` seconds.

use std::collections::BTreeMap;
use std::net::IpAddr;

use foldhash::HashMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::lenient::{bool_or_string, number_or_string};
use crate::sample::{DataSource, Millis};

/// Default hysteresis (seconds) when a threshold does not give `timeout`.
pub const DEFAULT_THRESHOLD_TIMEOUT_S: f64 = 60.0;

/// A threshold definition, exact sFlow-RT JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Counter metric or flow definition name.
    pub metric: String,
    /// Upper limit: an event fires when the metric exceeds it. A numeric string (`"100"`) is accepted, as
    /// sFlow-RT accepts it.
    #[serde(deserialize_with = "number_or_string")]
    pub value: f64,
    /// `byFlow`: one event per flow key crossing the threshold, not only per data source.
    #[serde(rename = "byFlow", default, deserialize_with = "bool_or_string")]
    pub by_flow: bool,
    /// Seconds the value must stay at or below `value` before the threshold re-arms.
    #[serde(default = "default_timeout", deserialize_with = "number_or_string")]
    pub timeout: f64,
    /// Data-source attribute filter, e.g. `{"ifspeed":["10000000000"]}`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_attribute_filter"
    )]
    pub filter: BTreeMap<String, Vec<String>>,
}

fn default_timeout() -> f64 {
    DEFAULT_THRESHOLD_TIMEOUT_S
}

/// Accepts `{attr: ["a","b"]}`, `{attr: "a"}` and numbers in place of strings.
pub(crate) fn deserialize_attribute_filter<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Text(String),
        Number(serde_json::Number),
        Bool(bool),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Items {
        One(Item),
        Many(Vec<Item>),
    }
    let text = |item: Item| match item {
        Item::Text(s) => s,
        Item::Number(n) => n.to_string(),
        Item::Bool(b) => b.to_string(),
    };
    let raw: Option<BTreeMap<String, Items>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                Items::One(item) => vec![text(item)],
                Items::Many(items) => items.into_iter().map(text).collect(),
            };
            (k, values)
        })
        .collect())
}

/// What a trigger is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TriggerKey {
    pub agent: IpAddr,
    pub source: DataSource,
    pub flow_key: Option<Box<str>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Trigger {
    pub fired_at: Millis,
    pub value: f64,
    /// When the value was first seen at or below the threshold since it last exceeded it.
    pub below_since: Option<Millis>,
    /// Evaluation round in which the value last exceeded the threshold.
    seen_round: u64,
}

/// One observed value above the threshold in this evaluation round.
#[derive(Clone, Debug)]
pub(crate) struct Exceeded {
    pub key: TriggerKey,
    pub value: f64,
    pub values: Vec<f64>,
    /// Flow reported in the event (the largest flow for thresholds on flow metrics without `byFlow`).
    pub flow_key: Option<String>,
}

/// Currently triggered (agent, data source[, flow]) of a threshold (`thresholdTriggered`-style state).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriggeredState {
    /// Where the threshold is crossed.
    pub agent: IpAddr,
    /// The data source where it is crossed.
    #[serde(rename = "dataSource")]
    pub data_source: String,
    /// The flow key, for a `byFlow` threshold.
    #[serde(rename = "flowKey", skip_serializing_if = "Option::is_none")]
    pub flow_key: Option<String>,
    /// ms epoch when the event fired.
    pub fired: Millis,
    /// The value that fired it.
    pub value: f64,
    /// Whether the value is currently back at or below the threshold (waiting out `timeout`).
    pub rearming: bool,
}

/// A threshold plus its trigger state.
#[derive(Debug)]
pub(crate) struct ThresholdState {
    pub definition: Threshold,
    /// When it was installed; values last updated before it are not evaluated.
    pub installed: Millis,
    triggers: HashMap<TriggerKey, Trigger>,
    round: u64,
}

impl ThresholdState {
    /// A threshold installed at `now`: only values updated from then on count (it fires on the next sample, not
    /// on values already there, as sFlow-RT does).
    pub(crate) fn new(definition: Threshold, now: Millis) -> Self {
        Self {
            installed: now,
            definition,
            triggers: HashMap::default(),
            round: 0,
        }
    }

    /// Applies one evaluation round; returns the observations that fire a new event.
    /// `max_triggers` bounds the state kept (byFlow thresholds under high key cardinality).
    pub(crate) fn evaluate(
        &mut self,
        now: Millis,
        exceeded: Vec<Exceeded>,
        max_triggers: usize,
    ) -> Vec<Exceeded> {
        self.round += 1;
        let round = self.round;
        let mut fire = Vec::new();
        for obs in exceeded {
            if let Some(trigger) = self.triggers.get_mut(&obs.key) {
                trigger.below_since = None;
                trigger.seen_round = round;
                continue;
            }
            if self.triggers.len() < max_triggers {
                self.triggers.insert(
                    obs.key.clone(),
                    Trigger {
                        fired_at: now,
                        value: obs.value,
                        below_since: None,
                        seen_round: round,
                    },
                );
                fire.push(obs);
            }
        }
        let timeout_ms = (self.definition.timeout.max(0.0) * 1000.0) as u64;
        self.triggers.retain(|_, t| {
            if t.seen_round == round {
                return true;
            }
            let since = *t.below_since.get_or_insert(now);
            now.saturating_sub(since) < timeout_ms
        });
        fire
    }

    pub(crate) fn triggered(&self) -> Vec<TriggeredState> {
        let mut out: Vec<TriggeredState> = self
            .triggers
            .iter()
            .map(|(k, t)| TriggeredState {
                agent: k.agent,
                data_source: k.source.to_string(),
                flow_key: k.flow_key.as_deref().map(str::to_string),
                fired: t.fired_at,
                value: t.value,
                rearming: t.below_since.is_some(),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.agent, &a.data_source, &a.flow_key).cmp(&(b.agent, &b.data_source, &b.flow_key))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(flow: Option<&str>) -> TriggerKey {
        TriggerKey {
            agent: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            source: DataSource::interface(1),
            flow_key: flow.map(Box::from),
        }
    }

    fn over(flow: Option<&str>, value: f64) -> Exceeded {
        Exceeded {
            key: key(flow),
            value,
            values: Vec::new(),
            flow_key: flow.map(str::to_string),
        }
    }

    #[test]
    fn fires_once_then_rearms_after_timeout_below() {
        let threshold: Threshold =
            serde_json::from_str(r#"{"metric":"ifinoctets","value":100,"timeout":5}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        let mut state = ThresholdState::new(threshold, 0);
        assert_eq!(state.evaluate(0, vec![over(None, 150.0)], 10).len(), 1);
        assert_eq!(state.evaluate(1_000, vec![over(None, 150.0)], 10).len(), 0);
        // Below for 3 s, then above again: still triggered, no event.
        assert_eq!(state.evaluate(2_000, vec![], 10).len(), 0);
        assert!(state.triggered().first().is_some_and(|t| t.rearming));
        assert_eq!(state.evaluate(5_000, vec![over(None, 150.0)], 10).len(), 0);
        // Below for 5 s: re-armed.
        assert_eq!(state.evaluate(6_000, vec![], 10).len(), 0);
        assert_eq!(state.evaluate(10_999, vec![], 10).len(), 0);
        assert_eq!(state.triggered().len(), 1);
        assert_eq!(state.evaluate(11_000, vec![], 10).len(), 0);
        assert!(state.triggered().is_empty());
        assert_eq!(state.evaluate(12_000, vec![over(None, 120.0)], 10).len(), 1);
    }

    #[test]
    fn by_flow_fires_per_key_and_is_bounded() {
        let mut state = ThresholdState::new(
            Threshold {
                metric: "tcp".into(),
                value: 1.0,
                by_flow: true,
                timeout: 60.0,
                filter: BTreeMap::new(),
            },
            0,
        );
        let fired = state.evaluate(0, vec![over(Some("a"), 2.0), over(Some("b"), 3.0)], 10);
        assert_eq!(fired.len(), 2);
        let fired = state.evaluate(1, vec![over(Some("a"), 2.0), over(Some("c"), 3.0)], 10);
        assert_eq!(
            fired
                .iter()
                .map(|e| e.key.flow_key.as_deref())
                .collect::<Vec<_>>(),
            vec![Some("c")]
        );
        let fired = state.evaluate(2, vec![over(Some("d"), 2.0)], 3);
        assert!(fired.is_empty(), "trigger state is bounded");
    }

    #[test]
    fn threshold_json_accepts_lenient_filters() {
        let t: Threshold = serde_json::from_str(
            r#"{"metric":"m","value":1,"filter":{"ifspeed":[10000000000],"os_name":"linux"}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.filter.get("ifspeed"),
            Some(&vec!["10000000000".to_string()])
        );
        assert_eq!(t.filter.get("os_name"), Some(&vec!["linux".to_string()]));
        assert_eq!(t.timeout, DEFAULT_THRESHOLD_TIMEOUT_S);
        assert!(!t.by_flow);
    }
}
