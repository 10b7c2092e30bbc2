//! Flow definitions and flow queries: `/flow…`, `/activeflows…`, `/flowkeys`, `/flowvalue…`,
//! `/flowlocations…`, and the flow log `/flows/json`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rtflow_engine::{
    ActiveFlowQuery, AgentSelector, AggMode, DataSource, FlowDefinition, QueryError,
};
use rtflow_flowlang::CompiledFlow;
use serde_json::Value;

use super::error::{ApiError, ApiResult, deleted};
use super::longpoll::{FLOW_LOG, long_poll};
use super::metrics::single_agent;
use super::params::{Params, json_body, warn_ignored};
use super::to_json;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let flows = state.engine.read().flows();
    let object: serde_json::Map<String, Value> = flows
        .into_iter()
        .map(|(name, def)| (name, def.to_json()))
        .collect();
    Json(Value::Object(object))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let flow = state.engine.read().flow(&name);
    flow.map(|d| Json(d.to_json()))
        .ok_or_else(|| ApiError::NotFound(format!("flow {name:?} not found")))
}

pub async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    let definition =
        FlowDefinition::from_json_value(&json).map_err(|e| ApiError::bad(e.to_string()))?;
    warn_ignored("flow", &name, &FlowDefinition::ignored_fields(&json));
    if let Ok(compiled) = CompiledFlow::compile(&definition) {
        let unknown = compiled.unknown_keys();
        if !unknown.is_empty() {
            tracing::warn!(
                "flow {name:?}: unknown key(s) {} never match (accepted, as sFlow-RT accepts them)",
                unknown.join(", ")
            );
        }
    }
    let now = state.clock.now();
    state.engine.write().set_flow(now, &name, definition)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_flow(&name);
    deleted(result)
}

pub async fn flow_keys(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now();
    let flow_keys = state.engine.read().flow_keys(now);
    to_json(flow_keys)
}

pub async fn active(
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
pub async fn value(
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

pub async fn locations(
    State(state): State<AppState>,
    Path((agent, name)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let selector = AgentSelector::parse(&agent)?;
    let key = required_key(&params)?;
    let now = state.clock.now();
    let locations = {
        let engine = state.engine.read();
        if engine.flow(&name).is_none() {
            return Err(ApiError::NotFound(format!("flow {name:?} not found")));
        }
        engine.flow_locations(now, &selector, &name, key)
    };
    Ok(to_json(locations))
}

/// `/flows/json`: logged flow records, newest first, long-polling on `flowID`.
pub async fn log(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    long_poll(&state, &params, &FLOW_LOG).await
}
