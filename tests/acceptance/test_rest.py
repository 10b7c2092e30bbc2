"""REST conformance of `rtflow serve` against the sFlow-RT API (spec ../shared/spec/sflow-rt-api.md §1), with each
dataset replayed for 60 s (the generated fabric.pcap at 2x; with ../shared, ecmp.pcap at 10x). Expected agents, port names and host names come from an independent read of the
capture (capture.py), not from rtflow.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache

import pytest

from capture import counter_names
from conftest import ECMP_AGENTS, Dataset, RtflowServer, poll

AGENT_COUNTERS = [
    "sFlowDatagramsReceived", "sFlowDatagramsLost", "sFlowDatagramsDuplicates", "sFlowDatagramsOutOfOrder",
    "sFlowFlowSamples", "sFlowFlowLostSamples", "sFlowFlowDuplicateSamples", "sFlowFlowOutOfOrderSamples",
    "sFlowFlowDrops", "sFlowCounterSamples", "sFlowCounterLostSamples", "sFlowCounterDuplicateSamples",
    "sFlowCounterOutOfOrderSamples", "sFlowNotificationSamples", "sFlowNotificationLostSamples",
    "sFlowNotificationDuplicateSamples", "sFlowNotificationOutOfOrderSamples", "sFlowNotificationDrops",
    "sFlowFlowDatasources", "sFlowCounterDatasources", "sFlowNotificationDatasources", "firstSeen", "lastSeen",
    "uptime",
]
STATISTIC_FIELDS = ["agent", "dataSource", "metricName", "metricValue", "metricN", "lastUpdate", "lastUpdateMin",
                    "lastUpdateMax"]
ELEPHANTS = {"10.4.1.2,10.4.2.2", "10.4.3.2,10.4.4.2"}
METRIC_FIELDS = ["agent", "dataSource", "metricName", "metricValue", "lastUpdate"]

# fabric-view's demo/topology.json, which describes the ecmp.pcap fabric (links only: node and port names are
# resolved from the agents' host_name and port-name counters); fabric.pcap is wired the same way.
FABRIC_LINKS = {
    "L1": ("leaf1", "swp1s0", "spine1", "swp49"), "L2": ("leaf1", "swp1s1", "spine1", "swp50"),
    "L3": ("leaf1", "swp1s2", "spine2", "swp51"), "L4": ("leaf1", "swp1s3", "spine2", "swp52"),
    "L5": ("leaf2", "swp1s0", "spine2", "swp49"), "L6": ("leaf2", "swp1s1", "spine2", "swp50"),
    "L7": ("leaf2", "swp1s2", "spine1", "swp51"), "L8": ("leaf2", "swp1s3", "spine1", "swp52"),
}


@cache
def capture_names(dataset: Dataset) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """({(agent, ifIndex): ifname}, {agent: host_name}) read straight from the capture's counter samples."""
    ifnames: dict[tuple[str, str], str] = {}
    hosts: dict[str, str] = {}
    for dgram in dataset.payloads:
        for agent, index, kind, name in counter_names(dgram):
            if kind == "ifname":
                ifnames[(agent, str(index))] = name
            else:
                hosts[agent] = name
    return ifnames, hosts


@pytest.fixture(scope="module")
def server(replay_server: RtflowServer, dataset: Dataset) -> RtflowServer:
    """The replay server once all four agents have sent counters and flows, with a `pair` flow defined."""
    r = replay_server.put("/flow/pair/json", json={"keys": "ipsource,ipdestination", "value": "bytes"})
    assert r.status_code == 204, f"PUT /flow/pair/json -> {r.status_code}: {r.text}"

    def all_agents_reporting() -> bool:
        agents = replay_server.get_json("/agents/json")
        return ECMP_AGENTS <= agents.keys() and all(
            agents[a]["sFlowCounterSamples"] > 0 and agents[a]["sFlowFlowSamples"] > 0 for a in ECMP_AGENTS)

    poll(all_agents_reporting, 30, "flow and counter samples from all four ecmp agents in /agents/json")

    # Counter rates need two samples per interface, and every port's name must have been reported once.
    def rates_for_every_agent() -> bool:
        return all("metricValue" in replay_server.get_json(f"/metric/{a}/ifinoctets/json")[0] for a in ECMP_AGENTS)

    poll(rates_for_every_agent, 30, "ifinoctets rates for all four agents")
    ifnames, _ = capture_names(dataset)
    poll(lambda: dumped_ifnames(replay_server) == ifnames, 30,
         f"/dump/ALL/ifname/json to list the {len(ifnames)} port names of the capture")
    return replay_server


