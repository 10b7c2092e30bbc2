//! `/tenant` end to end: two tenants with different filters, datagrams sent to the real sFlow socket over
//! loopback, and two real UDP collectors that must each receive exactly their samples with gap-free sequence
//! numbers. Also the REST errors (400 naming the field, 404, 403), that DELETE stops the stream, and that
//! `--replay` feeds tenants through the same path.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{Api, LOOPBACK, TcpFlow, eventually, loopback_config, start, tcp_header};
use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, Datagram, DatagramBuilder,
    DatagramHeader, FlowRecord, FlowSampleInfo, GenericInterfaceCounters, Interface, Sample,
    SampledHeader,
};
use serde_json::json;

const AGENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
/// Longest wait for an expected datagram.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a collector must stay silent to count as "received nothing more".
const QUIET_PERIOD: Duration = Duration::from_millis(400);

/// What a test datagram carries: flow samples `(sample sequence, ifIndex, src, dst)` or one counter sample.
enum Content<'a> {
    Flows(&'a [(u32, u32, [u8; 4], [u8; 4])]),
    Counter { sequence: u32, ifindex: u32 },
}

fn datagram(sequence: u32, content: Content<'_>) -> Vec<u8> {
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::V4(AGENT),
        sub_agent_id: 1,
        sequence_number: sequence,
        uptime_ms: 60_000 + sequence,
    });
    match content {
        Content::Flows(flows) => {
            for &(sample, ifindex, src, dst) in flows {
                let header = tcp_header(
                    &TcpFlow {
                        src: src.into(),
                        dst: dst.into(),
                        sport: 40_000,
                        dport: 443,
                    },
                    1_000,
                );
                builder.flow_sample(
                    &FlowSampleInfo {
                        sequence_number: sample,
                        source_id: DataSource {
                            class: 0,
                            index: ifindex,
                        },
                        sampling_rate: 100,
                        sample_pool: 100 * sample,
                        input: Interface::index(ifindex),
                        output: Interface::index(99),
                        ..Default::default()
                    },
                    &[FlowRecord::SampledHeader(SampledHeader {
                        protocol: 1,
                        frame_length: 1_000,
                        stripped: 4,
                        header: &header,
                    })],
                );
            }
        }
        Content::Counter { sequence, ifindex } => {
            builder.counter_sample(
                &CounterSampleInfo {
                    sequence_number: sequence,
                    source_id: DataSource {
                        class: 0,
                        index: ifindex,
                    },
                    expanded: false,
                },
                &[CounterRecord::GenericInterface(GenericInterfaceCounters {
                    if_index: ifindex,
                    if_speed: 1_000_000_000,
                    ..Default::default()
                })],
            );
        }
    }
    builder.finish()
}

/// One datagram as a collector saw it: (datagram sequence, sample ids). Flow samples are their sequence
/// number, counter samples `1000 + sequence`.
type Seen = (u32, Vec<u32>);

fn collector() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind((LOOPBACK, 0)).unwrap_or_else(|e| panic!("collector: {e}"));
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    (socket, port)
}

fn decode(bytes: &[u8]) -> Seen {
    let datagram = Datagram::decode(bytes).unwrap_or_else(|e| panic!("tenant datagram: {e}"));
    assert_eq!(datagram.header.agent, Address::V4(AGENT));
    assert_eq!(datagram.header.sub_agent_id, 1);
    let samples = datagram
        .samples()
        .map(
            |s| match s.unwrap_or_else(|e| panic!("tenant sample: {e}")) {
                Sample::Flow(f) => f.info.sequence_number,
                Sample::Counter(c) => 1000 + c.info.sequence_number,
                other => panic!("unexpected sample {other:?}"),
            },
        )
        .collect();
    (datagram.header.sequence_number, samples)
}

