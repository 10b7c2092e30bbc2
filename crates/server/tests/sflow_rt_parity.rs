//! Behaviour pinned to what a running sFlow-RT 3.1 does (spec §0.5), over real HTTP: lenient methods and
//! missing resources, version and licence endpoints, event long-polls.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use common::{Agent, Api, loopback_config, start};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_and_missing_resources_are_answered_as_sflow_rt_does() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());

    // OPTIONS answers 200 on every routed path.
    for path in ["/flow/web/json", "/analyzer/json", "/topology/json"] {
        let (status, text) = api.request(Method::OPTIONS, path, None).await;
        assert_eq!(status, 200, "OPTIONS {path}: {text}");
    }

    // POST is accepted like PUT.
    let posts: &[(&str, Value)] = &[
        (
            "/flow/web/json",
            json!({"keys": "ipsource", "value": "bytes"}),
        ),
        ("/threshold/t/json", json!({"metric": "web", "value": 100})),
        ("/group/g/json", json!({"lan": ["10.0.0.0/8"]})),
        ("/map/m/json", json!({"web": ["80"]})),
        ("/forwarding/f/json", json!({"address": "127.0.0.1"})),
        ("/topology/json", json!({"links": {}})),
    ];
    for (path, body) in posts {
        let (status, text) = api
            .request(Method::POST, path, Some(&body.to_string()))
            .await;
        assert_eq!(status, 204, "POST {path}: {text}");
    }
    assert_eq!(api.get("/flow/web/json").await["keys"], "ipsource");
    assert_eq!(api.get("/threshold/t/json").await["metric"], "web");
    assert_eq!(api.get("/map/m/json").await["web"], json!(["80"]));

    // DELETE of a missing resource answers 204 (and deleting twice is harmless).
    for path in [
        "/flow/web/json",
        "/flow/web/json",
        "/threshold/nope/json",
        "/group/nope/json",
        "/map/nope/json",
        "/forwarding/nope/json",
        "/tenant/nope/json",
    ] {
        let (status, text) = api.delete(path).await;
        assert_eq!(status, 204, "DELETE {path}: {text}");
    }

    // Queries about things that do not exist answer empty, not 404.
    assert_eq!(api.get("/activeflows/ALL/nope/json").await, json!([]));
    assert_eq!(api.get("/metric/10.9.9.9/json").await, json!({}));
    assert_eq!(api.get("/metric/ALL/json").await, json!({}));
    assert_eq!(api.get("/metric/leaf1/json").await, json!({}));

    // Read-only mode refuses POST like PUT.
    server.shutdown().await;
    let mut config = loopback_config();
    config.readonly = true;
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    let (status, _) = api
        .request(
            Method::POST,
            "/flow/web/json",
            Some(r#"{"keys":"ipsource"}"#),
        )
        .await;
    assert_eq!(status, 403);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_license_have_sflow_rt_shapes() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());

    // `major.minor-build`, as sFlow-RT's `3.1-1714`; rtflow's own version stays in /analyzer/json.
    let version = api.get_text("/version").await;
    let (numbers, build) = version
        .split_once('-')
        .unwrap_or_else(|| panic!("no build number in {version:?}"));
    let (major, minor) = numbers
        .split_once('.')
        .unwrap_or_else(|| panic!("no major.minor in {version:?}"));
    for part in [major, minor, build] {
        assert!(
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()),
            "{version:?}"
        );
    }
    assert_eq!(
        api.get("/analyzer/json").await["version"],
        rtflow_server::VERSION
    );

    let license = api.get("/license/json").await;
    for field in ["host_ok", "max_bps_ok", "expires_ok"] {
        assert_eq!(license["license"][field], true, "{field} in {license}");
    }
    assert!(license["license"]["type"].is_string(), "{license}");
    assert!(license["analyzer"]["bps"].is_u64(), "{license}");
    assert!(license["analyzer"]["host"].is_string(), "{license}");
    server.shutdown().await;
}

