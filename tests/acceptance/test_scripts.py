"""Embedded JavaScript (issue 7, acceptance items 1-3 and 5): sFlow-RT scripts run unchanged by `rtflow serve`, with
real sFlow input (a capture replay or generated datagrams over UDP) and real receivers started here (an HTTP log
collector, an SDN controller stub)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import sflowgen
from capture import udp_payloads
from conftest import REPO, ecmp_pcap, poll, rtflow_bin, start_server

serving = contextmanager(start_server)

FABRIC_PCAP = REPO / "tests" / "data" / "fabric.pcap"


class Receiver:
    """A real HTTP server on a free loopback port recording every request (method, path, JSON body)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str, object]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                with receiver.lock:
                    receiver.requests.append((self.command, self.path, body))
                reply = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PUT = do_GET = do_DELETE = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self) -> list[tuple[str, str, object]]:
        with self.lock:
            return list(self.requests)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


def write_script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# 1. The seed's elephant.js, unchanged -------------------------------------------------------------------------

ELEPHANT_JS = """setFlow('elephant', {keys:'ipsource,ipdestination',value:'bytes'});
setThreshold('elephant_threshold', {metric:'elephant', value: 10000000/8, byFlow: true, timeout: 1});
setEventHandler(function(evt) { logInfo(evt.flowKey); }, ['elephant_threshold']);
"""


def test_elephant_js_logs_the_elephant(tmp_path: Path) -> None:
    script = write_script(tmp_path, "elephant.js", ELEPHANT_JS)
    with serving(["--replay", str(ecmp_pcap()), "--replay-speed", "10", f"-Dscript.file={script}",
                                "--app-dir", str(tmp_path / "none")]) as server:
        poll(lambda: "10.4.1.2,10.4.2.2" in server.log_tail(100_000), 30,
             "elephant.js to log 10.4.1.2,10.4.2.2")
        status = server.get_json("/scripts/json")["elephant.js"]
        assert status["alive"] and "error" not in status and status["eventsReceived"] > 0, status


# 2. Loggly-style flow export ------------------------------------------------------------------------------------

LOGGLY_JS = """
var url = 'http://127.0.0.1:%(port)d/inputs/TOKEN/tag/http/';
setFlow('tcp', {keys:'ipsource,ipdestination,tcpsourceport,tcpdestinationport', value:'bytes', log:true,
                flowStart:true, activeTimeout:2});
setFlowHandler(function(rec) {
  var keys = rec.flowKeys.split(',');
  var msg = {flowID:rec.flowID, flow_type:rec.name, agent:rec.agent, dataSource:rec.dataSource,
             ipsource:keys[0], ipdestination:keys[1], tcpsourceport:keys[2], tcpdestinationport:keys[3],
             bytes:rec.value, start:rec.start, end:rec.end};
  try { http(url,'post','application/json',JSON.stringify(msg)); }
  catch(e) { logWarning('loggly post failed: ' + e); }
}, ['tcp']);
"""


