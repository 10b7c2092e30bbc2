//! `/version`, `/status`, `/analyzer/json`, `/license/json`, `/agents/json`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Query, State};
use rtflow_engine::{AgentSelector, MetricSpec, MetricValue, QueryFilter};
use serde_json::{Value, json};

use super::analyzer::analyzer_json;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::procstats;
use crate::state::{AppState, Shared};

/// `/version`: sFlow-RT's `major.minor-build` form (`3.1-1714`), which clients parse; rtflow's own version string
/// is in `/analyzer/json`.
pub(super) async fn version() -> String {
    sflow_rt_version(crate::VERSION)
}

/// `0.1.0` → `0.1-0`; a pre-release or build suffix (`0.2.0-rc1`) is dropped.
pub(crate) fn sflow_rt_version(semver: &str) -> String {
    let core = semver.split(['-', '+']).next().unwrap_or(semver);
    let mut parts = core.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    let build = parts.next().unwrap_or("0");
    format!("{major}.{minor}-{build}")
}

/// `/license/json` in sFlow-RT's shape (its status page and clients read it). rtflow needs no licence key: every
/// check passes, nothing expires and there is no bandwidth cap (`max_bps` 0).
pub(super) async fn license(State(state): State<AppState>) -> Json<Value> {
    let host = procstats::host_name().unwrap_or_default();
    let now = state.clock.now();
    let specs: Vec<MetricSpec> = MetricSpec::parse("sum:ifinoctets").into_iter().collect();
    let total =
        state
            .engine
            .read()
            .metric(now, &AgentSelector::All, &specs, &QueryFilter::default());
    // Monitored traffic: the sum of the interfaces' input rates, in bits per second.
    let bps = total
        .first()
        .and_then(|s| s.metric_value.as_ref())
        .and_then(MetricValue::as_f64)
        .map_or(0, |bytes| (bytes * 8.0) as u64);
    Json(json!({
        "license": {
            "type": "production",
            "host": host,
            "host_ok": true,
            "account": "",
            "product": "rtflow",
            "license": "Apache-2.0",
            "max_bps": 0,
            "max_bps_ok": true,
            "expires": 0,
            "expires_ok": true,
        },
        "analyzer": {"host": host, "bps": bps},
    }))
}

/// `/status`: `OK`, or 503 `UNAVAILABLE` while a script or app has failed (as sFlow-RT aggregates its apps).
pub(super) async fn status(
    State(state): State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    let scripts_ok = state.scripts.read().as_ref().is_none_or(|s| s.all_ok());
    if scripts_ok {
        (axum::http::StatusCode::OK, "OK")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
    }
}

pub(super) async fn analyzer(State(state): State<AppState>) -> Json<Value> {
    Json(analyzer_json(&state))
}

/// One line of the main counters, for the status signal (SIGQUIT / SIGUSR1 of `rtflow serve`).
pub(crate) fn status_line(state: &Shared) -> String {
    let analyzer = analyzer_json(state);
    let field = |name: &str| analyzer.get(name).cloned().unwrap_or(Value::Null);
    let fields = [
        "sFlowAgents",
        "sFlowDatagramsReceived",
        "sFlowDatagramsDiscarded",
        "sFlowRecordDecodeErrors",
        "sFlowDatagramsDropped",
        "sFlowDatagramsForwarded",
        "sFlowDatagramsLooped",
        "flowDefinitions",
        "thresholds",
        "httpConnectionsCurrent",
        "httpRequestsCurrent",
        "httpConnectionsRefused",
        "httpConnectionsEvicted",
        "httpTimeouts",
        "heapUsed",
        "uptime",
    ];
    fields
        .iter()
        .map(|name| format!("{name}={}", field(name)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn agents(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let only = params
        .all("agent")
        .map(|a| {
            a.trim()
                .parse::<IpAddr>()
                .map(|ip| ip.to_canonical())
                .map_err(|_| ApiError::bad(format!("agent: expected an IP address, got {a:?}")))
        })
        .collect::<ApiResult<Vec<IpAddr>>>()?;
    let now = state.clock.now();
    let agents = state.engine.read().agents(now, &only);
    Ok(super::to_json(agents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_has_sflow_rt_form() {
        assert_eq!(sflow_rt_version("0.1.0"), "0.1-0");
        assert_eq!(sflow_rt_version("3.1.1714"), "3.1-1714");
        assert_eq!(sflow_rt_version("1.2.3-rc.1+build7"), "1.2-3");
    }
}
