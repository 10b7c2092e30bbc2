/* rtflow chart core: a small dependency-free canvas strip chart, written for rtflow.
 *
 * rtflow's own pages use it as the global RtChart. /inc/jquery.stripchart.js is this file and the stripchart
 * widget served together inside one function scope, so the sFlow-RT app pages get no extra global.
 *
 * RtChart.draw(canvas, spec) paints a time series chart on a canvas sized by CSS:
 *   spec = {times: [epoch ms, ascending], series: [{values: [number], color: '#rrggbb'}], stack: bool,
 *           step: bool, units: 'title', insets: {left, right, top, bottom}, marker: bool, selected: index,
 *           hrules: [{value: number, color: '#rrggbb', scale: bool}], ymargin: fraction}
 * Values that are undefined, null or not numbers count as 0. The y axis runs from 0 to a rounded maximum
 * (1/2/5 x 10^n steps) of the data, raised by `ymargin` (0.05 = 5% headroom) and by each hrule with `scale`;
 * x runs from times[0] to the last time. Each hrule is a horizontal line across the plot at its value (one
 * above the axis is not drawn). With `marker`, the selected time (or the latest) gets a vertical line and an
 * HH:MM:SS box under the axis. draw() returns the layout ({top, step, count, plot: {left, top, width, height}})
 * or null when nothing was drawn.
 */
