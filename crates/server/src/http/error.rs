//! API errors: a status code and a JSON body `{"error": "<message>"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rtflow_engine::{EngineError, QueryError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum ApiError {
    /// 400: bad JSON, unknown keys, bad values or parameters; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// 404: unknown name or path.
    #[error("{0}")]
    NotFound(String),
    /// 403: a change refused in read-only mode.
    #[error("read-only mode: changes are not allowed")]
    ReadOnly,
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503: a backend (ClickHouse) did not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub(super) fn bad(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub(super) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::ReadOnly => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        if err.is_not_found() {
            ApiError::NotFound(err.to_string())
        } else {
            ApiError::BadRequest(err.to_string())
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        ApiError::BadRequest(err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// A DELETE's answer: 204 whether or not the object existed, as sFlow-RT answers (deleting is idempotent);
/// other errors stay errors.
pub(super) fn deleted(result: Result<(), EngineError>) -> ApiResult<StatusCode> {
    match result {
        Err(err) if !err.is_not_found() => Err(err.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
