//! Request bodies within limits: a body announced larger than [`MAX_BODY_BYTES`] is refused at once with 413,
//! and a body must arrive within the body timeout, else 408. Both close the connection.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::MAX_BODY_BYTES;
use crate::state::{AppState, RuntimeStats};

/// Reads the request body (at most [`MAX_BODY_BYTES`]) within the body timeout before the handler runs.
pub(super) async fn bounded_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if let Some(length) = announced.filter(|&length| length > MAX_BODY_BYTES as u64) {
        return closing(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body of {length} bytes is larger than the limit of {MAX_BODY_BYTES} bytes"
            ),
        );
    }
    let (parts, body) = request.into_parts();
    let timeout = state.http.limits.body_timeout;
    let bytes = match tokio::time::timeout(timeout, collect(body)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(BodyProblem::TooLarge)) => {
            return closing(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than the limit of {MAX_BODY_BYTES} bytes"),
            );
        }
        Ok(Err(BodyProblem::Read(err))) => {
            return closing(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {err}"),
            );
        }
        Err(_) => {
            RuntimeStats::add(&state.stats.http_timeouts, 1);
            return closing(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    timeout.as_secs_f64()
                ),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

enum BodyProblem {
    TooLarge,
    Read(axum::Error),
}

async fn collect(body: Body) -> Result<Bytes, BodyProblem> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyProblem::Read)?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyProblem::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// A JSON error that also ends the connection (the rest of the body is not read).
fn closing(status: StatusCode, message: String) -> Response {
    let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
