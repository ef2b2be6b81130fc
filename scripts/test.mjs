// `npm test`: build, type-check the tests, then run every mocha suite in one run so the
// closing line "N passed, N failed, N skipped" covers everything.
// Extra arguments are passed to mocha (e.g. `npm test -- --grep framer`).
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit', cwd: root });

try {
  run([join(root, 'scripts', 'build.mjs')]);
  run([require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')]);
  run([join(root, "node_modules", "eslint", "bin", "eslint.js"), "."]);
} catch {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
const extra = process.argv.slice(2);
const specs = extra.some((a) => !a.startsWith('-')) ? [] : ['test/**/*.test.ts'];
const r = spawnSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--config', '.mocharc.json', ...specs, ...extra], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
