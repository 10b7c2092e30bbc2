//! The analyzer's figures, typed and listed once: `/analyzer/json` writes every figure under its JSON name, and
//! `/prometheus/analyzer/txt` exports those that name Prometheus families, from the same list, so renaming or
//! adding a figure changes both. (The history exporter's and the SNMP poller's figures are appended by their own
//! modules from their own stats structs.)

use rtflow_engine::AnalyzerStats;
use serde_json::{Map, Value};

use crate::procstats;
use crate::state::{RuntimeStats, Shared};

/// A figure's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum FigureValue {
    /// A count or size.
    Count(u64),
    /// A fraction or other real number.
    Real(f64),
    /// A yes/no state.
    Flag(bool),
    /// Text (the version).
    Text(&'static str),
}

impl FigureValue {
    /// The number Prometheus exports; `None` for text.
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            FigureValue::Count(count) => Some(count as f64),
            FigureValue::Real(real) => Some(real),
            FigureValue::Flag(flag) => Some(if flag { 1.0 } else { 0.0 }),
            FigureValue::Text(_) => None,
        }
    }

    fn to_json(self) -> Value {
        match self {
            FigureValue::Count(count) => Value::from(count),
            FigureValue::Real(real) => Value::from(real),
            FigureValue::Flag(flag) => Value::Bool(flag),
            FigureValue::Text(text) => Value::from(text),
        }
    }
}

/// Prometheus' type of an exported family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FamilyType {
    /// Only ever grows.
    Counter,
    /// Goes up and down.
    Gauge,
}

impl FamilyType {
    /// The `# TYPE` word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FamilyType::Counter => "counter",
            FamilyType::Gauge => "gauge",
        }
    }
}

/// A Prometheus family a figure is exported as: `{prefix}analyzer_{suffix}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Family {
    /// The name after `analyzer_`.
    pub(crate) suffix: &'static str,
    /// The `# HELP` text.
    pub(crate) help: &'static str,
    /// The `# TYPE`.
    pub(crate) kind: FamilyType,
}

/// One analyzer figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    /// Its `/analyzer/json` name.
    pub(crate) key: &'static str,
    /// Its value now.
    pub(crate) value: FigureValue,
    /// The Prometheus families it is exported as (none: `/analyzer/json` only).
    pub(crate) families: &'static [Family],
}

const fn gauge(suffix: &'static str, help: &'static str) -> Family {
    Family {
        suffix,
        help,
        kind: FamilyType::Gauge,
    }
}

