"""rtflow's clean-room /inc/ chart widgets in headless Chromium, with the third-party libraries from scripts/fetch-inc.

* The probe harness of ../shared/spec/inc-widgets (synthetic data through the public interface only) is loaded in
  both page flavours (Bootstrap era: jquery.widget.js; jQuery UI era: jquery-ui.min.js), and the DOM and widget
  options of every chart are compared with what sFlow-RT 3.1 produced for the same page (its observations/ files).
* Lifecycle, click and selection behaviour as the apps use it.
* The sFlow-RT apps' own pages (../shared/apps/*/html) load with the widgets and libraries.

The harness and the apps are installed as sFlow-RT apps (`--app-dir` linking to ../shared, unchanged) and served by
rtflow's own /app/NAME/html/ route, their scripts run by the embedded JavaScript engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import RtflowServer, inc_dir, require_shared, start_server

PALETTE = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e",
           "#316395", "#994499", "#22aa99", "#aaaa11", "#6633cc", "#e67300", "#8b0707", "#651067", "#329262",
           "#5574a6", "#3b3eac", "#b77322", "#16d620", "#b91383", "#f4359e", "#9c5935", "#a9c413", "#2a778d",
           "#668d1c", "#bea413", "#0c5922", "#743411"]
OBSERVED_CASES = [("bs", "trend"), ("bs", "topn"), ("bs", "other"), ("bs", "other2"), ("bs", "colors"),
                  ("bs", "units"), ("bs", "spans"), ("bs", "startend"), ("ui", "trend"), ("ui", "topn")]


def harness_dir() -> Path:
    return require_shared("spec") / "inc-widgets" / "probe-harness"


@pytest.fixture(scope="module")
def inc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtflowServer]:
    app_dir = tmp_path_factory.mktemp("app")
    # Links, not copies: the probe app and the sFlow-RT apps stay in ../shared, unchanged.
    (app_dir / "wprobe").symlink_to(harness_dir() / "app-wprobe", target_is_directory=True)
    shared_apps = require_shared("apps")
    for app, _, _ in APP_PAGES:
        (app_dir / app).symlink_to(shared_apps / app, target_is_directory=True)
    yield from start_server(["--inc-dir", str(inc_dir()), "--app-dir", str(app_dir),
                             "-Dscript.store=" + str(tmp_path_factory.mktemp("store"))])


def open_harness(server: RtflowServer, open_page: Any, flavour: str, case: str) -> Any:
    watched = open_page(f"{server.base}/app/wprobe/html/harness-{flavour}.html#{case}", width=1200, height=900)
    watched.page.wait_for_function("window.probeReady === true")
    return watched


def normalise(node: dict[str, Any]) -> dict[str, Any]:
    """The parts of a probe.describe() tree the apps can depend on: tags, ids, classes, texts, colours, cursors."""
    kept = {key: node[key] for key in ("tag", "id", "class", "text", "bg", "cursor", "deco") if key in node}
    if node.get("children"):
        kept["children"] = [normalise(child) for child in node["children"]]
    return kept


def test_the_widget_interface_is_there_in_both_page_flavours(inc_server: RtflowServer, open_page: Any) -> None:
    for flavour in ("bs", "ui"):
        watched = open_harness(inc_server, open_page, flavour, "empty")
        surface = watched.page.evaluate("""() => ({
            chart: typeof $.fn.chart, arity: $.fn.chart.length, stripchart: typeof $.fn.stripchart,
            widget: !!($.inmon && $.inmon.stripchart), gauge: typeof $.fn.gauge,
            colors: $.inmon.stripchart.prototype.options.colors,
            valueStr: [0, 0.0001, 0.0123, 1234, 999999, 1.25e6, 12345678, 2.5e9, 1e12, 1e15, 1e18, -1500, 1e21]
                .map(v => $.inmon.stripchart.prototype.valueStr.call(null, v)),
            leaked: typeof window.RtChart,
            uiVersion: $.ui && $.ui.version, jquery: $.fn.jquery,
        })""")
        assert surface["chart"] == "function" and surface["arity"] == 2, surface
        assert surface["stripchart"] == "function" and surface["widget"], surface
        assert surface["colors"] == PALETTE
        assert surface["valueStr"] == [0, "0", "0.012", "1.234K", "999.999K", "1.25M", "12.346M", "2.5G", "1T",
                                       "1P", "1E", "1.5K", None]
        assert surface["leaked"] == "undefined", "the chart core must not become a global"
        assert surface["jquery"] == "3.4.1" and surface["uiVersion"] == "1.12.1", surface
        watched.assert_clean()


@pytest.mark.parametrize("flavour,case", OBSERVED_CASES, ids=[f"{f}-{c}" for f, c in OBSERVED_CASES])
def test_charts_match_what_sflow_rt_drew_for_the_same_page(inc_server: RtflowServer, open_page: Any, flavour: str,
                                                           case: str) -> None:
    observed = json.loads((harness_dir() / "observations" / f"case-{flavour}-{case}.json").read_text())
    watched = open_harness(inc_server, open_page, flavour, case)
    ours = watched.page.evaluate("""() => {
        const out = {};
        $('#charts > div.trend').each(function () { out[this.id] = {opts: probe.opts(this), dom: probe.describe(this)}; });
        return out;
    }""")
    assert sorted(ours) == sorted(observed["charts"])
    for chart, seen in observed["charts"].items():
        assert ours[chart]["opts"] == seen["opts"], f"{chart}: widget options differ"
        assert normalise(ours[chart]["dom"]) == normalise(seen["dom"]), f"{chart}: DOM differs"
        canvas = next(child for child in ours[chart]["dom"]["children"] if child["tag"] == "canvas")
        box = ours[chart]["dom"]["box"]
        assert canvas["canvasWH"] == [box[2], box[3]], f"{chart}: the canvas fills its container"
    counts = watched.page.evaluate("($._data(document, 'events').updateChart || []).length")
    assert counts == len(observed["charts"]), "one updateChart handler on document per chart"
    watched.screenshot(f"harness-{flavour}-{case}")
    watched.assert_clean()


def test_chart_lifecycle_as_the_apps_use_it(inc_server: RtflowServer, open_page: Any) -> None:
    watched = open_harness(inc_server, open_page, "bs", "empty")
    result = watched.page.evaluate("""() => {
        const seen = {};
        const box = $('<div id="life" class="trend" style="height:150px"></div>').appendTo('#charts');
        box.on('click.app', () => {});
        const local = {};
        box.chart({type: 'topn', legendHeadings: ['a', 'b'], units: ['Drops per Seconds'], stack: true, metric: 'tn'}, local);
        $.event.trigger({type: 'updateChart'});                       // no data: nothing drawn, no error
        seen.noData = box.find('canvas').attr('width') === undefined;
        const now = Date.now();
        local.trend = {times: [now - 2000, now - 1000, now], trends: {tn: [0, {'x,y': 5}, {'x,y': 7, 'p,q': 9}]}};
        $.event.trigger({type: 'updateChart'});
        seen.rows = box.find('tbody tr').map((i, tr) => $(tr).children('td').slice(1).map((j, td) => $(td).text()).get().join('|')).get();
        seen.heads = box.find('thead th').map((i, th) => $(th).text()).get();
        seen.instance = !!box.stripchart('instance');
        const before = ($._data(document, 'events').updateChart || []).length;
        $(document).off('updateChart');
        box.stripchart('destroy');
        seen.emptyAfterDestroy = box.children().length === 0 && !box.hasClass('stripchart');
        seen.appHandlerKept = (($._data(box[0], 'events') || {}).click || []).length === 1;
        $.event.trigger({type: 'updateChart'});                       // a stray event after destroy is harmless
        box.empty().chart({type: 'trend', metrics: ['missing']}, local); // a metric the server did not send: zeros
        $.event.trigger({type: 'updateChart'});
        seen.again = box.find('canvas').attr('width') !== undefined && before >= 1;
        return seen;
    }""")
    assert result == {"noData": True, "rows": ["p|q", "x|y"], "heads": ["", "a", "b"], "instance": True,
                      "emptyAfterDestroy": True, "appHandlerKept": True, "again": True}, result
    watched.assert_clean()


def test_a_click_selects_a_time_that_stays_selected_while_the_window_slides(inc_server: RtflowServer,
                                                                         open_page: Any) -> None:
    watched = open_harness(inc_server, open_page, "bs", "sel")
    page = watched.page
    legend = "() => $('#q1 tbody td:nth-child(2)').map((i, td) => $(td).text()).get()"
    assert page.evaluate(legend) == ["t299"]
    page.evaluate("""() => { window.clicks = []; $('#q1').on('stripchartclick', (e, pt) => window.clicks.push(pt)); }""")
    canvas = page.locator("#q1 canvas")
    box = canvas.bounding_box()
    assert box is not None
    plot_left, plot_width = 50, box["width"] - 50 - 24
    canvas.click(position={"x": plot_left + plot_width * 0.5, "y": box["height"] / 2})
    clicks = page.evaluate("window.clicks")
    assert len(clicks) == 1 and abs(clicks[0]["x"] - 0.5) < 0.01 and 0 < clicks[0]["y"] < 1, clicks
    selected = page.evaluate(legend)
    assert selected in (["t149"], ["t150"]), selected
    page.evaluate("shiftData(10)")
    assert page.evaluate(legend) == selected, "the selection is kept by time while the window slides"
    canvas.click(position={"x": 20, "y": box["height"] / 2})  # the y-axis area: back to the latest
    assert page.evaluate(legend) == ["t309"]
    watched.assert_clean()


APP_PAGES = [
    ("browse-flows", "index.html?keys=ipsource%2Cipdestination&value=bps", "#topn.stripchart canvas"),
    ("flow-trend", "index.html?keys=ipsource&value=bps", "#topn.stripchart canvas"),
    ("fabric-view", "index.html", "#total.stripchart canvas"),
    ("mininet-dashboard", "index.html#charts", "#topflows.stripchart canvas"),
    ("sflow-test", "index.html", "#bytes.stripchart canvas"),
]


@pytest.mark.parametrize("app,page_path,ready", APP_PAGES, ids=[p[0] for p in APP_PAGES])
def test_the_apps_pages_load_the_inc_assets_and_create_their_charts(inc_server: RtflowServer, open_page: Any,
                                                                   app: str, page_path: str, ready: str) -> None:
    inc_responses: list[tuple[int, str]] = []

    def watch_inc(page: Any) -> None:
        page.on("dialog", lambda dialog: dialog.dismiss())
        page.on("response", lambda r: "/inc/" in r.url and inc_responses.append((r.status, r.url)))

    watched = open_page(f"{inc_server.base}/app/{app}/html/{page_path}", before=watch_inc, width=1280, height=900)
    watched.page.wait_for_selector(ready, state="attached", timeout=15_000)
    watched.page.wait_for_load_state("load")
    assert inc_responses and all(status in (200, 304) for status, _ in inc_responses), inc_responses
    assert watched.page.evaluate("typeof window.RtChart") == "undefined"
    watched.screenshot(f"app-{app}")
    watched.assert_clean()


def test_gauges_fill_warn_and_label_as_described(inc_server: RtflowServer, open_page: Any) -> None:
    watched = open_page(f"{inc_server.base}/app/wprobe/html/gauge.html", width=1200, height=900)
    page = watched.page
    page.wait_for_function("window.probeReady === true")
    gauges = page.evaluate("""() => Object.fromEntries(['g0','g1','g2','g3','g4','g5','g6','g7','g8'].map(id => {
        const e = document.getElementById(id), arc = e.querySelector('path.data-arc');
        return [id, {classes: e.className, d: arc.getAttribute('d'), stroke: getComputedStyle(arc).stroke,
                     value: e.querySelector('text.value').textContent, title: e.querySelector('text.title').textContent,
                     returned: window['ret_' + id]}];
    }))""")

    def end(fraction: float) -> str:
        return f"M {500 - 450 * math.cos(fraction * math.pi):.1f} {500 - 450 * math.sin(fraction * math.pi):.1f} "

    green, red = "rgb(39, 174, 96)", "rgb(231, 76, 60)"
    expected = {
        "g0": (False, end(0), "0"), "g1": (True, end(0.25), "1"), "g2": (True, end(0.75), "3"),
        "g3": (False, end(1), "150 pps"), "g4": (True, end(math.log(4501) / math.log(5001)), "4.5K"),
        "g5": (False, end(0.25), "2.5G bps"), "g6": (False, end(0), "0"), "g7": (False, end(0.0123), "0.0123 pps"),
        "g8": (False, end(0), "0 x"),
    }
    for gauge, (warn, arc_start, value) in expected.items():
        seen = gauges[gauge]
        assert "gauge" in seen["classes"].split(), seen
        assert ("warn" in seen["classes"].split()) == warn, (gauge, seen)
        assert seen["stroke"] == (red if warn else green), (gauge, seen)
        assert seen["d"].startswith(arc_start) and seen["d"].endswith("A 450 450 0 0 0 50 500"), (gauge, seen)
        assert seen["value"] == value, (gauge, seen)
        assert gauge == "g8" or seen["returned"] is True, f"{gauge}: update must return the jQuery object"
    assert gauges["g4"]["title"] == "Log"
    # Going back under the threshold removes warn, also when the app added it.
    page.evaluate("$('#g2').addClass('warn').gauge('update', {value: 0})")
    assert "warn" not in page.get_attribute("#g2", "class").split()
    watched.screenshot("harness-gauges")
    watched.assert_clean()


def test_hrule_and_ymargin_as_ddos_protect_and_ixp_metrics_pass_them(inc_server: RtflowServer,
                                                                      open_page: Any) -> None:
    """ddos-protect draws each attack's threshold with `hrule: [{name, color, scale}]` from `db.trend.values[name]`
    (a numeric string); ixp-metrics gives its stacked percentages `ymargin: 0.05` of headroom."""
    watched = open_harness(inc_server, open_page, "bs", "empty")
    result = watched.page.evaluate("""() => {
        const now = Date.now();
        const times = Array.from({length: 60}, (_, i) => now - (59 - i) * 1000);
        const db = {trend: {times: times, values: {threshold_udp_flood: '1000'},
                            trends: {tn: times.map(() => ({'10.0.0.1,external,53': 100})), pct: times.map(() => 98)}}};
        const colors = $.inmon.stripchart.prototype.options.colors;
        const make = (id, settings) => $('<div class="trend" style="width:600px;height:200px"></div>').attr('id', id)
            .appendTo('#charts').chart(settings, db);
        const topn = (scale) => ({type: 'topn', stack: false, includeOther: false, metric: 'tn',
            legendHeadings: ['Target', 'Group', 'Port'], units: 'Packets per Second',
            hrule: [{name: 'threshold_udp_flood', color: colors[1], scale: scale}]});
        make('scaled', topn(true));
        make('unscaled', topn(false));
        make('margin', {type: 'trend', metrics: ['pct'], stack: true, ymargin: 0.05, units: 'Percent'});
        make('plain', {type: 'trend', metrics: ['pct'], stack: true, units: 'Percent'});
        $.event.trigger({type: 'updateChart'});
        // #dc3912 (colors[1]) pixels on the row of `level`, and anywhere on the canvas.
        const probe = (id, level) => {
            const canvas = $('#' + id + ' canvas')[0], ctx = canvas.getContext('2d');
            const layout = $('#' + id).stripchart('instance').layout, plot = layout.plot;
            const dpr = canvas.width / canvas.clientWidth;
            const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            const red = (x, y) => { const i = (y * canvas.width + x) * 4;
                return pixels[i] === 220 && pixels[i + 1] === 57 && pixels[i + 2] === 18 && pixels[i + 3] === 255; };
            const row = Math.round((Math.round(plot.top + plot.height * (1 - level / layout.top)) - 0.5) * dpr);
            let onRow = 0, anywhere = 0;
            for (let x = 0; x < canvas.width; x++) if (red(x, row)) onRow++;
            for (let y = 0; y < canvas.height; y++) for (let x = 0; x < canvas.width; x++) if (red(x, y)) anywhere++;
            return {top: layout.top, onRow: onRow / (plot.width * dpr), anywhere: anywhere};
        };
        const out = {scaled: probe('scaled', 1000), unscaled: probe('unscaled', 1000),
                     marginTop: $('#margin').stripchart('instance').layout.top,
                     plainTop: $('#plain').stripchart('instance').layout.top};
        db.trend.values = {threshold_udp_flood: '60'};              // a new threshold moves the line
        $.event.trigger({type: 'updateChart'});
        out.moved = probe('unscaled', 60);
        return out;
    }""")
    # scale: the axis reaches the threshold (1000 → 1200), and the line spans the plot at 1000.
    assert result["scaled"]["top"] == 1200, result
    assert result["scaled"]["onRow"] > 0.95, result
    # Without scale the axis stays on the data (100 → 120) and a threshold above it is not drawn.
    assert result["unscaled"]["top"] == 120 and result["unscaled"]["anywhere"] == 0, result
    assert result["moved"]["top"] == 120 and result["moved"]["onRow"] > 0.95, result
    # 98 % stacked: 100 without headroom, 120 with ymargin 0.05 (98 x 1.05 > 100).
    assert (result["plainTop"], result["marginTop"]) == (100, 120), result
    watched.screenshot("harness-hrule-ymargin")
    watched.assert_clean()


def test_a_counter_gauge_shows_the_rate_of_change(inc_server: RtflowServer, open_page: Any) -> None:
    """`counter: true` shows (value - previous value) per second between updates; a counter reset shows 0."""
    watched = open_page(f"{inc_server.base}/app/wprobe/html/gauge.html", width=1200, height=900)
    page = watched.page
    page.wait_for_function("window.probeReady === true")
    seen = page.evaluate("""() => {
        const realNow = Date.now;
        let now = 1e12;
        Date.now = () => now;
        try {
            const g = $('<div id="rate" style="width:300px"></div>').appendTo('body')
                .gauge({label: 'Rate', suffix: 'pps', counter: true, maxValue: 5000, threshold: 2500});
            const state = () => [g.find('text.value').text(), g.hasClass('warn')];
            const seen = [state()];
            g.gauge('update', {value: 1000});                     // the first reading has no rate yet
            seen.push(state());
            now += 1000; g.gauge('update', {value: 3000});        // 2000 in 1 s
            seen.push(state());
            now += 2000; g.gauge('update', {value: 9000});        // 6000 in 2 s: over the threshold
            seen.push(state());
            now += 1000; g.gauge('update', {value: 10});          // the counter restarted
            seen.push(state());
            return seen;
        } finally {
            Date.now = realNow;
        }
    }""")
    assert seen == [["0 pps", False], ["0 pps", False], ["2K pps", False], ["3K pps", True], ["0 pps", False]], seen
    watched.assert_clean()


def test_charts_are_sized_when_drawn_hidden_resized_and_on_high_dpi_screens(inc_server: RtflowServer,
                                                                              open_page: Any) -> None:
    """What tabbed and resizable app pages need (flow-trend's tabs, mininet-dashboard's nav, window resizes): a chart
    in a hidden container draws on the first updateChart once visible, a resized container on the next one, and the
    canvas backing store is its CSS size times the device pixel ratio."""
    watched = open_page(f"{inc_server.base}/app/wprobe/html/harness-bs.html#empty", width=1200, height=900, scale=2)
    watched.page.wait_for_function("window.probeReady === true")
    seen = watched.page.evaluate("""() => {
        const now = Date.now();
        const db = {trend: {times: [now - 2000, now - 1000, now], trends: {a: [1, 2, 3]}}};
        const tab = $('<div style="display:none"></div>').appendTo('#charts');
        const box = $('<div class="trend" style="width:780px;height:150px"></div>').appendTo(tab)
            .chart({type: 'trend', metrics: ['a']}, db);
        const canvas = box.find('canvas')[0];
        const size = () => [canvas.getAttribute('width'), canvas.getAttribute('height'), canvas.clientWidth,
                            canvas.clientHeight, canvas.getAttribute('style')];
        const out = {};
        $.event.trigger({type: 'updateChart'});
        out.hidden = size();
        tab.show();
        $.event.trigger({type: 'updateChart'});
        out.shown = size();
        box.css({width: '900px', height: '220px'});
        $.event.trigger({type: 'updateChart'});
        out.resized = size();
        return out;
    }""")
    assert seen["hidden"] == [None, None, 0, 0, None], seen
    assert seen["shown"] == ["1560", "300", 780, 150, None], seen
    assert seen["resized"] == ["1800", "440", 900, 220, None], seen
    watched.assert_clean()