var RtChart = (function () {
  'use strict';

  var COLORS = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00',
    '#b82e2e', '#316395', '#994499', '#22aa99', '#aaaa11', '#6633cc', '#e67300', '#8b0707', '#651067',
    '#329262', '#5574a6', '#3b3eac', '#b77322', '#16d620', '#b91383', '#f4359e', '#9c5935', '#a9c413',
    '#2a778d', '#668d1c', '#bea413', '#0c5922', '#743411'];
  var OTHER_COLOR = '#a9a9a9';
  var INSETS = {left: 50, right: 24, top: 5, bottom: 20};
  var SUFFIXES = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  var LABEL_FONT = '10px sans-serif';
  var TITLE_FONT = '11px sans-serif';
  var SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE;
  var TIME_STEPS = [SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE,
    2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR,
    12 * HOUR, 24 * HOUR];

  /* A short decimal form: scaled by 1000 until below 1000, rounded to 3 decimals, then K M G T P E.
   * 0 gives the number 0; the sign is dropped; 1e21 and above give null. */
  function valueStr(value) {
    if (value === 0) return 0;
    var x = Math.abs(+value);
    if (!isFinite(x)) return String(value);
    var i = 0;
    while (x >= 1000 && i < SUFFIXES.length) {
      x /= 1000;
      i++;
    }
    if (i >= SUFFIXES.length) return null;
    return String(Math.round(x * 1000) / 1000) + SUFFIXES[i];
  }

  /* The y axis for data up to `max`: a 1/2/5 x 10^n step and a top tick strictly above max. */
  function axis(max) {
    if (!(max > 0) || !isFinite(max)) return {top: 1, step: 0.2, count: 5};
    var exponent = Math.floor(Math.log(max) / Math.LN10 + 1e-9);
    var base = Math.pow(10, exponent);
    var mantissa = max / base;
    var step = base * (mantissa < 1.25 ? 0.2 : mantissa < 4.2 ? 0.5 : mantissa < 6 ? 1 : 2);
    var count = Math.floor(max / step + 1e-9) + 1;
    return {top: count * step, step: step, count: count};
  }

  /* Round a tick value so that 0.1 * 3 prints as 0.3. */
  function tidy(value) {
    return value === 0 ? 0 : parseFloat(value.toPrecision(12));
  }

  function pad2(n) {
    return n < 10 ? '0' + n : String(n);
  }

  /* HH:MM (or HH:MM:SS) in the browser's local time. */
  function clock(time, seconds) {
    var date = new Date(time);
    var text = pad2(date.getHours()) + ':' + pad2(date.getMinutes());
    return seconds ? text + ':' + pad2(date.getSeconds()) : text;
  }

  /* Time labels for t0..t1 across `width` px: a round local-time interval, at most 8 labels and one per
   * 60 px. Labels show seconds when the interval is under a minute. */
  function timeTicks(t0, t1, width) {
    var span = t1 - t0;
    var most = Math.max(1, Math.min(8, Math.floor(width / 60)));
    var step = TIME_STEPS[TIME_STEPS.length - 1];
    for (var i = 0; i < TIME_STEPS.length; i++) {
      if (span / TIME_STEPS[i] <= most) {
        step = TIME_STEPS[i];
        break;
      }
    }
    var ticks = [];
    if (span > 0) {
      var offset = new Date(t0).getTimezoneOffset() * MINUTE;
      var first = Math.ceil((t0 - offset) / step) * step + offset;
      for (var t = first; t <= t1; t += step) ticks.push(t);
    }
    return {step: step, ticks: ticks, seconds: step < MINUTE};
  }

  /* The index of the time nearest to `time` in ascending `times`. */
  function nearest(times, time) {
    var lo = 0, hi = times.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (times[mid] <= time) lo = mid;
      else hi = mid;
    }
    return Math.abs(times[hi] - time) < Math.abs(time - times[lo]) ? hi : lo;
  }

  /* Where a point (CSS px from the canvas's top-left) falls in the plot: x 0..1 from the left plot edge
   * (negative over the y axis), y 0..1 from the bottom axis. */
  function fraction(canvas, insets, offsetX, offsetY) {
    insets = insets || INSETS;
    var width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
    return {
      x: (offsetX - insets.left) / (width - insets.left - insets.right),
      y: 1 - (offsetY - insets.top) / (height - insets.top - insets.bottom)
    };
  }

  function number(value) {
    value = +value;
    return isFinite(value) ? value : 0;
  }

  /* Sizes the backing store to the canvas's CSS box times devicePixelRatio; null when not displayed. */
  function prepare(canvas) {
    var width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return null;
    var ratio = window.devicePixelRatio || 1;
    var pixelWidth = Math.round(width * ratio), pixelHeight = Math.round(height * ratio);
    if (canvas.width !== pixelWidth) canvas.width = pixelWidth;
    if (canvas.height !== pixelHeight) canvas.height = pixelHeight;
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return {ctx: ctx, width: width, height: height};
  }

  function line(ctx, x0, y0, x1, y1) {
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  /* A 1 px line on the pixel grid. */
  function crisp(v) {
    return Math.round(v) + 0.5;
  }

  /* Bottom and top of every series at every time (stacked cumulatively when `stack`), and the maximum. */
  function layers(series, n, stack) {
    var base = new Array(n), out = [], max = 0, i;
    for (i = 0; i < n; i++) base[i] = 0;
    for (var k = 0; k < series.length; k++) {
      var values = series[k].values || [], bottom = new Array(n), top = new Array(n);
      for (i = 0; i < n; i++) {
        var v = number(values[i]);
        bottom[i] = stack ? base[i] : 0;
        top[i] = bottom[i] + v;
        if (stack) base[i] = top[i];
        if (top[i] > max) max = top[i];
      }
      out.push({bottom: bottom, top: top, color: series[k].color || COLORS[k % COLORS.length]});
    }
    return {layers: out, max: max};
  }

  /* Adds one edge of a series to the current path: left to right (starting it), or right to left (continuing
   * it, for the bottom of a filled band). `step` holds each value until the next time. */
  function trace(ctx, xs, ys, step, reverse) {
    var n = xs.length, i;
    if (!reverse) {
      ctx.moveTo(xs[0], ys[0]);
      for (i = 1; i < n; i++) {
        if (step) ctx.lineTo(xs[i], ys[i - 1]);
        ctx.lineTo(xs[i], ys[i]);
      }
    } else {
      ctx.lineTo(xs[n - 1], ys[n - 1]);
      for (i = n - 2; i >= 0; i--) {
        if (step) ctx.lineTo(xs[i + 1], ys[i]);
        ctx.lineTo(xs[i], ys[i]);
      }
    }
  }

  function draw(canvas, spec) {
    var size = prepare(canvas);
    if (!size) return null;
    var times = spec.times || [], n = times.length;
    if (!n) return null;
    var ctx = size.ctx, insets = spec.insets || INSETS;
    var left = insets.left, top = insets.top;
    var plotWidth = Math.max(1, size.width - insets.left - insets.right);
    var plotHeight = Math.max(1, size.height - insets.top - insets.bottom);
    var bottom = top + plotHeight, right = left + plotWidth;
    var t0 = +times[0], t1 = +times[n - 1], span = t1 - t0 > 0 ? t1 - t0 : 1;
    var xOf = function (t) { return left + (t - t0) / span * plotWidth; };
    var stacked = layers(spec.series || [], n, !!spec.stack);
    var hrules = (spec.hrules || []).filter(function (rule) { return rule && isFinite(rule.value) && rule.value >= 0; });
    var max = stacked.max * (1 + Math.max(0, number(spec.ymargin)));
    hrules.forEach(function (rule) { if (rule.scale && rule.value > max) max = rule.value; });
    var scale = axis(max);
    var yOf = function (v) { return bottom - v / scale.top * plotHeight; };
    var ticks = timeTicks(t0, t1, plotWidth);
    var j;

    // Grid, under the data.
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#ccc';
    for (j = 1; j <= scale.count; j++) line(ctx, left, crisp(yOf(j * scale.step)), right, crisp(yOf(j * scale.step)));
    ticks.ticks.forEach(function (t) { line(ctx, crisp(xOf(t)), top, crisp(xOf(t)), bottom); });

    // Data, clipped to the plot.
    var xs = new Array(n);
    for (j = 0; j < n; j++) xs[j] = xOf(+times[j]);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, plotWidth, plotHeight);
    ctx.clip();
    stacked.layers.forEach(function (layer) {
      ctx.beginPath();
      if (spec.stack) {
        trace(ctx, xs, layer.top.map(yOf), spec.step, false);
        trace(ctx, xs, layer.bottom.map(yOf), spec.step, true);
        ctx.closePath();
        ctx.fillStyle = layer.color;
        ctx.fill();
      } else {
        trace(ctx, xs, layer.top.map(yOf), spec.step, false);
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = layer.color;
        ctx.stroke();
      }
    });
    hrules.forEach(function (rule) {
      if (rule.value > scale.top) return;
      ctx.strokeStyle = rule.color || '#000';
      ctx.lineWidth = 2;
      line(ctx, left, Math.round(yOf(rule.value)), right, Math.round(yOf(rule.value)));
    });
    ctx.restore();

    // Axes.
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(left, top);
    ctx.lineTo(left, bottom);
    ctx.lineTo(right, bottom);
    ctx.stroke();

    // Labels.
    ctx.fillStyle = '#000';
    ctx.font = LABEL_FONT;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (j = 0; j <= scale.count; j++) ctx.fillText(String(valueStr(tidy(j * scale.step))), left - 4, yOf(j * scale.step));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ticks.ticks.forEach(function (t) { ctx.fillText(clock(t, ticks.seconds), xOf(t), bottom + 4); });
    if (spec.units) {
      ctx.save();
      ctx.translate(9, top + plotHeight / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.font = TITLE_FONT;
      ctx.textBaseline = 'middle';
      ctx.fillText(String(spec.units), 0, 0);
      ctx.restore();
    }

    if (spec.marker) {
      var index = spec.selected >= 0 && spec.selected < n ? spec.selected : n - 1;
      var x = xOf(+times[index]);
      ctx.strokeStyle = '#666';
      ctx.lineWidth = 1;
      line(ctx, crisp(x), top, crisp(x), bottom);
      var text = clock(+times[index], true);
      var width = ctx.measureText(text).width + 6;
      var boxLeft = Math.round(x - width / 2) + 0.5, boxTop = bottom + 2.5;
      ctx.beginPath();
      roundedRect(ctx, boxLeft, boxTop, width, 13, 3);
      ctx.fillStyle = '#fff';
      ctx.fill();
      ctx.strokeStyle = '#999';
      ctx.stroke();
      ctx.fillStyle = '#000';
      ctx.fillText(text, boxLeft + width / 2, boxTop + 2);
    }
    return {top: scale.top, step: scale.step, count: scale.count,
      plot: {left: left, top: top, width: plotWidth, height: plotHeight}};
  }

  function roundedRect(ctx, x, y, width, height, radius) {
    ctx.moveTo(x + radius, y);
    ctx.arcTo(x + width, y, x + width, y + height, radius);
    ctx.arcTo(x + width, y + height, x, y + height, radius);
    ctx.arcTo(x, y + height, x, y, radius);
    ctx.arcTo(x, y, x + width, y, radius);
    ctx.closePath();
  }

  return {
    COLORS: COLORS,
    OTHER_COLOR: OTHER_COLOR,
    INSETS: INSETS,
    valueStr: valueStr,
    axis: axis,
    clock: clock,
    timeTicks: timeTicks,
    nearest: nearest,
    fraction: fraction,
    draw: draw
  };
})();
