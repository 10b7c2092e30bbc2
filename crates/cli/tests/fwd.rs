//! `rtflow fwd` over real loopback sockets, including interop with the sflow_fwd.py framing
//! (a Python 3 rendition of the seed script). Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

mod common;

use common::receive_all;

const TIMEOUT: Duration = Duration::from_secs(10);

fn rtflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rtflow"))
}

/// Kills the child on drop so that a failing test leaves nothing behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Guard {
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "process did not exit in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Lines of a child's stream, delivered through a channel so that reads can time out.
fn line_channel(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(lines: &Receiver<String>) -> String {
    lines
        .recv_timeout(TIMEOUT)
        .expect("no line before the timeout")
}

/// Starts `rtflow fwd -p 0 [extra]` and returns it with its actual port, read from the
/// "listening on ADDR:PORT" line on stderr.
fn start_listener(extra: &[&str], stdout: Stdio) -> (Guard, u16, Receiver<String>) {
    let mut child = rtflow()
        .args(["fwd", "-p", "0"])
        .args(extra)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = line_channel(child.stderr.take().unwrap());
    let guard = Guard(child);
    let banner = next_line(&stderr);
    let port = listening_port(&banner);
    (guard, port, stderr)
}

fn listening_port(banner: &str) -> u16 {
    let addr = banner
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
    addr.parse::<SocketAddr>().unwrap().port()
}

fn receiver(addr: &str) -> UdpSocket {
    let socket = UdpSocket::bind(addr).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

/// Independent hex rendering for the expected lines.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sample_payloads() -> Vec<Vec<u8>> {
    vec![
        vec![0x00, 0x01, 0xab, 0xff],
        (0..=255u8).collect(),
        (0..1400).map(|i| (i * 7 % 251) as u8).collect(),
        vec![0x5a; 9000],
    ]
}

fn send_with_pause(socket: &UdpSocket, to: SocketAddr, payload: &[u8]) {
    socket.send_to(payload, to).unwrap();
    // Loopback cannot lose a datagram to congestion at this pace.
    std::thread::sleep(Duration::from_millis(5));
}

/// Sends every sample payload to `port` on localhost and expects each to arrive unchanged at `sink`.
fn assert_each_sample_payload_relayed(port: u16, sink: &UdpSocket) {
    let source = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = vec![0u8; 70_000];
    for payload in sample_payloads() {
        send_with_pause(&source, SocketAddr::from(([127, 0, 0, 1], port)), &payload);
        let len = sink.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], &payload[..]);
    }
}

#[test]
fn listen_mode_writes_one_hex_line_per_datagram_from_ipv4_and_ipv6() {
    let (mut child, port, _stderr) = start_listener(&[], Stdio::piped());
    let stdout = line_channel(child.0.stdout.take().unwrap());
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for payload in sample_payloads() {
        send_with_pause(&sender, SocketAddr::from(([127, 0, 0, 1], port)), &payload);
        assert_eq!(next_line(&stdout), hex(&payload));
    }
    // The default listener is dual-stack.
    match UdpSocket::bind("[::1]:0") {
        Ok(sender6) => {
            send_with_pause(
                &sender6,
                format!("[::1]:{port}").parse().unwrap(),
                b"\x01\x02v6",
            );
            assert_eq!(next_line(&stdout), "01027636");
        }
        Err(err) => eprintln!("no IPv6 loopback ({err}): dual-stack part skipped"),
    }
    // An empty datagram is not forwarded (it would be an invalid empty line downstream).
    send_with_pause(&sender, SocketAddr::from(([127, 0, 0, 1], port)), b"");
    send_with_pause(&sender, SocketAddr::from(([127, 0, 0, 1], port)), b"\xee");
    assert_eq!(next_line(&stdout), "ee");
}

#[test]
fn listen_mode_honours_bind_address() {
    let (_child, port, _stderr) = start_listener(&["--bind", "127.0.0.1"], Stdio::null());
    // The port is taken on 127.0.0.1 only: binding it again there must fail.
    assert!(UdpSocket::bind(("127.0.0.1", port)).is_err());
}

