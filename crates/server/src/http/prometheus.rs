//! Prometheus text exposition (spec §7): `/prometheus/metrics/{agent}/{metric}/txt` and
//! `/prometheus/analyzer/txt`, with sFlow-RT 3.1's label sets and analyzer names. Every family gets `# HELP`
//! and `# TYPE` lines (harmless to sFlow-RT's clients) and its samples together.

use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use rtflow_engine::{AgentSelector, Engine, Metric, MetricSelection, MetricValue, QueryFilter};

use super::analyzer::analyzer_figures;
use super::error::ApiResult;
use super::params::Params;
use crate::state::{AppState, Shared};

/// `prometheus.metric.prefix`.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn text_response(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}

pub(super) async fn analyzer(State(state): State<AppState>) -> impl IntoResponse {
    text_response(analyzer_text(&state))
}

/// The `/prometheus/analyzer/txt` text: the analyzer figures' families, per-agent record decode errors and the
/// history exporter's families.
pub(crate) fn analyzer_text(state: &Shared) -> String {
    let mut out = String::new();
    for figure in analyzer_figures(state) {
        let Some(value) = figure.value.as_f64() else {
            continue;
        };
        for family in figure.families {
            let name = format!("{}analyzer_{}", state.http.prometheus_prefix, family.suffix);
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            let _ = writeln!(out, "{name} {}", format_value(value));
        }
    }
    let agents = state.engine.read().agents(state.clock.now(), &[]);
    let name = format!("{}agent_record_decode_errors", state.http.prometheus_prefix);
    let _ = writeln!(
        out,
        "# HELP {name} sFlow records of this agent skipped because they failed to decode inside otherwise valid samples"
    );
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (agent, info) in &agents {
        let _ = writeln!(
            out,
            "{name}{{agent=\"{}\"}} {}",
            escape_label(agent),
            info.sflow_record_decode_errors
        );
    }
    if let Some(history) = &state.history {
        let prefix = format!("{}analyzer_", state.http.prometheus_prefix);
        out.push_str(&crate::history::prometheus_text(
            &prefix,
            &history.exporter.stats(),
        ));
    }
    out
}

