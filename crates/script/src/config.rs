//! What to run and within which limits: standalone scripts, the app directory, the store, queue sizes and the
//! per-callback time budget. Built from sFlow-RT's system properties plus rtflow's own options.

use std::path::PathBuf;
use std::time::Duration;

/// Limits applied to every script.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest time one callback (load, interval, flow, event, HTTP handler) may run before it is interrupted.
    pub callback_budget: Duration,
    /// Memory limit of each script's JavaScript runtime, in bytes.
    pub memory_bytes: usize,
    /// Logged flow records queued per script before new ones are dropped and counted (`script.maxflowqueue`).
    pub max_flow_queue: usize,
    /// Threshold events queued per script (`script.maxeventqueue`).
    pub max_event_queue: usize,
    /// HTTP requests queued per script before 503 (`script.maxrequestqueue`).
    pub max_request_queue: usize,
    /// Timeout of each `http()`, `http2()` and `httpAsync()` call.
    pub http_timeout: Duration,
    /// Threads running `httpAsync()` requests (`script.asyncthreads`).
    pub async_threads: usize,
    /// Longest a `runCmd()` program may run before it is killed (`script.cmd.timeout`, ms). The callback that
    /// called it stays within `callback_budget` too.
    pub command_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            callback_budget: Duration::from_secs(10),
            memory_bytes: 256 * 1024 * 1024,
            max_flow_queue: 100_000,
            max_event_queue: 10_000,
            max_request_queue: 400,
            http_timeout: Duration::from_secs(10),
            async_threads: 4,
            command_timeout: Duration::from_secs(10),
        }
    }
}

/// The scripting configuration of a server.
#[derive(Clone, Debug)]
pub struct ScriptConfig {
    /// Standalone scripts (`script.file`, `script.file.N`, `--script`), run outside any app.
    pub scripts: Vec<PathBuf>,
    /// Directory of apps (`APPDIR/NAME/scripts/*.js`, `APPDIR/NAME/html/`); `None` = no apps.
    pub app_dir: Option<PathBuf>,
    /// Where `storeSet` persists values (`script.store`).
    pub store_dir: PathBuf,
    /// PEM files of certificate authorities trusted by scripts' `https://` calls besides the system's roots
    /// (`script.http.cafile`, comma-separated).
    pub http_ca_files: Vec<PathBuf>,
    /// Per-script limits (`script.*`: memory, run time, queued requests…).
    pub limits: Limits,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        Self {
            scripts: Vec::new(),
            app_dir: None,
            store_dir: PathBuf::from(DEFAULT_STORE_DIR),
            http_ca_files: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// sFlow-RT's default `script.store`.
pub const DEFAULT_STORE_DIR: &str = "store";
/// The default app directory (sFlow-RT's `app/` beside its installation; here relative to the working directory).
pub const DEFAULT_APP_DIR: &str = "app";

/// A property that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("property {name}={value:?}: {reason}")]
pub struct ConfigError {
    /// The property's name.
    pub name: String,
    /// Its value as given.
    pub value: String,
    /// Why it cannot be used.
    pub reason: &'static str,
}

impl ScriptConfig {
    /// Applies the scripting properties found through `get` (`script.file`, `script.file.N`, `script.store`,
    /// `script.maxflowqueue`, `script.maxeventqueue`, `script.maxrequestqueue`, `script.asyncthreads`, and
    /// rtflow's `script.timeout` (ms), `script.maxmemory` (MiB), `script.http.timeout` (ms), `script.http.cafile`
    /// (PEM files), `script.cmd.timeout` (ms)), with `names`
    /// listing every property name (for the numbered `script.file.N`).
    pub fn apply_properties(
        &mut self,
        names: &[String],
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(list) = get("script.file") {
            self.scripts.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from),
            );
        }
        let mut numbered: Vec<(u64, String)> = names
            .iter()
            .filter_map(|name| {
                let n = name.strip_prefix("script.file.")?.parse().ok()?;
                Some((n, get(name)?))
            })
            .collect();
        numbered.sort();
        self.scripts
            .extend(numbered.into_iter().map(|(_, path)| PathBuf::from(path)));
        if let Some(dir) = get("script.store") {
            self.store_dir = PathBuf::from(dir);
        }
        if let Some(list) = get("script.http.cafile") {
            self.http_ca_files.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from),
            );
        }
        let number = |name: &str| -> Result<Option<u64>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(value) => value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or(ConfigError {
                        name: name.to_string(),
                        value,
                        reason: "expected a positive integer",
                    }),
            }
        };
        let limits = &mut self.limits;
        if let Some(n) = number("script.maxflowqueue")? {
            limits.max_flow_queue = n as usize;
        }
        if let Some(n) = number("script.maxeventqueue")? {
            limits.max_event_queue = n as usize;
        }
        if let Some(n) = number("script.maxrequestqueue")? {
            limits.max_request_queue = n as usize;
        }
        if let Some(n) = number("script.asyncthreads")? {
            limits.async_threads = n as usize;
        }
        if let Some(ms) = number("script.timeout")? {
            limits.callback_budget = Duration::from_millis(ms);
        }
        if let Some(mib) = number("script.maxmemory")? {
            limits.memory_bytes = (mib as usize).saturating_mul(1024 * 1024);
        }
        if let Some(ms) = number("script.http.timeout")? {
            limits.http_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number("script.cmd.timeout")? {
            limits.command_timeout = Duration::from_millis(ms);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn properties_fill_the_config() {
        let props: BTreeMap<String, String> = [
            ("script.file", "a.js, b.js"),
            ("script.file.2", "d.js"),
            ("script.file.1", "c.js"),
            ("script.store", "/tmp/st"),
            ("script.maxflowqueue", "7"),
            ("script.timeout", "250"),
            ("script.cmd.timeout", "1500"),
            ("script.http.cafile", "/etc/ca/a.pem, /etc/ca/b.pem"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let names: Vec<String> = props.keys().cloned().collect();
        let mut config = ScriptConfig::default();
        config
            .apply_properties(&names, |n| props.get(n).cloned())
            .expect("valid");
        let scripts: Vec<String> = config
            .scripts
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(scripts, ["a.js", "b.js", "c.js", "d.js"]);
        assert_eq!(config.store_dir, PathBuf::from("/tmp/st"));
        assert_eq!(config.limits.max_flow_queue, 7);
        assert_eq!(config.limits.callback_budget, Duration::from_millis(250));
        assert_eq!(config.limits.command_timeout, Duration::from_millis(1500));
        assert_eq!(
            config.http_ca_files,
            [
                PathBuf::from("/etc/ca/a.pem"),
                PathBuf::from("/etc/ca/b.pem")
            ]
        );
        let bad =
            config.apply_properties(&[], |n| (n == "script.maxeventqueue").then(|| "x".into()));
        assert!(bad.is_err());
    }
}
