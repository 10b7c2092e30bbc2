"""Server-sent events (/events/sse) read by a plain `requests` client, and /tenant streams checked by an independent
sFlow parser (capture.py) against what the server received."""

from __future__ import annotations

import ipaddress
import json
import struct
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest

from capture import flow_sample_pairs, sflow_agent
from conftest import HTTP_TIMEOUT, Dataset, RtflowServer, poll, replay_to, start_server
from test_live_udp import UdpSink

ELEPHANTS = {"10.4.1.2,10.4.2.2", "10.4.3.2,10.4.4.2"}
TENANT_NET = ipaddress.ip_network("10.4.1.0/24")


@pytest.fixture
def replay_server(dataset: Dataset) -> Iterator[RtflowServer]:
    yield from start_server(["--replay", str(dataset.pcap), "--replay-speed", dataset.speed(20)])


@pytest.fixture
def live_server() -> Iterator[RtflowServer]:
    yield from start_server([])


def sse_messages(server: RtflowServer, path: str, deadline: float) -> Iterator[dict]:
    """Parsed `{"id": ..., "data": ...}` messages of an event stream until `deadline` (monotonic seconds)."""
    with server.session.get(server.base + path, stream=True, timeout=(HTTP_TIMEOUT, 20)) as response:
        assert response.status_code == 200, f"GET {path} -> {response.status_code}: {response.text[:300]}"
        assert response.headers["content-type"].startswith("text/event-stream")
        message: dict = {}
        for line in response.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                pytest.fail(f"no complete message on {path} in time", pytrace=False)
            if line.startswith("id:"):
                message["id"] = line[3:].strip()
            elif line.startswith("data:"):
                message["data"] = json.loads(line[5:].strip())
            elif line == "" and "data" in message:
                yield message
                message = {}


def test_elephant_events_arrive_as_server_sent_events(replay_server: RtflowServer) -> None:
    r = replay_server.put("/flow/pair/json", json={"keys": "ipsource,ipdestination", "value": "bytes"})
    assert r.status_code == 204, r.text
    r = replay_server.put("/threshold/elephant/json",
                          json={"metric": "pair", "value": 1_000_000_000 / 8, "byFlow": True, "timeout": 2})
    assert r.status_code == 204, r.text

    stream = sse_messages(replay_server, "/events/sse?thresholdID=elephant", time.monotonic() + 40)
    first = next(stream)
    event = first["data"]
    assert first["id"] == str(event["eventID"]), first
    assert event["thresholdID"] == "elephant" and event["metric"] == "pair", event
    assert event["flowKey"] in ELEPHANTS, f"{event['flowKey']} is not an elephant"
    assert event["value"] > event["threshold"], event
    # The long-poll endpoint knows the same event.
    polled = replay_server.get_json(f"/events/json?eventID={event['eventID'] - 1}&maxEvents=1000")
    assert event in polled, f"SSE event {event} not in /events/json"


def in_net(pair: tuple[str, str, int, int]) -> bool:
    src, dst = ipaddress.ip_address(pair[0]), ipaddress.ip_address(pair[1])
    return src in TENANT_NET or dst in TENANT_NET


def test_tenant_receives_exactly_its_samples(live_server: RtflowServer, dataset: Dataset) -> None:
    everything, tenant = UdpSink(), UdpSink()
    try:
        r = live_server.put("/forwarding/all/json", json={"address": "127.0.0.1", "port": everything.port})
        assert r.status_code == 204, r.text
        r = live_server.put("/tenant/net41/json", json={"collectorAddress": "127.0.0.1", "collectorPort": tenant.port,
                                                        "filters": {"cidr": [str(TENANT_NET)]}})
        assert r.status_code == 204, r.text

        replay_to(live_server.sflow_port, dataset.pcap, "--rate", "20000")
        sent = len(dataset.payloads)

        # The server counts a datagram as received before it forwards it and sends its tenant samples, so the
        # counters alone can be read while the last datagrams are still on their way: wait for final contents.
        # 1. Every datagram the replay sent is accounted for (received, or dropped by the kernel under load).
        def ingested() -> int | None:
            analyzer = live_server.get_json("/analyzer/json")
            received = analyzer["sFlowDatagramsReceived"]
            return received if received + analyzer["sFlowDatagramsDropped"] == sent else None

        received = poll(ingested, 20, f"the server to account for the {sent} datagrams replayed")
        # 2. Nothing more arrives now, so the forwarded copies of all of them are what the server received.
        poll(lambda: len(everything.datagrams) == received, 20, f"{received} forwarded datagrams")
        # 3. The tenant's samples are complete when they match in number what the forwarded copies hold.
        expected_count = sum(1 for d in everything.datagrams for p in flow_sample_pairs(d) if in_net(p))
        poll(lambda: sum(1 for d in list(tenant.datagrams) for _ in flow_sample_pairs(d)) >= expected_count, 20,
             f"{expected_count} samples of {TENANT_NET} at the tenant's collector")
    finally:
        everything.close()
        tenant.close()

    # What the server received (its forwarded copies), judged by the independent parser.
    expected = [p for d in everything.datagrams for p in flow_sample_pairs(d) if in_net(p)]
    got = [p for d in tenant.datagrams for p in flow_sample_pairs(d)]
    assert expected, f"{dataset.name} has traffic of 10.4.1.0/24"
    assert all(in_net(p) for p in got), "a sample outside the tenant's network was sent"
    assert sorted(got) == sorted(expected), f"tenant got {len(got)} samples, the server received {len(expected)}"

    # Each agent's tenant datagrams are numbered 1..N with no gap (IPv4 agents: sequence at offset 16).
    sequences: dict[str, list[int]] = defaultdict(list)
    for d in tenant.datagrams:
        sequences[sflow_agent(d)].append(struct.unpack_from("!I", d, 16)[0])
    for agent, numbers in sequences.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"{agent}: gaps in {sorted(numbers)[:20]}…"

    # The server counts a tenant datagram once its send returned, which can be after it arrived.
    wanted = {"datagramsForwarded": len(tenant.datagrams), "samplesForwarded": len(got)}
    poll(lambda: {k: live_server.get_json("/tenant/json")["net41"][k] for k in wanted} == wanted, 20,
         f"/tenant/json to count {wanted}")
