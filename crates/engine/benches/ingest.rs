//! Engine ingest benchmark (issue: ≥ 1,000,000 flow samples/s on one core with 10 flow definitions).
//!
//! Loads ecmp.pcap from `../shared/captures`, installs 10 flow definitions, then feeds the capture's datagrams
//! through the full ingest path (`Engine::ingest_sflow`: sFlow decode, sampled-header decode, every definition,
//! counters, sequence accounting) in a loop with a monotonic clock, ticking once per simulated second.
//!
//! Then the same definitions through an engine behind a mutex, as the server holds it, with one and two
//! ingest threads (each agent's datagrams on one thread, as `SO_REUSEPORT` spreads them): first with the whole
//! `ingest_sflow` under the lock (how the server ingested before the two-stage pipeline), then with decoding
//! outside it ([`IngestWorker::prepare`]) and only [`IngestWorker::apply`] (admission, flow evaluation, state
//! update) under it; last
//! with the engine's state in 16 shards, the engine behind a read-write lock held for reading by the ingest
//! threads, which lock only their agent's shard ([`IngestWorker::apply_shared`], as the server does now; the
//! first thread ticks the engine once per pass, under the write lock, as the server's ticker does).
//!
//! Run: `cargo bench -p rtflow-engine --bench ingest` (prints rates; `RTFLOW_BENCH_SECS` sets the duration of
//! the first run, a third of it each threaded run).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use rtflow_engine::{Engine, EngineConfig, FlowDefinition, IngestWorker, TenantDatagram};

const DEFINITIONS: [(&str, &str); 10] = [
    ("pair", "ipsource,ipdestination"),
    ("src", "ipsource"),
    ("dst", "ipdestination"),
    ("dport", "tcpdestinationport"),
    ("proto", "ipprotocol"),
    ("macs", "macsource,macdestination"),
    (
        "fivetuple",
        "ipsource,ipdestination,tcpsourceport,tcpdestinationport",
    ),
    ("stack", "stack"),
    ("ports", "inputifindex,outputifindex"),
    ("total", ""),
];

struct Recorded {
    offset_ms: u64,
    source: SocketAddr,
    payload: Vec<u8>,
}

fn load_ecmp(path: &Path) -> Vec<Recorded> {
    let mut reader = rtflow_capture::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut first_ms = None;
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        let ms = d.timestamp.as_duration().as_millis() as u64;
        let first = *first_ms.get_or_insert(ms);
        out.push(Recorded {
            offset_ms: ms - first,
            source: d.src,
            payload: d.payload.to_vec(),
        });
    }
    out
}

