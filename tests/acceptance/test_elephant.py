"""The elephant-flow workflow of the sFlow blog's REST API tutorial (elephant.py against ecmp.pcap), run for real on
each dataset (the generated fabric.pcap and, with ../shared, ecmp.pcap).

The blog's script defines a flow `pair` (ipsource,ipdestination -> bytes), a byFlow threshold `elephant` on it, and
then long-polls /events/json printing each event's flowKey. This test keeps that `requests` loop, bounded in time, and
checks what it collects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture import flow_sample_pairs, udp_payloads
from conftest import ECMP_AGENTS, HTTP_TIMEOUT, Dataset, RtflowServer, poll, start_server

# 1 Gbit/s in bytes/s, the blog's threshold. Independent analysis of ecmp.pcap (capture.py: raw-header records x
# sampling rate 20000, per agent and ifIndex data source, 20 s windows of capture time) puts the two long TCP
# transfers 10.4.1.2->10.4.2.2 and 10.4.3.2->10.4.4.2 at 130-740 MB/s per data source (1-6 Gbit/s on 10G ports),
# while their reverse (ACK) directions stay below 1 MB/s everywhere: 125 MB/s separates them by two orders of
# magnitude, even if a server measured rates in wall-clock time during a 20x replay (ACKs would then be < 20 MB/s).
# fabric.pcap's transfers run at 4 Gbit/s (500 MB/s) and its ACK streams at about 11 MB/s (crates/corpus).
THRESHOLD_BYTES_PER_SEC = 1_000_000_000 / 8
ELEPHANTS = {"10.4.1.2,10.4.2.2", "10.4.3.2,10.4.4.2"}
MICE = {"10.4.2.2,10.4.1.2", "10.4.4.2,10.4.3.2"}
# A 10 Gbit/s port carries at most 1.25e9 bytes/s; allow 2x for sampling noise and smoothing.
MAX_PLAUSIBLE_BYTES_PER_SEC = 2 * 10e9 / 8
COLLECT_SECONDS = 25.0


@pytest.fixture(scope="module")
def server(dataset: Dataset) -> Iterator[RtflowServer]:
    # As ecmp.pcap at 20x (its 600 s play in 30 s), so elephants show up within seconds.
    yield from start_server(["--replay", str(dataset.pcap), "--replay-speed", dataset.speed(20)])


def test_capture_pairs_are_what_the_threshold_assumes(dataset: Dataset) -> None:
    """Guards the threshold's justification: the capture holds exactly the two elephants and their ACK streams."""
    pairs = {f"{s},{d}" for dgram in udp_payloads(dataset.pcap) for s, d, _, _ in flow_sample_pairs(dgram)}
    assert pairs == ELEPHANTS | MICE, f"unexpected IPv4 pairs in {Path(dataset.pcap).name}: {sorted(pairs)}"