pub(super) async fn metrics(
    State(state): State<AppState>,
    Path((agent, metric)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<impl IntoResponse> {
    let selector = AgentSelector::parse(&agent)?;
    // sFlow-RT does not export flow definitions as native series (name them to get them): `ALL` is every
    // counter metric, and no flow table is visited.
    let selection = match MetricSelection::parse(&metric) {
        MetricSelection::All => MetricSelection::AllCounters,
        names => names,
    };
    let filter = QueryFilter::from_pairs(params.pairs());
    let now = state.clock.now();
    let prefix = &state.http.prometheus_prefix;
    if selection == MetricSelection::AllCounters
        && !matches!(selector, AgentSelector::Edge | AgentSelector::Core)
    {
        let engine = state.engine.read();
        return Ok(text_response(render_all_counters(
            prefix, &engine, now, &selector, &filter,
        )));
    }
    let (values, labels) = {
        let engine = state.engine.read();
        let values = engine.dump(now, &selector, &selection, &filter);
        // An unfiltered ALL dump already holds the label metrics: one pass under the lock, not two.
        let labels_in_values =
            selection == MetricSelection::AllCounters && filter == QueryFilter::default();
        let mut labels = if labels_in_values {
            SeriesLabels::from_metrics(&values)
        } else {
            let label_names = MetricSelection::Names(
                LABEL_METRICS
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect(),
            );
            SeriesLabels::from_metrics(&engine.dump(
                now,
                &selector,
                &label_names,
                &QueryFilter::default(),
            ))
        };
        labels.add_links(|agent, ifindex| {
            engine
                .topology_interface_to_link(agent, ifindex)
                .map(|end| end.link_name)
        });
        (values, labels)
    };
    Ok(text_response(render_metrics(
        &state.http.prometheus_prefix,
        &values,
        &labels,
    )))
}

/// `ALL`: every counter metric of the selected data sources, rendered as [`render_metrics`] renders them from
/// a dump with [`SeriesLabels`], but straight from the engine's counters ([`Engine::visit_counters`]): each data
/// source's labels are worked out once from its own metrics, and no [`Metric`] is built per value. (Agent
/// selectors that pick some of an agent's data sources, `EDGE` and `CORE`, take the dump path: there the host
/// label comes from the selected data sources only.)
pub(crate) fn render_all_counters(
    prefix: &str,
    engine: &Engine,
    now: rtflow_engine::Millis,
    selector: &AgentSelector,
    filter: &QueryFilter,
) -> String {
    /// One data source's series: its labels and values are ranges of the buffers shared by all (a scrape covers
    /// tens of thousands of data sources; two allocations each showed in its profile).
    struct Source {
        key: (IpAddr, rtflow_engine::DataSource),
        labels: std::ops::Range<usize>,
        /// (family, value) per numeric metric, in name order, in `all_values`.
        values: std::ops::Range<usize>,
    }
    let mut all_labels = String::new();
    let mut all_values: Vec<(usize, f64)> = Vec::new();
    let mut family_of_name: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    // (family name, the metric name it is first seen under in (agent, data source) order, where).
    let mut families: Vec<(String, String, (IpAddr, rtflow_engine::DataSource))> = Vec::new();
    let mut family_index: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    let mut sources: Vec<Source> = Vec::new();
    engine.visit_counters(now, selector, filter, |view| {
        let labels_start = all_labels.len();
        write_view_labels(&mut all_labels, engine, view);
        let values_start = all_values.len();
        let key = (view.agent, view.data_source);
        for (name, value) in view.metrics {
            let Some(number) = value.as_f64() else {
                continue;
            };
            let family = match family_of_name.get(*name) {
                Some(family) => *family,
                None => {
                    let family_name = format!("{prefix}{}", sanitize_name(name));
                    let family = *family_index.entry(family_name.clone()).or_insert_with(|| {
                        families.push((family_name, name.to_string(), key));
                        families.len() - 1
                    });
                    family_of_name.insert(name.to_string(), family);
                    family
                }
            };
            // Data sources come in shard order: `# HELP` names the metric first seen in source order.
            let first = &mut families[family];
            if key < first.2 {
                first.1 = name.to_string();
                first.2 = key;
            }
            // Two names that sanitize alike must not produce duplicate series.
            if !all_values[values_start..].iter().any(|(f, _)| *f == family) {
                all_values.push((family, number));
            }
        }
        sources.push(Source {
            key: (view.agent, view.data_source),
            labels: labels_start..all_labels.len(),
            values: values_start..all_values.len(),
        });
    });
    sources.sort_unstable_by_key(|source| source.key);
    let mut lines: Vec<String> = vec![String::new(); families.len()];
    for source in &sources {
        let labels = &all_labels[source.labels.clone()];
        for (family, value) in &all_values[source.values.clone()] {
            let out = &mut lines[*family];
            out.push_str(&families[*family].0);
            out.push('{');
            out.push_str(labels);
            out.push_str("} ");
            write_value(out, *value);
            out.push('\n');
        }
    }
    let mut order: Vec<usize> = (0..families.len()).collect();
    order.sort_unstable_by(|a, b| families[*a].0.cmp(&families[*b].0));
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 100).sum());
    for family in order {
        let (name, original, _) = &families[family];
        let _ = writeln!(out, "# HELP {name} sFlow metric {}", escape_help(original));
        let _ = writeln!(out, "# TYPE {name} {}", family_type(name));
        out.push_str(&lines[family]);
    }
    out
}

