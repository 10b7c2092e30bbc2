//! The ClickHouse sink: a bounded hand-off from ingest, a batcher thread that decodes datagrams into rows,
//! labels them with names and seals batches (by rows or by age) into the on-disk spool, and a sender thread that
//! inserts spooled batches into ClickHouse with retries and exponential backoff.
//!
//! ```text
//!  ingest ──offer()──▶ bounded queue ──▶ batcher ──push──▶ spool (disk) ──oldest──▶ sender ──INSERT──▶ ClickHouse
//!       (waits for room:                 (names)          (oldest dropped          (retries, backoff,
//!        back-pressure)                                    and counted when full)   schema migrations)
//! ```
//!
//! The hand-off applies back-pressure: when the queue is full, [`Exporter::offer`] waits for the batcher to make
//! room (counted in `queueWaits` / `queueWaitMs`), so a batcher that falls behind slows ingest down (a replay
//! goes slower; live UDP backs up into the socket buffer, whose overflow the kernel counts) instead of losing
//! what ingest accepted. Only a batcher stuck for longer than `queue_wait` makes the hand-off shed datagrams
//! (counted in `datagramsLost`, logged) until the queue has drained to half, so a hung disk cannot stall the
//! real-time engine. A ClickHouse outage never reaches the queue: the spool absorbs it.
//!
//! Nothing accepted is lost silently: shed datagrams count `datagramsLost`, a full spool counts
//! `spoolDroppedRows`, a batch ClickHouse keeps refusing (not a transport failure) counts `rowsRejected`.
//! A batch is deleted from the spool only once ClickHouse acknowledged it, so an outage of ClickHouse or a
//! restart of rtflow loses nothing the spool accepted. (A retry after a timeout whose insert did succeed can
//! store a batch twice; plain MergeTree tables cannot deduplicate.)

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use parking_lot::{Condvar, Mutex};
use serde::Serialize;

use crate::client::{ClickHouseError, Client, Endpoint};
use crate::encode::{InterfaceNames, RowNames, encode_row};
use crate::row::{FlowRow, RowDecoder};
use crate::schema::{Layout, flow_column_list};
use crate::setup::{Retention, drop_expired_partitions, ensure_schema};
use crate::spool::{Spool, SpoolError};

/// Names from outside the datagrams (SNMP). Lookups must not block: an implementation answers from its cache
/// and may schedule a background refresh of what it does not know yet.
pub trait Enricher: Send + Sync {
    /// sysName of the agent.
    fn exporter_name(&self, agent: IpAddr) -> Option<Arc<str>>;
    /// Names and speed of one interface of the agent.
    fn interface(&self, agent: IpAddr, if_index: u32) -> Option<InterfaceNames>;
}

/// No names beyond what the agents' counter samples carry.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEnrichment;

impl Enricher for NoEnrichment {
    fn exporter_name(&self, _: IpAddr) -> Option<Arc<str>> {
        None
    }

    fn interface(&self, _: IpAddr, _: u32) -> Option<InterfaceNames> {
        None
    }
}

/// How the sink batches, spools and retries.
#[derive(Clone, Debug)]
pub struct ExportConfig {
    /// The ClickHouse server and database written to.
    pub endpoint: Endpoint,
    /// `remote_servers` cluster name: insert into `flows_local`, query the `Distributed` tables.
    pub cluster: Option<String>,
    /// How long rows are kept, per table.
    pub retention: Retention,
    /// A batch is sealed when it holds this many rows…
    pub batch_rows: usize,
    /// …or when its first row is this old.
    pub batch_interval: Duration,
    /// Most datagrams waiting between ingest and the batcher.
    pub queue_datagrams: usize,
    /// Most bytes of datagrams waiting between ingest and the batcher.
    pub queue_bytes: usize,
    /// How long ingest waits for room in a full queue (back-pressure) before it sheds datagrams.
    pub queue_wait: Duration,
    /// Directory of the on-disk spool (one per rtflow instance).
    pub spool_dir: PathBuf,
    /// The spool's budget on disk; the oldest batches are dropped (and counted) beyond it.
    pub spool_max_bytes: u64,
    /// Timeout of one ClickHouse request.
    pub request_timeout: Duration,
    /// First and longest wait between retries (doubling in between).
    pub retry_initial: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// How often expired partitions are looked for.
    pub retention_interval: Duration,
    /// At shutdown, how long the sender keeps trying to empty the spool (what is left stays on disk).
    pub shutdown_grace: Duration,
}

