//! `/history/activeflows/{agent}/json` and `/history/trend/{agent}/json`: flows over a past range, answered by
//! ClickHouse (see `rtflow_history::query`).

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use rtflow_history::query::{self, HistoryRequest, Plan};

use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::history::History;
use crate::state::AppState;

/// Response header naming the table that answered.
const TABLE_HEADER: &str = "x-rtflow-history-table";
/// Default `maxFlows`.
const DEFAULT_MAX_FLOWS: usize = 20;
/// Default range: the last hour.
const DEFAULT_RANGE_MS: u64 = 3_600_000;

fn history(state: &AppState) -> ApiResult<&History> {
    state.history.as_deref().ok_or_else(|| {
        ApiError::NotFound(
            "flow history is off: start rtflow serve with --clickhouse URL (clickhouse.url)".into(),
        )
    })
}

/// The request for `agent` and the parameters; relative times (`now`, `-1h`) count from `now`, the engine clock
/// that stamps the rows (the wall clock, but for a replay faster than real time).
fn request(agent: &str, params: &Params, now: u64) -> ApiResult<HistoryRequest> {
    let agents = match agent.trim() {
        "ALL" | "" => Vec::new(),
        list => list
            .split(',')
            .map(|a| {
                a.trim().parse::<IpAddr>().map_err(|_| {
                    ApiError::bad(format!("agent: expected ALL or IP addresses, got {a:?}"))
                })
            })
            .collect::<ApiResult<Vec<_>>>()?,
    };
    let keys = params
        .get("keys")
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| ApiError::bad("keys: required (e.g. keys=ipsource,ipdestination)"))?;
    let time = |name: &str| -> ApiResult<Option<u64>> {
        params
            .get(name)
            .map(|t| query::parse_time(t, now).map_err(|e| ApiError::bad(format!("{name}: {e}"))))
            .transpose()
    };
    let to_ms = time("to")?.unwrap_or(now);
    let from_ms = time("from")?.unwrap_or(to_ms.saturating_sub(DEFAULT_RANGE_MS));
    Ok(HistoryRequest {
        keys: keys.split(',').map(|k| k.trim().to_string()).collect(),
        value: params.get("value").unwrap_or("bytes").to_string(),
        filter: params.get("filter").map(str::to_string),
        agents,
        from_ms,
        to_ms,
        max_flows: params
            .parse("maxFlows", "a positive integer")?
            .unwrap_or(DEFAULT_MAX_FLOWS),
        step: params.parse("step", "seconds")?.unwrap_or(0),
        table: params.get("table").map(str::to_string),
    })
}

async fn rows(history: &History, plan: &Plan) -> ApiResult<Vec<Vec<serde_json::Value>>> {
    history.client.query_rows(&plan.sql).await.map_err(|err| {
        tracing::warn!("history query failed: {err}");
        ApiError::Unavailable(format!("history query failed: {err}"))
    })
}

fn with_table(mut response: Response, plan: &Plan) -> Response {
    response
        .headers_mut()
        .insert(TABLE_HEADER, HeaderValue::from_static(plan.table));
    response
}

pub(super) async fn activeflows(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let history = history(&state)?;
    let request = request(&agent, &params, state.clock.now())?;
    let plan = query::plan_top(&request, &history.layout).map_err(|e| ApiError::bad(e.0))?;
    let rows = rows(history, &plan).await?;
    let flows = query::top_flows(&plan, &rows);
    Ok(with_table(Json(flows).into_response(), &plan))
}

pub(super) async fn trend(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let history = history(&state)?;
    let request = request(&agent, &params, state.clock.now())?;
    let plan = query::plan_trend(&request, &history.layout).map_err(|e| ApiError::bad(e.0))?;
    let rows = rows(history, &plan).await?;
    let trend = query::trend(&plan, &rows);
    Ok(with_table(Json(trend).into_response(), &plan))
}
