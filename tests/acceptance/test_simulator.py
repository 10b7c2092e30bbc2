"""The simulator against the engine (issue 6).

`rtflow simulate` writes the default scenario (elephant h1-1 -> h3-2 at t=30 s, DNS amplification on h2-1 at
t=60 s) to a pcap. Real tcpdump and tshark read it. `rtflow serve --replay` of that pcap, and `rtflow serve --demo`
(the simulator in-process), show the elephant and the attack in /activeflows and as threshold events at the
scheduled times. A scenario without background traffic gives interface counter rates equal to the scenario's rates.
Real sFlow-RT apps that need a topology (fabric-view, mininet-dashboard, from ../shared/apps) work on the demo's
fabric, and fabric-view sees the link failure at t=90 s come and go.
"""

from __future__ import annotations

import json
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from capture import udp_payloads
from conftest import RtflowServer, poll, require_shared, rtflow_bin, start_server

ELEPHANT = "10.1.1.11,10.1.3.12"  # h1-1 -> h3-2, 4 Gbit/s from t=30 s
VICTIM = "10.1.2.11"  # h2-1, 2 Gbit/s of DNS responses from t=60 s
ELEPHANT_BYTES = 4e9 / 8
# DNS response frames are uniform in 1200..1518 bytes: mean 1359.
ATTACK_FRAMES = 2e9 / 8 / 1359
ELEPHANT_AT, ATTACK_AT = 30.0, 60.0
# Threshold crossing lags the start by the smoothing of the flow values (about a second of engine time).
DETECTION_SLACK = 5.0
SPEED = 10

FLOWS = {
    "pair": {"keys": "ipsource,ipdestination", "value": "bytes"},
    "dns_responses": {"keys": "ipdestination", "value": "frames", "filter": "udpsourceport=53"},
}
THRESHOLDS = {
    "elephant": {"metric": "pair", "value": 125_000_000, "byFlow": True},
    "dns_amplification": {"metric": "dns_responses", "value": 20_000, "byFlow": True},
}


running = contextmanager(start_server)


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(rtflow_bin()), "simulate", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"`{' '.join(cmd)}` failed ({result.returncode}): {result.stderr}"
    return result


