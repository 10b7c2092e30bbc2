"""`rtflow serve` receiving sFlow over UDP: forwarding (/forwarding/{name}/json) and malformed input."""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from capture import sflow_agent, udp_payloads
from conftest import ECMP_AGENTS, Dataset, RtflowServer, poll, replay_to, start_server

RECEIVE_BUFFER = 16 * 1024 * 1024
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux value; Python 3.11 does not export the name


@pytest.fixture
def server() -> Iterator[RtflowServer]:
    """A fresh live server per test, so that its counters start at zero."""
    yield from start_server([])


class UdpSink:
    """A loopback UDP socket that collects every datagram it receives on a background thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # With CAP_NET_ADMIN, SO_RCVBUFFORCE may exceed net.core.rmem_max; else the kernel caps SO_RCVBUF.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(65535))
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def sinks() -> Iterator[list[UdpSink]]:
    opened: list[UdpSink] = []
    yield opened
    for sink in opened:
        sink.close()


def test_forwarding_is_byte_identical(server: RtflowServer, sinks: list[UdpSink], dataset: Dataset) -> None:
    everything, spine1_only = UdpSink(), UdpSink()
    sinks.extend([everything, spine1_only])
    for name, body in (("all", {"address": "127.0.0.1", "port": everything.port}),
                       ("spine1", {"address": "127.0.0.1", "port": spine1_only.port, "agents": ["192.168.0.13"]})):
        r = server.put(f"/forwarding/{name}/json", json=body)
        assert r.status_code == 204, f"PUT /forwarding/{name}/json {body} -> {r.status_code}: {r.text}"
        got = server.get_json(f"/forwarding/{name}/json")
        assert got["address"] == "127.0.0.1" and got["port"] == body["port"], got
    assert set(server.get_json("/forwarding/json")) == {"all", "spine1"}

    replay_to(server.sflow_port, dataset.pcap, "--max")
    originals = set(dataset.payloads)

    # The replay has only handed its datagrams to the kernel: the server may still be reading them, so a match
    # counts only once the server's own count has stopped moving (the same in two polls in a row).
    previous: list[tuple[int, int]] = []

    def settled() -> tuple[int, int] | None:
        agents = server.get_json("/agents/json")
        received = sum(a["sFlowDatagramsReceived"] for a in agents.values())
        spine1 = agents.get("192.168.0.13", {}).get("sFlowDatagramsReceived", 0)
        stable = previous == [(received, spine1)]
        previous[:] = [(received, spine1)]
        if stable and received and len(everything.datagrams) == received and len(spine1_only.datagrams) == spine1:
            return received, spine1
        return None

    received, _ = poll(settled, 10, f"forwarded counts to match /agents/json (so far all={len(everything.datagrams)}, "
                      f"spine1={len(spine1_only.datagrams)})")
    total = len(dataset.payloads)
    assert received > total // 2, f"only {received} of {total} datagrams reached the server"
    altered = [d for d in everything.datagrams if d not in originals]
    assert not altered, f"{len(altered)} forwarded datagrams differ from every capture payload"
    assert {sflow_agent(d) for d in everything.datagrams} == ECMP_AGENTS
    assert {sflow_agent(d) for d in spine1_only.datagrams} == {"192.168.0.13"}, "agents filter not applied"

    assert server.delete("/forwarding/all/json").status_code == 204
    assert server.get("/forwarding/all/json").status_code == 404


def malformed_datagrams(dataset: Dataset) -> list[bytes]:
    """Datagrams a collector must reject without crashing; all of them fail to decode as sFlow v5."""
    real = next(d for d in dataset.payloads if sflow_agent(d) == "192.168.0.11" and len(d) > 200)
    rng = random.Random(20240601)
    bad_sample_length = bytearray(real)
    struct.pack_into("!I", bad_sample_length, 32, 0x7FFFFFF0)  # first sample's length field: far past the end
    return [
        b"",
        b"\x00\x00\x00\x05",  # version only
        struct.pack("!II", 4, 1) + bytes(40),  # sFlow v4
        struct.pack("!II", 5, 7) + bytes(40),  # unknown agent address type
        bytes(rng.getrandbits(8) for _ in range(300)),
        real[:50],  # header intact, first sample cut short
        real[: len(real) - 3],
        bytes(bad_sample_length),
        *udp_payloads(dataset.malformed),
    ]


def test_malformed_datagrams_are_counted_and_survived(server: RtflowServer, dataset: Dataset) -> None:
    bad = malformed_datagrams(dataset)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in bad:
            sender.sendto(datagram, ("127.0.0.1", server.sflow_port))

        def discarded() -> int | None:
            count = server.get_json("/analyzer/json").get("sFlowDatagramsDiscarded", 0)
            return count if count >= len(bad) else None

        poll(discarded, 10, f"/analyzer/json sFlowDatagramsDiscarded to reach {len(bad)}")
        server.assert_alive()
        analyzer = server.get_json("/analyzer/json")
        assert analyzer["sFlowDatagramsDiscarded"] == len(bad), analyzer
        # Datagrams that fail to decode create no state (issue 10: a flood of them cannot fill the agent table),
        # not even for the truncated copies of a real datagram whose header names its agent.
        assert "192.168.0.11" not in server.get_json("/agents/json")

        # Once the agent is known from a datagram that decodes, its truncated copies are blamed on it.
        real = next(d for d in dataset.payloads if sflow_agent(d) == "192.168.0.11" and len(d) > 200)
        sender.sendto(real, ("127.0.0.1", server.sflow_port))
        poll(lambda: "192.168.0.11" in server.get_json("/agents/json"), 10, "leaf1 known from a valid datagram")
        truncated = [real[:50], real[: len(real) - 3]]
        for datagram in truncated:
            sender.sendto(datagram, ("127.0.0.1", server.sflow_port))

        def blamed() -> dict | None:
            leaf1 = server.get_json("/agents/json").get("192.168.0.11") or {}
            return leaf1 if leaf1.get("sFlowDecodeErrors", 0) >= len(truncated) else None

        poll(blamed, 10, "leaf1's decode errors")
        analyzer = server.get_json("/analyzer/json")
        assert analyzer["sFlowDatagramsDiscarded"] == len(bad) + len(truncated), analyzer

        # Good input is still accepted afterwards.
        good = next(d for d in dataset.payloads if sflow_agent(d) == "192.168.0.14")
        sender.sendto(good, ("127.0.0.1", server.sflow_port))
        poll(lambda: "192.168.0.14" in server.get_json("/agents/json"), 10, "a valid datagram after the bad ones")
    assert server.get("/version").status_code == 200
