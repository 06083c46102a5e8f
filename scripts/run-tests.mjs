#!/usr/bin/env node
// Runs Vitest with its JSON reporter beside the usual one, then prints the closing line CI reads:
// "N passed, N failed[, N skipped]" — the true counts from the JSON report. Exit code: Vitest's,
// or 1 when the report is missing or shows a failure Vitest did not count as a test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const reportDir = path.join(root, '.tmp');
const report = path.join(reportDir, 'vitest-report.json');
mkdirSync(reportDir, { recursive: true });
rmSync(report, { force: true });

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = [
  vitest,
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
const code = run.status ?? 1;

if (!existsSync(report)) {
  console.log('\nno test report was written (Vitest did not finish)');
  console.log('0 passed, 1 failed');
  process.exit(code === 0 ? 1 : code);
}

const json = JSON.parse(readFileSync(report, 'utf8'));
const passed = json.numPassedTests ?? 0;
let failed = json.numFailedTests ?? 0;
const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
// A file that fails to load or a hook that throws fails the run without failing a test: count it.
const brokenFiles = (json.testResults ?? []).filter(
  (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed'),
).length;
failed += brokenFiles;
if (code !== 0 && failed === 0) failed = 1;

console.log('');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? code || 1 : code);