/// The analyzer's figures now: the engine's counters, then the server's socket, forwarding, process and HTTP
/// statistics.
pub(crate) fn analyzer_figures(state: &Shared) -> Vec<Figure> {
    use FigureValue::{Count, Flag, Real, Text};
    let figure = |key, value, families| Figure {
        key,
        value,
        families,
    };
    // Destructured without `..`: a new engine counter does not compile until it has its figure here.
    let AnalyzerStats {
        sflow_datagrams_received,
        sflow_bytes_received,
        sflow_datagrams_discarded,
        sflow_record_decode_errors,
        sflow_agents,
        sflow_flow_samples,
        sflow_counter_samples,
        sflow_agents_over_limit,
        sflow_datagrams_on_probation,
        sflow_agents_evicted,
        sflow_data_sources_refused,
        sflow_data_sources,
        active_flow_entries,
        engine_memory_estimated,
        engine_memory_budget,
        flow_definitions,
        thresholds,
    } = state.engine.read().analyzer();
    let stats = &state.stats;
    let get = RuntimeStats::get;
    vec![
        // The engine's counters. sFlow-RT 3.1's Prometheus names first (Grafana dashboards query them), then
        // rtflow's earlier names, kept for existing scrapes.
        figure(
            "sFlowDatagramsReceived",
            Count(sflow_datagrams_received),
            const { &[gauge("received_datagrams", "sFlow datagrams received")] },
        ),
        figure(
            "sFlowBytesReceived",
            Count(sflow_bytes_received),
            const { &[gauge("received_bytes", "sFlow bytes received")] },
        ),
        figure(
            "sFlowDatagramsDiscarded",
            Count(sflow_datagrams_discarded),
            const {
                &[
                    gauge("parse_errors", "sFlow datagrams that failed to parse"),
                    gauge(
                        "discarded_datagrams",
                        "sFlow datagrams that failed to decode",
                    ),
                ]
            },
        ),
        figure(
            "sFlowRecordDecodeErrors",
            Count(sflow_record_decode_errors),
            const {
                &[gauge(
                    "record_decode_errors",
                    "sFlow records skipped because they failed to decode inside otherwise valid samples",
                )]
            },
        ),
        figure(
            "sFlowAgents",
            Count(sflow_agents),
            const {
                &[
                    gauge("agent_count", "sFlow agents currently known"),
                    gauge("agents", "sFlow agents currently known"),
                ]
            },
        ),
        figure(
            "sFlowFlowSamples",
            Count(sflow_flow_samples),
            const { &[gauge("flow_samples", "sFlow flow samples received")] },
        ),
        figure(
            "sFlowCounterSamples",
            Count(sflow_counter_samples),
            // Not `counter_samples`: promtool rejects names containing a metric type (`_counter_`).
            const { &[gauge("counters_samples", "sFlow counter samples received")] },
        ),
        figure("sFlowAgentsOverLimit", Count(sflow_agents_over_limit), &[]),
        figure(
            "sFlowDatagramsOnProbation",
            Count(sflow_datagrams_on_probation),
            const {
                &[gauge(
                    "probation_datagrams",
                    "sFlow datagrams from new agents held on probation under memory pressure (not analysed)",
                )]
            },
        ),
        figure(
            "sFlowAgentsEvicted",
            Count(sflow_agents_evicted),
            const {
                &[gauge(
                    "evicted_agents",
                    "sFlow agents evicted to make room for new ones (memory budget or agent limit)",
                )]
            },
        ),
        figure(
            "sFlowDataSourcesRefused",
            Count(sflow_data_sources_refused),
            const {
                &[gauge(
                    "refused_data_sources",
                    "sFlow data sources not created because the memory budget was spent",
                )]
            },
        ),
        figure(
            "sFlowDataSources",
            Count(sflow_data_sources),
            const { &[gauge("data_sources", "sFlow data sources held")] },
        ),
        figure(
            "activeFlowEntries",
            Count(active_flow_entries),
            const { &[gauge("active_flow_entries", "active-flow entries held")] },
        ),
        // The engine's memory budget (`budget.rs`).
        figure(
            "engineMemoryEstimated",
            Count(engine_memory_estimated),
            const {
                &[gauge(
                    "engine_memory_estimated_bytes",
                    "estimated bytes of per-agent engine state (agents, data sources, active flows)",
                )]
            },
        ),
        figure(
            "engineMemoryBudget",
            Count(engine_memory_budget),
            const {
                &[gauge(
                    "engine_memory_budget_bytes",
                    "memory budget of per-agent engine state",
                )]
            },
        ),
        figure(
            "flowDefinitions",
            Count(flow_definitions),
            const { &[gauge("flow_definitions", "flow definitions installed")] },
        ),
        figure(
            "thresholds",
            Count(thresholds),
            const { &[gauge("thresholds", "thresholds installed")] },
        ),
        // The server's.
        figure("version", Text(crate::VERSION), &[]),
        figure(
            "sFlowDatagramsDropped",
            Count(get(&stats.kernel_drops)),
            const {
                &[gauge(
                    "dropped_datagrams",
                    "sFlow datagrams dropped by the kernel (socket buffer full)",
                )]
            },
        ),
        figure("sFlowDecodeErrors", Count(sflow_datagrams_discarded), &[]),
        figure(
            "sFlowDatagramsForwarded",
            Count(get(&stats.forwarded)),
            const { &[gauge("forwarded_datagrams", "sFlow datagrams forwarded")] },
        ),
        figure("sFlowForwardErrors", Count(get(&stats.forward_errors)), &[]),
        figure(
            "sFlowDatagramsLooped",
            Count(get(&stats.looped)),
            const {
                &[gauge(
                    "looped_datagrams",
                    "sFlow datagrams received again while forwarding (loop guard), dropped",
                )]
            },
        ),
        figure(
            "tenantDatagramsForwarded",
            Count(get(&stats.tenant_forwarded)),
            const {
                &[gauge(
                    "tenant_forwarded_datagrams",
                    "sFlow datagrams sent to tenant collectors",
                )]
            },
        ),
        figure(
            "tenantForwardErrors",
            Count(get(&stats.tenant_forward_errors)),
            &[],
        ),
        figure("sFlowReceiveBuffer", Count(get(&stats.receive_buffer)), &[]),
        figure("sFlowDatagramsReplayed", Count(get(&stats.replayed)), &[]),
        figure(
            "replayFinished",
            Flag(stats.replay_done.load(std::sync::atomic::Ordering::Relaxed)),
            &[],
        ),
        figure(
            "cpuLoadProcess",
            Real(get(&stats.process_cpu_load_millis) as f64 / 1000.0),
            const {
                &[gauge(
                    "cpu_load_process",
                    "CPU load of the analyzer process (0..1)",
                )]
            },
        ),
        figure(
            "cpuLoadSystem",
            Real(get(&stats.system_cpu_load_millis) as f64 / 1000.0),
            const { &[gauge("cpu_load_system", "CPU load of the system (0..1)")] },
        ),
        figure(
            "heapUsed",
            Count(procstats::resident_bytes().unwrap_or(0)),
            const {
                &[gauge(
                    "heap_used_bytes",
                    "resident memory of the analyzer process",
                )]
            },
        ),
        figure(
            "heapMax",
            Count(procstats::total_memory_bytes().unwrap_or(0)),
            const {
                &[gauge(
                    "heap_max_bytes",
                    "memory available to the analyzer process",
                )]
            },
        ),
        figure(
            "httpConnectionsCurrent",
            Count(get(&stats.http_connections_current)),
            const { &[gauge("http_connections_current", "open HTTP connections")] },
        ),
        figure(
            "httpConnectionsTotal",
            Count(get(&stats.http_connections_total)),
            const {
                &[Family {
                    suffix: "http_connections_total",
                    help: "HTTP connections accepted",
                    kind: FamilyType::Counter,
                }]
            },
        ),
        figure(
            "httpRequestsCurrent",
            Count(get(&stats.http_requests_current)),
            &[],
        ),
        figure(
            "httpConnectionsRefused",
            Count(get(&stats.http_connections_refused)),
            &[],
        ),
        figure(
            "httpConnectionsEvicted",
            Count(get(&stats.http_connections_evicted)),
            &[],
        ),
        figure("httpTimeouts", Count(get(&stats.http_timeouts)), &[]),
        figure(
            "uptime",
            Count(
                state
                    .started
                    .elapsed()
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            ),
            const {
                &[gauge(
                    "uptime_ms",
                    "milliseconds since the analyzer started",
                )]
            },
        ),
        figure("time", Count(state.clock.now()), &[]),
        figure("updateAvailable", Flag(false), &[]),
    ]
}

