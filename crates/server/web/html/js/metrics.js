/* rtflow metrics browser: one metric over an agent (or ALL) with an aggregation, trended every second, and
 * its value at every data source. The view lives in the URL (?agent=…&agg=…&metric=…). */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var MAX_POINTS = 300;
  var form = document.getElementById('pick');
  var agentSelect = document.getElementById('agent');
  var aggSelect = document.getElementById('agg');
  var metricInput = document.getElementById('metric');
  var canvas = document.getElementById('chart-canvas');
  var view = null;

  Rt.header(document.body.getAttribute('data-page'));
  Rt.autocomplete(metricInput, {source: function () { return Rt.metricNames(); }});

  function fillAgents(selected) {
    return Promise.all([Rt.api.get('agents/json'), Rt.hostNames().catch(function () { return {}; })]).then(function (results) {
      var names = results[1];
      Object.keys(results[0] || {}).sort().forEach(function (address) {
        agentSelect.appendChild(el('option', {value: address, text: address + (names[address] ? ' (' + names[address] + ')' : '')}));
      });
      if (selected && !agentSelect.querySelector('option[value="' + CSS.escape(selected) + '"]')) {
        agentSelect.appendChild(el('option', {value: selected, text: selected}));
      }
      agentSelect.value = selected || 'ALL';
    });
  }

  function show(spec) {
    if (view && view.poller) view.poller.stop();
    Rt.message('');
    view = {spec: spec, times: [], values: [], poller: null, sourcesAt: 0};
    document.getElementById('help').hidden = true;
    document.getElementById('view').hidden = false;
    document.getElementById('view-title').textContent = spec.agg + ' of ' + spec.metric + ' on ' +
      (spec.agent === 'ALL' ? 'all agents' : spec.agent);
    canvas.setAttribute('aria-label', 'Trend of ' + spec.agg + ':' + spec.metric);
    var current = view;
    current.poller = Rt.poll(function () { return sample(current); }, 1000);
  }

  function sample(current) {
    var spec = current.spec;
    var path = 'metric/' + encodeURIComponent(spec.agent) + '/' + spec.agg + ':' + encodeURIComponent(spec.metric) + '/json';
    var sources = Date.now() - current.sourcesAt > 5000;
    return Promise.all([
      Rt.api.get(path),
      sources ? Rt.api.get('dump/' + encodeURIComponent(spec.agent) + '/' + encodeURIComponent(spec.metric) + '/json') : null
    ]).then(function (results) {
      if (view !== current) return;
      var entry = (results[0] || [])[0] || {};
      var value = entry.metricValue;
      var latest = document.getElementById('latest');
      if (value === undefined) latest.textContent = 'no data source has ' + spec.metric + ' yet';
      else if (typeof value === 'number') {
        latest.textContent = 'now ' + fmt.si(value) + (entry.agent ? ' (' + entry.agent + ' ' + entry.dataSource + ')' : '') +
          (entry.metricN ? ' over ' + entry.metricN + ' data sources' : '');
      } else latest.textContent = 'now ' + value;
      current.times.push(Date.now());
      current.values.push(typeof value === 'number' ? value : 0);
      if (current.times.length > MAX_POINTS) {
        current.times.shift();
        current.values.shift();
      }
      RtChart.draw(canvas, {times: current.times, series: [{values: current.values, color: RtChart.COLORS[0]}],
        units: spec.agg + ':' + spec.metric});
      if (sources) {
        current.sourcesAt = Date.now();
        renderSources(results[1] || []);
      }
    });
  }

  function renderSources(rows) {
    rows.sort(function (a, b) {
      return (typeof b.metricValue === 'number' ? b.metricValue : -Infinity) - (typeof a.metricValue === 'number' ? a.metricValue : -Infinity);
    });
    var body = Rt.clear(document.querySelector('#sources tbody'));
    if (!rows.length) body.appendChild(el('tr', {}, [el('td', {colspan: 4, class: 'empty', text: 'No data source has this metric.'})]));
    rows.slice(0, 100).forEach(function (row) {
      body.appendChild(el('tr', {}, [
        el('td', {class: 'mono', text: row.agent}),
        el('td', {class: 'mono', text: row.dataSource}),
        el('td', {class: 'num', text: typeof row.metricValue === 'number' ? fmt.si(row.metricValue) : row.metricValue}),
        el('td', {class: 'num', text: row.lastUpdate !== undefined ? fmt.duration(row.lastUpdate) + ' ago' : ''})
      ]));
    });
    if (rows.length > 100) body.appendChild(el('tr', {}, [el('td', {colspan: 4, class: 'empty', text: (rows.length - 100) + ' more not shown'})]));
  }

  function submit() {
    var spec = {agent: agentSelect.value || 'ALL', agg: aggSelect.value || 'max', metric: metricInput.value.trim()};
    Rt.setParams({agent: spec.agent === 'ALL' ? '' : spec.agent, agg: spec.agg === 'max' ? '' : spec.agg, metric: spec.metric});
    if (!spec.metric) {
      Rt.message('Enter a metric name, e.g. ifinutilization.', 'notice');
      return;
    }
    show(spec);
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    submit();
  });
  window.addEventListener('resize', function () {
    if (view) RtChart.draw(canvas, {times: view.times, series: [{values: view.values, color: RtChart.COLORS[0]}], units: view.spec.agg + ':' + view.spec.metric});
  });

  var params = Rt.params();
  aggSelect.value = params.get('agg') || 'max';
  metricInput.value = params.get('metric') || '';
  fillAgents(params.get('agent')).catch(function (error) { Rt.message(error.message); }).then(function () {
    if (metricInput.value) submit();
  });
})();
