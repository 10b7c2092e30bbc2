"""Prometheus export (/prometheus/metrics/{agent}/{metric}/txt, spec §1.9 and §7): promtool-valid text, and a real
Prometheus server scraping it."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import requests

from capture import counter_names
from conftest import ECMP_AGENTS, HTTP_TIMEOUT, Dataset, RtflowServer, free_tcp_port, poll, require_tool
from test_rest import FABRIC_LINKS

SAMPLE_LINE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def exported_text(server: RtflowServer) -> str:
    def with_interface_rates() -> str | None:
        r = server.get("/prometheus/metrics/ALL/ALL/txt")
        assert r.status_code == 200, f"/prometheus/metrics/ALL/ALL/txt -> {r.status_code}: {r.text[:300]}"
        assert r.headers["content-type"].startswith("text/plain"), r.headers
        agents = {m.group(1) for m in re.finditer(r'^sflow_ifinoctets\{.*agent="([^"]+)"', r.text, re.M)}
        return r.text if agents == ECMP_AGENTS else None

    return poll(with_interface_rates, 30, "sflow_ifinoctets lines for all four agents")


def test_exposition_format_and_labels(replay_server: RtflowServer, dataset: Dataset) -> None:
    text = exported_text(replay_server)
    hosts = {agent: name for d in dataset.payloads for agent, _, kind, name in counter_names(d)
             if kind == "host_name"}
    samples = 0
    series: set[tuple[str, str]] = set()
    finished_names: set[str] = set()
    current = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_LINE.fullmatch(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        name, labels_text, value = match.groups()
        assert name.startswith("sflow_"), line
        float(value)  # raises on a non-numeric value
        assert (name, labels_text) not in series, f"duplicate series: {line}"
        series.add((name, labels_text))
        if name != current:
            assert name not in finished_names, f"samples of {name} are not grouped together (line {line!r})"
            finished_names.add(current)
            current = name
        labels = dict(LABEL.findall(labels_text))
        assert labels.get("agent") in ECMP_AGENTS and labels.get("datasource"), f"agent/datasource labels: {line}"
        assert labels.get("host") == hosts[labels["agent"]], f"host label should be the agent's host_name: {line}"
        samples += 1
    assert samples > 100, f"only {samples} samples exported"

    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    # Exit 1 = unparsable; exit 3 = lint findings. sFlow-RT's documented output has no `# HELP` lines (spec §7),
    # so "no help text" is the one lint finding tolerated; anything else (bad names, counters, ...) fails.
    findings = [f for f in (check.stdout + check.stderr).splitlines() if f.strip()]
    other = [f for f in findings if not f.endswith(" no help text")]
    assert check.returncode in (0, 3) and not other, \
        f"promtool check metrics failed ({check.returncode}):\n" + "\n".join(other[:20])


def human_speed(bps: float) -> str:
    """sFlow-RT's `ifspeed` label form."""
    whole = int(bps)
    if whole <= 0 or whole != bps:
        return f"{bps:g}"
    for unit, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def test_flow_definitions_are_exported_only_when_named(replay_server: RtflowServer) -> None:
    r = replay_server.put("/flow/prom_pair/json", json={"keys": "ipsource,ipdestination", "value": "bytes"})
    assert r.status_code == 204, r.text
    try:
        def named() -> str | None:
            text = replay_server.get("/prometheus/metrics/ALL/prom_pair/txt").text
            return text if "sflow_prom_pair{" in text else None

        poll(named, 30, "the named flow metric sflow_prom_pair")
        assert "sflow_prom_pair" not in replay_server.get("/prometheus/metrics/ALL/ALL/txt").text, \
            "sFlow-RT does not export flow definitions as native series"
    finally:
        replay_server.delete("/flow/prom_pair/json")


