"""A private ClickHouse server for the Python tests: Debian's `clickhouse-server` on free loopback ports with its own
data directory, stopped (and the directory removed) by `stop()`. The same configuration as the Rust tests' one
(crates/testkit/src/servers.rs).

Without clickhouse-server the caller skips with one line; with RTFLOW_REQUIRE_SERVERS=1 (set by .ci/run, which installs
it) it fails instead."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

CLICKHOUSE_SERVER = Path("/usr/sbin/clickhouse-server")
START_TIMEOUT = 60.0

CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log><errorlog>{dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{interserver}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <keep_alive_timeout>1</keep_alive_timeout>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_clickhouse() -> Path:
    if CLICKHOUSE_SERVER.is_file():
        return CLICKHOUSE_SERVER
    reason = f"needs Debian's clickhouse-server ({CLICKHOUSE_SERVER}; apt-get install clickhouse-server)"
    if os.environ.get("RTFLOW_REQUIRE_SERVERS", "") not in ("", "0"):
        pytest.fail(f"RTFLOW_REQUIRE_SERVERS is set, so this test may not skip: {reason}", pytrace=False)
    pytest.skip(reason)


class ClickHouse:
    """A running private clickhouse-server."""

    def __init__(self) -> None:
        program = require_clickhouse()
        self.dir = Path(tempfile.mkdtemp(prefix="rtflow-clickhouse-"))
        self.http_port = free_tcp_port()
        ports = {"http": self.http_port, "tcp": free_tcp_port(), "interserver": free_tcp_port()}
        (self.dir / "config.xml").write_text(CONFIG.format(dir=self.dir, **ports))
        (self.dir / "users.xml").write_text(USERS)
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [str(program), f"--config-file={self.dir}/config.xml"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def error_log(self) -> str:
        path = self.dir / "server.err.log"
        return path.read_text(errors="replace")[-2000:] if path.is_file() else ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"clickhouse-server exited ({self.proc.returncode}): {self.error_log()}", pytrace=False)
            try:
                if requests.get(self.url + "ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        pytest.fail(f"clickhouse-server did not answer within {START_TIMEOUT:.0f} s: {self.error_log()}",
                    pytrace=False)

    def query(self, sql: str) -> str:
        r = requests.post(self.url, data=sql.encode(), timeout=30)
        assert r.status_code == 200, f"ClickHouse: {sql}: {r.status_code} {r.text}"
        return r.text.strip()

    def kill(self) -> None:
        """Stops the server (an outage for whoever writes to it); the data directory stays until `stop()`."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
