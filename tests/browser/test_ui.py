"""rtflow's own web UI in headless Chromium, against a replay of the four-switch ECMP fabric (ecmp.pcap from
../shared, else the project's generated fabric.pcap). The server runs with an empty /inc/ library directory: rtflow's
pages must not need the third-party libraries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from clickhouse import ClickHouse
from conftest import ECMP_AGENTS, HOST_NAMES, RtflowServer, poll, replay_args, start_server

WAIT_MS = 30_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    empty_inc = tmp_path_factory.mktemp("empty-inc")
    yield from start_server([*replay_args(2), "--inc-dir", str(empty_inc)])


def ui_flows(server: RtflowServer) -> list[str]:
    return [name for name in server.get_json("/flow/json") if name.startswith("rtflow_ui_")]


def test_root_opens_the_status_page_with_the_four_agents_and_live_rates(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/")
    page = watched.page
    assert urlparse(page.url).path == "/html/index.html"
    # The page's rates are over its last one-second poll: an agent that sends less than once a second (the generated
    # fabric.pcap on a plain clone sends about once every 2.5 s at this pace) shows 0 between its datagrams, so all four
    # are rarely positive at the same moment. Each agent must show a positive live rate at some point.
    # Until the first poll has answered, neither the rows nor the cards exist: the predicate must not throw then.
    page.wait_for_function("""([agents, hosts]) => {
        const rows = [...document.querySelectorAll('#agents tbody tr[data-agent]')];
        const seen = rows.map(r => r.dataset.agent).sort();
        const names = rows.map(r => r.cells[1].textContent).sort();
        const live = window.agentsSeenLive = window.agentsSeenLive || new Set();
        rows.filter(r => parseFloat(r.querySelector('.rate-datagrams')?.textContent) > 0)
            .forEach(r => live.add(r.dataset.agent));
        const total = parseFloat(document.querySelector('#card-datagrams .value')?.textContent);
        return JSON.stringify(seen) === JSON.stringify(agents) && JSON.stringify(names) === JSON.stringify(hosts)
            && agents.every(agent => live.has(agent)) && total > 0;
    }""", arg=[sorted(ECMP_AGENTS), sorted(HOST_NAMES)], timeout=WAIT_MS)
    assert page.inner_text("#card-agents .value") == "4"
    assert page.get_attribute("header.top nav a[aria-current=page]", "href") == "../html/index.html"
    assert page.is_hidden("#history"), "no flow history section without --clickhouse"
    watched.screenshot("status")
    watched.assert_clean()


def test_flow_browser_draws_the_top_flows_from_the_url_and_drills_down(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/flows.html?keys=ipsource,ipdestination&value=bps")
    page = watched.page
    row = page.locator('#legend tr[data-key="10.4.1.2,10.4.2.2"]')
    row.wait_for(timeout=WAIT_MS)
    assert row.locator("td.key").all_inner_texts() == ["10.4.1.2", "10.4.2.2"]
    assert "bit/s" in row.inner_text()
    # The chart shows the flow in its legend colour.
    colour = row.locator(".swatch").evaluate("s => getComputedStyle(s).backgroundColor")
    painted = page.wait_for_function("""(colour) => {
        const [r, g, b] = colour.match(/\\d+/g).map(Number);
        const canvas = document.getElementById('chart-canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (Math.abs(data[i] - r) < 3 && Math.abs(data[i + 1] - g) < 3 && Math.abs(data[i + 2] - b) < 3) n++;
        }
        return n > 100 ? n : false;
    }""", arg=colour, timeout=WAIT_MS)
    assert painted.json_value() > 100
    assert page.inner_text("#view-title") == "Bits per Second by ipsource, ipdestination"
    watched.screenshot("flows")
    assert len(ui_flows(ui_server)) == 1, "the page defines one flow on the server"

    # Drill down on the destination: the filter joins the URL and only that destination stays in the table.
    row.locator("td.key").nth(1).locator("button").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('filter') !== null")
    query = parse_qs(urlparse(page.url).query)
    assert query["filter"] == ["'ipdestination'='10.4.2.2'"], query
    page.wait_for_selector('#legend tr[data-key="10.4.1.2,10.4.2.2"]', timeout=WAIT_MS)
    keys = page.eval_on_selector_all("#legend tr[data-key]", "rows => rows.map(r => r.dataset.key)")
    assert keys and all(key.endswith(",10.4.2.2") for key in keys), keys
    assert len(ui_flows(ui_server)) == 1, "the previous flow definition was removed"
    watched.assert_clean()

    # Leaving the page removes its flow definition from the server.
    page.goto("about:blank")
    poll(lambda: not ui_flows(ui_server), 10, "the flow browser's definition to be removed when the page is left")


def test_flow_browser_works_from_the_keyboard(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/flows.html")
    page = watched.page
    keys = page.locator("#keys")
    keys.focus()
    keys.press_sequentially("ipdes")
    page.wait_for_selector("#keys ~ ul[role=listbox] li:text-is('ipdestination')", timeout=WAIT_MS)
    keys.press("ArrowDown")
    keys.press("Enter")
    assert keys.input_value() == "ipdestination"
    keys.press_sequentially(",ipso")
    page.wait_for_selector("#keys ~ ul[role=listbox] li:text-is('ipsource')", timeout=WAIT_MS)
    keys.press("ArrowDown")
    keys.press("Tab")
    assert keys.input_value() == "ipdestination,ipsource"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "value"
    page.keyboard.type("bps")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.wait_for_selector('#legend tr[data-key="10.4.2.2,10.4.1.2"]', timeout=WAIT_MS)
    assert parse_qs(urlparse(page.url).query) == {"keys": ["ipdestination,ipsource"], "value": ["bps"]}
    # The chart takes the arrow keys: an earlier time, then back to the latest.
    page.wait_for_function("() => /^latest, /.test(document.getElementById('at').textContent)")
    first = page.inner_text("#at")
    page.wait_for_function("(first) => document.getElementById('at').textContent !== first", arg=first,
                           timeout=WAIT_MS)  # a second sample, so there is an earlier time
    canvas = page.locator("#chart-canvas")
    canvas.focus()
    canvas.press("ArrowLeft")
    assert page.inner_text("#at").startswith("at "), page.inner_text("#at")
    canvas.press("End")
    assert page.inner_text("#at").startswith("latest")
    watched.assert_clean()


def test_a_threshold_added_in_the_ui_makes_an_event_appear(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/events.html")
    page = watched.page
    page.wait_for_selector("#stream:text-is('live')", timeout=WAIT_MS)
    page.fill("#name", "ui_busy")
    page.fill("#metric", "ifinoctets")
    page.fill("#value", "1")
    page.click("#add-button")
    page.wait_for_selector('#thresholds tr[data-threshold="ui_busy"]', timeout=WAIT_MS)
    assert ui_server.get_json("/threshold/ui_busy/json")["metric"] == "ifinoctets"
    event = page.locator('#events tr[data-threshold="ui_busy"]').first
    event.wait_for(timeout=60_000)
    cells = event.locator("td").all_inner_texts()
    assert cells[5] == "ifinoctets" and cells[3] in ECMP_AGENTS, cells
    watched.screenshot("events")
    # Remove it from the UI.
    page.click('#thresholds tr[data-threshold="ui_busy"] button')
    page.wait_for_selector('#thresholds tr[data-threshold="ui_busy"]', state="detached", timeout=WAIT_MS)
    assert "ui_busy" not in ui_server.get_json("/threshold/json")
    watched.assert_clean()


def test_agents_page_shows_each_interface_with_name_speed_status_rates_and_sparkline(ui_server: RtflowServer,
                                                                                     open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/agents.html")
    page = watched.page
    # A leaf's interfaces: ifName, speed, oper status up, live in/out rates, and a sparkline once two readings exist.
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll("details.agent[data-agent='192.168.0.11'] tr[data-datasource]")];
        const busy = rows.filter(row => {
            const cells = row.cells;
            return cells[1].textContent.trim() !== "" && cells[2].textContent.endsWith("bit/s")
                && cells[3].textContent === 'up' && parseFloat(cells[5].textContent) > 0;
        });
        if (!busy.length) return false;
        const canvas = busy[0].querySelector('canvas.spark');
        if (!canvas || !canvas.width) return false;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
        return false;
    }""", timeout=2 * WAIT_MS)  # counter rates need two counter samples of each interface, then two polls
    assert page.locator("details.agent").count() == 4
    watched.screenshot("agents-interfaces")
    watched.assert_clean()


