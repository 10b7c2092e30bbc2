//! Read-side queries of [`Engine`]: metrics (`/metric`, `/dump`, `/table`, `/metrics`), active flows, and
//! the observations thresholds are evaluated against.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::activeflows::{FlowSnapshot, FlowTable, TableParams};
use crate::agents::{AgentState, SourceState};
use crate::counters::MetricEntry;
use crate::engine::{Engine, InstalledFlow, not_found};
use crate::error::{EngineError, ObjectKind};
use crate::flow_merge::FlowMerge;
use crate::metrics::{Metric, MetricValue, Statistic, TopKey};
use crate::query::{
    AgentSelector, AgentToken, MetricSpec, QueryFilter, SortSpec, key_filter_match, summarize,
    summarize_text,
};
use crate::sample::{DataSource, Millis};
use crate::shards::{AgentsRead, Shard};
use crate::thresholds::{Exceeded, Threshold, TriggerKey};
use rtflow_flowlang::AggMode;

/// One active flow (`/activeflows/{agent}/{name}/json`), merged across data sources per `aggMode`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveFlow {
    /// The flow key (the definition's key values joined with its `fs`).
    pub key: String,
    /// The flow's value (the definition's `value`, a rate when it is one), merged per `aggMode`.
    pub value: f64,
    /// The definition's further `values`, merged alike.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// Where the (largest) observation was made; none for `aggMode` `edge`/`core` (as sFlow-RT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<IpAddr>,
    /// Where the (largest) observation was made; none for `aggMode` `edge`/`core`.
    #[serde(rename = "dataSource", skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// How many data sources saw the flow (sFlow-RT's `flowN`).
    #[serde(rename = "flowN")]
    pub flow_n: usize,
}

/// One place a flow is seen (`/flowlocations/{agent}/{name}/json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowLocation {
    /// The flow key.
    pub key: String,
    /// Its value at this data source.
    pub value: f64,
    /// The definition's further `values` there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The agent that saw it.
    pub agent: IpAddr,
    /// The data source that saw it.
    #[serde(rename = "dataSource")]
    pub data_source: String,
    /// The topology link of the data source's port, when it is on one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkEnd>,
}

/// A topology link seen from one of its ports (sFlow-RT's `/flowlocations` link fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkEnd {
    /// `linkname`: the topology link's name.
    #[serde(rename = "linkname")]
    pub link_name: String,
    /// `localnode`: the node at this end.
    #[serde(rename = "localnode")]
    pub local_node: String,
    /// `localport`: the port at this end.
    #[serde(rename = "localport")]
    pub local_port: String,
    /// `remotenode`: the node at the other end.
    #[serde(rename = "remotenode")]
    pub remote_node: String,
    /// `remoteport`: the port at the other end.
    #[serde(rename = "remoteport")]
    pub remote_port: String,
}

/// Parameters of an `/activeflows` query.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFlowQuery {
    /// `maxFlows`: at most this many flows (default 100).
    pub max_flows: usize,
    /// `minValue`: flows below this value are left out.
    pub min_value: f64,
    /// `None` = the definition's `aggMode`, else `max`.
    pub agg_mode: Option<AggMode>,
    /// Glob (`*`, `?`) the flow key must match, or per-field globs (see [`key_filter_match`]).
    pub key_filter: Option<String>,
}

impl Default for ActiveFlowQuery {
    fn default() -> Self {
        Self {
            max_flows: 100,
            min_value: 0.0,
            agg_mode: None,
            key_filter: None,
        }
    }
}

/// `ALL` or a list of metric names (`/dump`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSelection {
    /// Every counter metric and every flow definition (with its top keys).
    All,
    /// Every counter metric, no flow definitions: what a Prometheus `ALL` scrape exports. Much cheaper than
    /// [`MetricSelection::All`] on many data sources (no flow table is visited).
    AllCounters,
    /// These metrics by name (counter metrics or flow definitions).
    Names(Vec<String>),
}

