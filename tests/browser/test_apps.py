"""sFlow-RT apps from ../shared/apps, served unchanged by rtflow (`--app-dir`: `/app/NAME/html/` pages, their scripts
run by the embedded JavaScript engine), in headless Chromium against a replay of ecmp.pcap; and rtflow's own Apps page
listing them with their status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conftest import RtflowServer, inc_dir, poll, replay_args, require_shared, start_server

APPS = ("browse-flows", "flow-trend", "fabric-view", "prometheus")
# An app of the test's own whose script does not compile: the Apps page must show it as unavailable.
BROKEN_APP = "broken"
WAIT_MS = 45_000
FABRIC_VIEW = "/app/fabric-view/scripts/fabric-view.js"


@pytest.fixture(scope="module")
def apps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    shared_apps = require_shared("apps")
    app_dir = tmp_path_factory.mktemp("app")
    for app in APPS:
        # Links, not copies: the apps stay in ../shared, unchanged.
        (app_dir / app).symlink_to(shared_apps / app, target_is_directory=True)
    broken = app_dir / BROKEN_APP / "scripts"
    broken.mkdir(parents=True)
    (broken / "broken.js").write_text("setIntervalHandler(function() {\n")
    args = [*replay_args(2), "--inc-dir", str(inc_dir()), "--app-dir", str(app_dir),
            "-Dscript.store=" + str(tmp_path_factory.mktemp("store"))]
    with contextmanager(start_server)(args) as server:
        # fabric-view's demo topology of the fabric, so that its pages show links and located hosts.
        topology = (shared_apps / "fabric-view" / "demo" / "topology.json").read_bytes()
        r = server.request("POST", f"{FABRIC_VIEW}/topology/json", data=topology,
                           headers={"Content-Type": "application/json"})
        assert r.status_code == 204, f"POST topology: {r.status_code} {r.text}"
        poll(lambda: len(server.get_json(f"{FABRIC_VIEW}/hosts/json")) == 4, 30, "fabric-view to locate the 4 hosts")
        yield server


def test_browse_flows_draws_the_top_flows_of_the_replay(apps_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(apps_server.base + "/app/browse-flows/html/index.html?keys=ipsource%2Cipdestination&value=bps")
    page = watched.page
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#topn tbody tr')]
            .map(tr => [...tr.querySelectorAll('td')].slice(1).map(td => td.textContent).join(','));
        return rows.includes('10.4.1.2,10.4.2.2') && document.querySelector('#topn canvas')?.width > 0;
    }""", timeout=WAIT_MS)
    heads = page.eval_on_selector_all("#topn thead th", "ths => ths.map(th => th.textContent)")
    assert heads == ["", "ipsource", "ipdestination"]
    # Clicking a key cell drills down, as sFlow-RT's page does.
    page.locator("#topn tbody td", has_text="10.4.2.2").first.click()
    page.wait_for_function("() => location.search.includes('filter=')")
    assert "ipdestination" in page.input_value("#filter")
    watched.screenshot("app-browse-flows-live")
    watched.assert_clean()


