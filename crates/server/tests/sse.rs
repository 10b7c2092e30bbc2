//! `/events/sse` and `/flows/sse` over real HTTP: threshold events and logged flows pushed as they
//! happen, resuming with `Last-Event-ID`, filters, bad input, and streams that end at shutdown.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use common::{Agent, Api, TcpFlow, loopback_config, send_and_await, start};
use rtflow_server::{EngineClock, Server, ServerConfig};
use serde_json::Value;
use tokio::sync::mpsc;

/// One server-sent message: its `id:` and parsed `data:`.
#[derive(Debug)]
struct Message {
    id: String,
    data: Value,
}

/// An opened stream: its HTTP status, the body of an error answer, and the messages of a 200 answer
/// (the channel closes when the stream ends).
struct Subscription {
    status: u16,
    error_body: String,
    messages: mpsc::UnboundedReceiver<Message>,
}

async fn subscribe(base: &str, path: &str, last_event_id: Option<&str>) -> Subscription {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let mut response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let (tx, messages) = mpsc::unbounded_channel();
    if status != 200 {
        let error_body = response.text().await.unwrap_or_default();
        return Subscription {
            status,
            error_body,
            messages,
        };
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(content_type, "text/event-stream", "{path}");
    tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                if let Some(message) = parse_block(&block)
                    && tx.send(message).is_err()
                {
                    return;
                }
            }
        }
    });
    Subscription {
        status,
        error_body: String::new(),
        messages,
    }
}

/// An SSE block to a message; keep-alive comments (`:` lines) give none.
fn parse_block(block: &str) -> Option<Message> {
    let mut id = None;
    let mut data = String::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("id:") {
            id = Some(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("data {data:?}: {e}"));
    Some(Message { id: id?, data })
}

async fn next_message(rx: &mut mpsc::UnboundedReceiver<Message>, what: &str) -> Message {
    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some(message)) => message,
        Ok(None) => panic!("{what}: the stream ended"),
        Err(_) => panic!("{what}: no message within 10 s"),
    }
}

/// Sends counters at 1 MB/s in for a second of engine time (six datagrams, the manual clock moved 200 ms once
/// the server has each), enough for a 500 kB/s threshold to fire.
async fn send_busy_counters(loopback: &Loopback, agent: &mut Agent) {
    for step in 0..6u64 {
        let elapsed_ms = step * 200;
        let datagram = agent.counter_datagram(10_000 + elapsed_ms as u32, 1_000 * elapsed_ms, 0);
        send_and_await(&loopback.api, loopback.sflow, &datagram, step + 1).await;
        loopback.clock.advance(200);
    }
}

/// A server on loopback with a manual engine clock.
struct Loopback {
    server: Server,
    sflow: SocketAddr,
    base: String,
    api: Api,
    clock: Arc<EngineClock>,
}

