//! Flow queries: `/activeflows…`, `/flowkeys`, `/flowvalue…`, `/flowlocations…`, and the flow log
//! `/flows/json` (flow definitions themselves are in `registry.rs`).

use axum::Json;
use axum::extract::{Path, Query, State};
use rtflow_engine::{ActiveFlowQuery, AgentSelector, AggMode, DataSource, QueryError};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::longpoll::{FLOW_LOG, long_poll};
use super::metrics::single_agent;
use super::params::Params;
use super::to_json;
use crate::state::AppState;

pub(super) async fn flow_keys(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now();
    let flow_keys = state.engine.read().flow_keys(now);
    to_json(flow_keys)
}

pub(super) async fn active(
    State(state): State<AppState>,
    Path((agent, name)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let mut query = ActiveFlowQuery::default();
    if let Some(max) = params.parse("maxFlows", "a non-negative integer")? {
        query.max_flows = max;
    }
    if let Some(min) = params.parse::<f64>("minValue", "a number")? {
        if !min.is_finite() {
            return Err(ApiError::bad("minValue: must be a finite number"));
        }
        query.min_value = min;
    }
    if let Some(mode) = params.get("aggMode") {
        query.agg_mode = Some(
            AggMode::parse(mode)
                .ok_or_else(|| ApiError::from(QueryError::InvalidAggMode(mode.to_string())))?,
        );
    }
    query.key_filter = params.get("filter").map(str::to_string);
    let now = state.clock.now();
    let flows = state
        .engine
        .read()
        .active_flows(now, &selector, &name, &query);
    match flows {
        Ok(flows) => Ok(to_json(flows)),
        // An unknown flow has no active flows: `[]`, as sFlow-RT answers.
        Err(err) if err.is_not_found() => Ok(Json(Value::Array(Vec::new()))),
        Err(err) => Err(err.into()),
    }
}

fn required_key(params: &Params) -> ApiResult<&str> {
    params
        .get("key")
        .ok_or_else(|| ApiError::bad("key: required query parameter is missing"))
}

/// `/flowvalue/{agent}/{dataSource}.{flow}/json?key=…`: the flow's current value (a number).
pub(super) async fn value(
    State(state): State<AppState>,
    Path((agent, name)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let ip = single_agent(&agent)?;
    let (source, flow) = name.rsplit_once('.').ok_or_else(|| {
        ApiError::bad(format!(
            "name: expected <dataSource>.<flow> (e.g. 3.tcp), got {name:?}"
        ))
    })?;
    let source: DataSource = source
        .parse()
        .map_err(|_| ApiError::bad(format!("name: invalid data source {source:?}")))?;
    let key = required_key(&params)?;
    let now = state.clock.now();
    let found = state.engine.read().flow_value(now, ip, source, flow, key);
    found
        .map(|f| to_json(f.value))
        .ok_or_else(|| ApiError::NotFound(format!("flow {name:?} key {key:?} not found")))
}

pub(super) async fn locations(
    State(state): State<AppState>,
    Path((agent, name)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let key = required_key(&params)?;
    let now = state.clock.now();
    let locations = {
        let engine = state.engine.read();
        if engine.object::<rtflow_engine::Flows>(&name).is_none() {
            return Err(ApiError::NotFound(format!("flow {name:?} not found")));
        }
        engine.flow_locations(now, &selector, &name, key)
    };
    Ok(to_json(locations))
}

/// `/flows/json`: logged flow records, newest first, long-polling on `flowID`.
pub(super) async fn log(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    long_poll(&state, &params, &FLOW_LOG).await
}
