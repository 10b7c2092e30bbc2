"""sFlow-RT apps from ../shared/apps, served unchanged by rtflow (`/app/NAME/html/`, their scripts run by the
embedded JavaScript engine), in headless Chromium against a replay of ecmp.pcap.

These need a build whose `rtflow serve` runs apps from a directory (`--app-dir`); until then they skip with one line
(the page-level checks with the apps' html served test-only are in test_inc_widgets.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import RtflowServer, helpers, inc_dir, replay_args, require_shared, start_server

APPS = ("browse-flows", "flow-trend", "fabric-view")
WAIT_MS = 45_000


def serve_runs_apps() -> bool:
    result = subprocess.run([str(helpers.rtflow_bin()), "serve", "--help"], capture_output=True, text=True, timeout=30)
    return "--app-dir" in result.stdout


@pytest.fixture(scope="module")
def apps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    if not serve_runs_apps():
        pytest.skip("this rtflow build does not run sFlow-RT apps yet (`rtflow serve --app-dir` is missing)")
    shared_apps = require_shared("apps")
    app_dir = tmp_path_factory.mktemp("app")
    for app in APPS:
        # Links, not copies: the apps stay in ../shared, unchanged.
        (app_dir / app).symlink_to(shared_apps / app, target_is_directory=True)
    yield from start_server([*replay_args(2), "--inc-dir", str(inc_dir()), "--app-dir", str(app_dir)])


def test_browse_flows_draws_the_top_flows_of_the_replay(apps_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(apps_server.base + "/app/browse-flows/html/index.html?keys=ipsource%2Cipdestination&value=bps")
    page = watched.page
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#topn tbody tr')]
            .map(tr => [...tr.querySelectorAll('td')].slice(1).map(td => td.textContent).join(','));
        return rows.includes('10.4.1.2,10.4.2.2') && document.querySelector('#topn canvas').width > 0;
    }""", timeout=WAIT_MS)
    heads = page.eval_on_selector_all("#topn thead th", "ths => ths.map(th => th.textContent)")
    assert heads == ["", "ipsource", "ipdestination"]
    # Clicking a key cell drills down, as sFlow-RT's page does.
    page.locator("#topn tbody td", has_text="10.4.2.2").first.click()
    page.wait_for_function("() => location.search.includes('filter=')")
    assert "ipdestination" in page.input_value("#filter")
    watched.screenshot("app-browse-flows-live")
    watched.assert_clean()


@pytest.mark.parametrize("app", ["flow-trend", "fabric-view"])
def test_jquery_ui_era_apps_load_without_errors(apps_server: RtflowServer, open_page: Any, app: str) -> None:
    watched = open_page(f"{apps_server.base}/app/{app}/html/index.html")
    page = watched.page
    page.wait_for_selector("#tabs.ui-tabs", timeout=WAIT_MS)
    # Wait until the page has had answers from its app's scripts (any error among them fails the test).
    page.wait_for_function(f"""() => performance.getEntriesByType('resource')
        .some(entry => entry.name.includes('/app/{app}/scripts/') && entry.responseEnd > 0)""", timeout=WAIT_MS)
    watched.screenshot(f"app-{app}-live")
    watched.assert_clean()


def test_apps_page_lists_the_installed_apps(apps_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(apps_server.base + "/html/apps.html")
    page = watched.page
    for app in APPS:
        page.wait_for_selector(f"#apps tr[data-app='{app}']", timeout=WAIT_MS)
    link = page.get_attribute("#apps tr[data-app='browse-flows'] a", "href")
    assert link is not None and link.startswith("../app/browse-flows/")
    watched.assert_clean()
