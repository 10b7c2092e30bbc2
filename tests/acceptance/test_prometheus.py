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


def test_real_prometheus_scrapes_rtflow(replay_server: RtflowServer) -> None:
    prometheus = require_tool("prometheus")
    exported_text(replay_server)
    with tempfile.TemporaryDirectory(prefix="rtflow-prom-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: rtflow\n"
            "    metrics_path: /prometheus/metrics/ALL/ALL/txt\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{replay_server.http_port}']\n")
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
                return body.get("data", {}).get("result") or None

            def all_agents() -> list[dict] | None:
                result = query("sflow_ifinoctets")
                return result if result and {r["metric"].get("agent") for r in result} == ECMP_AGENTS else None

            result = poll(all_agents, 45, "Prometheus to return sflow_ifinoctets for the four ecmp agents", 0.5)
            assert all(r["metric"].get("job") == "rtflow" and r["metric"].get("datasource") for r in result), result
            up = query('up{job="rtflow"}')
            assert up and up[0]["value"][1] == "1", f"scrape target not up: {up}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            log.close()