def test_flow_trend_draws_the_top_flows_in_its_jquery_ui_tab(apps_server: RtflowServer, open_page: Any) -> None:
    """flow-trend's chart lives in a jQuery UI tab and redraws on the tab's updateChart events."""
    watched = open_page(apps_server.base + "/app/flow-trend/html/index.html?keys=ipsource%2Cipdestination&value=bps")
    page = watched.page
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#topn tbody tr')]
            .map(tr => [...tr.querySelectorAll('td')].slice(1).map(td => td.textContent).join(','));
        const canvas = document.querySelector('#topn canvas');
        return rows.includes('10.4.1.2,10.4.2.2') && canvas && canvas.width === canvas.clientWidth && canvas.width > 0;
    }""", timeout=WAIT_MS)
    heads = page.eval_on_selector_all("#topn thead th", "ths => ths.map(th => th.textContent)")
    assert heads == ["", "ipsource", "ipdestination"]
    assert page.is_hidden("#shortcutstable_wrapper")
    watched.screenshot("app-flow-trend-chart")
    watched.assert_clean()


@pytest.mark.parametrize("app", ["flow-trend", "fabric-view"])
def test_jquery_ui_era_apps_load_without_errors(apps_server: RtflowServer, open_page: Any, app: str) -> None:
    watched = open_page(f"{apps_server.base}/app/{app}/html/index.html")
    page = watched.page
    page.wait_for_selector("#tabs.ui-tabs", timeout=WAIT_MS)
    # Wait until the page has had answers from its app's scripts (any error among them fails the test).
    page.wait_for_function(f"""() => performance.getEntriesByType('resource')
        .some(entry => entry.name.includes('/app/{app}/scripts/') && entry.responseEnd > 0)""", timeout=WAIT_MS)
    if app == "fabric-view":
        # Its hosts table lists the servers located on the leaves' edge ports.
        page.wait_for_function("""() => [...document.querySelectorAll('#hoststable tbody tr')]
            .filter(row => !row.querySelector('.dataTables_empty')).length === 4""", timeout=WAIT_MS)
        assert page.input_value("#hostcount") == "4"
    watched.screenshot(f"app-{app}-live")
    watched.assert_clean()


def test_apps_page_lists_the_installed_apps_with_status_and_links(apps_server: RtflowServer,
                                                                  open_page: Any) -> None:
    watched = open_page(apps_server.base + "/html/apps.html")
    page = watched.page
    rows_ready = """(count) => document.querySelectorAll('#apps tbody tr[data-app]').length === count"""
    page.wait_for_function(rows_ready, arg=len(APPS) + 1, timeout=WAIT_MS)
    table = page.eval_on_selector_all("#apps tbody tr[data-app]", """rows => rows.map(row => ({
        app: row.dataset.app, scripts: row.cells[2].textContent, status: row.cells[3].textContent,
        bad: row.cells[3].classList.contains('bad'),
        links: [...row.cells[1].querySelectorAll('a')].map(a => [a.textContent, a.getAttribute('href')])}))""")
    by_app = {row["app"]: row for row in table}
    assert sorted(by_app) == sorted([*APPS, BROKEN_APP])
    for app in ("browse-flows", "flow-trend", "fabric-view"):
        assert by_app[app]["status"] == "OK" and not by_app[app]["bad"], by_app[app]
        assert ["open", f"../app/{app}/html/"] in by_app[app]["links"], by_app[app]
    assert by_app["fabric-view"]["scripts"] == ("fabric-view-elephants.js, fabric-view-stats.js, fabric-view-usr.js, "
                                                "fabric-view.js")
    # An app with no html/ has no page link; one whose script fails says why.
    assert by_app["prometheus"]["status"] == "OK" and "open" not in [a for a, _ in by_app["prometheus"]["links"]]
    broken = by_app[BROKEN_APP]
    assert broken["bad"] and broken["status"].startswith("UNAVAILABLE: ") and "SyntaxError" in broken["status"], broken
    assert apps_server.get(f"/app/{BROKEN_APP}/status").status_code == 503, "the page agrees with /app/NAME/status"
    watched.screenshot("apps")
    # The links lead to the apps' pages.
    page.click("#apps tr[data-app='browse-flows'] a:text('open')")
    page.wait_for_url("**/app/browse-flows/html/", timeout=WAIT_MS)
    page.wait_for_selector("#keys", timeout=WAIT_MS)
    page.wait_for_load_state("load")
    watched.assert_clean()


def test_an_apps_api_explorer_reads_its_api_yml_and_sends_tries_to_its_scripts(apps_server: RtflowServer,
                                                                              open_page: Any) -> None:
    # The Apps page links to it.
    watched = open_page(apps_server.base + "/html/apps.html")
    watched.page.click("#apps tr[data-app='fabric-view'] a:text('API')")
    page = watched.page
    page.wait_for_url("**/app/fabric-view/api/", timeout=WAIT_MS)
    page.wait_for_selector("details.endpoint", timeout=WAIT_MS)
    assert page.inner_text("#api-version") == "Fabric View 1.0.0"
    paths = page.eval_on_selector_all("details.endpoint", "ds => ds.map(d => d.dataset.method + ' ' + d.dataset.path)")
    assert "get /fabric-view.js/hosts/json" in paths and "put /fabric-view.js/thresholds/json" in paths, paths
    # The navigation of rtflow's pages works from below /app/NAME/api/.
    assert page.get_attribute("header.top nav a[aria-current=page]", "href") == "../../../html/apps.html"

    # A Swagger 2.0 body parameter gives the request body box its example.
    put = page.locator("details.endpoint[data-method=put][data-path='/fabric-view.js/thresholds/json']")
    put.locator("summary").click()
    assert json.loads(put.locator("textarea").input_value()) == {"utilization": 80, "elephant": 10}

    # A try goes to the app's script: its located hosts.
    hosts = page.locator("details.endpoint[data-method=get][data-path='/fabric-view.js/hosts/json']")
    hosts.locator("summary").click()
    hosts.locator("button[type=submit]").click()
    hosts.locator("pre.response").filter(has_text="200 OK").wait_for(timeout=WAIT_MS)
    answer = hosts.locator("pre.response").inner_text().split("\n\n", 1)[1]
    assert len(json.loads(answer)) == 4, answer
    assert hosts.locator("code.mono").inner_text().endswith("/app/fabric-view/scripts/fabric-view.js/hosts/json'")
    watched.screenshot("app-fabric-view-api")
    watched.assert_clean()