def dumped_ifnames(server: RtflowServer) -> dict[tuple[str, str], str]:
    return {(m["agent"], m["dataSource"]): m["metricValue"] for m in server.get_json("/dump/ALL/ifname/json")}


def test_version_is_plain_text(server: RtflowServer) -> None:
    r = server.get("/version")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    # sFlow-RT's `major.minor-build` form (3.1-1714), which clients parse.
    assert re.fullmatch(r"\d+\.\d+-\d+", r.text.strip()), f"/version should read major.minor-build: {r.text!r}"


def test_analyzer(server: RtflowServer) -> None:
    analyzer = server.get_json("/analyzer/json")
    expected = ["sFlowBytesReceived", "sFlowDatagramsReceived", "cpuLoadProcess", "cpuLoadSystem", "heapUsed",
                "heapMax", "sFlowAgents", "httpConnectionsCurrent", "httpConnectionsTotal", "version"]
    missing = [f for f in expected if f not in analyzer]
    assert not missing, f"/analyzer/json lacks the UI's fields {missing}: {analyzer}"
    assert analyzer["sFlowAgents"] == 4, analyzer
    assert analyzer["sFlowDatagramsReceived"] > 0 and analyzer["sFlowBytesReceived"] > analyzer[
        "sFlowDatagramsReceived"] * 28, analyzer
    assert 0 <= analyzer["cpuLoadProcess"] <= 1 and 0 <= analyzer["cpuLoadSystem"] <= 1, analyzer
    assert analyzer["httpConnectionsTotal"] >= analyzer["httpConnectionsCurrent"] >= 1, analyzer
    # rtflow's own version: /version has the same major.minor in sFlow-RT's form.
    major_minor = ".".join(analyzer["version"].split(".")[:2])
    assert server.get("/version").text.strip().startswith(major_minor + "-"), analyzer


def test_agents(server: RtflowServer) -> None:
    agents = server.get_json("/agents/json")
    assert set(agents) == ECMP_AGENTS, f"/agents/json keys: {sorted(agents)}"
    for name, info in agents.items():
        missing = [f for f in AGENT_COUNTERS if f not in info]
        assert not missing, f"agent {name} lacks {missing}: {info}"
        assert isinstance(info["sFlowDatagramSource"], list) and info["sFlowDatagramSource"], info
        assert info["sFlowDatagramsReceived"] > 0 and info["sFlowFlowSamples"] > 0, info
        assert info["sFlowCounterDatasources"] > 0 and info["sFlowFlowDatasources"] > 0, info
        assert info["uptime"] > 0, info
    only = server.get_json("/agents/json?agent=192.168.0.13")
    assert set(only) == {"192.168.0.13"}, f"/agents/json?agent=192.168.0.13 -> {sorted(only)}"


def test_metric_json_as_sflow_rt_writes_it(server: RtflowServer) -> None:
    """ifindex as a string, integers as integers, float32 gauges without widening noise, sFlow-RT's metric names
    for disks, memory and loads, the raw Broadcom table sizes (spec §0.5)."""
    wanted = ["2.1.bytes_read", "2.1.bytes_written", "2.1.reads", "2.1.writes", "2.1.read_time", "2.1.write_time",
              "2.1.mem_used", "2.1.load_one", "2.1.load_five_per_cpu", "2.1.load_fifteen_per_cpu",
              "2.1.bcm_long_ipv6_entries", "3.ifindex", "3.ifspeed"]

    def complete() -> str | None:
        r = server.get("/metric/192.168.0.11/json")
        return r.text if all(f'"{name}"' in r.text for name in wanted) else None

    text = poll(complete, 40, f"/metric/192.168.0.11/json to list {wanted}")
    metrics = json.loads(text)
    assert metrics["3.ifindex"] == "3", metrics["3.ifindex"]
    assert re.search(r'"3\.ifspeed":\s*\d+[,}\s]', text), "ifspeed must be written as an integer"
    load = re.search(r'"2\.1\.load_one":\s*([-0-9.eE]+)', text)
    assert load and len(load.group(1).replace("-", "").replace(".", "")) <= 9, \
        f"load_one written with float32 widening noise: {load and load.group(1)}"
    assert any(re.fullmatch(r"2\.1\.bcm_\w+_entries", k) for k in metrics), sorted(metrics)
    assert any(re.fullmatch(r"2\.1\.bcm_\w+_entries_max", k) for k in metrics), sorted(metrics)
    if metrics.get("2.1.bcm_long_ipv6_entries_max", 0) > 0:
        assert "2.1.bcm_long_ipv6_utilization" in metrics, sorted(metrics)
    assert not any(k.startswith("2.1.disk_reads") or "utilizaton" in k for k in metrics), sorted(metrics)


