/* rtflow thresholds and events: list, add and remove thresholds; events appear as they fire (/events/sse). */
(function () {
  'use strict';
  var el = Rt.el, fmt = Rt.fmt;
  var MAX_EVENTS = 500;
  var form = document.getElementById('add');
  var eventsBody = document.querySelector('#events tbody');
  var shown = {};       // eventID -> true
  var newest = 0;

  Rt.header(document.body.getAttribute('data-page'));
  Rt.autocomplete(document.getElementById('metric'), {
    source: function () {
      return Promise.all([Rt.metricNames(), Rt.api.get('flow/json')]).then(function (results) {
        return results[0].concat(Object.keys(results[1] || {})).sort();
      });
    }
  });

  function loadThresholds() {
    return Rt.api.get('threshold/json').then(function (thresholds) {
      var names = Object.keys(thresholds || {}).sort();
      var rows = names.length ? [] : [el('tr', {}, [el('td', {colspan: 7, class: 'empty', text: 'No thresholds.'})])];
      names.forEach(function (name) {
        var t = thresholds[name];
        rows.push(el('tr', {'data-threshold': name}, [
          el('td', {class: 'mono', text: name}),
          el('td', {class: 'mono', text: t.metric}),
          el('td', {class: 'num', text: fmt.si(t.value)}),
          el('td', {text: t.byFlow ? 'yes' : 'no'}),
          el('td', {class: 'num', text: t.timeout !== undefined ? t.timeout + ' s' : ''}),
          el('td', {class: 'mono', text: t.filter ? JSON.stringify(t.filter) : ''}),
          el('td', {}, [el('button', {type: 'button', class: 'danger', text: 'Remove', 'aria-label': 'Remove threshold ' + name,
            onclick: function () { remove(name); }})])
        ]));
      });
      Rt.replaceRows(document.querySelector('#thresholds tbody'), rows, 'data-threshold');
    });
  }

  function remove(name) {
    Rt.api.del('threshold/' + encodeURIComponent(name) + '/json').then(loadThresholds, function (error) {
      Rt.message('Cannot remove ' + name + ': ' + error.message);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var name = document.getElementById('name').value.trim();
    var threshold = {
      metric: document.getElementById('metric').value.trim(),
      value: parseFloat(document.getElementById('value').value),
      byFlow: document.getElementById('byflow').checked
    };
    var timeout = document.getElementById('timeout').value;
    if (timeout !== '') threshold.timeout = parseFloat(timeout);
    Rt.api.put('threshold/' + encodeURIComponent(name) + '/json', threshold).then(function () {
      Rt.message('');
      form.reset();
      return loadThresholds();
    }, function (error) {
      Rt.message('Cannot add threshold ' + name + ': ' + error.message);
    });
  });

  function addEvent(event, atTop) {
    if (shown[event.eventID]) return;
    shown[event.eventID] = true;
    newest = Math.max(newest, event.eventID);
    var empty = eventsBody.querySelector('td.empty');
    if (empty) empty.parentNode.remove();
    var row = el('tr', {'data-event': event.eventID, 'data-threshold': event.thresholdID}, [
      el('td', {class: 'num', text: event.eventID}),
      el('td', {text: fmt.time(event.timestamp)}),
      el('td', {class: 'mono', text: event.thresholdID}),
      el('td', {class: 'mono', text: event.agent}),
      el('td', {class: 'mono', text: event.dataSource}),
      el('td', {class: 'mono', text: event.metric}),
      el('td', {class: 'num', text: fmt.si(event.value)}),
      el('td', {class: 'num', text: fmt.si(event.threshold)}),
      el('td', {class: 'mono', text: event.flowKey || ''})
    ]);
    if (atTop) eventsBody.insertBefore(row, eventsBody.firstChild);
    else eventsBody.appendChild(row);
    while (eventsBody.rows.length > MAX_EVENTS) eventsBody.deleteRow(eventsBody.rows.length - 1);
  }

  /* The latest events, then a server-sent event stream from the newest one on (the browser reconnects by
   * itself and resumes from the last id it saw). */
  function follow() {
    var status = document.getElementById('stream');
    Rt.api.get('events/json?maxEvents=100').then(function (events) {
      (events || []).forEach(function (event) { addEvent(event, false); });
      if (!eventsBody.rows.length) eventsBody.appendChild(el('tr', {}, [el('td', {colspan: 9, class: 'empty', text: 'No events yet.'})]));
      var source = new EventSource('../events/sse?eventID=' + newest);
      source.onopen = function () { status.textContent = 'live'; Rt.connected(true); };
      source.onerror = function () { status.textContent = 'reconnecting…'; };
      source.onmessage = function (message) {
        try {
          addEvent(JSON.parse(message.data), true);
        } catch (error) {
          Rt.message('Unreadable event: ' + error.message);
        }
      };
      window.addEventListener('pagehide', function () { source.close(); });
    }, function (error) {
      status.textContent = 'unavailable';
      Rt.message(error.message);
      setTimeout(follow, 5000);
    });
  }

  Rt.poll(loadThresholds, 5000);
  follow();
})();
