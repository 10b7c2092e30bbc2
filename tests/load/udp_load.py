#!/usr/bin/env python3
"""Loopback UDP load test for `rtflow serve` (run manually; not part of scripts/test).

Starts `rtflow serve --sflow-port P` (release build), blasts ecmp.pcap at it with
`rtflow replay --target 127.0.0.1:P --rate RATE --duration SECS`, then compares:
  sent      - datagrams `rtflow replay` reports sending,
  received  - the server's /analyzer/json sFlowDatagramsReceived,
  kernel    - the drops column of /proc/net/udp{,6} for the server's socket, and the Udp RcvbufErrors delta of
              /proc/net/snmp{,6} (system-wide, so other traffic can add to it),
and samples the server's VmRSS every second to show memory stays flat.

Usage (from the repository root, after `cargo build --release -p rtflow-cli`):
    python3 tests/load/udp_load.py [--rate 100000] [--duration 30] [--bin target/release/rtflow]
When run as root it raises net.core.rmem_max to 32 MiB (and restores it afterwards) so the server can get a large
socket receive buffer; otherwise the current limit is reported, since it caps what the server can ask for.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")
WANTED_RMEM_MAX = 33554432


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def socket_drops(port: int) -> tuple[int, int]:
    """(sockets found, summed drops column) for UDP sockets bound to `port` (IPv4 and IPv6 tables)."""
    found = drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found += 1
                drops += int(fields[-1])
    return found, drops


def rcvbuf_errors() -> int:
    total = 0
    snmp = Path("/proc/net/snmp").read_text().splitlines()
    header, values = [line.split() for line in snmp if line.startswith("Udp:")][:2]
    total += int(values[header.index("RcvbufErrors")])
    snmp6 = Path("/proc/net/snmp6")
    if snmp6.exists():
        for line in snmp6.read_text().splitlines():
            name, value = line.split()
            if name == "Udp6RcvbufErrors":
                total += int(value)
    return total


def vm_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else None


# The engine ingest bench's 10 flow definitions (crates/engine/benches/ingest.rs) and 4 thresholds.
FLOWS = {"pair": "ipsource,ipdestination", "src": "ipsource", "dst": "ipdestination", "dport": "tcpdestinationport",
         "proto": "ipprotocol", "macs": "macsource,macdestination",
         "fivetuple": "ipsource,ipdestination,tcpsourceport,tcpdestinationport", "stack": "stack",
         "ports": "inputifindex,outputifindex", "total": ""}
THRESHOLDS = {"in": "ifinoctets", "out": "ifoutoctets", "util": "ifinutilization", "pairs": "pair"}


def http_put(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


REST_POLLED = {"activeflows": "/activeflows/ALL/pair/json?maxFlows=20",
               "prometheus": "/prometheus/metrics/ALL/ALL/txt"}


def poll_once(base: str, latencies: dict[str, list[float]], sizes: dict[str, int], errors: list[str]) -> None:
    """GET /activeflows and a Prometheus ALL/ALL scrape, recording each request's latency (and the largest body)
    per path."""
    for name, path in REST_POLLED.items():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                body = response.read()
            latencies.setdefault(name, []).append(time.monotonic() - started)
            sizes[name] = max(sizes.get(name, 0), len(body))
        except OSError as err:
            errors.append(f"{path}: {err}")


def poll_rest(base: str, stop: threading.Event, latencies: dict[str, list[float]], sizes: dict[str, int],
              errors: list[str]) -> None:
    """poll_once every second until `stop`."""
    while not stop.is_set():
        poll_once(base, latencies, sizes, errors)
        stop.wait(1.0)


def ingest_thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each sFlow receive thread (`sflow-udp*`) and of the tick thread of `pid`."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if name.startswith("sflow-udp") or name == "engine-tick":
                out[name] = out.get(name, 0.0) + cpu_seconds(pid, task / "stat")
        except OSError:
            pass
    return out


def cpu_seconds(pid: int, stat: Path | None = None) -> float:
    """User + system CPU time of `pid` so far, in seconds."""
    fields = (stat or Path(f"/proc/{pid}/stat")).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "rtflow"))
    ecmp = REPO.parent / "shared" / "captures" / "ecmp.pcap"
    # ../shared's ecmp.pcap when it is beside the repository, else the generated fabric of the same shape.
    default_pcap = ecmp if ecmp.is_file() else REPO / "tests" / "data" / "fabric.pcap"
    parser.add_argument("--pcap", default=str(default_pcap))
    parser.add_argument("--rate", type=float, default=100000, help="datagrams per second (default 100000)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of sending (default 30)")
    parser.add_argument("--senders", type=int, default=1,
                        help="concurrent `rtflow replay` processes, each from its own socket, sharing --rate "
                             "(the kernel spreads sources over the server's ingest workers; default 1)")
    parser.add_argument("--spoof-senders", type=int, default=0,
                        help="how many of the senders rewrite their datagrams to come from --spoof-agents spoofed "
                             "agents with random data sources (`rtflow replay --spoof-agents`; default 0)")
    parser.add_argument("--spoof-agents", type=int, default=1_000_000,
                        help="spoofed agent addresses per spoofing sender (default 1000000)")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra argument for `rtflow serve` (repeatable), e.g. --serve-arg=--ingest-workers=1")
    parser.add_argument("--sender-nice", type=int, default=0,
                        help="run the senders at this nice value (e.g. 19), so that on a small machine they take the "
                             "CPU the server leaves rather than competing with it, as senders on other hosts would")
    parser.add_argument("--no-rest-poll", action="store_true",
                        help="with --definitions, install them but do not poll the REST API (ingest cost alone)")
    parser.add_argument("--definitions", action="store_true",
                        help="install the engine bench's 10 flow definitions and 4 thresholds, and poll "
                             "/activeflows and a Prometheus ALL/ALL scrape every second while sending")
    args = parser.parse_args()
    for path in (args.bin, args.pcap):
        if not Path(path).is_file():
            sys.exit(f"missing {path}")

    old_rmem_max = int(RMEM_MAX.read_text())
    raised = False
    if os.geteuid() == 0 and old_rmem_max < WANTED_RMEM_MAX:
        subprocess.run(["sysctl", "-q", "-w", f"net.core.rmem_max={WANTED_RMEM_MAX}"], check=True)
        raised = True
    rmem_max = int(RMEM_MAX.read_text())

    http_port, sflow_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    base = f"http://127.0.0.1:{http_port}"
    server = subprocess.Popen([args.bin, "serve", "--http-bind", "127.0.0.1", "--http-port", str(http_port),
                               "--sflow-port", str(sflow_port), *args.serve_arg],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rss: list[int] = []
    stop_sampling = threading.Event()
    try:
        deadline = time.monotonic() + 20
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"rtflow serve did not start: {server.stderr.read().decode() if server.stderr else ''}")
            try:
                urllib.request.urlopen(base + "/version", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)

        latencies: dict[str, list[float]] = {}
        rest_sizes: dict[str, int] = {}
        poll_errors: list[str] = []
        poller = None
        if args.definitions:
            for name, keys in FLOWS.items():
                http_put(f"{base}/flow/{name}/json", {"keys": keys, "value": "bytes"})
            for name, metric in THRESHOLDS.items():
                http_put(f"{base}/threshold/{name}/json", {"metric": metric, "value": 1e15})
            if not args.no_rest_poll:
                poller = threading.Thread(target=poll_rest, args=(base, stop_sampling, latencies, rest_sizes, poll_errors),
                                          daemon=True)
                poller.start()

        sockets, drops_before = socket_drops(sflow_port)
        rcvbuf_before = rcvbuf_errors()

        drops_by_second: list[int] = []
        # Per second: (agents, data sources, flows, estimated MiB, agents evicted, datagrams on probation).
        state_by_second: list[tuple[int, int, int, int, int, int]] = []

        def sample_rss() -> None:
            while not stop_sampling.is_set():
                value = vm_rss_kib(server.pid)
                if value is not None:
                    rss.append(value)
                drops_by_second.append(socket_drops(sflow_port)[1])
                try:
                    a = http_json(base + "/analyzer/json")
                    state_by_second.append((a.get("sFlowAgents", 0), a.get("sFlowDataSources", 0),
                                            a.get("activeFlowEntries", 0), a.get("engineMemoryEstimated", 0) >> 20,
                                            a.get("sFlowAgentsEvicted", 0), a.get("sFlowDatagramsOnProbation", 0)))
                except OSError:
                    pass
                stop_sampling.wait(1.0)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()

        cpu_before = cpu_seconds(server.pid)
        def replay_command(index):
            command = ["nice", "-n", str(args.sender_nice)] if args.sender_nice else []
            command += [args.bin, "replay", args.pcap, "--target", f"127.0.0.1:{sflow_port}",
                       "--rate", f"{args.rate / args.senders:g}", "--duration", f"{args.duration:g}"]
            if index < args.spoof_senders:
                command += ["--spoof-agents", str(args.spoof_agents)]
            return command

        senders = [subprocess.Popen(replay_command(index), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
                   for index in range(args.senders)]
        sent = 0
        real_sent = 0  # by the senders that do not spoof, from the capture's own agents
        replay_log = []
        for index, sender in enumerate(senders):
            _, stderr = sender.communicate(timeout=args.duration + 60)
            if sender.returncode != 0:
                sys.exit(f"rtflow replay failed: {stderr}")
            match = re.search(r"sent (\d+) datagrams", stderr)
            if not match:
                sys.exit(f"cannot find the sent count in: {stderr}")
            sent += int(match.group(1))
            if index >= args.spoof_senders:
                real_sent += int(match.group(1))
            replay_log.append(stderr.strip())

        # Let the server drain its socket: wait until its count stops moving.
        received, previous = -1, -2
        settle_deadline = time.monotonic() + 30
        while received != previous and time.monotonic() < settle_deadline:
            previous = received
            time.sleep(1.0)
            received = http_json(base + "/analyzer/json")["sFlowDatagramsReceived"]
        stop_sampling.set()
        sampler.join(timeout=2)
        if poller:
            poller.join(timeout=15)
        # The same queries on the same state with ingest idle: what the REST poll's latency owes to the load.
        idle_latencies: dict[str, list[float]] = {}
        if poller:
            for _ in range(5):
                poll_once(base, idle_latencies, {}, poll_errors)
        analyzer = http_json(base + "/analyzer/json")
        # Spoofed agents are all in 10.0.0.0/8 (`rtflow replay --spoof-agents`); the rest are the capture's own.
        real_received = sum(agent.get("sFlowDatagramsReceived", 0)
                            for address, agent in http_json(base + "/agents/json").items()
                            if not address.startswith("10."))
        cpu_used = cpu_seconds(server.pid) - cpu_before
        thread_cpu = ingest_thread_cpu(server.pid)
        _, drops_after = socket_drops(sflow_port)
        rcvbuf_after = rcvbuf_errors()
        alive = server.poll() is None
    finally:
        stop_sampling.set()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
        if raised:
            subprocess.run(["sysctl", "-q", "-w", f"net.core.rmem_max={old_rmem_max}"], check=False)

    lost = sent - received
    socket_drops_delta = drops_after - drops_before
    print("\n".join(replay_log))
    print(f"net.core.rmem_max        {rmem_max}" + (f" (raised from {old_rmem_max} for the run, then restored)"
                                                    if raised else " (not raised: run as root to raise it)"))
    print(f"server UDP sockets       {sockets} on port {sflow_port}")
    print(f"sent                     {sent} ({sent / args.duration:.0f}/s requested {args.rate:g}/s)")
    print(f"received (analyzer)      {received}")
    print(f"lost                     {lost} ({100 * lost / sent if sent else 0:.3f} %)")
    if args.spoof_senders and real_sent:
        real_lost = real_sent - real_received
        print(f"real agents              {real_received} of {real_sent} received, {real_lost} lost "
              f"({100 * real_lost / real_sent:.3f} %; an evicted agent's datagrams count as lost)")
    print(f"kernel socket drops      {socket_drops_delta} (/proc/net/udp{{,6}} drops column)")
    bursts = [(second, later - earlier) for second, (earlier, later)
              in enumerate(zip(drops_by_second, drops_by_second[1:]), start=1) if later > earlier]
    if bursts:
        print("  by second of the run   " + ", ".join(f"{second} s: {count}" for second, count in bursts))
    if state_by_second:
        print("engine state by second  (agents/sources/flows/est. MiB/evicted/on probation)")
        for second, row in enumerate(state_by_second[:25]):
            print(f"  {second:>2} s                  " + "/".join(str(value) for value in row))
    print(f"kernel RcvbufErrors      {rcvbuf_after - rcvbuf_before} (/proc/net/snmp{{,6}}, system-wide)")
    print(f"discarded (analyzer)     {analyzer.get('sFlowDatagramsDiscarded', 'n/a')}")
    print(f"state held at the end    {analyzer.get('sFlowAgents', 'n/a')} agents, "
          f"{analyzer.get('sFlowDataSources', 'n/a')} data sources, {analyzer.get('activeFlowEntries', 'n/a')} flows "
          f"(estimated {analyzer.get('engineMemoryEstimated', 0) / 2**20:.0f} MiB)")
    if rss:
        third = max(1, len(rss) // 3)
        print(f"server VmRSS             min {min(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB, "
              f"first third max {max(rss[:third]) / 1024:.1f} MiB, last third max {max(rss[-third:]) / 1024:.1f} "
              f"MiB over {len(rss)} samples; first seconds " + ", ".join(f"{kib / 1024:.0f}" for kib in rss[:6]) + " MiB")
    if received:
        print(f"server CPU               {cpu_used:.2f} s, {cpu_used * 1e6 / received:.2f} us per datagram received")
    print("receive, tick threads CPU " + ", ".join(f"{name} {secs:.2f} s" for name, secs in sorted(thread_cpu.items())))
    if args.definitions:
        def summary(values: list[float]) -> str:
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            return (f"median {1000 * ordered[len(ordered) // 2]:.1f} ms, p99 {1000 * p99:.1f} ms, "
                    f"max {1000 * ordered[-1]:.1f} ms")
        every = [value for values in latencies.values() for value in values]
        if every:
            print(f"REST while loaded        {len(every)} requests (/activeflows, Prometheus ALL/ALL), "
                  f"{summary(every)}; {len(poll_errors)} failed")
            for name, values in latencies.items():
                print(f"  {name:<22} {summary(values)}, largest body {rest_sizes.get(name, 0) / 1024:.0f} KiB")
            for name, values in idle_latencies.items():
                print(f"  {name + ' after, idle':<22} {summary(values)} (same state, no ingest, 5 requests)")
        alive = alive and not poll_errors
    print(f"server alive at the end  {alive}")
    unexplained = lost - socket_drops_delta
    if unexplained != 0:
        print(f"note: {unexplained} lost datagrams not explained by the socket's drop counter")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
