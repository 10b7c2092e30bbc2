//! The REST API (spec §1): routing, middleware and serving. Handlers live in the submodules.

mod analyzer;
mod api_docs;
mod conn;
mod error;
mod events;
mod flows;
mod history;
mod limits;
mod longpoll;
mod metrics;
mod objects;
mod params;
mod prometheus;
mod registry;
mod scripts;
mod sse;
mod status;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use serde_json::Value;

use crate::state::AppState;
pub(crate) use conn::raise_open_file_limit;
use error::ApiError;
use rtflow_engine::{Flows, Forwardings, Groups, Maps, Tenants, Thresholds};
pub(crate) use status::status_line;

/// Largest accepted request body (flow definitions, thresholds, topologies…); larger gets 413.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// Serializes a handler's answer; callers release the engine lock first so serialization happens outside it.
fn to_json<T: serde::Serialize>(value: T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or(Value::Null))
}

/// The router plus the list of routed paths (checked against `/api-docs` in tests).
struct RouteTable {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl RouteTable {
    fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.paths.push(path);
        self.router = self.router.route(path, methods);
        self
    }

    /// The routes of one kind of named object: `{list}` (`/group/json`) and `{one}` (`/group/{name}/json`).
    fn objects<R: registry::RestObject + 'static>(
        self,
        list: &'static str,
        one: &'static str,
    ) -> Self {
        self.route(list, get(registry::list::<R>)).route(
            one,
            get(registry::get_one::<R>)
                .put(registry::put::<R>)
                .post(registry::put::<R>)
                .delete(registry::delete::<R>),
        )
    }
}

fn routes() -> RouteTable {
    RouteTable::new()
        .route("/version", get(status::version))
        .route("/status", get(status::status))
        .route("/api-docs", get(api_docs::api_docs))
        .route("/analyzer/json", get(status::analyzer))
        .route("/license/json", get(status::license))
        .route("/agents/json", get(status::agents))
        .route("/metrics/json", get(metrics::metric_names))
        .route("/metric/{agent}/json", get(metrics::agent_metrics))
        .route("/metric/{agent}/{metric}/json", get(metrics::metric))
        .route("/dump/{agent}/{metric}/json", get(metrics::dump))
        .route("/table/{agent}/{metric}/json", get(metrics::table))
        .route("/flowkeys/json", get(flows::flow_keys))
        .objects::<Flows>("/flow/json", "/flow/{name}/json")
        .route("/activeflows/{agent}/{name}/json", get(flows::active))
        .route("/flowvalue/{agent}/{name}/json", get(flows::value))
        .route("/flowlocations/{agent}/{name}/json", get(flows::locations))
        .route("/flows/json", get(flows::log))
        .route("/flows/sse", get(sse::flows))
        .objects::<Thresholds>("/threshold/json", "/threshold/{name}/json")
        .route("/events/json", get(events::events))
        .route("/events/sse", get(sse::events))
        .objects::<Groups>("/group/json", "/group/{name}/json")
        .objects::<Maps>("/map/json", "/map/{name}/json")
        .route(
            "/topology/json",
            get(objects::get_topology)
                .put(objects::put_topology)
                .post(objects::put_topology),
        )
        .objects::<Forwardings>("/forwarding/json", "/forwarding/{name}/json")
        .objects::<Tenants>("/tenant/json", "/tenant/{name}/json")
        .route(
            "/prometheus/metrics/{agent}/{metric}/txt",
            get(prometheus::metrics),
        )
        .route("/prometheus/analyzer/txt", get(prometheus::analyzer))
        .route(
            "/history/activeflows/{agent}/json",
            get(history::activeflows),
        )
        .route("/history/trend/{agent}/json", get(history::trend))
        // Scripts and apps (the handler and static-file routes are merged in `app`).
        .route("/scripts/json", get(scripts::scripts_json))
        .route("/apps/json", get(scripts::apps_json))
        .route("/app/{name}/status", get(scripts::app_status))
        .route("/app/{name}/api-docs", get(scripts::app_api_docs))
}

/// sFlow-RT's `major.minor-build` version string (`/version`, scripts' `version()`).
pub(crate) fn sflow_rt_version() -> String {
    status::sflow_rt_version(crate::VERSION)
}

/// The complete application.
pub(crate) fn app(state: AppState) -> Router {
    let table = routes();
    table
        .router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            readonly_guard,
        ))
        .merge(scripts::routes(state.http.html))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::bounded_body,
        ))
        .layer(middleware::map_response(json_client_errors))
        // The web UI, /api/ and /inc/: pages and files, so their errors stay plain text (none with http.html=no).
        .merge(if state.http.html {
            crate::ui::router(state.http.inc.clone(), &state.http.home)
        } else {
            axum::Router::new()
        })
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Serves the API until shutdown begins ([`crate::state::Shared::begin_shutdown`]).
pub(crate) async fn serve(listener: tokio::net::TcpListener, state: AppState) {
    conn::serve(listener, app(state.clone()), state).await;
}

/// `http.log`: one line per request with its status and duration.
async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.http.log_requests {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let uri = request.uri().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        "{method} {uri} {} {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    response
}

async fn readonly_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let changes = matches!(
        *request.method(),
        Method::PUT | Method::POST | Method::DELETE | Method::PATCH
    );
    if state.http.readonly && changes {
        return ApiError::ReadOnly.into_response();
    }
    next.run(request).await
}

/// Gives axum's plain-text rejections (bad query string, 413 body too large, …) the API's JSON error body.
async fn json_client_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_string();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_string();
    }
    let mut json = (status, Json(serde_json::json!({ "error": message }))).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// A method the path does not route. OPTIONS is answered 200 (as sFlow-RT does); axum adds the `Allow` header.
async fn method_not_allowed(method: Method) -> Response {
    if method == Method::OPTIONS {
        return axum::http::StatusCode::OK.into_response();
    }
    ApiError::MethodNotAllowed.into_response()
}

async fn unknown_path(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_path_is_documented_and_nothing_else() {
        let docs = api_docs::document();
        let documented: Vec<&str> = docs["paths"]
            .as_object()
            .map(|paths| paths.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let routed = routes().paths;
        for path in &routed {
            assert!(
                documented.contains(path),
                "{path} is routed but not in /api-docs"
            );
        }
        for path in &documented {
            assert!(
                routed.contains(path),
                "{path} is in /api-docs but not routed"
            );
        }
        assert_eq!(routed.len(), documented.len());
    }
}
