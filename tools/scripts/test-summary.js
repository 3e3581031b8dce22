#!/usr/bin/env node
// Adds up the jest JSON reports in a folder (one per nx project) and prints one closing line:
//   tests: N passed, N failed, N skipped
// Exits 1 when a test failed, a suite failed to run, or no test ran at all.
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2] ?? '.data/test-results';
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
let passed = 0,
  failed = 0,
  skipped = 0,
  brokenSuites = 0;
const failures = [];
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  brokenSuites += r.numRuntimeErrorTestSuites;
  const project = f.replace(/\.json$/, '');
  for (const suite of r.testResults ?? []) {
    const file = path.relative(process.cwd(), suite.name);
    if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((a) => a.status === 'failed'))
      failures.push(`${project}: ${file} (suite failed to run)\n${firstLines(suite.message)}`);
    for (const a of suite.assertionResults ?? [])
      if (a.status === 'failed') failures.push(`${project}: ${file} › ${a.fullName}\n${firstLines((a.failureMessages ?? []).join('\n'))}`);
  }
  console.log(`  ${project.padEnd(20)} ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
}
// The failures come last, just above the closing line, so the tail of a long CI log names them.
if (failures.length) console.log(`\nfailed:\n${failures.join('\n')}`);
if (brokenSuites) console.log(`${brokenSuites} test suite(s) failed to run`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || brokenSuites > 0 || passed === 0 ? 1 : 0);

function firstLines(text, n = 6) {
  const plain = String(text ?? '').replace(/\u001b\[[0-9;]*m/g, '');
  return plain
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .map((l) => `    ${l.slice(0, 300)}`)
    .join('\n');
}