def test_metrics_list(server: RtflowServer) -> None:
    metrics = server.get_json("/metrics/json")
    for name in ("ifinoctets", "ifoutoctets", "ifspeed", "ifname", "host_name", "ifinutilization"):
        assert name in metrics, f"/metrics/json lacks {name}: {sorted(metrics)}"
    assert all(isinstance(v, int) and v >= 0 for v in metrics.values()), metrics


def test_metric_statistics_in_request_order(server: RtflowServer) -> None:
    for request in (["max:ifinoctets", "min:ifinoctets"], ["min:ifinoctets", "max:ifinoctets"]):
        stats = server.get_json(f"/metric/ALL/{','.join(request)}/json")
        assert isinstance(stats, list) and [s.get("metricName") for s in stats] == request, \
            f"/metric/ALL/{','.join(request)}/json: {stats}"
        for s in stats:
            missing = [f for f in STATISTIC_FIELDS if f not in s]
            assert not missing, f"Statistic lacks {missing}: {s}"
            assert s["agent"] in ECMP_AGENTS and s["dataSource"].isdigit(), s
            assert s["metricN"] > 1, f"ALL should summarise many interfaces: {s}"
        by_name = {s["metricName"]: s["metricValue"] for s in stats}
        assert by_name["max:ifinoctets"] >= by_name["min:ifinoctets"] >= 0, stats

    stats = server.get_json("/metric/ALL/ifinoctets,no_such_metric/json")
    assert len(stats) == 2 and stats[1]["metricName"] == "no_such_metric" and "metricValue" not in stats[1], \
        f"a metric without data keeps its slot, without metricValue: {stats}"


def test_metric_of_one_agent(server: RtflowServer, dataset: Dataset) -> None:
    ifnames, hosts = capture_names(dataset)
    metrics = server.get_json("/metric/192.168.0.11/json")
    assert metrics.get("2.1.host_name") == hosts["192.168.0.11"], \
        f"expected 2.1.host_name={hosts['192.168.0.11']}: {dict(list(metrics.items())[:20])}"
    assert metrics.get("3.ifname") == ifnames[("192.168.0.11", "3")], metrics.get("3.ifname")
    # The rate needs this port's second counter sample: wait for it.
    rate = poll(lambda: server.get_json("/metric/192.168.0.11/json").get("3.ifinoctets"), 20, "3.ifinoctets")
    assert isinstance(rate, (int, float)) and rate >= 0, rate
    # An unknown agent has no metrics: {} as sFlow-RT answers.
    assert server.get_json("/metric/10.99.99.99/json") == {}


def test_dump_ifnames_match_the_capture(server: RtflowServer, dataset: Dataset) -> None:
    ifnames, _ = capture_names(dataset)

    got = dumped_ifnames(server)
    assert got == ifnames, f"port names differ from the capture: missing {sorted(ifnames.keys() - got.keys())[:10]}, " \
                           f"extra {sorted(got.keys() - ifnames.keys())[:10]}"
    sample = server.get_json("/dump/ALL/ifname/json")[0]
    missing = [f for f in METRIC_FIELDS if f not in sample]
    assert not missing and sample["metricName"] == "ifname", f"Metric lacks {missing}: {sample}"
    assert any(v.startswith("swp") for v in ifnames.values())


def test_table_rows(server: RtflowServer) -> None:
    rows = server.get_json("/table/ALL/ifname,ifinoctets/json")
    assert rows, "empty /table/ALL/ifname,ifinoctets/json"
    for row in rows:
        assert [c["metricName"] for c in row] == ["ifname", "ifinoctets"], row
        assert row[0]["agent"] == row[1]["agent"] and row[0]["dataSource"] == row[1]["dataSource"], row
    top = server.get_json("/table/ALL/sort:ifinoctets:-5,ifname/json")
    assert 1 <= len(top) <= 5, f"sort:ifinoctets:-5 should keep at most 5 rows: {top}"
    values = [row[0]["metricValue"] for row in top]
    assert values == sorted(values, reverse=True), f"rows not sorted by ifinoctets descending: {values}"