@pytest.fixture(scope="module")
def default_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 s of the default scenario, seed 1."""
    path = tmp_path_factory.mktemp("sim") / "leaf-spine.pcap"
    simulate("-q", "--seed", "1", "--duration", "100", "-w", str(path))
    return path


def sample_records(datagram: bytes) -> Iterator[tuple[int, int]]:
    """(sample format, record format) of every record of an sFlow v5 datagram (enterprise 0 only)."""
    addr_type = struct.unpack_from("!I", datagram, 4)[0]
    pos = 8 + (4 if addr_type == 1 else 16) + 12
    (samples,) = struct.unpack_from("!I", datagram, pos)
    pos += 4
    for _ in range(samples):
        tag, length = struct.unpack_from("!II", datagram, pos)
        body = datagram[pos + 8 : pos + 8 + length]
        pos += 8 + length
        count_at = {1: 28, 2: 8}.get(tag)
        if count_at is None:
            continue
        (records,) = struct.unpack_from("!I", body, count_at)
        rpos = count_at + 4
        for _ in range(records):
            rtag, rlen = struct.unpack_from("!II", body, rpos)
            yield tag, rtag
            rpos += 8 + rlen


def test_tcpdump_and_tshark_read_the_simulated_capture(default_capture: Path) -> None:
    datagrams = list(udp_payloads(default_capture))
    assert len(datagrams) > 5000

    tcpdump = subprocess.run(["tcpdump", "-r", str(default_capture), "-nn", "-vv"], capture_output=True, text=True,
                             timeout=120)
    assert tcpdump.returncode == 0, tcpdump.stderr
    headers = [line for line in tcpdump.stdout.splitlines() if "sFlowv5, IPv4 agent" in line]
    assert len(headers) == len(datagrams), "tcpdump decodes every datagram as sFlow v5"
    assert "[|" not in tcpdump.stdout, "tcpdump found a truncated structure"
    flow_lines = sum(1 for line in tcpdump.stdout.splitlines() if line.lstrip().startswith("flow sample (1)"))
    ours = sum(1 for d in datagrams for sample, record in sample_records(d) if sample == 1 and record == 1)
    assert flow_lines == ours, f"tcpdump sees {flow_lines} flow samples, the capture holds {ours}"

    fields = subprocess.run(["tshark", "-r", str(default_capture), "-T", "fields", "-E", "occurrence=a",
                             "-e", "frame.number", "-e", "sflow_245.sampletype"],
                            capture_output=True, text=True, timeout=300)
    assert fields.returncode == 0, fields.stderr
    rows = [line.split("\t") for line in fields.stdout.splitlines()]
    assert len(rows) == len(datagrams), "tshark reads every frame"
    malformed = subprocess.run(["tshark", "-r", str(default_capture), "-Y", "_ws.malformed", "-T", "fields",
                                "-e", "frame.number"], capture_output=True, text=True, timeout=300)
    assert malformed.returncode == 0, malformed.stderr
    malformed_frames = {int(n) for n in malformed.stdout.split()}
    # Debian's tshark 4.0 mis-dissects the port-name (0:1005) and host (0:2000+) counter records (see
    # ../shared/captures/README.md: it marks real Cumulus captures malformed the same way). Every other datagram
    # must dissect cleanly, with the flow samples the capture holds.
    compared = 0
    for number, datagram in enumerate(datagrams, start=1):
        records = {record for sample, record in sample_records(datagram) if sample == 2}
        if number in malformed_frames:
            assert records & ({1005} | set(range(2000, 2100))), f"frame {number} malformed without a reason"
            continue
        flows = sum(1 for sample, record in sample_records(datagram) if sample == 1)
        types = rows[number - 1][1].split(",") if len(rows[number - 1]) > 1 and rows[number - 1][1] else []
        assert types.count("1") == flows, f"frame {number}: tshark {types}, capture {flows} flow samples"
        compared += 1
    assert compared > 0.9 * len(datagrams)


def install_flows_and_thresholds(server: RtflowServer) -> None:
    for name, body in FLOWS.items():
        r = server.put(f"/flow/{name}/json", data=json.dumps(body))
        assert r.status_code == 204, f"PUT /flow/{name}/json -> {r.status_code}: {r.text}"
    for name, body in THRESHOLDS.items():
        r = server.put(f"/threshold/{name}/json", data=json.dumps(body))
        assert r.status_code == 204, f"PUT /threshold/{name}/json -> {r.status_code}: {r.text}"


def top_flow(server: RtflowServer, flow: str) -> dict | None:
    flows = server.get_json(f"/activeflows/ALL/{flow}/json?maxFlows=3")
    return flows[0] if flows else None


def watch_scenario(server: RtflowServer, launched: float, ready: float) -> None:
    """Follows the scenario as it plays: the elephant and then the attack lead /activeflows at their rates, and
    their threshold events come at the scheduled times (engine time starts between `launched` and `ready`)."""
    elephant = poll(lambda: (f := top_flow(server, "pair")) and f["key"] == ELEPHANT
                    and abs(f["value"] / ELEPHANT_BYTES - 1) < 0.1 and f, 60, "the elephant leading /activeflows")
    assert elephant["agent"] in {"10.0.0.1", "10.0.0.3", "10.0.0.101", "10.0.0.102"}, elephant
    attack = poll(lambda: (f := top_flow(server, "dns_responses")) and f["key"] == VICTIM
                  and abs(f["value"] / ATTACK_FRAMES - 1) < 0.15 and f, 60, "the attack leading /activeflows")
    assert attack["agent"] in {"10.0.0.2", "10.0.0.4", "10.0.0.101", "10.0.0.102"}, attack

    def both_events() -> list[dict] | None:
        events = server.get_json("/events/json?maxEvents=100&eventID=-1&timeout=1", extra_timeout=1)
        kinds = {e["thresholdID"] for e in events}
        return events if {"elephant", "dns_amplification"} <= kinds else None

    events = poll(both_events, 30, "elephant and dns_amplification events")
    elephants = [e for e in events if e["thresholdID"] == "elephant"]
    attacks = [e for e in events if e["thresholdID"] == "dns_amplification"]
    assert {e["flowKey"] for e in elephants} == {ELEPHANT}, elephants
    assert {e["flowKey"] for e in attacks} == {VICTIM}, attacks
    first_elephant = min(e["timestamp"] for e in elephants) / 1000
    first_attack = min(e["timestamp"] for e in attacks) / 1000
    assert launched + ELEPHANT_AT - 0.5 <= first_elephant <= ready + ELEPHANT_AT + DETECTION_SLACK, \
        f"elephant event {first_elephant - launched:.1f} s after launch (scheduled at {ELEPHANT_AT} s)"
    assert launched + ATTACK_AT - 0.5 <= first_attack <= ready + ATTACK_AT + DETECTION_SLACK, \
        f"attack event {first_attack - launched:.1f} s after launch (scheduled at {ATTACK_AT} s)"
    gap = first_attack - first_elephant
    assert abs(gap - (ATTACK_AT - ELEPHANT_AT)) < 3, f"attack detected {gap:.1f} s after the elephant"


def test_replayed_simulation_shows_elephant_and_attack_on_time(default_capture: Path) -> None:
    launched = time.time()
    with running(["--replay", str(default_capture), "--replay-speed", str(SPEED)]) as server:
        ready = time.time()
        install_flows_and_thresholds(server)
        watch_scenario(server, launched, ready)


def test_demo_shows_elephant_and_attack_on_time() -> None:
    launched = time.time()
    with running(["--demo", "--replay-speed", str(SPEED)]) as server:
        ready = time.time()
        assert server.get_json("/flow/pair/json")["keys"] == "ipsource,ipdestination"
        assert server.get_json("/threshold/dns_amplification/json")["metric"] == "dns_responses"
        topology = server.get_json("/topology/json")
        assert len(topology["nodes"]) == 6 and len(topology["links"]) == 8, topology
        printed = json.loads(simulate("--print", "topology").stdout)
        assert topology["links"] == printed["links"]
        watch_scenario(server, launched, ready)
        agents = server.get_json("/agents/json")
        assert len(agents) == 22, f"6 switches and 16 hsflowd hosts, got {sorted(agents)}"
        server.assert_alive()


FAILED_LINK = "leaf1-spine2"  # down from t=90 s to t=150 s
LINK_DOWN_AT, LINK_UP_AT = 90.0, 150.0


def test_topology_apps_work_on_the_demo_fabric(tmp_path: Path) -> None:
    apps = require_shared("apps")
    launched = time.time()
    with running(["--demo", "--replay-speed", str(SPEED), "--app-dir", str(apps),
                  f"-Dscript.store={tmp_path}"]) as server:
        base = "/app/fabric-view/scripts/fabric-view.js"
        # fabric-view reads the topology --demo installed (nothing was posted to the app).
        assert server.get_json(f"{base}/topology/info/json") == {"nodes": 6, "links": 8}

        def links() -> dict[str, dict]:
            return {link["name"]: link for link in server.get_json(f"{base}/links/json")}

        def all_up() -> dict[str, dict] | None:
            now = links()
            healthy = len(now) == 8 and all(l["statusOK"] and l["countersOK"] for l in now.values())
            return now if healthy and sum(l["flowsOK"] for l in now.values()) >= 4 else None

        up = poll(all_up, 30, "fabric-view's 8 links up, with counters and flows on most")
        assert all(l["speed"] == 40_000_000_000 for l in up.values()), up
        assert time.time() - launched < LINK_DOWN_AT / SPEED, "the links were checked too late to see them up"

        def elephant_at_the_edge() -> dict | None:
            points = server.get_json(f"{base}/metric/json")
            top = (points or {}).get("top-5-flows", {})
            seen = any(key.startswith(ELEPHANT + ",6,") for key in top)
            return points if seen and points.get("elephant_current", 0) >= 1 else None

        poll(elephant_at_the_edge, 30, "fabric-view to count the elephant among its top flows")

        def failed() -> dict[str, dict] | None:
            now = links()
            return now if not now[FAILED_LINK]["statusOK"] else None

        down = poll(failed, 30, f"fabric-view to show {FAILED_LINK} down")
        down_seen = time.time() - launched
        assert all(l["statusOK"] for name, l in down.items() if name != FAILED_LINK), down
        assert LINK_DOWN_AT / SPEED - 0.5 <= down_seen <= LINK_UP_AT / SPEED, \
            f"{FAILED_LINK} seen down {down_seen * SPEED:.0f} simulated s after launch (scheduled {LINK_DOWN_AT} s)"
        restored = poll(all_up, 30, f"{FAILED_LINK} back up")
        up_seen = time.time() - launched
        assert up_seen >= LINK_UP_AT / SPEED - 0.5, f"{FAILED_LINK} up again too early ({up_seen * SPEED:.0f} s)"
        assert restored[FAILED_LINK]["countersOK"]

        nodes = {node["name"]: node for node in server.get_json(f"{base}/nodes/json")}
        switches = {"leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"}
        assert switches <= set(nodes), sorted(nodes)
        assert all(nodes[leaf]["link_count"] == 2 for leaf in switches if leaf.startswith("leaf"))
        assert all(nodes[spine]["link_count"] == 4 for spine in ("spine1", "spine2"))

        mininet = server.get_json("/app/mininet-dashboard/scripts/metrics.js/trend/json")
        widths = {name: link["width"] for name, link in mininet["topologyMetrics"]["links"].items()}
        assert set(widths) == set(up) and max(widths.values()) > 1, widths
        server.assert_alive()


QUIET_SCENARIO = """
duration = 40
[sampling]
polling_interval = 5
[hosts]
polling_interval = 5
[traffic]
mice_per_second = 0
steady_flows = 0
[[events]]
kind = "elephant"
at = 0
src = "h1-1"
dst = "h3-2"
rate = "4G"
[[events]]
kind = "dns_amplification"
at = 0
target = "h2-1"
sources = 400
rate = "2G"
"""


def test_counter_rates_match_the_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "quiet.toml"
    scenario.write_text(QUIET_SCENARIO)
    capture = tmp_path / "quiet.pcap"
    simulate("-q", "--scenario", str(scenario), "--seed", "2", "-w", str(capture))
    with running(["--replay", str(capture), "--replay-once", "--replay-speed", str(SPEED)]) as server:
        install_flows_and_thresholds(server)
        # The sampled flows agree with the counters within sampling error.
        poll(lambda: (f := top_flow(server, "pair")) and f["key"] == ELEPHANT
             and abs(f["value"] / ELEPHANT_BYTES - 1) < 0.1, 30, "the elephant at 4 Gbit/s in /activeflows")
        poll(lambda: server.get_json("/analyzer/json").get("replayFinished"), 30, "the replay to finish")

        def rate(metric: str, agent: str, data_source: str) -> float:
            rows = server.get_json(f"/dump/{agent}/{metric}/json")
            values = [r["metricValue"] for r in rows if str(r["dataSource"]) == data_source]
            assert values, f"no {metric} for {agent} {data_source}: {rows}"
            return float(values[0])

        acks = ELEPHANT_BYTES / 1518 / 2 * 70  # one 70-byte ACK per two 1518-byte segments
        expected = [
            # (what, metric, agent, data source, bytes/s)
            ("elephant into leaf1 swp1 from h1-1", "ifinoctets", "10.0.0.1", "3", ELEPHANT_BYTES),
            ("elephant out of leaf3 swp2 to h3-2", "ifoutoctets", "10.0.0.3", "4", ELEPHANT_BYTES),
            ("elephant on h3-2's eth0 (hsflowd)", "ifinoctets", "10.1.3.12", "2", ELEPHANT_BYTES),
            ("ACKs on h1-1's eth0 (hsflowd)", "ifinoctets", "10.1.1.11", "2", acks),
            ("attack into leaf4's Internet port swp51", "ifinoctets", "10.0.0.4", "53", 2e9 / 8),
            ("attack out of leaf2 swp1 to h2-1", "ifoutoctets", "10.0.0.2", "3", 2e9 / 8),
            ("attack on h2-1's eth0 (hsflowd)", "ifinoctets", "10.1.2.11", "2", 2e9 / 8),
        ]
        for what, metric, agent, data_source, bytes_per_second in expected:
            value = rate(metric, agent, data_source)
            assert abs(value / bytes_per_second - 1) < 0.01, \
                f"{what}: {metric} {value:.4g} bytes/s, scenario says {bytes_per_second:.4g}"
        # Both spines together forward everything that crosses the fabric.
        spines = sum(rate("ifinoctets", spine, port) for spine in ("10.0.0.101", "10.0.0.102")
                     for port in ("3", "4", "5", "6"))
        crossing = ELEPHANT_BYTES + acks + 2e9 / 8
        assert abs(spines / crossing - 1) < 0.01, f"spines forward {spines:.4g} bytes/s, expected {crossing:.4g}"


TOPOLOGY_SCENARIO = """
name = "three-by-three"
duration = 6
[fabric]
spines = 3
leaves = 3
hosts_per_leaf = 2
[sampling]
polling_interval = 2
[hosts]
polling_interval = 2
[traffic]
mice_per_second = 50
steady_flows = 4
"""


def test_printed_topology_is_what_put_topology_json_takes(tmp_path: Path) -> None:
    """`simulate --print topology` of any scenario is a topology sFlow-RT's PUT /topology/json accepts: installed
    on a plain server, it is served back unchanged, and once that scenario's sFlow arrives over UDP its link ports
    are the CORE ports and the rest the EDGE, as the engine sees them by ifName."""
    scenario = tmp_path / "three-by-three.toml"
    scenario.write_text(TOPOLOGY_SCENARIO)
    printed = json.loads(simulate("--scenario", str(scenario), "--print", "topology").stdout)
    nodes, links = printed["nodes"], printed["links"]
    assert sorted(nodes) == ["leaf1", "leaf2", "leaf3", "spine1", "spine2", "spine3"], sorted(nodes)
    assert len(links) == 9, sorted(links)
    link_ports = set()
    for name, link in links.items():
        for end in ("1", "2"):
            node, port = link["node" + end], link["port" + end]
            assert port in nodes[node]["ports"], f"link {name}: {node} has no port {port}"
            link_ports.add((nodes[node]["agent"], port))
    with running([]) as server:
        r = server.put("/topology/json", json=printed)
        assert r.status_code == 204, f"PUT /topology/json -> {r.status_code}: {r.text}"
        got = server.get_json("/topology/json")
        assert got["nodes"] == nodes and got["links"] == links, got
        simulate("-q", "--scenario", str(scenario), "--seed", "3", "--speed", "3",
                 "--target", f"127.0.0.1:{server.sflow_port}")

        def ports(selector: str) -> set[tuple[str, str]]:
            return {(m["agent"], m["metricValue"]) for m in server.get_json(f"/dump/{selector}/ifname/json")}

        core = poll(lambda: (c := ports("CORE")) == link_ports and c, 15, "the 18 link ports as CORE")
        edge = ports("EDGE")
        switches = {node["agent"] for node in nodes.values()}
        assert edge and not edge & core and {agent for agent, _ in edge} <= switches, sorted(edge)
        server.assert_alive()


DATAGRAMS_PER_SIMULATED_HOUR = 352_119  # the default scenario, seed 1 (`rtflow simulate --duration 3600`)


def resident_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def test_demo_memory_stays_flat_over_simulated_hours() -> None:
    """`serve --demo` run fast (the feed goes as fast as the engine takes it) for 3 simulated hours, 36 cycles of
    the scenario's story: once the first hour has filled the event log (`events.max`, small here) and the
    engine's tables, the server's resident memory stays within 2 MiB of where it was. Counted in datagrams the
    engine took, not in seconds."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read the server's resident memory")
    with running(["--demo", "--replay-speed", "1000", "-Devents.max=100"]) as server:
        def replayed_at_least(hours: float) -> int | None:
            count = server.get_json("/analyzer/json")["sFlowDatagramsReplayed"]
            return count if count >= hours * DATAGRAMS_PER_SIMULATED_HOUR else None

        poll(lambda: replayed_at_least(1), 120, "the first simulated hour through the engine", interval=0.5)
        first = peak = resident_bytes(server.proc.pid)

        def watch_until_hour_3() -> int | None:
            nonlocal peak
            peak = max(peak, resident_bytes(server.proc.pid))
            return replayed_at_least(3)

        poll(watch_until_hour_3, 240, "3 simulated hours through the engine", interval=0.5)
        peak = max(peak, resident_bytes(server.proc.pid))
        analyzer = server.get_json("/analyzer/json")
        assert analyzer["sFlowDecodeErrors"] == 0 and analyzer["sFlowDatagramsDropped"] == 0, analyzer
        assert len(server.get_json("/events/json?maxEvents=1000")) == 100, "the event log is full at events.max"
        assert peak - first <= 2 * 1024 * 1024, \
            f"resident memory grew from {first} to {peak} bytes between simulated hours 1 and 3"