/// Receives exactly `count` datagrams (each within [`ARRIVAL_TIMEOUT`]), then checks nothing more arrives.
fn receive(socket: &UdpSocket, count: usize, who: &str) -> Vec<Seen> {
    let mut buffer = vec![0u8; 65_536];
    let mut seen = Vec::new();
    socket
        .set_read_timeout(Some(ARRIVAL_TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    while seen.len() < count {
        let (len, _) = socket
            .recv_from(&mut buffer)
            .unwrap_or_else(|e| panic!("{who}: datagram {} of {count}: {e}", seen.len() + 1));
        seen.push(decode(buffer.get(..len).unwrap_or_default()));
    }
    assert_quiet(socket, &mut buffer, who);
    seen.sort();
    seen
}

fn assert_quiet(socket: &UdpSocket, buffer: &mut [u8], who: &str) {
    socket
        .set_read_timeout(Some(QUIET_PERIOD))
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    if let Ok((len, _)) = socket.recv_from(buffer) {
        let extra = decode(buffer.get(..len).unwrap_or_default());
        panic!(
            "{who} received an unexpected datagram {extra:?} after {:?}",
            started.elapsed()
        );
    }
}

fn send(sender: &UdpSocket, sflow: SocketAddr, bytes: &[u8]) {
    sender
        .send_to(bytes, sflow)
        .unwrap_or_else(|e| panic!("send: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_receive_exactly_their_samples() {
    let server = start(loopback_config()).await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let api = Api::new(server.http_addr());
    let (red, red_port) = collector();
    let (blue, blue_port) = collector();

    api.put_ok(
        "/tenant/red/json",
        &json!({"collectorAddress": "127.0.0.1", "collectorPort": red_port,
                "filters": {"ifindex": ["10.0.0.9_7"]}})
        .to_string(),
    )
    .await;
    api.put_ok(
        "/tenant/blue/json",
        &json!({"collectorAddress": "127.0.0.1", "collectorPort": blue_port,
                "filters": {"cidr": ["192.168.50.0/24"], "mac": ["0200000000AA"]}})
        .to_string(),
    )
    .await;
    assert_eq!(
        api.get("/tenant/blue/json").await,
        json!({"collectorAddress": "127.0.0.1", "collectorPort": blue_port,
               "filters": {"cidr": ["192.168.50.0/24"], "mac": ["0200000000AA"]}})
    );

    let sender = UdpSocket::bind((LOOPBACK, 0)).unwrap_or_else(|e| panic!("sender: {e}"));
    let flows_1 = [
        (1, 7, [10, 1, 1, 1], [10, 2, 2, 2]),
        (2, 8, [192, 168, 50, 5], [10, 2, 2, 2]),
        (3, 8, [10, 3, 3, 3], [10, 4, 4, 4]),
    ];
    send(&sender, sflow, &datagram(101, Content::Flows(&flows_1)));
    let flows_2 = [(4, 8, [10, 3, 3, 3], [192, 168, 50, 9])];
    send(&sender, sflow, &datagram(102, Content::Flows(&flows_2)));
    let nobody = [(5, 8, [10, 3, 3, 3], [10, 4, 4, 4])];
    send(&sender, sflow, &datagram(103, Content::Flows(&nobody)));
    let both = [(6, 7, [192, 168, 50, 1], [10, 4, 4, 4])];
    send(&sender, sflow, &datagram(104, Content::Flows(&both)));
    send(
        &sender,
        sflow,
        &datagram(
            105,
            Content::Counter {
                sequence: 1,
                ifindex: 7,
            },
        ),
    );
    send(
        &sender,
        sflow,
        &datagram(
            106,
            Content::Counter {
                sequence: 1,
                ifindex: 8,
            },
        ),
    );

    let red_seen = receive(&red, 3, "red");
    assert_eq!(red_seen, vec![(1, vec![1]), (2, vec![6]), (3, vec![1001])]);
    let blue_seen = receive(&blue, 3, "blue");
    assert_eq!(blue_seen, vec![(1, vec![2]), (2, vec![4]), (3, vec![6])]);

    assert_eq!(
        api.get("/tenant/json").await,
        json!({"blue": {"samplesForwarded": 3, "datagramsForwarded": 3},
               "red": {"samplesForwarded": 3, "datagramsForwarded": 3}})
    );
    // The engine counts before the ingest thread sends: wait for the send counter.
    eventually(ARRIVAL_TIMEOUT, "6 tenant datagrams sent", || async {
        let analyzer = api.get("/analyzer/json").await;
        (analyzer["tenantDatagramsForwarded"] == 6 && analyzer["tenantForwardErrors"] == 0)
            .then_some(())
    })
    .await;

    // Bad definitions are 400s naming the field; nothing is replaced.
    for (body, field) in [
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {"cidr": ["192.168.50.0/33"]}}),
            "filters.cidr[0]",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {"cidr": ["10.0.0.0/8", "nonsense"]}}),
            "filters.cidr[1]",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {"mac": ["D8D385B2DD2"]}}),
            "filters.mac[0]",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {"ifindex": ["10.0.0.9-7"]}}),
            "filters.ifindex[0]",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "collectorPort": 70000, "filters": {"cidr": ["10.0.0.0/8"]}}),
            "collectorPort",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "collectorPort": 0, "filters": {"cidr": ["10.0.0.0/8"]}}),
            "collectorPort",
        ),
        (
            json!({"collectorAddress": "nowhere", "filters": {"cidr": ["10.0.0.0/8"]}}),
            "collectorAddress",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {"vlan": ["1"]}}),
            "vlan",
        ),
        // Unknown fields are ignored (as sFlow-RT ignores them): the required filters are still missing.
        (
            json!({"collectorAddress": "127.0.0.1", "collector": 1}),
            "filters",
        ),
        (
            json!({"collectorAddress": "127.0.0.1", "filters": {}}),
            "filters",
        ),
    ] {
        let (status, text) = api.put("/tenant/blue/json", &body.to_string()).await;
        assert_eq!(status, 400, "{body}: {text}");
        let error: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let message = error["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "{body}: {message:?} does not name {field}"
        );
    }
    assert_eq!(api.put("/tenant/blue/json", "{not json").await.0, 400);
    assert_eq!(
        api.get("/tenant/blue/json").await["filters"]["cidr"],
        json!(["192.168.50.0/24"])
    );

    // Unknown names.
    assert_eq!(
        api.request(reqwest::Method::GET, "/tenant/green/json", None)
            .await
            .0,
        404
    );
    // DELETE of a missing tenant answers 204, as sFlow-RT does.
    assert_eq!(api.delete("/tenant/green/json").await.0, 204);

    // DELETE stops red's stream; blue's continues where it left off.
    assert_eq!(api.delete("/tenant/red/json").await.0, 204);
    let both_again = [(7, 7, [192, 168, 50, 2], [10, 4, 4, 4])];
    send(&sender, sflow, &datagram(107, Content::Flows(&both_again)));
    assert_eq!(receive(&blue, 1, "blue"), vec![(4, vec![7])]);
    assert_quiet(&red, &mut [0u8; 65_536], "deleted red");
    assert_eq!(
        api.get("/tenant/json").await,
        json!({"blue": {"samplesForwarded": 4, "datagramsForwarded": 4}})
    );

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_mode_refuses_tenant_changes() {
    let mut config = loopback_config();
    config.readonly = true;
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    let body = r#"{"collectorAddress":"127.0.0.1","filters":{"cidr":["10.0.0.0/8"]}}"#;
    assert_eq!(api.put("/tenant/t/json", body).await.0, 403);
    assert_eq!(api.delete("/tenant/t/json").await.0, 403);
    assert_eq!(api.get("/tenant/json").await, json!({}));
    server.shutdown().await;
}

