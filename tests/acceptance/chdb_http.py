"""A current ClickHouse (26.9) for the tests, without a server package: chDB (`pip install chdb-core`), ClickHouse's
own engine in-process, behind the part of ClickHouse's HTTP interface that rtflow uses.

rtflow talks to ClickHouse in two ways only (crates/history/src/client.rs): a statement as the POST body (answers
as text, `FORMAT JSONCompact` for rows), and `?query=INSERT INTO db.table (columns) FORMAT RowBinary` with the rows
as the body. The first runs as is. chDB cannot take binary data with a statement, so the second writes the body to
a file and runs `INSERT INTO db.table (columns) SELECT * FROM file(path, RowBinary, structure)`, the structure
being the columns' types read from `system.columns`: ClickHouse 26.9 itself parses the same RowBinary bytes. Errors
answer 500 with the exception text, as ClickHouse does.

Without chdb-core the caller skips with one line; with RTFLOW_REQUIRE_SERVERS=1 (set by .ci/run, which installs
it) it fails instead."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

INSERT_ROWBINARY = re.compile(
    r"^\s*INSERT\s+INTO\s+(?P<table>[\w.`]+)\s*\((?P<columns>[^)]*)\)\s*FORMAT\s+RowBinary\s*$", re.I | re.S)


def require_chdb() -> Any:
    try:
        from chdb import session  # noqa: PLC0415 (optional dependency)
    except ImportError:
        reason = "needs chDB for a current ClickHouse (pip install chdb-core)"
        if os.environ.get("RTFLOW_REQUIRE_SERVERS", "") not in ("", "0"):
            pytest.fail(f"RTFLOW_REQUIRE_SERVERS is set, so this test may not skip: {reason}", pytrace=False)
        pytest.skip(reason)
    return session


class CurrentClickHouse:
    """chDB with its data in a scratch directory, answering HTTP on a free loopback port."""

    def __init__(self) -> None:
        session = require_chdb()
        self.dir = Path(tempfile.mkdtemp(prefix="rtflow-chdb-"))
        self.session = session.Session(str(self.dir / "data"))
        self.lock = threading.Lock()
        self.statements: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                params = parse_qs(urlparse(self.path).query)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                try:
                    status, answer = 200, owner.run(params.get("query", [None])[0], body)
                except Exception as error:  # noqa: BLE001 (every engine error is an answer)
                    status, answer = 500, f"Code: 0. DB::Exception: {error}"
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/"

    def query(self, sql: str, fmt: str = "TSV") -> str:
        with self.lock:
            return str(self.session.query(sql, fmt)).strip()

    def run(self, query: str | None, body: bytes) -> str:
        if query is None:
            sql = body.decode()
            self.statements.append(sql)
            if re.search(r"\bFORMAT\s+JSONCompact\s*$", sql, re.I):
                return self.query(re.sub(r"\bFORMAT\s+JSONCompact\s*$", "", sql, flags=re.I), "JSONCompact")
            return self.query(sql, "TSV") + "\n"
        insert = INSERT_ROWBINARY.match(query)
        if insert is None:
            self.statements.append(query)
            return self.query(query) + "\n"
        table = insert["table"].replace("`", "")
        database, _, name = table.rpartition(".")
        columns = [c.strip() for c in insert["columns"].split(",")]
        types = dict(line.split("\t", 1) for line in self.query(
            f"SELECT name, type FROM system.columns WHERE database = '{database or 'default'}' AND table = '{name}'"
        ).splitlines())
        structure = ", ".join(f"{c} {types[c]}" for c in columns)
        with tempfile.NamedTemporaryFile(dir=self.dir, suffix=".rowbinary", delete=False) as rows:
            rows.write(body)
        try:
            self.query(f"INSERT INTO {insert['table']} ({', '.join(columns)}) "
                       f"SELECT * FROM file('{rows.name}', 'RowBinary', '{structure}')")
        finally:
            os.unlink(rows.name)
        return ""

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        with self.lock:
            self.session.close()
        shutil.rmtree(self.dir, ignore_errors=True)