fn main() {
    let Some(ecmp) = rtflow_testkit::shared_capture("ecmp.pcap") else {
        return; // after one skip line
    };
    let datagrams = load_ecmp(&ecmp);
    let span_ms = datagrams.last().map_or(1, |d| d.offset_ms + 1);
    let budget = Duration::from_secs_f64(
        std::env::var("RTFLOW_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0),
    );

    let mut engine = engine_with_definitions();

    let (mut sent, mut flow_samples, mut samples, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut next_tick = 1_000u64;
    let start = Instant::now();
    let mut pass = 0u64;
    while start.elapsed() < budget {
        let base = 1_700_000_000_000 + pass * span_ms;
        for d in &datagrams {
            let now = base + d.offset_ms;
            if now >= next_tick {
                engine.tick(now);
                next_tick = now + 1_000;
            }
            match engine.ingest_sflow(now, d.source, &d.payload) {
                Ok(summary) => {
                    flow_samples += summary.flow_samples as u64;
                    samples += (summary.flow_samples + summary.counter_samples) as u64;
                }
                Err(_) => errors += 1,
            }
            sent += 1;
        }
        pass += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("engine ingest (ecmp.pcap x{pass}, 10 flow definitions, one core, {secs:.1} s):");
    println!("  {:>12.0} datagrams/s", sent as f64 / secs);
    println!("  {:>12.0} flow samples/s", flow_samples as f64 / secs);
    println!(
        "  {:>12.0} samples/s (flow + counter)",
        samples as f64 / secs
    );
    println!("  decode errors: {errors}");

    let threaded = budget / 3;
    println!(
        "engine behind a mutex, ecmp.pcap's agents split over the threads, {:.1} s each:",
        threaded.as_secs_f64()
    );
    for (threads, two_stage) in [(1, false), (2, false), (1, true), (2, true)] {
        let (rate, locked) = run_threaded(&datagrams, span_ms, threads, two_stage, threaded);
        let how = if two_stage {
            "prepare outside the lock, apply under it"
        } else {
            "ingest_sflow under the lock"
        };
        println!(
            "  {threads} thread(s), {how:<41} {rate:>10.0} datagrams/s, lock held {:.0} % of the time",
            locked * 100.0
        );
    }
    for threads in [1, 2] {
        let rate = run_sharded(&datagrams, span_ms, threads, threaded);
        println!(
            "  {threads} thread(s), {:<41} {rate:>10.0} datagrams/s",
            "16 shards, apply_shared under a shard lock"
        );
    }
    spoofed_flood();
}

/// Resident memory of this process (Linux), in bytes.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Valid sFlow from spoofed agents with random data-source ids (the attack) into an engine with a
/// 64 MiB budget: the engine's estimate against the process's resident memory growth, and the time per
/// datagram including eviction.
fn spoofed_flood() {
    use rtflow_engine::EngineConfig;
    use rtflow_sflow::{
        Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
        FlowRecord, FlowSampleInfo, GenericInterfaceCounters, Interface, SampledHeader,
    };
    const FRAME: [u8; 54] = [
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6,
        0, 0, 10, 1, 1, 1, 10, 2, 2, 2, 0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02,
        0x20, 0, 0, 0, 0, 0,
    ];
    const DATAGRAMS: u32 = 400_000;
    let budget = 64 * 1024 * 1024;
    let mut engine = Engine::new(EngineConfig {
        memory_budget_bytes: budget,
        ..EngineConfig::default()
    });
    for (name, keys) in DEFINITIONS {
        engine
            .set_object::<rtflow_engine::Flows>(0, name, FlowDefinition::new(keys, "bytes"))
            .unwrap_or_else(|e| panic!("flow {name}: {e}"));
    }
    // The load test's four thresholds (tests/load/udp_load.py --definitions), never reached.
    for (name, metric) in [
        ("in", "ifinoctets"),
        ("out", "ifoutoctets"),
        ("util", "ifinutilization"),
        ("pairs", "pair"),
    ] {
        let threshold = rtflow_engine::Threshold {
            metric: metric.to_string(),
            value: 1e15,
            by_flow: false,
            timeout: rtflow_engine::DEFAULT_THRESHOLD_TIMEOUT_S,
            filter: Default::default(),
        };
        engine
            .set_object::<rtflow_engine::Thresholds>(0, name, threshold)
            .unwrap_or_else(|e| panic!("threshold {name}: {e}"));
    }
    let rss_before = resident_bytes().unwrap_or(0);
    let mut random = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random
    };
    let start = Instant::now();
    let mut encode = Duration::ZERO;
    let mut agent = std::net::Ipv4Addr::UNSPECIFIED;
    for n in 0..DATAGRAMS {
        let encoding = Instant::now();
        // Two datagrams per agent, numbered 1 and 2, as a spoofer that continues its sequences sends them: the
        // second gets the agent through probation.
        if n % 2 == 0 {
            agent = std::net::Ipv4Addr::from(0x0a00_0000 | (next() as u32 & 0x00ff_ffff));
        }
        let index = next() as u32 % 1_000_000;
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(agent),
            sub_agent_id: 0,
            sequence_number: n % 2 + 1,
            uptime_ms: 1_000,
        });
        builder.flow_sample(
            &FlowSampleInfo {
                sequence_number: 1,
                source_id: DataSource { class: 0, index },
                sampling_rate: 100,
                sample_pool: 100,
                input: Interface::index(index),
                output: Interface::index(index + 1),
                ..Default::default()
            },
            &[FlowRecord::SampledHeader(SampledHeader {
                protocol: 1,
                frame_length: 64,
                stripped: 4,
                header: &FRAME,
            })],
        );
        builder.counter_sample(
            &CounterSampleInfo {
                sequence_number: 1,
                source_id: DataSource {
                    class: 0,
                    index: index + 1,
                },
                expanded: false,
            },
            &[CounterRecord::GenericInterface(GenericInterfaceCounters {
                if_index: index + 1,
                if_in_octets: 1_000,
                ..Default::default()
            })],
        );
        let bytes = builder.finish();
        encode += encoding.elapsed();
        let now = 1_700_000_000_000 + u64::from(n / 200);
        let source = SocketAddr::new(IpAddr::V4(agent), 6343);
        let _ = engine.ingest_sflow(now, source, &bytes);
        if n % 50_000 == 0 {
            engine.tick(now);
        }
    }
    let spent = start.elapsed().saturating_sub(encode);
    let analyzer = engine.analyzer();
    let rss_after = resident_bytes().unwrap_or(0);
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "spoofed flood ({DATAGRAMS} datagrams, two from each new agent, random data sources, 64 MiB budget):"
    );
    println!(
        "  {:.2} us per datagram (ingest and eviction), {} agents evicted",
        spent.as_secs_f64() * 1e6 / f64::from(DATAGRAMS),
        analyzer.sflow_agents_evicted
    );
    println!(
        "  held {} agents, {} data sources, {} flows: estimated {:.1} MiB; process RSS grew {:.1} MiB",
        analyzer.sflow_agents,
        analyzer.sflow_data_sources,
        analyzer.active_flow_entries,
        mib(analyzer.engine_memory_estimated),
        mib(rss_after.saturating_sub(rss_before))
    );
    flood_queries(&engine, 1_700_000_000_000 + u64::from(DATAGRAMS / 200));
}

