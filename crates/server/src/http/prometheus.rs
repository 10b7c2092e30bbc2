//! Prometheus text exposition (spec §7): `/prometheus/metrics/{agent}/{metric}/txt` and
//! `/prometheus/analyzer/txt`. Every family gets `# HELP` and `# TYPE` lines and its samples together.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::net::IpAddr;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use rtflow_engine::{AgentSelector, Metric, MetricSelection, MetricValue, QueryFilter};
use serde_json::Value;

use super::error::ApiResult;
use super::params::Params;
use super::status::analyzer_json;
use crate::state::AppState;

/// `prometheus.metric.prefix`.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/analyzer/json` fields exported by `/prometheus/analyzer/txt`: (metric suffix, field, help).
const ANALYZER_METRICS: &[(&str, &str, &str)] = &[
    ("agents", "sFlowAgents", "sFlow agents currently known"),
    (
        "received_datagrams",
        "sFlowDatagramsReceived",
        "sFlow datagrams received",
    ),
    (
        "received_bytes",
        "sFlowBytesReceived",
        "sFlow bytes received",
    ),
    (
        "discarded_datagrams",
        "sFlowDatagramsDiscarded",
        "sFlow datagrams that failed to decode",
    ),
    (
        "record_decode_errors",
        "sFlowRecordDecodeErrors",
        "sFlow records skipped because they failed to decode inside otherwise valid samples",
    ),
    (
        "dropped_datagrams",
        "sFlowDatagramsDropped",
        "sFlow datagrams dropped by the kernel (socket buffer full)",
    ),
    (
        "flow_samples",
        "sFlowFlowSamples",
        "sFlow flow samples received",
    ),
    // Not `counter_samples`: promtool rejects names containing a metric type (`_counter_`).
    (
        "counters_samples",
        "sFlowCounterSamples",
        "sFlow counter samples received",
    ),
    (
        "forwarded_datagrams",
        "sFlowDatagramsForwarded",
        "sFlow datagrams forwarded",
    ),
    (
        "looped_datagrams",
        "sFlowDatagramsLooped",
        "sFlow datagrams received again while forwarding (loop guard), dropped",
    ),
    (
        "tenant_forwarded_datagrams",
        "tenantDatagramsForwarded",
        "sFlow datagrams sent to tenant collectors",
    ),
    (
        "flow_definitions",
        "flowDefinitions",
        "flow definitions installed",
    ),
    ("thresholds", "thresholds", "thresholds installed"),
    (
        "heap_used_bytes",
        "heapUsed",
        "resident memory of the analyzer process",
    ),
    (
        "cpu_load_process",
        "cpuLoadProcess",
        "CPU load of the analyzer process (0..1)",
    ),
    (
        "cpu_load_system",
        "cpuLoadSystem",
        "CPU load of the system (0..1)",
    ),
    (
        "http_connections_current",
        "httpConnectionsCurrent",
        "open HTTP connections",
    ),
    (
        "http_connections_total",
        "httpConnectionsTotal",
        "HTTP connections accepted",
    ),
    // The engine's memory budget (`budget.rs`).
    (
        "engine_memory_estimated_bytes",
        "engineMemoryEstimated",
        "estimated bytes of per-agent engine state (agents, data sources, active flows)",
    ),
    (
        "engine_memory_budget_bytes",
        "engineMemoryBudget",
        "memory budget of per-agent engine state",
    ),
    (
        "data_sources",
        "sFlowDataSources",
        "sFlow data sources held",
    ),
    (
        "active_flow_entries",
        "activeFlowEntries",
        "active-flow entries held",
    ),
    (
        "evicted_agents",
        "sFlowAgentsEvicted",
        "sFlow agents evicted to make room for new ones (memory budget or agent limit)",
    ),
    (
        "refused_data_sources",
        "sFlowDataSourcesRefused",
        "sFlow data sources not created because the memory budget was spent",
    ),
];

fn text_response(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}

pub async fn analyzer(State(state): State<AppState>) -> impl IntoResponse {
    let analyzer = analyzer_json(&state);
    let mut out = String::new();
    for (suffix, field, help) in ANALYZER_METRICS {
        let Some(value) = analyzer.get(*field).and_then(Value::as_f64) else {
            continue;
        };
        let name = format!("{}analyzer_{suffix}", state.http.prometheus_prefix);
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {}", family_type(&name));
        let _ = writeln!(out, "{name} {}", format_value(value));
    }
    let agents = state.engine.lock().agents(state.clock.now(), &[]);
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
    text_response(out)
}

