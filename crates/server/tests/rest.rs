//! REST conformance over real HTTP: status codes and error bodies, configuration round trips, read-only
//! mode, and every operation listed in `/api-docs` being routed.

mod common;

use common::{Api, loopback_config, start};
use reqwest::Method;
use serde_json::{Value, json};

fn error_message(body: &str) -> String {
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    value["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {body}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_and_error_bodies() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());

    // 204 and round trips with defaults materialized.
    api.put_ok(
        "/flow/web/json",
        r#"{"keys":"ipsource,tcpdestinationport","value":"frames","n":50}"#,
    )
    .await;
    let flow = api.get("/flow/web/json").await;
    assert_eq!(flow["keys"], "ipsource,tcpdestinationport");
    assert_eq!(flow["value"], "frames");
    assert_eq!(flow["n"], 20, "n is clamped to 5..20");
    assert_eq!(flow["fs"], ",");
    assert_eq!(api.get("/flow/json").await["web"]["value"], "frames");
    api.put_ok("/threshold/t1/json", r#"{"metric":"web","value":100}"#)
        .await;
    assert_eq!(api.get("/threshold/t1/json").await["value"], 100.0);
    api.put_ok(
        "/group/sites/json",
        r#"{"lan":["10.0.0.0/8"],"other":["0.0.0.0/0"]}"#,
    )
    .await;
    assert!(api.get("/group/json").await["sites"].is_u64());
    api.put_ok("/map/ports/json", r#"{"web":["80","443"]}"#)
        .await;
    assert!(api.get("/map/ports/json").await["web"].is_array());
    api.put_ok("/forwarding/f/json", r#"{"address":"127.0.0.1"}"#)
        .await;
    assert_eq!(api.get("/forwarding/f/json").await["port"], 6343);
    let topology = json!({"nodes":{"leaf1":{"agent":"10.0.0.1","ports":{"swp1":{"ifindex":"1"}}}},
                          "links":{"L1":{"node1":"leaf1","port1":"swp1","node2":"spine1","port2":"swp2"}}});
    api.put_ok("/topology/json", &topology.to_string()).await;
    assert_eq!(
        api.get("/topology/json").await["links"]["L1"]["node2"],
        "spine1"
    );

    // 400s name the offending field.
    let cases: &[(&str, &str, &str)] = &[
        ("/flow/x/json", "{not json", "invalid JSON"),
        ("/flow/x/json", r#"{"keys":"ipsource","t":"slow"}"#, "t:"),
        ("/flow/x/json", r#"{"keys":"ip source"}"#, "keys"),
        ("/flow/x/json", r#"{"filter":"ipsource=="}"#, "filter"),
        ("/flow/bad%20name/json", r#"{"keys":"ipsource"}"#, "name"),
        (
            "/threshold/x/json",
            r#"{"metric":"m","value":"high"}"#,
            "value",
        ),
        ("/threshold/x/json", r#"{"metric":"m"}"#, "value"),
        (
            "/forwarding/x/json",
            r#"{"address":"not-an-ip"}"#,
            "address",
        ),
        (
            "/forwarding/x/json",
            r#"{"address":"127.0.0.1","port":70000}"#,
            "port",
        ),
        (
            "/topology/json",
            r#"{"links":{"L1":{"node1":"a"}}}"#,
            "links.L1",
        ),
        ("/group/x/json", r#"{"lan":["not a cidr"]}"#, "group"),
    ];
    for (path, body, field) in cases {
        let (status, text) = api.put(path, body).await;
        assert_eq!(status, 400, "PUT {path} {body}: {text}");
        let message = error_message(&text);
        assert!(
            message.contains(field),
            "PUT {path} {body}: {message:?} does not name {field:?}"
        );
    }
    for path in [
        "/activeflows/ALL/web/json?maxFlows=lots",
        "/activeflows/ALL/web/json?aggMode=median",
        "/metric/ALL/bogus:ifinoctets/json",
        "/table/ALL/sort:ifinoctets:0/json",
        "/events/json?eventID=abc",
        "/flows/json?timeout=-3",
        "/flowvalue/10.0.0.1/web/json?key=a",
        "/flowvalue/10.0.0.1/1.web/json",
    ] {
        let (status, text) = api.request(Method::GET, path, None).await;
        assert_eq!(status, 400, "GET {path}: {text}");
        error_message(&text);
    }

    // 404: unknown names and paths.
    for path in [
        "/flow/nope/json",
        "/threshold/nope/json",
        "/group/nope/json",
        "/map/nope/json",
        "/forwarding/nope/json",
        "/flowvalue/10.0.0.1/1.web/json?key=a",
        "/no/such/endpoint",
        "/flow/web",
    ] {
        let (status, text) = api.request(Method::GET, path, None).await;
        assert_eq!(status, 404, "GET {path}: {text}");
        error_message(&text);
    }

    // 405 and 413.
    let (status, text) = api.request(Method::PATCH, "/flow/web/json", None).await;
    assert_eq!(status, 405, "{text}");
    assert_eq!(
        api.request(Method::DELETE, "/analyzer/json", None).await.0,
        405
    );
    let huge = format!(
        r#"{{"keys":"ipsource","filter":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let (status, text) = api.put("/flow/big/json", &huge).await;
    assert_eq!(status, 413, "{text}");
    error_message(&text);

    // DELETE → 204, then gone.
    assert_eq!(api.delete("/flow/web/json").await.0, 204);
    assert_eq!(
        api.request(Method::GET, "/flow/web/json", None).await.0,
        404
    );
    for path in [
        "/threshold/t1/json",
        "/group/sites/json",
        "/map/ports/json",
        "/forwarding/f/json",
    ] {
        assert_eq!(api.delete(path).await.0, 204, "DELETE {path}");
        assert_eq!(
            api.request(Method::GET, path, None).await.0,
            404,
            "GET {path} after DELETE"
        );
    }
    assert_eq!(api.get_text("/status").await, "OK");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_mode_refuses_changes() {
    let mut config = loopback_config();
    config.readonly = true;
    let server = start(config).await;
    let api = Api::new(server.http_addr());
    let (status, text) = api.put("/flow/web/json", r#"{"keys":"ipsource"}"#).await;
    assert_eq!(status, 403, "{text}");
    assert!(error_message(&text).contains("read-only"));
    assert_eq!(api.put("/topology/json", "{}").await.0, 403);
    assert_eq!(api.delete("/threshold/x/json").await.0, 403);
    assert_eq!(api.get("/flow/json").await, json!({}));
    server.shutdown().await;
}

/// Fills an OpenAPI path template with values every endpoint accepts syntactically.
fn concrete(path: &str) -> String {
    let single_agent = path.starts_with("/metric/{agent}/json") || path.starts_with("/flowvalue/");
    let agent = if single_agent { "127.0.0.1" } else { "ALL" };
    let name = if path.starts_with("/flowvalue/") {
        "1.x"
    } else {
        "x"
    };
    let query = if path.starts_with("/flowvalue/") || path.starts_with("/flowlocations/") {
        "?key=a"
    } else {
        ""
    };
    format!(
        "{}{query}",
        path.replace("{agent}", agent)
            .replace("{metric}", "ifinoctets")
            .replace("{name}", name)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let server = start(loopback_config()).await;
    let api = Api::new(server.http_addr());
    let docs = api.get("/api-docs").await;
    assert_eq!(docs["openapi"], "3.0.1");
    let paths = docs["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() >= 29, "only {} paths documented", paths.len());
    let mut operations = 0;
    for (path, item) in &paths {
        for (method, _) in item.as_object().cloned().unwrap_or_default() {
            let method: Method = method
                .to_uppercase()
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
            let url = concrete(path);
            if url.ends_with("/sse") {
                // An event stream never ends: check its head only.
                let response = reqwest::get(format!("http://{}{url}", server.http_addr()))
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: {e}"));
                assert_eq!(response.status(), 200, "GET {url}");
                operations += 1;
                continue;
            }
            let body = (method == Method::PUT).then_some("{}");
            let (status, text) = api.request(method.clone(), &url, body).await;
            assert_ne!(
                status, 405,
                "{method} {url} is documented but not allowed: {text}"
            );
            assert!(
                !(status == 404 && text.contains("no such endpoint")),
                "{method} {url} is documented but not routed"
            );
            operations += 1;
        }
    }
    assert!(operations >= 40, "only {operations} operations documented");
    server.shutdown().await;
}
