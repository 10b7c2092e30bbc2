//! The long-poll protocol of `/events/json` and `/flows/json` (spec §1.5): without a position the newest
//! entries come back at once; with one (including -1, "anything"), the request waits (up to `timeout`) until
//! newer entries exist, so the sFlow-RT client loop (`eventID=-1`, then the newest id seen) never spins.

use std::time::Duration;

use rtflow_engine::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

use super::params::Position;
use crate::state::Shared;

/// Runs `query` now and, while it finds nothing newer than the position, again whenever `ids` changes, until
/// `timeout` passes or the server shuts down. A position that does not ask to wait is answered at once.
pub async fn wait_for_newer<T>(
    shared: &Shared,
    ids: &watch::Sender<u64>,
    position: Position,
    timeout: Duration,
    query: impl Fn(&Engine) -> Vec<T>,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    let mut changes = ids.subscribe();
    loop {
        // Mark the current id seen before querying, so an id published after the query wakes us.
        changes.borrow_and_update();
        let found = query(&shared.engine.lock());
        if !found.is_empty() || !position.wait || shared.is_shutting_down() {
            return found;
        }
        let wait = tokio::time::timeout_at(deadline, changes.changed());
        tokio::select! {
            changed = wait => match changed {
                Ok(Ok(())) => continue,
                // Timed out, or the sender is gone.
                _ => return Vec::new(),
            },
            () = shared.stopped() => return Vec::new(),
        }
    }
}
