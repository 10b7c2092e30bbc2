/* rtflow agents page: every agent with its host metrics and interfaces, updated every 2 seconds. */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var HISTORY = 60;
  var IN_COLOR = '#3366cc', OUT_COLOR = '#dc3912';
  var METRICS = ['host_name', 'machine_type', 'os_name', 'os_release', 'cpu_num', 'cpu_utilization', 'load_one',
    'mem_utilization', 'mem_total', 'disk_utilization', 'uptime', 'ifname', 'ifspeed', 'ifoperstatus',
    'ifadminstatus', 'ifinoctets', 'ifoutoctets', 'ifinutilization', 'ifoututilization', 'ifinerrors',
    'ifouterrors', 'ifindiscards', 'ifoutdiscards'];
  var container = document.getElementById('agents');
  var filter = document.getElementById('filter');
  var onlyUp = document.getElementById('only-up');
  var sections = {};     // agent address -> <details>
  var history = {};      // 'agent|dataSource' -> {in: [], out: []}
  var latest = null;
  var firstRender = true;

  Rt.header(document.body.getAttribute('data-page'));

  /* {agent: {dataSource: {metric: value}}} from /dump rows. */
  function group(rows) {
    var agents = {};
    (rows || []).forEach(function (row) {
      var sources = agents[row.agent] || (agents[row.agent] = {});
      var metrics = sources[row.dataSource] || (sources[row.dataSource] = {});
      metrics[row.metricName] = row.metricValue;
    });
    return agents;
  }

  function byIndex(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    return x === y ? (a < b ? -1 : a > b ? 1 : 0) : x - y;
  }

  function remember(key, inBps, outBps) {
    var h = history[key] || (history[key] = {in: [], out: []});
    h.in.push(inBps || 0);
    h.out.push(outBps || 0);
    if (h.in.length > HISTORY) {
      h.in.shift();
      h.out.shift();
    }
    return h;
  }

  function fact(label, value) {
    return value === undefined || value === null || value === '' ? null
      : el('div', {}, [el('dt', {text: label}), el('dd', {text: value})]);
  }

  function hostFacts(host) {
    if (!host) return null;
    var facts = [
      fact('Host name', host.host_name),
      fact('Machine', host.machine_type),
      fact('OS', host.os_name ? host.os_name + ' ' + (host.os_release || '') : null),
      fact('CPUs', host.cpu_num),
      fact('CPU', host.cpu_utilization !== undefined ? fmt.percent(host.cpu_utilization) : null),
      fact('Load (1 min)', host.load_one !== undefined ? Number(host.load_one).toFixed(2) : null),
      fact('Memory', host.mem_utilization !== undefined ? fmt.percent(host.mem_utilization) +
        (host.mem_total ? ' of ' + fmt.bytes(host.mem_total) : '') : null),
      fact('Disk', host.disk_utilization !== undefined ? fmt.percent(host.disk_utilization) : null),
      fact('Host uptime', host.uptime !== undefined ? fmt.duration(host.uptime * 1000) : null)
    ].filter(Boolean);
    return facts.length ? el('dl', {class: 'facts'}, facts) : null;
  }

  function statusCell(value) {
    return el('td', {class: value === 'up' ? 'up' : value === 'down' ? 'down' : '', text: value || '–'});
  }

  function interfaceTable(address, sources) {
    var indexes = Object.keys(sources).filter(function (ds) {
      var m = sources[ds];
      return (m.ifname !== undefined || m.ifspeed !== undefined || m.ifinoctets !== undefined) &&
        !(onlyUp.checked && m.ifoperstatus !== undefined && m.ifoperstatus !== 'up');
    }).sort(byIndex);
    if (!indexes.length) {
      return el('p', {class: 'empty', text: onlyUp.checked ? 'No interface of this agent is up.' : 'No interface counters from this agent.'});
    }
    var rows = indexes.map(function (ds) {
      var m = sources[ds];
      var inBps = m.ifinoctets !== undefined ? m.ifinoctets * 8 : null;
      var outBps = m.ifoutoctets !== undefined ? m.ifoutoctets * 8 : null;
      var h = history[address + '|' + ds] || {in: [], out: []};
      var spark = el('canvas', {class: 'spark', role: 'img',
        'aria-label': 'in and out traffic of ' + (m.ifname || ds) + ' over the last two minutes'});
      var row = el('tr', {'data-datasource': ds}, [
        el('td', {class: 'num', text: ds}),
        el('td', {class: 'mono', text: m.ifname || ''}),
        el('td', {class: 'num', text: m.ifspeed ? fmt.si(m.ifspeed, 'bit/s') : '–'}),
        statusCell(m.ifoperstatus),
        el('td', {class: 'hide-narrow', text: m.ifadminstatus || '–'}),
        el('td', {class: 'num', text: fmt.si(inBps, 'bit/s')}),
        el('td', {class: 'num', text: fmt.si(outBps, 'bit/s')}),
        el('td', {class: 'num hide-narrow', text: m.ifinutilization !== undefined ? fmt.percent(m.ifinutilization) + ' / ' + fmt.percent(m.ifoututilization) : '–'}),
        el('td', {class: 'num hide-narrow', text: fmt.count((m.ifinerrors || 0) + (m.ifouterrors || 0)) + ' / ' + fmt.count((m.ifindiscards || 0) + (m.ifoutdiscards || 0))}),
        el('td', {}, [spark])
      ]);
      row.spark = {canvas: spark, history: h};
      return row;
    });
    var table = el('table', {class: 'data'}, [
      el('thead', {}, [el('tr', {}, [
        el('th', {scope: 'col', class: 'num', text: 'ifIndex'}), el('th', {scope: 'col', text: 'Name'}),
        el('th', {scope: 'col', class: 'num', text: 'Speed'}), el('th', {scope: 'col', text: 'Oper'}),
        el('th', {scope: 'col', class: 'hide-narrow', text: 'Admin'}), el('th', {scope: 'col', class: 'num', text: 'In'}),
        el('th', {scope: 'col', class: 'num', text: 'Out'}), el('th', {scope: 'col', class: 'num hide-narrow', text: 'Util in / out'}),
        el('th', {scope: 'col', class: 'num hide-narrow', text: 'Errors / discards (pkt/s)'}), el('th', {scope: 'col', text: 'Last 2 min'})
      ])]),
      el('tbody', {}, rows)
    ]);
    table.sparkRows = rows;
    return el('div', {class: 'scroll'}, [table]);
  }

  function section(address) {
    var details = sections[address];
    if (!details) {
      details = el('details', {class: 'agent', id: 'agent-' + address, 'data-agent': address});
      details.addEventListener('toggle', function () { if (details.open) drawSparks(details); });
      sections[address] = details;
    }
    return details;
  }

  function drawSparks(details) {
    Array.prototype.forEach.call(details.querySelectorAll('tr[data-datasource]'), function (row) {
      if (row.spark) Rt.sparkline(row.spark.canvas, [{values: row.spark.history.in, color: IN_COLOR}, {values: row.spark.history.out, color: OUT_COLOR}]);
    });
  }

  function render() {
    if (!latest) return;
    var agents = latest.agents, metrics = latest.metrics;
    var addresses = Object.keys(agents).sort();
    var wanted = filter.value.trim().toLowerCase();
    if (!addresses.length) {
      Rt.clear(container).appendChild(el('p', {class: 'empty', text: 'No sFlow agent has sent data yet.'}));
      return;
    }
    var emptyNote = container.querySelector('p.empty');
    if (emptyNote) emptyNote.remove();
    addresses.forEach(function (address) {
      var sources = metrics[address] || {};
      var hostSource = Object.keys(sources).filter(function (ds) { return sources[ds].host_name !== undefined; })[0];
      var host = hostSource ? sources[hostSource] : null;
      var name = host && host.host_name ? String(host.host_name) : '';
      var details = section(address);
      if (firstRender) details.open = addresses.length <= 8 || window.location.hash === '#agent-' + address;
      var interfaces = Object.keys(sources).filter(function (ds) { return sources[ds].ifoperstatus !== undefined; });
      var up = interfaces.filter(function (ds) { return sources[ds].ifoperstatus === 'up'; }).length;
      var totalIn = 0, totalOut = 0;
      Object.keys(sources).forEach(function (ds) {
        totalIn += (sources[ds].ifinoctets || 0) * 8;
        totalOut += (sources[ds].ifoutoctets || 0) * 8;
      });
      var entry = agents[address];
      var summary = details.querySelector('summary') || details.appendChild(el('summary'));
      // The summary element stays (it may have the keyboard focus); its content is renewed.
      [
        el('span', {class: 'name mono', text: address}),
        name ? el('span', {text: name}) : null,
        el('span', {class: 'hint', text: interfaces.length ? up + ' of ' + interfaces.length + ' interfaces up' : 'no interfaces'}),
        el('span', {class: 'hint', text: 'in ' + fmt.si(totalIn, 'bit/s') + ' · out ' + fmt.si(totalOut, 'bit/s')}),
        el('span', {class: 'hint', text: 'agent uptime ' + fmt.duration(entry.uptime)})
      ].forEach(function (part, i) {
        if (i === 0) Rt.clear(summary);
        if (part) summary.appendChild(part);
      });
      var body = el('div', {class: 'body'}, [hostFacts(host), interfaceTable(address, sources)]);
      var previousBody = details.querySelector('.body');
      if (previousBody) previousBody.replaceWith(body);
      else details.appendChild(body);
      details.hidden = !!wanted && address.toLowerCase().indexOf(wanted) < 0 && name.toLowerCase().indexOf(wanted) < 0;
      container.appendChild(details);
      if (details.open) drawSparks(details);
    });
    Object.keys(sections).forEach(function (address) {
      if (!agents[address]) {
        sections[address].remove();
        delete sections[address];
      }
    });
    if (firstRender && window.location.hash && sections[window.location.hash.slice(7)]) {
      sections[window.location.hash.slice(7)].scrollIntoView();
    }
    firstRender = false;
  }

  filter.addEventListener('input', render);
  onlyUp.addEventListener('change', render);
  document.getElementById('expand').addEventListener('click', function () {
    Object.keys(sections).forEach(function (a) { sections[a].open = true; });
  });
  document.getElementById('collapse').addEventListener('click', function () {
    Object.keys(sections).forEach(function (a) { sections[a].open = false; });
  });
  window.addEventListener('resize', function () {
    Object.keys(sections).forEach(function (a) { if (sections[a].open) drawSparks(sections[a]); });
  });

  Rt.poll(function () {
    return Promise.all([Rt.api.get('agents/json'), Rt.api.get('dump/ALL/' + METRICS.join(',') + '/json')])
      .then(function (results) {
        latest = {agents: results[0] || {}, metrics: group(results[1])};
        Object.keys(latest.metrics).forEach(function (address) {
          var sources = latest.metrics[address];
          Object.keys(sources).forEach(function (ds) {
            var m = sources[ds];
            if (m.ifinoctets !== undefined || m.ifoutoctets !== undefined) {
              remember(address + '|' + ds, (m.ifinoctets || 0) * 8, (m.ifoutoctets || 0) * 8);
            }
          });
        });
        render();
      });
  }, 2000);
})();
