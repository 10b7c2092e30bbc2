//! rtflow-script: the embedded JavaScript platform of sFlow-RT, so existing scripts and apps run unchanged.
//!
//! * Each script (a standalone `script.file`, or every `APPDIR/NAME/scripts/*.js`) runs in its own QuickJS
//!   runtime and global scope on its own thread, as sloppy-mode code after the Mozilla-syntax rewrite
//!   ([`rewrite`]). Its callbacks (interval ticks, logged flows, events, HTTP requests, async results) are
//!   queued to that thread and never run concurrently. Flow and event queues are engine stream
//!   subscriptions, bounded, with lost counters.
//! * A callback that runs past the time budget is interrupted; each runtime has a memory limit; a script
//!   that throws is logged (script, file, line) and the others go on. Scripts take the engine lock only for
//!   one API call, so a broken or runaway script cannot stall ingest or the REST API.
//! * The API (tiers 1–3 of the spec, BGP stubs) reaches the engine through [`Host`], which the server
//!   implements; this crate does not depend on the server.

mod api;
mod baseline;
mod command;
mod config;
mod convert;
mod format;
mod host;
mod loader;
mod net;
mod request;
pub mod rewrite;
mod runtime;
mod status;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;
use serde_json::{Value, json};

pub use config::{ConfigError, DEFAULT_APP_DIR, DEFAULT_STORE_DIR, Limits, ScriptConfig};
pub use format::format_number;
pub use host::{EngineGuard, Host};
pub use loader::{AppSpec, ScriptSpec};
pub use request::{RequestError, ScriptRequest, ScriptResponse};
pub use store::{Store, StoreError};

use runtime::{AsyncJob, Control, HttpJob};
use status::ScriptStatus;

/// State shared by all scripts of a server.
pub(crate) struct Shared {
    pub host: Arc<dyn Host>,
    pub limits: Limits,
    pub store_root: PathBuf,
    /// `sharedGet`/`sharedSet` values by (app, key): copies, so scripts never share live objects.
    pub shared_values: Mutex<HashMap<(String, String), Value>>,
    pub async_jobs: Sender<AsyncJob>,
    pub stopping: Arc<AtomicBool>,
    pub hostname: String,
    /// `http()`, `http2()` and `httpAsync()`.
    pub http: net::HttpClient,
}

struct ScriptHandle {
    spec: ScriptSpec,
    status: Arc<ScriptStatus>,
    control: Sender<Control>,
    http: Sender<HttpJob>,
    thread: Option<JoinHandle<()>>,
}

/// Why scripting could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// A script's thread could not be started.
    #[error("cannot start a thread for {what}")]
    Thread {
        /// The script or service the thread was for.
        what: String,
        /// The operating system's refusal.
        source: std::io::Error,
    },
    /// The same script (by id) was given twice.
    #[error("script {0} is listed twice")]
    Duplicate(String),
    /// The TLS setup of scripts' `http()` client failed (a bad CA file).
    #[error("scripts' HTTP client")]
    HttpClient(#[from] net::TlsSetupError),
}