/// Queries over the state a flood left (many agents and data sources): a Prometheus-style dump of every
/// counter, the same with every flow definition and its top keys (what `/dump/ALL/ALL` returns), and the top
/// flows of one definition over every data source (`/activeflows/ALL/pair`), and the tick's walks.
fn flood_queries(engine: &Engine, now: u64) {
    use rtflow_engine::{ActiveFlowQuery, AgentSelector, MetricSelection, QueryFilter};
    let time = |what: &str, run: &dyn Fn() -> usize| {
        const RUNS: u32 = 20;
        let start = Instant::now();
        let mut items = 0;
        for _ in 0..RUNS {
            items = run();
        }
        println!(
            "  {what:<44} {:>8.2} ms ({items} results)",
            start.elapsed().as_secs_f64() * 1e3 / f64::from(RUNS)
        );
    };
    println!("queries over the flood's state:");
    let dump = |selection: MetricSelection| {
        move || {
            engine
                .dump(
                    now,
                    &AgentSelector::All,
                    &selection,
                    &QueryFilter::default(),
                )
                .len()
        }
    };
    time(
        "dump, every counter (Prometheus ALL/ALL)",
        &dump(MetricSelection::AllCounters),
    );
    time(
        "dump, counters and flows with top keys",
        &dump(MetricSelection::All),
    );
    let query = ActiveFlowQuery {
        max_flows: 20,
        ..ActiveFlowQuery::default()
    };
    time("activeflows ALL pair, maxFlows=20", &|| {
        engine
            .active_flows(now, &AgentSelector::All, "pair", &query)
            .map_or(0, |flows| flows.len())
    });
    // The server ticks every 250 ms: expiry and the four thresholds' observations, over every data source.
    let ticks = std::cell::Cell::new(0);
    time("tick walks (expiry, 4 thresholds)", &|| {
        ticks.set(ticks.get() + 1);
        let work = engine.tick_shards(now + ticks.get() * 250);
        std::hint::black_box(work);
        engine.analyzer().sflow_data_sources as usize
    });
}

fn engine_with_definitions() -> Engine {
    engine_with_shards(1)
}

fn engine_with_shards(shards: usize) -> Engine {
    let mut engine = Engine::new(EngineConfig {
        shards,
        ..EngineConfig::default()
    });
    for (name, keys) in DEFINITIONS {
        engine
            .set_object::<rtflow_engine::Flows>(0, name, FlowDefinition::new(keys, "bytes"))
            .unwrap_or_else(|e| panic!("flow {name}: {e}"));
    }
    engine
}

/// Ingests one datagram at `now` with the thread's worker; returns how long the engine's lock was held.
type IngestOne<'a, E> =
    dyn Fn(&E, &mut IngestWorker, u64, &Recorded, &mut Vec<TenantDatagram>) -> Duration + Sync + 'a;

/// What one bench thread does with the engine, held as `E` (behind a mutex, or a read-write lock).
struct Ingest<'a, E> {
    /// A worker for the thread, compiled against the engine's flow view.
    new_worker: &'a (dyn Fn(&E) -> IngestWorker + Sync),
    /// Once per pass over the capture, on the first thread (ticks the engine), with the pass's base time.
    on_pass: &'a (dyn Fn(&E, u64) + Sync),
    /// One datagram at `now`; returns how long the engine's lock was held for it.
    datagram: &'a IngestOne<'a, E>,
}

