/* rtflow: `$(container).chart(settings, db)`, the trend and top-N chart plugin that sFlow-RT app pages use,
 * written for rtflow from the interface those apps call. It is a clean-room implementation: no InMon code was
 * read or copied. It needs jQuery and /inc/jquery.stripchart.js.
 *
 * The chart keeps `db` and redraws from `db.trend = {times: [ms], trends: {name: [...]}}` on every
 * `settings.updateEvent || 'updateChart'` event on document.
 *   type 'trend': one series per name in `metrics` (legend only with `legend`).
 *   type 'topn':  `trends[metric]` holds one {key: value} object per time; the legend lists the keys of the
 *                 selected time (click the chart; the latest by default) by value, every other key is one
 *                 grey series on top (sum when stacked, maximum otherwise). Keys split on `sep` (default ',')
 *                 into legend columns; `keyName(field, index)` names them; `otherStr` ('-other-') is never in
 *                 the legend and `includeOther: false` drops it.
 * Both types: `hrule: [{name, color, scale}]` draws a horizontal line at `db.trend.values[name]` (a number or a
 * numeric string, as apps send thresholds; `value` instead of `name` gives the level itself), and with `scale`
 * the y axis reaches it; `ymargin` (e.g. 0.05) adds headroom above the data.
 */
(function ($) {
  'use strict';
  if (!$ || !$.fn) return;
  if (!$.fn.stripchart || !$.inmon || !$.inmon.stripchart) {
    if (window.console) window.console.error('rtflow /inc/stripchart.js: load /inc/jquery.stripchart.js before it');
    return;
  }
  var core = $.inmon.stripchart.prototype._chartCore;
  var chartId = 0;

  function isPoint(point) {
    return point !== null && typeof point === 'object';
  }

  function number(value) {
    value = +value;
    return isFinite(value) ? value : 0;
  }

  function units(settings) {
    return settings.units === undefined || settings.units === null ? '' : String(settings.units);
  }

  function palette(settings, widget) {
    return settings.colors || widget.options.colors || core.COLORS;
  }

  /* The settings' hrules at their current levels: `db.trend.values[name]`, or a fixed `value`. */
  function hrules(settings, trend) {
    var rules = settings.hrule;
    if (!rules) return [];
    if (!$.isArray(rules)) rules = [rules];
    var values = trend.values || {};
    return rules.map(function (rule, i) {
      rule = rule || {};
      var level = rule.value !== undefined ? rule.value : values[rule.name];
      return {value: level === null || level === undefined || level === '' ? NaN : +level,
        color: rule.color || core.COLORS[i % core.COLORS.length], scale: !!rule.scale};
    }).filter(function (rule) { return isFinite(rule.value); });
  }

  function trendData(settings, trend, colors) {
    var trends = trend.trends || {};
    var metrics = settings.metrics || [];
    return {
      times: trend.times,
      // A metric the server did not send is drawn as zeros.
      values: metrics.map(function (metric) { return trends[metric] || []; }),
      colors: metrics.map(function (metric, i) { return colors[i % colors.length]; }),
      units: units(settings),
      legend: settings.legend ? {labels: settings.legend.map(function (label) { return [label]; }), html: true} : null
    };
  }

  /* The index of the selected time, or -1 for the latest; forgets a time that has scrolled out. */
  function selectedIndex(state, times) {
    if (state.selectedTime === null) return -1;
    var index = times.indexOf(state.selectedTime);
    if (index < 0) state.selectedTime = null;
    return index;
  }

  function topnData(settings, trend, colors, state) {
    var times = trend.times, n = times.length;
    var points = (trend.trends && trend.trends[settings.metric]) || [];
    var sep = settings.sep ? String(settings.sep) : ',';
    var otherStr = settings.otherStr || '-other-';
    var includeOther = settings.includeOther !== false;
    var stack = !!settings.stack;
    var selected = selectedIndex(state, times);
    var at = points[selected >= 0 ? selected : n - 1];
    var legendKeys = isPoint(at) ? Object.keys(at).filter(function (key) { return key !== otherStr; }) : [];
    legendKeys.sort(function (a, b) { return number(at[b]) - number(at[a]); });
    var rank = Object.create(null);
    legendKeys.forEach(function (key, i) { rank[key] = i; });

    var values = legendKeys.map(function () { return new Array(n); });
    var other = new Array(n), anyOther = false;
    for (var i = 0; i < n; i++) {
      for (var k = 0; k < values.length; k++) values[k][i] = 0;
      other[i] = 0;
      var point = points[i];
      if (!isPoint(point)) continue;
      for (var key in point) {
        if (!Object.prototype.hasOwnProperty.call(point, key)) continue;
        var value = number(point[key]);
        if (key in rank) values[rank[key]][i] = value;
        else if (key !== otherStr || includeOther) {
          other[i] = stack ? other[i] + value : Math.max(other[i], value);
          if (value) anyOther = true;
        }
      }
    }
    var seriesColors = legendKeys.map(function (key, i) { return colors[i % colors.length]; });
    if (anyOther) {
      values.push(other);
      seriesColors.push(core.OTHER_COLOR);
    }
    var labels = legendKeys.map(function (key) {
      return key.split(sep).map(function (field, index) {
        return settings.keyName ? settings.keyName(field, index) : field;
      });
    });
    return {
      times: times,
      values: values,
      colors: seriesColors,
      units: units(settings),
      legend: {labels: labels, headings: settings.legendHeadings || [], html: false},
      selectedIdx: selected
    };
  }

  /* A click selects the nearest time; one over the y axis or at the latest time goes back to the latest. */
  function select(state, trend, point) {
    var times = trend && trend.times;
    if (!times || !times.length || !point) return;
    if (!(point.x >= 0) || point.x >= 1) {
      state.selectedTime = null;
      return;
    }
    var first = times[0], last = times[times.length - 1];
    var index = core.nearest(times, first + point.x * (last - first));
    state.selectedTime = index < 0 || index === times.length - 1 ? null : times[index];
  }

  $.fn.chart = function (settings, db) {
    settings = settings || {};
    db = db || {};
    return this.each(function () {
      var $chart = $(this);
      var topn = settings.type === 'topn';
      $chart.stripchart({stack: !!settings.stack, clickable: topn});
      var widget = $chart.stripchart('instance');
      var namespace = '.rtflowchart' + chartId++;
      var state = {selectedTime: null};
      var redraw = function () {
        var trend = db.trend;
        if (!trend || !trend.times || !$chart.stripchart('instance')) return;
        var colors = palette(settings, widget);
        var data = topn ? topnData(settings, trend, colors, state) : trendData(settings, trend, colors);
        data.hrules = hrules(settings, trend);
        data.ymargin = settings.ymargin;
        $chart.stripchart('draw', data);
      };
      $(document).on((settings.updateEvent || 'updateChart') + namespace, redraw);
      if (topn) {
        $chart.on('stripchartclick' + namespace, function (event, point) {
          select(state, db.trend, point);
          redraw();
        });
      }
      // Destroying the widget removes both handlers, so a later .chart() on the container starts clean.
      widget._cleanups.push(function () {
        $(document).off(namespace);
        $chart.off(namespace);
      });
    });
  };
})(window.jQuery);
