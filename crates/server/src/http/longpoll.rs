//! The long-poll protocol of `/events/json` and `/flows/json` (spec §1.5): without a position the newest
//! entries come back at once; with one, the request waits (up to `timeout`) until newer entries exist.

use std::time::Duration;

use rtflow_engine::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::state::Shared;

/// Runs `query` now and, while it finds nothing newer than `after`, again whenever `ids` changes, until
/// `timeout` passes or the server shuts down.
pub async fn wait_for_newer<T>(
    shared: &Shared,
    ids: &watch::Sender<u64>,
    after: Option<u64>,
    timeout: Duration,
    query: impl Fn(&Engine) -> Vec<T>,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    let mut changes = ids.subscribe();
    loop {
        // Mark the current id seen before querying, so an id published after the query wakes us.
        changes.borrow_and_update();
        let found = query(&shared.engine.lock());
        if !found.is_empty() || after.is_none() || shared.is_shutting_down() {
            return found;
        }
        let wait = tokio::time::timeout_at(deadline, changes.changed());
        match wait.await {
            Ok(Ok(())) => continue,
            // Timed out, or the sender is gone (server stopping).
            _ => return Vec::new(),
        }
    }
}
