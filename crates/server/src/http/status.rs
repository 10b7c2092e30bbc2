//! `/version`, `/status`, `/analyzer/json`, `/agents/json`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::procstats;
use crate::state::{AppState, RuntimeStats, Shared};

pub async fn version() -> &'static str {
    crate::VERSION
}

pub async fn status() -> &'static str {
    "OK"
}

pub async fn analyzer(State(state): State<AppState>) -> Json<Value> {
    Json(analyzer_json(&state))
}

/// The `/analyzer/json` object: the engine's counters plus process, socket and HTTP statistics.
pub fn analyzer_json(state: &Shared) -> Value {
    let engine_stats = state.engine.lock().analyzer();
    let mut object = match serde_json::to_value(engine_stats) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let stats = &state.stats;
    let get = RuntimeStats::get;
    let extra = json!({
        "version": crate::VERSION,
        "sFlowDatagramsDropped": get(&stats.kernel_drops),
        "sFlowDecodeErrors": object.get("sFlowDatagramsDiscarded").cloned().unwrap_or(json!(0)),
        "sFlowDatagramsForwarded": get(&stats.forwarded),
        "sFlowForwardErrors": get(&stats.forward_errors),
        "sFlowDatagramsLooped": get(&stats.looped),
        "tenantDatagramsForwarded": get(&stats.tenant_forwarded),
        "tenantForwardErrors": get(&stats.tenant_forward_errors),
        "sFlowReceiveBuffer": get(&stats.receive_buffer),
        "sFlowDatagramsReplayed": get(&stats.replayed),
        "replayFinished": stats.replay_done.load(std::sync::atomic::Ordering::Relaxed),
        "cpuLoadProcess": get(&stats.process_cpu_load_millis) as f64 / 1000.0,
        "cpuLoadSystem": get(&stats.system_cpu_load_millis) as f64 / 1000.0,
        "heapUsed": procstats::resident_bytes().unwrap_or(0),
        "heapMax": procstats::total_memory_bytes().unwrap_or(0),
        "httpConnectionsCurrent": get(&stats.http_connections_current),
        "httpConnectionsTotal": get(&stats.http_connections_total),
        "httpRequestsCurrent": get(&stats.http_requests_current),
        "httpConnectionsRefused": get(&stats.http_connections_refused),
        "httpConnectionsEvicted": get(&stats.http_connections_evicted),
        "httpTimeouts": get(&stats.http_timeouts),
        "uptime": state.started.elapsed().as_millis() as u64,
        "time": state.clock.now(),
        "updateAvailable": false,
    });
    if let Value::Object(extra) = extra {
        object.extend(extra);
    }
    Value::Object(object)
}

pub async fn agents(
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
    let agents = state.engine.lock().agents(now, &only);
    Ok(super::to_json(agents))
}
