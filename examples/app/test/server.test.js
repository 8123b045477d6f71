'use strict';
// Unit tests with node's built-in assert; writes JUnit XML for the pipeline.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { handler } = require('../server');

function call(url) {
  const out = { status: 0, body: '', headers: {} };
  handler({ url }, {
    writeHead(status, headers) { out.status = status; out.headers = headers; },
    end(body) { out.body = body; },
  });
  return out;
}

const cases = [
  ['greets on /', () => { const r = call('/'); assert.strictEqual(r.status, 200); assert.match(r.body, /Hello/); }],
  ['health check is JSON ok', () => { const r = call('/healthz'); assert.deepStrictEqual(JSON.parse(r.body), { status: 'ok' }); }],
];

let failures = 0;
const results = cases.map(([name, fn]) => {
  try { fn(); return { name }; } catch (e) { failures++; return { name, error: String(e.message) }; }
});
const xml = ['<?xml version="1.0" encoding="UTF-8"?>',
  `<testsuite name="hello-secure-app" tests="${results.length}" failures="${failures}">`,
  ...results.map(r => r.error
    ? `  <testcase name="${r.name}"><failure message="${r.error.replace(/"/g, '&quot;')}"/></testcase>`
    : `  <testcase name="${r.name}"/>`),
  '</testsuite>', ''].join('\n');
fs.mkdirSync(path.join(__dirname, '..', 'reports'), { recursive: true });
fs.writeFileSync(path.join(__dirname, '..', 'reports', 'junit.xml'), xml);
results.forEach(r => console.log(`${r.error ? 'not ok' : 'ok'} - ${r.name}${r.error ? ': ' + r.error : ''}`));
process.exit(failures ? 1 : 0);
