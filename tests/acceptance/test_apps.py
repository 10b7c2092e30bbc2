"""The six real sFlow-RT apps of ../shared/apps (MIT, read in place, never copied) run unchanged (issue 7, acceptance
item 4): each loads without error, and its HTTP endpoints answer as its UI (or Prometheus) expects, on a replay of
ecmp.pcap with fabric-view's demo topology and groups."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from conftest import HTTP_TIMEOUT, RtflowServer, ecmp_pcap, free_tcp_port, poll, require_shared, require_tool, \
    start_server

serving = contextmanager(start_server)
SEP = "_SEP_"
ELEPHANT = f"10.4.1.2{SEP}10.4.2.2"


def apps_dir() -> Path:
    return require_shared("apps")


def server_args(store: Path) -> list[str]:
    # 5x: the 600 s capture plays for two minutes, longer than this module's tests.
    return ["--replay", str(ecmp_pcap()), "--replay-speed", "5", "--app-dir", str(apps_dir()),
            f"-Dscript.store={store}"]


@pytest.fixture(scope="module")
def store() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rtflow-store-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[RtflowServer]:
    with serving(server_args(store)) as running:
        demo = apps_dir() / "fabric-view" / "demo"
        base = "/app/fabric-view/scripts/fabric-view.js"
        for what in ("topology", "groups"):
            r = running.request("POST", f"{base}/{what}/json", data=(demo / f"{what}.json").read_bytes(),
                                headers={"Content-Type": "application/json"})
            assert r.status_code == 204, f"POST {what}: {r.status_code} {r.text}"
        yield running


def test_every_app_loads_without_error(server: RtflowServer) -> None:
    scripts = server.get_json("/scripts/json")
    expected = {f"{app.name}~{js.name}" for app in apps_dir().iterdir() if (app / "scripts").is_dir()
                for js in (app / "scripts").glob("*.js")}
    assert set(scripts) == expected
    for name, status in scripts.items():
        assert status["alive"] and "error" not in status, f"{name}: {status}"
    apps = server.get_json("/apps/json")
    assert apps["browse-flows"] == {"entry": "/html/", "scripts": ["top.js"]}
    assert apps["prometheus"] == {"scripts": ["export.js"], "api": "/api/"}
    for app in apps:
        assert server.get(f"/app/{app}/status").text == "OK"
    assert server.get("/app/nope/status").status_code == 404
    index = server.get("/app/browse-flows/html/index.html")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert server.get("/app/browse-flows/html/js/app.js").headers["content-type"].startswith("text/javascript")
    assert server.get("/app/browse-flows/html/../scripts/top.js").status_code == 404
    assert server.get("/app/prometheus/api-docs").text.startswith("openapi")
    # As JSON for rtflow's explorer of the app's API at /app/NAME/api/ (Swagger 2.0 and OpenAPI 3 alike).
    for app, key, path in (("prometheus", "openapi", "/export.js/flows/{agent}/txt"),
                           ("fabric-view", "swagger", "/fabric-view.js/thresholds/json")):
        docs = server.get(f"/app/{app}/api-docs", headers={"Accept": "application/json"})
        assert docs.headers["content-type"] == "application/json", docs.headers
        assert key in docs.json() and path in docs.json()["paths"], sorted(docs.json()["paths"])
        assert apps[app]["api"] == "/api/"
        page = server.get(f"/app/{app}/api/")
        assert page.status_code == 200 and 'data-docs="../api-docs"' in page.text
    assert "api" not in apps["browse-flows"]
    assert server.get("/app/browse-flows/api/").status_code == 404


def test_prometheus_app_scraped_by_real_prometheus(server: RtflowServer) -> None:
    prometheus = require_tool("prometheus")
    flows = "/app/prometheus/scripts/export.js/flows/ALL/txt"
    params = {"metric": ["ecmp_flow_bits"], "key": ["ipsource,ipdestination"], "label": ["src,dst"],
              "value": ["bytes"], "scale": ["8"]}
    text = poll(lambda: (r := server.get(flows, params=params)).status_code == 200 and ELEPHANT.replace(SEP, "")
                and 'src="10.4.1.2",dst="10.4.2.2"' in r.text and r.text, 30, "the elephant in the app's flows/txt")
    assert text.startswith("ecmp_flow_bits{src=")
    stats_url = "/app/prometheus/scripts/export.js/statistics/fabric/ALL/sum:ifinoctets,max:ifspeed/txt"
    stats = poll(lambda: (r := server.get(stats_url)).status_code == 200 and "ifinoctets" in r.text and r.text, 30,
                 "the app's statistics to include the summed interface input rate")
    assert 'sflow_max_ifspeed{group="fabric"} 10000000000\n' in stats, stats
    assert server.get("/app/prometheus/scripts/export.js/flows/ALL/txt").status_code == 400
    assert server.get("/app/prometheus/scripts/export.js/nothing/txt").status_code == 404
    with tempfile.TemporaryDirectory(prefix="rtflow-prom-app-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: flows\n"
            f"    metrics_path: {flows}\n"
            f"    params: {json.dumps(params)}\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{server.http_port}']\n"
            "  - job_name: statistics\n"
            f"    metrics_path: {stats_url}\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{server.http_port}']\n")
        port = free_tcp_port()
        with open(Path(tmp) / "prometheus.log", "w") as log:
            proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                                     f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
            try:
                def query(expr: str) -> list | None:
                    assert proc.poll() is None, (Path(tmp) / "prometheus.log").read_text()[-2000:]
                    try:
                        body = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr},
                                            timeout=HTTP_TIMEOUT).json()
                    except (requests.RequestException, ValueError):
                        return None
                    return body.get("data", {}).get("result") or None

                result = poll(lambda: query('ecmp_flow_bits{src="10.4.1.2",dst="10.4.2.2"}'), 45,
                              "Prometheus to scrape the elephant flow from the app", 0.5)
                assert float(result[0]["value"][1]) > 1e9, result
                speed = poll(lambda: query('sflow_max_ifspeed{job="statistics",group="fabric"}'), 30,
                             "Prometheus to scrape the app's statistics", 0.5)
                assert float(speed[0]["value"][1]) == 1e10, speed
            finally:
                proc.terminate()
                proc.wait(timeout=10)


def test_browse_flows_keys_and_incremental_trend(server: RtflowServer) -> None:
    base = "/app/browse-flows/scripts/top.js"
    keys = poll(lambda: (k := server.get_json(f"{base}/flowkeys/json?search=ip")) and "ipsource" in k and k, 20,
                "flow keys to include ipsource")
    assert keys == sorted(keys) and all(k.lower().startswith("ip") for k in keys)
    query = "keys=ipsource,ipdestination&value=bytes"

    def topn_with_elephant() -> dict | None:
        trend = server.get_json(f"{base}/flows/json?{query}")["trend"]
        return trend if any(isinstance(p, dict) and ELEPHANT in p for p in trend["trends"]["topn"]) else None

    trend = poll(topn_with_elephant, 30, "browse-flows to chart the elephant")
    assert trend["maxPoints"] == 300 and len(trend["times"]) == 300 == len(trend["trends"]["topn"])
    last = trend["times"][-2]
    newer = server.get_json(f"{base}/flows/json?{query}&after={last}")["trend"]
    assert 1 <= len(newer["times"]) <= 5 and all(t > last for t in newer["times"])
    assert server.get(f"{base}/flows/json?keys=nosuchkey(&value=bytes").status_code == 400


def test_flow_trend_shortcuts_survive_a_restart(server: RtflowServer, store: Path) -> None:
    url = "/app/flow-trend/scripts/top.js/shortcuts/json"
    shortcuts = [{"category": "Test", "protocol": "IP", "description": "Pairs", "keys": "ipsource,ipdestination",
                  "value": "bps", "filter": ""}]
    assert server.request("POST", url, data="{not json", headers={"Content-Type": "application/json"}).status_code \
        == 400
    assert server.request("POST", url, json=[{"category": 1}]).status_code == 400
    assert server.request("POST", url, json=shortcuts).status_code == 204
    assert server.get_json(url) == shortcuts
    with serving(server_args(store)) as restarted:
        assert restarted.get_json(url) == shortcuts


def test_fabric_view_and_mininet_dashboard_show_the_fabric(server: RtflowServer) -> None:
    base = "/app/fabric-view/scripts/fabric-view.js"
    assert server.get_json(f"{base}/topology/info/json") == {"nodes": 4, "links": 8}
    assert server.get_json(f"{base}/groups/info/json") == {"groups": 5, "cidrs": 11}

    def links_up() -> list | None:
        links = server.get_json(f"{base}/links/json")
        # Every link reports counters; flow samples come from the links that carry the two transfers.
        carrying = [link for link in links if link["flowsOK"]]
        return links if len(links) == 8 and all(l["countersOK"] for l in links) and len(carrying) >= 2 else None

    links = poll(links_up, 40, "fabric-view's 8 links with counters, flows on the busy ones")
    assert all(l["speed"] == 10_000_000_000 and l["statusOK"] for l in links), links
    nodes = {n["name"]: n for n in server.get_json(f"{base}/nodes/json")}
    assert set(nodes) == {"leaf1", "leaf2", "spine1", "spine2"}
    assert all(n["link_count"] == 4 for n in nodes.values())

    def elephants() -> dict | None:
        points = server.get_json(f"{base}/metric/json")
        top = points.get("top-5-flows", {}) if points else {}
        busy = any(k.startswith("10.4.1.2,10.4.2.2,6,") for k in top) and points.get("edge_bps", 0) > 1e9
        return points if busy and points.get("elephant_current", 0) >= 1 else None

    points = poll(elephants, 40, "fabric-view to count elephant flows and show them at the edge")
    assert points["top-5-pairs"] and "top-5-grouppairs" in points
    assert server.get_json(f"{base}/version/json")

    # Host location (topologyLocatedHostMacs / topologyLocateHostMac): the four servers, each on the leaf edge port
    # its traffic enters by, named by the interface names the leaves report.
    expected_hosts = {("10.4.1.2", "leaf1", "swp32s0"), ("10.4.3.2", "leaf1", "swp32s1"),
                      ("10.4.2.2", "leaf2", "swp32s0"), ("10.4.4.2", "leaf2", "swp32s1")}

    def hosts_located() -> list | None:
        hosts = server.get_json(f"{base}/hosts/json")
        return hosts if {(h["ipaddress"], h["node"], h["port"]) for h in hosts} == expected_hosts else None

    hosts = poll(hosts_located, 40, "fabric-view's hosts table to locate the four servers")
    assert len(hosts) == 4 and all(len(h["mac"]) == 12 and h["mac"].startswith("000AF7") for h in hosts), hosts

    mininet = server.get_json("/app/mininet-dashboard/scripts/metrics.js/trend/json")
    widths = {name: link["width"] for name, link in mininet["topologyMetrics"]["links"].items()}
    assert set(widths) == {f"L{i}" for i in range(1, 9)} and max(widths.values()) > 1, widths
    assert len(mininet["trend"]["times"]) == 300


def test_sflow_test_checks(server: RtflowServer) -> None:
    base = "/app/sflow-test/scripts/test.js"
    agents = server.get_json(f"{base}/agents/json?search=192.168.0")
    assert sorted(agents) == ["192.168.0.11", "192.168.0.12", "192.168.0.13", "192.168.0.14"]
    assert server.get(f"{base}/start/json?agent=192.168.0.12").status_code == 204

    def checks() -> dict | None:
        result = server.get_json(f"{base}/checks/json")
        tests = {t["id"]: t for t in result["tests"]}
        passed = all(tests.get(t, {}).get("status") == "pass" for t in ("datasources", "ingressportinfo"))
        return result if passed and "trend" in result else None

    result = poll(checks, 40, "sflow-test's data source and ingress port checks to pass")
    tests = {t["id"]: t for t in result["tests"]}
    assert tests["duration"]["status"] == "wait" and tests["duration"]["data"].endswith(" seconds")
    assert tests["seqno"]["status"] in ("pass", "wait")
    assert tests["host_name"]["status"] == "found"
    assert result["version"] == "1.1"