def test_loggly_style_flow_export(tmp_path: Path, receiver: Receiver) -> None:
    script = write_script(tmp_path, "loggly.js", LOGGLY_JS % {"port": receiver.port})
    with serving(["--replay", str(FABRIC_PCAP), "--replay-speed", "4", "--script", str(script),
                                "--app-dir", str(tmp_path / "none"), "--flows-max", "100000"]) as server:
        def posted() -> list | None:
            got = receiver.snapshot()
            return got if len(got) >= 20 else None

        poll(posted, 40, "20 flow records posted to the receiver")
        # Every logged flow the server lists reached the receiver, with the right fields.
        logged = server.get_json("/flows/json?name=tcp&maxFlows=100000")
        by_id = {body["flowID"]: body for _, _, body in receiver.snapshot() if isinstance(body, dict)}
        for _ in range(50):
            missing = [r for r in logged if r["flowID"] not in by_id]
            if not missing:
                break
            time.sleep(0.1)
            by_id = {body["flowID"]: body for _, _, body in receiver.snapshot() if isinstance(body, dict)}
        assert not missing, f"{len(missing)} logged flows never posted, e.g. {missing[:2]}"
        for record in logged:
            body = by_id[record["flowID"]]
            src, dst, sport, dport = record["flowKeys"].split(",")
            assert (body["ipsource"], body["ipdestination"], body["tcpsourceport"], body["tcpdestinationport"]) \
                == (src, dst, sport, dport)
            assert body["agent"] == record["agent"] and body["dataSource"] == record["dataSource"]
            assert body["flow_type"] == "tcp" and body["bytes"] == pytest.approx(record["value"])
        methods_paths = {(m, p) for m, p, _ in receiver.snapshot()}
        assert methods_paths == {("POST", "/inputs/TOKEN/tag/http/")}

        # Receiver down: the script logs warnings and goes on.
        receiver.stop()
        poll(lambda: "loggly post failed" in server.log_tail(200_000), 30, "a logWarning about the failed post")
        before = server.get_json("/scripts/json")["loggly.js"]["flowsReceived"]
        poll(lambda: server.get_json("/scripts/json")["loggly.js"]["flowsReceived"] > before, 30,
             "the flow handler to keep receiving records")
        status = server.get_json("/scripts/json")["loggly.js"]
        assert status["alive"] and status["flowsLost"] == 0, status


# 3. Ryu-style DDoS mitigation -----------------------------------------------------------------------------------

RYU_JS = """
var controller = 'http://127.0.0.1:%(port)d';
setFlow('udp_reflection', {keys:'ipdestination,udpsourceport', value:'frames'});
setThreshold('udp_reflection_attack', {metric:'udp_reflection', value:1000, byFlow:true, timeout:2});

var controls = {};
setEventHandler(function(evt) {
  // don't consider inter-switch links
  var link = topologyInterfaceToLink(evt.agent, evt.dataSource);
  if(link) return;
  // get port information
  var port = topologyInterfaceToPort(evt.agent, evt.dataSource);
  if(!port) return;
  // need OpenFlow info to create a filtering rule
  if(!port.dpid || !port.ofport) return;
  if(controls[evt.flowKey]) return;
  var [ipdestination, udpsourceport] = evt.flowKey.split(',');
  var msg = {priority:40000, dpid:parseInt(port.dpid,16),
             match:{in_port:parseInt(port.ofport), dl_type:0x800, nw_dst:ipdestination+'/32', nw_proto:17,
                    tp_src:parseInt(udpsourceport)}};
  var resp = http2({url:controller+'/stats/flowentry/add', operation:'post',
                    headers:{'Content-Type':'application/json'}, body:JSON.stringify(msg)});
  controls[evt.flowKey] = {time:Date.now(), threshold:evt.thresholdID, agent:evt.agent,
                           metric:evt.dataSource+'.'+evt.metric, msg:msg, status:resp.status};
  logInfo('blocking ' + evt.flowKey + ' status ' + resp.status);
}, ['udp_reflection_attack']);

setIntervalHandler(function(now) {
  for(var key in controls) {
    var rec = controls[key];
    if(now - rec.time < 10000) continue;
    if(thresholdTriggered(rec.threshold, rec.agent, rec.metric, key)) continue;
    http2({url:controller+'/stats/flowentry/delete', operation:'post',
           headers:{'Content-Type':'application/json'}, body:JSON.stringify(rec.msg)});
    delete controls[key];
    logInfo('unblocking ' + key);
  }
}, 1);
"""

TOPOLOGY = {
    "nodes": {
        "s1": {"agent": "10.0.0.1", "dpid": "0000000000000001",
               "ports": {"s1-eth1": {"ifindex": "1", "ofport": "1"}, "s1-eth2": {"ifindex": "2", "ofport": "2"}}},
        "s2": {"agent": "10.0.0.2", "dpid": "0000000000000002",
               "ports": {"s2-eth1": {"ifindex": "1", "ofport": "1"}, "s2-eth2": {"ifindex": "2", "ofport": "2"}}},
    },
    "links": {"s1-s2": {"node1": "s1", "port1": "s1-eth2", "node2": "s2", "port2": "s2-eth1"}},
}


