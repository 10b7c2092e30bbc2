/* rtflow apps page: the installed sFlow-RT apps (/apps/json) with links to their pages. Servers without app
 * support (no /apps/json in /api-docs) get a note instead of a failed request. */
(function () {
  'use strict';
  var el = Rt.el;
  var body = document.querySelector('#apps tbody');

  Rt.header(document.body.getAttribute('data-page'));

  function note(text) {
    Rt.clear(body).appendChild(el('tr', {}, [el('td', {colspan: 4, class: 'empty', text: text})]));
  }

  /* An app's state from its scripts' entries in /scripts/json (ids "APP~SCRIPT.js"), as /app/NAME/status
   * decides it: OK while every script runs or ended cleanly, else UNAVAILABLE with the first error. */
  function appStatus(name, scriptNames, scripts) {
    var problem = null;
    scriptNames.forEach(function (script) {
      var entry = scripts[name + '~' + script];
      if (problem) return;
      if (!entry) problem = script + ': not started';
      else if (entry.error) problem = entry.error;
      else if (!entry.alive && !entry.gracefulExit) problem = script + ': stopped';
    });
    return problem ? {ok: false, text: 'UNAVAILABLE', detail: problem} : {ok: true, text: 'OK', detail: ''};
  }

  function render(apps, scripts) {
    var names = Object.keys(apps || {}).sort();
    if (!names.length) return note('No apps are installed.');
    Rt.replaceRows(body, names.map(function (name) {
      var app = apps[name] || {};
      var entry = app.entry || app.html;
      var base = '../app/' + encodeURIComponent(name);
      var href = entry ? base + (entry.charAt(0) === '/' ? entry : '/' + entry) : null;
      var scriptNames = Array.isArray(app.scripts) ? app.scripts : Object.keys(app.scripts || {});
      var status = appStatus(name, scriptNames, scripts || {});
      var links = [href ? el('a', {href: href, text: 'open'}) : el('span', {class: 'empty', text: 'no page'})];
      if (app.api) links.push(' · ', el('a', {href: base + '/api/', text: 'API'}));
      return el('tr', {'data-app': name}, [
        el('td', {class: 'mono', text: name}),
        el('td', {}, links),
        el('td', {class: 'mono', text: scriptNames.join(', ')}),
        el('td', {class: 'app-status' + (status.ok ? '' : ' bad'), title: status.detail || null,
          text: status.ok ? status.text : status.text + ': ' + status.detail})
      ]);
    }), 'data-app');
  }

  Rt.api.get('api-docs').then(function (docs) {
    if (!docs || !docs.paths || !docs.paths['/apps/json']) {
      note('This rtflow server does not run sFlow-RT apps (no /apps/json in its API).');
      return;
    }
    Rt.poll(function () {
      return Promise.all([Rt.api.get('apps/json'), Rt.api.get('scripts/json')]).then(function (results) {
        render(results[0], results[1]);
      });
    }, 5000);
  }, function (error) { Rt.message(error.message); });
})();
