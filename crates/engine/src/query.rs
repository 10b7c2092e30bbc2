//! Query syntax of the metric endpoints: agent selectors, metric lists with aggregation prefixes and
//! data-source qualifiers, `sort:` specs, filter queries; and the statistics over selected values.

use std::net::IpAddr;

use crate::metrics::Quartiles;
use crate::sample::DataSource;

/// Errors in query syntax (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "invalid agent selector {0:?} (expected ALL, TOPOLOGY, EDGE, CORE or a comma-separated list of agents)"
    )]
    /// The `{agent}` segment is not `ALL`, `TOPOLOGY`, `EDGE`, `CORE` or a list of addresses and names.
    InvalidAgent(String),
    /// A metric in the `{metric}` segment does not parse.
    #[error("invalid metric {0:?}")]
    InvalidMetric(String),
    /// The `sort` parameter does not parse.
    #[error("invalid sort spec {0:?} (expected sort:<metric>:<N> with N a non-zero integer)")]
    InvalidSort(String),
    /// The `{metric}` segment names no metric.
    #[error("empty metric list")]
    EmptyMetricList,
    /// The `aggMode` parameter is no known mode.
    #[error("invalid aggMode {0:?} (expected max, sum, avg, edge, core or agent)")]
    InvalidAggMode(String),
}

/// The `{agent}` path segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSelector {
    /// Every agent.
    All,
    /// Agents that belong to the installed topology.
    Topology,
    /// Topology ports that are not on inter-switch links.
    Edge,
    /// Ports on inter-switch links.
    Core,
    /// Explicit agents: IP addresses or names (matched against `host_name` and topology node names).
    List(Vec<AgentToken>),
}

/// One element of an agent list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentToken {
    /// An agent address.
    Ip(IpAddr),
    /// A host name or topology node name, resolved to agents.
    Name(String),
}

impl AgentSelector {
    /// Parses `ALL|TOPOLOGY|EDGE|CORE|a,b,c` (`;` also separates, as in 2.x).
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        match text {
            "ALL" => return Ok(Self::All),
            "TOPOLOGY" => return Ok(Self::Topology),
            "EDGE" => return Ok(Self::Edge),
            "CORE" => return Ok(Self::Core),
            _ => {}
        }
        let tokens: Vec<AgentToken> = text
            .split([',', ';'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| match t.parse::<IpAddr>() {
                Ok(ip) => AgentToken::Ip(ip.to_canonical()),
                Err(_) => AgentToken::Name(t.to_string()),
            })
            .collect();
        if tokens.is_empty() {
            return Err(QueryError::InvalidAgent(text.to_string()));
        }
        Ok(Self::List(tokens))
    }
}

/// How values from several agents/data sources are summarized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    /// `max:` the largest value (the default).
    Max,
    /// `min:` the smallest.
    Min,
    /// `sum:` the total.
    Sum,
    /// `avg:` the mean.
    Avg,
    /// `var:` the variance.
    Var,
    /// `sdev:` the standard deviation.
    Sdev,
    /// `med:` the median.
    Med,
    /// `q1:` the first quartile.
    Q1,
    /// `q2:` the median (second quartile).
    Q2,
    /// `q3:` the third quartile.
    Q3,
    /// `iqr:` the interquartile range.
    Iqr,
    /// `any:` any one value (the first found).
    Any,
}

impl Aggregation {
    fn parse(prefix: &str) -> Option<Self> {
        Some(match prefix {
            "max" => Self::Max,
            "min" => Self::Min,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            "var" => Self::Var,
            "sdev" => Self::Sdev,
            "med" => Self::Med,
            "q1" => Self::Q1,
            "q2" => Self::Q2,
            "q3" => Self::Q3,
            "iqr" => Self::Iqr,
            "any" => Self::Any,
            _ => return None,
        })
    }

