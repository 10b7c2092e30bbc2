//! The server with its real UDP socket: counters sent over loopback, threshold events through the
//! long-poll, forwarding of the raw datagrams, malformed datagrams counted while the API keeps serving.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use common::{Agent, Api, assert_close, eventually, loopback_config, send_and_await, start};
use rtflow_server::{EngineClock, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_counters_fire_a_threshold_are_forwarded_and_survive_garbage() {
    // The engine's clock stands still until the test moves it: counter rates do not depend on how fast the
    // datagrams happen to be sent and ingested.
    let clock = Arc::new(EngineClock::manual(1_700_000_000_000));
    let server = start(ServerConfig {
        clock: Some(Arc::clone(&clock)),
        ..loopback_config()
    })
    .await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let api = Api::new(server.http_addr());

    let collector = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("collector: {e}"));
    collector
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    let collector_port = collector.local_addr().map(|a| a.port()).unwrap_or(0);
    api.put_ok(
        "/forwarding/copy/json",
        &format!(r#"{{"address":"127.0.0.1","port":{collector_port},"agents":["10.0.0.9"]}}"#),
    )
    .await;
    api.put_ok(
        "/threshold/busy/json",
        r#"{"metric":"ifinoctets","value":500000,"timeout":60}"#,
    )
    .await;

    // Long-poll for the first event before any traffic exists.
    let poll_api = Api::new(server.http_addr());
    let poll = tokio::spawn(async move { poll_api.get("/events/json?eventID=0&timeout=15").await });

    // Counters at 1 MB/s in: octets and uptime follow the engine clock, moved 200 ms once the server has
    // each datagram.
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 9), 7, 1000);
    let mut sent = Vec::new();
    for step in 0..6u64 {
        let elapsed_ms = step * 200;
        let datagram = agent.counter_datagram(
            10_000 + elapsed_ms as u32,
            1_000 * elapsed_ms,
            500 * elapsed_ms,
        );
        send_and_await(&api, sflow, &datagram, step + 1).await;
        sent.push(datagram);
        if step == 0 {
            assert!(
                !poll.is_finished(),
                "the long-poll returned before any rate could cross the threshold"
            );
        }
        clock.advance(200);
    }

    let events = poll.await.unwrap_or_else(|e| panic!("poll task: {e}"));
    let events = events.as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["thresholdID"], "busy");
    assert_eq!(event["metric"], "ifinoctets");
    assert_eq!(event["agent"], "10.0.0.9");
    assert_eq!(event["dataSource"], "7");
    assert_close(
        event["value"].as_f64().unwrap_or(0.0),
        1_000_000.0,
        0.02,
        "event value",
    );

    let rates = api
        .get("/metric/10.0.0.9/ifinoctets,ifoutoctets/json")
        .await;
    assert_close(
        rates[0]["metricValue"].as_f64().unwrap_or(0.0),
        1_000_000.0,
        0.02,
        "ifinoctets",
    );
    assert_close(
        rates[1]["metricValue"].as_f64().unwrap_or(0.0),
        500_000.0,
        0.02,
        "ifoutoctets",
    );

    // Every datagram reached the forwarding collector unchanged.
    let mut buffer = vec![0u8; 65_536];
    for expected in &sent {
        let (len, _) = collector
            .recv_from(&mut buffer)
            .unwrap_or_else(|e| panic!("forwarded datagram: {e}"));
        assert_eq!(buffer.get(..len), Some(expected.as_slice()));
    }

    // Garbage and a truncated datagram are counted; the server keeps serving.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    sender
        .send_to(b"definitely not sFlow", sflow)
        .unwrap_or_else(|e| panic!("{e}"));
    let truncated = sent
        .first()
        .map(|d| d[..d.len() - 10].to_vec())
        .unwrap_or_default();
    sender
        .send_to(&truncated, sflow)
        .unwrap_or_else(|e| panic!("{e}"));
    // The engine counts a discard before the receive thread forwards the datagram, so a snapshot
    // may see one without the other: wait for both.
    let analyzer = eventually(
        Duration::from_secs(5),
        "2 discarded datagrams, 7 forwarded",
        || async {
            let analyzer = api.get("/analyzer/json").await;
            (analyzer["sFlowDatagramsDiscarded"] == 2 && analyzer["sFlowDatagramsForwarded"] == 7)
                .then_some(analyzer)
        },
    )
    .await;
    assert_eq!(analyzer["sFlowDatagramsReceived"], 8, "{analyzer}");
    assert_eq!(analyzer["sFlowAgents"], 1);
    assert!(analyzer["sFlowDatagramsDropped"].is_u64(), "{analyzer}");
    // The truncated datagram's header names the agent, so it is relayed as received, like the others
    // (7 forwarded, waited for above); garbage names no agent and is not.
    assert!(analyzer["httpConnectionsTotal"].as_u64().unwrap_or(0) >= 2);
    assert!(analyzer["heapUsed"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        api.get("/analyzer/json").await["version"],
        rtflow_server::VERSION
    );
    let agents = api.get("/agents/json?agent=10.0.0.9").await;
    assert_eq!(agents["10.0.0.9"]["sFlowCounterSamples"], 6, "{agents}");
    assert_eq!(
        api.get("/agents/json?agent=10.9.9.9").await,
        serde_json::json!({})
    );

    server.shutdown().await;
}