/// Writes a pcap of `datagrams` as (offset ms, bytes) sent by the agent to 127.0.0.1:6343.
fn write_agent_capture(path: &std::path::Path, datagrams: &[(u64, Vec<u8>)]) {
    let source = SocketAddr::from((AGENT, 50_001));
    let frames: Vec<_> = datagrams
        .iter()
        .map(|(offset, bytes)| (*offset, source, bytes.clone()))
        .collect();
    common::write_capture(path, &frames);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_captures_feed_tenants_too() {
    /// Engine time (= real time at speed 1) before the first selectable sample is replayed.
    const FIRST_FLOW_MS: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let pcap = dir.path().join("tenant.pcap");
    let mine = [(1, 7, [10, 1, 1, 1], [10, 2, 2, 2])];
    let theirs = [(2, 8, [10, 1, 1, 1], [10, 2, 2, 2])];
    // Not red's interface: whether it is replayed before or after the PUT does not matter.
    let counter = Content::Counter {
        sequence: 1,
        ifindex: 8,
    };
    write_agent_capture(
        &pcap,
        &[
            (0, datagram(1, counter)),
            (FIRST_FLOW_MS, datagram(2, Content::Flows(&mine))),
            (FIRST_FLOW_MS + 100, datagram(3, Content::Flows(&theirs))),
            (FIRST_FLOW_MS + 200, datagram(4, Content::Flows(&mine))),
        ],
    );
    let mut config = loopback_config();
    config.replay = Some(pcap);
    config.replay_once = true;
    config.replay_speed = 1.0;
    let started = Instant::now();
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    let (red, red_port) = collector();
    api.put_ok(
        "/tenant/red/json",
        &json!({"collectorAddress": "127.0.0.1", "collectorPort": red_port,
                "filters": {"ifindex": ["10.0.0.9_7"]}})
        .to_string(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(FIRST_FLOW_MS),
        "the tenant was defined only after the replay reached the flows"
    );
    // Only the two flow samples on ifIndex 7, each in its own datagram, numbered from 1.
    assert_eq!(receive(&red, 2, "red"), vec![(1, vec![1]), (2, vec![1])]);
    server.shutdown().await;
}