impl ExportConfig {
    /// Defaults as Akvorado's (50 000 rows or 5 s per batch), a 1 GiB spool.
    pub fn new(endpoint: Endpoint, spool_dir: PathBuf) -> ExportConfig {
        ExportConfig {
            endpoint,
            cluster: None,
            retention: Retention::default(),
            batch_rows: 50_000,
            batch_interval: Duration::from_secs(5),
            queue_datagrams: 65_536,
            queue_bytes: 64 << 20,
            queue_wait: Duration::from_secs(2),
            spool_dir,
            spool_max_bytes: 1 << 30,
            request_timeout: Duration::from_secs(30),
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            retention_interval: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// The table layout this config writes.
    pub fn layout(&self) -> Layout {
        Layout {
            database: self.endpoint.database.clone(),
            cluster: self.cluster.clone(),
        }
    }
}

/// The sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The spool directory could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// ClickHouse could not be reached or set up.
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    /// A worker thread could not be spawned (its name and the error).
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

#[derive(Debug, Default)]
struct Counters {
    datagrams: AtomicU64,
    datagrams_lost: AtomicU64,
    queue_waits: AtomicU64,
    queue_wait_us: AtomicU64,
    decode_errors: AtomicU64,
    rows_batched: AtomicU64,
    discard_rows: AtomicU64,
    batches_spooled: AtomicU64,
    rows_written: AtomicU64,
    batches_written: AtomicU64,
    insert_retries: AtomicU64,
    rows_rejected: AtomicU64,
    spool_dropped_rows: AtomicU64,
    spool_dropped_batches: AtomicU64,
    schema_version: AtomicU64,
    /// Unix ms of the last acknowledged insert (0 = none yet).
    last_insert_ms: AtomicU64,
    queued_bytes: AtomicUsize,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// The sink's figures (`/analyzer/json`, Prometheus, status page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportStats {
    /// Datagrams handed over by ingest.
    pub datagrams: u64,
    /// Datagrams shed at the hand-off: the queue stayed full for longer than the wait (batcher stuck).
    pub datagrams_lost: u64,
    /// Datagrams ingest had to wait for room in the full queue for (back-pressure, nothing lost).
    pub queue_waits: u64,
    /// Total time ingest waited for room, ms.
    pub queue_wait_ms: u64,
    /// Datagrams (or their tails) that did not decode.
    pub decode_errors: u64,
    /// Bytes of datagrams waiting in the hand-off queue.
    pub queue_bytes: u64,
    /// Rows put into batches (flow and discard samples).
    pub rows_batched: u64,
    /// Of those, discard samples.
    pub discard_rows: u64,
    /// Batches sealed and written to the spool.
    pub batches_spooled: u64,
    /// Rows ClickHouse acknowledged.
    pub rows_written: u64,
    /// Batches ClickHouse acknowledged.
    pub batches_written: u64,
    /// Failed insert (or schema) attempts, each followed by a retry.
    pub insert_retries: u64,
    /// Rows of batches ClickHouse refused again and again (given up).
    pub rows_rejected: u64,
    /// Bytes waiting in the spool.
    pub spool_bytes: u64,
    /// Batches waiting in the spool.
    pub spool_batches: u64,
    /// Rows waiting in the spool.
    pub spool_rows: u64,
    /// Rows dropped because the spool was full (oldest first) or unreadable.
    pub spool_dropped_rows: u64,
    /// Batches dropped because the spool was full or unreadable.
    pub spool_dropped_batches: u64,
    /// Migrations in place (0 until ClickHouse was reached).
    pub schema_version: u64,
    /// Unix ms of the last acknowledged insert.
    pub last_insert: u64,
    /// The last error, empty when the last attempt succeeded.
    pub last_error: String,
}

/// Stop signal shared by the threads: `stopping` ends the batcher (after it drained the queue), `deadline`
/// ends the sender's attempts to empty the spool.
#[derive(Debug, Default)]
struct Stop {
    state: Mutex<StopState>,
    wake: Condvar,
}

#[derive(Debug, Default, Clone, Copy)]
struct StopState {
    stopping: bool,
    /// Set once the batcher finished: the sender gives up at this instant.
    deadline: Option<Instant>,
}

impl Stop {
    fn stopping(&self) -> bool {
        self.state.lock().stopping
    }

    fn deadline(&self) -> Option<Instant> {
        self.state.lock().deadline
    }

    /// Sleeps `duration`, or less when the sender's deadline comes first; false once the deadline passed.
    fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        let mut state = self.state.lock();
        loop {
            let now = Instant::now();
            if state.deadline.is_some_and(|deadline| now >= deadline) {
                return false;
            }
            let limit = state.deadline.map_or(until, |deadline| deadline.min(until));
            if now >= limit {
                return true;
            }
            let _ = self.wake.wait_until(&mut state, limit);
        }
    }
}

/// Room in the hand-off queue's byte budget: ingest waits here, the batcher wakes it as it takes datagrams.
#[derive(Debug, Default)]
struct Room {
    lock: Mutex<()>,
    freed: Condvar,
    waiters: AtomicUsize,
}

struct Shared {
    counters: Counters,
    room: Room,
    /// Set when a wait for room timed out: offers drop without waiting until the queue drained to half.
    shedding: AtomicBool,
    last_error: Mutex<String>,
    spool: Spool,
    stop: Stop,
    config: ExportConfig,
}

impl Shared {
    fn record_error(&self, error: &dyn std::fmt::Display) {
        *self.last_error.lock() = error.to_string();
    }
}

/// One datagram handed over by ingest.
struct Received {
    received_ms: u64,
    bytes: Box<[u8]>,
}

/// The running sink. [`Exporter::offer`] is what ingest calls; it never blocks.
pub struct Exporter {
    shared: Arc<Shared>,
    queue: Sender<Received>,
    threads: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("endpoint", &self.shared.config.endpoint.display())
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Opens the spool (what an earlier run left is sent first) and starts the batcher and sender threads.
    /// ClickHouse need not be reachable: the schema is set up when it first answers, and batches wait in the
    /// spool until then.
    pub fn start(
        config: ExportConfig,
        enricher: Arc<dyn Enricher>,
    ) -> Result<Exporter, ExportError> {
        let (spool, dropped_at_open) = Spool::open(&config.spool_dir, config.spool_max_bytes)?;
        let client = Client::new(config.endpoint.clone(), config.request_timeout)?;
        if spool.segments() > 0 {
            tracing::info!(
                "history spool {}: {} batches ({} rows) from an earlier run will be sent first",
                spool.dir().display(),
                spool.segments(),
                spool.rows()
            );
        }
        let (queue, receiver) = crossbeam_channel::bounded(config.queue_datagrams.max(1));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            room: Room::default(),
            shedding: AtomicBool::new(false),
            last_error: Mutex::new(String::new()),
            spool,
            stop: Stop::default(),
            config,
        });
        add(
            &shared.counters.spool_dropped_batches,
            dropped_at_open.segments,
        );
        let batcher = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("history-batch".into())
                .spawn(move || batch_loop(&shared, &receiver, enricher.as_ref()))
                .map_err(|e| ExportError::Thread("history batcher", e))?
        };
        let sender = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("history-send".into())
                .spawn(move || send_loop(&shared, &client))
        };
        let sender = match sender {
            Ok(sender) => sender,
            Err(e) => {
                shared.stop.state.lock().stopping = true;
                let _ = batcher.join();
                return Err(ExportError::Thread("history sender", e));
            }
        };
        Ok(Exporter {
            shared,
            queue,
            threads: Mutex::new(vec![("batcher", batcher), ("sender", sender)]),
        })
    }

    /// Hands one received datagram to the sink. When the queue is full it waits for room (back-pressure, up to
    /// `queue_wait`); false, counted in `datagramsLost`, only when the batcher is stuck or gone.
    pub fn offer(&self, received_ms: u64, datagram: &[u8]) -> bool {
        let shared = &*self.shared;
        let counters = &shared.counters;
        let config = &shared.config;
        let len = datagram.len();
        if shared.shedding.load(Ordering::Relaxed) {
            let drained = self.queue.len() * 2 <= config.queue_datagrams.max(1)
                && counters.queued_bytes.load(Ordering::SeqCst) * 2 <= config.queue_bytes;
            if !drained {
                add(&counters.datagrams_lost, 1);
                return false;
            }
            shared.shedding.store(false, Ordering::Relaxed);
            tracing::warn!(
                "history: the exporter's queue drained, datagrams are handed over again ({} lost so far)",
                get(&counters.datagrams_lost)
            );
        }
        // When ingest started waiting for room, and until when it may wait.
        let mut waited: Option<Instant> = None;
        let until = |waited: &mut Option<Instant>| {
            *waited.get_or_insert_with(Instant::now) + config.queue_wait
        };
        // Reserve the bytes before the datagram is queued, so the batcher never subtracts what was not added.
        let queued = counters.queued_bytes.fetch_add(len, Ordering::SeqCst);
        if over_budget(queued, len, config.queue_bytes) {
            let queued = self.wait_for_room(len, until(&mut waited));
            if over_budget(queued, len, config.queue_bytes) {
                counters.queued_bytes.fetch_sub(len, Ordering::SeqCst);
                return self.shed(waited);
            }
        }
        let received = Received {
            received_ms,
            bytes: datagram.into(),
        };
        let sent = match self.queue.try_send(received) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(received)) => self
                .queue
                .send_deadline(received, until(&mut waited))
                .map_err(|e| matches!(e, SendTimeoutError::Timeout(_))),
            Err(TrySendError::Disconnected(_)) => Err(false),
        };
        match sent {
            Ok(()) => {
                add(&counters.datagrams, 1);
                if let Some(started) = waited {
                    add(&counters.queue_waits, 1);
                    add(
                        &counters.queue_wait_us,
                        started.elapsed().as_micros() as u64,
                    );
                }
                true
            }
            Err(timed_out) => {
                counters.queued_bytes.fetch_sub(len, Ordering::SeqCst);
                if timed_out {
                    self.shed(waited)
                } else {
                    add(&counters.datagrams_lost, 1);
                    false
                }
            }
        }
    }

    /// Waits until the queued bytes leave room for `len` more or `until` passes; the queued bytes then (this
    /// datagram's reservation excluded).
    fn wait_for_room(&self, len: usize, until: Instant) -> usize {
        let shared = &*self.shared;
        let queued = || {
            shared
                .counters
                .queued_bytes
                .load(Ordering::SeqCst)
                .saturating_sub(len)
        };
        shared.room.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = shared.room.lock.lock();
        while over_budget(queued(), len, shared.config.queue_bytes)
            && !shared.room.freed.wait_until(&mut guard, until).timed_out()
        {}
        drop(guard);
        shared.room.waiters.fetch_sub(1, Ordering::SeqCst);
        queued()
    }

    /// The queue stayed full for the whole wait: the batcher is stuck. Drops this datagram and sheds the
    /// following ones until the queue drained to half, so ingest keeps going.
    fn shed(&self, waited: Option<Instant>) -> bool {
        let counters = &self.shared.counters;
        add(&counters.datagrams_lost, 1);
        if let Some(started) = waited {
            add(&counters.queue_waits, 1);
            add(
                &counters.queue_wait_us,
                started.elapsed().as_micros() as u64,
            );
        }
        if !self.shared.shedding.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "history: the exporter's queue stayed full for {:?}; datagrams are dropped (counted in \
                 historyDatagramsLost) until it drains",
                self.shared.config.queue_wait
            );
        }
        false
    }

    /// The sink's figures now.
    pub fn stats(&self) -> ExportStats {
        let c = &self.shared.counters;
        let spool = &self.shared.spool;
        ExportStats {
            datagrams: get(&c.datagrams),
            datagrams_lost: get(&c.datagrams_lost),
            queue_waits: get(&c.queue_waits),
            queue_wait_ms: get(&c.queue_wait_us) / 1000,
            decode_errors: get(&c.decode_errors),
            queue_bytes: c.queued_bytes.load(Ordering::SeqCst) as u64,
            rows_batched: get(&c.rows_batched),
            discard_rows: get(&c.discard_rows),
            batches_spooled: get(&c.batches_spooled),
            rows_written: get(&c.rows_written),
            batches_written: get(&c.batches_written),
            insert_retries: get(&c.insert_retries),
            rows_rejected: get(&c.rows_rejected),
            spool_bytes: spool.bytes(),
            spool_batches: spool.segments() as u64,
            spool_rows: spool.rows(),
            spool_dropped_rows: get(&c.spool_dropped_rows),
            spool_dropped_batches: get(&c.spool_dropped_batches),
            schema_version: get(&c.schema_version),
            last_insert: get(&c.last_insert_ms),
            last_error: self.shared.last_error.lock().clone(),
        }
    }

    /// The ClickHouse endpoint rows go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.config.endpoint
    }

    /// The table layout rows go to.
    pub fn layout(&self) -> Layout {
        self.shared.config.layout()
    }

    /// Stops the sink: the batcher drains the queue and seals its last batch into the spool; the sender keeps
    /// sending for up to `shutdown_grace`, then leaves the rest in the spool for the next start. Call after
    /// ingest stopped offering. Idempotent.
    pub fn shutdown(&self) {
        self.shared.stop.state.lock().stopping = true;
        self.shared.stop.wake.notify_all();
        let mut threads = std::mem::take(&mut *self.threads.lock());
        if let Some(position) = threads.iter().position(|(name, _)| *name == "batcher") {
            let (_, batcher) = threads.remove(position);
            let _ = batcher.join();
        }
        self.shared.stop.state.lock().deadline =
            Some(Instant::now() + self.shared.config.shutdown_grace);
        self.shared.stop.wake.notify_all();
        self.shared.spool.close();
        for (_, thread) in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether `len` more bytes on top of `queued` exceed the queue's byte budget (an empty queue takes any datagram).
fn over_budget(queued: usize, len: usize, budget: usize) -> bool {
    queued > 0 && queued.saturating_add(len) > budget
}

/// How often the batcher looks at the stop flag while idle.
const IDLE_POLL: Duration = Duration::from_millis(100);

fn batch_loop(shared: &Shared, receiver: &Receiver<Received>, enricher: &dyn Enricher) {
    let mut batcher = Batcher {
        shared,
        enricher,
        decoder: RowDecoder::default(),
        rows: Vec::new(),
        body: Vec::new(),
        count: 0,
        started: None,
        columns: flow_column_list(),
    };
    loop {
        let wait = match batcher.started {
            Some(started) => (started + shared.config.batch_interval)
                .saturating_duration_since(Instant::now())
                .min(IDLE_POLL),
            None => IDLE_POLL,
        };
        match receiver.recv_timeout(wait) {
            Ok(received) => batcher.add(&received),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if batcher
            .started
            .is_some_and(|s| s.elapsed() >= shared.config.batch_interval)
        {
            batcher.seal();
        }
        if shared.stop.stopping() {
            while let Ok(received) = receiver.try_recv() {
                batcher.add(&received);
            }
            break;
        }
    }
    batcher.seal();
}

struct Batcher<'a> {
    shared: &'a Shared,
    enricher: &'a dyn Enricher,
    decoder: RowDecoder,
    rows: Vec<FlowRow>,
    body: Vec<u8>,
    count: u32,
    started: Option<Instant>,
    columns: String,
}

impl Batcher<'_> {
    fn add(&mut self, received: &Received) {
        let counters = &self.shared.counters;
        // SeqCst with the waiters count: a waiting offer either sees the room or is woken.
        counters
            .queued_bytes
            .fetch_sub(received.bytes.len(), Ordering::SeqCst);
        let room = &self.shared.room;
        if room.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = room.lock.lock();
            room.freed.notify_all();
        }
        self.rows.clear();
        let result = self
            .decoder
            .decode(received.received_ms, &received.bytes, &mut self.rows);
        if let Err(err) = result {
            add(&counters.decode_errors, 1);
            tracing::debug!("history: datagram not decoded: {err}");
        }
        if self.rows.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.rows);
        let mut exporter_name: Option<(IpAddr, Arc<str>)> = None;
        for row in &rows {
            let agent = row.exporter.unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let exporter = match &exporter_name {
                Some((ip, name)) if *ip == agent => name.clone(),
                _ => {
                    let name = self.exporter_name(agent);
                    exporter_name = Some((agent, name.clone()));
                    name
                }
            };
            let input = self.interface(agent, row.in_if);
            let output = self.interface(agent, row.out_if);
            let source = match row.source_class {
                0 if row.source_index == row.in_if => input.name.clone(),
                0 if row.source_index == row.out_if => output.name.clone(),
                0 => self.interface(agent, row.source_index).name,
                _ => Arc::from(""),
            };
            let names = RowNames {
                exporter,
                source,
                input,
                output,
            };
            encode_row(row, &names, &mut self.body);
            self.count += 1;
            if row.discarded {
                add(&counters.discard_rows, 1);
            }
        }
        add(&counters.rows_batched, rows.len() as u64);
        self.rows = rows;
        self.started.get_or_insert_with(Instant::now);
        if self.count as usize >= self.shared.config.batch_rows {
            self.seal();
        }
    }

    /// SNMP's sysName, else what the agent's host_descr said.
    fn exporter_name(&self, agent: IpAddr) -> Arc<str> {
        self.enricher
            .exporter_name(agent)
            .or_else(|| self.decoder.learned(agent)?.host_name.clone())
            .unwrap_or_else(|| Arc::from(""))
    }

    /// SNMP's names and speed, else the agent's port_name and counter speed.
    fn interface(&self, agent: IpAddr, if_index: u32) -> InterfaceNames {
        if if_index == 0 {
            return InterfaceNames::default();
        }
        if let Some(names) = self.enricher.interface(agent, if_index) {
            return names;
        }
        let learned = self
            .decoder
            .learned(agent)
            .and_then(|a| a.interfaces.get(&if_index));
        match learned {
            Some(learned) => InterfaceNames {
                name: learned.name.clone().unwrap_or_else(|| Arc::from("")),
                description: Arc::from(""),
                speed_mbps: learned.speed_mbps,
            },
            None => InterfaceNames::default(),
        }
    }

    fn seal(&mut self) {
        if self.count == 0 {
            return;
        }
        let counters = &self.shared.counters;
        match self
            .shared
            .spool
            .push(&self.columns, self.count, &self.body)
        {
            Ok(dropped) => {
                add(&counters.batches_spooled, 1);
                if dropped.segments > 0 {
                    add(&counters.spool_dropped_rows, dropped.rows);
                    add(&counters.spool_dropped_batches, dropped.segments);
                    tracing::warn!(
                        "history spool full: dropped the {} oldest batches ({} rows)",
                        dropped.segments,
                        dropped.rows
                    );
                }
            }
            Err(err) => {
                add(&counters.spool_dropped_rows, u64::from(self.count));
                add(&counters.spool_dropped_batches, 1);
                tracing::error!("history: batch of {} rows lost: {err}", self.count);
                self.shared.record_error(&err);
            }
        }
        self.body.clear();
        self.count = 0;
        self.started = None;
    }
}