/// Sends `datagrams` to the server's sFlow socket.
fn send_all(server: &rtflow_server::Server, datagrams: &[Vec<u8>]) {
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    for datagram in datagrams {
        sender
            .send_to(datagram, sflow)
            .unwrap_or_else(|e| panic!("send: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_id_ahead_of_the_newest_gets_the_latest_events_at_once() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());
    api.put_ok(
        "/threshold/busy/json",
        r#"{"metric":"ifinoctets","value":1000}"#,
    )
    .await;
    // Two counter samples 1 s apart by the agent's clock: 100 kB/s in.
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 7), 3, 100);
    send_all(
        &server,
        &[
            agent.counter_datagram(10_000, 1_000_000, 0),
            agent.counter_datagram(11_000, 1_100_000, 0),
        ],
    );
    let first = api.get("/events/json?eventID=-1&timeout=20").await;
    let newest = first[0]["eventID"]
        .as_u64()
        .unwrap_or_else(|| panic!("no event: {first}"));

    // A client that kept a larger id (from before a server restart) must not wait out its timeout.
    let started = Instant::now();
    let ahead = api
        .get(&format!(
            "/events/json?eventID={}&timeout=30",
            newest + 1000
        ))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(ahead, first, "the latest events");
    // From the newest id itself the long-poll still waits (and times out empty).
    let started = Instant::now();
    let none = api
        .get(&format!("/events/json?eventID={newest}&timeout=0.5"))
        .await;
    assert_eq!(none, json!([]));
    assert!(started.elapsed() >= Duration::from_millis(400));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_maps_topology_and_flow_locations_have_sflow_rt_shapes() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());

    // /group/json and /map/json list {name: lastUpdate (ms epoch)}.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    api.put_ok("/group/sites/json", r#"{"lan":["10.0.0.0/8"]}"#)
        .await;
    api.put_ok("/map/ports/json", r#"{"web":["80","443"]}"#)
        .await;
    for list in ["/group/json", "/map/json"] {
        let listed = api.get(list).await;
        let entries = listed.as_object().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 1, "{list}: {listed}");
        let updated = entries
            .values()
            .next()
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("{list}: {listed}"));
        assert!(
            updated >= before && updated < before + 60_000,
            "{list}: lastUpdate {updated} vs {before}"
        );
    }
    assert_eq!(
        api.get("/group/sites/json").await,
        json!({"lan": ["10.0.0.0/8"]})
    );

    // /topology/json carries `version`, incremented by each PUT.
    assert_eq!(api.get("/topology/json").await["version"], 0);
    let topology = json!({
        "nodes": {
            "leaf1": {"agent": "10.0.0.1", "ports": {"swp1": {"ifindex": "1"}}},
            "spine1": {"agent": "10.0.0.2", "ports": {"swp2": {"ifindex": "5"}}}},
        "links": {"L1": {"node1": "spine1", "port1": "swp2", "node2": "leaf1", "port2": "swp1"}}});
    api.put_ok("/topology/json", &topology.to_string()).await;
    assert_eq!(api.get("/topology/json").await["version"], 1);
    api.put_ok("/topology/json", &topology.to_string()).await;
    let got = api.get("/topology/json").await;
    assert_eq!(got["version"], 2);
    assert_eq!(got["links"], topology["links"]);

    // /flowlocations entries on a link port add the link seen from that port.
    api.put_ok("/flow/pair/json", r#"{"keys":"ipsource,ipdestination"}"#)
        .await;
    let flow = common::TcpFlow {
        src: Ipv4Addr::new(10, 1, 0, 1),
        dst: Ipv4Addr::new(10, 2, 0, 1),
        sport: 40_000,
        dport: 80,
    };
    let mut leaf = Agent::new(Ipv4Addr::new(10, 0, 0, 1), 1, 100);
    send_all(&server, &[leaf.flow_datagram(10_000, &[flow; 5], 1000)]);
    let path = format!("/flowlocations/ALL/pair/json?key={}", flow.key());
    let locations = common::eventually(Duration::from_secs(10), "a flow location", || async {
        let found = api.get(&path).await;
        (found.as_array().is_some_and(|a| !a.is_empty())).then_some(found)
    })
    .await;
    let location = &locations[0];
    assert_eq!(location["agent"], "10.0.0.1");
    assert_eq!(location["dataSource"], "1");
    assert_eq!(location["linkname"], "L1");
    assert_eq!(location["localnode"], "leaf1");
    assert_eq!(location["localport"], "swp1");
    assert_eq!(location["remotenode"], "spine1");
    assert_eq!(location["remoteport"], "swp2");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_is_read_leniently_where_sflow_rt_accepts_it() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());

    // String numbers, unknown fields and unknown key names are accepted.
    api.put_ok(
        "/flow/web/json",
        r#"{"keys":"ipsource,tcpcwndsnd","value":"bytes","t":"5","n":"10","colour":"red"}"#,
    )
    .await;
    let flow = api.get("/flow/web/json").await;
    assert_eq!(flow["t"], 5.0);
    assert_eq!(flow["n"], 10);
    assert_eq!(flow["keys"], "ipsource,tcpcwndsnd");
    assert!(flow.get("colour").is_none(), "{flow}");
    api.put_ok(
        "/threshold/t/json",
        r#"{"metric":"web","value":"100","timeout":"5","byFlow":"true","note":"x"}"#,
    )
    .await;
    let threshold = api.get("/threshold/t/json").await;
    assert_eq!(threshold["value"], 100.0);
    assert_eq!(threshold["timeout"], 5.0);
    assert_eq!(threshold["byFlow"], true);
    api.put_ok(
        "/forwarding/f/json",
        r#"{"address":"127.0.0.1","port":"16343","comment":"lab"}"#,
    )
    .await;
    assert_eq!(api.get("/forwarding/f/json").await["port"], 16343);
    api.put_ok(
        "/tenant/t/json",
        r#"{"collectorAddress":"127.0.0.1","collectorPort":"16344","filters":{"cidr":["10.0.0.0/8"]},"owner":"x"}"#,
    )
    .await;
    assert_eq!(api.get("/tenant/t/json").await["collectorPort"], 16344);

    // What sFlow-RT refuses is refused, with a message naming the field.
    for (path, body, field) in [
        ("/flow/x/json", r#"{"filter":"ipsource=="}"#, "filter"),
        ("/flow/x/json", r#"{"t":"slow"}"#, "t:"),
        (
            "/threshold/x/json",
            r#"{"metric":"m","value":"high"}"#,
            "value",
        ),
        (
            "/forwarding/x/json",
            r#"{"address":"127.0.0.1","port":"70000"}"#,
            "port",
        ),
    ] {
        let (status, text) = api.put(path, body).await;
        assert_eq!(status, 400, "PUT {path} {body}: {text}");
        assert!(text.contains(field), "{text} does not name {field}");
    }
    server.shutdown().await;
}