def test_activeflows_top_n_sorted(server: RtflowServer) -> None:
    # The capture's transfers run ~20 s on, ~20 s off (1 s each way at 10x): wait for an "on" moment.
    def during_transfer() -> list[dict] | None:
        flows = server.get_json("/activeflows/ALL/pair/json?maxFlows=5")
        return flows if flows and flows[0]["key"] in ELEPHANTS else None

    flows = poll(during_transfer, 15, "an elephant at the top of /activeflows/ALL/pair/json?maxFlows=5")
    assert len(flows) <= 5, f"maxFlows=5 returned {len(flows)}"
    values = [f["value"] for f in flows]
    assert values == sorted(values, reverse=True), f"not sorted descending: {flows}"
    for f in flows:
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+,\d+\.\d+\.\d+\.\d+", f["key"]), f
    one = poll(lambda: server.get_json("/activeflows/ALL/pair/json?maxFlows=1"), 15, "an active flow")
    assert len(one) == 1, one
    # An unknown flow has no active flows: [] as sFlow-RT answers.
    assert server.get_json("/activeflows/ALL/no_such_flow/json") == []


def test_flowkeys(server: RtflowServer) -> None:
    keys = server.get_json("/flowkeys/json")
    for name in ("ipsource", "ipdestination", "macsource", "tcpsourceport", "inputifindex"):
        assert name in keys, f"/flowkeys/json lacks {name}: {sorted(keys)}"
    assert all(isinstance(v, int) and v >= 0 for v in keys.values()), keys


def test_flow_definition_lifecycle(server: RtflowServer) -> None:
    spec = {"keys": "ipsource,tcpdestinationport", "value": "frames", "filter": "ipprotocol=6"}
    r = server.put("/flow/lifecycle/json", json=spec)
    assert r.status_code == 204, f"PUT /flow/lifecycle/json -> {r.status_code}: {r.text}"
    got = server.get_json("/flow/lifecycle/json")
    assert got["value"] == "frames" and got["filter"] == "ipprotocol=6", got
    assert got["keys"] in ("ipsource,tcpdestinationport", ["ipsource", "tcpdestinationport"]), got
    assert got.get("fs") == "," and got.get("n") == 5 and got.get("t") == 2, f"defaults not materialised: {got}"
    assert "lifecycle" in server.get_json("/flow/json")
    r = server.delete("/flow/lifecycle/json")
    assert r.status_code == 204, f"DELETE -> {r.status_code}: {r.text}"
    r = server.get("/flow/lifecycle/json")
    assert r.status_code == 404, f"GET after DELETE -> {r.status_code}: {r.text}"
    assert "lifecycle" not in server.get_json("/flow/json")


