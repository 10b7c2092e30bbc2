//! The periodic thread: `Engine::tick`, long-poll wake-ups, and process/socket statistics.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{RwLock, RwLockWriteGuard};
use rtflow_engine::Engine;

use crate::error::ServerError;
use crate::procstats;
use crate::state::Shared;

/// Engine tick period at real-time pace; shorter when the clock runs faster (replay speed-up).
const TICK: Duration = Duration::from_millis(250);
const MIN_TICK: Duration = Duration::from_millis(10);
/// How long the ticker waits for a moment without readers before it queues for the write lock, and how often
/// it looks for one meanwhile.
const WRITE_PATIENCE: Duration = Duration::from_secs(1);
const WRITE_RETRY: Duration = Duration::from_micros(500);
/// How often CPU load and kernel drops are sampled.
const STATS_PERIOD: Duration = Duration::from_secs(1);

/// Starts the ticker; `socket_inodes` identify the sFlow sockets for the kernel drop counter.
pub(crate) fn spawn_ticker(
    shared: Arc<Shared>,
    socket_inodes: Vec<u64>,
) -> Result<JoinHandle<()>, ServerError> {
    std::thread::Builder::new()
        .name("engine-tick".into())
        .spawn(move || run(&shared, &socket_inodes))
        .map_err(ServerError::Thread)
}

fn run(shared: &Shared, socket_inodes: &[u64]) {
    let mut last_stats: Option<Instant> = None;
    while !shared.is_shutting_down() {
        let now = shared.clock.now();
        // The walks over every agent under the read lock, one shard locked at a time (ingest on the other
        // shards and queries go on); the write lock only for events and the rest of the tick.
        let work = shared.engine.read().tick_shards(now);
        let (event_id, flow_id) = {
            let mut engine = write_between_readers(&shared.engine);
            engine.finish_tick(now, work);
            (engine.last_event_id(), engine.last_flow_id())
        };
        shared.publish_ids(event_id, flow_id);
        if last_stats.is_none_or(|t| t.elapsed() >= STATS_PERIOD) {
            last_stats = Some(Instant::now());
            sample_stats(shared, socket_inodes);
        }
        std::thread::sleep(tick_period(shared.clock.speed()));
    }
}

/// The engine's write lock, taken when no reader holds it rather than by queueing: a queued writer makes every
/// new reader wait, so one long query (a large Prometheus dump) would stall every ingest worker until it ends.
/// Ingest holds the read lock only to apply a batch, so gaps come quickly; after [`WRITE_PATIENCE`] the
/// ticker queues like any writer, so it is never starved (events are then up to that late).
fn write_between_readers(engine: &RwLock<Engine>) -> RwLockWriteGuard<'_, Engine> {
    let started = Instant::now();
    loop {
        if let Some(guard) = engine.try_write() {
            return guard;
        }
        if started.elapsed() >= WRITE_PATIENCE {
            return engine.write();
        }
        std::thread::sleep(WRITE_RETRY);
    }
}

fn tick_period(speed: f64) -> Duration {
    TICK.div_f64(speed.max(1.0)).max(MIN_TICK)
}

fn sample_stats(shared: &Shared, socket_inodes: &[u64]) {
    let (process, system) = {
        let mut cpu = shared.cpu.lock();
        cpu.sample();
        (cpu.process_load, cpu.system_load)
    };
    let stats = &shared.stats;
    stats
        .process_cpu_load_millis
        .store((process * 1000.0) as u64, Ordering::Relaxed);
    stats
        .system_cpu_load_millis
        .store((system * 1000.0) as u64, Ordering::Relaxed);
    let drops: Option<u64> = socket_inodes
        .iter()
        .filter_map(|inode| procstats::udp_socket_drops(*inode))
        .reduce(|a, b| a + b);
    if let Some(drops) = drops {
        stats.kernel_drops.store(drops, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_period_shrinks_with_speed_but_not_below_the_floor() {
        assert_eq!(tick_period(1.0), TICK);
        assert_eq!(tick_period(0.5), TICK);
        assert_eq!(tick_period(5.0), Duration::from_millis(50));
        assert_eq!(tick_period(1000.0), MIN_TICK);
    }
}
