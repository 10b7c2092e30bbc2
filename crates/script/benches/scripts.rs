//! Script benchmarks (issue 7), printing rates:
//!
//! 1. A flow handler fed 100,000 logged flow records/s: every generated flow sample has a new UDP 5-tuple and the
//!    `log:true, flowStart:true` definition logs it at once, so ingest at 100,000 samples/s makes 100,000
//!    records/s; the script's `flowsReceived`/`flowsLost` show whether it keeps up.
//! 2. An HTTP handler round trip (request queued to the script thread, JS handler, JSON back) next to the same
//!    data answered natively (`Engine::flow_keys` serialized), in-process, without sockets.
//!
//! Run: `cargo bench -p rtflow-script --bench scripts` (`RTFLOW_BENCH_SECS` sets each phase's duration).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rtflow_engine::{Engine, Flows, Groups, Millis, Thresholds};
use rtflow_script::{Host, ScriptConfig, ScriptHost, ScriptRequest};
use rtflow_sflow::{
    Address, DataSource, DatagramBuilder, DatagramHeader, FlowRecord, FlowSampleInfo, Interface,
    SampledHeader,
};

struct BenchHost {
    engine: Mutex<Engine>,
}

fn wall_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Host for BenchHost {
    fn engine(&self) -> rtflow_script::EngineGuard<'_> {
        Box::new(self.engine.lock())
    }
    fn now(&self) -> Millis {
        wall_ms()
    }
    fn property(&self, _: &str) -> Option<String> {
        None
    }
    fn property_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn version(&self) -> String {
        "bench".into()
    }
    fn local_url(&self) -> Option<String> {
        None
    }
}

/// Ethernet/IPv4/UDP header bytes of a 1000-byte packet from `src:sport` to 10.0.0.1:53.
fn frame(src: Ipv4Addr, sport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0x03, 0xd4, 0, 1, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&53u16.to_be_bytes());
    f.extend_from_slice(&[0x03, 0xc0, 0, 0]);
    f
}

/// Datagrams of 10 flow samples each, every sample a flow never seen before.
fn datagrams(count: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(count);
    let mut n: u32 = 0;
    for seq in 0..count as u32 {
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(Ipv4Addr::new(192, 0, 2, 1)),
            sub_agent_id: 0,
            sequence_number: seq + 1,
            uptime_ms: seq,
        });
        for _ in 0..10 {
            n += 1;
            let src = Ipv4Addr::from(0x0a00_0000 | (n >> 16));
            let bytes = frame(src, n as u16);
            let header = SampledHeader {
                protocol: 1,
                frame_length: 1018,
                stripped: 4,
                header: &bytes,
            };
            builder.flow_sample(
                &FlowSampleInfo {
                    expanded: false,
                    sequence_number: n,
                    source_id: DataSource { class: 0, index: 1 },
                    sampling_rate: 1,
                    sample_pool: n,
                    drops: 0,
                    input: Interface::index(1),
                    output: Interface::index(2),
                },
                &[FlowRecord::SampledHeader(header)],
            );
        }
        out.push(builder.finish());
    }
    out
}

const FLOW_SCRIPT: &str = r#"
setFlow('each', {keys:'ipsource,udpsourceport', value:'bytes', log:true, flowStart:true, n:20});
var count = 0, bytes = 0;
setFlowHandler(function(rec) { count++; bytes += rec.value; var k = rec.flowKeys.split(','); }, ['each']);
setHttpHandler(function(req) { return {count: count, keys: Object.keys(flowKeys()).length}; });
"#;

