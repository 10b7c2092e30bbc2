//! The topology (`/topology/json`): one document, not a set of named objects (those are in `registry.rs`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use rtflow_engine::Topology;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::params::{json_body, typed};
use crate::state::AppState;

/// `GET /topology/json`: the topology as PUT, plus its `version` (incremented by each PUT).
pub(super) async fn get_topology(State(state): State<AppState>) -> Json<Value> {
    let (topology, version) = {
        let engine = state.engine.read();
        (engine.topology().clone(), engine.topology_version())
    };
    let mut json =
        serde_json::to_value(topology).unwrap_or_else(|_| Value::Object(Default::default()));
    if let Value::Object(object) = &mut json {
        object.insert("version".into(), Value::from(version));
    }
    Json(json)
}

/// `PUT /topology/json`. Unknown fields (`tags`, `dpid`, …) are kept and echoed by GET, as sFlow-RT does.
pub(super) async fn put_topology(
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    if !json.is_object() {
        return Err(ApiError::bad("topology must be a JSON object"));
    }
    let topology: Topology = typed(json, "topology")?;
    let now = state.clock.now();
    state.engine.write().set_topology(now, topology)?;
    Ok(StatusCode::NO_CONTENT)
}
