/* rtflow: the `inmon.gauge` jQuery UI widget (a half-ring SVG gauge) that sFlow-RT app pages use, written for
 * rtflow from the interface those apps call. It is a clean-room implementation: no InMon code was read or copied.
 *
 *   $(el).gauge({label, suffix, threshold, maxValue, logScale, counter})      // returns the jQuery object
 *   $(el).gauge('update', {value, maxValue, threshold})                       // returns the jQuery object
 * The container gets class `gauge`, and `warn` while threshold > 0 and value >= threshold. With `counter`,
 * the gauge shows the rate: the change of value per second since the previous update.
 */
(function ($) {
  'use strict';
  if (!$ || !$.fn) return;
  if (!$.widget) {
    if (window.console) window.console.error('rtflow /inc/jquery.gauge.js: no jQuery UI widget factory; load /inc/jquery.widget.js first');
    return;
  }
  if ($.inmon && $.inmon.gauge && $.inmon.gauge.prototype._rtflow) return;

  var SVG = 'http://www.w3.org/2000/svg';
  var SUFFIXES = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

  function svg(name, attributes) {
    var element = document.createElementNS(SVG, name);
    for (var key in attributes) element.setAttribute(key, attributes[key]);
    return element;
  }

  $.widget('inmon.gauge', {
    _rtflow: true,
    options: {
      label: 'Value',
      suffix: '',
      value: 0,
      threshold: 0,
      maxValue: 100,
      logScale: false,
      counter: false,
      includeMillis: false,
      base2: false,
      prevValue: 0,
      prevTime: 0
    },

    _create: function () {
      this.element.addClass('gauge');
      var root = svg('svg', {viewBox: '0 0 1000 500'});
      root.appendChild(svg('path', {d: 'M 950 500 A 450 450 0 0 0 50 500'}));
      this._arc = svg('path', {'class': 'data-arc', d: 'M 50 500 A 450 450 0 0 0 50 500'});
      root.appendChild(this._arc);
      this._value = svg('text', {'class': 'value', 'text-anchor': 'middle', 'alignment-baseline': 'bottom',
        x: 500, y: 320, 'font-size': 130, 'font-weight': 'normal'});
      root.appendChild(this._value);
      this._title = svg('text', {'class': 'title', 'text-anchor': 'middle', 'alignment-baseline': 'middle',
        x: 500, y: 450, 'font-size': 90, 'font-weight': 'normal'});
      root.appendChild(this._title);
      this._svg = root;
      this.element.append(root);
      this._render(this.options.value);
    },

    /* Shows a new value; `maxValue` and `threshold` change too when given. */
    update: function (settings) {
      settings = settings || {};
      if (settings.maxValue !== undefined) this.options.maxValue = settings.maxValue;
      if (settings.threshold !== undefined) this.options.threshold = settings.threshold;
      if (settings.label !== undefined) this.options.label = settings.label;
      var value = +settings.value || 0;
      if (this.options.counter) {
        var now = Date.now(), previous = this.options.prevTime;
        var rate = previous && now > previous ? (value - this.options.prevValue) * 1000 / (now - previous) : 0;
        this.options.prevValue = value;
        this.options.prevTime = now;
        value = Math.max(0, rate);
      }
      this.options.value = value;
      this._render(value);
    },

    _render: function (value) {
      var o = this.options, max = +o.maxValue || 0, fraction = 0;
      if (max > 0) fraction = o.logScale ? Math.log(1 + Math.max(0, value)) / Math.log(1 + max) : value / max;
      fraction = Math.min(1, Math.max(0, fraction || 0));
      var x = 500 - 450 * Math.cos(fraction * Math.PI), y = 500 - 450 * Math.sin(fraction * Math.PI);
      this._arc.setAttribute('d', 'M ' + x.toFixed(1) + ' ' + y.toFixed(1) + ' A 450 450 0 0 0 50 500');
      while (this._value.firstChild) this._value.removeChild(this._value.firstChild);
      var number = svg('tspan', {});
      number.textContent = this.valueStr(value);
      this._value.appendChild(number);
      if (o.suffix) {
        var suffix = svg('tspan', {'font-size': 100});
        suffix.textContent = ' ' + o.suffix;
        this._value.appendChild(suffix);
      }
      this._title.textContent = o.label;
      this.element.toggleClass('warn', o.threshold > 0 && value >= o.threshold);
    },

    /* Three significant figures with K M G T P E (decimal) suffixes. */
    valueStr: function (value) {
      var x = Math.abs(+value || 0), i = 0;
      if (x === 0) return '0';
      while (x >= 1000 && i < SUFFIXES.length - 1) {
        x /= 1000;
        i++;
      }
      return String(parseFloat(x.toPrecision(3))) + SUFFIXES[i];
    },

    _destroy: function () {
      $(this._svg).remove();
      this.element.removeClass('gauge warn');
    }
  });
})(window.jQuery);
