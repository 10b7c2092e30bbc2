//! `--replay FILE` (sFlow-RT's `sflow.file`): feeds a capture's UDP datagrams to the engine at the recorded
//! pace (times `speed`). Engine time is the capture's relative time on top of the start time, and the engine
//! clock is held at the replay's progress, so rates and decays are those of the recording. Like sFlow-RT's,
//! the replay loops forever (`--replay-once` plays it once): each pass follows the previous one after one
//! average datagram gap, with every agent restarted so the repeated sequence numbers count as new. The same
//! pacing serves any [`DatagramFeed`] (the simulator of `serve --demo`). The due times are
//! `rtflow_net::Pacer`'s, scheduled on the engine clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use rtflow_capture::{PcapReader, Timestamp};
use rtflow_engine::Millis;
use rtflow_net::{Pace, PaceClock, Pacer};

use crate::clock::EngineClock;
use crate::error::ServerError;
use crate::feed::{DatagramFeed, FeedDatagram};
use crate::ingest::{Forwarder, ingest_datagram};
use crate::state::{RuntimeStats, Shared};

/// Longest single sleep, so shutdown is noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(100);

type Reader = PcapReader<Box<dyn std::io::Read + Send>>;

/// Opens the capture (so a bad file fails at start-up) and starts the replay thread; `once` plays it once
/// instead of looping.
pub(crate) fn spawn_replay(
    path: &Path,
    once: bool,
    shared: Arc<Shared>,
) -> Result<JoinHandle<()>, ServerError> {
    let reader = rtflow_capture::open(path).map_err(|source| ServerError::Capture {
        path: path.to_path_buf(),
        source,
    })?;
    let feed = CaptureFeed {
        reader,
        path: path.to_path_buf(),
        first: None,
        payload: Vec::new(),
        looping: (!once).then(|| Looping {
            shared: shared.clone(),
            base: Duration::ZERO,
            last: Duration::ZERO,
            in_pass: 0,
        }),
    };
    spawn_feed(
        Box::new(feed),
        format!("replay of {}", path.display()),
        shared,
    )
}

/// Starts the thread that paces and ingests `feed`'s datagrams.
pub(crate) fn spawn_feed(
    feed: Box<dyn DatagramFeed>,
    name: String,
    shared: Arc<Shared>,
) -> Result<JoinHandle<()>, ServerError> {
    std::thread::Builder::new()
        .name("sflow-replay".into())
        .spawn(move || run_feed(feed, &name, &shared))
        .map_err(ServerError::Thread)
}

/// A capture's UDP datagrams, timed from its first one.
struct CaptureFeed {
    reader: Reader,
    path: PathBuf,
    first: Option<Timestamp>,
    payload: Vec<u8>,
    /// `None` plays the capture once.
    looping: Option<Looping>,
}

/// Where a looping replay stands.
struct Looping {
    shared: Arc<Shared>,
    /// Offset of this pass's first datagram.
    base: Duration,
    /// Offset of the latest datagram.
    last: Duration,
    /// Datagrams of this pass so far.
    in_pass: u64,
}

impl CaptureFeed {
    /// At the end of a pass: reopens the capture for the next one, timed one average datagram gap after
    /// this pass's last datagram, with every agent restarted. False when it cannot (or the pass was empty).
    fn start_next_pass(&mut self) -> bool {
        let Some(looping) = &mut self.looping else {
            return false;
        };
        if looping.in_pass == 0 {
            return false;
        }
        let reader = match rtflow_capture::open(&self.path) {
            Ok(reader) => reader,
            Err(err) => {
                let err = crate::error::with_causes(&err);
                tracing::warn!(
                    "replay of {}: cannot start again: {err}",
                    self.path.display()
                );
                return false;
            }
        };
        let span = looping.last.saturating_sub(looping.base);
        let gap = if looping.in_pass > 1 {
            span / u32::try_from(looping.in_pass - 1).unwrap_or(u32::MAX)
        } else {
            Duration::from_secs(1)
        };
        looping.base = looping.last + gap.max(Duration::from_millis(1));
        looping.in_pass = 0;
        looping.shared.engine.write().restart_all_agents();
        tracing::debug!("replay of {}: starting again", self.path.display());
        self.reader = reader;
        self.first = None;
        true
    }
}

impl DatagramFeed for CaptureFeed {
    fn next_datagram(&mut self) -> Option<FeedDatagram<'_>> {
        // The payload is copied out so the capture can be reopened between passes.
        let (timestamp, source) = loop {
            let next = match self.reader.next_datagram() {
                Ok(Some(datagram)) => {
                    self.payload.clear();
                    self.payload.extend_from_slice(datagram.payload);
                    Some((datagram.timestamp, datagram.src))
                }
                Ok(None) => None,
                Err(err) => {
                    let err = crate::error::with_causes(&err);
                    tracing::warn!("replay of {}: {err}", self.path.display());
                    return None;
                }
            };
            match next {
                Some(next) => break next,
                None if self.start_next_pass() => {}
                None => return None,
            }
        };
        let first = *self.first.get_or_insert(timestamp);
        let mut offset = timestamp.saturating_duration_since(first);
        if let Some(looping) = &mut self.looping {
            offset += looping.base;
            looping.last = looping.last.max(offset);
            looping.in_pass += 1;
        }
        Some(FeedDatagram {
            offset,
            source,
            payload: &self.payload,
        })
    }
}

/// Engine time, as a replay paces by it: the engine clock runs at `--replay-speed` (below 1 it slows engine
/// time down), so the recording's own gaps, unscaled, are due in engine milliseconds.
struct EngineTime<'a>(&'a EngineClock);

impl PaceClock for EngineTime<'_> {
    type Instant = Millis;

    fn now(&self) -> Millis {
        self.0.now()
    }

    fn checked_add(&self, instant: Millis, offset: Duration) -> Option<Millis> {
        let offset_ms: Millis = offset.as_millis().try_into().unwrap_or(Millis::MAX);
        Some(instant.saturating_add(offset_ms))
    }
}

fn run_feed(mut feed: Box<dyn DatagramFeed>, name: &str, shared: &Shared) {
    let mut forwarder = Forwarder::default();
    // A feed's offsets run on across loop passes, so one pass origin serves them all: offset 0 is due now.
    let mut pacer = Pacer::on_clock_starting_at(
        EngineTime(&shared.clock),
        Pace::Recorded { speed: 1.0 },
        Duration::ZERO,
    );
    let mut due: Millis = pacer.started();
    loop {
        if shared.is_shutting_down() {
            break;
        }
        let Some(datagram) = feed.next_datagram() else {
            break;
        };
        let now = pacer.clock().now();
        // Captures are not always sorted: never move engine time backwards.
        due = due.max(pacer.due(datagram.offset, now).unwrap_or(now));
        shared.clock.set_cap(Some(due));
        if !wait_until(shared, due) {
            break;
        }
        ingest_datagram(
            shared,
            &mut forwarder,
            due,
            datagram.source,
            datagram.payload,
        );
        RuntimeStats::add(&shared.stats.replayed, 1);
    }
    // From here on the engine clock runs in real time again, from where the feed ended.
    shared.clock.resume_at_speed(1.0);
    shared.stats.replay_done.store(true, Ordering::Relaxed);
    tracing::info!(
        "{name} finished: {} datagrams",
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