def test_real_prometheus_scrapes_rtflow(replay_server: RtflowServer) -> None:
    """Prometheus scrapes rtflow as sFlow-RT's prometheus-grafana setup scrapes sFlow-RT (an analyzer job and a
    metrics job), and the PromQL of sFlow-RT Grafana dashboards' panels finds what it expects."""
    prometheus = require_tool("prometheus")
    # The fabric's topology, so interface series carry their `link` label.
    topology = {"links": {name: {"node1": n1, "port1": p1, "node2": n2, "port2": p2}
                          for name, (n1, p1, n2, p2) in FABRIC_LINKS.items()}}
    r = replay_server.put("/topology/json", json=topology)
    assert r.status_code == 204, f"PUT /topology/json -> {r.status_code}: {r.text}"
    exported_text(replay_server)
    with tempfile.TemporaryDirectory(prefix="rtflow-prom-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        target = f"    static_configs:\n      - targets: ['127.0.0.1:{replay_server.http_port}']\n"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: rtflow\n"
            "    metrics_path: /prometheus/metrics/ALL/ALL/txt\n" + target +
            "  - job_name: sflow-rt-analyzer\n"
            "    metrics_path: /prometheus/analyzer/txt\n" + target)
        port = free_tcp_port()
        log = open(Path(tmp) / "prometheus.log", "w")
        proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        api = f"http://127.0.0.1:{port}/api/v1/query"
        try:
            def query(expr: str) -> list[dict] | None:
                assert proc.poll() is None, f"prometheus exited: {(Path(tmp) / 'prometheus.log').read_text()[-2000:]}"
                try:
                    body = requests.get(api, params={"query": expr}, timeout=HTTP_TIMEOUT).json()
                except (requests.RequestException, ValueError):
                    return None
                assert body.get("status") == "success", f"{expr}: {body}"
                return body.get("data", {}).get("result") or None

            def all_agents() -> list[dict] | None:
                result = query("sflow_ifinoctets")
                return result if result and {r["metric"].get("agent") for r in result} == ECMP_AGENTS else None

            result = poll(all_agents, 45, "Prometheus to return sflow_ifinoctets for the four ecmp agents", 0.5)
            assert all(r["metric"].get("job") == "rtflow" and r["metric"].get("datasource") for r in result), result
            up = query('up{job="rtflow"}')
            assert up and up[0]["value"][1] == "1", f"scrape target not up: {up}"

            # Interface series: sFlow-RT's label set, ifspeed in its human form.
            speeds = poll(lambda: query("sflow_ifspeed"), 10, "sflow_ifspeed")
            for series in speeds:
                labels = series["metric"]
                assert labels.get("ifspeed") == human_speed(float(series["value"][1])), labels
                for name in ("host", "ifindex", "ifname", "iftype", "ifadminstatus", "ifoperstatus"):
                    assert labels.get(name), f"no {name} label: {labels}"
                assert labels["ifindex"] == labels["datasource"], labels
            ten_g = poll(lambda: query('sflow_ifinutilization{ifspeed="10G"}'), 10,
                         'sflow_ifinutilization{ifspeed="10G"}')
            assert {r["metric"]["agent"] for r in ten_g} == ECMP_AGENTS, ten_g
            by_link = poll(lambda: (r := query("max(sflow_ifinutilization) by (link)"))
                           and {x["metric"].get("link") for x in r} >= set(FABRIC_LINKS) and r,
                           15, "max(sflow_ifinutilization) by (link) for the eight fabric links")
            assert {x["metric"].get("link") for x in by_link} - set(FABRIC_LINKS) <= {None}, by_link
            # Host series add machine_type, os_name, os_release.
            host = poll(lambda: query('count({__name__=~"sflow_.+", os_name!=""}) by (agent)'), 10,
                        "series with an os_name label")
            assert {r["metric"]["agent"] for r in host} == ECMP_AGENTS, host
            # The analyzer job, by sFlow-RT's names.
            agents = poll(lambda: query('sflow_analyzer_agent_count{job="sflow-rt-analyzer"}'), 15,
                          "sflow_analyzer_agent_count")
            assert agents[0]["value"][1] == str(len(ECMP_AGENTS)), agents
            for name in ("sflow_analyzer_parse_errors", "sflow_analyzer_uptime_ms",
                         "sflow_analyzer_received_bytes", "sflow_analyzer_cpu_load_process",
                         "sflow_analyzer_heap_used_bytes"):
                assert query(name), f"{name} not scraped"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            log.close()