async fn start_on_loopback() -> Loopback {
    let clock = Arc::new(EngineClock::manual(1_700_000_000_000));
    let server = start(ServerConfig {
        clock: Some(Arc::clone(&clock)),
        ..loopback_config()
    })
    .await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let base = format!("http://{}", server.http_addr());
    let api = Api::new(server.http_addr());
    Loopback {
        server,
        sflow,
        base,
        api,
        clock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_live_resume_filter_and_shutdown() {
    let loopback = start_on_loopback().await;
    let (base, api) = (&loopback.base, &loopback.api);
    api.put_ok(
        "/threshold/busy/json",
        r#"{"metric":"ifinoctets","value":500000,"timeout":60}"#,
    )
    .await;

    let mut live = subscribe(base, "/events/sse", None).await.messages;
    let mut other_threshold = subscribe(base, "/events/sse?eventID=-1&thresholdID=other", None)
        .await
        .messages;
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 9), 7, 1000);
    send_busy_counters(&loopback, &mut agent).await;

    let event = next_message(&mut live, "live event").await;
    assert_eq!(event.data["thresholdID"], "busy", "{event:?}");
    assert_eq!(event.data["agent"], "10.0.0.9");
    assert_eq!(event.data["dataSource"], "7");
    assert_eq!(event.id, event.data["eventID"].to_string());
    // The same event as the long-poll endpoint reports.
    let polled = api.get("/events/json?maxEvents=10").await;
    assert_eq!(polled.as_array().map(Vec::len), Some(1), "{polled}");
    assert_eq!(polled[0], event.data);

    // A reconnecting EventSource sends the id it saw last: the buffered event comes again after id 0,
    // and nothing after its own id.
    let mut resumed = subscribe(base, "/events/sse", Some("0")).await.messages;
    let replayed = next_message(&mut resumed, "replayed event").await;
    assert_eq!(replayed.data, event.data);
    let mut caught_up = subscribe(base, "/events/sse", Some(&event.id))
        .await
        .messages;
    let mut from_query = subscribe(base, "/events/sse?eventID=0", None)
        .await
        .messages;
    assert_eq!(
        next_message(&mut from_query, "eventID=0").await.data,
        event.data
    );

    // Bad positions are rejected with the parameter named.
    let bad_header = subscribe(base, "/events/sse", Some("soon")).await;
    assert_eq!(bad_header.status, 400);
    assert!(
        bad_header.error_body.contains("Last-Event-ID"),
        "{}",
        bad_header.error_body
    );
    let bad_query = subscribe(base, "/events/sse?eventID=x", None).await;
    assert_eq!(bad_query.status, 400);
    assert!(
        bad_query.error_body.contains("eventID"),
        "{}",
        bad_query.error_body
    );

    // Shutdown ends the open streams instead of waiting for them.
    let stopped = tokio::time::timeout(Duration::from_secs(10), loopback.server.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited for the open streams");
    for (name, rx) in [
        ("live", &mut live),
        ("caught up", &mut caught_up),
        ("other threshold", &mut other_threshold),
    ] {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(None) => {}
            Ok(Some(message)) => panic!("{name}: unexpected {message:?}"),
            Err(_) => panic!("{name}: stream still open after shutdown"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_stream_pushes_logged_flows_of_the_named_definition() {
    let Loopback {
        server,
        sflow,
        base,
        api,
        ..
    } = start_on_loopback().await;
    api.put_ok(
        "/flow/pairs/json",
        r#"{"keys":"ipsource,ipdestination","value":"bytes","log":true,"flowStart":true}"#,
    )
    .await;
    api.put_ok(
        "/flow/ports/json",
        r#"{"keys":"tcpdestinationport","value":"frames","log":true,"flowStart":true}"#,
    )
    .await;
    let mut pairs = subscribe(&base, "/flows/sse?name=pairs", None)
        .await
        .messages;

    let flow = TcpFlow {
        src: Ipv4Addr::new(10, 1, 1, 1),
        dst: Ipv4Addr::new(10, 2, 2, 2),
        sport: 40_000,
        dport: 443,
    };
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 5), 3, 100);
    let datagram = agent.flow_datagram(5_000, &[flow], 1_518);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    sender
        .send_to(&datagram, sflow)
        .unwrap_or_else(|e| panic!("send: {e}"));

    let record = next_message(&mut pairs, "flow record").await;
    assert_eq!(record.data["name"], "pairs", "{record:?}");
    assert_eq!(record.data["flowKeys"], flow.key());
    assert_eq!(record.data["agent"], "10.0.0.5");
    assert_eq!(record.id, record.data["flowID"].to_string());
    // flowStart logs the first sample's bytes scaled by the sampling rate.
    assert_eq!(record.data["value"].as_f64(), Some(1_518.0 * 100.0));

    // The unfiltered stream from the start of the log carries both definitions' records.
    let mut all = subscribe(&base, "/flows/sse?flowID=-1", None)
        .await
        .messages;
    let mut names = vec![
        next_message(&mut all, "first record").await.data["name"].clone(),
        next_message(&mut all, "second record").await.data["name"].clone(),
    ];
    names.sort_by_key(std::string::ToString::to_string);
    assert_eq!(names, ["pairs", "ports"]);
    server.shutdown().await;
}