fn main() {
    let secs: f64 = std::env::var("RTFLOW_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let script = dir.path().join("flows.js");
    std::fs::write(&script, FLOW_SCRIPT).unwrap_or_else(|e| panic!("{e}"));
    let host = Arc::new(BenchHost {
        engine: Mutex::new(Engine::default()),
    });
    let config = ScriptConfig {
        scripts: vec![script],
        store_dir: dir.path().join("store"),
        ..ScriptConfig::default()
    };
    let scripts = ScriptHost::start(config, host.clone()).unwrap_or_else(|e| panic!("{e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (host, stop) = (host.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                host.engine.lock().tick(wall_ms());
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Wait until the script has installed its flow.
    let started = Instant::now();
    while host.engine.lock().object::<Flows>("each").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "script did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // 1. 100,000 logged flow records/s, paced in 10 ms steps (100 datagrams of 10 samples).
    let per_step = 100;
    let steps = (secs * 100.0) as usize;
    let input = datagrams(per_step * steps);
    let source = SocketAddr::from(([192, 0, 2, 1], 6343));
    let begin = Instant::now();
    for (step, chunk) in input.chunks(per_step).enumerate() {
        let due = begin + Duration::from_millis(10 * step as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let now = wall_ms();
        let mut engine = host.engine.lock();
        for datagram in chunk {
            let _ = engine.ingest_sflow(now, source, datagram);
        }
    }
    let ingest_secs = begin.elapsed().as_secs_f64();
    let samples = (input.len() * 10) as f64;
    let status = |scripts: &ScriptHost| scripts.scripts_json()["flows.js"].clone();
    let drain = Instant::now();
    loop {
        let s = status(&scripts);
        let done =
            s["flowsReceived"].as_f64().unwrap_or(0.0) + s["flowsLost"].as_f64().unwrap_or(0.0);
        if done >= samples || drain.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = status(&scripts);
    println!(
        "flow handler, {samples:.0} logged flow records offered in {ingest_secs:.2} s ({:.0} records/s):",
        samples / ingest_secs
    );
    println!(
        "  received {} lost {}; drained {:.0} ms after ingest ended; script CPU {} ms",
        s["flowsReceived"],
        s["flowsLost"],
        drain.elapsed().as_secs_f64() * 1e3,
        s["cpuMs"]
    );

    // 2. HTTP handler round trip versus the native computation of a similar answer.
    let rounds = (secs * 2000.0) as usize;
    let begin = Instant::now();
    for _ in 0..rounds {
        let request = ScriptRequest {
            method: "GET".into(),
            path: vec![],
            format: "json".into(),
            query: vec![("a".into(), "b".into())],
            body: None,
        };
        let answer = scripts
            .request("flows.js", request)
            .unwrap_or_else(|e| panic!("{e}"));
        let response = answer.blocking_recv().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status, 200);
    }
    let script_us = begin.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let begin = Instant::now();
    for _ in 0..rounds {
        let keys = host.engine.lock().flow_keys(wall_ms());
        let mut answer = BTreeMap::new();
        answer.insert("keys", keys.len());
        let text = serde_json::to_string(&answer).unwrap_or_default();
        assert!(!text.is_empty());
    }
    let native_us = begin.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!(
        "HTTP handler round trip (in-process, {rounds} requests): {script_us:.1} µs per request"
    );
    println!("  native engine call + JSON for the same answer: {native_us:.1} µs per request");

    stop.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    scripts.shutdown();

    // 3. Engine ingest with the six apps of ../shared/apps running, and with none.
    let (Some(apps), Some(ecmp)) = (
        rtflow_testkit::shared(rtflow_testkit::Shared::Apps),
        rtflow_testkit::shared_capture("ecmp.pcap"),
    ) else {
        return; // after one skip line
    };
    let recorded = load(&ecmp);
    let (without, _) = ingest_rate(&recorded, None, None, secs, dir.path());
    let (with, installed) = ingest_rate(&recorded, Some(apps), None, secs, dir.path());
    let (definitions_only, _) = ingest_rate(&recorded, None, Some(installed), secs, dir.path());
    println!(
        "engine ingest of ecmp.pcap, one core (fabric-view demo topology and groups set through the app):"
    );
    println!("  no scripts, no definitions:                 {without:>10.0} datagrams/s");
    println!("  the apps' flow definitions, no scripts:     {definitions_only:>10.0} datagrams/s");
    println!(
        "  the six apps running:                       {with:>10.0} datagrams/s ({:+.1}% vs their definitions alone)",
        (with / definitions_only - 1.0) * 100.0
    );
}

/// What the apps installed in the engine: flow definitions, thresholds, groups, topology.
struct Installed {
    flows: BTreeMap<String, rtflow_engine::FlowDefinition>,
    thresholds: BTreeMap<String, rtflow_engine::Threshold>,
    groups: BTreeMap<String, rtflow_engine::AddressGroup>,
    topology: rtflow_engine::Topology,
}

fn load(path: &std::path::Path) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut reader = rtflow_capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    while let Some(d) = reader.next_datagram().unwrap_or_else(|e| panic!("{e}")) {
        out.push((d.src, d.payload.to_vec()));
    }
    out
}

/// Datagrams/s ingested (looping the capture, ticking every 100 ms) with the apps in `app_dir` running.
fn ingest_rate(
    recorded: &[(SocketAddr, Vec<u8>)],
    app_dir: Option<std::path::PathBuf>,
    preset: Option<Installed>,
    secs: f64,
    tmp: &std::path::Path,
) -> (f64, Installed) {
    let mut engine = Engine::default();
    if let Some(preset) = preset {
        let now = wall_ms();
        for (name, definition) in preset.flows {
            let _ = engine.set_object::<Flows>(now, &name, definition);
        }
        for (name, threshold) in preset.thresholds {
            let _ = engine.set_object::<Thresholds>(now, &name, threshold);
        }
        for (name, group) in preset.groups {
            let _ = engine.set_object::<Groups>(now, &name, group);
        }
        let _ = engine.set_topology(now, preset.topology);
    }
    let host = Arc::new(BenchHost {
        engine: Mutex::new(engine),
    });
    let with_apps = app_dir.is_some();
    let config = ScriptConfig {
        app_dir,
        store_dir: tmp.join("apps-store"),
        ..ScriptConfig::default()
    };
    let scripts = ScriptHost::start(config, host.clone()).unwrap_or_else(|e| panic!("{e}"));
    if with_apps {
        // fabric-view's demo topology and groups, through the app's own HTTP handler.
        for what in ["topology", "groups"] {
            let path = rtflow_testkit::shared(rtflow_testkit::Shared::Apps)
                .map(|p| p.join(format!("fabric-view/demo/{what}.json")))
                .unwrap_or_default();
            let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
            let request = ScriptRequest {
                method: "POST".into(),
                path: vec![what.into()],
                format: "json".into(),
                query: vec![],
                body: Some(body),
            };
            let answer = scripts
                .request("fabric-view~fabric-view.js", request)
                .unwrap_or_else(|e| panic!("{e}"));
            let status = answer.blocking_recv().map(|r| r.status).unwrap_or(0);
            assert_eq!(status, 204, "POST {what}");
        }
    }
    let begin = Instant::now();
    let mut sent = 0u64;
    let mut next_tick = Instant::now();
    while begin.elapsed().as_secs_f64() < secs {
        for (source, payload) in recorded {
            let now = wall_ms();
            let mut engine = host.engine.lock();
            let _ = engine.ingest_sflow(now, *source, payload);
            if Instant::now() >= next_tick {
                engine.tick(now);
                next_tick = Instant::now() + Duration::from_millis(100);
            }
            sent += 1;
        }
    }
    let rate = sent as f64 / begin.elapsed().as_secs_f64();
    scripts.shutdown();
    let engine = host.engine.lock();
    let installed = Installed {
        flows: engine.objects::<Flows>(),
        thresholds: engine.objects::<Thresholds>(),
        groups: engine
            .objects::<Groups>()
            .into_keys()
            .filter_map(|name| Some((name.clone(), engine.object::<Groups>(&name)?)))
            .collect(),
        topology: engine.topology().clone(),
    };
    (rate, installed)
}
