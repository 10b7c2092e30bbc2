//! Real servers for tests, each a private process on free loopback ports with its data under a scratch
//! directory, stopped (and its directory removed) when dropped: Debian's `clickhouse-server` and `snmpd`.
//! Never the system services, so tests can run beside each other and beside whatever the machine runs.
//!
//! A missing server binary skips the test with one line, unless [`REQUIRE_SERVERS_ENV`] is set (`.ci/run`
//! installs the packages and sets it), which turns the skip into a failure.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Set to `1` (as `.ci/run` does), a test that would skip for lack of a server binary fails instead.
pub const REQUIRE_SERVERS_ENV: &str = "RTFLOW_REQUIRE_SERVERS";

/// Debian's ClickHouse server binary.
pub const CLICKHOUSE_SERVER: &str = "/usr/sbin/clickhouse-server";
/// Debian's net-snmp agent.
pub const SNMPD: &str = "/usr/sbin/snmpd";

/// Longest wait for a server to answer after its start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `program` when it is installed; else one skip line (or a panic when [`REQUIRE_SERVERS_ENV`] is set).
pub fn program(program: &str, package: &str) -> Option<PathBuf> {
    let path = PathBuf::from(program);
    if path.is_file() {
        return Some(path);
    }
    let required = std::env::var_os(REQUIRE_SERVERS_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{REQUIRE_SERVERS_ENV} is set, so this test may not skip, but {program} (Debian package {package}) is missing"
    );
    crate::report_skip(&format!(
        "skipped: needs {program} (apt-get install {package}), not installed"
    ));
    None
}

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it right after).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free TCP port: {e}"))
}

/// A free UDP port on `127.0.0.1` and `[::1]` alike.
pub fn free_udp_port() -> u16 {
    for _ in 0..50 {
        let Ok(v4) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = v4.local_addr().map(|a| a.port()) else {
            continue;
        };
        if UdpSocket::bind(("::1", port)).is_ok() {
            return port;
        }
    }
    panic!("no UDP port free on both 127.0.0.1 and [::1]")
}

/// A fresh scratch directory, removed by [`ScratchDir`]'s drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `$TMPDIR/PREFIX-PID-N-NANOS`, unique within and across test processes.
    pub fn new(prefix: &str) -> ScratchDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("scratch dir {}: {e}", path.display()));
        ScratchDir(path)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status();
}

/// A private `clickhouse-server` on free loopback ports.
#[derive(Debug)]
pub struct ClickHouse {
    dir: ScratchDir,
    /// HTTP interface port.
    pub http_port: u16,
    /// Native protocol port (what `remote_servers` entries name).
    pub tcp_port: u16,
    interserver_port: u16,
    extra_config: String,
    child: Option<Child>,
}

impl ClickHouse {
    /// Starts a server, or `None` (after a skip line) when clickhouse-server is not installed.
    pub fn start() -> Option<ClickHouse> {
        let mut server = ClickHouse::prepare()?;
        server.launch("");
        Some(server)
    }

    /// One server shared by the tests of a test binary that run at the same time (each should use its own
    /// database); it stops when the last of them drops its handle. `None` (after a skip line) when
    /// clickhouse-server is not installed.
    pub fn shared() -> Option<std::sync::Arc<ClickHouse>> {
        use std::sync::{Arc, Mutex, Weak};
        static SHARED: Mutex<Weak<ClickHouse>> = Mutex::new(Weak::new());
        let mut slot = SHARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(server) = slot.upgrade() {
            return Some(server);
        }
        let server = Arc::new(ClickHouse::start()?);
        *slot = Arc::downgrade(&server);
        Some(server)
    }

    /// Picks ports and a directory without starting (so a cluster config can name every node's ports first);
    /// `None` (after a skip line) when clickhouse-server is not installed.
    pub fn prepare() -> Option<ClickHouse> {
        program(CLICKHOUSE_SERVER, "clickhouse-server")?;
        Some(ClickHouse {
            dir: ScratchDir::new("rtflow-clickhouse"),
            http_port: free_tcp_port(),
            tcp_port: free_tcp_port(),
            interserver_port: free_tcp_port(),
            extra_config: String::new(),
            child: None,
        })
    }

