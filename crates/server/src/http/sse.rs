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
use rtflow_engine::Engine;
use serde::Serialize;
use tokio::sync::watch;

use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::state::{AppState, Shared};

/// Interval of the keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `/events/sse`: threshold events as they fire; `thresholdID` selects one threshold.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let threshold = params.get("thresholdID").map(str::to_string);
    let query = move |engine: &Engine, after| {
        engine.events_after(Some(after), threshold.as_deref(), usize::MAX)
    };
    open(state, &headers, &params, &EVENT_LOG, query)
}

/// `/flows/sse`: flow records of definitions with `log:true` as they are logged; `name` selects one
/// definition.
pub async fn flows(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let name = params.get("name").map(str::to_string);
    let query =
        move |engine: &Engine, after| engine.flows_after(Some(after), name.as_deref(), usize::MAX);
    open(state, &headers, &params, &FLOW_LOG, query)
}

/// What differs between the event log and the flow log.
struct LogKind<T> {
    /// The query parameter of a start position.
    position_parameter: &'static str,
    newest_id: fn(&Engine) -> u64,
    published_ids: fn(&Shared) -> &watch::Sender<u64>,
    id_of: fn(&T) -> u64,
}

const EVENT_LOG: LogKind<rtflow_engine::Event> = LogKind {
    position_parameter: "eventID",
    newest_id: Engine::last_event_id,
    published_ids: published_event_ids,
    id_of: event_id,
};

const FLOW_LOG: LogKind<rtflow_engine::FlowRecord> = LogKind {
    position_parameter: "flowID",
    newest_id: Engine::last_flow_id,
    published_ids: published_flow_ids,
    id_of: flow_id,
};

fn published_event_ids(shared: &Shared) -> &watch::Sender<u64> {
    &shared.last_event_id
}

fn published_flow_ids(shared: &Shared) -> &watch::Sender<u64> {
    &shared.last_flow_id
}

fn event_id(event: &rtflow_engine::Event) -> u64 {
    event.event_id
}

fn flow_id(record: &rtflow_engine::FlowRecord) -> u64 {
    record.flow_id
}

/// Validates the start position and opens the stream of one log.
fn open<T, Q>(
    state: AppState,
    headers: &HeaderMap,
    params: &Params,
    kind: &LogKind<T>,
    query: Q,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>> + use<T, Q>>>
where
    T: Serialize + Send + 'static,
    Q: Fn(&Engine, u64) -> Vec<T> + Send + 'static,
{
    let newest = (kind.newest_id)(&state.engine.lock());
    let after = start_after(headers, params, kind.position_parameter, newest)?;
    let changes = (kind.published_ids)(&state).subscribe();
    let feed = Feed {
        state,
        changes,
        after,
        pending: VecDeque::new(),
        query,
        id_of: kind.id_of,
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
struct Feed<T, Q> {
    state: AppState,
    /// The newest id published by the ticker; changes wake the stream.
    changes: watch::Receiver<u64>,
    /// The id of the last entry sent (or the start position).
    after: u64,
    /// Entries found but not yet sent, oldest first.
    pending: VecDeque<T>,
    /// Entries newer than an id, newest first (the engine's long-poll query).
    query: Q,
    id_of: fn(&T) -> u64,
}

impl<T, Q> Feed<T, Q>
where
    T: Serialize + Send + 'static,
    Q: Fn(&Engine, u64) -> Vec<T> + Send + 'static,
{
    fn into_sse(self) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
        let stream = futures_util::stream::unfold(self, |mut feed| async move {
            let entry = feed.next_entry().await?;
            let id = (feed.id_of)(&entry);
            let data = serde_json::to_string(&entry).unwrap_or_default();
            Some((Ok(Event::default().id(id.to_string()).data(data)), feed))
        });
        Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
    }

    /// The next entry to send, waiting for one as long as it takes; `None` ends the stream (shutdown).
    async fn next_entry(&mut self) -> Option<T> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(entry);
            }
            if self.state.is_shutting_down() {
                return None;
            }
            // Mark the published id seen before querying, so an id published after the query wakes us.
            self.changes.borrow_and_update();
            let newest_first = (self.query)(&self.state.engine.lock(), self.after);
            if let Some(newest) = newest_first.first() {
                self.after = (self.id_of)(newest);
                self.pending.extend(newest_first.into_iter().rev());
                continue;
            }
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                () = self.state.stopped() => return None,
            }
        }
    }
}