    /// Whether the result is one selected observation (so agent/dataSource are meaningful).
    pub fn selects(self) -> bool {
        matches!(self, Self::Max | Self::Min | Self::Any)
    }
}

/// One entry of a metric list: `[agg:][dataSource.]name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// The text as requested (echoed as `metricName`).
    pub requested: String,
    /// How the metric's values at the selected data sources combine (`max:` when no prefix).
    pub aggregation: Aggregation,
    /// Only this data source (`3.ifinoctets`), or every one.
    pub source: Option<DataSource>,
    /// The metric's name.
    pub name: String,
}

impl MetricSpec {
    /// Parses `[aggregation:][dataSource.]name`.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let invalid = || QueryError::InvalidMetric(text.to_string());
        let (aggregation, rest) = match text.split_once(':') {
            Some((prefix, rest)) => (Aggregation::parse(prefix).ok_or_else(invalid)?, rest),
            None => (Aggregation::Max, text),
        };
        let (source, name) = match rest.rsplit_once('.') {
            Some((ds, name)) => (Some(ds.parse::<DataSource>().map_err(|_| invalid())?), name),
            None => (None, rest),
        };
        if name.is_empty() || name.contains(':') {
            return Err(invalid());
        }
        Ok(Self {
            requested: text.to_string(),
            aggregation,
            source,
            name: name.to_string(),
        })
    }

    /// Parses a comma- (or 2.x `;`-) separated list.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, QueryError> {
        let specs: Vec<Self> = text
            .split([',', ';'])
            .filter(|t| !t.is_empty())
            .map(Self::parse)
            .collect::<Result<_, _>>()?;
        if specs.is_empty() {
            return Err(QueryError::EmptyMetricList);
        }
        Ok(specs)
    }
}

/// A `/table` sort spec `sort:<metric>:<N>`: negative N sorts descending; |N| rows are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortSpec {
    /// The metric to sort by.
    pub metric: String,
    /// Largest first (a negative N).
    pub descending: bool,
    /// Rows kept (|N|).
    pub limit: usize,
}

impl SortSpec {
    /// Splits a leading `sort:m:N` off a table metric list: returns the sort spec and the remaining metric names
    /// (the sorted metric first).
    pub fn split_table_metrics(text: &str) -> Result<(Option<SortSpec>, Vec<String>), QueryError> {
        let mut names: Vec<String> = text
            .split([',', ';'])
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let Some(first) = names.first().cloned() else {
            return Err(QueryError::EmptyMetricList);
        };
        let Some(spec) = first.strip_prefix("sort:") else {
            return Ok((None, names));
        };
        let invalid = || QueryError::InvalidSort(first.clone());
        let (metric, n) = spec.rsplit_once(':').ok_or_else(invalid)?;
        let n: i64 = n.parse().map_err(|_| invalid())?;
        if metric.is_empty() || n == 0 {
            return Err(invalid());
        }
        if let Some(slot) = names.first_mut() {
            *slot = metric.to_string();
        }
        Ok((
            Some(SortSpec {
                metric: metric.to_string(),
                descending: n < 0,
                limit: n.unsigned_abs().try_into().unwrap_or(usize::MAX),
            }),
            names,
        ))
    }
}

/// A filter query: each attribute must match one of its patterns (`*` and `?` globs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryFilter {
    /// Each attribute with the patterns it may match (one must).
    pub terms: Vec<(String, Vec<String>)>,
}

impl QueryFilter {
    /// Builds a filter from repeated query parameters (`os_name=linux&os_name=windows` → one OR-ed term).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut terms: Vec<(String, Vec<String>)> = Vec::new();
        for (key, value) in pairs {
            match terms.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value.to_string()),
                None => terms.push((key.to_string(), vec![value.to_string()])),
            }
        }
        Self { terms }
    }

    /// Builds a filter from query parameters already grouped by name.
    pub fn from_map(map: &std::collections::BTreeMap<String, Vec<String>>) -> Self {
        Self {
            terms: map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    /// Whether the filter has no terms (matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `lookup(attribute)` gives a data source's attribute value as text.
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|(attribute, patterns)| {
            lookup(attribute).is_some_and(|value| patterns.iter().any(|p| glob_match(p, &value)))
        })
    }
}