#[test]
fn closed_stdout_ends_the_listener_cleanly() {
    let (mut child, port, stderr) = start_listener(&[], Stdio::piped());
    drop(child.0.stdout.take());
    // Keep sending until it exits: a child that another test thread is spawning at this moment can
    // hold a copy of the pipe's read end until its exec, so the first write may still succeed.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        sender.send_to(b"\x01", ("127.0.0.1", port)).unwrap();
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "process did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = stderr.try_iter().collect();
    assert!(!rest.iter().any(|l| l.contains("panicked")), "{rest:?}");
}

/// Runs `rtflow fwd -s HOST -p PORT` on `input` and returns its stderr.
fn run_sender(host: &str, port: u16, input: &[u8]) -> (std::process::ExitStatus, String) {
    let mut child = rtflow()
        .args(["fwd", "-s", host, "-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut guard = Guard(child);
    stdin.write_all(input).unwrap();
    drop(stdin);
    let status = guard.wait_exit();
    let mut text = String::new();
    BufReader::new(stderr).read_to_string(&mut text).unwrap();
    (status, text)
}

#[test]
fn send_mode_sends_good_lines_and_reports_bad_ones() {
    let socket = receiver("127.0.0.1:0");
    let port = socket.local_addr().unwrap().port();
    let payloads = sample_payloads();
    let oversized = "00".repeat(65_508);
    let mut input = String::new();
    input += &format!("{}\n", hex(&payloads[0])); // line 1
    input += "abc\n"; // 2: odd length
    input += &format!("  {}\r\n", hex(&payloads[1]).to_uppercase()); // 3: CRLF, spaces, uppercase
    input += "\n"; // 4: empty
    input += "xyz0\n"; // 5: not hex
    input += &format!("{oversized}\n"); // 6: too long for UDP
    input += &format!("{}\n", hex(&payloads[2])); // 7
    input += &hex(&payloads[3]); // 8: no final newline
    let (status, stderr) = run_sender("127.0.0.1", port, input.as_bytes());
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(
        receive_all(&socket, 4),
        payloads,
        "the four good lines, in order"
    );
    for (line, what) in [
        (2, "odd number"),
        (4, "empty"),
        (5, "not a hex digit"),
        (6, "65508 bytes"),
    ] {
        assert!(
            stderr.contains(&format!("line {line}: {what}")),
            "line {line}: {stderr}"
        );
    }
    assert!(stderr.contains("sent 4 datagrams"), "{stderr}");
    assert!(stderr.contains("4 bad lines skipped"), "{stderr}");
}

#[test]
fn send_mode_accepts_ipv6_and_ipv4_literals() {
    match UdpSocket::bind("[::1]:0") {
        Ok(socket) => {
            socket.set_read_timeout(Some(TIMEOUT)).unwrap();
            let port = socket.local_addr().unwrap().port();
            let (status, stderr) = run_sender("::1", port, b"c0ffee\n");
            assert!(status.success(), "{stderr}");
            assert_eq!(receive_all(&socket, 1), [vec![0xc0, 0xff, 0xee]]);
        }
        Err(err) => eprintln!("no IPv6 loopback ({err}): IPv6 part skipped"),
    }
    let socket = receiver("127.0.0.1:0");
    let port = socket.local_addr().unwrap().port();
    let (status, stderr) = run_sender("127.0.0.1", port, b"0a0b\n");
    assert!(status.success(), "{stderr}");
    assert_eq!(receive_all(&socket, 1), [vec![0x0a, 0x0b]]);
}

#[test]
fn send_mode_resolves_host_names() {
    // "localhost" may resolve to 127.0.0.1 or ::1 first: listen dual-stack when possible.
    let socket = match dual_stack_receiver() {
        Some(socket) => socket,
        None => receiver("127.0.0.1:0"),
    };
    let port = socket.local_addr().unwrap().port();
    let (status, stderr) = run_sender("localhost", port, b"0d0e0f\n");
    assert!(status.success(), "{stderr}");
    assert_eq!(receive_all(&socket, 1), [vec![0x0d, 0x0e, 0x0f]]);
}

fn dual_stack_receiver() -> Option<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, None).ok()?;
    socket.set_only_v6(false).ok()?;
    socket
        .bind(&"[::]:0".parse::<SocketAddr>().unwrap().into())
        .ok()?;
    let socket: UdpSocket = socket.into();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    Some(socket)
}

