//! `rtflow serve` and signals: SIGQUIT and SIGUSR1 print a status report and the server keeps serving;
//! SIGTERM, SIGINT and SIGHUP stop it cleanly with exit status 0. Signals are sent with the real `kill`.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// Liveness bound: a server that never prints what is awaited fails the test instead of hanging it.
const STUCK: Duration = Duration::from_secs(30);

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rtflow serve` on loopback with free ports; returns it, its REST address and its stderr lines.
fn start() -> (Guard, SocketAddr, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtflow"))
        .args([
            "serve",
            "--http-bind",
            "127.0.0.1",
            "--http-port",
            "0",
            "--sflow-bind",
            "127.0.0.1",
            "--sflow-port",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let guard = Guard(child);
    let banner = wait_for_line(&lines, "rtflow serve: REST API on http://");
    let addr = banner
        .trim_start_matches("rtflow serve: REST API on http://")
        .parse()
        .unwrap_or_else(|e| panic!("banner {banner:?}: {e}"));
    (guard, addr, lines)
}

fn wait_for_line(lines: &Receiver<String>, prefix: &str) -> String {
    loop {
        match lines.recv_timeout(STUCK) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) => {}
            Err(err) => panic!("no stderr line starting {prefix:?}: {err}"),
        }
    }
}

fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success(), "kill -{signal}");
}

fn get_version(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .set_read_timeout(Some(STUCK))
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(b"GET /version HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap_or_else(|e| panic!("send: {e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("read: {e}"));
    response
}

#[test]
fn status_signals_report_and_keep_serving() {
    let (server, addr, lines) = start();
    for signal in ["QUIT", "USR1"] {
        kill(&server.0, signal);
        let report = wait_for_line(&lines, "rtflow serve: status");
        assert!(report.contains(&format!("(SIG{signal})")), "{report}");
        assert!(report.contains("sFlowDatagramsReceived=0"), "{report}");
        assert!(report.contains("httpConnectionsCurrent="), "{report}");
        let answer = get_version(addr);
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    }
}

#[test]
fn stop_signals_shut_down_cleanly() {
    for signal in ["HUP", "TERM", "INT"] {
        let (mut server, _addr, lines) = start();
        kill(&server.0, signal);
        let stopping = wait_for_line(&lines, "rtflow serve: stopping");
        assert!(stopping.contains(&format!("(SIG{signal})")), "{stopping}");
        wait_for_line(&lines, "rtflow serve: stopped");
        let status = server.0.wait().unwrap_or_else(|e| panic!("wait: {e}"));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {status}");
    }
}
