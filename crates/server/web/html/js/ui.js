/* rtflow web UI: what every page shares (written for rtflow; no third-party code).
 *
 * Pages live one level below the server root (/html/…, /api/), so the REST API is at '../'. Nothing here
 * needs the internet or any library.
 */
var Rt = (function () {
  'use strict';

  /* The server root relative to the page: pages live one level down (/html/, /api/), unless the page says otherwise
   * (an app's API page at /app/NAME/api/ sets data-root on <html>). */
  var ROOT = document.documentElement.getAttribute('data-root') || '../';
  var PAGES = [
    ['html/index.html', 'Status'],
    ['html/agents.html', 'Agents'],
    ['html/metrics.html', 'Metrics'],
    ['html/flows.html', 'Flows'],
    ['html/history.html', 'History'],
    ['html/events.html', 'Thresholds & events'],
    ['html/apps.html', 'Apps'],
    ['api/', 'API']
  ];

  /* el('td', {class: 'num', text: '3'}, [children]) */
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    var key, value;
    for (key in attributes || {}) {
      value = attributes[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* Puts `rows` (new <tr> elements with a `key` attribute) in `body` without disturbing the user: when the
   * rows have the same keys as before, only the cells that changed are swapped, so a focused button in an
   * unchanged cell keeps its focus. */
  function replaceRows(body, rows, key) {
    var old = Array.prototype.slice.call(body.rows);
    var same = old.length === rows.length && old.every(function (row, i) {
      return row.getAttribute(key) !== null && row.getAttribute(key) === rows[i].getAttribute(key) &&
        row.cells.length === rows[i].cells.length;
    });
    if (!same) {
      clear(body);
      rows.forEach(function (row) { body.appendChild(row); });
      return;
    }
    rows.forEach(function (row, i) {
      Array.prototype.slice.call(row.cells).forEach(function (cell, j) {
        var target = old[i].cells[j];
        if (target.outerHTML !== cell.outerHTML) target.replaceWith(cell);
      });
    });
  }

  /* A REST call relative to the server root; resolves with parsed JSON (or text), rejects with an Error
   * carrying the server's message and `status` (0 when the server could not be reached). */
  function request(method, path, body) {
    var options = {method: method, headers: {Accept: 'application/json'}};
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(ROOT + path, options).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      var parsed = response.status === 204 ? Promise.resolve(null)
        : type.indexOf('json') >= 0 ? response.json() : response.text();
      return parsed.then(function (data) {
        if (!response.ok) {
          var text = data && data.error ? data.error : typeof data === 'string' && data ? data : response.statusText;
          var error = new Error(text + ' (HTTP ' + response.status + ')');
          error.status = response.status;
          throw error;
        }
        return data;
      });
    }, function (cause) {
      var error = new Error('cannot reach the rtflow server (' + cause.message + ')');
      error.status = 0;
      throw error;
    });
  }

  var api = {
    get: function (path) { return request('GET', path); },
    put: function (path, body) { return request('PUT', path, body); },
    del: function (path) { return request('DELETE', path); }
  };

  /* The page header: skip link, brand, navigation (the current page marked) and the connection state. */
  function header(current) {
    var nav = el('nav', {'aria-label': 'rtflow pages'});
    PAGES.forEach(function (page) {
      nav.appendChild(el('a', {href: ROOT + page[0], 'aria-current': page[0] === current ? 'page' : null, text: page[1]}));
    });
    var bar = el('header', {class: 'top'}, [
      el('a', {class: 'skip', href: '#content', text: 'Skip to content'}),
      el('a', {class: 'brand', href: ROOT + 'html/index.html', text: 'rtflow'}),
      nav,
      el('span', {id: 'conn', class: 'conn', role: 'status', 'aria-live': 'polite'})
    ]);
    document.body.insertBefore(bar, document.body.firstChild);
  }

  function connected(ok) {
    var node = document.getElementById('conn');
    if (!node) return;
    node.textContent = ok ? 'live' : 'server unreachable';
    node.className = ok ? 'conn' : 'conn down';
  }

  /* Shows a message above the page content (`kind`: 'alert' or 'notice'); empty text hides it. */
  function message(text, kind) {
    var node = document.getElementById('message');
    if (!node) return;
    clear(node);
    if (text) node.appendChild(el('div', {class: kind || 'alert', role: kind === 'notice' ? 'status' : 'alert', text: text}));
  }

  /* Runs `task` (which may return a promise) now and then `interval` ms after each run ends; after a
   * failure it waits at least 5 s and marks the connection down if the server was unreachable. */
  function poll(task, interval) {
    var timer = null, stopped = false, unreachable = false;
    function run() {
      if (stopped) return;
      Promise.resolve().then(task).then(function () {
        connected(true);
        if (unreachable) message('');
        unreachable = false;
        schedule(interval);
      }, function (error) {
        unreachable = !error || error.status === 0;
        connected(!unreachable);
        message(error ? error.message : 'update failed');
        schedule(Math.max(interval, 5000));
      });
    }
    function schedule(delay) {
      if (!stopped) timer = setTimeout(run, delay);
    }
    run();
    return {
      stop: function () { stopped = true; clearTimeout(timer); },
      now: function () { clearTimeout(timer); run(); }
    };
  }

  /* Formatting */
  var PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

  /* Three significant digits with a decimal prefix: si(1234567, 'bit/s') = '1.23 Mbit/s'. */
  function si(value, unit) {
    if (value === null || value === undefined || !isFinite(value)) return '–';
    var x = Math.abs(value), i = 0;
    while (x >= 999.5 && i < PREFIXES.length - 1) {
      x /= 1000;
      i++;
    }
    var text = x === 0 ? '0' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.01 ? x.toFixed(2) : x.toPrecision(2);
    return (value < 0 ? '-' : '') + text + (unit || PREFIXES[i] ? ' ' + PREFIXES[i] + (unit || '') : '');
  }

  function count(value) {
    return value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US');
  }

  function bytes(value) {
    if (!isFinite(value)) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i++;
    }
    return (i ? value.toFixed(1) : String(value)) + ' ' + units[i];
  }

  function duration(ms) {
    if (!isFinite(ms) || ms < 0) return '–';
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60);
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s % 60 + 's';
    return s + ' s';
  }

  function percent(value) {
    return isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) + ' %' : '–';
  }

  function time(ms) {
    var date = new Date(ms);
    return date.toLocaleTimeString('en-GB', {hour12: false}) + (Date.now() - ms > 86400000 ? ' ' + date.toLocaleDateString('en-CA') : '');
  }

  /* Query-string state: read with params(); write with setParams({name: value}) (empty values dropped),
   * keeping commas readable so a view's URL can be shared as typed. */
  function params() {
    return new URLSearchParams(window.location.search);
  }

  function setParams(values) {
    var parts = [];
    Object.keys(values).forEach(function (key) {
      if (values[key] !== '' && values[key] !== null && values[key] !== undefined) {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(values[key]).replace(/%2C/g, ','));
      }
    });
    window.history.replaceState(null, '', parts.length ? '?' + parts.join('&') : window.location.pathname);
  }

  /* A small line chart of recent values (no axes): series = [{values, color}]. */
  function sparkline(canvas, series) {
    var width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    var max = 0, most = 0;
    series.forEach(function (s) {
      most = Math.max(most, s.values.length);
      s.values.forEach(function (v) { if (v > max) max = v; });
    });
    if (most < 2) return;
    series.forEach(function (s) {
      ctx.beginPath();
      s.values.forEach(function (v, i) {
        var x = (i + most - s.values.length) / (most - 1) * (width - 2) + 1;
        var y = height - 1 - (max > 0 ? v / max : 0) * (height - 3);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.25;
      ctx.stroke();
    });
  }

  /* Suggestions under a text input (the ARIA combobox pattern): arrows move, Enter or Tab takes the
   * highlighted suggestion, Escape closes. The word being typed is the text after the last match of
   * `separators` (a regular expression, e.g. /,/ for key lists); `source(word)` returns (a promise of) the
   * candidates; a chosen one replaces the word, followed by `after`. */
  var comboCount = 0;
  function autocomplete(input, options) {
    var separators = options.separators || null, after = options.after || '';
    var list = el('ul', {role: 'listbox', id: 'combo-list-' + comboCount++, hidden: true});
    var wrapper = el('div', {class: 'combo'});
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('autocomplete', 'off');
    var items = [], active = -1, generation = 0;

    function word() {
      var caret = input.selectionStart === null ? input.value.length : input.selectionStart;
      var before = input.value.slice(0, caret), start = 0;
      if (separators) {
        var pattern = new RegExp(separators.source, 'g'), match;
        while ((match = pattern.exec(before)) !== null) start = match.index + match[0].length;
      }
      return {start: start, end: caret, text: before.slice(start).replace(/^\s+/, '')};
    }

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (item, i) {
        item.setAttribute('aria-selected', i === index ? 'true' : 'false');
        if (i === index) {
          input.setAttribute('aria-activedescendant', item.id);
          item.scrollIntoView({block: 'nearest'});
        }
      });
    }

    function choose(value) {
      var w = word();
      var text = input.value.slice(0, w.start) + value + after;
      input.value = text + input.value.slice(w.end);
      input.setSelectionRange(text.length, text.length);
      close();
      input.dispatchEvent(new Event('change'));
    }

    function update() {
      var w = word(), mine = ++generation;
      Promise.resolve(options.source(w.text)).then(function (candidates) {
        if (mine !== generation || document.activeElement !== input) return;
        var lower = w.text.toLowerCase();
        items = (candidates || []).filter(function (c) {
          return c.toLowerCase().indexOf(lower) === 0 && c !== w.text;
        }).slice(0, 100);
        clear(list);
        items.forEach(function (item, i) {
          list.appendChild(el('li', {role: 'option', id: list.id + '-' + i, 'aria-selected': 'false', text: item,
            onmousedown: function (event) { event.preventDefault(); choose(item); }}));
        });
        active = -1;
        list.hidden = items.length === 0;
        input.setAttribute('aria-expanded', items.length ? 'true' : 'false');
      }, function () { close(); });
    }

    input.addEventListener('input', update);
    input.addEventListener('focus', update);
    input.addEventListener('blur', close);
    input.addEventListener('keydown', function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (!open) return update();
        var step = event.key === 'ArrowDown' ? 1 : -1;
        highlight((active + step + items.length + (active < 0 && step < 0 ? 1 : 0)) % items.length);
      } else if ((event.key === 'Enter' || event.key === 'Tab') && open && active >= 0) {
        event.preventDefault();
        choose(items[active]);
      } else if (event.key === 'Escape' && open) {
        event.preventDefault();
        close();
      }
    });
  }

  /* The flow keys the server has seen (/flowkeys/json), refreshed at most every 10 s. */
  var flowKeyCache = {at: 0, keys: null};
  function flowKeys() {
    if (flowKeyCache.keys && Date.now() - flowKeyCache.at < 10000) return Promise.resolve(flowKeyCache.keys);
    return api.get('flowkeys/json').then(function (keys) {
      flowKeyCache = {at: Date.now(), keys: Object.keys(keys || {}).sort()};
      return flowKeyCache.keys;
    });
  }

  /* The metric names the server has seen (/metrics/json). */
  function metricNames() {
    return api.get('metrics/json').then(function (names) { return Object.keys(names || {}).sort(); });
  }

  /* Host names by agent address, from the host_name metric. */
  function hostNames() {
    return api.get('dump/ALL/host_name/json').then(function (rows) {
      var names = {};
      (rows || []).forEach(function (row) { if (row.metricValue) names[row.agent] = String(row.metricValue); });
      return names;
    });
  }

  return {
    el: el,
    clear: clear,
    replaceRows: replaceRows,
    api: api,
    header: header,
    message: message,
    poll: poll,
    connected: connected,
    fmt: {si: si, count: count, bytes: bytes, duration: duration, percent: percent, time: time},
    params: params,
    setParams: setParams,
    sparkline: sparkline,
    autocomplete: autocomplete,
    flowKeys: flowKeys,
    metricNames: metricNames,
    hostNames: hostNames
  };
})();
