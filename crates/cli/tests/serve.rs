//! `rtflow serve` configured the sFlow-RT way: a properties file plus `-D` definitions, with named
//! options on top. Checked through the running server's own answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Stops the server on drop so that a failing test leaves nothing behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server; returns it, its REST address, the stderr lines before the banner, and the rest.
fn start(args: &[&str]) -> (Guard, SocketAddr, Vec<String>, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtflow"))
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let guard = Guard(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no REST API banner; stderr: {seen:#?}"));
        if let Some(addr) = line.strip_prefix("rtflow serve: REST API on http://") {
            let addr = addr
                .parse()
                .unwrap_or_else(|e| panic!("banner {line:?}: {e}"));
            return (guard, addr, seen, lines);
        }
        seen.push(line);
    }
}

/// A plain HTTP/1.0 request; returns the status code and the body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .unwrap_or_else(|e| panic!("send: {e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("read: {e}"));
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Lines of stderr that arrive within `wait`.
fn drain(lines: &Receiver<String>, wait: Duration) -> Vec<String> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        out.push(line);
    }
    out
}

#[test]
fn properties_file_and_definitions_configure_the_server() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let conf = dir.path().join("sflow-rt.conf");
    std::fs::write(
        &conf,
        "# as in /usr/local/sflow-rt/conf.d/sflow-rt.conf\n\
         http.hostname=127.0.0.1\n\
         http.port=0\n\
         sflow.hostname=127.0.0.1\n\
         sflow.port=0\n\
         http.readonly=no\n\
         prometheus.metric.prefix=site_\n\
         geo.asn=/opt/GeoLite2-ASN.mmdb\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let conf_arg = conf.display().to_string();
    let (_server, addr, startup, lines) = start(&[
        "--config",
        &conf_arg,
        "-Dhttp.readonly=yes", // -D wins over the file
        "-Dhttp.log=yes",
        "-Dprometheus.metric.prefix=rt_",
    ]);
    assert!(addr.ip().is_loopback(), "{addr}");

    let (status, text) = request(addr, "GET", "/prometheus/analyzer/txt", "");
    assert_eq!(status, 200);
    assert!(text.contains("\nrt_analyzer_"), "{text}");
    assert!(!text.contains("sflow_analyzer_"), "{text}");
    assert!(!text.contains("site_"), "{text}");

    let (status, _) = request(
        addr,
        "PUT",
        "/flow/pairs/json",
        r#"{"keys":"ipsource","value":"bytes"}"#,
    );
    assert_eq!(status, 403, "http.readonly=yes from -D");

    let logged = drain(&lines, Duration::from_secs(2));
    assert!(
        logged
            .iter()
            .any(|l| l.contains("PUT /flow/pairs/json 403")),
        "http.log=yes: {logged:#?}"
    );
    assert!(
        startup
            .iter()
            .any(|l| l.contains("WARN") && l.contains("geo.asn")),
        "no warning for the unsupported property: {startup:#?}"
    );
}

/// Logs written to a pipe carry no ANSI colour codes, and each start-up fact is said once: the
/// bound addresses only in the banner lines, not again in a log line.
#[test]
fn startup_log_is_plain_text_without_repeats() {
    let (_server, _addr, startup, _lines) = start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--sflow-bind",
        "127.0.0.1",
        "--sflow-port",
        "0",
    ]);
    assert!(
        startup.iter().any(|l| l.contains(" INFO ")),
        "expected log lines before the banner: {startup:#?}"
    );
    assert!(
        startup.iter().all(|l| !l.contains('\u{1b}')),
        "ANSI escapes in a piped log: {startup:#?}"
    );
    let banners: Vec<&String> = startup
        .iter()
        .filter(|l| l.contains("udp") && l.contains("127.0.0.1:"))
        .collect();
    assert_eq!(
        banners.len(),
        1,
        "the sFlow address said once: {startup:#?}"
    );
    assert!(
        startup.iter().all(|l| !l.contains("REST API on")),
        "the REST address is said by the banner only: {startup:#?}"
    );
}

#[test]
fn named_options_override_properties() {
    let (_server, addr, _, _lines) = start(&[
        "-Dhttp.hostname=127.0.0.1",
        "-Dhttp.port=1", // replaced by --http-port
        "-Dsflow.hostname=127.0.0.1",
        "-Dsflow.port=0",
        "--http-port",
        "0",
    ]);
    assert_ne!(addr.port(), 1);
    let (status, text) = request(addr, "GET", "/prometheus/analyzer/txt", "");
    assert_eq!(status, 200);
    assert!(text.contains("\nsflow_analyzer_"), "default prefix: {text}");
}

#[test]
fn bad_properties_are_refused_with_their_name() {
    for (args, expected) in [
        (vec!["-Dsflow.port=http"], "sflow.port"),
        (vec!["-Dnovalue"], "NAME=VALUE"),
        (
            vec!["--config", "/nonexistent/rtflow.conf"],
            "/nonexistent/rtflow.conf",
        ),
        (
            vec!["-Dsystem.propertyFiles=/nonexistent/a.conf"],
            "/nonexistent/a.conf",
        ),
        (
            vec!["--oui-file", "/nonexistent/oui.txt"],
            "/nonexistent/oui.txt",
        ),
        (
            vec!["-Doui.names=/nonexistent/oui2.txt"],
            "/nonexistent/oui2.txt",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_rtflow"))
            .arg("serve")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
