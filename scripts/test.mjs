// `npm test`: build, type-check the tests, lint, then run every mocha suite in one run so the
// closing line "N passed, N failed, N skipped" covers everything. The Node-RED suites run on
// our devDependency Node-RED on this Node.js (printed first).
// Extra arguments are passed to mocha (e.g. `npm test -- --grep framer`).
//
// `node scripts/test.mjs --matrix` (what .ci/run runs): the same, then the smoke suite on the
// other Node-RED / Node.js pairs (scripts/matrix.mjs); the closing line adds up every run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit', cwd: root });

const matrix = process.argv.includes('--matrix');
const extra = process.argv.slice(2).filter((a) => a !== '--matrix');
const started = Date.now();

try {
  run([join(root, 'scripts', 'build.mjs')]);
  run([require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')]);
  run([join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
} catch {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const nodeRed = JSON.parse(readFileSync(join(root, 'node_modules', 'node-red', 'package.json'), 'utf8')).version;
console.log(`\ntest: full suite on Node-RED ${nodeRed} (devDependency), Node ${process.version}`);
const tmp = mkdtempSync(join(tmpdir(), 'jkbms-test-'));
const countsFile = join(tmp, 'counts.json');
const specs = extra.some((a) => !a.startsWith('-')) ? [] : ['test/**/*.test.ts'];
const r = spawnSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--config', '.mocharc.json', ...specs, ...extra], {
  stdio: 'inherit',
  cwd: root,
  env: matrix ? { ...process.env, JKBMS_COUNTS_FILE: countsFile } : process.env,
});
if (!matrix) {
  rmSync(tmp, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}

const main = existsSync(countsFile) ? JSON.parse(readFileSync(countsFile, 'utf8')) : { passed: 0, failed: 1, skipped: 0 };
rmSync(tmp, { recursive: true, force: true });
const mainSeconds = Math.round((Date.now() - started) / 1000);
const { runMatrix, summaryLines } = await import('./matrix.mjs');
const results = [{ ...main, label: `full suite, Node-RED ${nodeRed} on Node ${process.version}`, seconds: mainSeconds }, ...runMatrix()];
const sum = (k) => results.reduce((a, x) => a + x[k], 0);
console.log(`\ntest matrix (${Math.round((Date.now() - started) / 1000)} s):\n${summaryLines(results).join('\n')}`);
console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
process.exit(sum('failed') > 0 || (r.status ?? 1) !== 0 ? 1 : 0);