/// The running scripts and apps of a server.
pub struct ScriptHost {
    apps: Vec<AppSpec>,
    scripts: Vec<ScriptHandle>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptHost")
            .field("apps", &self.apps)
            .field(
                "scripts",
                &self.scripts.iter().map(|s| &s.spec.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ScriptHost {
    /// Discovers the apps, then starts every script (apps' first, then standalone ones) on its own thread.
    pub fn start(config: ScriptConfig, host: Arc<dyn Host>) -> Result<ScriptHost, ScriptError> {
        let (apps, mut specs) = match &config.app_dir {
            Some(dir) => loader::discover_apps(dir),
            None => (Vec::new(), Vec::new()),
        };
        for path in &config.scripts {
            let spec = loader::standalone(path);
            if specs.iter().any(|s| s.id == spec.id) {
                return Err(ScriptError::Duplicate(spec.id));
            }
            specs.push(spec);
        }
        let http = net::HttpClient::new(config.limits.http_timeout, &config.http_ca_files)?;
        let (async_tx, async_rx) = crossbeam_channel::bounded::<AsyncJob>(1024);
        let shared = Arc::new(Shared {
            host,
            limits: config.limits.clone(),
            store_root: config.store_dir.clone(),
            shared_values: Mutex::new(HashMap::new()),
            async_jobs: async_tx,
            stopping: Arc::new(AtomicBool::new(false)),
            hostname: net::hostname(),
            http,
        });
        let mut workers = Vec::new();
        for i in 0..config.limits.async_threads.max(1) {
            let jobs = async_rx.clone();
            let host = shared.host.clone();
            let stopping = shared.stopping.clone();
            let http = shared.http.clone();
            let worker = std::thread::Builder::new()
                .name(format!("script-async-{i}"))
                .spawn(move || async_worker(&jobs, host.as_ref(), &stopping, &http))
                .map_err(|source| ScriptError::Thread {
                    what: "httpAsync".into(),
                    source,
                })?;
            workers.push(worker);
        }
        let mut host = ScriptHost {
            apps,
            scripts: Vec::new(),
            shared,
            workers,
        };
        for spec in specs {
            host.spawn(spec)?;
        }
        Ok(host)
    }

    fn spawn(&mut self, spec: ScriptSpec) -> Result<(), ScriptError> {
        let status = Arc::new(ScriptStatus::default());
        // Alive from now on, so requests queue while the script loads.
        status.alive.store(true, Ordering::Relaxed);
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let (http_tx, http_rx) =
            crossbeam_channel::bounded(self.shared.limits.max_request_queue.max(1));
        let thread_spec = spec.clone();
        let shared = self.shared.clone();
        let thread_status = status.clone();
        let control = (control_tx.clone(), control_rx);
        let thread = std::thread::Builder::new()
            .name(format!("script {}", spec.id))
            .spawn(move || runtime::run(thread_spec, shared, thread_status, control, http_rx))
            .map_err(|source| ScriptError::Thread {
                what: spec.id.clone(),
                source,
            })?;
        self.scripts.push(ScriptHandle {
            spec,
            status,
            control: control_tx,
            http: http_tx,
            thread: Some(thread),
        });
        Ok(())
    }

    /// The apps found at start (`/apps/json`).
    pub fn apps(&self) -> &[AppSpec] {
        &self.apps
    }

    /// An app by name.
    pub fn app(&self, name: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|a| a.name == name)
    }

    /// `/apps/json`: `{app: {entry: "/html/", scripts: [files]}}` (`entry` only when the app has a UI), plus
    /// rtflow's `api: "/api/"` when the app describes its API in `api.yml` (its explorer page).
    pub fn apps_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for app in &self.apps {
            let mut entry = json!({ "scripts": app.scripts });
            if app.has_html {
                entry["entry"] = Value::String("/html/".into());
            }
            if app.api_docs().is_some() {
                entry["api"] = Value::String("/api/".into());
            }
            out.insert(app.name.clone(), entry);
        }
        Value::Object(out)
    }

    /// `/scripts/json`: each script's state and counters by id.
    pub fn scripts_json(&self) -> Value {
        let out: serde_json::Map<String, Value> = self
            .scripts
            .iter()
            .map(|s| (s.spec.id.clone(), s.status.to_json()))
            .collect();
        Value::Object(out)
    }

    /// `/app/NAME/status`: `Some(true)` while every script of the app runs (or ended cleanly) without error,
    /// `None` for an unknown app.
    pub fn app_ok(&self, name: &str) -> Option<bool> {
        self.app(name)?;
        Some(
            self.scripts
                .iter()
                .filter(|s| s.spec.app.as_deref() == Some(name))
                .all(|s| s.status.is_ok()),
        )
    }

    /// Whether every script runs without error (for `/status`).
    pub fn all_ok(&self) -> bool {
        self.scripts.iter().all(|s| s.status.is_ok())
    }

    /// Queues `request` for the script `id` (`APP~FILE.js`, or a standalone script's file name, optionally `~FILE.js`). The answer
    /// arrives on the returned channel; a full queue is refused (and counted in `requestsLost`).
    pub fn request(
        &self,
        id: &str,
        request: ScriptRequest,
    ) -> Result<tokio::sync::oneshot::Receiver<ScriptResponse>, RequestError> {
        // `/script/~file.js/…` names a standalone script as `/script/file.js/…` does.
        let id = id.strip_prefix('~').unwrap_or(id);
        let script = self
            .scripts
            .iter()
            .find(|s| s.spec.id == id)
            .ok_or_else(|| RequestError::NoSuchScript(id.to_string()))?;
        if !script.status.alive.load(Ordering::Relaxed) {
            return Err(RequestError::NotRunning(id.to_string()));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        match script.http.try_send(HttpJob { request, reply }) {
            Ok(()) => {
                script
                    .status
                    .requests_received
                    .fetch_add(1, Ordering::Relaxed);
                Ok(answer)
            }
            Err(TrySendError::Full(_)) => {
                script.status.requests_lost.fetch_add(1, Ordering::Relaxed);
                Err(RequestError::QueueFull(id.to_string()))
            }
            Err(TrySendError::Disconnected(_)) => Err(RequestError::NotRunning(id.to_string())),
        }
    }

    /// How long a request may wait for its answer: the callback budget plus queueing slack.
    pub fn request_timeout(&self) -> Duration {
        self.shared.limits.callback_budget + Duration::from_secs(5)
    }

    /// The static file `path` (relative, from the URL) of an app's `html/` directory, refusing to leave it.
    pub fn html_file(&self, app: &str, path: &str) -> Option<PathBuf> {
        let root = self.app(app)?.dir.join("html");
        safe_join(&root, path)
    }

    /// Stops every script and joins the threads. Runaway callbacks are interrupted.
    pub fn shutdown(mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        for script in &self.scripts {
            let _ = script.control.send(Control::Stop);
        }
        for script in &mut self.scripts {
            if let Some(thread) = script.thread.take() {
                let _ = thread.join();
            }
        }
        let workers = std::mem::take(&mut self.workers);
        drop(self);
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// `root/path` when `path` stays inside `root` (no `..`, no absolute parts); `index.html` for directories.
fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s if s.contains('\\') || s.contains('\0') => return None,
            s => out.push(s),
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

/// Runs `httpAsync` requests; ends when the shared state (the only sender) is gone after all scripts stopped.
fn async_worker(
    jobs: &Receiver<AsyncJob>,
    host: &dyn Host,
    stopping: &AtomicBool,
    http: &net::HttpClient,
) {
    while let Ok(job) = jobs.recv() {
        if stopping.load(Ordering::Relaxed) {
            continue;
        }
        let local = host.local_url();
        let result = http
            .send(&job.call, local.as_deref())
            .map_err(|e| e.to_string());
        let _ = job.reply.send(Control::AsyncDone { id: job.id, result });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_files_stay_inside_the_html_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let html = dir.path().join("html");
        std::fs::create_dir_all(html.join("js")).expect("mkdir");
        std::fs::write(html.join("index.html"), "<html>").expect("write");
        std::fs::write(html.join("js/app.js"), "x").expect("write");
        std::fs::write(dir.path().join("secret"), "s").expect("write");
        assert_eq!(safe_join(&html, "js/app.js"), Some(html.join("js/app.js")));
        assert_eq!(safe_join(&html, ""), Some(html.join("index.html")));
        assert_eq!(safe_join(&html, "js/../index.html"), None);
        assert_eq!(safe_join(&html, "../secret"), None);
        assert_eq!(safe_join(&html, "missing.css"), None);
    }
}