/// Glob match with `*` (any run) and `?` (one char); everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// `/activeflows?filter=`: the whole key matches the glob, or the filter's fields (split on the key separator
/// `fs`) match the key's fields one by one, an empty field matching anything (`,,,5001`), as sFlow-RT does.
pub fn key_filter_match(filter: &str, key: &str, fs: &str) -> bool {
    if glob_match(filter, key) {
        return true;
    }
    if fs.is_empty() || !filter.contains(fs) {
        return false;
    }
    let mut wanted = filter.split(fs);
    let mut fields = key.split(fs);
    loop {
        match (wanted.next(), fields.next()) {
            (None, None) => return true,
            (Some(want), Some(field)) if want.is_empty() || glob_match(want, field) => {}
            _ => return false,
        }
    }
}

/// Summary of numeric observations: the value and, for selections, which observation index was picked.
pub(crate) struct Summary {
    pub value: f64,
    pub selected: Option<usize>,
    pub quartiles: Option<Quartiles>,
}

/// Summarizes numeric values (non-empty).
pub(crate) fn summarize(aggregation: Aggregation, values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let pick = |better: fn(f64, f64) -> bool| {
        let mut best = 0;
        for (i, v) in values.iter().enumerate() {
            if values.get(best).is_some_and(|b| better(*v, *b)) {
                best = i;
            }
        }
        best
    };
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let quartiles = || {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let q = |p: f64| percentile(&sorted, p);
        Quartiles {
            min: q(0.0),
            q1: q(0.25),
            med: q(0.5),
            q3: q(0.75),
            max: q(1.0),
        }
    };
    let selected_value = |i: usize| Summary {
        value: values.get(i).copied().unwrap_or(0.0),
        selected: Some(i),
        quartiles: None,
    };
    let plain = |value: f64| Summary {
        value,
        selected: None,
        quartiles: None,
    };
    let with_quartiles = |f: fn(&Quartiles) -> f64| {
        let q = quartiles();
        Summary {
            value: f(&q),
            selected: None,
            quartiles: Some(q),
        }
    };
    Some(match aggregation {
        Aggregation::Max => selected_value(pick(|a, b| a > b)),
        Aggregation::Min => selected_value(pick(|a, b| a < b)),
        Aggregation::Any => selected_value(0),
        Aggregation::Sum => plain(values.iter().sum()),
        Aggregation::Avg => plain(mean),
        Aggregation::Var => plain(variance),
        Aggregation::Sdev => plain(variance.sqrt()),
        Aggregation::Med | Aggregation::Q2 => with_quartiles(|q| q.med),
        Aggregation::Q1 => with_quartiles(|q| q.q1),
        Aggregation::Q3 => with_quartiles(|q| q.q3),
        Aggregation::Iqr => with_quartiles(|q| q.q3 - q.q1),
    })
}

/// Linear-interpolated percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = p * last as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let a = sorted.get(lo).copied().unwrap_or(0.0);
    let b = sorted.get(hi).copied().unwrap_or(a);
    a + (b - a) * (rank - lo as f64)
}