impl MetricSelection {
    /// `ALL`, or names separated by `,` (or 2.x `;`).
    pub fn parse(text: &str) -> Self {
        if text == "ALL" {
            return Self::All;
        }
        Self::Names(
            text.split([',', ';'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }
}

/// A metric value observed at one agent/data source.
struct Observation<'a> {
    agent: IpAddr,
    source: DataSource,
    value: MetricValue,
    updated: Millis,
    flow: Option<(&'a InstalledFlow, &'a FlowTable)>,
}

/// A selected data source.
type Selected<'a> = (IpAddr, &'a AgentState, DataSource, &'a SourceState);

/// One data source's fresh counter metrics ([`Engine::visit_counters`]).
#[derive(Debug)]
pub struct CounterView<'a> {
    /// The agent.
    pub agent: IpAddr,
    /// The agent's `host_name`: that of its first data source (in data-source order) reporting one.
    pub host: Option<&'a str>,
    /// The data source.
    pub data_source: DataSource,
    /// Its metrics, sorted by name.
    pub metrics: &'a [(&'a str, &'a MetricValue)],
}

/// A data source's counter metrics updated since `cutoff`, sorted by name, into `out` (emptied first, so that
/// one buffer serves many data sources).
fn fresh_counters<'s>(
    source: &'s SourceState,
    cutoff: Millis,
    out: &mut Vec<(&'static str, &'s MetricEntry)>,
) {
    out.clear();
    out.extend(
        source
            .counters
            .metrics
            .iter()
            .filter(|(_, m)| m.updated >= cutoff)
            .map(|(name, m)| (*name, m)),
    );
    out.sort_unstable_by_key(|(name, _)| *name);
}

/// `host_name` of `agent`'s first data source (in data-source order) with a fresh one.
fn agent_host_name(agent: &AgentState, cutoff: Millis) -> Option<&str> {
    agent
        .sources
        .iter()
        .filter_map(|(ds, source)| {
            let entry = source.counters.metrics.get("host_name")?;
            match &entry.value {
                MetricValue::Text(text) if entry.updated >= cutoff => Some((*ds, &**text)),
                _ => None,
            }
        })
        .min_by_key(|(ds, _)| *ds)
        .map(|(_, name)| name)
}

impl Engine {
    fn metric_cutoff(&self, now: Millis) -> Millis {
        now.saturating_sub(self.config.metric_timeout_ms)
    }

    fn agent_matches_name(
        &self,
        ip: IpAddr,
        agent: &AgentState,
        name: &str,
        cutoff: Millis,
    ) -> bool {
        let host = agent.sources.values().any(|s| {
            s.counters.metrics.get("host_name").is_some_and(|m| {
                m.updated >= cutoff && matches!(&m.value, MetricValue::Text(t) if &**t == name)
            })
        });
        host || self
            .topology
            .nodes
            .get(name)
            .and_then(|n| n.agent.as_deref())
            .is_some_and(|a| a.parse::<IpAddr>().ok() == Some(ip))
    }

