#!/usr/bin/env python3
"""Idle-connection load test for the REST API of `rtflow serve` (run manually; not part of scripts/test).

Starts `rtflow serve` (release build) on loopback, opens IDLE TCP connections to its REST port that never send a
byte, then checks that new clients are still served: it times ROUNDS fresh `GET /version` and `GET /analyzer/json`
requests (each on a new connection) and reports their latencies, the server's connection counters and its VmRSS.
With `--max-connections` below IDLE, the idle connections beyond the cap are closed to make room (counted as
httpConnectionsEvicted). Loopback only; bounded: the run ends after the rounds, at most a minute or two.

Usage (from the repository root, after `cargo build --release -p rtflow-cli`):
    python3 tests/load/http_idle.py                       # 5000 idle connections, default cap (10000)
    python3 tests/load/http_idle.py --idle 5000 --max-connections 1000
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, timeout: float = 10.0) -> tuple[float, int, bytes]:
    """One request on a fresh connection: (seconds, status, body)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    elapsed = time.perf_counter() - started
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
    return elapsed, status, response.split(b"\r\n\r\n", 1)[-1]


def vm_rss_mib(pid: int) -> float:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "rtflow"))
    parser.add_argument("--idle", type=int, default=5000, help="idle connections to hold open (default 5000)")
    parser.add_argument("--max-connections", type=int, help="the server's --http-max-connections")
    parser.add_argument("--rounds", type=int, default=200, help="timed new-client requests (default 200)")
    args = parser.parse_args()
    if not Path(args.bin).is_file():
        sys.exit(f"missing {args.bin}")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, args.idle + 1024)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < args.idle + 64:
        sys.exit(f"this process may open only {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} files")

    http_port, sflow_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    command = [args.bin, "serve", "--http-bind", "127.0.0.1", "--http-port", str(http_port),
               "--sflow-bind", "127.0.0.1", "--sflow-port", str(sflow_port)]
    if args.max_connections:
        command += ["--http-max-connections", str(args.max_connections)]
    # The server starts with the open-file limit this script was given, as from a shell (rtflow raises it).
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    idle: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("rtflow serve did not start")
            try:
                get(http_port, "/version", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        rss_before = vm_rss_mib(server.pid)
        opened_at = time.monotonic()
        connect_error = None
        for _ in range(args.idle):
            try:
                idle.append(socket.create_connection(("127.0.0.1", http_port), timeout=5))
            except OSError as err:
                # The server stopped accepting (backlog full): note it and go on with what is open.
                connect_error = err
                break
        open_seconds = time.monotonic() - opened_at
        # Wait until the server has accepted them all (or made room for them), bounded.
        deadline = time.monotonic() + (30 if connect_error is None else 0)
        while time.monotonic() < deadline:
            analyzer = json.loads(get(http_port, "/analyzer/json")[2])
            accepted = analyzer["httpConnectionsTotal"] - 1
            if accepted >= len(idle) + 1:
                break
            time.sleep(0.2)
        rss_idle = vm_rss_mib(server.pid)

        latencies, failures = [], 0
        for round_number in range(args.rounds):
            path = "/version" if round_number % 2 == 0 else "/analyzer/json"
            try:
                elapsed, status, _ = get(http_port, path, timeout=5 if connect_error is None else 1)
                if status == 200:
                    latencies.append(elapsed)
                else:
                    failures += 1
            except OSError:
                failures += 1
        try:
            analyzer = json.loads(get(http_port, "/analyzer/json")[2])
        except (OSError, ValueError):
            analyzer = {}
        alive = server.poll() is None
    finally:
        for sock in idle:
            sock.close()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    print(f"open-file limit at start     {soft} (hard {hard})")
    print(f"idle connections opened      {len(idle)} of {args.idle} in {open_seconds:.1f} s (cap "
          f"{args.max_connections or 'default 10000'})" + (f"; then: {connect_error}" if connect_error else ""))
    print(f"new clients answered         {len(latencies)} of {args.rounds} ({failures} failed)")
    if latencies:
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"new-client latency           median {statistics.median(latencies) * 1e3:.2f} ms, "
              f"p99 {p99 * 1e3:.2f} ms, max {latencies[-1] * 1e3:.2f} ms")
    for name in ("httpConnectionsCurrent", "httpConnectionsTotal", "httpConnectionsEvicted",
                 "httpConnectionsRefused", "httpTimeouts"):
        print(f"{name:<29}{analyzer.get(name)}")
    print(f"server VmRSS                 {rss_before:.1f} MiB before, {rss_idle:.1f} MiB with the idle connections")
    print(f"server alive at the end      {alive}")
    return 0 if alive and failures == 0 and connect_error is None else 1


if __name__ == "__main__":
    sys.exit(main())