def test_metrics_browser_charts_an_aggregate_picked_in_the_form(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/metrics.html")
    page = watched.page
    page.select_option("#agg", "sum")
    page.fill("#metric", "ifinoctets")
    page.press("#metric", "Enter")
    # The view lives in the URL; the summed value over the data sources draws a live line in the first colour.
    query = parse_qs(urlparse(page.url).query)
    assert query.get("agg") == ["sum"] and query.get("metric") == ["ifinoctets"], page.url
    page.wait_for_function("""() => {
        const latest = document.querySelector('#latest').textContent;
        if (!/^now [0-9.]+ ?[kMG]?/.test(latest) || !latest.includes('data sources')) return false;
        const canvas = document.querySelector('#chart-canvas');
        if (!canvas.width) return false;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] === 0x33 && pixels[i + 1] === 0x66 && pixels[i + 2] === 0xcc && pixels[i + 3] > 0) return true;
        }
        return false;
    }""", timeout=2 * WAIT_MS)
    assert "ifinoctets" in page.inner_text("#view-title")
    page.wait_for_selector("#sources tbody td.mono", timeout=WAIT_MS)  # the data sources behind the sum
    watched.screenshot("metrics-sum")
    watched.assert_clean()


PAGES = [
    ("status", "/html/index.html", "#agents tbody tr[data-agent]"),
    ("agents", "/html/agents.html", "details.agent[data-agent='192.168.0.11'] tr[data-datasource]"),
    ("metrics", "/html/metrics.html?metric=ifinoctets&agg=sum", "#sources tbody td.mono"),
    ("flows", "/html/flows.html?keys=ipsource,ipdestination&value=bps", "#legend tr[data-key]"),
    ("events", "/html/events.html", "#stream:text-is('live')"),
    ("apps", "/html/apps.html", "#apps tbody tr[data-app], #apps tbody td.empty:not(:text-is('Loading…'))"),
    ("api", "/api/", "details.endpoint[data-path='/agents/json']"),
    ("inc", "/inc/", "#inc-status"),
]


@pytest.mark.parametrize("name,path,ready", PAGES, ids=[page[0] for page in PAGES])
def test_every_page_loads_cleanly_on_desktop_and_phone(ui_server: RtflowServer, open_page: Any, name: str, path: str,
                                                        ready: str) -> None:
    for size, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        watched = open_page(ui_server.base + path, **viewport)
        page = watched.page
        page.wait_for_selector(ready, timeout=WAIT_MS)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow} px at {viewport['width']} px"
        watched.screenshot(f"page-{name}-{size}")
        watched.assert_clean()


