//! Thresholds (`/threshold…`) and threshold events (`/events/json`, long-poll on `eventID`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rtflow_engine::Threshold;
use serde_json::Value;

use super::error::{ApiError, ApiResult, deleted};
use super::longpoll::{EVENT_LOG, long_poll};
use super::params::{Params, json_body, object_fields, typed};
use super::to_json;
use crate::state::AppState;

const THRESHOLD_FIELDS: &[&str] = &["metric", "value", "byFlow", "timeout", "filter"];

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let thresholds = state.engine.write().thresholds();
    to_json(thresholds)
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let threshold = state.engine.write().threshold(&name);
    threshold
        .map(to_json)
        .ok_or_else(|| ApiError::NotFound(format!("threshold {name:?} not found")))
}

pub async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    object_fields(&json, "threshold", &name, THRESHOLD_FIELDS)?;
    let threshold: Threshold = typed(json, "threshold")?;
    let now = state.clock.now();
    state.engine.write().set_threshold(now, &name, threshold)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_threshold(&name);
    deleted(result)
}

/// `/events/json`: events newest first; with `eventID` (even -1) waits up to `timeout` s for newer ones.
pub async fn events(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    long_poll(&state, &params, &EVENT_LOG).await
}
