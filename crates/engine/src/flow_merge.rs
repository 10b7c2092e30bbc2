//! Merging the top flows of many data sources into one `/activeflows` answer.
//!
//! A query visits every selected data source's table shard by shard (one shard locked at a time) and feeds each
//! of its top flows to [`FlowMerge::add`] while the shard is locked. The merge borrows the flow's key and reads
//! its values lazily, so a flow that loses to a larger observation of the same key costs a hash lookup, not an
//! allocation: with tens of thousands of data sources (a flood of spoofed agents), this is what keeps the query
//! short.
//!
//! The answer does not depend on the order sources are visited in (shards are walked in hash order): the
//! largest observation of a key wins, ties going to the smallest (agent, data source), and `sum`/`avg` add
//! the sources' values in (agent, data source) order.

use std::net::IpAddr;

use foldhash::HashMap;
use rtflow_flowlang::AggMode;

use crate::activeflows::FlowReading;
use crate::engine_query::ActiveFlow;
use crate::sample::DataSource;

/// Where a flow was observed.
type Source = (IpAddr, DataSource);

/// One key's observations so far.
#[derive(Debug)]
struct Merged {
    best: f64,
    best_source: Source,
    best_values: Vec<f64>,
    /// Every source's (value, other values), for `sum`/`avg` only: summed in source order at the end.
    contributions: Vec<(Source, f64, Vec<f64>)>,
    count: usize,
}

/// The top flows of many data sources, merged per key (and per agent in `aggMode` `agent`).
#[derive(Debug)]
pub(crate) struct FlowMerge {
    mode: AggMode,
    summing: bool,
    /// Group (the agent in `aggMode` `agent`, else none) → key → merged observations.
    groups: HashMap<Option<IpAddr>, HashMap<String, Merged>>,
}

impl FlowMerge {
    pub(crate) fn new(mode: AggMode) -> Self {
        Self {
            mode,
            summing: matches!(mode, AggMode::Sum | AggMode::Avg),
            groups: HashMap::default(),
        }
    }

    /// Adds one flow of one data source (each key at most once per source).
    pub(crate) fn add(&mut self, source: Source, key: &str, reading: &FlowReading<'_>) {
        let group = (self.mode == AggMode::Agent).then_some(source.0);
        let value = reading.value();
        let summing = self.summing;
        let keys = self.groups.entry(group).or_default();
        let contribution = |m: &mut Merged| {
            if summing {
                m.contributions
                    .push((source, value, reading.other_values()));
            }
        };
        match keys.get_mut(key) {
            Some(m) => {
                m.count += 1;
                // Larger wins; on a tie the smaller source, as if the sources were visited in order.
                if value > m.best || (value == m.best && source < m.best_source) {
                    m.best = value;
                    m.best_source = source;
                    m.best_values = reading.other_values();
                }
                contribution(m);
            }
            None => {
                let mut m = Merged {
                    best: value,
                    best_source: source,
                    best_values: reading.other_values(),
                    contributions: Vec::new(),
                    count: 1,
                };
                contribution(&mut m);
                keys.insert(key.to_string(), m);
            }
        }
    }

    /// The merged flows at least `min_value`, largest first (then by key, then agent), at most `max_flows`.
    pub(crate) fn finish(self, min_value: f64, max_flows: usize) -> Vec<ActiveFlow> {
        let located = !matches!(self.mode, AggMode::Edge | AggMode::Core);
        let mode = self.mode;
        let mut out: Vec<ActiveFlow> = self
            .groups
            .into_values()
            .flat_map(HashMap::into_iter)
            .map(|(key, mut m)| {
                let (mut value, mut values) = (m.best, m.best_values);
                if self.summing {
                    m.contributions.sort_by_key(|(source, _, _)| *source);
                    let mut contributions = m.contributions.into_iter();
                    if let Some((_, first, first_values)) = contributions.next() {
                        let (sum, sums) = contributions.fold(
                            (first, first_values),
                            |(sum, mut sums), (_, value, values)| {
                                for (s, v) in sums.iter_mut().zip(&values) {
                                    *s += v;
                                }
                                (sum + value, sums)
                            },
                        );
                        (value, values) = (sum, sums);
                        if mode == AggMode::Avg {
                            let n = m.count.max(1) as f64;
                            value /= n;
                            values.iter_mut().for_each(|v| *v /= n);
                        }
                    }
                }
                ActiveFlow {
                    key,
                    value,
                    values,
                    agent: located.then_some(m.best_source.0),
                    data_source: located.then(|| m.best_source.1.to_string()),
                    flow_n: m.count,
                }
            })
            .filter(|f| f.value >= min_value)
            .collect();
        out.sort_by(|a, b| {
            b.value
                .total_cmp(&a.value)
                .then_with(|| a.key.cmp(&b.key))
                .then_with(|| a.agent.cmp(&b.agent))
        });
        out.truncate(max_flows);
        out
    }
}
