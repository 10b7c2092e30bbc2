"""Browser tests: rtflow's web UI and the /inc/ widgets in a real headless Chromium (Debian's `chromium`), driven by
Playwright for Python through that executable (Playwright's own browser download cannot work here).

Every page a test opens is watched: a failed request, an HTTP error status, an uncaught exception or a console error
fails the test. Each test writes screenshots to $RTFLOW_ARTIFACTS (default target/browser-artifacts).

Without chromium or the playwright module the tests skip with one line; with RTFLOW_REQUIRE_BROWSER=1 (set by .ci/run,
which installs both) they fail instead. Server helpers and the ../shared rules come from tests/acceptance/conftest.py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RTFLOW_ARTIFACTS", REPO / "target" / "browser-artifacts"))
INC_DIR = Path(os.environ.get("RTFLOW_INC_DIR", REPO / "target" / "inc"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _load_acceptance_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("acceptance_conftest", REPO / "tests" / "acceptance" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["acceptance_conftest"] = module
    spec.loader.exec_module(module)
    return module


helpers = _load_acceptance_helpers()
# The acceptance tests' other helper modules (clickhouse.py, …), after this directory so `conftest` stays this one.
sys.path.append(str(REPO / "tests" / "acceptance"))
RtflowServer = helpers.RtflowServer
start_server = helpers.start_server
require_shared = helpers.require_shared
poll = helpers.poll
ECMP_AGENTS = helpers.ECMP_AGENTS
HOST_NAMES = {"leaf1", "leaf2", "spine1", "spine2"}


def fabric_capture() -> tuple[Path, float]:
    """ecmp.pcap (600 s) from ../shared, else the project's own generated capture of the same four-switch fabric
    (tests/data/fabric.pcap, 120 s), so the UI tests also run on a plain clone. With RTFLOW_REQUIRE_SHARED (CI) it must
    be ecmp.pcap."""
    ecmp = helpers.ECMP_PCAP
    if ecmp.is_file():
        return ecmp, 600.0
    if helpers.shared_required():
        pytest.fail(f"RTFLOW_REQUIRE_SHARED is set but {ecmp} is missing", pytrace=False)
    return helpers.DATA / "fabric.pcap", 120.0


def replay_args(ecmp_speed: float) -> list[str]:
    """--replay arguments playing the fabric capture as fast as ecmp.pcap at `ecmp_speed`."""
    pcap, seconds = fabric_capture()
    return ["--replay", str(pcap), "--replay-speed", f"{ecmp_speed * seconds / 600:g}"]


def browser_required() -> bool:
    return os.environ.get("RTFLOW_REQUIRE_BROWSER", "") not in ("", "0")


def skip_or_fail(reason: str) -> None:
    if browser_required():
        pytest.fail(f"RTFLOW_REQUIRE_BROWSER is set, so this test may not skip: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    path = os.environ.get("RTFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        skip_or_fail("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    return str(path)


def inc_dir() -> Path:
    """The third-party /inc/ libraries laid out by scripts/fetch-inc (scripts/test runs it when npm is there)."""
    if not (INC_DIR / "jquery.min.js").is_file():
        skip_or_fail(f"needs the /inc/ web libraries in {INC_DIR} (run scripts/fetch-inc, which needs npm)")
    return INC_DIR


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("needs Playwright for Python (pip install playwright; .ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """A page and the problems seen on it."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, "problems on the page:\n" + "\n".join(self.problems)

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """open_page(url, width=1280, height=900, scale=1) -> Watched: a fresh browser context per page (`scale` is the
    device pixel ratio), every problem recorded."""
    contexts: list[Any] = []

    def opener(url: str, width: int = 1280, height: int = 900, before: Any = None, scale: float = 1) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)

        def on_console(message: Any) -> None:
            if message.type == "error":
                location = message.location.get("url", "") if isinstance(message.location, dict) else ""
                watched.problems.append(f"console error: {message.text} ({location})")

        def on_response(response: Any) -> None:
            if response.status >= 400:
                watched.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

        def on_failed(request: Any) -> None:
            failure = request.failure or ""
            # Requests cut short when the page goes away or a stream is closed are not failures of the page.
            if "ERR_ABORTED" in failure:
                return
            watched.problems.append(f"request failed: {request.method} {request.url}: {failure}")

        def on_exception(error: Any) -> None:
            watched.problems.append(f"uncaught exception: {error}\n{error.stack}")

        page.on("console", on_console)
        page.on("pageerror", on_exception)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        if before:
            before(page)
        page.goto(url)
        return watched

    yield opener
    for context in contexts:
        context.close()
