//! Query-string and request-body helpers that turn bad input into 400s naming the offending field.

use std::str::FromStr;

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// Query parameters in order, repeated keys kept.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(transparent)]
pub(super) struct Params(pub Vec<(String, String)>);

impl Params {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses an optional parameter; a present but unparsable value is a 400 naming the parameter.
    pub(super) fn parse<T: FromStr>(&self, name: &str, expected: &str) -> ApiResult<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => {
                text.trim().parse().map(Some).map_err(|_| {
                    ApiError::bad(format!("{name}: expected {expected}, got {text:?}"))
                })
            }
        }
    }

    pub(super) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Parses a request body as JSON.
pub(super) fn json_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid JSON: {e}")))
}

/// Requires a JSON object and logs (as a warning) the fields outside `known`, which are ignored, as sFlow-RT
/// ignores them.
pub(super) fn object_fields(
    value: &Value,
    what: &str,
    name: &str,
    known: &[&str],
) -> ApiResult<()> {
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad(format!("{what} must be a JSON object")))?;
    let ignored: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    warn_ignored(what, name, &ignored);
    Ok(())
}

/// Logs the fields of a PUT body that were ignored.
pub(super) fn warn_ignored(what: &str, name: &str, ignored: &[&str]) {
    if !ignored.is_empty() {
        tracing::warn!(
            "{what} {name:?}: ignoring unknown field(s) {}",
            ignored.join(", ")
        );
    }
}

/// Deserializes with the path of the offending field in the error (`links.L1.node1: invalid type …`).
pub(super) fn typed<T: DeserializeOwned>(value: Value, what: &str) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            ApiError::bad(format!("{what}: {inner}"))
        } else {
            ApiError::bad(format!("{path}: {inner}"))
        }
    })
}

/// Long-poll `timeout` parameter in seconds (default 0 = answer at once), capped.
pub(super) fn timeout_param(params: &Params) -> ApiResult<std::time::Duration> {
    const MAX_TIMEOUT_S: f64 = 3600.0;
    let seconds: f64 = params
        .parse("timeout", "a number of seconds")?
        .unwrap_or(0.0);
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(ApiError::bad(format!(
            "timeout: expected a non-negative number of seconds, got {seconds}"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(
        seconds.min(MAX_TIMEOUT_S),
    ))
}

/// A long-poll position (`eventID` / `flowID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    /// Only entries with a larger id are wanted; `None` (id -1) wants every entry.
    pub after: Option<u64>,
    /// Whether to wait for `timeout` when nothing qualifies. A client that names a position (even -1, the
    /// first call of the sFlow-RT long-poll loop) waits; without the parameter the answer comes at once.
    pub wait: bool,
}

pub(super) fn position_param(params: &Params, name: &str) -> ApiResult<Position> {
    let id: Option<i64> = params.parse(name, "an integer")?;
    Ok(Position {
        after: id.and_then(|id| u64::try_from(id).ok()),
        wait: id.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn parse_names_the_parameter() {
        let p = params(&[("maxFlows", "ten")]);
        let err = p.parse::<usize>("maxFlows", "an integer");
        assert!(matches!(&err, Err(ApiError::BadRequest(m)) if m.starts_with("maxFlows:")));
        assert_eq!(p.parse::<usize>("minValue", "a number"), Ok(None));
    }

    #[test]
    fn positions_and_timeouts() {
        assert_eq!(
            position_param(&params(&[("eventID", "-1")]), "eventID"),
            Ok(Position {
                after: None,
                wait: true
            })
        );
        assert_eq!(
            position_param(&params(&[("eventID", "7")]), "eventID"),
            Ok(Position {
                after: Some(7),
                wait: true
            })
        );
        assert_eq!(
            position_param(&params(&[]), "eventID"),
            Ok(Position {
                after: None,
                wait: false
            })
        );
        assert!(position_param(&params(&[("eventID", "x")]), "eventID").is_err());
        assert_eq!(
            timeout_param(&params(&[("timeout", "1.5")])),
            Ok(std::time::Duration::from_millis(1500))
        );
        assert!(timeout_param(&params(&[("timeout", "-1")])).is_err());
        assert!(timeout_param(&params(&[("timeout", "NaN")])).is_err());
    }

    #[test]
    fn unknown_fields_are_ignored_but_not_a_non_object() {
        let value = serde_json::json!({"metric": "x", "valu": 1});
        assert_eq!(
            object_fields(&value, "threshold", "t", &["metric", "value"]),
            Ok(())
        );
        let err = object_fields(&serde_json::json!([1]), "threshold", "t", &["metric"]);
        assert!(matches!(&err, Err(ApiError::BadRequest(m)) if m.contains("JSON object")));
    }
}
