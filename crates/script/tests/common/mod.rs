//! A host for script tests: a real engine, wall-clock time, properties, and a ticker thread.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rtflow_engine::{Engine, Millis};
use rtflow_script::{Host, ScriptConfig, ScriptHost, ScriptRequest, ScriptResponse};

pub(crate) struct TestHost {
    pub engine: Mutex<Engine>,
    pub properties: BTreeMap<String, String>,
    pub local_url: Option<String>,
}

pub(crate) fn wall_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Host for TestHost {
    fn engine(&self) -> rtflow_script::EngineGuard<'_> {
        Box::new(self.engine.lock())
    }
    fn now(&self) -> Millis {
        wall_ms()
    }
    fn property(&self, name: &str) -> Option<String> {
        self.properties.get(name).cloned()
    }
    fn property_names(&self) -> Vec<String> {
        self.properties.keys().cloned().collect()
    }
    fn version(&self) -> String {
        "3.0-test".into()
    }
    fn local_url(&self) -> Option<String> {
        self.local_url.clone()
    }
}

/// A started script host with its engine ticker; stops both on drop.
pub(crate) struct Harness {
    pub host: Arc<TestHost>,
    pub scripts: Option<ScriptHost>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Writes `files` (relative path → text) into a temporary directory and starts `standalone` scripts and
    /// the apps under `app/`.
    pub(crate) fn start(
        files: &[(&str, &str)],
        standalone: &[&str],
        configure: impl FnOnce(&mut ScriptConfig),
    ) -> Harness {
        Self::start_with(files, standalone, BTreeMap::new(), None, configure)
    }

    pub(crate) fn start_with(
        files: &[(&str, &str)],
        standalone: &[&str],
        properties: BTreeMap<String, String>,
        local_url: Option<String>,
        configure: impl FnOnce(&mut ScriptConfig),
    ) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        let host = Arc::new(TestHost {
            engine: Mutex::new(Engine::default()),
            properties,
            local_url,
        });
        let mut config = ScriptConfig {
            scripts: standalone.iter().map(|s| dir.path().join(s)).collect(),
            app_dir: Some(dir.path().join("app")),
            store_dir: dir.path().join("store"),
            ..ScriptConfig::default()
        };
        config.limits.callback_budget = Duration::from_millis(500);
        configure(&mut config);
        let scripts = ScriptHost::start(config, host.clone()).expect("start scripts");
        let stop = Arc::new(AtomicBool::new(false));
        let (ticker_host, ticker_stop) = (host.clone(), stop.clone());
        let ticker = std::thread::spawn(move || {
            while !ticker_stop.load(Ordering::Relaxed) {
                ticker_host.engine.lock().tick(wall_ms());
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Harness {
            host,
            scripts: Some(scripts),
            stop,
            ticker: Some(ticker),
            dir,
        }
    }

    pub(crate) fn scripts(&self) -> &ScriptHost {
        self.scripts.as_ref().expect("running")
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Sends a request and waits for the answer.
    pub(crate) fn request(
        &self,
        id: &str,
        method: &str,
        rest: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> ScriptResponse {
        let (path, format) = ScriptRequest::split_rest(rest).expect("rest");
        let request = ScriptRequest {
            method: method.into(),
            path,
            format,
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.map(str::to_string),
        };
        let answer = self.scripts().request(id, request).expect("queued");
        // Every queued request is answered, or its sender dropped when the script stops.
        answer
            .blocking_recv()
            .unwrap_or_else(|e| panic!("no answer from {id}: {e}"))
    }

    pub(crate) fn script_status(&self, id: &str) -> serde_json::Value {
        self.scripts().scripts_json()[id].clone()
    }

    /// Shuts the scripts down (joins their threads).
    pub(crate) fn stop_scripts(&mut self) {
        if let Some(scripts) = self.scripts.take() {
            scripts.shutdown();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop_scripts();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// Waits until `probe` gives `Some`, failing with `what` after `timeout`.
pub(crate) fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn exists(path: &Path) -> bool {
    path.exists()
}