    /// Data sources picked by an agent selector, ordered by agent then data source.
    fn select<'a>(
        &self,
        agents: &'a AgentsRead<'_>,
        now: Millis,
        selector: &AgentSelector,
    ) -> Vec<Selected<'a>> {
        let mut out = self.select_in(agents.shards(), now, selector);
        out.sort_by_key(|s| (s.0, s.2));
        out
    }

    /// Data sources of `shards` picked by an agent selector, unordered.
    fn select_in<'a>(
        &self,
        shards: impl Iterator<Item = &'a Shard>,
        now: Millis,
        selector: &AgentSelector,
    ) -> Vec<Selected<'a>> {
        let cutoff = self.metric_cutoff(now);
        let view = &self.topology_view;
        let mut out: Vec<Selected<'a>> = Vec::new();
        for (ip, agent) in shards.flat_map(|shard| &shard.agents) {
            let agent_selected = match selector {
                AgentSelector::All => true,
                AgentSelector::Topology | AgentSelector::Edge | AgentSelector::Core => {
                    view.agents.contains(ip)
                }
                AgentSelector::List(tokens) => tokens.iter().any(|t| match t {
                    AgentToken::Ip(a) => a == ip,
                    AgentToken::Name(n) => self.agent_matches_name(*ip, agent, n, cutoff),
                }),
            };
            if !agent_selected {
                continue;
            }
            for (ds, source) in &agent.sources {
                let keep = match selector {
                    AgentSelector::Edge => ds.is_interface() && view.is_edge(*ip, ds.index),
                    AgentSelector::Core => ds.is_interface() && view.is_core(*ip, ds.index),
                    _ => true,
                };
                if keep {
                    out.push((*ip, agent, *ds, source));
                }
            }
        }
        out
    }

    /// A data source's attribute for filters: its own metric, else an agent-level one (host_name, os_name…).
    fn attribute(&self, cutoff: Millis, selected: &Selected<'_>, name: &str) -> Option<String> {
        let (ip, agent, ds, source) = selected;
        match name {
            "agent" => return Some(ip.to_string()),
            "dataSource" | "datasource" => return Some(ds.to_string()),
            _ => {}
        }
        let fresh = |s: &SourceState| {
            s.counters
                .metrics
                .get(name)
                .filter(|m| m.updated >= cutoff)
                .map(|m| m.value.to_filter_string())
        };
        fresh(source).or_else(|| {
            let mut others: Vec<(&DataSource, &SourceState)> = agent.sources.iter().collect();
            others.sort_by_key(|(d, _)| (d.is_interface(), **d));
            others.into_iter().find_map(|(_, s)| fresh(s))
        })
    }

    fn passes(&self, cutoff: Millis, selected: &Selected<'_>, filter: &QueryFilter) -> bool {
        filter.is_empty() || filter.matches(|attr| self.attribute(cutoff, selected, attr))
    }

    /// The value of `name` at one data source: a counter metric, else a flow metric (total rate of the
    /// definition there).
    fn observe<'a>(
        &'a self,
        now: Millis,
        selected: &Selected<'a>,
        name: &str,
    ) -> Option<Observation<'a>> {
        let (ip, _, ds, source) = *selected;
        if let Some(entry) = source.counters.metrics.get(name)
            && entry.updated >= self.metric_cutoff(now)
        {
            return Some(Observation {
                agent: ip,
                source: ds,
                value: entry.value.clone(),
                updated: entry.updated,
                flow: None,
            });
        }
        let (slot, installed) = self.flows.get(name)?;
        let table = source
            .flows
            .get(slot)
            .filter(|t| t.generation == installed.generation && t.len() > 0)?;
        Some(Observation {
            agent: ip,
            source: ds,
            value: MetricValue::Number(table.total_rate(installed.clock.rate_factor(now))),
            updated: table.last_update,
            flow: Some((installed, table)),
        })
    }

    fn top_keys(now: Millis, installed: &InstalledFlow, table: &FlowTable) -> Vec<TopKey> {
        table
            .top(
                &installed.params,
                installed.clock.rate_factor(now),
                installed.params.n,
            )
            .into_iter()
            .map(|f| TopKey {
                key: f.key,
                value: f.value,
                values: f.values,
                last_update: now.saturating_sub(f.last_seen),
            })
            .collect()
    }

    fn to_metric(now: Millis, name: &str, obs: Observation<'_>) -> Metric {
        Metric {
            agent: obs.agent,
            data_source: obs.source.to_string(),
            metric_name: name.to_string(),
            metric_value: Some(obs.value),
            last_update: now.saturating_sub(obs.updated),
            top_keys: obs
                .flow
                .map(|(installed, table)| Self::top_keys(now, installed, table)),
        }
    }

    /// `/metric/{agent}/{metric}/json`: one [`Statistic`] per requested metric, in request order; entries without
    /// data have no `metricValue`.
    pub fn metric(
        &self,
        now: Millis,
        agents: &AgentSelector,
        metrics: &[MetricSpec],
        filter: &QueryFilter,
    ) -> Vec<Statistic> {
        let cutoff = self.metric_cutoff(now);
        let shards = self.agents.read();
        let selected: Vec<Selected<'_>> = self
            .select(&shards, now, agents)
            .into_iter()
            .filter(|s| self.passes(cutoff, s, filter))
            .collect();
        metrics
            .iter()
            .map(|spec| {
                let observations: Vec<Observation<'_>> = selected
                    .iter()
                    .filter(|s| spec.source.is_none_or(|ds| ds == s.2))
                    .filter_map(|s| self.observe(now, s, &spec.name))
                    .collect();
                self.statistic(now, spec, observations)
            })
            .collect()
    }

    fn statistic(
        &self,
        now: Millis,
        spec: &MetricSpec,
        observations: Vec<Observation<'_>>,
    ) -> Statistic {
        let mut stat = Statistic {
            metric_name: spec.requested.clone(),
            ..Statistic::default()
        };
        let numeric: Vec<&Observation<'_>> = observations
            .iter()
            .filter(|o| o.value.as_f64().is_some())
            .collect();
        let ages = |obs: &[&Observation<'_>]| {
            let ages = obs.iter().map(|o| now.saturating_sub(o.updated));
            (ages.clone().min(), ages.max())
        };
        let selected: Option<&Observation<'_>>;
        if !numeric.is_empty() {
            let values: Vec<f64> = numeric.iter().filter_map(|o| o.value.as_f64()).collect();
            let Some(summary) = summarize(spec.aggregation, &values) else {
                return stat;
            };
            stat.metric_value = Some(MetricValue::Number(summary.value));
            stat.quartiles = summary.quartiles;
            stat.metric_n = numeric.len();
            (stat.last_update_min, stat.last_update_max) = ages(&numeric);
            selected = summary.selected.and_then(|i| numeric.get(i).copied());
            if selected.is_none() {
                stat.last_update = stat.last_update_min;
                stat.top_keys = merged_top_keys(now, &numeric);
            }
        } else {
            let texts: Vec<&Observation<'_>> = observations.iter().collect();
            let strings: Vec<&str> = texts
                .iter()
                .filter_map(|o| match &o.value {
                    MetricValue::Text(t) => Some(&**t),
                    MetricValue::Number(_) => None,
                })
                .collect();
            let Some(index) = summarize_text(spec.aggregation, &strings) else {
                return stat;
            };
            selected = texts.get(index).copied();
            stat.metric_n = texts.len();
            (stat.last_update_min, stat.last_update_max) = ages(&texts);
            stat.metric_value = selected.map(|o| o.value.clone());
        }
        if let Some(obs) = selected {
            stat.agent = Some(obs.agent);
            stat.data_source = Some(obs.source.to_string());
            stat.last_update = Some(now.saturating_sub(obs.updated));
            stat.top_keys = obs
                .flow
                .map(|(installed, table)| Self::top_keys(now, installed, table));
        }
        stat
    }

    /// `/dump/{agent}/{metric}/json`: every metric present per agent × data source.
    pub fn dump(
        &self,
        now: Millis,
        agents: &AgentSelector,
        metrics: &MetricSelection,
        filter: &QueryFilter,
    ) -> Vec<Metric> {
        let cutoff = self.metric_cutoff(now);
        // One shard locked at a time (ingest waits only for the shard being read), each data source's metrics
        // kept together, then the data sources put in (agent, data source) order.
        let mut per_source: Vec<((IpAddr, DataSource), Vec<Metric>)> = Vec::new();
        for index in 0..self.agents.count() {
            let shard = self.agents.lock_index(index);
            for selected in self.select_in(std::iter::once(&*shard), now, agents) {
                if !self.passes(cutoff, &selected, filter) {
                    continue;
                }
                let found: Vec<Metric> = match metrics {
                    MetricSelection::Names(names) => names
                        .iter()
                        .filter_map(|name| {
                            self.observe(now, &selected, name)
                                .map(|obs| Self::to_metric(now, name, obs))
                        })
                        .collect(),
                    MetricSelection::All | MetricSelection::AllCounters => {
                        let (ip, _, ds, source) = selected;
                        let mut counters = Vec::new();
                        fresh_counters(source, cutoff, &mut counters);
                        if counters.is_empty() && *metrics == MetricSelection::AllCounters {
                            // Most data sources of a flood of spoofed agents carry flows only.
                            continue;
                        }
                        let data_source = ds.to_string();
                        let mut found: Vec<Metric> = counters
                            .into_iter()
                            .map(|(name, m)| Metric {
                                agent: ip,
                                data_source: data_source.clone(),
                                metric_name: name.to_string(),
                                metric_value: Some(m.value.clone()),
                                last_update: now.saturating_sub(m.updated),
                                top_keys: None,
                            })
                            .collect();
                        if *metrics == MetricSelection::All {
                            found.extend(self.flows.by_name.keys().filter_map(|name| {
                                self.observe(now, &selected, name)
                                    .filter(|obs| obs.flow.is_some())
                                    .map(|obs| Self::to_metric(now, name, obs))
                            }));
                        }
                        found
                    }
                };
                if !found.is_empty() {
                    per_source.push(((selected.0, selected.2), found));
                }
            }
        }
        per_source.sort_by_key(|(source, _)| *source);
        per_source
            .into_iter()
            .flat_map(|(_, metrics)| metrics)
            .collect()
    }

    /// Every fresh counter metric of the data sources `agents` selects and `filter` passes, one data source
    /// at a time, each shard locked while its data sources are visited: what a Prometheus `ALL` scrape
    /// exports, without building a [`Metric`] per value. Data sources without counters are skipped.
    pub fn visit_counters(
        &self,
        now: Millis,
        agents: &AgentSelector,
        filter: &QueryFilter,
        mut visit: impl FnMut(&CounterView<'_>),
    ) {
        let cutoff = self.metric_cutoff(now);
        for index in 0..self.agents.count() {
            let shard = self.agents.lock_index(index);
            let mut host: Option<(IpAddr, Option<&str>)> = None;
            // Buffers for every data source of the shard (a scrape visits tens of thousands).
            let mut fresh = Vec::new();
            let mut metrics: Vec<(&str, &MetricValue)> = Vec::new();
            for selected in self.select_in(std::iter::once(&*shard), now, agents) {
                if !self.passes(cutoff, &selected, filter) {
                    continue;
                }
                let (ip, agent, ds, source) = selected;
                fresh_counters(source, cutoff, &mut fresh);
                metrics.clear();
                metrics.extend(fresh.iter().map(|(name, entry)| (*name, &entry.value)));
                if metrics.is_empty() {
                    continue;
                }
                // An agent's data sources come together: its host name is looked up once.
                let host_name = match host {
                    Some((agent_ip, name)) if agent_ip == ip => name,
                    _ => {
                        let name = agent_host_name(agent, cutoff);
                        host = Some((ip, name));
                        name
                    }
                };
                visit(&CounterView {
                    agent: ip,
                    host: host_name,
                    data_source: ds,
                    metrics: &metrics,
                });
            }
        }
    }

    /// `/table/{agent}/{metric}/json`: one row per data source that has every metric; `sort` orders by the
    /// sort metric and keeps the first |N| rows.
    pub fn table(
        &self,
        now: Millis,
        agents: &AgentSelector,
        sort: Option<&SortSpec>,
        metrics: &[String],
        filter: &QueryFilter,
    ) -> Vec<Vec<Metric>> {
        let cutoff = self.metric_cutoff(now);
        let mut rows: Vec<Vec<Metric>> = Vec::new();
        let shards = self.agents.read();
        for selected in self.select(&shards, now, agents) {
            if !self.passes(cutoff, &selected, filter) {
                continue;
            }
            let row: Option<Vec<Metric>> = metrics
                .iter()
                .map(|name| {
                    self.observe(now, &selected, name)
                        .map(|o| Self::to_metric(now, name, o))
                })
                .collect();
            if let Some(row) = row.filter(|r| !r.is_empty()) {
                rows.push(row);
            }
        }
        if let Some(sort) = sort {
            let key = |row: &Vec<Metric>| {
                row.iter()
                    .find(|m| m.metric_name == sort.metric)
                    .and_then(|m| m.metric_value.as_ref())
                    .and_then(MetricValue::as_f64)
                    .unwrap_or(f64::NEG_INFINITY)
            };
            rows.sort_by(|a, b| {
                let order = key(a).total_cmp(&key(b));
                if sort.descending {
                    order.reverse()
                } else {
                    order
                }
            });
            rows.truncate(sort.limit);
        }
        rows
    }

    /// `/metric/{agent}/json`: `"<dataSource>.<metric>" → value` for one agent (`None` if unknown).
    pub fn agent_metrics(
        &self,
        now: Millis,
        agent: IpAddr,
    ) -> Option<BTreeMap<String, MetricValue>> {
        let shards = self.agents.read();
        shards.get(&agent)?;
        let mut out = BTreeMap::new();
        for selected in self.select(
            &shards,
            now,
            &AgentSelector::List(vec![AgentToken::Ip(agent)]),
        ) {
            let ds = selected.2;
            let mut names: Vec<String> = selected
                .3
                .counters
                .metrics
                .keys()
                .map(std::string::ToString::to_string)
                .collect();
            names.extend(self.flows.by_name.keys().cloned());
            for name in names {
                if let Some(obs) = self.observe(now, &selected, &name) {
                    out.insert(format!("{ds}.{name}"), obs.value);
                }
            }
        }
        Some(out)
    }

    /// `/metrics/json`: every metric name currently present → ms since it was last updated anywhere.
    pub fn metric_names(&self, now: Millis) -> BTreeMap<String, u64> {
        let cutoff = self.metric_cutoff(now);
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        let mut note = |name: &str, updated: Millis| {
            let age = now.saturating_sub(updated);
            out.entry(name.to_string())
                .and_modify(|a| *a = (*a).min(age))
                .or_insert(age);
        };
        let shards = self.agents.read();
        for agent in shards.values() {
            for source in agent.sources.values() {
                for (name, m) in &source.counters.metrics {
                    if m.updated >= cutoff {
                        note(name, m.updated);
                    }
                }
                for (slot, installed) in self.flows.installed() {
                    if let Some(t) = source.flows.get(slot)
                        && t.generation == installed.generation
                        && t.len() > 0
                    {
                        note(&installed.name, t.last_update);
                    }
                }
            }
        }
        out
    }

    /// `/activeflows/{agent}/{name}/json`: the top flows of each selected data source, merged per `aggMode`,
    /// largest first.
    pub fn active_flows(
        &self,
        now: Millis,
        agents: &AgentSelector,
        name: &str,
        query: &ActiveFlowQuery,
    ) -> Result<Vec<ActiveFlow>, EngineError> {
        let (slot, installed) = self
            .flows
            .get(name)
            .ok_or_else(|| not_found(ObjectKind::Flow, name))?;
        let mode = query
            .agg_mode
            .or_else(|| installed.definition().agg_mode())
            .unwrap_or(AggMode::Max);
        let rate_factor = installed.clock.rate_factor(now);
        let view = &self.topology_view;
        // Each data source's top flows, one shard locked at a time (ingest waits only for the shard being
        // read), merged while the shard is locked without copying the flows that lose (see `FlowMerge`).
        let mut merge = FlowMerge::new(mode);
        for index in 0..self.agents.count() {
            let shard = self.agents.lock_index(index);
            for (ip, _, ds, source) in self.select_in(std::iter::once(&*shard), now, agents) {
                let wanted = match mode {
                    AggMode::Edge => ds.is_interface() && view.is_edge(ip, ds.index),
                    AggMode::Core => ds.is_interface() && view.is_core(ip, ds.index),
                    _ => true,
                };
                let Some(table) = source
                    .flows
                    .get(slot)
                    .filter(|t| wanted && t.generation == installed.generation)
                else {
                    continue;
                };
                table.visit_top(
                    &installed.params,
                    rate_factor,
                    installed.params.n,
                    |key, reading| {
                        let filtered_out = query
                            .key_filter
                            .as_deref()
                            .is_some_and(|p| !key_filter_match(p, key, &installed.definition().fs));
                        if !filtered_out {
                            merge.add((ip, ds), key, &reading);
                        }
                    },
                );
            }
        }
        Ok(merge.finish(query.min_value, query.max_flows))
    }

    /// `/flowvalue`: the current value of one flow key at one agent and data source.
    pub fn flow_value(
        &self,
        now: Millis,
        agent: IpAddr,
        source: DataSource,
        name: &str,
        key: &str,
    ) -> Option<ActiveFlow> {
        let shard = self.agents.lock(agent);
        let state = shard.agents.get(&agent)?.sources.get(&source)?;
        self.flow_value_of(now, agent, source, state, name, key)
    }

    /// [`flow_value`](Self::flow_value) of a data source already found.
    fn flow_value_of(
        &self,
        now: Millis,
        agent: IpAddr,
        source: DataSource,
        state: &SourceState,
        name: &str,
        key: &str,
    ) -> Option<ActiveFlow> {
        let (slot, installed) = self.flows.get(name)?;
        let table = state
            .flows
            .get(slot)
            .filter(|t| t.generation == installed.generation)?;
        let flow = table.get(&installed.params, installed.clock.rate_factor(now), key)?;
        Some(ActiveFlow {
            key: flow.key,
            value: flow.value,
            values: flow.values,
            agent: Some(agent),
            data_source: Some(source.to_string()),
            flow_n: 1,
        })
    }

    /// `/flowlocations`: every selected agent/data source currently tracking the flow key, largest first, with
    /// the topology link of the port when it is on one.
    pub fn flow_locations(
        &self,
        now: Millis,
        agents: &AgentSelector,
        name: &str,
        key: &str,
    ) -> Vec<FlowLocation> {
        let shards = self.agents.read();
        let mut out: Vec<FlowLocation> = self
            .select(&shards, now, agents)
            .into_iter()
            .filter_map(|(ip, _, ds, state)| {
                let flow = self.flow_value_of(now, ip, ds, state, name, key)?;
                Some(FlowLocation {
                    key: flow.key,
                    value: flow.value,
                    values: flow.values,
                    agent: ip,
                    data_source: ds.to_string(),
                    link: ds
                        .is_interface()
                        .then(|| self.link_end(ip, ds.index))
                        .flatten(),
                })
            })
            .collect();
        out.sort_by(|a, b| b.value.total_cmp(&a.value));
        out
    }

    /// The topology link a port is on, seen from that port.
    pub(crate) fn link_end(&self, agent: IpAddr, ifindex: u32) -> Option<LinkEnd> {
        let view = &self.topology_view;
        let name = view.port_links.get(&(agent, ifindex))?;
        let (node, port) = view.port_names.get(&(agent, ifindex))?;
        let link = self.topology.links.get(name)?;
        let (remote_node, remote_port) = if link.node1 == *node && link.port1 == *port {
            (&link.node2, &link.port2)
        } else {
            (&link.node1, &link.port1)
        };
        Some(LinkEnd {
            link_name: name.clone(),
            local_node: node.clone(),
            local_port: port.clone(),
            remote_node: remote_node.clone(),
            remote_port: remote_port.clone(),
        })
    }

    /// The threshold evaluation before the tick walked shard by shard: every data source selected and sorted,
    /// then the largest flow by `top(1)`. Tests check [`Engine::observe_thresholds`] against it.
    #[cfg(test)]
    pub(crate) fn exceeded_by_full_walk(
        &self,
        now: Millis,
        threshold: &Threshold,
        installed: Millis,
    ) -> Vec<Exceeded> {
        let shards = self.agents.read();
        let probe = self.threshold_probe(now, threshold, installed);
        let mut out = Vec::new();
        for s in self.select(&shards, now, &AgentSelector::All) {
            self.probe_source(
                &probe,
                &s,
                |table, params, rate, threshold| {
                    let top = table.top(params, rate, 1).into_iter().next();
                    top.filter(|f| f.value > threshold)
                },
                &mut out,
            );
        }
        sort_exceeded(&mut out);
        out
    }

    /// What observing `threshold` in this evaluation round needs, looked up once for all data sources: only
    /// values updated since `installed` count (engine time has millisecond resolution: a sample in the same
    /// millisecond as the PUT counts as next).
    pub(crate) fn threshold_probe<'e>(
        &'e self,
        now: Millis,
        threshold: &'e Threshold,
        installed: Millis,
    ) -> ThresholdProbe<'e> {
        ThresholdProbe {
            threshold,
            installed,
            cutoff: self.metric_cutoff(now),
            filter: QueryFilter::from_map(&threshold.filter),
            flow: self
                .flows
                .get(&threshold.metric)
                .map(|(slot, flow)| (slot, flow, flow.clock.rate_factor(now))),
        }
    }

    /// Observations exceeding each of `probes` at one agent's data sources (its shard locked by the caller),
    /// into the matching `out`: each data source read once for all thresholds, in no particular order;
    /// [`sort_exceeded`] puts the observations in the order events fire in. Returns whether any was found.
    pub(crate) fn observe_thresholds(
        &self,
        agent_ip: IpAddr,
        agent: &AgentState,
        probes: &[ThresholdProbe<'_>],
        out: &mut [Vec<Exceeded>],
    ) -> bool {
        let mut found = false;
        if probes.is_empty() {
            return found;
        }
        for (ds, source) in &agent.sources {
            let s = (agent_ip, agent, *ds, source);
            for (probe, out) in probes.iter().zip(out.iter_mut()) {
                let before = out.len();
                self.probe_source(probe, &s, FlowTable::largest_above, out);
                found |= out.len() > before;
            }
        }
        found
    }

    /// The observation of one data source exceeding a threshold, if any (several for a `byFlow` threshold).
    /// `largest_above` picks a data source's largest flow for thresholds not by flow, when it exceeds the
    /// threshold's value.
    fn probe_source(
        &self,
        probe: &ThresholdProbe<'_>,
        s: &Selected<'_>,
        largest_above: impl Fn(&FlowTable, &TableParams, f64, f64) -> Option<FlowSnapshot>,
        out: &mut Vec<Exceeded>,
    ) {
        let threshold = probe.threshold;
        let key = |flow_key: Option<&str>| TriggerKey {
            agent: s.0,
            source: s.2,
            flow_key: flow_key.map(Box::from),
        };
        if let Some((slot, flow, rate_factor)) = probe.flow {
            let Some(table) = s.3.flows.get(slot).filter(|t| {
                t.generation == flow.generation && t.len() > 0 && t.last_update >= probe.installed
            }) else {
                return;
            };
            if !self.passes(probe.cutoff, s, &probe.filter) {
                return;
            }
            if threshold.by_flow {
                for top in table.above(&flow.params, rate_factor, threshold.value) {
                    if top.last_seen < probe.installed {
                        continue;
                    }
                    out.push(Exceeded {
                        key: key(Some(&top.key)),
                        value: top.value,
                        values: top.values,
                        flow_key: Some(top.key),
                    });
                }
            } else if let Some(top) =
                largest_above(table, &flow.params, rate_factor, threshold.value)
            {
                // Not by flow: an event about the data source, without a flow key (as sFlow-RT).
                out.push(Exceeded {
                    key: key(None),
                    value: top.value,
                    values: top.values,
                    flow_key: None,
                });
            }
            return;
        }
        let Some(value) =
            s.3.counters
                .metrics
                .get(threshold.metric.as_str())
                .filter(|m| m.updated >= probe.cutoff && m.updated >= probe.installed)
                .and_then(|m| m.value.as_f64())
        else {
            return;
        };
        if value > threshold.value && self.passes(probe.cutoff, s, &probe.filter) {
            out.push(Exceeded {
                key: key(None),
                value,
                values: Vec::new(),
                flow_key: None,
            });
        }
    }
}

