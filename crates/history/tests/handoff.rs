//! The hand-off between ingest and the exporter's batcher, against a real Debian `clickhouse-server`: a batcher
//! slower than ingest slows ingest down (back-pressure) and loses nothing; a stuck batcher makes the hand-off
//! shed datagrams, counted, without stalling ingest, and hand-over resumes once the queue drained.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{PATIENCE, config, fresh_database, now_ms, traffic, wait_for, wait_written};
use parking_lot::{Condvar, Mutex};
use rtflow_history::{Enricher, Exporter, InterfaceNames};
use rtflow_testkit::servers::ClickHouse;

/// An enricher that makes the batcher slow (a pause per interface lookup) or stuck (until opened).
#[derive(Default)]
struct Brake {
    pause: Duration,
    closed: Mutex<bool>,
    opened: Condvar,
    entered: AtomicBool,
}

impl Brake {
    fn slow(pause: Duration) -> Brake {
        Brake {
            pause,
            ..Brake::default()
        }
    }

    fn closed() -> Brake {
        Brake {
            closed: Mutex::new(true),
            ..Brake::default()
        }
    }

    fn open(&self) {
        *self.closed.lock() = false;
        self.opened.notify_all();
    }
}

impl Enricher for Brake {
    fn exporter_name(&self, _: IpAddr) -> Option<Arc<str>> {
        None
    }

    fn interface(&self, _: IpAddr, _: u32) -> Option<InterfaceNames> {
        self.entered.store(true, Ordering::SeqCst);
        let mut closed = self.closed.lock();
        while *closed {
            self.opened.wait(&mut closed);
        }
        drop(closed);
        std::thread::sleep(self.pause);
        None
    }
}

#[test]
fn a_batcher_slower_than_ingest_slows_ingest_down_and_loses_nothing() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("backpressure");
    let spool = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(), &database, spool.path());
    config.queue_datagrams = 4;
    // 2 interface lookups × 5 rows × 1 ms: the batcher takes ≥ 10 ms per datagram, ingest offers at once.
    let exporter =
        Exporter::start(config, Arc::new(Brake::slow(Duration::from_millis(1)))).unwrap();
    let (datagrams, rows, bytes) = traffic(5, 150, 5);
    let now = now_ms();
    for (i, datagram) in datagrams.iter().enumerate() {
        assert!(exporter.offer(now, datagram), "datagram {i} refused");
    }
    let stats = wait_written(&exporter, rows);
    assert_eq!(stats.datagrams, datagrams.len() as u64);
    assert_eq!(stats.datagrams_lost, 0, "{stats:?}");
    assert!(
        stats.queue_waits > 100,
        "ingest waited for the batcher: {stats:?}"
    );
    assert!(stats.queue_wait_ms > 0, "{stats:?}");
    let stored = server.answer(&format!(
        "SELECT count(), sum(Bytes) FROM {database}.flows FORMAT TSV"
    ));
    assert_eq!(stored, format!("{rows}\t{bytes}"));
}

#[test]
fn a_stuck_batcher_makes_the_handoff_shed_counted_datagrams_until_it_drains() {
    let Some(server) = ClickHouse::shared() else {
        return;
    };
    let database = fresh_database("shed");
    let spool = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(), &database, spool.path());
    config.queue_datagrams = 4;
    config.queue_wait = Duration::from_millis(200);
    let brake = Arc::new(Brake::closed());
    let exporter = Exporter::start(config, brake.clone()).unwrap();
    let (datagrams, _, _) = traffic(6, 40, 5);
    let rows_per_datagram = 5u64;
    let now = now_ms();
    // The batcher takes the first datagram and gets stuck on it; four more fill the queue.
    assert!(exporter.offer(now, &datagrams[0]));
    wait_for(
        "the batcher stuck on the first datagram",
        PATIENCE,
        || brake.entered.load(Ordering::SeqCst),
        |entered| *entered,
    );
    for datagram in &datagrams[1..5] {
        assert!(exporter.offer(now, datagram));
    }
    // The next one waits for room, in vain, and is dropped; the following ones are dropped without waiting.
    for datagram in &datagrams[5..20] {
        assert!(!exporter.offer(now, datagram));
    }
    let shed = exporter.stats();
    assert_eq!((shed.datagrams, shed.datagrams_lost), (5, 15), "{shed:?}");
    assert_eq!(shed.queue_waits, 1, "only the first refused one waited");
    assert!(shed.queue_wait_ms >= 200, "{shed:?}");

    brake.open();
    wait_for(
        "the queue drained",
        PATIENCE,
        || exporter.stats(),
        |s| s.queue_bytes == 0 && s.rows_batched == 5 * rows_per_datagram,
    );
    for datagram in &datagrams[20..] {
        assert!(exporter.offer(now, datagram), "handed over again");
    }
    let accepted = 5 + (datagrams.len() as u64 - 20);
    let done = wait_written(&exporter, accepted * rows_per_datagram);
    assert_eq!(done.datagrams + done.datagrams_lost, datagrams.len() as u64);
    assert_eq!(done.rows_written, accepted * rows_per_datagram);
    let stored = server.answer(&format!("SELECT count() FROM {database}.flows FORMAT TSV"));
    assert_eq!(stored, (accepted * rows_per_datagram).to_string());
}
