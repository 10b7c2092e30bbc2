//! Threshold events (`/events/json`, long-poll on `eventID`); thresholds themselves are in `registry.rs`.

use axum::Json;
use axum::extract::{Query, State};
use serde_json::Value;

use super::error::ApiResult;
use super::longpoll::{EVENT_LOG, long_poll};
use super::params::Params;
use crate::state::AppState;

/// `/events/json`: events newest first; with `eventID` (even -1) waits up to `timeout` s for newer ones.
pub(super) async fn events(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    long_poll(&state, &params, &EVENT_LOG).await
}