    /// Starts the prepared server with `extra_config` (XML elements inside `<yandex>`, e.g. `remote_servers`)
    /// and waits until it answers.
    pub fn launch(&mut self, extra_config: &str) {
        self.extra_config = extra_config.to_string();
        let dir = self.dir.path();
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log><errorlog>{dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{interserver}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <keep_alive_timeout>1</keep_alive_timeout>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_partition_size_to_drop>0</max_partition_size_to_drop>
  <max_table_size_to_drop>0</max_table_size_to_drop>
  {extra}
</yandex>
"#,
            dir = dir.display(),
            http = self.http_port,
            tcp = self.tcp_port,
            interserver = self.interserver_port,
            extra = self.extra_config,
        );
        let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text)
                .unwrap_or_else(|e| panic!("writing {name} in {}: {e}", dir.display()));
        };
        write("config.xml", &config);
        write("users.xml", users);
        let child = Command::new(CLICKHOUSE_SERVER)
            .arg(format!("--config-file={}/config.xml", dir.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CLICKHOUSE_SERVER}: {e}"));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if matches!(
                http_request(self.http_port, "GET", "/ping", ""),
                Ok((200, _))
            ) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("clickhouse-server exited ({status}): {}", self.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "clickhouse-server did not answer within {START_TIMEOUT:?}: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The tail of the server's error log (for failure messages).
    pub fn error_log(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("server.err.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or_default().to_string()
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port)
    }

    /// Runs a statement over HTTP; the answer's body, or the status and body of an error.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        match http_request(self.http_port, "POST", "/", sql) {
            Ok((200, body)) => Ok(body),
            Ok((status, body)) => Err(format!("{status}: {}", body.trim())),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Runs a query expected to succeed and returns its trimmed answer.
    pub fn answer(&self, sql: &str) -> String {
        self.query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .trim()
            .to_string()
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit; the data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "TERM");
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same ports and data.
    pub fn restart(&mut self) {
        self.stop();
        let extra = self.extra_config.clone();
        self.launch(&extra);
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.0 request to 127.0.0.1:`port`; (status, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// The SNMP identities [`Snmpd`] accepts.
pub mod snmp_credentials {
    /// v2c community (IPv4 and IPv6).
    pub const COMMUNITY: &str = "rtflow-v2c";
    /// v3 user with SHA authentication and AES-128 privacy.
    pub const V3_USER: &str = "rtflowv3";
    /// v3 user with SHA authentication, no privacy.
    pub const V3_AUTH_USER: &str = "rtflowv3auth";
    /// Password of both v3 users' SHA authentication.
    pub const V3_AUTH_PASSWORD: &str = "rtflow-auth-pass";
    /// Password of [`V3_USER`]'s AES privacy.
    pub const V3_PRIV_PASSWORD: &str = "rtflow-priv-pass";
    /// The agent's sysName.
    pub const SYS_NAME: &str = "rtflow-test-agent";
}

/// A private net-snmp `snmpd` on `127.0.0.1` and `[::1]` (one free UDP port), serving the system group, ifTable
/// and ifXTable of this machine to the identities in [`snmp_credentials`].
#[derive(Debug)]
pub struct Snmpd {
    dir: ScratchDir,
    /// The UDP port it answers on, on both addresses.
    pub port: u16,
    child: Option<Child>,
}

impl Snmpd {
    /// Starts the agent, or `None` (after a skip line) when snmpd is not installed.
    pub fn start() -> Option<Snmpd> {
        use snmp_credentials::*;
        program(SNMPD, "snmpd")?;
        let dir = ScratchDir::new("rtflow-snmpd");
        let port = free_udp_port();
        let path = dir.path();
        std::fs::create_dir_all(path.join("persist")).unwrap_or_else(|e| panic!("snmpd dir: {e}"));
        let config = format!(
            "[snmp] persistentDir {dir}/persist\n\
             agentaddress udp:127.0.0.1:{port},udp6:[::1]:{port}\n\
             sysName {SYS_NAME}\n\
             sysLocation lab\n\
             sysContact test@example.invalid\n\
             view rtflowview included .1.3.6.1.2.1.1\n\
             view rtflowview included .1.3.6.1.2.1.2\n\
             view rtflowview included .1.3.6.1.2.1.31\n\
             rocommunity  {COMMUNITY} 127.0.0.1 -V rtflowview\n\
             rocommunity6 {COMMUNITY} ::1       -V rtflowview\n\
             createUser {V3_USER} SHA \"{V3_AUTH_PASSWORD}\" AES \"{V3_PRIV_PASSWORD}\"\n\
             rouser {V3_USER} authpriv -V rtflowview\n\
             createUser {V3_AUTH_USER} SHA \"{V3_AUTH_PASSWORD}\"\n\
             rouser {V3_AUTH_USER} authnopriv -V rtflowview\n",
            dir = path.display(),
        );
        let config_path = path.join("snmpd.conf");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("snmpd.conf: {e}"));
        // -f: stay in the foreground (this process owns it); -C: no system configuration files.
        let child = Command::new(SNMPD)
            .arg("-f")
            .arg("-C")
            .arg("-c")
            .arg(&config_path)
            .arg("-Lf")
            .arg(path.join("snmpd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {SNMPD}: {e}"));
        let mut snmpd = Snmpd {
            dir,
            port,
            child: Some(child),
        };
        snmpd.wait_bound();
        Some(snmpd)
    }

    /// Waits until both the IPv4 and the IPv6 socket are bound (seen in /proc/net/udp{,6}).
    fn wait_bound(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let hex_port = format!(":{:04X} ", self.port);
        let bound = |table: &str| {
            std::fs::read_to_string(table)
                .map(|text| text.lines().any(|line| line.contains(&hex_port)))
                .unwrap_or(false)
        };
        while !(bound("/proc/net/udp") && bound("/proc/net/udp6")) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("snmpd exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "snmpd did not bind port {} within {START_TIMEOUT:?}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What snmpd logged so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default()
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            let _ = child.wait();
        }
    }
}