def test_flow_errors(server: RtflowServer) -> None:
    r = server.put("/flow/bad/json", data="{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.text.strip(), f"bad JSON -> {r.status_code}: {r.text!r}"

    # sFlow-RT refuses a mistyped operator (and so does rtflow, naming the field) ...
    r = server.put("/flow/bad/json", json={"keys": "ipsource", "value": "bytes", "filter": "ipsource=="})
    assert r.status_code == 400 and "filter" in r.text, f"bad filter -> {r.status_code}: {r.text!r}"
    assert server.get("/flow/bad/json").status_code == 404, "a rejected definition must not be installed"
    # ... but accepts unknown key names, which never match.
    r = server.put("/flow/odd/json", json={"keys": "ipsource,nosuchkey", "value": "bytes"})
    assert r.status_code == 204, f"unknown key -> {r.status_code}: {r.text!r}"
    assert server.delete("/flow/odd/json").status_code == 204

    assert server.get("/flow/no_such_flow/json").status_code == 404

    huge = json.dumps({"keys": "ipsource", "value": "bytes", "padding": "x" * (8 * 1024 * 1024)})
    r = server.put("/flow/huge/json", data=huge, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, f"8 MiB body -> {r.status_code}: {r.text[:200]!r}"
    server.assert_alive()
    assert server.get("/version").status_code == 200


def test_events_long_poll_times_out_empty(server: RtflowServer) -> None:
    assert server.get_json("/threshold/json") == {}, "this module defines no thresholds"
    # Steps 1 and 3 of the protocol: with a position (-1 on the first call, then the newest id seen), the request
    # waits `timeout` s for newer events, then returns [] -- so the tail_log.py loop never spins.
    for position in (-1, 0):
        started = time.monotonic()
        events = server.get_json(f"/events/json?eventID={position}&maxEvents=10&timeout=2", extra_timeout=2)
        elapsed = time.monotonic() - started
        assert events == [], events
        assert 1.8 <= elapsed < 6, f"long-poll with eventID={position}&timeout=2 returned after {elapsed:.2f} s"


def test_topology_selectors(server: RtflowServer, dataset: Dataset) -> None:
    topology = {"links": {name: {"node1": n1, "port1": p1, "node2": n2, "port2": p2}
                          for name, (n1, p1, n2, p2) in FABRIC_LINKS.items()}}
    version = server.get_json("/topology/json")["version"]
    r = server.put("/topology/json", json=topology)
    assert r.status_code == 204, f"PUT /topology/json -> {r.status_code}: {r.text}"
    got = server.get_json("/topology/json")
    assert got["links"] == topology["links"]
    assert got["version"] == version + 1, f"version {got['version']} after {version} and one PUT"

    ifnames, hosts = capture_names(dataset)
    agent_of = {host: agent for agent, host in hosts.items()}
    link_ports = {(agent_of[node], port) for n1, p1, n2, p2 in FABRIC_LINKS.values() for node, port in
                  ((n1, p1), (n2, p2))}

    def ports(selector: str) -> set[tuple[str, str]]:
        return {(m["agent"], m["metricValue"]) for m in server.get_json(f"/dump/{selector}/ifname/json")}

    core = poll(lambda: ports("CORE") or None, 15, "/dump/CORE/ifname/json after the topology PUT")
    assert core == link_ports, f"CORE ports differ from the 16 link ports: extra {core - link_ports}, " \
                               f"missing {link_ports - core}"
    topo = ports("TOPOLOGY")
    assert link_ports <= topo and {a for a, _ in topo} <= ECMP_AGENTS, sorted(topo)
    edge = ports("EDGE")
    assert edge and not edge & core, f"EDGE must be non-empty and disjoint from CORE: {sorted(edge & core)}"
    stats = server.get_json("/metric/TOPOLOGY/ifinoctets/json")
    assert stats[0].get("agent") in ECMP_AGENTS, stats

    # An elephant crosses the fabric: its locations on link ports name the link as seen from that port.
    def located_on_links() -> list[dict] | None:
        for key in ELEPHANTS:
            found = server.get_json(f"/flowlocations/ALL/pair/json?key={key}")
            on_links = [loc for loc in found if "linkname" in loc]
            if on_links:
                return on_links
        return None

    for loc in poll(located_on_links, 30, "an elephant's location on a fabric link"):
        n1, p1, n2, p2 = FABRIC_LINKS[loc["linkname"]]
        local, remote = (loc["localnode"], loc["localport"]), (loc["remotenode"], loc["remoteport"])
        assert {local, remote} == {(n1, p1), (n2, p2)}, loc
        assert hosts[loc["agent"]] == local[0] and ifnames[(loc["agent"], loc["dataSource"])] == local[1], loc


def test_groups(server: RtflowServer) -> None:
    group = {"rack1": ["10.4.1.0/24", "10.4.2.0/24"], "rack2": ["10.4.3.0/24", "10.4.4.0/24"]}
    r = server.put("/group/racks/json", json=group)
    assert r.status_code == 204, f"PUT /group/racks/json -> {r.status_code}: {r.text}"
    assert server.get_json("/group/racks/json") == group
    assert "racks" in server.get_json("/group/json")

    r = server.put("/flow/rackpair/json", json={"keys": "group:ipsource:racks,group:ipdestination:racks",
                                                "value": "bytes"})
    assert r.status_code == 204, f"PUT /flow/rackpair/json -> {r.status_code}: {r.text}"
    flows = poll(lambda: server.get_json("/activeflows/ALL/rackpair/json"), 15, "active flows keyed by group")
    keys = {f["key"] for f in flows}
    assert keys <= {"rack1,rack1", "rack2,rack2"} and keys, f"group keys: {keys}"

    assert server.delete("/group/racks/json").status_code == 204
    assert server.get("/group/racks/json").status_code == 404
    assert server.put("/group/broken/json", json={"x": ["not-a-cidr"]}).status_code == 400
