"""Flow history on a current ClickHouse (26.9 through chDB, see chdb_http.py), end to end from `rtflow serve`: the
schema and migrations rtflow creates there (with a table TTL, which Debian's 18.16 lacks), its RowBinary rows, the
three rollups kept by their views, the history queries on raw and rolled-up tables, and the README's SQL. The
Rust tests run the same against Debian's 18.16 server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chdb_http import CurrentClickHouse
from conftest import DATA, REPO, RtflowServer, poll, start_server

DATABASE = "current"
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def clickhouse() -> Iterator[CurrentClickHouse]:
    server = CurrentClickHouse()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stored(clickhouse: CurrentClickHouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    """fabric.pcap (120 s) replayed once at 20x into the current ClickHouse, every sample stored."""
    spool = tmp_path_factory.mktemp("spool")
    for server in start_server(["--replay", str(DATA / "fabric.pcap"), "--replay-once", "--replay-speed", "20",
                                "--clickhouse", f"{clickhouse.url}?database={DATABASE}",
                                "--history-spool", str(spool), "-Dclickhouse.batch.ms=200",
                                "-Dclickhouse.retention.days=30", "-Dclickhouse.retention.5m.days=90"]):
        def complete() -> dict | None:
            analyzer = server.get_json("/analyzer/json")
            done = (analyzer["replayFinished"] and analyzer["historySpoolBatches"] == 0
                    and analyzer["historyQueueBytes"] == 0
                    and analyzer["historyRowsWritten"] == analyzer["historyRowsBatched"] > 0)
            return analyzer if done else None

        poll(complete, 120, "the replay stored in the current ClickHouse")
        yield server


def sums(clickhouse: CurrentClickHouse, table: str, count: str) -> str:
    return clickhouse.query(f"SELECT {count}, sum(Bytes), sum(Packets) FROM {DATABASE}.{table}")


def test_rows_and_rollups_are_stored(stored: RtflowServer, clickhouse: CurrentClickHouse) -> None:
    analyzer = stored.get_json("/analyzer/json")
    assert analyzer["historySchemaVersion"] == 5
    assert analyzer["historyLastError"] == ""
    assert analyzer["historyInsertRetries"] == 0, "no statement failed on ClickHouse 26.9"
    assert analyzer["historyDatagramsLost"] == 0
    assert clickhouse.query("SELECT version()").startswith("26.")
    raw = sums(clickhouse, "flows", "count()")
    assert raw.split("\t")[0] == str(analyzer["historyRowsWritten"])
    for rollup in ("flows_1m", "flows_5m", "flows_1h"):
        assert sums(clickhouse, rollup, "sum(Flows)") == raw, rollup
    # The elephants' addresses, IPv4-mapped in FixedString(16), as on 18.16.
    top = clickhouse.query(f"SELECT IPv6NumToString(SrcAddr) AS a FROM {DATABASE}.flows GROUP BY a "
                           "ORDER BY sum(Bytes) DESC LIMIT 1")
    assert top in ("::ffff:10.4.1.2", "::ffff:10.4.3.2")


def test_retention_is_a_table_ttl_on_current_servers(stored: RtflowServer, clickhouse: CurrentClickHouse) -> None:
    def create(table: str) -> str:
        return clickhouse.query(f"SELECT engine_full FROM system.tables WHERE database = '{DATABASE}' "
                                f"AND name = '{table}'")

    assert "TTL TimeReceived + toIntervalDay(30)" in create("flows")
    assert "TTL TimeReceived + toIntervalDay(90)" in create("flows_5m")
    assert "TTL" not in create("flows_1h"), "no retention asked for the hourly rollup"


def test_history_queries_answer_from_raw_rows_and_rollups(stored: RtflowServer) -> None:
    now = int(time.time() * 1000)
    # Replayed at 20x, the engine's clock (the rows' time) runs ahead of the wall clock: a range of whole hours
    # around now holds every row.
    start, end = (now // HOUR_MS - 1) * HOUR_MS, (now // HOUR_MS + 2) * HOUR_MS
    top = stored.get(f"/history/activeflows/ALL/json?keys=ipsource,ipdestination&value=bytes"
                     f"&from={start}&to={end}&maxFlows=2")
    assert top.status_code == 200, top.text
    assert top.headers["x-rtflow-history-table"] == "flows"
    assert {flow["key"] for flow in top.json()} == {"10.4.1.2,10.4.2.2", "10.4.3.2,10.4.4.2"}
    answers = {}
    for table in ("", "flows", "flows_1m", "flows_5m", "flows_1h"):
        response = stored.get(f"/history/activeflows/ALL/json?keys=agent,inputifindex&value=bytes"
                              f"&from={start}&to={end}&maxFlows=50" + (f"&table={table}" if table else ""))
        assert response.status_code == 200, response.text
        answers[response.headers["x-rtflow-history-table"]] = sorted(
            (flow["key"], round(flow["value"], 6)) for flow in response.json())
    assert set(answers) == {"flows", "flows_1m", "flows_5m", "flows_1h"}
    assert answers["flows"], "flows by agent and input interface"
    for table, answer in answers.items():
        assert answer == answers["flows"], f"{table} disagrees with the raw rows"
    trend = stored.get(f"/history/trend/ALL/json?keys=agent&value=bytes&from={start}&to={end}&step=300")
    assert trend.status_code == 200, trend.text
    assert trend.headers["x-rtflow-history-table"] == "flows_5m"
    assert len(trend.json()["times"]) == 36


def test_the_readme_sql_runs_on_a_current_clickhouse(stored: RtflowServer, clickhouse: CurrentClickHouse) -> None:
    text = Path(REPO / "README.md").read_text()
    ran = 0
    for block in text.split("```sql")[1:]:
        block = block.split("```")[0]
        if "$" in block:
            continue  # Grafana macros
        for statement in (s.strip() for s in block.split(";")):
            if statement:
                clickhouse.query(re.sub(r"\brtflow\.", f"{DATABASE}.", statement))
                ran += 1
    assert ran >= 5, f"README SQL examples found: {ran}"
