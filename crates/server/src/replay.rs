//! `--replay FILE` (sFlow-RT's `sflow.file`): feeds a capture's UDP datagrams to the engine at the recorded
//! pace (times `speed`). Engine time is the capture's relative time on top of the start time, and the engine
//! clock is held at the replay's progress, so rates and decays are those of the recording.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use rtflow_capture::{PcapReader, Timestamp};
use rtflow_engine::Millis;

use crate::error::ServerError;
use crate::ingest::{Forwarder, ingest_datagram};
use crate::state::{RuntimeStats, Shared};

/// Longest single sleep, so shutdown is noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(100);

type Reader = PcapReader<Box<dyn std::io::Read + Send>>;

/// Opens the capture (so a bad file fails at start-up) and starts the replay thread.
pub fn spawn_replay(path: &Path, shared: Arc<Shared>) -> Result<JoinHandle<()>, ServerError> {
    let reader = rtflow_capture::open(path).map_err(|source| ServerError::Capture {
        path: path.to_path_buf(),
        source,
    })?;
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sflow-replay".into())
        .spawn(move || replay(reader, &path, &shared))
        .map_err(ServerError::Thread)
}

fn replay(mut reader: Reader, path: &Path, shared: &Shared) {
    let mut forwarder = Forwarder::default();
    let origin: Millis = shared.clock.now();
    let mut first: Option<Timestamp> = None;
    let mut due: Millis = origin;
    loop {
        if shared.is_shutting_down() {
            break;
        }
        let datagram = match reader.next_datagram() {
            Ok(Some(d)) => d,
            Ok(None) => break,
            Err(err) => {
                let err = crate::error::with_causes(&err);
                tracing::warn!("replay of {}: {err}", path.display());
                break;
            }
        };
        let first_ts = *first.get_or_insert(datagram.timestamp);
        let offset = datagram.timestamp.saturating_duration_since(first_ts);
        let offset_ms: Millis = offset.as_millis().try_into().unwrap_or(Millis::MAX);
        // Captures are not always sorted: never move engine time backwards.
        due = due.max(origin.saturating_add(offset_ms));
        shared.clock.set_cap(Some(due));
        if !wait_until(shared, due) {
            break;
        }
        ingest_datagram(shared, &mut forwarder, due, datagram.src, datagram.payload);
        RuntimeStats::add(&shared.stats.replayed, 1);
    }
    // From here on the engine clock runs in real time again, from where the replay ended.
    shared.clock.resume_at_speed(1.0);
    shared.stats.replay_done.store(true, Ordering::Relaxed);
    tracing::info!(
        "replay of {} finished: {} datagrams",
        path.display(),
        RuntimeStats::get(&shared.stats.replayed)
    );
}

/// Sleeps until the paced clock reaches `due`; false on shutdown.
fn wait_until(shared: &Shared, due: Millis) -> bool {
    loop {
        if shared.is_shutting_down() {
            return false;
        }
        let paced = shared.clock.paced_now();
        if paced >= due {
            return true;
        }
        let engine_ms = (due - paced) as f64;
        let real = Duration::from_secs_f64(engine_ms / 1000.0 / shared.clock.speed());
        std::thread::sleep(real.min(MAX_SLEEP));
    }
}