#[test]
fn full_tunnel_fwd_to_fwd_s() {
    let sink = receiver("127.0.0.1:0");
    let sink_port = sink.local_addr().unwrap().port();
    let (mut listener, port, _stderr) = start_listener(&[], Stdio::piped());
    let pipe: ChildStdout = listener.0.stdout.take().unwrap();
    let _sender = Guard(
        rtflow()
            .args(["fwd", "-s", "127.0.0.1", "-p", &sink_port.to_string()])
            .stdin(Stdio::from(pipe))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_each_sample_payload_relayed(port, &sink);
}

// ---------------------------------------------------------------------------------------------
// Interop with the seed script's framing, in Python 3.

/// sflow_fwd.py's listener: hexlify each datagram, one line each, flush.
const PY_LISTENER: &str = r#"
import binascii, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
sys.stderr.write("listening on 127.0.0.1:%d\n" % s.getsockname()[1]); sys.stderr.flush()
while True:
    buf = s.recv(65535)
    if not buf:
        break
    sys.stdout.write(binascii.hexlify(buf).decode() + "\n")
    sys.stdout.flush()
"#;

/// sflow_fwd.py's sender: bytearray.fromhex of each line minus its newline, sendto.
const PY_SENDER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    s.sendto(bytearray.fromhex(line[:-1]), (sys.argv[1], int(sys.argv[2])))
"#;

fn python() -> Option<Command> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("python3 not available: interop test skipped");
    }
    ok.then(|| Command::new("python3"))
}

#[test]
fn interop_python_listener_into_rtflow_sender() {
    let Some(mut py) = python() else { return };
    let sink = receiver("127.0.0.1:0");
    let sink_port = sink.local_addr().unwrap().port();
    let mut py_child = py
        .args(["-c", PY_LISTENER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let py_stderr = line_channel(py_child.stderr.take().unwrap());
    let pipe = py_child.stdout.take().unwrap();
    let _py = Guard(py_child);
    let port = listening_port(&next_line(&py_stderr));
    let _rtflow = Guard(
        rtflow()
            .args(["fwd", "-s", "127.0.0.1", "-p", &sink_port.to_string()])
            .stdin(Stdio::from(pipe))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_each_sample_payload_relayed(port, &sink);
}

#[test]
fn interop_rtflow_listener_into_python_sender() {
    let Some(mut py) = python() else { return };
    let sink = receiver("127.0.0.1:0");
    let sink_port = sink.local_addr().unwrap().port();
    let (mut listener, port, _stderr) = start_listener(&[], Stdio::piped());
    let pipe = listener.0.stdout.take().unwrap();
    let _py = Guard(
        py.args(["-c", PY_SENDER, "127.0.0.1", &sink_port.to_string()])
            .stdin(Stdio::from(pipe))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_each_sample_payload_relayed(port, &sink);
}

#[test]
fn hex_lines_match_python_binascii() {
    let Some(mut py) = python() else { return };
    // Python's hexlify of the same bytes, as the reference for our listener's lines.
    let payload: Vec<u8> = (0..=255u8).rev().collect();
    let output = py
        .args([
            "-c",
            "import binascii,sys; print(binascii.hexlify(sys.stdin.buffer.read()).decode())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(&payload)?;
            child.wait_with_output()
        })
        .unwrap();
    let expected = String::from_utf8(output.stdout).unwrap();

    let (mut child, port, _stderr) = start_listener(&[], Stdio::piped());
    let stdout = line_channel(child.0.stdout.take().unwrap());
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(&payload, ("127.0.0.1", port)).unwrap();
    assert_eq!(next_line(&stdout), expected.trim_end());
}
