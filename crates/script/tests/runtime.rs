//! Scripts on a real engine: the HTTP handler contract, sloppy mode and the Mozilla-syntax rewrite, interval
//! ticks, include/scriptdir, engine API calls, and containment of broken and runaway scripts.

mod common;

use std::time::Duration;

use common::{Harness, wait_for};
use serde_json::{Value, json};

const HANDLER: &str = r#"
// description: test handler
var ticks = 0, lastNow = 0; // declared: a request may come before the first tick
setIntervalHandler(function(now) { ticks++; lastNow = now; }, 0.1);
setHttpHandler(function(req) {
  switch(req.path[0]) {
    case 'echo': return {method: req.method, path: req.path, format: req.format, query: req.query};
    case 'txt': return 'line one\nline two\n';
    case 'none': return;
    case 'missing': throw 'not_found';
    case 'busy': throw 'service_unavailable';
    case 'odd': throw 'bad_value';
    case 'broken': return undefinedVariable.field;
    case 'body':
      if(req.error) throw 'bad_request';
      return {got: req.body};
    case 'ticks': return {ticks: ticks, lagMs: Date.now() - lastNow};
    default: throw 'not_found';
  }
});
"#;

fn json_body(response: &rtflow_script::ScriptResponse) -> Value {
    assert_eq!(response.content_type, "application/json", "{response:?}");
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

#[test]
fn http_handler_contract() {
    let h = Harness::start(&[("app/demo/scripts/h.js", HANDLER)], &[], |_| {});
    let id = "demo~h.js";
    let echo = h.request(
        id,
        "GET",
        "echo/a/b/json",
        &[("k", "1"), ("k", "2"), ("x", "y")],
        None,
    );
    assert_eq!(echo.status, 200);
    assert_eq!(
        json_body(&echo),
        json!({"method": "GET", "path": ["echo", "a", "b"], "format": "json", "query": {"k": ["1", "2"], "x": ["y"]}})
    );
    let txt = h.request(id, "GET", "txt/txt", &[], None);
    assert_eq!(
        (txt.status, txt.body.as_str()),
        (200, "line one\nline two\n")
    );
    assert!(txt.content_type.starts_with("text/plain"));
    assert_eq!(h.request(id, "POST", "none/json", &[], None).status, 204);
    assert_eq!(h.request(id, "GET", "missing/json", &[], None).status, 404);
    assert_eq!(h.request(id, "GET", "busy/json", &[], None).status, 503);
    assert_eq!(h.request(id, "GET", "odd/json", &[], None).status, 500);
    let body = h.request(id, "PUT", "body/json", &[], Some(r#"{"a":[1,2]}"#));
    assert_eq!(json_body(&body), json!({"got": {"a": [1, 2]}}));
    let string_body = h.request(id, "PUT", "body/json", &[], Some(r#""automatic""#));
    assert_eq!(json_body(&string_body), json!({"got": "automatic"}));
    assert_eq!(
        h.request(id, "PUT", "body/json", &[], Some("{nope")).status,
        400
    );

    let broken = h.request(id, "GET", "broken/json", &[], None);
    assert_eq!(broken.status, 500);
    assert!(
        broken.body.contains("h.js#"),
        "error names file and line: {}",
        broken.body
    );
    assert!(broken.body.contains("ReferenceError"), "{}", broken.body);
    let status = h.script_status(id);
    assert_eq!(status["alive"], true);
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|e| e.contains("h.js#")),
        "{status}"
    );
    assert_eq!(status["requestsReceived"], 10);

    // The interval handler runs on engine ticks, with engine time.
    let ticks = wait_for(Duration::from_secs(5), "three interval ticks", || {
        // Before the first tick `lastNow` (a sloppy-mode implicit global) does not exist yet: the handler throws.
        let response = h.request(id, "GET", "ticks/json", &[], None);
        let r = (response.status == 200).then(|| json_body(&response))?;
        (r["ticks"].as_u64()? >= 3).then_some(r)
    });
    assert!(
        ticks["lagMs"]
            .as_f64()
            .is_some_and(|lag| (0.0..2000.0).contains(&lag)),
        "{ticks}"
    );

    let apps = h.scripts().apps_json();
    assert_eq!(apps, json!({"demo": {"scripts": ["h.js"]}}));
    assert_eq!(
        h.scripts().app_ok("demo"),
        Some(false),
        "the thrown ReferenceError is recorded"
    );
    assert_eq!(h.scripts().app_ok("nope"), None);
}

const SYNTAX: &str = r#"
// Mozilla-only syntax and sloppy-mode globals, as fabric-view and sflow-test use them
include(scriptdir() + '/inc/lib.js');
implicitGlobal = 0;
var counter;
for each (counter in [1, 2, 3]) implicitGlobal += counter;
var values = [];
for each (var v in {a: 'x', b: 'y'}) values.push(v);
var sorted = [{i: 3}, {i: 1}, {i: 2}].sort(function(a, b) a.i - b.i ).map(function(o) o.i);
var agents = 'shadowed';   // apps shadow API names
function version() { return 'mine'; }
setHttpHandler(function(req) {
  return {sum: implicitGlobal, values: values, sorted: sorted, lib: libValue(), agents: agents,
          version: version(), dir: scriptdir(), formatted: formatNumber(1234.5, '#,##0 seconds'),
          date: new Date(0).getTime(), isDate: new Date() instanceof Date};
});
"#;

#[test]
fn sloppy_mode_rewrites_include_and_shadowing() {
    let h = Harness::start(
        &[
            ("app/syn/scripts/main.js", SYNTAX),
            (
                "app/syn/scripts/inc/lib.js",
                "function libValue() { return libState; }\nlibState = 'from lib';\n",
            ),
        ],
        &[],
        |_| {},
    );
    let response = h.request("syn~main.js", "GET", "json", &[], None);
    let body = json_body(&response);
    assert_eq!(body["sum"], 6);
    assert_eq!(body["values"], json!(["x", "y"]));
    assert_eq!(body["sorted"], json!([1, 2, 3]));
    assert_eq!(body["lib"], "from lib");
    assert_eq!(body["agents"], "shadowed");
    assert_eq!(body["version"], "mine");
    assert!(
        body["dir"]
            .as_str()
            .is_some_and(|d| d.ends_with("app/syn/scripts")),
        "{body}"
    );
    assert_eq!(
        body["formatted"], "1,234 seconds",
        "half-even, as Java rounds"
    );
    assert_eq!(body["date"], 0);
    assert_eq!(body["isDate"], true);
    assert_eq!(h.script_status("syn~main.js")["error"], Value::Null);
}

const ENGINE_API: &str = r#"
setFlow('pairs', {keys: ['ipsource', 'ipdestination'], value: 'bytes', t: '2', n: '10', filter: null});
var invalid;
try { setFlow('bad', {keys: 'nosuchkey(', value: 'bytes'}); invalid = 'accepted'; } catch(e) { invalid = 'thrown: ' + e.message; }
setThreshold('big', {metric: 'pairs', value: '1000', byFlow: true, timeout: '1'});
setGroups('g', {inside: ['10.0.0.0/8']});
var groupsOk = setGroups('bad', {x: ['not-a-cidr']});
var topologyOk = setTopology({nodes: {s1: {agent: '10.0.0.1', dpid: '0000000000000001',
                                          ports: {'s1-eth1': {ifindex: '1', ofport: '1'}, 's1-eth2': {ifindex: 2, ofport: '2'}}},
                                     s2: {agent: '10.0.0.2', ports: {'s2-eth1': {ifindex: '1'}}}},
                              links: {L1: {node1: 's1', port1: 's1-eth2', node2: 's2', port2: 's2-eth1'}}});
baselineCreate('b', 3, 1, 1);
setHttpHandler(function(req) {
  return {
    invalid: invalid,
    active: activeFlows('ALL', 'pairs', '5', '0', 'max'),
    unknownFlow: activeFlows('ALL', 'nope', 5),
    metric: metric('ALL', 'sum:ifinoctets,max:pairs'),
    flowKeys: typeof flowKeys(),
    agents: agents(),
    triggered: thresholdTriggered('big', '10.0.0.1', '1.pairs', 'a,b'),
    groupsOk: groupsOk,
    topologyOk: topologyOk,
    topologyVersion: topologyVersion(),
    diameter: topologyDiameter(),
    nodes: topologyNodeNames(true),
    links: topologyLinkNames(true),
    nodeLinks: topologyNodeLinks('s1'),
    agentFor: topologyAgentForNode('s2'),
    nodesFor: topologyNodesForAgent('10.0.0.1'),
    port: topologyInterfaceToPort('10.0.0.1', '1'),
    link: topologyInterfaceToLink('10.0.0.1', 2),
    edgeLink: topologyInterfaceToLink('10.0.0.1', 1),
    linkMetric: topologyLinkMetric('L1', 'ifinoctets,ifspeed').length,
    prop: getSystemProperty('app.setting'),
    noProp: getSystemProperty('nope'),
    props: getSystemPropertyNames(),
    baseline: [baselineCheck('b', 1), baselineCheck('b', 1), baselineCheck('b', 1), baselineCheck('b', 1), baselineCheck('b', 50)],
    bgp: [bgpAddNeighbor('10.0.0.1', 65000, '10.0.0.2'), bgpRouteCount('10.0.0.1'), bgpTopPrefixes('10.0.0.1')],
    version: version(),
  };
});
"#;

#[test]
fn engine_api_from_javascript() {
    let properties = [("app.setting".to_string(), "42".to_string())]
        .into_iter()
        .collect();
    let h = Harness::start_with(
        &[("api.js", ENGINE_API)],
        &["api.js"],
        properties,
        None,
        |_| {},
    );
    let body = json_body(&h.request("api.js", "GET", "json", &[], None));
    assert!(
        body["invalid"]
            .as_str()
            .is_some_and(|s| s.starts_with("thrown: setFlow bad")),
        "{body}"
    );
    assert_eq!(body["active"], json!([]));
    assert_eq!(body["unknownFlow"], json!([]));
    assert_eq!(body["metric"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["metric"][0]["metricName"], "sum:ifinoctets");
    assert!(body["metric"][0].get("metricValue").is_none());
    assert_eq!(body["flowKeys"], "object");
    assert_eq!(body["agents"], json!({}));
    assert_eq!(body["triggered"], false);
    assert_eq!(body["groupsOk"], false);
    assert_eq!(body["topologyOk"], true);
    assert_eq!(body["topologyVersion"], 1);
    assert_eq!(body["diameter"], 1);
    assert_eq!(body["nodes"], json!(["s1", "s2"]));
    assert_eq!(body["links"], json!(["L1"]));
    assert_eq!(body["nodeLinks"], json!(["L1"]));
    assert_eq!(body["agentFor"], "10.0.0.2");
    assert_eq!(body["nodesFor"], json!(["s1"]));
    assert_eq!(body["port"]["node"], "s1");
    assert_eq!(body["port"]["port"], "s1-eth1");
    assert_eq!(body["port"]["dpid"], "0000000000000001");
    assert_eq!(body["port"]["ofport"], "1");
    assert_eq!(body["link"]["linkname"], "L1");
    assert_eq!(body["link"]["remotenode"], "s2");
    assert_eq!(body["edgeLink"], Value::Null);
    assert_eq!(body["linkMetric"], 4);
    assert_eq!(body["prop"], "42");
    assert_eq!(body["noProp"], Value::Null);
    assert_eq!(body["props"], json!(["app.setting"]));
    assert_eq!(
        body["baseline"],
        json!(["learning", "learning", "learning", "normal", "high"])
    );
    assert_eq!(body["bgp"], json!([false, 0, null]));
    assert_eq!(body["version"], "3.0-test");
    let tilde = h.request("~api.js", "GET", "json", &[], None);
    assert_eq!(
        tilde.status, 200,
        "a standalone script answers as ~FILE.js too"
    );
    let engine = h.host.engine.lock();
    assert_eq!(
        engine
            .object::<rtflow_engine::Flows>("pairs")
            .map(|f| (f.n, f.t)),
        Some((10, 2.0))
    );
    assert!(
        engine
            .object::<rtflow_engine::Thresholds>("big")
            .is_some_and(|t| t.by_flow && t.value == 1000.0)
    );
    assert!(engine.object::<rtflow_engine::Groups>("g").is_some());
}

#[test]
fn broken_and_runaway_scripts_are_contained() {
    let files = [
        ("app/bad/scripts/syntax.js", "var ok = 1;\nfunction (\n"),
        (
            "app/bad/scripts/throws.js",
            "setIntervalHandler(function() { null.x; }, 0.1);\nsetHttpHandler(function() { return 'alive'; });\n",
        ),
        (
            "app/bad/scripts/spin.js",
            "var n = 0;\nsetIntervalHandler(function() { n++; while(true) {} }, 0.1);\nsetHttpHandler(function() { return {n: n}; });\n",
        ),
        (
            "app/bad/scripts/hog.js",
            "var hoard = [];\nsetIntervalHandler(function() { for(;;) hoard.push(new Array(100000).fill(7)); }, 0.1);\nsetHttpHandler(function() { hoard = []; return 'freed'; });\n",
        ),
        (
            "app/good/scripts/ok.js",
            "setHttpHandler(function() { return {fine: true}; });\n",
        ),
    ];
    let h = Harness::start(&files, &[], |config| {
        config.limits.callback_budget = Duration::from_millis(200);
        config.limits.memory_bytes = 32 * 1024 * 1024;
    });
    let syntax = wait_for(Duration::from_secs(5), "syntax error status", || {
        let s = h.script_status("bad~syntax.js");
        (s["alive"] == false).then_some(s)
    });
    let error = syntax["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("syntax.js#2") && error.contains("SyntaxError"),
        "{error}"
    );

    let spin = wait_for(Duration::from_secs(10), "two interrupted intervals", || {
        let s = h.script_status("bad~spin.js");
        (s["interrupted"].as_u64()? >= 2).then_some(s)
    });
    assert!(
        spin["error"]
            .as_str()
            .is_some_and(|e| e.contains("interrupted")),
        "{spin}"
    );
    let answer = h.request("bad~spin.js", "GET", "json", &[], None);
    assert_eq!(
        answer.status, 200,
        "a runaway interval handler does not stop requests: {answer:?}"
    );

    wait_for(Duration::from_secs(10), "an out-of-memory error", || {
        let s = h.script_status("bad~hog.js");
        s["error"]
            .as_str()
            .filter(|e| e.contains("memory"))
            .map(str::to_string)
    });
    assert_eq!(
        h.request("bad~hog.js", "GET", "txt", &[], None).body,
        "freed"
    );

    wait_for(
        Duration::from_secs(5),
        "the throwing handler's error",
        || {
            let s = h.script_status("bad~throws.js");
            s["error"]
                .as_str()
                .filter(|e| e.contains("throws.js#1") && e.contains("TypeError"))
                .map(str::to_string)
        },
    );
    assert_eq!(
        h.request("bad~throws.js", "GET", "txt", &[], None).body,
        "alive"
    );
    assert_eq!(
        h.request("good~ok.js", "GET", "json", &[], None).body,
        r#"{"fine":true}"#
    );
    assert_eq!(h.scripts().app_ok("good"), Some(true));
    assert_eq!(h.scripts().app_ok("bad"), Some(false));
}

const NETWORK: &str = r#"
var asyncResult = null, asyncError = null;
setHttpHandler(function(req) {
  switch(req.path[0]) {
    case 'syslog':
      syslog('127.0.0.1', req.query.port[0], '16', '5', {app: 'test', action: 'block', target: '10.0.0.1 x'});
      return 'sent';
    case 'async':
      httpAsync({url: req.query.url[0], operation: 'POST', headers: {'Content-Type': 'application/json'},
                 body: '{"q":1}',
                 success: function(res) { asyncResult = res; },
                 error: function(e) { asyncError = String(e); }});
      return 'queued';
    case 'result': return {result: asyncResult, error: asyncError};
    case 'dns': return dnsGetAllByName('localhost');
  }
});
"#;

#[test]
fn syslog_http_async_and_dns_reach_real_sockets() {
    use std::io::{BufRead, BufReader, Write};
    let h = Harness::start(&[("net.js", NETWORK)], &["net.js"], |_| {});
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let port = udp.local_addr().expect("addr").port().to_string();
    let sent = h.request("net.js", "GET", "syslog/txt", &[("port", &port)], None);
    assert_eq!(sent.body, "sent");
    let mut buf = [0u8; 2048];
    let n = udp.recv(&mut buf).expect("syslog datagram");
    let message = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(message.starts_with("<133>1 "), "{message}");
    assert!(
        message.ends_with(" sFlow-RT - - - action=block app=test target=\"10.0.0.1 x\""),
        "{message}"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp");
    let url = format!("http://{}/collect", listener.local_addr().expect("addr"));
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(conn.try_clone().expect("clone"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("request line");
        conn.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
            .expect("reply");
        first
    });
    assert_eq!(
        h.request("net.js", "GET", "async/txt", &[("url", &url)], None)
            .body,
        "queued"
    );
    let result = wait_for(
        Duration::from_secs(10),
        "the httpAsync success callback",
        || {
            let body: Value =
                serde_json::from_str(&h.request("net.js", "GET", "result/json", &[], None).body)
                    .ok()?;
            (!body["result"].is_null()).then_some(body)
        },
    );
    assert_eq!(result["result"]["status"], 201);
    assert_eq!(result["result"]["body"], "ok");
    assert_eq!(server.join().expect("server"), "POST /collect HTTP/1.1\r\n");
    let dns: Value = serde_json::from_str(&h.request("net.js", "GET", "dns/json", &[], None).body)
        .expect("json");
    assert!(
        dns.as_array()
            .is_some_and(|a| a.iter().any(|ip| ip == "127.0.0.1" || ip == "::1")),
        "{dns}"
    );
}

const COMMANDS: &str = r#"
setHttpHandler(function(req) {
  try {
    switch(req.path[0]) {
      case 'plain': {
        var r = runCmd(['/bin/sh', '-c', 'echo "$0 $1"; echo warn >&2; exit 2', 'arg one', 'two']);
        return {status: r.status, out: r.stdout, err: r.stderr, type: Object.prototype.toString.call(r.stdout)};
      }
      case 'env': return runCmd(['/bin/sh', '-c', 'echo "$A"; pwd'], ['A=1'], req.query.dir[0]).stdout;
      case 'slow': return runCmd(['/bin/sh', '-c', 'exec sleep 20']);
      case 'missing': return runCmd(['/nonexistent/program']);
    }
  } catch(e) { return {thrown: String(e)}; }
});
"#;

#[test]
fn run_cmd_runs_programs_with_their_output_as_lines() {
    let h = Harness::start(&[("cmd.js", COMMANDS)], &["cmd.js"], |config| {
        config.limits.command_timeout = Duration::from_millis(300);
    });
    let plain = json_body(&h.request("cmd.js", "GET", "plain/json", &[], None));
    assert_eq!(
        plain,
        json!({"status": 2, "out": ["arg one two"], "err": ["warn"], "type": "[object Array]"})
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_text = dir
        .path()
        .canonicalize()
        .expect("canonical")
        .display()
        .to_string();
    let env = json_body(&h.request("cmd.js", "GET", "env/json", &[("dir", &dir_text)], None));
    assert_eq!(env, json!(["1", dir_text]));
    // Past script.cmd.timeout the program is killed and runCmd throws; the script goes on.
    let slow = json_body(&h.request("cmd.js", "GET", "slow/json", &[], None));
    assert!(
        slow["thrown"]
            .as_str()
            .is_some_and(|t| t.contains("killed")),
        "{slow}"
    );
    let missing = json_body(&h.request("cmd.js", "GET", "missing/json", &[], None));
    assert!(
        missing["thrown"]
            .as_str()
            .is_some_and(|t| t.contains("cannot run /nonexistent/program")),
        "{missing}"
    );
    assert_eq!(h.script_status("cmd.js")["alive"], true);
}
