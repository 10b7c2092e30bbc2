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

  function describe(value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  function render(apps) {
    var names = Object.keys(apps || {}).sort();
    if (!names.length) return note('No apps are installed.');
    Rt.clear(body);
    names.forEach(function (name) {
      var app = apps[name] || {};
      var entry = app.entry || app.html;
      var href = entry ? '../app/' + encodeURIComponent(name) + (entry.charAt(0) === '/' ? entry : '/' + entry) : null;
      var scripts = Array.isArray(app.scripts) ? app.scripts : Object.keys(app.scripts || {});
      var status = app.status || app.state;
      body.appendChild(el('tr', {'data-app': name}, [
        el('td', {class: 'mono', text: name}),
        el('td', {}, [href ? el('a', {href: href, text: 'open'}) : el('span', {class: 'empty', text: 'no page'})]),
        el('td', {class: 'mono', text: scripts.join(', ')}),
        el('td', {class: /error|fail|unavailable/i.test(describe(status)) ? 'bad' : '', text: describe(status) || 'installed'})
      ]));
    });
  }

  Rt.api.get('api-docs').then(function (docs) {
    if (!docs || !docs.paths || !docs.paths['/apps/json']) {
      note('This rtflow server does not run sFlow-RT apps (no /apps/json in its API).');
      return;
    }
    Rt.poll(function () { return Rt.api.get('apps/json').then(render); }, 5000);
  }, function (error) { Rt.message(error.message); });
})();