/// Summarizes string observations: `max`/`min` lexicographic, `any` the first; others have no value.
pub(crate) fn summarize_text(aggregation: Aggregation, values: &[&str]) -> Option<usize> {
    let indexed = values.iter().enumerate();
    match aggregation {
        Aggregation::Max => indexed.max_by(|a, b| a.1.cmp(b.1)).map(|(i, _)| i),
        Aggregation::Min => indexed.min_by(|a, b| a.1.cmp(b.1)).map(|(i, _)| i),
        Aggregation::Any => (!values.is_empty()).then_some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_selectors() {
        assert_eq!(AgentSelector::parse("ALL"), Ok(AgentSelector::All));
        assert_eq!(AgentSelector::parse("EDGE"), Ok(AgentSelector::Edge));
        assert_eq!(
            AgentSelector::parse("10.0.0.1,leaf2"),
            Ok(AgentSelector::List(vec![
                AgentToken::Ip(IpAddr::from([10, 0, 0, 1])),
                AgentToken::Name("leaf2".into())
            ]))
        );
        assert!(AgentSelector::parse("").is_err());
    }

    #[test]
    fn metric_specs() {
        let s = MetricSpec::parse("med:2.1.load_one").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.aggregation, s.source, s.name.as_str()),
            (Aggregation::Med, Some(DataSource::new(2, 1)), "load_one")
        );
        let s = MetricSpec::parse("22.tcp").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.aggregation, s.source, s.name.as_str()),
            (Aggregation::Max, Some(DataSource::interface(22)), "tcp")
        );
        assert!(MetricSpec::parse("bogus:load_one").is_err());
        assert!(MetricSpec::parse("x.y.load_one").is_err());
        assert_eq!(
            MetricSpec::parse_list("max:a,min:a").map(|l| l.len()),
            Ok(2)
        );
    }

    #[test]
    fn sort_specs() {
        let (sort, names) = SortSpec::split_table_metrics("sort:load_one:-10,host_name")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sort,
            Some(SortSpec {
                metric: "load_one".into(),
                descending: true,
                limit: 10
            })
        );
        assert_eq!(names, vec!["load_one".to_string(), "host_name".to_string()]);
        assert!(SortSpec::split_table_metrics("sort:x:0").is_err());
        assert_eq!(
            SortSpec::split_table_metrics("a,b").map(|(s, n)| (s, n.len())),
            Ok((None, 2))
        );
    }

    #[test]
    fn globs_and_filters() {
        assert!(glob_match("*web.*", "myweb.example"));
        assert!(glob_match("linux", "linux"));
        assert!(!glob_match("linux", "linux2"));
        assert!(glob_match("l?n*", "linux"));
        assert!(!glob_match("*web", "webserver"));
        let f = QueryFilter::from_pairs([
            ("os_name", "linux"),
            ("os_name", "windows"),
            ("cpu_num", "2"),
        ]);
        let attrs = |k: &str| match k {
            "os_name" => Some("windows".to_string()),
            "cpu_num" => Some("2".to_string()),
            _ => None,
        };
        assert!(f.matches(attrs));
        let f = QueryFilter::from_pairs([("host_name", "*db*")]);
        assert!(!f.matches(attrs));
    }

    #[test]
    fn summaries() {
        let v = [4.0, 1.0, 3.0, 2.0];
        let s = |a| summarize(a, &v).map(|s| s.value).unwrap_or(f64::NAN);
        assert_eq!(s(Aggregation::Max), 4.0);
        assert_eq!(
            summarize(Aggregation::Max, &v).and_then(|s| s.selected),
            Some(0)
        );
        assert_eq!(s(Aggregation::Min), 1.0);
        assert_eq!(s(Aggregation::Sum), 10.0);
        assert_eq!(s(Aggregation::Avg), 2.5);
        assert_eq!(s(Aggregation::Var), 1.25);
        assert_eq!(s(Aggregation::Med), 2.5);
        assert_eq!(s(Aggregation::Q1), 1.75);
        assert_eq!(s(Aggregation::Q3), 3.25);
        assert_eq!(s(Aggregation::Iqr), 1.5);
        assert!(summarize(Aggregation::Max, &[]).is_none());
        assert_eq!(summarize_text(Aggregation::Max, &["a", "c", "b"]), Some(1));
        assert_eq!(summarize_text(Aggregation::Sum, &["a"]), None);
    }
}