/// One threshold prepared for an evaluation round ([`Engine::threshold_probe`]).
pub(crate) struct ThresholdProbe<'e> {
    threshold: &'e Threshold,
    installed: Millis,
    /// Counter metrics (and attributes) older than this are stale.
    cutoff: Millis,
    filter: QueryFilter,
    /// The flow definition the threshold's metric names (its slot, itself, its rate factor now), if any.
    flow: Option<(usize, &'e InstalledFlow, f64)>,
}

impl ThresholdProbe<'_> {
    /// Whether the threshold has a filter: whether a data source passes it may depend on state other than its
    /// own agent's (names learned or polled elsewhere, groups), so the tick observes it at every data source.
    pub(crate) fn filtered(&self) -> bool {
        !self.filter.is_empty()
    }
}

/// topKeys of an aggregate (sum/avg/…) over flow metrics: per-key sums, largest first.
fn merged_top_keys(now: Millis, observations: &[&Observation<'_>]) -> Option<Vec<TopKey>> {
    let mut n = 0;
    let mut merged: HashMap<String, TopKey> = HashMap::new();
    for obs in observations {
        let Some((installed, table)) = obs.flow else {
            continue;
        };
        n = n.max(installed.params.n);
        for key in Engine::top_keys(now, installed, table) {
            merged
                .entry(key.key.clone())
                .and_modify(|k| {
                    k.value += key.value;
                    k.last_update = k.last_update.min(key.last_update);
                })
                .or_insert(key);
        }
    }
    if n == 0 {
        return None;
    }
    let mut keys: Vec<TopKey> = merged.into_values().collect();
    keys.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.key.cmp(&b.key)));
    keys.truncate(n);
    Some(keys)
}

/// Puts threshold observations in (agent, data source, flow key) order, the order their events fire in: the
/// same whichever order the tick visited agents and a table's flows in.
pub(crate) fn sort_exceeded(observations: &mut [Exceeded]) {
    observations.sort_by(|a, b| {
        (a.key.agent, a.key.source, &a.key.flow_key).cmp(&(
            b.key.agent,
            b.key.source,
            &b.key.flow_key,
        ))
    });
}
