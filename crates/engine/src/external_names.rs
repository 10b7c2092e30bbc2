//! Names learned outside sFlow: SNMP's sysName and ifName for agents whose counter samples carry none
//! (sFlow-RT's `snmp.ifname=yes`). They become the `host_name` and `ifname` metrics the agent would have sent,
//! so `/metric`, `/dump`, Prometheus labels, topology and the UI show them. What an agent sends itself wins:
//! a name is only written where no fresh value is there, or where the fresh value is the one written here.
//! Written names age out like counter metrics unless written again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::counters::MetricEntry;
use crate::engine::Engine;
use crate::metrics::MetricValue;
use crate::sample::{DataSource, Millis};

/// What was written where, to tell it from what the agent sent.
#[derive(Debug, Default)]
pub(crate) struct ExternalNames {
    written: HashMap<(IpAddr, DataSource, &'static str), Arc<str>>,
}

impl Engine {
    /// Each agent with the ifIndexes of its interface data sources (what to ask SNMP about).
    pub fn interface_sources(&self) -> Vec<(IpAddr, Vec<u32>)> {
        self.agents
            .read()
            .iter()
            .map(|(ip, agent)| {
                let mut indexes: Vec<u32> = agent
                    .sources
                    .keys()
                    .filter(|ds| ds.is_interface())
                    .map(|ds| ds.index)
                    .collect();
                indexes.sort_unstable();
                (*ip, indexes)
            })
            .collect()
    }

    /// Sets `host_name` (on the agent's first data source) and the `ifname` of its interface data sources
    /// from names learned outside sFlow, where the agent did not send them itself; returns how many were
    /// written. Data sources are not created: names label what the agent's samples already showed.
    pub fn set_external_names(
        &mut self,
        now: Millis,
        agent: IpAddr,
        host_name: Option<&str>,
        interfaces: &[(u32, &str)],
    ) -> usize {
        let cutoff = now.saturating_sub(self.config.metric_timeout_ms);
        let Some(state) = self.agents.get_mut(&agent) else {
            return 0;
        };
        let written = &mut self.external_names.written;
        written.retain(|(ip, ds, _), _| *ip != agent || state.sources.contains_key(ds));
        let mut count = 0;
        if let Some(host) = host_name.filter(|h| !h.is_empty()) {
            // The agent names itself on some data source already: leave it.
            let named_elsewhere = state.sources.iter().any(|(ds, source)| {
                let ours = written.get(&(agent, *ds, "host_name"));
                fresh_other(source.counters.metrics.get("host_name"), ours, cutoff)
            });
            let first = state.sources.keys().min().copied();
            if let (false, Some(ds)) = (named_elsewhere, first)
                && let Some(source) = state.sources.get_mut(&ds)
            {
                count += usize::from(write(
                    written,
                    &mut source.counters.metrics,
                    (agent, ds, "host_name"),
                    host,
                    now,
                ));
            }
        }
        for &(index, name) in interfaces {
            let ds = DataSource::interface(index);
            let Some(source) = state.sources.get_mut(&ds) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let key = (agent, ds, "ifname");
            if fresh_other(
                source.counters.metrics.get("ifname"),
                written.get(&key),
                cutoff,
            ) {
                written.remove(&key);
                continue;
            }
            count += usize::from(write(written, &mut source.counters.metrics, key, name, now));
        }
        count
    }
}

/// A fresh value that is not the one written here (the agent's own).
fn fresh_other(entry: Option<&MetricEntry>, ours: Option<&Arc<str>>, cutoff: Millis) -> bool {
    entry.is_some_and(|m| {
        m.updated >= cutoff
            && match &m.value {
                MetricValue::Text(text) => ours != Some(text),
                MetricValue::Number(_) => true,
            }
    })
}

fn write(
    written: &mut HashMap<(IpAddr, DataSource, &'static str), Arc<str>>,
    metrics: &mut foldhash::HashMap<&'static str, MetricEntry>,
    key: (IpAddr, DataSource, &'static str),
    value: &str,
    now: Millis,
) -> bool {
    let value: Arc<str> = match written.get(&key) {
        Some(previous) if **previous == *value => previous.clone(),
        _ => Arc::from(value),
    };
    metrics.insert(
        key.2,
        MetricEntry {
            value: MetricValue::Text(value.clone()),
            updated: now,
        },
    );
    written.insert(key, value);
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine_tests::{T0, agent, dgram, flow_sample};
    use crate::{
        AgentSelector, CounterSample, CounterValue, DataSource, Engine, MetricSelection,
        MetricValue, QueryFilter,
    };

    fn names(engine: &Engine, now: u64) -> Vec<(String, String, String)> {
        let selection = MetricSelection::Names(vec!["host_name".into(), "ifname".into()]);
        let mut out: Vec<(String, String, String)> = engine
            .dump(
                now,
                &AgentSelector::All,
                &selection,
                &QueryFilter::default(),
            )
            .into_iter()
            .filter_map(|m| match m.metric_value {
                Some(MetricValue::Text(t)) => Some((m.data_source, m.metric_name, t.to_string())),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    fn engine_with_flows_on(indexes: &[u32]) -> Engine {
        let mut engine = Engine::default();
        let info = dgram(agent(1), 1, 1_000);
        engine.begin_datagram(T0, &info);
        for (n, index) in indexes.iter().enumerate() {
            engine.ingest_flow_sample(
                T0,
                &info,
                &flow_sample(*index, n as u32 + 1, 100, 1, 2, 1000),
            );
        }
        engine
    }

    #[test]
    fn snmp_names_label_interfaces_that_have_none() {
        let mut engine = engine_with_flows_on(&[3, 4]);
        assert_eq!(engine.interface_sources(), vec![(agent(1), vec![3, 4])]);
        let written = engine.set_external_names(
            T0,
            agent(1),
            Some("edge1"),
            &[(3, "xe-0/0/3"), (9, "absent")],
        );
        assert_eq!(
            written, 2,
            "host_name and ifname of 3; ifIndex 9 has no data source"
        );
        assert_eq!(
            names(&engine, T0),
            vec![
                ("3".into(), "host_name".into(), "edge1".into()),
                ("3".into(), "ifname".into(), "xe-0/0/3".into()),
            ]
        );
        // A renamed interface is renamed again.
        engine.set_external_names(T0 + 1, agent(1), Some("edge1"), &[(3, "et-0/0/3")]);
        assert!(names(&engine, T0 + 1).contains(&("3".into(), "ifname".into(), "et-0/0/3".into())));
        // Unknown agents are ignored.
        assert_eq!(
            engine.set_external_names(T0, agent(9), Some("x"), &[(1, "y")]),
            0
        );
    }

    #[test]
    fn what_the_agent_sends_itself_wins() {
        let mut engine = engine_with_flows_on(&[3]);
        let info = dgram(agent(1), 2, 2_000);
        engine.begin_datagram(T0, &info);
        engine.ingest_counter_sample(
            T0,
            &info,
            &CounterSample {
                source: DataSource::interface(3),
                sequence: 1,
                values: vec![("ifname", CounterValue::Text(Arc::from("swp3")))],
                adapter_macs: Vec::new(),
            },
        );
        assert_eq!(
            engine.set_external_names(T0 + 10, agent(1), None, &[(3, "Ethernet3")]),
            0
        );
        assert_eq!(
            names(&engine, T0 + 10),
            vec![("3".into(), "ifname".into(), "swp3".into())]
        );
    }
}
