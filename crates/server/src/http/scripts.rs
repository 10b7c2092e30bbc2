//! Scripts and apps over HTTP: `/app/NAME/scripts/S.js/…` and `/script/ID/…` (to `setHttpHandler`),
//! `/app/NAME/html/…` (static files), `/app/NAME/status`, `/app/NAME/api-docs`, `/apps/json`, `/scripts/json`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use rtflow_script::{RequestError, ScriptHost, ScriptRequest, ScriptResponse};
use serde_json::Value;

use crate::state::AppState;

fn scripts(state: &AppState) -> Option<Arc<ScriptHost>> {
    state.scripts.read().clone()
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// The wildcard routes (handler requests, and the apps' pages unless `html` is off: `http.html=no`); merged
/// outside the read-only guard, as apps' own endpoints decide what a POST means.
pub(super) fn routes(html: bool) -> Router<AppState> {
    let handlers = Router::new()
        .route("/app/{app}/scripts/{script}/{*rest}", any(app_script))
        .route("/script/{id}/{*rest}", any(standalone_script));
    if !html {
        return handlers;
    }
    handlers
        .route("/app/{app}/html", get(html_root))
        .route("/app/{app}/html/", get(html_index))
        .route("/app/{app}/html/{*path}", get(html_file))
        .route("/app/{app}/api", get(api_root))
        .route("/app/{app}/api/", get(api_page))
}

/// `/scripts/json`.
pub(super) async fn scripts_json(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(
        scripts(&state).map_or_else(|| Value::Object(Default::default()), |s| s.scripts_json()),
    )
}

/// `/apps/json`.
pub(super) async fn apps_json(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(scripts(&state).map_or_else(|| Value::Object(Default::default()), |s| s.apps_json()))
}

/// `/app/NAME/status`: `OK` (200) while the app's scripts run without error, `UNAVAILABLE` (503) otherwise,
/// 404 for an unknown app.
pub(super) async fn app_status(State(state): State<AppState>, Path(app): Path<String>) -> Response {
    match scripts(&state).and_then(|s| s.app_ok(&app)) {
        Some(true) => text(StatusCode::OK, "OK"),
        Some(false) => text(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        None => text(StatusCode::NOT_FOUND, format!("no app {app:?}")),
    }
}

/// `/app/NAME/api-docs`: the app's `api.yml` (OpenAPI/Swagger YAML) as shipped, or as JSON when the client
/// asks for `application/json` (rtflow's API explorer at `/app/NAME/api/` does).
pub(super) async fn app_api_docs(
    State(state): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = scripts(&state).and_then(|s| s.app(&app).and_then(rtflow_script::AppSpec::api_docs));
    let Some(path) = path else {
        return text(StatusCode::NOT_FOUND, format!("app {app:?} has no api.yml"));
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read {}: {err}", path.display()),
            );
        }
    };
    if !wants_json(&headers) {
        return ([(header::CONTENT_TYPE, "application/yaml")], bytes).into_response();
    }
    match yaml_serde::from_slice::<Value>(&bytes) {
        Ok(json) => axum::Json(json).into_response(),
        Err(err) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{} is not valid YAML: {err}", path.display()),
        ),
    }
}

/// Whether the `Accept` header asks for JSON (and not YAML).
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    accept.contains("application/json") && !accept.contains("yaml")
}

async fn app_script(
    State(state): State<AppState>,
    Path((app, script, rest)): Path<(String, String, String)>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    forward(
        &state,
        &format!("{app}~{script}"),
        &rest,
        method,
        query,
        body,
    )
    .await
}

async fn standalone_script(
    State(state): State<AppState>,
    Path((id, rest)): Path<(String, String)>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    forward(&state, &id, &rest, method, query, body).await
}

/// Hands a request to the script `id` and waits for its answer.
async fn forward(
    state: &AppState,
    id: &str,
    rest: &str,
    method: Method,
    query: Vec<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(scripts) = scripts(state) else {
        return text(StatusCode::NOT_FOUND, "no scripts are running");
    };
    let Some((path, format)) = ScriptRequest::split_rest(rest) else {
        return text(StatusCode::NOT_FOUND, "missing format (…/json or …/txt)");
    };
    let request = ScriptRequest {
        method: method.as_str().to_string(),
        path,
        format,
        query,
        body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
    };
    let answer = match scripts.request(id, request) {
        Ok(answer) => answer,
        Err(err @ RequestError::NoSuchScript(_)) => {
            return text(StatusCode::NOT_FOUND, err.to_string());
        }
        Err(err) => return text(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    };
    match tokio::time::timeout(scripts.request_timeout(), answer).await {
        Ok(Ok(response)) => script_response(response),
        Ok(Err(_)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("script {id} stopped"),
        ),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("script {id} did not answer in time"),
        ),
    }
}

fn script_response(response: ScriptResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::NO_CONTENT {
        return status.into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, response.content_type)],
        response.body,
    )
        .into_response()
}

async fn html_root(Path(app): Path<String>) -> Redirect {
    Redirect::permanent(&format!("/app/{app}/html/"))
}

async fn api_root(Path(app): Path<String>) -> Redirect {
    Redirect::permanent(&format!("/app/{app}/api/"))
}

/// `/app/NAME/api/`: rtflow's API explorer over the app's `api.yml`, for apps that ship one.
async fn api_page(
    State(state): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let documented = scripts(&state).is_some_and(|s| {
        s.app(&app)
            .and_then(rtflow_script::AppSpec::api_docs)
            .is_some()
    });
    if !documented {
        return text(StatusCode::NOT_FOUND, format!("app {app:?} has no api.yml"));
    }
    crate::ui::page("api/app.html", &headers)
}

async fn html_index(state: State<AppState>, Path(app): Path<String>) -> Response {
    serve_file(&state, &app, "index.html").await
}

async fn html_file(state: State<AppState>, Path((app, path)): Path<(String, String)>) -> Response {
    serve_file(&state, &app, &path).await
}

async fn serve_file(state: &AppState, app: &str, path: &str) -> Response {
    let file = scripts(state).and_then(|s| s.html_file(app, path));
    let Some(file) = file else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no file {path:?} in app {app:?}"),
        );
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            let kind = crate::ui::content_type(&file.to_string_lossy());
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            response
        }
        Err(err) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {path}: {err}"),
        ),
    }
}