/// Consecutive refusals by ClickHouse itself (not transport failures) after which a batch is given up.
const MAX_REFUSALS: u32 = 5;
/// How long the sender waits for a batch before looking at its other duties.
const SEND_POLL: Duration = Duration::from_millis(200);

fn send_loop(shared: &Shared, client: &Client) {
    let config = &shared.config;
    let counters = &shared.counters;
    let layout = config.layout();
    let mut schema_ready = false;
    let mut backoff = config.retry_initial;
    let mut refusals = 0u32;
    let mut next_retention = Instant::now();
    let retention_wanted = config.retention != Retention::default();
    loop {
        if let Some(deadline) = shared.stop.deadline()
            && (Instant::now() >= deadline || shared.spool.segments() == 0)
        {
            break;
        }
        let failed = |error: &dyn std::fmt::Display, backoff: &mut Duration| -> bool {
            add(&counters.insert_retries, 1);
            shared.record_error(error);
            let keep_going = shared.stop.sleep(*backoff);
            *backoff = (*backoff * 2).min(config.retry_max);
            keep_going
        };
        if !schema_ready {
            match ensure_schema(client, &layout, &config.retention) {
                Ok(report) => {
                    schema_ready = true;
                    counters
                        .schema_version
                        .store(u64::from(report.version), Ordering::Relaxed);
                    tracing::info!(
                        "ClickHouse {} at {}: schema version {}",
                        report.server_version,
                        config.endpoint.display(),
                        report.version
                    );
                    shared.last_error.lock().clear();
                    backoff = config.retry_initial;
                }
                Err(err) => {
                    tracing::debug!("ClickHouse schema setup: {err}");
                    if !failed(&err, &mut backoff) {
                        break;
                    }
                    continue;
                }
            }
        }
        if retention_wanted && Instant::now() >= next_retention {
            next_retention = Instant::now() + config.retention_interval;
            if let Err(err) = drop_expired_partitions(client, &layout, &config.retention) {
                tracing::warn!("retention: {err}");
            }
        }
        let segment = match shared.spool.oldest(SEND_POLL, config.batch_rows as u64) {
            None => continue,
            Some(Err((err, rows))) => {
                add(&counters.spool_dropped_rows, u64::from(rows));
                add(&counters.spool_dropped_batches, 1);
                tracing::error!("history: spooled batch of {rows} rows lost: {err}");
                shared.record_error(&err);
                continue;
            }
            Some(Ok(segment)) => segment,
        };
        let mut segment = segment;
        let body = std::mem::take(&mut segment.body);
        let target = format!("{} ({})", layout.insert_table(), segment.columns);
        match client.insert_row_binary(&target, body) {
            Ok(()) => {
                shared.spool.acknowledge(&segment);
                add(&counters.rows_written, u64::from(segment.rows));
                add(&counters.batches_written, 1);
                counters.last_insert_ms.store(unix_ms(), Ordering::Relaxed);
                backoff = config.retry_initial;
                refusals = 0;
                shared.last_error.lock().clear();
            }
            Err(err) => {
                tracing::debug!("history insert of {} rows: {err}", segment.rows);
                if matches!(err, ClickHouseError::Transport { .. }) {
                    shared.spool.release(&segment);
                } else {
                    // The tables may have been dropped or altered: set the schema up again before retrying,
                    // and give the batch up if ClickHouse keeps refusing it.
                    schema_ready = false;
                    refusals += 1;
                    if refusals >= MAX_REFUSALS {
                        shared.spool.acknowledge(&segment);
                        add(&counters.rows_rejected, u64::from(segment.rows));
                        tracing::error!(
                            "history: ClickHouse refused a batch of {} rows {MAX_REFUSALS} times, giving it up: {err}",
                            segment.rows
                        );
                        refusals = 0;
                    } else {
                        shared.spool.release(&segment);
                    }
                }
                if !failed(&err, &mut backoff) {
                    break;
                }
            }
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
