"""Shared fixtures: start a real `rtflow serve` process on free ports, wait for it, and always stop it.

The binary comes from $RTFLOW_BIN (scripts/test sets it to target/release/rtflow). The capture tests run on two
datasets (the `dataset` fixture): `fabric`, the project's own generated tests/data/fabric.pcap (always there), and
`ecmp`, the third-party <repo>/../shared/captures/ecmp.pcap of the same four-switch fabric. Without ../shared (a
plain clone) the `ecmp` variants skip with one line naming the directory; with RTFLOW_REQUIRE_SHARED=1 (set by
.ci/run) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CAPTURES = SHARED / "captures"
ECMP_PCAP = CAPTURES / "ecmp.pcap"
SHARED_PARTS = {"captures": "third-party captures", "apps": "third-party sFlow-RT apps",
                "spec": "reference specifications"}
DATA = REPO / "tests" / "data"
ECMP_AGENTS = {"192.168.0.11", "192.168.0.12", "192.168.0.13", "192.168.0.14"}

# Every HTTP request carries a timeout; long-polls add their own `timeout` on top of this.
HTTP_TIMEOUT = 10.0
STARTUP_TIMEOUT = 20.0

T = TypeVar("T")


def rtflow_bin() -> Path:
    path = Path(os.environ.get("RTFLOW_BIN", REPO / "target" / "release" / "rtflow"))
    if not path.is_file():
        pytest.fail(f"rtflow binary not found at {path} (build it with `cargo build --release -p rtflow-cli` "
                    "or set RTFLOW_BIN)", pytrace=False)
    return path


def shared_required() -> bool:
    """True when RTFLOW_REQUIRE_SHARED is set (to anything but empty or 0), as .ci/run does."""
    return os.environ.get("RTFLOW_REQUIRE_SHARED", "") not in ("", "0")


def require_shared(part: str) -> Path:
    """<repo>/../shared/<part>; skips the calling test (or fixture) with one line when it is missing, or fails
    when RTFLOW_REQUIRE_SHARED is set. The Rust tests use the same rule (crates/testkit)."""
    path = SHARED / part
    if path.is_dir():
        return path
    reason = f"needs ../shared/{part} ({SHARED_PARTS[part]}), not present beside this clone"
    if shared_required():
        pytest.fail(f"RTFLOW_REQUIRE_SHARED is set, so this test may not skip, but {path} ({SHARED_PARTS[part]}) "
                    "is missing", pytrace=False)
    pytest.skip(reason)


def ecmp_pcap() -> Path:
    path = require_shared("captures") / ECMP_PCAP.name
    if not path.is_file():
        pytest.fail(f"missing capture {path} in ../shared/captures", pytrace=False)
    return path


@dataclass(frozen=True)
class Dataset:
    """A capture of the four-switch fabric (agents 192.168.0.11-14, leaf1/leaf2/spine1/spine2) with the two elephant
    transfers 10.4.1.2->10.4.2.2 and 10.4.3.2->10.4.4.2, and datagrams a collector must reject."""

    name: str
    pcap: Path
    seconds: float  # capture duration
    malformed: Path  # a pcap of datagrams that must fail to decode

    def speed(self, ecmp_speed: float) -> str:
        """The replay speed that plays this capture in the wall-clock time ecmp.pcap (600 s) takes at `ecmp_speed`."""
        return f"{ecmp_speed * self.seconds / 600:g}"

    @cached_property
    def payloads(self) -> list[bytes]:
        from capture import udp_payloads
        return list(udp_payloads(self.pcap))


def fabric_dataset() -> Dataset:
    return Dataset("fabric", DATA / "fabric.pcap", 120.0, DATA / "malformed.pcap")


def ecmp_dataset() -> Dataset:
    return Dataset("ecmp", ecmp_pcap(), 600.0, ECMP_PCAP.parent / "malformed" / "sflow_print-segv.pcap")


@pytest.fixture(scope="module", params=["fabric", "ecmp"])
def dataset(request: pytest.FixtureRequest) -> Dataset:
    """Each capture test runs on the generated fabric.pcap and, where ../shared is present, on ecmp.pcap."""
    return fabric_dataset() if request.param == "fabric" else ecmp_dataset()


def free_port(kind: int) -> int:
    """A port the kernel considers free right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def free_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


def poll(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Calls `probe` until it returns something truthy or the deadline passes (then fails naming `what`)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last result: {last!r})", pytrace=False)
        time.sleep(interval)


class RtflowServer:
    """One `rtflow serve` subprocess bound to 127.0.0.1 on free ports."""

    def __init__(self, extra_args: list[str], sflow_port: int | None = None) -> None:
        self.http_port = free_tcp_port()
        self.sflow_port = sflow_port if sflow_port is not None else free_udp_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.args = [str(rtflow_bin()), "serve", "--http-bind", "127.0.0.1", "--http-port", str(self.http_port),
                     "--sflow-port", str(self.sflow_port), *extra_args]
        self._log = tempfile.NamedTemporaryFile(prefix="rtflow-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.session = requests.Session()

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return text[-chars:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"`{' '.join(self.args)}` exited with {self.proc.returncode} before answering /version:\n"
                            f"{self.log_tail()}", pytrace=False)
            try:
                if self.session.get(self.base + "/version", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"`{' '.join(self.args)}` did not answer /version within {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{self.log_tail()}", pytrace=False)

    def stop(self) -> None:
        self.session.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        os.unlink(self._log.name)

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, f"rtflow serve died (exit {self.proc.returncode}):\n{self.log_tail()}"

    # HTTP helpers: every call has a timeout; `extra_timeout` covers server-side long-polls.
    def request(self, method: str, path: str, extra_timeout: float = 0.0, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=HTTP_TIMEOUT + extra_timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, f"GET {path} -> {response.status_code}: {response.text[:500]}"
        return response.json()


def start_server(extra_args: list[str], sflow_port: int | None = None) -> Iterator[RtflowServer]:
    server = RtflowServer(extra_args, sflow_port)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def replay_server(dataset: Dataset) -> Iterator[RtflowServer]:
    """A server replaying the dataset for 60 s (ecmp.pcap at 10x), longer than the module's tests."""
    yield from start_server(["--replay", str(dataset.pcap), "--replay-speed", dataset.speed(10)])


@pytest.fixture(scope="module")
def live_server() -> Iterator[RtflowServer]:
    """A server receiving sFlow over UDP on a free loopback port."""
    yield from start_server([])


def replay_to(port: int, pcap: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs `rtflow replay PCAP --target 127.0.0.1:port ARGS` to completion."""
    cmd = [str(rtflow_bin()), "replay", str(pcap), "--target", f"127.0.0.1:{port}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"`{' '.join(cmd)}` failed ({result.returncode}): {result.stderr}"
    return result


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` is not installed here (CI installs the Debian `prometheus` package)")
    return path
