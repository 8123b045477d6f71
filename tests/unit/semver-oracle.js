// node-semver as the oracle of test_version: reads "range<TAB>version"
// lines on stdin, prints "in" or "out" per line (satisfies() with default
// options; an invalid range or version is "out", as satisfies() says).
// Usage: node semver-oracle.js DIR_WITH_node_modules
'use strict';
const path = require('path');
const semver = require(path.resolve(process.argv[2], 'node_modules', 'semver'));
const lines = require('fs').readFileSync(0, 'utf8').split('\n');
const out = [];
for (const line of lines) {
  if (line === '') continue;
  const [range, version] = line.split('\t');
  out.push(semver.satisfies(version, range) ? 'in' : 'out');
}
process.stdout.write(out.join('\n') + '\n');