pub async fn metrics(
    State(state): State<AppState>,
    Path((agent, metric)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<impl IntoResponse> {
    let selector = AgentSelector::parse(&agent)?;
    let selection = MetricSelection::parse(&metric);
    let filter = QueryFilter::from_pairs(params.pairs());
    let now = state.clock.now();
    // An unfiltered ALL dump already holds the host_name / ifname label metrics: one pass under the lock.
    let labels_included =
        matches!(selection, MetricSelection::All) && filter == QueryFilter::default();
    let (values, names) = {
        let engine = state.engine.lock();
        let values = engine.dump(now, &selector, &selection, &filter);
        let names = if labels_included {
            Vec::new()
        } else {
            let label_names = MetricSelection::Names(vec!["host_name".into(), "ifname".into()]);
            engine.dump(now, &selector, &label_names, &QueryFilter::default())
        };
        (values, names)
    };
    let names = if labels_included { &values } else { &names };
    Ok(text_response(render_metrics(
        &state.http.prometheus_prefix,
        &values,
        names,
    )))
}

/// Renders numeric metrics, named `prefix` + the sanitized metric name, with `agent`, `datasource`, and when known `host` and `ifname` labels; `names`
/// holds the `host_name` / `ifname` metrics of the same agents.
pub fn render_metrics(prefix: &str, values: &[Metric], names: &[Metric]) -> String {
    let mut hosts: HashMap<IpAddr, String> = HashMap::new();
    let mut ifnames: HashMap<(IpAddr, &str), String> = HashMap::new();
    for m in names {
        let Some(MetricValue::Text(text)) = &m.metric_value else {
            continue;
        };
        match m.metric_name.as_str() {
            "host_name" => {
                hosts.entry(m.agent).or_insert_with(|| text.to_string());
            }
            "ifname" => {
                ifnames.insert((m.agent, m.data_source.as_str()), text.to_string());
            }
            _ => {}
        }
    }
    // family → (original metric name, sample lines)
    let mut families: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for m in values {
        let Some(value) = m.metric_value.as_ref().and_then(MetricValue::as_f64) else {
            continue;
        };
        let family = format!("{prefix}{}", sanitize_name(&m.metric_name));
        let mut labels = format!(
            "agent=\"{}\",datasource=\"{}\"",
            escape_label(&m.agent.to_string()),
            escape_label(&m.data_source)
        );
        if let Some(host) = hosts.get(&m.agent) {
            let _ = write!(labels, ",host=\"{}\"", escape_label(host));
        }
        if let Some(ifname) = ifnames.get(&(m.agent, m.data_source.as_str())) {
            let _ = write!(labels, ",ifname=\"{}\"", escape_label(ifname));
        }
        // Two names that sanitize alike must not produce duplicate series.
        if !seen.insert((family.clone(), labels.clone())) {
            continue;
        }
        let entry = families
            .entry(family.clone())
            .or_insert_with(|| (m.metric_name.clone(), Vec::new()));
        entry
            .1
            .push(format!("{family}{{{labels}}} {}", format_value(value)));
    }
    let mut out = String::new();
    for (family, (original, lines)) in families {
        let _ = writeln!(
            out,
            "# HELP {family} sFlow metric {}",
            escape_help(&original)
        );
        let _ = writeln!(out, "# TYPE {family} {}", family_type(&family));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
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
pub fn sanitize_name(name: &str) -> String {
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
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes HELP text: backslash and newline.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = render_metrics("sflow_", &values, &names);
        let expected = "# HELP sflow_ifinoctets sFlow metric ifinoctets\n\
            # TYPE sflow_ifinoctets gauge\n\
            sflow_ifinoctets{agent=\"10.0.0.1\",datasource=\"3\",host=\"leaf\\\"1\",ifname=\"swp1\"} 100\n\
            sflow_ifinoctets{agent=\"10.0.0.2\",datasource=\"4\"} +Inf\n\
            # HELP sflow_load_one sFlow metric load_one\n\
            # TYPE sflow_load_one gauge\n\
            sflow_load_one{agent=\"10.0.0.2\",datasource=\"2.1\"} 0.5\n";
        assert_eq!(text, expected);
    }
}
