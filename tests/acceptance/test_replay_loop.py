"""`rtflow serve --replay` loops the capture forever, as sFlow-RT's `sflow.file` does, so a capture of a single
datagram (akvorado's data-sflow-ipv4-data.pcap: one flow sample of a 1390-byte frame, 1 in 256) can be queried
like a live feed: one pass per engine second, the flow at its sampled rate, the replay never finished."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import RtflowServer, poll, require_shared, start_server

FRAME_BYTES = 1390
SAMPLING_RATE = 256


@pytest.fixture(scope="module")
def looping_server() -> Iterator[RtflowServer]:
    capture = require_shared("captures") / "akvorado" / "data-sflow-ipv4-data.pcap"
    yield from start_server(["--replay", str(capture), "--replay-speed", "10"])


def test_a_one_datagram_capture_is_queried_like_a_live_feed(looping_server: RtflowServer) -> None:
    server = looping_server
    r = server.put("/flow/pair/json", json={"keys": "ipsource,ipdestination", "value": "bytes"})
    assert r.status_code == 204, r.text

    def passes() -> int:
        return server.get_json("/analyzer/json")["sFlowDatagramsReplayed"]

    start = passes()
    poll(lambda: passes() >= start + 20, 30, "twenty more passes of the one-datagram capture")
    flows = server.get_json("/activeflows/ALL/pair/json")
    assert [f["key"] for f in flows] == ["50.50.50.50,51.51.51.51"], flows
    # One sample per engine second: 1390 B x 256 per second, swinging with the decay between samples.
    expected = FRAME_BYTES * SAMPLING_RATE
    assert 0.6 * expected < flows[0]["value"] < 1.4 * expected, (flows[0]["value"], expected)
    analyzer = server.get_json("/analyzer/json")
    assert analyzer["replayFinished"] is False, analyzer
    assert analyzer["sFlowAgents"] == 1, analyzer
    agent = server.get_json("/agents/json")["49.49.49.49"]
    assert agent["sFlowDatagramsDuplicates"] == 0 and agent["sFlowFlowDuplicateSamples"] == 0, agent