def send_attack(port: int, seconds: float, stop: threading.Event) -> int:
    """A DNS amplification attack on 10.0.1.10 entering s1 on its edge port 1 (plus the same packets seen on the
    s1-s2 link, which the script must ignore), 1-in-100 sampled, 40 samples per 0.1 s per port: ~40,000 frames/s."""
    sent = 0
    seq = 0
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while time.monotonic() - started < seconds and not stop.is_set():
            for agent, if_index in (("10.0.0.1", 1), ("10.0.0.2", 1)):
                samples = []
                for i in range(40):
                    seq += 1
                    frame = sflowgen.udp_frame(f"198.51.100.{1 + i % 20}", "10.0.1.10", 53, 40000 + i, 1400)
                    samples.append(sflowgen.flow_sample(seq, if_index, 100, seq * 100, frame, 1442))
                samples.append(sflowgen.counter_sample(seq, if_index, 10_000_000_000, seq * 144_200, seq * 100))
                sock.sendto(sflowgen.datagram(agent, seq, int((time.monotonic() - started) * 1000) + 1, samples),
                            ("127.0.0.1", port))
                sent += 1
            time.sleep(0.1)
    return sent


def test_ryu_style_ddos_mitigation(tmp_path: Path, receiver: Receiver) -> None:
    script = write_script(tmp_path, "ryu.js", RYU_JS % {"port": receiver.port})
    with serving(["--script", str(script), "--app-dir", str(tmp_path / "none")]) as server:
        r = server.put("/topology/json", json=TOPOLOGY)
        assert r.status_code == 204, r.text
        stop = threading.Event()
        attack = threading.Thread(target=send_attack, args=(server.sflow_port, 8.0, stop), daemon=True)
        attack.start()
        try:
            blocks = poll(lambda: [q for q in receiver.snapshot() if q[1] == "/stats/flowentry/add"] or None, 20,
                          "the controller stub to receive a block rule")
        finally:
            stop.set()
            attack.join(timeout=15)
        method, _, rule = blocks[0]
        assert method == "POST"
        assert rule == {"priority": 40000, "dpid": 1,
                        "match": {"in_port": 1, "dl_type": 2048, "nw_dst": "10.0.1.10/32", "nw_proto": 17,
                                  "tp_src": 53}}, rule
        assert len(blocks) == 1, f"one block for the one attack (the link port is skipped): {blocks}"
        unblocks = poll(lambda: [q for q in receiver.snapshot() if q[1] == "/stats/flowentry/delete"] or None, 40,
                        "the controller stub to receive the unblock once the attack ended")
        assert unblocks[0][2] == rule
        order = [p for _, p, _ in receiver.snapshot()]
        assert order.index("/stats/flowentry/add") < order.index("/stats/flowentry/delete")
        status = server.get_json("/scripts/json")["ryu.js"]
        assert status["alive"] and "error" not in status, status


# https:// from scripts: certificates verified, a private CA trusted through script.http.cafile ----------------

FETCH_JS = """setHttpHandler(function(req) {
  try { return {body: http(req.query.url[0])}; } catch(e) { return {error: String(e)}; }
});
"""


def private_ca(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA and a server certificate it signed for `localhost` only, made by Debian's openssl: (CA PEM, server
    context)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("RTFLOW_REQUIRE_SERVERS", "") not in ("", "0"):
            pytest.fail("RTFLOW_REQUIRE_SERVERS is set but openssl is missing", pytrace=False)
        pytest.skip("skipped: needs openssl (apt-get install openssl), not installed")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=rtflow test CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "server.ext").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return directory / "ca.pem", context


