// Build: TypeScript → dist/ (CommonJS; src/ → dist/src/, nodes/ → dist/nodes/), then copy the
// editor files that Node-RED expects next to each node's .js (.html, icons/, locales/). No bundler.
// `--out DIR` builds into DIR/dist instead of ./dist (the demo and the runtime tests use it,
// so they never touch the dist/ other work relies on).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

const outArg = process.argv.indexOf('--out');
if (outArg !== -1 && !process.argv[outArg + 1]) {
  console.error('build: --out needs a directory');
  process.exit(2);
}
const dist = outArg === -1 ? join(root, 'dist') : join(resolve(process.argv[outArg + 1]), 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', dist], { stdio: 'inherit', cwd: root });

const srcNodes = join(root, 'nodes');
const distNodes = join(dist, 'nodes');
mkdirSync(distNodes, { recursive: true });
for (const f of readdirSync(srcNodes)) {
  if (f.endsWith('.html')) cpSync(join(srcNodes, f), join(distNodes, f));
}
for (const d of ['icons', 'locales']) {
  if (existsSync(join(srcNodes, d))) cpSync(join(srcNodes, d), join(distNodes, d), { recursive: true });
}
const cli = join(dist, 'src', 'cli', 'jkbms.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.log(`build: ${dist} ready`);
