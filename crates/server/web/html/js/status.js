/* rtflow status page: collector totals and one row per sFlow agent, updated every second. */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var previous = null;
  var hosts = {}, hostsAt = 0;

  Rt.header(document.body.getAttribute('data-page'));

  function sum(agents, field) {
    return Object.keys(agents).reduce(function (total, a) { return total + (agents[a][field] || 0); }, 0);
  }

  function samples(entry) {
    return (entry.sFlowFlowSamples || 0) + (entry.sFlowCounterSamples || 0);
  }

  /* The per-second change of `get(snapshot)` since the previous snapshot, or null on the first one. */
  function perSecond(now, get) {
    if (!previous) return null;
    var seconds = (now.at - previous.at) / 1000;
    var before = get(previous), after = get(now);
    if (before === undefined || after === undefined || seconds <= 0) return null;
    return Math.max(0, (after - before) / seconds);
  }

  function card(label, value, sub, id) {
    return el('div', {class: 'card', id: id || null}, [
      el('div', {class: 'label', text: label}),
      el('div', {class: 'value', text: value}),
      sub ? el('div', {class: 'sub', text: sub}) : null
    ]);
  }

  function rateText(value, unit) {
    return value === null ? '…' : Rt.fmt.si(value, unit);
  }

  function render(now) {
    var a = now.analyzer, agents = now.agents;
    var datagramsPerSecond = perSecond(now, function (s) { return s.analyzer.sFlowDatagramsReceived; });
    var flowSamples = perSecond(now, function (s) { return s.analyzer.sFlowFlowSamples; });
    var counterSamples = perSecond(now, function (s) { return s.analyzer.sFlowCounterSamples; });
    var bitsPerSecond = perSecond(now, function (s) { return s.analyzer.sFlowBytesReceived * 8; });
    var lost = sum(agents, 'sFlowDatagramsLost');
    var outOfOrder = sum(agents, 'sFlowDatagramsOutOfOrder');
    var cards = Rt.clear(document.getElementById('cards'));
    [
      card('Agents', fmt.count(a.sFlowAgents), a.sFlowAgentsOverLimit ? a.sFlowAgentsOverLimit + ' over the limit' : null, 'card-agents'),
      card('Datagrams/s', rateText(datagramsPerSecond), fmt.count(a.sFlowDatagramsReceived) + ' received', 'card-datagrams'),
      card('Samples/s', rateText(flowSamples === null ? null : flowSamples + counterSamples),
        'flow ' + rateText(flowSamples) + ' · counter ' + rateText(counterSamples), 'card-samples'),
      card('sFlow traffic', rateText(bitsPerSecond, 'bit/s'), fmt.bytes(a.sFlowBytesReceived || 0) + ' received'),
      card('Decode errors', fmt.count(a.sFlowDecodeErrors), 'datagrams not understood', 'card-errors'),
      card('Lost datagrams', fmt.count(lost), 'out of order ' + fmt.count(outOfOrder), 'card-lost'),
      card('Kernel drops', fmt.count(a.sFlowDatagramsDropped), a.sFlowReceiveBuffer ? 'receive buffer ' + fmt.bytes(a.sFlowReceiveBuffer) : 'socket receive queue'),
      card('Uptime', fmt.duration(a.uptime), 'version ' + a.version, 'card-uptime'),
      card('CPU', fmt.percent((a.cpuLoadProcess || 0) * 100), 'system ' + fmt.percent((a.cpuLoadSystem || 0) * 100)),
      card('Memory', fmt.bytes(a.heapUsed || 0), a.heapMax ? 'of ' + fmt.bytes(a.heapMax) + ' on the host' : null),
      card('Flows · thresholds', fmt.count(a.flowDefinitions) + ' · ' + fmt.count(a.thresholds), 'definitions'),
      card('HTTP connections', fmt.count(a.httpConnectionsCurrent), fmt.count(a.httpConnectionsTotal) + ' in total'),
      a.sFlowDatagramsReplayed ? card('Replay', a.replayFinished ? 'finished' : 'running', fmt.count(a.sFlowDatagramsReplayed) + ' datagrams') : null
    ].forEach(function (c) { if (c) cards.appendChild(c); });
    renderHistory(now);
    renderAgents(now);
  }

  /* The ClickHouse export (`history*` fields of /analyzer/json, present only when `--clickhouse` is set) and the
   * SNMP poller that names its rows (`snmp*`). */
  function renderHistory(now) {
    var a = now.analyzer;
    var section = document.getElementById('history');
    if (a.historyRowsWritten === undefined) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    var rowsPerSecond = perSecond(now, function (s) { return s.analyzer.historyRowsWritten; });
    var dropped = (a.historySpoolDroppedRows || 0) + (a.historyDatagramsLost || 0);
    // historyLastInsert is wall-clock time, `time` the engine's (ahead during a fast replay): show it as a time.
    var lastInsert = a.historyLastInsert ? 'at ' + fmt.time(a.historyLastInsert) : 'none yet';
    var cards = Rt.clear(document.getElementById('history-cards'));
    [
      card('Rows written', fmt.count(a.historyRowsWritten), rateText(rowsPerSecond, 'rows/s') + ' · last insert ' + lastInsert, 'card-history-rows'),
      card('Batches written', fmt.count(a.historyBatchesWritten), fmt.count(a.historyRowsBatched) + ' rows batched', 'card-history-batches'),
      card('Insert retries', fmt.count(a.historyInsertRetries), fmt.count(a.historyRowsRejected) + ' rows rejected', 'card-history-retries'),
      card('Spool', fmt.bytes(a.historySpoolBytes || 0), fmt.count(a.historySpoolBatches) + ' batches · ' + fmt.count(a.historySpoolRows) + ' rows waiting', 'card-history-spool'),
      card('Dropped', fmt.count(dropped), fmt.count(a.historySpoolDroppedRows) + ' rows (spool full) · ' + fmt.count(a.historyDatagramsLost) + ' datagrams (exporter stuck) · ingest waited ' + fmt.count(a.historyQueueWaits) + '×', 'card-history-dropped'),
      a.snmpPolls !== undefined ? card('SNMP names', fmt.count(a.snmpAgentsNamed) + ' of ' + fmt.count(a.snmpAgents) + ' agents',
        fmt.count(a.snmpPolls) + ' polls · ' + fmt.count(a.snmpPollErrors) + ' errors', 'card-history-snmp') : null
    ].forEach(function (c) { if (c) cards.appendChild(c); });
    if (dropped) document.querySelector('#card-history-dropped .value').classList.add('bad');
    var error = document.getElementById('history-error');
    error.hidden = !a.historyLastError;
    // The error can hold a whole INSERT URL: the first 400 characters here, all of it in the tooltip.
    var text = a.historyLastError || '';
    error.textContent = text ? 'Last ClickHouse error: ' + (text.length > 400 ? text.slice(0, 400) + '…' : text) : '';
    error.title = text;
    error.classList.toggle('bad', !!a.historyLastError);
  }

  function renderAgents(now) {
    var agents = now.agents;
    var body = document.querySelector('#agents tbody');
    var addresses = Object.keys(agents).sort(compareAddresses);
    if (!addresses.length) {
      Rt.clear(body).appendChild(el('tr', {}, [el('td', {colspan: 11, class: 'empty', text: 'No sFlow agent has sent data yet.'})]));
      return;
    }
    Rt.replaceRows(body, addresses.map(function (address) {
      var entry = agents[address];
      var datagrams = perSecond(now, function (s) { return s.agents[address] && s.agents[address].sFlowDatagramsReceived; });
      var sampleRate = perSecond(now, function (s) { return s.agents[address] && samples(s.agents[address]); });
      return el('tr', {'data-agent': address}, [
        el('td', {class: 'mono'}, [el('a', {href: 'agents.html#agent-' + address, text: address})]),
        el('td', {text: hosts[address] || ''}),
        el('td', {class: 'num rate-datagrams', text: rateText(datagrams)}),
        el('td', {class: 'num rate-samples', text: rateText(sampleRate)}),
        el('td', {class: 'num', text: fmt.count(entry.sFlowDatagramsReceived)}),
        el('td', {class: 'num' + (entry.sFlowDatagramsLost ? ' bad' : ''), text: fmt.count(entry.sFlowDatagramsLost)}),
        el('td', {class: 'num' + (entry.sFlowDatagramsOutOfOrder ? ' bad' : ''), text: fmt.count(entry.sFlowDatagramsOutOfOrder)}),
        el('td', {class: 'num', text: fmt.count(entry.sFlowDatagramsDuplicates)}),
        el('td', {class: 'num' + (entry.sFlowDecodeErrors ? ' bad' : ''), text: fmt.count(entry.sFlowDecodeErrors)}),
        el('td', {class: 'num', text: fmt.duration(entry.lastSeen) + ' ago'}),
        el('td', {class: 'num', text: fmt.duration(entry.uptime)})
      ]);
    }), 'data-agent');
  }

  /* IPv4 before IPv6, numerically. */
  function compareAddresses(a, b) {
    var pa = a.split('.'), pb = b.split('.');
    if (pa.length === 4 && pb.length === 4) {
      for (var i = 0; i < 4; i++) if (+pa[i] !== +pb[i]) return +pa[i] - +pb[i];
      return 0;
    }
    if (pa.length !== pb.length) return pb.length - pa.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  Rt.poll(function () {
    // Host names come with host counters, which may follow an agent's first datagrams: ask again soon while
    // some agent has none.
    var unnamed = previous && Object.keys(previous.agents).some(function (a) { return !hosts[a]; });
    var refreshHosts = Date.now() - hostsAt > (unnamed ? 2000 : 10000);
    return Promise.all([
      Rt.api.get('analyzer/json'),
      Rt.api.get('agents/json'),
      refreshHosts ? Rt.hostNames().catch(function () { return hosts; }) : hosts
    ]).then(function (results) {
      if (refreshHosts) {
        hosts = results[2];
        hostsAt = Date.now();
      }
      var now = {at: performance.now(), analyzer: results[0] || {}, agents: results[1] || {}};
      render(now);
      previous = now;
    });
  }, 1000);
})();
