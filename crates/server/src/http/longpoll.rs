//! The server's two logs, threshold events and logged flows, and how clients wait on them: the long-poll
//! protocol of `/events/json` and `/flows/json` (spec §1.5) and the `/events/sse` / `/flows/sse` streams.
//! Without a position the newest entries come back at once; with one (including -1, "anything"), the
//! request waits (up to `timeout`) until newer entries exist, so the sFlow-RT client loop (`eventID=-1`,
//! then the newest id seen) never spins. A position ahead of the newest id counts as -1.

use axum::Json;
use rtflow_engine::{Engine, Event, FlowRecord};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::error::ApiResult;
use super::params::{Params, position_param, timeout_param};
use super::to_json;
use crate::state::Shared;

/// Default `maxEvents` / `maxFlows`.
const DEFAULT_MAX_ENTRIES: usize = 100;

/// What differs between the event log and the flow log.
pub(super) struct LogKind<T> {
    /// The query parameters: start position (`eventID`), most entries (`maxEvents`), filter (`thresholdID`).
    pub position_parameter: &'static str,
    max_parameter: &'static str,
    pub filter_parameter: &'static str,
    pub newest_id: fn(&Engine) -> u64,
    /// Where the ticker publishes the newest id.
    published_ids: fn(&Shared) -> &watch::Sender<u64>,
    pub id_of: fn(&T) -> u64,
    /// Entries newer than an id (all when `None`) that pass the filter, newest first, at most `max`.
    entries_after: fn(&Engine, Option<u64>, Option<&str>, usize) -> Vec<T>,
}

pub(super) const EVENT_LOG: LogKind<Event> = LogKind {
    position_parameter: "eventID",
    max_parameter: "maxEvents",
    filter_parameter: "thresholdID",
    newest_id: Engine::last_event_id,
    published_ids: published_event_ids,
    id_of: event_id,
    entries_after: Engine::events_after,
};

pub(super) const FLOW_LOG: LogKind<FlowRecord> = LogKind {
    position_parameter: "flowID",
    max_parameter: "maxFlows",
    filter_parameter: "name",
    newest_id: Engine::last_flow_id,
    published_ids: published_flow_ids,
    id_of: flow_id,
    entries_after: Engine::flows_after,
};

fn published_event_ids(shared: &Shared) -> &watch::Sender<u64> {
    &shared.last_event_id
}

fn published_flow_ids(shared: &Shared) -> &watch::Sender<u64> {
    &shared.last_flow_id
}

fn event_id(event: &Event) -> u64 {
    event.event_id
}

fn flow_id(record: &FlowRecord) -> u64 {
    record.flow_id
}

/// Which entries a query wants.
pub(super) struct LogQuery<'a> {
    /// Only entries newer than this id (`None`: any).
    pub after: Option<u64>,
    pub filter: Option<&'a str>,
    pub max: usize,
}

/// How long [`wait_for_newer`] may wait for a matching entry.
pub(super) enum Wait {
    No,
    Until(Instant),
    /// Until one arrives or the server shuts down (event streams).
    Forever,
}

/// `/events/json` and `/flows/json`: newest first, long-polling on the position parameter.
pub(super) async fn long_poll<T: Serialize>(
    shared: &Shared,
    params: &Params,
    log: &LogKind<T>,
) -> ApiResult<Json<Value>> {
    let position = position_param(params, log.position_parameter)?;
    let timeout = timeout_param(params)?;
    let max = params
        .parse::<usize>(log.max_parameter, "a non-negative integer")?
        .unwrap_or(DEFAULT_MAX_ENTRIES);
    // A position ahead of the newest id (a client that kept its id across a server restart) asks for the
    // latest entries, as sFlow-RT answers, instead of waiting for an id this server may never reach.
    let newest = (log.newest_id)(&shared.engine.write());
    let after = position.after.filter(|after| *after <= newest);
    let query = LogQuery {
        after,
        filter: params.get(log.filter_parameter),
        max,
    };
    let wait = if position.wait {
        Wait::Until(Instant::now() + timeout)
    } else {
        Wait::No
    };
    Ok(to_json(wait_for_newer(shared, log, &query, wait).await))
}

/// Runs `query` now and, while it finds nothing and `wait` allows, again whenever a newer id is published,
/// until the wait ends or the server shuts down (then the answer is empty).
pub(super) async fn wait_for_newer<T>(
    shared: &Shared,
    log: &LogKind<T>,
    query: &LogQuery<'_>,
    wait: Wait,
) -> Vec<T> {
    let mut changes = (log.published_ids)(shared).subscribe();
    loop {
        // Mark the current id seen before querying, so an id published after the query wakes us.
        changes.borrow_and_update();
        let found =
            (log.entries_after)(&shared.engine.write(), query.after, query.filter, query.max);
        if !found.is_empty() || matches!(wait, Wait::No) || shared.is_shutting_down() {
            return found;
        }
        let published = async {
            match wait {
                Wait::Until(deadline) => tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_ok_and(|changed| changed.is_ok()),
                _ => changes.changed().await.is_ok(),
            }
        };
        tokio::select! {
            // Timed out, or the sender is gone.
            published = published => if !published { return Vec::new() },
            () = shared.stopped() => return Vec::new(),
        }
    }
}
