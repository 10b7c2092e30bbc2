/* rtflow history browser: the top flows over a past range, answered by ClickHouse (/history/trend for the stacked
 * chart, /history/activeflows for the table of averages). The view lives in the URL
 * (?keys=…&value=…&filter=…&range=…&top=…). */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var VALUES = {
    bps: {value: 'bits', title: 'Bits per Second', unit: 'bit/s'},
    Bps: {value: 'bytes', title: 'Bytes per Second', unit: 'B/s'},
    fps: {value: 'frames', title: 'Frames per Second', unit: 'frames/s'}
  };
  var OTHER = '-other-';
  var inputs = {
    keys: document.getElementById('keys'),
    value: document.getElementById('value'),
    filter: document.getElementById('filter'),
    range: document.getElementById('range'),
    top: document.getElementById('top')
  };
  var canvas = document.getElementById('chart-canvas');
  var shown = null;   // {spec, measure, fields, trend, flows}
  var asked = 0;      // the latest request: older answers are ignored

  Rt.header(document.body.getAttribute('data-page'));
  Rt.autocomplete(inputs.keys, {separators: /,/, source: Rt.flowKeys});
  Rt.autocomplete(inputs.filter, {separators: /[&|(!]/, after: '=', source: Rt.flowKeys});

  function readForm() {
    return {
      keys: inputs.keys.value.split(',').map(function (k) { return k.trim(); }).filter(Boolean).join(','),
      value: VALUES[inputs.value.value] ? inputs.value.value : 'bps',
      filter: inputs.filter.value.trim(),
      range: inputs.range.value,
      top: parseInt(inputs.top.value, 10) || 10
    };
  }

  function show(spec) {
    var measure = VALUES[spec.value];
    var query = 'keys=' + encodeURIComponent(spec.keys) + '&value=' + measure.value + '&from=-' + spec.range +
      '&to=now&maxFlows=' + spec.top + (spec.filter ? '&filter=' + encodeURIComponent(spec.filter) : '');
    var mine = ++asked;
    Rt.message('Asking ClickHouse…', 'notice');
    Promise.all([
      Rt.api.get('history/trend/ALL/json?' + query),
      Rt.api.get('history/activeflows/ALL/json?' + query)
    ]).then(function (answers) {
      if (mine !== asked) return;
      Rt.message('');
      shown = {spec: spec, measure: measure, fields: spec.keys.split(','), trend: answers[0], flows: answers[1] || []};
      document.getElementById('help').hidden = true;
      document.getElementById('view').hidden = false;
      document.getElementById('view-title').textContent = measure.title + ' by ' + shown.fields.join(', ') +
        (spec.filter ? ' where ' + spec.filter : '');
      document.getElementById('source').textContent = 'from ' + answers[0].table + ', ' +
        fmt.duration(answers[0].step * 1000) + ' steps';
      document.getElementById('share').href = window.location.href;
      draw();
    }, function (error) {
      if (mine !== asked) return;
      Rt.message(error.message);
    });
  }

  function colorOf(key, index) {
    return key === OTHER ? RtChart.OTHER_COLOR : RtChart.COLORS[index % RtChart.COLORS.length];
  }

  function draw() {
    if (!shown) return;
    var trend = shown.trend;
    var colors = Object.create(null);
    var series = trend.series.map(function (s, i) {
      colors[s.key] = colorOf(s.key, i);
      return {values: s.values, color: colors[s.key]};
    });
    RtChart.draw(canvas, {times: trend.times, series: series, stack: true, step: true, units: shown.measure.title});
    renderTable(colors);
  }

  function renderTable(colors) {
    var table = document.getElementById('legend'), fields = shown.fields, measure = shown.measure;
    var total = shown.flows.reduce(function (sum, flow) { return sum + flow.value; }, 0);
    Rt.clear(table.tHead).appendChild(el('tr', {}, [el('th', {scope: 'col', text: 'Flow'})]
      .concat(fields.map(function (field) { return el('th', {scope: 'col', text: field}); }))
      .concat([el('th', {scope: 'col', class: 'num', text: 'Average ' + measure.unit}),
        el('th', {scope: 'col', class: 'num', text: 'Share'})])));
    var rows = shown.flows.map(function (flow, i) {
      var values = flow.key.split(',');
      return el('tr', {'data-key': flow.key}, [
        el('td', {}, [el('span', {class: 'swatch', style: 'background:' + (colors[flow.key] || colorOf('', i))})])
      ].concat(fields.map(function (field, j) {
        return el('td', {class: 'key', text: values[j] === undefined ? '' : values[j]});
      })).concat([
        el('td', {class: 'num', text: fmt.si(flow.value, measure.unit)}),
        el('td', {class: 'num', text: total > 0 ? fmt.percent(100 * flow.value / total) : '–'})
      ]));
    });
    if (!rows.length) {
      rows.push(el('tr', {}, [el('td', {colspan: fields.length + 3, class: 'empty', text: 'No flows stored in this range.'})]));
    }
    Rt.replaceRows(table.tBodies[0], rows, 'data-key');
  }

  function submit() {
    var spec = readForm();
    Rt.setParams({keys: spec.keys, value: spec.value === 'bps' ? '' : spec.value, filter: spec.filter,
      range: spec.range === '1d' ? '' : spec.range, top: spec.top === 10 ? '' : spec.top});
    if (!spec.keys) {
      Rt.message('Enter one or more keys, e.g. ipsource,ipdestination.', 'notice');
      return;
    }
    show(spec);
  }

  document.getElementById('spec').addEventListener('submit', function (event) {
    event.preventDefault();
    submit();
  });
  window.addEventListener('resize', draw);

  var params = Rt.params();
  inputs.keys.value = params.get('keys') || '';
  if (VALUES[params.get('value')]) inputs.value.value = params.get('value');
  inputs.filter.value = params.get('filter') || '';
  if (params.get('range')) inputs.range.value = params.get('range');
  if (params.get('top')) inputs.top.value = params.get('top');
  if (inputs.keys.value) submit();
})();
