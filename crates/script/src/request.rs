//! The HTTP handler contract (spec sflow-rt-apps.md §5.5): what a request to `/app/NAME/scripts/S.js/…` or
//! `/script/ID/…` hands to `setHttpHandler`, and how the handler's result or thrown value becomes a response.

/// A request routed to a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, …
    pub method: String,
    /// The path segments after the script name, without the trailing format segment.
    pub path: Vec<String>,
    /// The last segment: `json`, `txt`, …
    pub format: String,
    /// Query parameters in order (a name may repeat; `req.query` groups them into arrays).
    pub query: Vec<(String, String)>,
    /// The request body, when one was sent.
    pub body: Option<String>,
}

impl ScriptRequest {
    /// Splits the part of the URL path after the script (`flows/json`, `statistics/a/b/txt`, `json`) into
    /// `path` and `format`; `None` for an empty rest.
    pub fn split_rest(rest: &str) -> Option<(Vec<String>, String)> {
        let mut segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let format = segments.pop()?;
        Some((segments, format))
    }
}

/// What the script answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl ScriptResponse {
    /// `undefined` returned: 204 with no body (jQuery treats it as success even with `dataType: 'json'`).
    pub fn no_content() -> Self {
        Self {
            status: 204,
            content_type: "text/plain",
            body: String::new(),
        }
    }

    /// A JSON body (the handler returned an object), 200.
    pub fn json(body: String) -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body,
        }
    }

    /// A text body, 200: HTML when the handler's `format` is `html`, else plain text.
    pub fn text(body: String, format: &str) -> Self {
        Self {
            status: 200,
            content_type: if format == "html" {
                "text/html; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            },
            body,
        }
    }

    /// An error status with a short plain-text explanation.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: message.into(),
        }
    }

    /// A thrown string token (`not_found`, `bad_request`, …) as sFlow-RT maps it: `ERROR_` + the upper-cased
    /// token names the status; unknown tokens are server errors.
    pub fn thrown(token: &str) -> Self {
        let status = match token.trim().to_ascii_lowercase().as_str() {
            "not_found" => 404,
            "bad_request" => 400,
            "forbidden" => 403,
            "conflict" => 409,
            "service_unavailable" => 503,
            _ => 500,
        };
        Self::error(status, token.to_string())
    }
}

/// Why a request could not be handed to a script.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No script has this id.
    #[error("no script {0:?}")]
    NoSuchScript(String),
    /// The script stopped (it failed, or the server is stopping).
    #[error("script {0:?} is not running")]
    NotRunning(String),
    /// The script's request queue is full: it is busy (answered 503).
    #[error("script {0:?} has too many queued requests")]
    QueueFull(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_splits_into_path_and_format() {
        assert_eq!(
            ScriptRequest::split_rest("statistics/cluster/ALL/max:load_one/txt"),
            Some((
                vec![
                    "statistics".into(),
                    "cluster".into(),
                    "ALL".into(),
                    "max:load_one".into()
                ],
                "txt".into()
            ))
        );
        assert_eq!(
            ScriptRequest::split_rest("json"),
            Some((vec![], "json".into()))
        );
        assert_eq!(ScriptRequest::split_rest(""), None);
    }

    #[test]
    fn thrown_tokens_map_to_statuses() {
        let status = |t| ScriptResponse::thrown(t).status;
        assert_eq!(status("not_found"), 404);
        assert_eq!(status("bad_request"), 400);
        assert_eq!(status("service_unavailable"), 503);
        assert_eq!(status("internal_server_error"), 500);
        assert_eq!(status("forbidden"), 403);
        assert_eq!(status("conflict"), 409);
        assert_eq!(status("bad_value"), 500);
        assert_eq!(status("not_fount"), 500);
    }
}
