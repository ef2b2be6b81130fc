// Pack the package without touching the working tree: stage package.json, README.md,
// CHANGELOG.md, LICENSE, examples/, resources/ (the editor's shared script) and a built dist/ in a temp
// directory and run `npm pack` there (--ignore-scripts: the dist is already built). Prints
// the tarball's absolute path.
//
//   node scripts/pack.mjs [--dist DIR/dist] [--out DIR]
//     --dist  the built dist/ to ship (default ./dist; build one with build.mjs --out)
//     --out   where the .tgz goes (default the current directory)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const v = process.argv[i + 1];
  if (!v) {
    console.error(`pack: ${name} needs a value`);
    process.exit(2);
  }
  return resolve(v);
};
const dist = arg('--dist', join(root, 'dist'));
const out = arg('--out', process.cwd());
if (!existsSync(join(dist, 'nodes'))) {
  console.error(`pack: ${dist} is not a built dist/ (run: node scripts/build.mjs --out DIR)`);
  process.exit(1);
}

const stage = mkdtempSync(join(tmpdir(), 'jkbms-pack-'));
try {
  for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) cpSync(join(root, f), join(stage, f));
  for (const d of ['examples', 'resources']) cpSync(join(root, d), join(stage, d), { recursive: true });
  cpSync(dist, join(stage, 'dist'), { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const name = execFileSync(npm, ['pack', '--ignore-scripts', '--silent'], { cwd: stage, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  mkdirSync(out, { recursive: true });
  const target = join(out, name);
  cpSync(join(stage, name), target);
  console.log(target);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
