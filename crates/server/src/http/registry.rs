//! The REST face of the engine's named objects (`rtflow_engine::Registry`): one set of handlers,
//! `GET /{kind}/json` (list), `GET|PUT|POST|DELETE /{kind}/{name}/json`, for flow definitions, thresholds,
//! groups, maps, forwarding sessions and tenants. What differs per kind is how a PUT body becomes the typed
//! object and how the object reads back as JSON ([`RestObject`]).
//!
//! Reads hold the engine for reading only; writes take it for writing just for the engine call.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rtflow_engine::{
    AddressGroup, FlowDefinition, Flows, Forwardings, Groups, LookupMap, Maps, Registry, Tenants,
    Thresholds,
};
use rtflow_flowlang::CompiledFlow;
use serde_json::Value;

use super::error::{ApiError, ApiResult, deleted};
use super::params::{json_body, object_fields, typed, warn_ignored};
use super::to_json;
use crate::state::AppState;

/// How one kind of object crosses the REST API.
pub(crate) trait RestObject: Registry {
    /// The object from a PUT body, or a 400 naming what is wrong.
    fn from_json(state: &AppState, name: &str, json: Value) -> ApiResult<Self::Object>;
    /// The object as `GET /{kind}/{name}/json` returns it.
    fn to_json(object: Self::Object) -> Value;
}

/// `GET /{kind}/json`.
pub(crate) async fn list<R: RestObject>(State(state): State<AppState>) -> Json<Value> {
    let listed = state.engine.read().objects::<R>();
    to_json(listed)
}

/// `GET /{kind}/{name}/json`.
pub(crate) async fn get_one<R: RestObject>(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let object = state.engine.read().object::<R>(&name);
    object
        .map(|object| Json(R::to_json(object)))
        .ok_or_else(|| ApiError::NotFound(format!("{} {name:?} not found", R::KIND)))
}

/// `PUT` (or `POST`) `/{kind}/{name}/json`: creates or replaces.
pub(crate) async fn put<R: RestObject>(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let json = json_body(&body)?;
    let object = R::from_json(&state, &name, json)?;
    let now = state.clock.now();
    state.engine.write().set_object::<R>(now, &name, object)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{kind}/{name}/json` (204 whether or not it existed, as sFlow-RT answers).
pub(crate) async fn delete<R: RestObject>(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let result = state.engine.write().delete_object::<R>(&name);
    deleted(result)
}

fn serialized<T: serde::Serialize>(object: T) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

impl RestObject for Flows {
    fn from_json(_: &AppState, name: &str, json: Value) -> ApiResult<FlowDefinition> {
        let definition =
            FlowDefinition::from_json_value(&json).map_err(|e| ApiError::bad(e.to_string()))?;
        warn_ignored("flow", name, &FlowDefinition::ignored_fields(&json));
        if let Ok(compiled) = CompiledFlow::compile(&definition) {
            let unknown = compiled.unknown_keys();
            if !unknown.is_empty() {
                tracing::warn!(
                    "flow {name:?}: unknown key(s) {} never match (accepted, as sFlow-RT accepts them)",
                    unknown.join(", ")
                );
            }
        }
        Ok(definition)
    }
    fn to_json(object: FlowDefinition) -> Value {
        object.to_json()
    }
}

impl RestObject for Thresholds {
    fn from_json(_: &AppState, name: &str, json: Value) -> ApiResult<Self::Object> {
        object_fields(
            &json,
            "threshold",
            name,
            &["metric", "value", "byFlow", "timeout", "filter"],
        )?;
        typed(json, "threshold")
    }
    fn to_json(object: Self::Object) -> Value {
        serialized(object)
    }
}

impl RestObject for Groups {
    fn from_json(_: &AppState, name: &str, json: Value) -> ApiResult<AddressGroup> {
        Ok(Groups::parse(name, &json)?)
    }
    fn to_json(object: AddressGroup) -> Value {
        object.to_json()
    }
}

impl RestObject for Maps {
    fn from_json(_: &AppState, name: &str, json: Value) -> ApiResult<LookupMap> {
        Ok(Maps::parse(name, &json)?)
    }
    fn to_json(object: LookupMap) -> Value {
        object.to_json()
    }
}

impl RestObject for Forwardings {
    fn from_json(state: &AppState, name: &str, json: Value) -> ApiResult<Self::Object> {
        object_fields(&json, "forwarding", name, &["address", "port", "agents"])?;
        let forwarding: Self::Object = typed(json, "forwarding")?;
        refuse_own_socket(state, forwarding.target(), "address")?;
        Ok(forwarding)
    }
    fn to_json(object: Self::Object) -> Value {
        serialized(object)
    }
}

impl RestObject for Tenants {
    /// Bad entries are 400s naming their JSON path, e.g. `filters.cidr[0]: …`.
    fn from_json(state: &AppState, name: &str, json: Value) -> ApiResult<Self::Object> {
        object_fields(
            &json,
            "tenant",
            name,
            &["collectorAddress", "collectorPort", "filters"],
        )?;
        let tenant: Self::Object = typed(json, "tenant")?;
        refuse_own_socket(state, tenant.target(), "collectorAddress")?;
        Ok(tenant)
    }
    fn to_json(object: Self::Object) -> Value {
        serialized(object)
    }
}

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
