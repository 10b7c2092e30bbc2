"""The flow history page (html/history.html) in headless Chromium: the top flows over a past range, answered by a
private Debian ClickHouse that `rtflow serve --clickhouse` filled from a replay of the generated fabric capture, and
the message it shows when history is off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from clickhouse import ClickHouse
from conftest import RtflowServer, helpers, poll, start_server

WAIT_MS = 30_000
ELEPHANTS = {"10.4.1.2,10.4.2.2", "10.4.3.2,10.4.4.2"}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    """fabric.pcap (120 s) replayed once at 20x, every sample stored in ClickHouse."""
    clickhouse = ClickHouse()
    tmp = tmp_path_factory.mktemp("history-page")
    try:
        args = ["--replay", str(helpers.DATA / "fabric.pcap"), "--replay-once", "--replay-speed", "20",
                "--inc-dir", str(tmp), "--clickhouse", clickhouse.url + "?database=rtflow_history_page",
                "--history-spool", str(tmp / "spool"), "-Dclickhouse.batch.ms=200"]
        with contextmanager(start_server)(args) as server:
            def stored_all() -> bool:
                a = server.get_json("/analyzer/json")
                return bool(a["replayFinished"] and a["historySpoolBatches"] == 0 and a["historyQueueBytes"] == 0
                            and a["historyRowsWritten"] == a["historyRowsBatched"] > 0)

            poll(stored_all, 120, "the replay stored in ClickHouse")
            yield server
    finally:
        clickhouse.stop()


def test_history_page_shows_the_top_flows_of_the_range(stored: RtflowServer, open_page: Any) -> None:
    watched = open_page(stored.base + "/html/history.html?keys=ipsource,ipdestination&range=1h&top=5")
    page = watched.page
    page.wait_for_selector("#legend tr[data-key]", timeout=WAIT_MS)
    expected = stored.get_json("/history/activeflows/ALL/json?keys=ipsource,ipdestination&value=bits&from=-1h"
                               "&to=now&maxFlows=5")
    keys = page.eval_on_selector_all("#legend tbody tr[data-key]", "rows => rows.map(r => r.dataset.key)")
    assert keys == [flow["key"] for flow in expected], "the table lists the API's top flows in order"
    assert set(keys[:2]) == ELEPHANTS, keys
    headings = page.eval_on_selector_all("#legend thead th", "cells => cells.map(c => c.textContent)")
    assert headings == ["Flow", "ipsource", "ipdestination", "Average bit/s", "Share"]
    assert page.inner_text("#source").startswith("from flows,"), "addresses are only in the raw table"
    assert page.inner_text("#view-title") == "Bits per Second by ipsource, ipdestination"
    drawn = page.evaluate("""() => {
        const canvas = document.getElementById('chart-canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let colored = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] && pixels[i] !== pixels[i + 2]) colored++;
        return colored;
    }""")
    assert drawn > 100, "the stacked trend is drawn in the flows' colours"
    watched.screenshot("history-ip-pairs")

    # Rollup keys over a day answer from a rollup table; the form keeps the view in the URL.
    page.fill("#keys", "inputifindex")
    page.select_option("#value", "fps")
    page.select_option("#range", "1d")
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('source').textContent.startsWith('from flows_5m,')",
                           timeout=WAIT_MS)
    assert "keys=inputifindex" in page.url and "value=fps" in page.url
    assert page.inner_text("#view-title") == "Frames per Second by inputifindex"
    assert page.locator("#legend tbody tr[data-key]").count() > 0
    watched.assert_clean()


def test_history_page_says_when_history_is_off(tmp_path: Path, open_page: Any) -> None:
    with contextmanager(start_server)(["--inc-dir", str(tmp_path)]) as server:
        watched = open_page(server.base + "/html/history.html?keys=ipsource")
        page = watched.page
        page.wait_for_selector("#message .alert", timeout=WAIT_MS)
        assert "flow history is off" in page.inner_text("#message")
        assert page.is_hidden("#view")
        assert page.get_attribute("nav a[aria-current=page]", "href").endswith("html/history.html")