def test_elephant_events(server: RtflowServer, dataset: Dataset) -> None:
    started_ms = time.time() * 1000
    rt = server.base
    session = server.session

    # --- elephant.py, step 1: define the flow -------------------------------------------------------------------
    flow = {"keys": "ipsource,ipdestination", "value": "bytes"}
    r = session.put(rt + "/flow/pair/json", data=json.dumps(flow), timeout=HTTP_TIMEOUT)
    assert r.status_code == 204, f"PUT /flow/pair/json {flow} -> {r.status_code}: {r.text}"

    # Look at the active flows before choosing the threshold (see THRESHOLD_BYTES_PER_SEC). A new flow's rate ramps
    # up over the smoothing window (and more slowly in wall-clock time when the replay falls behind on a busy
    # machine), so wait for an elephant at the top that has reached the threshold rather than judge the first answer.
    def top_flows() -> list[dict] | None:
        flows = server.get_json("/activeflows/ALL/pair/json?maxFlows=10")
        ready = flows and flows[0]["key"] in ELEPHANTS and flows[0]["value"] > THRESHOLD_BYTES_PER_SEC
        return flows if ready else None

    flows = poll(top_flows, 30, "an elephant above the 1 Gbit/s threshold at the top of /activeflows/ALL/pair/json")
    values = {f["key"]: f["value"] for f in flows}
    top = flows[0]["value"]
    assert top < MAX_PLAUSIBLE_BYTES_PER_SEC, (
        f"top flow {top:.3g} bytes/s exceeds what a 10G port can carry: rates look scaled by the replay speed "
        f"(expected bytes/s of capture time): {flows}")
    for mouse in MICE & values.keys():
        assert values[mouse] < THRESHOLD_BYTES_PER_SEC, f"ACK stream {mouse} above the threshold: {flows}"

    # --- elephant.py, step 2: the threshold --------------------------------------------------------------------
    threshold = {"metric": "pair", "value": THRESHOLD_BYTES_PER_SEC, "byFlow": True}
    r = session.put(rt + "/threshold/elephant/json", data=json.dumps(threshold), timeout=HTTP_TIMEOUT)
    assert r.status_code == 204, f"PUT /threshold/elephant/json {threshold} -> {r.status_code}: {r.text}"
    stored = server.get_json("/threshold/elephant/json")
    assert stored["metric"] == "pair" and stored["value"] == THRESHOLD_BYTES_PER_SEC and stored["byFlow"] is True, \
        f"GET /threshold/elephant/json returned {stored}"

    # --- elephant.py, step 3: the event loop (bounded) ---------------------------------------------------------
    eventurl = rt + "/events/json?thresholdID=elephant&maxEvents=10"
    event_id = -1
    poll_timeout = 60  # the blog's first call; later calls use short polls so the test stays bounded
    chronological: list[dict] = []
    deadline = time.monotonic() + COLLECT_SECONDS
    while time.monotonic() < deadline and not ELEPHANTS <= {e.get("flowKey") for e in chronological}:
        r = session.get(f"{eventurl}&timeout={poll_timeout}&eventID={event_id}", timeout=HTTP_TIMEOUT + poll_timeout)
        assert r.status_code == 200, f"GET /events/json eventID={event_id} -> {r.status_code}: {r.text}"
        events = r.json()
        poll_timeout = 5
        if len(events) == 0:
            continue
        ids = [e["eventID"] for e in events]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), f"events not newest first: {ids}"
        assert ids[-1] > event_id, f"asked for events after {event_id}, got ids {ids}"
        event_id = events[0]["eventID"]
        events.reverse()
        chronological.extend(events)

    assert chronological, f"no elephant events within {COLLECT_SECONDS:.0f} s"
    ids = [e["eventID"] for e in chronological]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), f"event ids not increasing across polls: {ids}"

    # In a sped-up replay the server's clock runs ahead of the wall clock (by design: engine time follows the
    # capture), by at most the capture's length; it never runs behind it.
    now_ms = time.time() * 1000
    capture_ms = dataset.seconds * 1000
    for event in chronological:
        for field in ("eventID", "timestamp", "thresholdID", "metric", "threshold", "value", "agent",
                      "dataSource", "flowKey"):
            assert field in event, f"event lacks {field!r}: {event}"
        assert isinstance(event["eventID"], int), event
        assert started_ms - 1_000 <= event["timestamp"] <= now_ms + capture_ms + 60_000, \
            f"timestamp is not ms since the epoch of this run: {event}"
        assert event["thresholdID"] == "elephant", event
        assert event["metric"] == "pair", event
        assert event["threshold"] == THRESHOLD_BYTES_PER_SEC, event
        assert event["value"] > event["threshold"], f"event value not above the threshold: {event}"
        assert event["agent"] in ECMP_AGENTS, event
        assert isinstance(event["dataSource"], str) and event["dataSource"].isdigit(), \
            f"dataSource should be an ifIndex string: {event}"

    keys = {e["flowKey"] for e in chronological}
    assert ELEPHANTS <= keys, f"elephant flows missing from the events: saw {sorted(keys)}"
    assert not keys & MICE, f"ACK streams reported as elephants: {sorted(keys & MICE)}"

    # Without the thresholdID filter the same events are visible (newest first), and maxEvents is honoured.
    latest = server.get_json("/events/json?eventID=-1&maxEvents=2&timeout=1", extra_timeout=1)
    assert 1 <= len(latest) <= 2 and latest[0]["eventID"] >= event_id, f"unfiltered /events/json: {latest}"
