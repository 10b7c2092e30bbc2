/* rtflow: the `inmon.stripchart` jQuery UI widget that sFlow-RT app pages use, written for rtflow from the
 * interface those apps call (options, `draw`, `valueStr`, the `stripchartclick` event). It is a clean-room
 * implementation: no InMon code was read or copied.
 *
 * The server sends this file after the chart core (RtChart, from /html/js/chart.js), both inside one
 * function scope. It needs jQuery and a widget factory: /inc/jquery.widget.js or jQuery UI.
 *
 *   $(el).stripchart({clickable, stack, step, colors, ...insets})
 *   $(el).stripchart('draw', {times: [ms], values: [[series]], units, colors: [per series],
 *                             legend: {labels: [[fields]], headings: [html], html: bool}, selectedIdx,
 *                             hrules: [{value, color, scale}], ymargin})
 *   $(el).stripchart('instance').layout    // the last draw's y axis and plot box (see html/js/chart.js)
 *   $(el).on('stripchartclick', function (event, point) { point.x, point.y })   // plot fractions
 */
(function ($) {
  'use strict';
  if (!$ || !$.fn) return;
  if (!$.widget) {
    if (window.console) {
      window.console.error('rtflow /inc/jquery.stripchart.js: no jQuery UI widget factory; load ' +
        '/inc/jquery.widget.js or /inc/jquery-ui/jquery-ui.min.js before it');
    }
    return;
  }
  // Some pages load this file twice: keep the first definition and its live charts.
  if ($.inmon && $.inmon.stripchart && $.inmon.stripchart.prototype._chartCore) return;

  $.widget('inmon.stripchart', {
    options: {
      leftInset: 50,
      rightInset: 24,
      topInset: 5,
      bottomInset: 20,
      clickable: false,
      stack: false,
      step: false,
      mirror: false,
      includeMillis: false,
      base2: false,
      colors: RtChart.COLORS.slice()
    },

    /* The chart core, for /inc/stripchart.js. */
    _chartCore: RtChart,

    _create: function () {
      this._cleanups = [];
      this._legend = null;
      this._legendKey = null;
      this.element.addClass('stripchart');
      this._canvas = $('<canvas></canvas>').appendTo(this.element);
      this._setClickable(this.options.clickable);
    },

    _setOption: function (key, value) {
      this._super(key, value);
      if (key === 'clickable') this._setClickable(value);
    },

    _setClickable: function (clickable) {
      this._off(this._canvas, 'click');
      this._canvas.toggleClass('clickable', !!clickable);
      if (clickable) this._on(this._canvas, {click: '_click'});
    },

    _insets: function () {
      var o = this.options;
      return {left: o.leftInset, right: o.rightInset, top: o.topInset, bottom: o.bottomInset};
    },

    _click: function (event) {
      var canvas = this._canvas[0], box = canvas.getBoundingClientRect();
      var point = RtChart.fraction(canvas, this._insets(), event.clientX - box.left, event.clientY - box.top);
      this._trigger('click', event, point);
    },

    /* Draws `data` (see the top of this file); a hidden chart is drawn on a later call once visible. */
    draw: function (data) {
      data = data || {};
      var palette = this.options.colors || RtChart.COLORS;
      var colors = data.colors || [];
      var series = (data.values || []).map(function (values, i) {
        return {values: values || [], color: colors[i] || palette[i % palette.length]};
      });
      this.layout = RtChart.draw(this._canvas[0], {
        times: data.times || [],
        series: series,
        stack: !!this.options.stack,
        step: !!this.options.step,
        units: data.units === undefined || data.units === null ? '' : String(data.units),
        insets: this._insets(),
        marker: !!this.options.clickable,
        selected: typeof data.selectedIdx === 'number' ? data.selectedIdx : -1,
        hrules: data.hrules,
        ymargin: data.ymargin
      }) || this.layout || null;
      this._drawLegend(data.legend, series);
    },

    /* The legend table over the top-left of the plot: a swatch cell, then one cell per field. Headings and
     * `html` labels are HTML; other labels are text, so `td.text()` gives back the raw key. */
    _drawLegend: function (legend, series) {
      if (!legend || !legend.labels) {
        if (this._legend) this._legend.remove();
        this._legend = this._legendKey = null;
        return;
      }
      var labels = legend.labels, headings = legend.headings;
      var colors = series.slice(0, labels.length).map(function (s) { return s.color; });
      var key = JSON.stringify([headings || null, labels, colors, !!legend.html]);
      if (key === this._legendKey && this._legend) return;
      var table = $('<table></table>').css({position: 'absolute', top: 0, left: this.options.leftInset + 'px'});
      if (headings) {
        var head = $('<tr></tr>').append('<th></th>');
        headings.forEach(function (heading) { head.append($('<th></th>').html(heading)); });
        table.append($('<thead></thead>').append(head));
      }
      var body = $('<tbody></tbody>');
      labels.forEach(function (fields, i) {
        var row = $('<tr></tr>').append($('<td></td>').append(
          $('<div class="swatch"></div>').css('background', colors[i] || RtChart.OTHER_COLOR)));
        ($.isArray(fields) ? fields : [fields]).forEach(function (field) {
          var cell = $('<td></td>');
          if (legend.html) cell.html(field);
          else cell.text(field);
          row.append(cell);
        });
        body.append(row);
      });
      table.append(body);
      if (this._legend) this._legend.replaceWith(table);
      else this.element.append(table);
      this._legend = table;
      this._legendKey = key;
    },

    /* Called unbound by some apps: uses no `this`. */
    valueStr: function (value) {
      return RtChart.valueStr(value);
    },

    _destroy: function () {
      this._cleanups.forEach(function (cleanup) { cleanup(); });
      this._cleanups = [];
      this._canvas.remove();
      if (this._legend) this._legend.remove();
      this._legend = null;
      this.element.removeClass('stripchart');
    }
  });
})(window.jQuery);
