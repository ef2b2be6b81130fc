// Build: TypeScript → dist/ (CommonJS), then copy the editor files that Node-RED
// expects next to each node's .js (.html, icons/, locales/). No bundler.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });

const srcNodes = join(root, 'src', 'nodes');
const distNodes = join(root, 'dist', 'nodes');
mkdirSync(distNodes, { recursive: true });
for (const f of readdirSync(srcNodes)) {
  if (f.endsWith('.html')) cpSync(join(srcNodes, f), join(distNodes, f));
}
for (const d of ['icons', 'locales']) {
  if (existsSync(join(srcNodes, d))) cpSync(join(srcNodes, d), join(distNodes, d), { recursive: true });
}
const cli = join(root, 'dist', 'cli', 'jkbms.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.log('build: dist/ ready');
