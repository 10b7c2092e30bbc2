//! Counter and flow metrics: `/metrics/json`, `/metric/…`, `/dump/…`, `/table/…`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, Query, State};
use rtflow_engine::{AgentSelector, MetricSelection, MetricSpec, QueryFilter, SortSpec};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::to_json;
use crate::state::AppState;

pub(super) fn single_agent(text: &str) -> ApiResult<IpAddr> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::bad(format!("agent: expected one IP address, got {text:?}")))
}

pub(super) async fn metric_names(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now();
    let metric_names = state.engine.read().metric_names(now);
    to_json(metric_names)
}

/// `/metric/{agent}/json`: every metric of one agent; `{}` for an unknown agent, `ALL` or a name that is not
/// an address, as sFlow-RT answers.
pub(super) async fn agent_metrics(
    State(state): State<AppState>,
    Path(agent): Path<String>,
) -> Json<Value> {
    let Ok(ip) = single_agent(&agent) else {
        return Json(Value::Object(serde_json::Map::new()));
    };
    let now = state.clock.now();
    let metrics = state.engine.read().agent_metrics(now, ip);
    metrics.map_or_else(|| Json(Value::Object(serde_json::Map::new())), to_json)
}

pub(super) async fn metric(
    State(state): State<AppState>,
    Path((agent, metric)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let specs = MetricSpec::parse_list(&metric)?;
    let filter = QueryFilter::from_pairs(params.pairs());
    let now = state.clock.now();
    let stats = state.engine.read().metric(now, &selector, &specs, &filter);
    Ok(to_json(stats))
}

pub(super) async fn dump(
    State(state): State<AppState>,
    Path((agent, metric)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let selection = MetricSelection::parse(&metric);
    let filter = QueryFilter::from_pairs(params.pairs());
    let now = state.clock.now();
    let rows = state
        .engine
        .read()
        .dump(now, &selector, &selection, &filter);
    Ok(to_json(rows))
}

pub(super) async fn table(
    State(state): State<AppState>,
    Path((agent, metric)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let (sort, names) = SortSpec::split_table_metrics(&metric)?;
    let filter = QueryFilter::from_pairs(params.pairs());
    let now = state.clock.now();
    let rows = state
        .engine
        .read()
        .table(now, &selector, sort.as_ref(), &names, &filter);
    Ok(to_json(rows))
}
