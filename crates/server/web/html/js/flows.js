/* rtflow flow browser: defines a flow from keys/value/filter, samples its top flows every second and draws a
 * stacked trend with a table. The view lives in the URL (?keys=…&value=…&filter=…&top=…). */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var MAX_POINTS = 300;
  var VALUES = {
    bps: {value: 'bytes', scale: 8, title: 'Bits per Second', unit: 'bit/s'},
    Bps: {value: 'bytes', scale: 1, title: 'Bytes per Second', unit: 'B/s'},
    fps: {value: 'frames', scale: 1, title: 'Frames per Second', unit: 'frames/s'}
  };
  var form = document.getElementById('spec');
  var inputs = {
    keys: document.getElementById('keys'),
    value: document.getElementById('value'),
    filter: document.getElementById('filter'),
    top: document.getElementById('top')
  };
  var canvas = document.getElementById('chart-canvas');
  var view = null;       // the flow being shown
  var paused = false;

  Rt.header(document.body.getAttribute('data-page'));
  Rt.autocomplete(inputs.keys, {separators: /,/, source: Rt.flowKeys});
  Rt.autocomplete(inputs.value, {source: function () { return Object.keys(VALUES).concat(['bytes', 'frames']); }});
  Rt.autocomplete(inputs.filter, {separators: /[&|(!]/, after: '=', source: Rt.flowKeys});

  function describe(valueName) {
    return VALUES[valueName] || {value: valueName, scale: 1, title: valueName, unit: ''};
  }

  function fieldsOf(keys) {
    return keys.split(',').map(function (k) { return k.trim(); }).filter(Boolean);
  }

  /* Starts showing a flow: define it on the server under a name of this tab, then sample it every second. */
  function show(spec) {
    stop();
    Rt.message('');
    var measure = describe(spec.value);
    var name = 'rtflow_ui_' + Math.random().toString(36).slice(2, 10);
    var definition = {keys: spec.keys, value: measure.value, t: 2, n: 20};
    if (spec.filter) definition.filter = spec.filter;
    view = {spec: spec, name: name, definition: definition, measure: measure, fields: fieldsOf(spec.keys),
      times: [], points: [], selectedTime: null, poller: null, legendKey: null};
    document.getElementById('help').hidden = true;
    document.getElementById('view').hidden = false;
    document.getElementById('view-title').textContent = measure.title + ' by ' + view.fields.join(', ') +
      (spec.filter ? ' where ' + spec.filter : '');
    canvas.setAttribute('aria-label', 'Stacked trend of the top flows: ' + measure.title + ' by ' + view.fields.join(', '));
    document.getElementById('share').href = window.location.href;
    var current = view;
    define(current).then(function () {
      if (view !== current) return;
      current.poller = Rt.poll(function () { return sample(current); }, 1000);
    }, function (error) {
      Rt.message('The server refused this flow: ' + error.message);
    });
    draw();
  }

  function define(current) {
    return Rt.api.put('flow/' + current.name + '/json', current.definition);
  }

  /* Stops the current view and removes its flow definition from the server. */
  function stop() {
    if (!view) return;
    if (view.poller) view.poller.stop();
    Rt.api.del('flow/' + view.name + '/json').catch(function () {});
    view = null;
  }

  function sample(current) {
    var query = '?maxFlows=' + Math.max(current.spec.top * 3, 30) + '&aggMode=max';
    return Rt.api.get('activeflows/ALL/' + current.name + '/json' + query).then(function (flows) {
      if (view !== current) return;
      var point = {};
      (flows || []).forEach(function (flow) { point[flow.key] = flow.value * current.measure.scale; });
      current.times.push(Date.now());
      current.points.push(point);
      if (current.times.length > MAX_POINTS) {
        current.times.shift();
        current.points.shift();
      }
      if (!paused) draw();
    }).then(function () {
      // Re-define the flow if it is gone (server restarted, or removed by hand): checked every 10 s.
      if (Date.now() - (current.checkedAt || 0) < 10000) return;
      current.checkedAt = Date.now();
      return Rt.api.get('flow/json').then(function (flows) {
        if (view === current && !(flows || {})[current.name]) return define(current);
      });
    });
  }

  /* The legend keys at point `at`: by value, the top `top` ones. */
  function legendKeys(point, top) {
    return Object.keys(point || {}).sort(function (a, b) { return point[b] - point[a]; }).slice(0, top);
  }

  function selectedIndex() {
    if (view.selectedTime === null) return -1;
    var index = view.times.indexOf(view.selectedTime);
    if (index < 0) view.selectedTime = null;
    return index;
  }

  function draw() {
    if (!view) return;
    var n = view.times.length, selected = selectedIndex();
    var at = selected >= 0 ? selected : n - 1;
    var point = view.points[at] || {};
    var keys = legendKeys(point, view.spec.top);
    var rank = Object.create(null);
    keys.forEach(function (key, i) { rank[key] = i; });
    var series = keys.map(function (key, i) {
      return {key: key, values: new Array(n), color: RtChart.COLORS[i % RtChart.COLORS.length]};
    });
    var other = {key: null, values: new Array(n), color: RtChart.OTHER_COLOR};
    for (var i = 0; i < n; i++) {
      series.forEach(function (s) { s.values[i] = 0; });
      other.values[i] = 0;
      var p = view.points[i];
      for (var key in p) {
        if (key in rank) series[rank[key]].values[i] = p[key];
        else other.values[i] += p[key];
      }
    }
    RtChart.draw(canvas, {
      times: view.times,
      series: series.concat([other]),
      stack: true,
      units: view.measure.title,
      marker: true,
      selected: selected
    });
    var atLabel = document.getElementById('at');
    atLabel.textContent = n ? (selected >= 0 ? 'at ' : 'latest, ') + RtChart.clock(view.times[at], true) : 'waiting for data…';
    document.getElementById('latest').hidden = selected < 0;
    renderTable(series, other, point, at);
  }

  function renderTable(series, other, point, at) {
    var table = document.getElementById('legend');
    var total = Object.keys(point).reduce(function (sum, key) { return sum + point[key]; }, 0);
    var head = table.tHead, headKey = view.fields.join(',') + '|' + view.measure.title;
    if (head.getAttribute('data-fields') !== headKey) {
      head.setAttribute('data-fields', headKey);
      Rt.clear(head).appendChild(el('tr', {}, [el('th', {scope: 'col'}, [el('span', {class: 'hide-narrow', text: 'Flow'})])]
      .concat(view.fields.map(function (field) { return el('th', {scope: 'col', text: field}); }))
      .concat([el('th', {scope: 'col', class: 'num', text: view.measure.title}), el('th', {scope: 'col', class: 'num', text: 'Share'})])));
    }
    var rows = [];
    if (!series.length) {
      rows.push(el('tr', {}, [el('td', {colspan: view.fields.length + 3, class: 'empty',
        text: view.times.length ? 'No traffic matches at this time.' : 'Waiting for the first sample…'})]));
    }
    series.forEach(function (s) {
      var values = s.key.split(',');
      var row = el('tr', {'data-key': s.key}, [
        el('td', {}, [el('button', {type: 'button', class: 'link', title: 'Add this flow to the filter',
          'aria-label': 'Add flow ' + s.key + ' to the filter', onclick: function () { addFilter(view.fields, values); }},
          [el('span', {class: 'swatch', style: 'background:' + s.color})])])
      ].concat(view.fields.map(function (field, i) {
        return el('td', {class: 'key'}, [el('button', {type: 'button', class: 'link', title: 'Add ' + field + '=' + (values[i] || '') + ' to the filter',
          text: values[i] === undefined ? '' : values[i], onclick: function () { addFilter([field], [values[i]]); }})]);
      })).concat([
        el('td', {class: 'num', text: fmt.si(point[s.key] || 0, view.measure.unit)}),
        el('td', {class: 'num', text: total > 0 ? fmt.percent(100 * (point[s.key] || 0) / total) : '–'})
      ]));
      rows.push(row);
    });
    var rest = other.values[at] || 0;
    if (rest > 0) {
      rows.push(el('tr', {class: 'other', 'data-key': ''}, [el('td', {}, [el('span', {class: 'swatch', style: 'background:' + other.color})]),
        el('td', {colspan: view.fields.length, class: 'empty', text: 'other flows'}),
        el('td', {class: 'num', text: fmt.si(rest, view.measure.unit)}),
        el('td', {class: 'num', text: total > 0 ? fmt.percent(100 * rest / total) : '–'})]));
    }
    Rt.replaceRows(table.tBodies[0], rows, 'data-key');
  }

  /* Drill down: add field=value terms to the filter and show the narrower view. */
  function addFilter(fields, values) {
    var terms = fields.map(function (field, i) { return "'" + field + "'='" + (values[i] || '') + "'"; });
    var filter = inputs.filter.value.trim();
    inputs.filter.value = (filter ? filter + '&' : '') + terms.join('&');
    submit();
  }

  function readForm() {
    return {
      keys: fieldsOf(inputs.keys.value).join(','),
      value: inputs.value.value.trim() || 'bps',
      filter: inputs.filter.value.trim(),
      top: parseInt(inputs.top.value, 10) || 10
    };
  }

  function submit() {
    var spec = readForm();
    inputs.value.value = spec.value;
    Rt.setParams({keys: spec.keys, value: spec.value, filter: spec.filter, top: spec.top === 10 ? '' : spec.top});
    if (!spec.keys) {
      stop();
      Rt.message('Enter one or more keys, e.g. ipsource,ipdestination.', 'notice');
      return;
    }
    show(spec);
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    submit();
  });

  document.getElementById('reset').addEventListener('click', function () {
    stop();
    inputs.keys.value = inputs.value.value = inputs.filter.value = '';
    inputs.top.value = '10';
    Rt.setParams({});
    Rt.message('');
    document.getElementById('view').hidden = true;
    document.getElementById('help').hidden = false;
    inputs.keys.focus();
  });

  var pause = document.getElementById('pause');
  pause.addEventListener('click', function () {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    draw();
  });

  document.getElementById('latest').addEventListener('click', function () {
    if (view) view.selectedTime = null;
    draw();
  });

  /* Selecting a time: click the chart, or use the arrow keys on it. */
  canvas.addEventListener('click', function (event) {
    if (!view || !view.times.length) return;
    var box = canvas.getBoundingClientRect();
    var point = RtChart.fraction(canvas, RtChart.INSETS, event.clientX - box.left, event.clientY - box.top);
    var times = view.times, last = times.length - 1;
    var index = point.x < 0 || point.x >= 1 ? last : RtChart.nearest(times, times[0] + point.x * (times[last] - times[0]));
    view.selectedTime = index === last ? null : times[index];
    draw();
  });
  canvas.addEventListener('keydown', function (event) {
    if (!view || !view.times.length) return;
    var last = view.times.length - 1, index = selectedIndex();
    if (index < 0) index = last;
    if (event.key === 'ArrowLeft') index = Math.max(0, index - 1);
    else if (event.key === 'ArrowRight') index = Math.min(last, index + 1);
    else if (event.key === 'End' || event.key === 'Escape') index = last;
    else if (event.key === 'Home') index = 0;
    else return;
    event.preventDefault();
    view.selectedTime = index === last ? null : view.times[index];
    draw();
  });

  window.addEventListener('resize', draw);
  window.addEventListener('pagehide', function () {
    // Remove this tab's flow definition even while the page unloads.
    if (view) fetch('../flow/' + view.name + '/json', {method: 'DELETE', keepalive: true}).catch(function () {});
  });

  var params = Rt.params();
  inputs.keys.value = params.get('keys') || '';
  inputs.value.value = params.get('value') || '';
  inputs.filter.value = params.get('filter') || '';
  if (params.get('top')) inputs.top.value = params.get('top');
  if (inputs.keys.value) submit();
})();