/// Appends the label text of one data source's series to `labels`, as [`SeriesLabels::render`] writes it.
fn write_view_labels(labels: &mut String, engine: &Engine, view: &rtflow_engine::CounterView<'_>) {
    // Addresses and data-source names need no escaping.
    let _ = write!(
        labels,
        "agent=\"{}\",datasource=\"{}\"",
        view.agent, view.data_source
    );
    if let Some(host) = view.host {
        labels.push_str(",host=\"");
        push_escaped_label(labels, host);
        labels.push('"');
    }
    let mut source_labels: Vec<(&'static str, String)> = Vec::new();
    for name in LABEL_METRICS.iter().filter(|n| **n != "host_name") {
        let Some((_, value)) = view.metrics.iter().find(|(metric, _)| metric == name) else {
            continue;
        };
        if let Some(text) = label_value(name, value) {
            source_labels.push((name, text));
        }
    }
    let ifindex = source_labels
        .iter()
        .find(|(name, _)| *name == "ifindex")
        .and_then(|(_, v)| v.parse::<u32>().ok());
    if let Some(link) = ifindex.and_then(|i| engine.topology_interface_to_link(view.agent, i)) {
        let at = source_labels
            .iter()
            .position(|(name, _)| *name == "ifname")
            .map_or(source_labels.len(), |i| i + 1);
        source_labels.insert(at, ("link", link.link_name));
    }
    for (name, value) in source_labels {
        let _ = write!(labels, ",{name}=\"");
        push_escaped_label(labels, &value);
        labels.push('"');
    }
}

/// A label metric's value as label text: text as is, `ifspeed` in sFlow-RT's human form, other numbers as
/// Prometheus writes them.
fn label_value(name: &str, value: &MetricValue) -> Option<String> {
    match value {
        MetricValue::Text(text) => Some(text.to_string()),
        MetricValue::Number(n) if name == "ifspeed" => Some(human_speed(*n)),
        value => value.as_f64().map(format_value),
    }
}

/// Metrics whose values become labels of the series (sFlow-RT's label sets).
const LABEL_METRICS: &[&str] = &[
    "host_name",
    "ifindex",
    "ifname",
    "ifspeed",
    "iftype",
    "ifadminstatus",
    "ifoperstatus",
    "machine_type",
    "os_name",
    "os_release",
];

/// Labels of each agent and data source, as sFlow-RT writes them: every series has `agent`, `datasource` and
/// (when known) `host`; interface series add `ifindex, ifname, link, ifspeed` (`"10G"`), `iftype,
/// ifadminstatus, ifoperstatus`; host series add `machine_type, os_name, os_release`.
#[derive(Debug, Default)]
pub(super) struct SeriesLabels {
    hosts: HashMap<IpAddr, String>,
    /// (agent, data source) → label name → value, in sFlow-RT's order.
    sources: HashMap<(IpAddr, String), Vec<(&'static str, String)>>,
}

impl SeriesLabels {
    /// From the [`LABEL_METRICS`] of the agents.
    pub(super) fn from_metrics(named: &[Metric]) -> Self {
        let mut labels = Self::default();
        for m in named {
            let Some(value) = m
                .metric_value
                .as_ref()
                .and_then(|value| label_value(&m.metric_name, value))
            else {
                continue;
            };
            if m.metric_name == "host_name" {
                labels.hosts.entry(m.agent).or_insert(value);
                continue;
            }
            let Some(name) = LABEL_METRICS.iter().find(|n| **n == m.metric_name) else {
                continue;
            };
            labels
                .sources
                .entry((m.agent, m.data_source.clone()))
                .or_default()
                .push((name, value));
        }
        for list in labels.sources.values_mut() {
            list.sort_by_key(|(name, _)| LABEL_METRICS.iter().position(|n| n == name));
        }
        labels
    }

    /// Adds `link` (the topology link of the port) to interface data sources on one.
    pub(super) fn add_links(&mut self, link: impl Fn(IpAddr, u32) -> Option<String>) {
        for ((agent, _), list) in self.sources.iter_mut() {
            let ifindex = list
                .iter()
                .find(|(name, _)| *name == "ifindex")
                .and_then(|(_, v)| v.parse::<u32>().ok());
            if let Some(name) = ifindex.and_then(|i| link(*agent, i)) {
                let at = list
                    .iter()
                    .position(|(name, _)| *name == "ifname")
                    .map_or(list.len(), |i| i + 1);
                list.insert(at, ("link", name));
            }
        }
    }

    /// The label text of one series (without braces).
    fn render(&self, agent: IpAddr, data_source: &str) -> String {
        let mut labels = format!(
            "agent=\"{}\",datasource=\"{}\"",
            escape_label(&agent.to_string()),
            escape_label(data_source)
        );
        if let Some(host) = self.hosts.get(&agent) {
            let _ = write!(labels, ",host=\"{}\"", escape_label(host));
        }
        if let Some(list) = self.sources.get(&(agent, data_source.to_string())) {
            for (name, value) in list {
                let _ = write!(labels, ",{name}=\"{}\"", escape_label(value));
            }
        }
        labels
    }
}

/// sFlow-RT's `ifspeed` label: `10G`, `1G`, `100M`, `2500M`, `10K`, or the bits per second.
fn human_speed(bps: f64) -> String {
    let whole = bps as u64;
    if bps <= 0.0 || whole as f64 != bps {
        return format_value(bps);
    }
    for (unit, suffix) in [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "K")] {
        if whole.is_multiple_of(unit) {
            return format!("{}{suffix}", whole / unit);
        }
    }
    whole.to_string()
}

/// Renders numeric metrics, named `prefix` + the sanitized metric name, with the [`SeriesLabels`] of their agent
/// and data source.
///
/// A Prometheus `ALL/ALL` scrape renders every counter of every agent, so this allocates per family and per
/// data source, not per line: each data source's label text and each metric name's family are worked out once.
pub(super) fn render_metrics(prefix: &str, values: &[Metric], labels: &SeriesLabels) -> String {
    struct Family<'m> {
        name: String,
        /// The metric name it was first seen under (`# HELP`).
        original: &'m str,
        lines: String,
    }
    let mut families: Vec<Family<'_>> = Vec::new();
    let mut family_of_name: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut family_index: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    let mut source_labels: foldhash::HashMap<(IpAddr, &str), usize> = foldhash::HashMap::default();
    let mut rendered_labels: Vec<String> = Vec::new();
    // (family, labels) already written: two names that sanitize alike must not produce duplicate series.
    let mut seen: foldhash::HashSet<(usize, usize)> = foldhash::HashSet::default();
    for m in values {
        let Some(value) = m.metric_value.as_ref().and_then(MetricValue::as_f64) else {
            continue;
        };
        let family = *family_of_name
            .entry(m.metric_name.as_str())
            .or_insert_with(|| {
                let name = format!("{prefix}{}", sanitize_name(&m.metric_name));
                *family_index.entry(name.clone()).or_insert_with(|| {
                    families.push(Family {
                        name,
                        original: &m.metric_name,
                        lines: String::new(),
                    });
                    families.len() - 1
                })
            });
        let source = *source_labels
            .entry((m.agent, m.data_source.as_str()))
            .or_insert_with(|| {
                rendered_labels.push(labels.render(m.agent, &m.data_source));
                rendered_labels.len() - 1
            });
        if !seen.insert((family, source)) {
            continue;
        }
        let family = &mut families[family];
        let _ = write!(
            family.lines,
            "{}{{{}}} ",
            family.name, rendered_labels[source]
        );
        write_value(&mut family.lines, value);
        family.lines.push('\n');
    }
    families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(families.iter().map(|f| f.lines.len() + 100).sum());
    for family in families {
        let _ = writeln!(
            out,
            "# HELP {} sFlow metric {}",
            family.name,
            escape_help(family.original)
        );
        let _ = writeln!(out, "# TYPE {} {}", family.name, family_type(&family.name));
        out.push_str(&family.lines);
    }
    out
}