/// The `/analyzer/json` object: every figure, then the history exporter's and the SNMP poller's fields.
pub(crate) fn analyzer_json(state: &Shared) -> Value {
    let mut object: Map<String, Value> = analyzer_figures(state)
        .into_iter()
        .map(|figure| (figure.key.to_string(), figure.value.to_json()))
        .collect();
    if let Some(history) = &state.history {
        object.extend(crate::history::analyzer_fields(&history.exporter.stats()));
    }
    if let Some(snmp) = &state.snmp {
        object.extend(crate::history::prefixed_fields("snmp", &snmp.stats()));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use rtflow_engine::{Engine, EngineConfig};

    use super::*;
    use crate::clock::EngineClock;
    use crate::http::prometheus::analyzer_text;
    use crate::state::HttpSettings;

    /// Figures `/analyzer/json` has and Prometheus does not export, on purpose.
    const JSON_ONLY: &[&str] = &[
        "sFlowAgentsOverLimit",
        "version",
        "sFlowDecodeErrors",
        "sFlowForwardErrors",
        "tenantForwardErrors",
        "sFlowReceiveBuffer",
        "sFlowDatagramsReplayed",
        "replayFinished",
        "httpRequestsCurrent",
        "httpConnectionsRefused",
        "httpConnectionsEvicted",
        "httpTimeouts",
        "time",
        "updateAvailable",
    ];

    fn shared() -> Shared {
        Shared::new(
            Engine::new(EngineConfig::default()),
            std::sync::Arc::new(EngineClock::new(1.0)),
            HttpSettings {
                prometheus_prefix: "sflow_".into(),
                ..HttpSettings::default()
            },
        )
    }

    #[test]
    fn every_figure_is_in_the_json_and_every_exported_one_in_prometheus() {
        let shared = shared();
        let figures = analyzer_figures(&shared);
        let json = analyzer_json(&shared);
        let text = analyzer_text(&shared);
        let mut keys: Vec<&str> = figures.iter().map(|figure| figure.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), figures.len(), "a JSON name is used twice");
        for figure in &figures {
            assert!(
                json.get(figure.key).is_some(),
                "{} missing from /analyzer/json",
                figure.key
            );
            if figure.families.is_empty() {
                assert!(
                    JSON_ONLY.contains(&figure.key),
                    "{} is exported nowhere: add a Prometheus family or list it in JSON_ONLY",
                    figure.key
                );
                continue;
            }
            assert!(
                !JSON_ONLY.contains(&figure.key),
                "{} is exported but listed in JSON_ONLY",
                figure.key
            );
            assert!(
                figure.value.as_f64().is_some(),
                "{} is not a number",
                figure.key
            );
            for family in figure.families {
                let name = format!("sflow_analyzer_{}", family.suffix);
                assert!(
                    text.contains(&format!("# TYPE {name} {}\n", family.kind.as_str())),
                    "{name} has no TYPE line"
                );
                assert!(
                    text.lines().any(|line| line
                        .split_once(' ')
                        .is_some_and(|(metric, _)| metric == name)),
                    "{name} has no sample"
                );
            }
        }
        for key in JSON_ONLY {
            assert!(
                keys.contains(key),
                "JSON_ONLY names {key}, which is no figure"
            );
        }
    }

    #[test]
    fn the_engines_counters_keep_their_json_names() {
        let shared = shared();
        let figures = analyzer_figures(&shared);
        let engine = serde_json::to_value(shared.engine.read().analyzer()).unwrap_or_default();
        let engine = engine.as_object().cloned().unwrap_or_default();
        assert!(!engine.is_empty());
        for (name, value) in engine {
            let figure = figures.iter().find(|figure| figure.key == name);
            assert_eq!(
                figure.map(|figure| figure.value.to_json()),
                Some(value),
                "{name}"
            );
        }
    }
}