/// Ingests `datagrams` in a loop on `threads` threads for `budget`, each agent's datagrams on one thread (as
/// `SO_REUSEPORT` spreads them), the clock advancing `span_ms` a pass; returns datagrams/s and the fraction of
/// the time the lock was held (summed over the threads).
fn run_threads<E: Sync>(
    engine: &E,
    datagrams: &[Recorded],
    span_ms: u64,
    threads: usize,
    budget: Duration,
    ingest: &Ingest<'_, E>,
) -> (f64, f64) {
    let mut agents: Vec<IpAddr> = datagrams.iter().map(|d| d.source.ip()).collect();
    agents.sort();
    agents.dedup();
    let start = Instant::now();
    let results: Vec<(u64, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let agents = &agents;
                scope.spawn(move || {
                    let mine = |d: &&Recorded| {
                        agents.iter().position(|a| *a == d.source.ip()).unwrap_or(0) % threads
                            == thread
                    };
                    let mut worker = (ingest.new_worker)(engine);
                    let mut tenant_out = Vec::new();
                    let (mut count, mut locked) = (0u64, Duration::ZERO);
                    let mut pass = 0u64;
                    while start.elapsed() < budget {
                        let base = 1_700_000_000_000 + pass * span_ms;
                        if thread == 0 {
                            (ingest.on_pass)(engine, base);
                        }
                        for d in datagrams.iter().filter(mine) {
                            let now = base + d.offset_ms;
                            locked +=
                                (ingest.datagram)(engine, &mut worker, now, d, &mut tenant_out);
                            tenant_out.clear();
                            count += 1;
                        }
                        pass += 1;
                    }
                    (count, locked)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("ingest thread panicked"))
            })
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let count: u64 = results.iter().map(|r| r.0).sum();
    let locked: f64 = results.iter().map(|r| r.1.as_secs_f64()).sum();
    (count as f64 / secs, locked / secs)
}

fn lock(engine: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    engine
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read(engine: &RwLock<Engine>) -> RwLockReadGuard<'_, Engine> {
    engine
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The engine behind a mutex, as the server held it before the shards: the whole `ingest_sflow` under the
/// lock, or (`two_stage`) only [`IngestWorker::apply`] under it. Returns datagrams/s and the lock's share.
fn run_threaded(
    datagrams: &[Recorded],
    span_ms: u64,
    threads: usize,
    two_stage: bool,
    budget: Duration,
) -> (f64, f64) {
    let engine = Mutex::new(engine_with_definitions());
    let datagram = |engine: &Mutex<Engine>,
                    worker: &mut IngestWorker,
                    now: u64,
                    d: &Recorded,
                    tenant_out: &mut Vec<TenantDatagram>| {
        if two_stage {
            worker.prepare(d.source, &d.payload);
        }
        let mut engine = lock(engine);
        let held = Instant::now();
        let _ = if two_stage {
            worker.apply(&mut engine, now, &d.payload, tenant_out)
        } else {
            engine.ingest_sflow(now, d.source, &d.payload)
        };
        held.elapsed()
    };
    let ingest = Ingest {
        new_worker: &|engine: &Mutex<Engine>| IngestWorker::new(&lock(engine)),
        on_pass: &|_: &Mutex<Engine>, _| {},
        datagram: &datagram,
    };
    run_threads(&engine, datagrams, span_ms, threads, budget, &ingest)
}

/// The engine's state in 16 shards, the engine behind a read-write lock held for reading by the ingest threads,
/// which lock only their agent's shard ([`IngestWorker::apply_shared`]); the first thread ticks under the write
/// lock once per pass. Returns datagrams/s.
fn run_sharded(datagrams: &[Recorded], span_ms: u64, threads: usize, budget: Duration) -> f64 {
    let engine = RwLock::new(engine_with_shards(16));
    let datagram = |engine: &RwLock<Engine>,
                    worker: &mut IngestWorker,
                    now: u64,
                    d: &Recorded,
                    tenant_out: &mut Vec<TenantDatagram>| {
        worker.prepare(d.source, &d.payload);
        let engine = read(engine);
        let held = Instant::now();
        let _ = worker.apply_shared(&engine, now, &d.payload, tenant_out);
        held.elapsed()
    };
    let ingest = Ingest {
        new_worker: &|engine: &RwLock<Engine>| IngestWorker::new(&read(engine)),
        on_pass: &|engine: &RwLock<Engine>, base| {
            engine
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .tick(base);
        },
        datagram: &datagram,
    };
    run_threads(&engine, datagrams, span_ms, threads, budget, &ingest).0
}