/// Values are gauges, except that a `_total` name (`mem_total`, `http_connections_total`) may only be a counter
/// or untyped in Prometheus' conventions: the cumulative connection count is a counter, sFlow's `*_total`
/// sizes are untyped.
fn family_type(name: &str) -> &'static str {
    match name {
        _ if name.ends_with("_analyzer_http_connections_total") => "counter",
        _ if name.ends_with("_total") => "untyped",
        _ => "gauge",
    }
}

/// Maps a name onto Prometheus' metric-name charset `[a-zA-Z_:][a-zA-Z0-9_:]*` (`-`, `.` etc. become `_`).
pub(super) fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Escapes a label value: backslash, double quote and newline.
pub(super) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_escaped_label(&mut out, value);
    out
}

/// Appends `value` to `out` escaped as [`escape_label`] escapes it.
fn push_escaped_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes HELP text: backslash and newline.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    let mut text = String::new();
    write_value(&mut text, value);
    text
}

/// A sample value as Prometheus' text format spells it (`NaN`, `+Inf`, `-Inf`, else Rust's shortest form).
fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine with 40 agents over its 16 shards: interfaces with names, speeds and counters, a host data
    /// source with `host_name` (on some agents), a topology link, and two names that sanitize alike.
    fn engine_with_counters() -> (Engine, rtflow_engine::Millis) {
        use rtflow_engine::{CounterSample, CounterValue, DataSource, DatagramInfo, EngineConfig};
        let mut engine = Engine::new(EngineConfig {
            shards: 16,
            ..EngineConfig::default()
        });
        let topology: rtflow_engine::Topology = serde_json::from_str(
            r#"{"nodes":{"a":{"agent":"10.0.0.1","ports":{"p3":{"ifindex":"3"}}},
                         "b":{"agent":"10.0.0.2","ports":{"p1":{"ifindex":"1"}}}},
                "links":{"a-b":{"node1":"a","port1":"p3","node2":"b","port2":"p1"}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let start = 1_700_000_000_000;
        engine
            .set_topology(start, topology)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut now = start;
        for step in 0..3u32 {
            now = start + u64::from(step) * 10_000;
            for n in 1..=40u8 {
                let agent = IpAddr::from([10, 0, 0, n]);
                let info = DatagramInfo {
                    agent,
                    sub_agent_id: 0,
                    sequence: step + 1,
                    uptime_ms: 1_000 + step * 10_000,
                    source: std::net::SocketAddr::new(agent, 6343),
                    size: 500,
                };
                engine.begin_datagram(now, &info);
                for ifindex in [1, 3, 7] {
                    let octets = u64::from(step) * 1_000_000 * u64::from(ifindex + u32::from(n));
                    let mut values = vec![
                        ("ifindex", CounterValue::Gauge(f64::from(ifindex))),
                        ("ifname", CounterValue::Text(format!("eth{ifindex}").into())),
                        (
                            "ifspeed",
                            CounterValue::Gauge(if ifindex == 7 { 2.5e9 } else { 1e10 }),
                        ),
                        ("ifinoctets", CounterValue::Counter64(octets)),
                        ("ifoutoctets", CounterValue::Counter64(octets / 2)),
                    ];
                    if ifindex == 7 {
                        values.push(("load.one", CounterValue::Gauge(0.5)));
                        values.push(("load_one", CounterValue::Gauge(0.25)));
                    }
                    engine.ingest_counter_sample(
                        now,
                        &info,
                        &CounterSample {
                            source: DataSource::new(0, ifindex),
                            sequence: step + 1,
                            values,
                            adapter_macs: Vec::new(),
                        },
                    );
                }
                if n % 3 != 0 {
                    engine.ingest_counter_sample(
                        now,
                        &info,
                        &CounterSample {
                            source: DataSource::new(2, 1),
                            sequence: step + 1,
                            values: vec![
                                ("host_name", CounterValue::Text(format!("host-{n}").into())),
                                ("os_name", CounterValue::Text("linux".into())),
                                ("cpu_utilization", CounterValue::Gauge(f64::from(n))),
                            ],
                            adapter_macs: Vec::new(),
                        },
                    );
                }
            }
        }
        (engine, now)
    }

    #[test]
    fn all_counters_render_as_the_dump_path_renders_them() {
        let (engine, now) = engine_with_counters();
        for (selector, filter) in [
            (AgentSelector::All, QueryFilter::default()),
            (
                AgentSelector::parse("10.0.0.1,10.0.0.3").unwrap_or_else(|e| panic!("{e}")),
                QueryFilter::default(),
            ),
            (
                AgentSelector::All,
                QueryFilter::from_pairs([("ifname", "eth3")]),
            ),
        ] {
            let values = engine.dump(now, &selector, &MetricSelection::AllCounters, &filter);
            let mut labels = SeriesLabels::from_metrics(&engine.dump(
                now,
                &selector,
                &MetricSelection::AllCounters,
                &QueryFilter::default(),
            ));
            labels.add_links(|agent, ifindex| {
                engine
                    .topology_interface_to_link(agent, ifindex)
                    .map(|end| end.link_name)
            });
            let by_dump = render_metrics("sflow_", &values, &labels);
            let direct = render_all_counters("sflow_", &engine, now, &selector, &filter);
            assert_eq!(direct, by_dump, "{selector:?} {filter:?}");
            assert!(direct.lines().count() > 20, "{direct}");
        }
        let all = render_all_counters(
            "sflow_",
            &engine,
            now,
            &AgentSelector::All,
            &QueryFilter::default(),
        );
        for expected in [
            r#"sflow_ifinoctets{agent="10.0.0.1",datasource="3",host="host-1",ifindex="3",ifname="eth3",link="a-b",ifspeed="10G"}"#,
            r#"sflow_load_one{agent="10.0.0.2",datasource="7",host="host-2",ifindex="7",ifname="eth7",ifspeed="2500M"} 0.5"#,
            r#"sflow_cpu_utilization{agent="10.0.0.4",datasource="2.1",host="host-4",os_name="linux"} 4"#,
            r#"sflow_ifoutoctets{agent="10.0.0.3",datasource="1",ifindex="1",ifname="eth1",ifspeed="10G"}"#,
        ] {
            assert!(all.contains(expected), "{expected} not in:\n{all}");
        }
    }

    fn metric(agent: [u8; 4], ds: &str, name: &str, value: MetricValue) -> Metric {
        Metric {
            agent: IpAddr::from(agent),
            data_source: ds.into(),
            metric_name: name.into(),
            metric_value: Some(value),
            last_update: 0,
            top_keys: None,
        }
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("ifinoctets"), "ifinoctets");
        assert_eq!(sanitize_name("my-flow.bytes"), "my_flow_bytes");
        assert_eq!(sanitize_name("9lives"), "_9lives");
        assert_eq!(sanitize_name(""), "_");
        assert_eq!(sanitize_name("é"), "_");
    }

    #[test]
    fn total_suffix_is_never_a_gauge() {
        assert_eq!(family_type("sflow_mem_total"), "untyped");
        assert_eq!(
            family_type("sflow_analyzer_http_connections_total"),
            "counter"
        );
        assert_eq!(family_type("sflow_ifinoctets"), "gauge");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
    }

    #[test]
    fn families_are_grouped_with_labels_and_text_skipped() {
        let values = vec![
            metric([10, 0, 0, 1], "3", "ifinoctets", MetricValue::Number(100.0)),
            metric([10, 0, 0, 1], "3", "ifadminstatus", MetricValue::from("up")),
            metric([10, 0, 0, 2], "2.1", "load_one", MetricValue::Number(0.5)),
            metric(
                [10, 0, 0, 2],
                "4",
                "ifinoctets",
                MetricValue::Number(f64::INFINITY),
            ),
        ];
        let names = vec![
            metric(
                [10, 0, 0, 1],
                "2.1",
                "host_name",
                MetricValue::from("leaf\"1"),
            ),
            metric([10, 0, 0, 1], "3", "ifname", MetricValue::from("swp1")),
        ];
        let text = render_metrics("sflow_", &values, &SeriesLabels::from_metrics(&names));
        let expected = "# HELP sflow_ifinoctets sFlow metric ifinoctets\n\
            # TYPE sflow_ifinoctets gauge\n\
            sflow_ifinoctets{agent=\"10.0.0.1\",datasource=\"3\",host=\"leaf\\\"1\",ifname=\"swp1\"} 100\n\
            sflow_ifinoctets{agent=\"10.0.0.2\",datasource=\"4\"} +Inf\n\
            # HELP sflow_load_one sFlow metric load_one\n\
            # TYPE sflow_load_one gauge\n\
            sflow_load_one{agent=\"10.0.0.2\",datasource=\"2.1\"} 0.5\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn interface_and_host_series_carry_sflow_rt_label_sets() {
        let agent = [10, 0, 0, 1];
        let names = vec![
            metric(agent, "2.1", "host_name", MetricValue::from("leaf1")),
            metric(agent, "2.1", "machine_type", MetricValue::from("x86_64")),
            metric(agent, "2.1", "os_name", MetricValue::from("linux")),
            metric(agent, "2.1", "os_release", MetricValue::from("6.1.0")),
            metric(agent, "3", "ifoperstatus", MetricValue::from("up")),
            metric(agent, "3", "ifname", MetricValue::from("swp1")),
            metric(agent, "3", "ifindex", MetricValue::from("3")),
            metric(agent, "3", "ifspeed", MetricValue::Number(10e9)),
            metric(agent, "3", "iftype", MetricValue::from("ethernetCsmacd")),
            metric(agent, "3", "ifadminstatus", MetricValue::from("up")),
        ];
        let mut labels = SeriesLabels::from_metrics(&names);
        labels.add_links(|a, ifindex| {
            (a == IpAddr::from(agent) && ifindex == 3).then(|| "L1".into())
        });
        let values = vec![
            metric(agent, "3", "ifinutilization", MetricValue::Number(1.5)),
            metric(agent, "2.1", "load_one", MetricValue::Number(0.5)),
        ];
        let text = render_metrics("sflow_", &values, &labels);
        assert!(
            text.contains(
                "sflow_ifinutilization{agent=\"10.0.0.1\",datasource=\"3\",host=\"leaf1\",ifindex=\"3\",\
                 ifname=\"swp1\",link=\"L1\",ifspeed=\"10G\",iftype=\"ethernetCsmacd\",ifadminstatus=\"up\",\
                 ifoperstatus=\"up\"} 1.5\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "sflow_load_one{agent=\"10.0.0.1\",datasource=\"2.1\",host=\"leaf1\",machine_type=\"x86_64\",\
                 os_name=\"linux\",os_release=\"6.1.0\"} 0.5\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn speeds_are_written_in_sflow_rt_human_form() {
        assert_eq!(human_speed(10e9), "10G");
        assert_eq!(human_speed(1e9), "1G");
        assert_eq!(human_speed(100e6), "100M");
        assert_eq!(human_speed(2.5e9), "2500M");
        assert_eq!(human_speed(1500.0), "1500");
        assert_eq!(human_speed(0.0), "0");
    }
}
