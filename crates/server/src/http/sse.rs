//! Server-sent event streams (sFlow-RT 3.2+): `/events/sse` pushes every threshold event and `/flows/sse`
//! every logged flow record as it happens, oldest first. Each message is `id: <eventID|flowID>` plus
//! `data: <the same object /events/json or /flows/json returns>`.
//!
//! Where a stream starts: after the id in a `Last-Event-ID` header (a browser `EventSource` sends it when
//! it reconnects, so nothing is missed or repeated while the entries are still buffered), else after the
//! `eventID` / `flowID` query parameter (`-1` or `0`: replay the buffer first), else at the newest entry
//! (only what happens from now on). Filters as the JSON endpoints: `thresholdID` and `name`. A comment
//! line every 15 s keeps idle connections open through proxies; the streams end at shutdown.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::longpoll::{EVENT_LOG, FLOW_LOG, LogKind, LogQuery, Wait, wait_for_newer};
use super::params::Params;
use crate::state::AppState;

/// Interval of the keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `/events/sse`: threshold events as they fire; `thresholdID` selects one threshold.
pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    open(state, &headers, &params, &EVENT_LOG)
}

/// `/flows/sse`: flow records of definitions with `log:true` as they are logged; `name` selects one
/// definition.
pub(super) async fn flows(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    open(state, &headers, &params, &FLOW_LOG)
}

/// Validates the start position and opens the stream of one log.
fn open<T>(
    state: AppState,
    headers: &HeaderMap,
    params: &Params,
    log: &'static LogKind<T>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>> + use<T>>>
where
    T: Serialize + Send + 'static,
{
    let newest = (log.newest_id)(&state.engine.write());
    let after = start_after(headers, params, log.position_parameter, newest)?;
    let feed = Feed {
        state,
        log,
        filter: params.get(log.filter_parameter).map(str::to_string),
        after,
        pending: VecDeque::new(),
    };
    Ok(feed.into_sse())
}

/// The id the stream starts after: `Last-Event-ID`, else the query parameter (negative = 0), else `newest`.
fn start_after(
    headers: &HeaderMap,
    params: &Params,
    parameter: &str,
    newest: u64,
) -> ApiResult<u64> {
    if let Some(value) = headers.get("last-event-id") {
        return value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::bad(format!(
                    "Last-Event-ID: expected a non-negative integer, got {value:?}"
                ))
            });
    }
    let requested: Option<i64> = params.parse(parameter, "an integer")?;
    Ok(requested.map_or(newest, |id| u64::try_from(id).unwrap_or(0)))
}

/// One subscriber's position in the event or flow log.
struct Feed<T: 'static> {
    state: AppState,
    log: &'static LogKind<T>,
    filter: Option<String>,
    /// The id of the last entry sent (or the start position).
    after: u64,
    /// Entries found but not yet sent, oldest first.
    pending: VecDeque<T>,
}

impl<T> Feed<T>
where
    T: Serialize + Send + 'static,
{
    fn into_sse(self) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
        let stream = futures_util::stream::unfold(self, |mut feed| async move {
            let entry = feed.next_entry().await?;
            let id = (feed.log.id_of)(&entry);
            let data = serde_json::to_string(&entry).unwrap_or_default();
            Some((Ok(Event::default().id(id.to_string()).data(data)), feed))
        });
        Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
    }

    /// The next entry to send, waiting for one as long as it takes; `None` ends the stream (shutdown).
    async fn next_entry(&mut self) -> Option<T> {
        if self.pending.is_empty() {
            let query = LogQuery {
                after: Some(self.after),
                filter: self.filter.as_deref(),
                max: usize::MAX,
            };
            let newest_first = wait_for_newer(&self.state, self.log, &query, Wait::Forever).await;
            if let Some(newest) = newest_first.first() {
                self.after = (self.log.id_of)(newest);
            }
            self.pending.extend(newest_first.into_iter().rev());
        }
        self.pending.pop_front()
    }
}
