/* rtflow API explorer: lists the operations of an OpenAPI 3 (or Swagger 2.0) description and sends tries to this
 * server. By default the description is /api-docs and paths are relative to the server root; an app's API page
 * sets data-docs (its api-docs, asked for as JSON) and data-base (its scripts' URL) on <body>. */
(function () {
  'use strict';
  var el = Rt.el;
  var METHODS = ['get', 'put', 'post', 'delete'];
  var list = document.getElementById('endpoints');
  var find = document.getElementById('find');
  var count = 0;
  var docsUrl = document.body.getAttribute('data-docs');
  var base = document.body.getAttribute('data-base') || '..';

  Rt.header(document.body.getAttribute('data-page'));

  /* A JSON skeleton of a schema, for the request body box. */
  function example(schema, docs, depth) {
    if (!schema || depth > 4) return null;
    if (schema.$ref) return example(resolve(schema.$ref, docs), docs, depth + 1);
    if (schema.example !== undefined) return schema.example;
    switch (schema.type) {
      case 'object':
        var object = {};
        Object.keys(schema.properties || {}).forEach(function (name) {
          object[name] = example(schema.properties[name], docs, depth + 1);
        });
        return object;
      case 'array': return [];
      case 'string': return '';
      case 'boolean': return false;
      case 'number': case 'integer': return 0;
      default: return null;
    }
  }

  function resolve(ref, docs) {
    return ref.replace(/^#\//, '').split('/').reduce(function (node, part) { return node && node[part]; }, docs);
  }

  function operation(path, method, op, docs) {
    var id = 'op-' + count++;
    var declared = (op.parameters || []).map(function (p) { return p.$ref ? resolve(p.$ref, docs) : p; });
    // Swagger 2.0 describes the request body as an `in: body` parameter.
    var bodyParameter = declared.filter(function (p) { return p.in === 'body'; })[0];
    var parameters = declared.filter(function (p) { return p.in === 'path' || p.in === 'query'; });
    var stream = op.responses && op.responses['200'] && op.responses['200'].content &&
      op.responses['200'].content['text/event-stream'];
    var inputs = {};
    var fields = parameters.map(function (p) {
      var input = el('input', {id: id + '-' + p.name, name: p.name, required: p.required ? true : null,
        placeholder: p.in === 'path' ? 'required' : '', spellcheck: 'false'});
      inputs[p.name] = {input: input, where: p.in};
      return el('label', {for: input.id}, [p.name + (p.in === 'path' ? ' (path)' : ''), input,
        p.description ? el('span', {class: 'hint', text: p.description}) : null]);
    });
    var body = null;
    if (op.requestBody || bodyParameter) {
      var content = op.requestBody ? op.requestBody.content || {} : {};
      var media = content['application/json'] || content[Object.keys(content)[0]] || {};
      var schema = bodyParameter ? bodyParameter.schema : media.schema;
      body = el('textarea', {id: id + '-body', 'aria-label': 'request body (JSON)', spellcheck: 'false'});
      body.value = JSON.stringify(example(schema, docs, 0) || {}, null, 2);
    }
    var output = el('pre', {class: 'response', hidden: true, 'aria-live': 'polite'});
    var curl = el('code', {class: 'mono'});
    var send = el('button', {type: 'submit', class: 'primary', text: stream ? 'Open stream' : 'Send'});
    var form = el('form', {class: 'bar'}, fields.concat([send]));
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var url = base + path.replace(/\{([^}]+)\}/g, function (all, name) {
        return encodeURIComponent(inputs[name] ? inputs[name].input.value : '');
      });
      var query = Object.keys(inputs).filter(function (name) {
        return inputs[name].where === 'query' && inputs[name].input.value !== '';
      }).map(function (name) {
        return encodeURIComponent(name) + '=' + encodeURIComponent(inputs[name].input.value);
      });
      if (query.length) url += '?' + query.join('&');
      var absolute = new URL(url, window.location.href).href;
      curl.textContent = 'curl' + (method === 'get' ? '' : ' -X ' + method.toUpperCase()) +
        (body ? " -H 'Content-Type: application/json' -d '" + body.value.replace(/\s+/g, ' ') + "'" : '') + " '" + absolute + "'";
      if (stream) {
        window.open(url, '_blank');
        return;
      }
      var options = {method: method.toUpperCase(), headers: {}};
      if (body) {
        options.headers['Content-Type'] = 'application/json';
        options.body = body.value;
      }
      var started = performance.now();
      output.hidden = false;
      output.textContent = 'sending…';
      fetch(url, options).then(function (response) {
        return response.text().then(function (text) {
          var shownText = text;
          try { shownText = JSON.stringify(JSON.parse(text), null, 2); } catch (ignore) { /* not JSON */ }
          output.textContent = response.status + ' ' + response.statusText + ' · ' +
            Math.round(performance.now() - started) + ' ms\n\n' + shownText;
        });
      }, function (error) {
        output.textContent = 'request failed: ' + error.message;
      });
    });
    return el('details', {class: 'endpoint', 'data-path': path, 'data-method': method}, [
      el('summary', {}, [el('span', {class: 'method ' + method, text: method.toUpperCase()}),
        el('code', {text: path}), el('span', {class: 'hint', text: op.summary || op.description || ''})]),
      el('div', {class: 'body'}, [
        op.description && op.description !== op.summary ? el('p', {text: op.description}) : null,
        form,
        body ? el('label', {for: body.id, class: 'hint', text: 'Request body (JSON)'}) : null,
        body,
        el('p', {}, [curl]),
        output
      ])
    ]);
  }

  function render(docs) {
    Rt.clear(list);
    document.getElementById('api-version').textContent = (docs.info && docs.info.title ? docs.info.title + ' ' : '') +
      (docs.info && docs.info.version ? docs.info.version : '');
    Object.keys(docs.paths || {}).sort().forEach(function (path) {
      var item = docs.paths[path];
      METHODS.forEach(function (method) {
        if (item[method]) list.appendChild(operation(path, method, item[method], docs));
      });
    });
  }

  find.addEventListener('input', function () {
    var wanted = find.value.trim().toLowerCase();
    Array.prototype.forEach.call(list.children, function (node) {
      node.hidden = !!wanted && node.textContent.toLowerCase().indexOf(wanted) < 0;
    });
  });

  function loadDocs() {
    if (!docsUrl) return Rt.api.get('api-docs');
    return fetch(docsUrl, {headers: {Accept: 'application/json'}}).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.json();
    });
  }

  loadDocs().then(function (docs) {
    Rt.connected(true);
    render(docs);
  }, function (error) {
    Rt.connected(false);
    Rt.message('Cannot read ' + (docsUrl || '/api-docs') + ': ' + error.message);
  });
})();
