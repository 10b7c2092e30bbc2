//! Hostile-input hardening through the real sockets: the HTTP connection cap, timeouts and body limits, the
//! forwarding loop guard, skipped-record counts and canonical IPv4 addresses on the dual-stack socket.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::{Agent, Api, eventually, loopback_config, start};
use rtflow_server::HttpLimits;

/// Liveness bound of the blocking socket reads below (a hang fails the test instead of blocking it forever).
const STUCK: Duration = Duration::from_secs(30);

/// A server whose sFlow socket is the dual-stack wildcard `[::]`; returns it and the sFlow port.
async fn start_dual_stack() -> (rtflow_server::Server, u16) {
    let mut config = loopback_config();
    config.sflow_bind = Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let server = start(config).await;
    let port = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"))
        .port();
    (server, port)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(STUCK))
        .unwrap_or_else(|e| panic!("{e}"));
    stream
}

/// Everything the server sends until it closes the connection.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => break,
            Err(err) => panic!("read: {err} after {:?}", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One `GET path` on a fresh connection that asks the server to close it; the whole response.
fn get_closing(addr: SocketAddr, path: &str) -> String {
    let mut stream = connect(addr);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    read_until_closed(&mut stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_cap_make_room_and_busy_ones_refuse_clearly() {
    let mut config = loopback_config();
    config.http_limits = HttpLimits {
        max_connections: 16,
        ..HttpLimits::default()
    };
    let server = start(config).await;
    let addr = server.http_addr();
    let api = Api::new(addr);

    let result = tokio::task::spawn_blocking(move || {
        // Twice the cap of connections that never send a byte.
        let idle: Vec<TcpStream> = (0..32).map(|_| connect(addr)).collect();
        // A new client is still answered: the longest-idle connections were closed to make room.
        let answer = get_closing(addr, "/version");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The first idle connections were closed by the server (EOF), not left hanging.
        let mut idle = idle.into_iter();
        let mut first = idle.next().unwrap_or_else(|| panic!("no idle"));
        assert_eq!(read_until_closed(&mut first), "");
        // The others stay open: one the client closed before its task saw the eviction would end as closed.
        idle.collect::<Vec<_>>()
    })
    .await;
    let still_open = result.unwrap_or_else(|e| panic!("{e}"));
    // Each chosen connection counts its eviction when its own task wakes: await them all.
    eventually(STUCK, "16 idle connections evicted", || async {
        let analyzer = api.get("/analyzer/json").await;
        (analyzer["httpConnectionsEvicted"].as_u64().unwrap_or(0) >= 16).then_some(())
    })
    .await;
    drop(still_open);

    // Every connection busy with a long-poll: a newcomer is refused with a 503 that says why. A poll whose
    // connection was closed as idle before its request arrived (by a probe below) polls again.
    let polls: Vec<_> = (0..16)
        .map(|_| tokio::spawn(long_poll_until_answered(addr)))
        .collect();
    let refusal = eventually(STUCK, "a refusal at the cap", || async {
        let answer = tokio::task::spawn_blocking(move || get_closing(addr, "/version"))
            .await
            .unwrap_or_default();
        answer.starts_with("HTTP/1.1 503").then_some(answer)
    })
    .await;
    assert!(refusal.contains("too many HTTP connections"), "{refusal}");
    assert!(refusal.contains("retry-after"), "{refusal}");
    server.shutdown().await;
    for poll in polls {
        poll.await.unwrap_or_else(|e| panic!("poll: {e}"));
    }
}

/// A 60 s `/events/json` long-poll on its own connection, repeated (at most 200 times) until it is answered.
async fn long_poll_until_answered(addr: SocketAddr) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    for _ in 0..200 {
        let sent = client
            .get(format!("http://{addr}/events/json?eventID=-1&timeout=60"))
            .send()
            .await;
        if sent.is_ok_and(|response| response.status() == 200) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_announced_body_is_refused_at_once_and_slow_bodies_and_headers_time_out() {
    let mut config = loopback_config();
    config.http_limits = HttpLimits {
        idle_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let server = start(config).await;
    let addr = server.http_addr();
    let api = Api::new(addr);

    let result = tokio::task::spawn_blocking(move || {
        // 10 GB announced, nothing sent: 413 without waiting for the body.
        let mut stream = connect(addr);
        write!(
            stream,
            "PUT /flow/big/json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 10000000000\r\n\r\n"
        )
        .unwrap_or_else(|e| panic!("write: {e}"));
        let answer = read_until_closed(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("larger than the limit"), "{answer}");

        // A small body announced but never sent: 408 once the body timeout passes.
        let mut stream = connect(addr);
        write!(
            stream,
            "PUT /flow/slow/json HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{{\"keys\""
        )
        .unwrap_or_else(|e| panic!("write: {e}"));
        let answer = read_until_closed(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

        // Slow-loris: half a request line, then nothing. The server closes the connection.
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /version HT")
            .unwrap_or_else(|e| panic!("write: {e}"));
        let answer = read_until_closed(&mut stream);
        assert!(!answer.contains("200 OK"), "{answer}");

        // An idle keep-alive connection is closed after its last response.
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap_or_else(|e| panic!("write: {e}"));
        let answer = read_until_closed(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await;
    result.unwrap_or_else(|e| panic!("{e}"));
    let analyzer = api.get("/analyzer/json").await;
    assert!(
        analyzer["httpTimeouts"].as_u64().unwrap_or(0) >= 2,
        "{analyzer}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_to_the_own_socket_is_refused_and_a_loop_through_a_collector_ends() {
    // Dual-stack wildcard socket: every local address reaches it.
    let (server, port) = start_dual_stack().await;
    let api = Api::new(server.http_addr());

    for address in [
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "127.0.0.2",
    ] {
        let (status, text) = api
            .put(
                "/forwarding/self/json",
                &format!(r#"{{"address":"{address}","port":{port}}}"#),
            )
            .await;
        assert_eq!(status, 400, "{address}: {text}");
        assert!(text.contains("own sFlow socket"), "{address}: {text}");
    }
    let (status, text) = api
        .put(
            "/tenant/self/json",
            &format!(
                r#"{{"collectorAddress":"127.0.0.1","collectorPort":{port},"filters":{{"ifindex":["10.0.0.1_1"]}}}}"#
            ),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(api.get("/forwarding/json").await, serde_json::json!({}));

    // A "collector" that sends every datagram straight back: the loop ends after one round.
    let mirror = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("mirror: {e}"));
    let mirror_port = mirror.local_addr().map(|a| a.port()).unwrap_or(0);
    api.put_ok(
        "/forwarding/mirror/json",
        &format!(r#"{{"address":"127.0.0.1","port":{mirror_port}}}"#),
    )
    .await;
    let to_server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let bounce = std::thread::spawn(move || {
        mirror
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut buffer = [0u8; 65536];
        let mut bounced = 0u32;
        // Bounce everything until the server stops sending for 2 s (bounded: a real loop would run forever,
        // which the count limit turns into a failure below).
        while bounced < 1000 {
            match mirror.recv_from(&mut buffer) {
                Ok((len, _)) => {
                    let _ = mirror.send_to(&buffer[..len], to_server);
                    bounced += 1;
                }
                Err(_) => break,
            }
        }
        bounced
    });
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 7), 3, 100);
    let datagram = agent.counter_datagram(1_000, 1_000, 2_000);
    sender
        .send_to(&datagram, to_server)
        .unwrap_or_else(|e| panic!("send: {e}"));
    let bounced = tokio::task::spawn_blocking(move || bounce.join().unwrap_or(u32::MAX))
        .await
        .unwrap_or(u32::MAX);
    assert_eq!(bounced, 1, "the datagram went round more than once");
    let analyzer = eventually(STUCK, "the looped datagram counted", || async {
        let analyzer = api.get("/analyzer/json").await;
        (analyzer["sFlowDatagramsLooped"] == 1).then_some(analyzer)
    })
    .await;
    assert_eq!(analyzer["sFlowDatagramsForwarded"], 1, "{analyzer}");
    assert_eq!(analyzer["sFlowDatagramsReceived"], 1, "{analyzer}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_senders_on_the_dual_stack_socket_show_as_ipv4_and_skipped_records_are_exported() {
    let (server, port) = start_dual_stack().await;
    let api = Api::new(server.http_addr());
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 8), 3, 100);
    let mut datagram = agent.counter_datagram(1_000, 1_000, 2_000);
    // Break the generic-interface record's body: its length says 4 bytes, so it cannot decode, while the
    // record framing and the sample stay valid. Header (7 words), sample tag, length, sequence, source, count,
    // then the record's tag and length.
    let record_length_at = 4 * 13;
    datagram.truncate(record_length_at);
    datagram.extend_from_slice(&4u32.to_be_bytes());
    datagram.extend_from_slice(&[0; 4]);
    let sample_length = (datagram.len() - 4 * 9) as u32;
    datagram[4 * 8..4 * 9].copy_from_slice(&sample_length.to_be_bytes());
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    sender
        .send_to(
            &datagram,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        )
        .unwrap_or_else(|e| panic!("send: {e}"));

    let agents = eventually(STUCK, "the agent", || async {
        let agents = api.get("/agents/json").await;
        agents.get("10.0.0.8").is_some().then_some(agents)
    })
    .await;
    let info = &agents["10.0.0.8"];
    assert_eq!(
        info["sFlowDatagramSource"],
        serde_json::json!(["127.0.0.1"])
    );
    assert_eq!(info["sFlowRecordDecodeErrors"], 1, "{info}");
    assert_eq!(info["sFlowCounterSamples"], 1, "{info}");
    let analyzer = api.get("/analyzer/json").await;
    assert_eq!(analyzer["sFlowRecordDecodeErrors"], 1, "{analyzer}");
    assert_eq!(analyzer["sFlowDatagramsDiscarded"], 0, "{analyzer}");
    let prometheus = api.get_text("/prometheus/analyzer/txt").await;
    assert!(
        prometheus.contains("\nsflow_analyzer_record_decode_errors 1\n"),
        "{prometheus}"
    );
    assert!(
        prometheus.contains("\nsflow_agent_record_decode_errors{agent=\"10.0.0.8\"} 1\n"),
        "{prometheus}"
    );
    server.shutdown().await;
}