def test_scripts_call_https_trusting_script_http_cafile(tmp_path: Path) -> None:
    ca, context = private_ca(tmp_path)
    receiver = Receiver(tls=context)
    try:
        script = write_script(tmp_path, "fetch.js", FETCH_JS)
        with serving(["--script", str(script), "--app-dir", str(tmp_path / "none"),
                      f"-Dscript.http.cafile={ca}"]) as server:
            def fetch(url: str) -> dict[str, str]:
                return server.get_json("/script/fetch.js/fetch/json", params={"url": url})

            assert fetch(f"https://localhost:{receiver.port}/hello") == {"body": '{"ok":true}'}
            assert receiver.snapshot() == [("GET", "/hello", None)]
            # Verification stays on: the certificate names localhost, not 127.0.0.1.
            refused = fetch(f"https://127.0.0.1:{receiver.port}/hello")
            assert "certificate not valid for name" in refused.get("error", ""), refused
            assert len(receiver.snapshot()) == 1
    finally:
        receiver.stop()
    # A CA file that cannot be read stops the start, naming it.
    missing = tmp_path / "missing-ca.pem"
    started = subprocess.run([str(rtflow_bin()), "serve", "--script", str(script), "-Dhttp.port=0",
                              "-Dsflow.port=0", f"-Dscript.http.cafile={missing}"],
                             capture_output=True, text=True, timeout=30)
    assert started.returncode != 0 and started.stderr.count(str(missing)) == 1, started
    assert "No such file" in started.stderr, started


# 5. Faults are contained; ingest and REST are not slowed -------------------------------------------------------

FAULTS = {
    "syntax.js": "var x = 1;\nfunction broken( {\n",
    "throws.js": "setIntervalHandler(function() { var o = null; o.field = 1; }, 1);\n",
    "spin.js": "setIntervalHandler(function() { while(true) {} }, 1);\n",
    "hog.js": "var hoard = [];\nsetIntervalHandler(function() { for(;;) hoard.push(new Array(100000).fill(1)); }, 1);\n",
}


LOOPS = 20


def test_faulty_scripts_are_contained(tmp_path: Path) -> None:
    app = tmp_path / "apps" / "faults" / "scripts"
    app.mkdir(parents=True)
    for name, text in FAULTS.items():
        (app / name).write_text(text)
    datagrams = LOOPS * sum(1 for _ in udp_payloads(FABRIC_PCAP))
    with serving(["--app-dir", str(tmp_path / "apps"), "-Dscript.timeout=500",
                                "-Dscript.maxmemory=64"]) as server:
        def errors() -> dict | None:
            scripts = server.get_json("/scripts/json")
            ids = [f"faults~{n}" for n in FAULTS]
            return scripts if all(scripts[i].get("error") for i in ids) else None

        scripts = poll(errors, 30, "every faulty script to report its error")
        assert "syntax.js#" in scripts["faults~syntax.js"]["error"] and not scripts["faults~syntax.js"]["alive"]
        assert "SyntaxError" in scripts["faults~syntax.js"]["error"]

        # Replay the capture over UDP while the faulty scripts keep failing, timing REST answers meanwhile.
        replay = subprocess.Popen([str(rtflow_bin()), "replay", str(FABRIC_PCAP), "--target",
                                   f"127.0.0.1:{server.sflow_port}", "--rate", "3000", "--loop", str(LOOPS)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        latencies = []
        while replay.poll() is None:
            started = time.monotonic()
            assert server.get("/agents/json").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
        assert replay.returncode == 0, replay.stderr.read() if replay.stderr else ""
        received = poll(lambda: (a := server.get_json("/analyzer/json"))["sFlowDatagramsReceived"] >= datagrams
                        and a, 10, f"{datagrams} datagrams received")
        assert received["sFlowDatagramsReceived"] == datagrams
        assert received.get("sFlowDatagramsDropped", 0) == 0, received
        scripts = server.get_json("/scripts/json")
        assert "TypeError" in scripts["faults~throws.js"]["error"]
        assert "interrupted" in scripts["faults~spin.js"]["error"]
        assert "memory" in scripts["faults~hog.js"]["error"]
        for name in ("throws.js", "spin.js", "hog.js"):
            assert scripts[f"faults~{name}"]["alive"], f"{name} keeps running: {scripts}"
        assert server.get("/app/faults/status").status_code == 503
        assert server.get("/status").status_code == 503
        latencies.sort()
        assert latencies and latencies[len(latencies) // 2] < 0.1 and latencies[-1] < 1.0, \
            f"REST slowed down: median {latencies[len(latencies) // 2]:.3f} s, max {latencies[-1]:.3f} s"
        log = server.log_tail(500_000)
        assert "faults~spin.js" in log and "interrupted" in log
        server.assert_alive()
