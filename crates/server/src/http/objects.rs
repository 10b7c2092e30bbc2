//! Address groups, maps, topology, sFlow forwarding sessions and tenants.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rtflow_engine::{Forwarding, Tenant, Topology};
use serde_json::Value;

use super::error::{ApiError, ApiResult, deleted};
use super::params::{json_body, object_fields, typed};
use super::to_json;
use crate::state::AppState;

const FORWARDING_FIELDS: &[&str] = &["address", "port", "agents"];
const TENANT_FIELDS: &[&str] = &["collectorAddress", "collectorPort", "filters"];

/// Forwarding loop guard: a target that is this server's own sFlow socket is a 400 naming `field`.
fn refuse_own_socket(state: &AppState, target: std::net::SocketAddr, field: &str) -> ApiResult<()> {
    let Some(own) = state.own_sflow_socket.get() else {
        return Ok(());
    };
    match crate::loopguard::own_socket_problem(*own, target, &crate::loopguard::local_addresses()) {
        Some(problem) => Err(ApiError::bad(format!("{field}: {problem}"))),
        None => Ok(()),
    }
}

fn not_found(kind: &str, name: &str) -> ApiError {
    ApiError::NotFound(format!("{kind} {name:?} not found"))
}

/// `GET /group/json`: `{name: lastUpdate}` (ms epoch), as sFlow-RT lists groups.
pub async fn groups(State(state): State<AppState>) -> Json<Value> {
    let groups = state.engine.write().group_updates();
    to_json(groups)
}

pub async fn get_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let group = state.engine.write().group(&name);
    group.map(Json).ok_or_else(|| not_found("group", &name))
}

pub async fn put_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    let now = state.clock.now();
    state.engine.write().set_group(now, &name, &json)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_group(&name);
    deleted(result)
}

/// `GET /map/json`: `{name: lastUpdate}` (ms epoch), as sFlow-RT lists maps.
pub async fn maps(State(state): State<AppState>) -> Json<Value> {
    let maps = state.engine.write().map_updates();
    to_json(maps)
}

pub async fn get_map(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let map = state.engine.write().map(&name);
    map.map(Json).ok_or_else(|| not_found("map", &name))
}

pub async fn put_map(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    let now = state.clock.now();
    state.engine.write().set_map(now, &name, &json)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_map(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_map(&name);
    deleted(result)
}

/// `GET /topology/json`: the topology as PUT, plus its `version` (incremented by each PUT).
pub async fn get_topology(State(state): State<AppState>) -> Json<Value> {
    let (topology, version) = {
        let engine = state.engine.write();
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
pub async fn put_topology(State(state): State<AppState>, body: Bytes) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    if !json.is_object() {
        return Err(ApiError::bad("topology must be a JSON object"));
    }
    let topology: Topology = typed(json, "topology")?;
    let now = state.clock.now();
    state.engine.write().set_topology(now, topology)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn forwardings(State(state): State<AppState>) -> Json<Value> {
    let forwardings = state.engine.write().forwardings();
    to_json(forwardings)
}

pub async fn get_forwarding(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let forwarding = state.engine.write().forwarding(&name);
    forwarding
        .map(to_json)
        .ok_or_else(|| not_found("forwarding", &name))
}

pub async fn put_forwarding(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    object_fields(&json, "forwarding", &name, FORWARDING_FIELDS)?;
    let forwarding: Forwarding = typed(json, "forwarding")?;
    refuse_own_socket(&state, forwarding.target(), "address")?;
    state.engine.write().set_forwarding(&name, forwarding)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_forwarding(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_forwarding(&name);
    deleted(result)
}

/// `GET /tenant/json`: `{name: {"samplesForwarded": N, "datagramsForwarded": M}}`, what each tenant's collector
/// has been sent (sFlow-RT documents only "tenant names and the number of samples forwarded").
pub async fn tenants(State(state): State<AppState>) -> Json<Value> {
    let tenants = state.engine.write().tenants();
    to_json(tenants)
}

pub async fn get_tenant(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let tenant = state.engine.write().tenant(&name);
    tenant
        .map(to_json)
        .ok_or_else(|| not_found("tenant", &name))
}

/// `PUT /tenant/{name}/json`. Bad entries are 400s naming their JSON path, e.g. `filters.cidr[0]: …`.
pub async fn put_tenant(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    object_fields(&json, "tenant", &name, TENANT_FIELDS)?;
    let tenant: Tenant = typed(json, "tenant")?;
    refuse_own_socket(&state, tenant.target(), "collectorAddress")?;
    state.engine.write().set_tenant(&name, tenant)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_tenant(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_tenant(&name);
    deleted(result)
}