def test_keyboard_users_can_skip_to_the_content_and_reach_the_navigation(ui_server: RtflowServer,
                                                                        open_page: Any) -> None:
    watched = open_page(ui_server.base + "/html/agents.html")
    page = watched.page
    page.wait_for_selector("details.agent", timeout=WAIT_MS)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Status"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    # An agent's details open and close from the keyboard.
    page.focus("details.agent[data-agent='192.168.0.12'] > summary")
    was_open = page.evaluate("document.querySelector(\"details.agent[data-agent='192.168.0.12']\").open")
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector(\"details.agent[data-agent='192.168.0.12']\").open") != was_open
    watched.assert_clean()


def test_api_explorer_sends_a_request(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/api/")
    page = watched.page
    endpoint = page.locator("details.endpoint[data-path='/agents/json'][data-method='get']")
    endpoint.locator("summary").click()
    endpoint.locator("button[type=submit]").click()
    page.wait_for_function("""() => {
        const out = document.querySelector("details.endpoint[data-path='/agents/json'] pre.response");
        return out && out.textContent.startsWith('200') && out.textContent.includes('192.168.0.11');
    }""", timeout=WAIT_MS)
    assert "curl 'http://127.0.0.1:" in endpoint.inner_text()
    watched.assert_clean()


def test_inc_says_which_libraries_are_missing_while_the_ui_works(ui_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(ui_server.base + "/inc/")
    page = watched.page
    assert "some are missing" in page.inner_text("#inc-status")
    assert page.locator("td.bad", has_text="missing").count() >= 10
    missing = ui_server.get("/inc/jquery.min.js")
    assert missing.status_code == 404
    assert "jQuery 3.4.1" in missing.text and "scripts/fetch-inc" in missing.text
    assert "/inc/: third-party web libraries from" in ui_server.log_tail(20_000)
    watched.assert_clean()


def test_screenshot_for_the_readme(ui_server: RtflowServer, open_page: Any) -> None:
    """docs/flow-browser.png in the README comes from this view (copied from the artifacts by hand)."""
    watched = open_page(ui_server.base + "/html/flows.html?keys=ipsource,ipdestination&value=bps", width=1000,
                        height=620)
    page = watched.page
    page.wait_for_selector('#legend tr[data-key="10.4.3.2,10.4.4.2"]', timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#legend tr[data-key]').length >= 2")
    path: Path = watched.screenshot("readme-flow-browser", full_page=False)
    assert path.stat().st_size > 10_000
    watched.assert_clean()


def test_chart_axes_follow_sflow_rt(ui_server: RtflowServer, open_page: Any) -> None:
    """The y-axis tops and time-label intervals sFlow-RT's charts showed for the same data (spec inc-widgets §3.2)."""
    watched = open_page(ui_server.base + "/html/flows.html")
    result = watched.page.evaluate("""() => ({
        tops: [2.2e9, 7e6, 4, 300, 100, 480e6, 0].map(max => RtChart.axis(max).top),
        steps: [5 * 60, 30 * 60, 6 * 3600, 24 * 3600].map(span => RtChart.timeTicks(0, span * 1000, 1100).step / 60000),
        seconds: RtChart.timeTicks(0, 60000, 1100).seconds,
    })""")
    assert result["tops"] == [2.5e9, 8e6, 4.5, 350, 120, 500e6, 1]
    assert result["steps"] == [1, 5, 60, 180]
    assert result["seconds"] is True, "a one-minute window gets labels with seconds"
    watched.assert_clean()


def card_number(page: Any, card: str) -> int:
    return int(page.inner_text(f"#{card} .value").replace(",", ""))


def test_status_page_shows_the_clickhouse_export_figures_live(tmp_path: Path, open_page: Any) -> None:
    clickhouse = ClickHouse()
    try:
        args = [*replay_args(2), "--inc-dir", str(tmp_path), "--clickhouse", clickhouse.url + "?database=rtflow_ui",
                "--history-spool", str(tmp_path / "spool"), "-Dclickhouse.batch.ms=300",
                "-Dclickhouse.retry.max.ms=500"]
        with contextmanager(start_server)(args) as server:
            watched = open_page(server.base + "/html/index.html")
            page = watched.page
            # Rows reach ClickHouse: the page counts them, in batches, with no retry, drop or error.
            page.wait_for_function("""() => !document.getElementById('history').hidden
                && parseInt(document.querySelector('#card-history-rows .value')?.textContent.replace(/,/g, '')) > 0
                && parseInt(document.querySelector('#card-history-batches .value')?.textContent.replace(/,/g, '')) > 1""",
                                   timeout=WAIT_MS)
            shown = card_number(page, "card-history-rows")
            stored = int(clickhouse.query("SELECT count() FROM rtflow_ui.flows"))
            assert 0 < shown <= stored, f"the page shows {shown} rows written, ClickHouse holds {stored}"
            assert card_number(page, "card-history-retries") == 0
            assert card_number(page, "card-history-dropped") == 0
            assert "last insert at " in page.inner_text("#card-history-rows .sub")
            assert page.is_hidden("#history-error")
            watched.screenshot("status-history")

            # ClickHouse goes away: retries climb, batches wait in the spool and the error is shown.
            clickhouse.kill()
            page.wait_for_function("""() => {
                const number = id => parseInt(document.querySelector(id + ' .value')?.textContent.replace(/,/g, ''));
                const error = document.getElementById('history-error');
                return number('#card-history-retries') > 0 && !error.hidden
                    && error.textContent.startsWith('Last ClickHouse error: ')
                    && !/^0 B/.test(document.querySelector('#card-history-spool .value')?.textContent ?? '0 B');
            }""", timeout=WAIT_MS)
            assert server.get_json("/analyzer/json")["historySpoolBytes"] > 0
            error = page.inner_text("#history-error")
            assert "Connection refused" in error and "INSERT" not in error, f"names the cause, not the query: {error}"
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
                "the error message widens the page"
            watched.screenshot("status-history-outage")
            watched.assert_clean()
    finally:
        clickhouse.stop()
