import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const cache = new Map<string, string | null>();

/** Absolute path of an executable on PATH (or a well-known location), or null. */
export function findTool(name: string): string | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: string | null;
  try {
    found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    found = null;
  }
  if (!found && existsSync(`/usr/bin/${name}`)) found = `/usr/bin/${name}`;
  cache.set(name, found);
  return found;
}

/**
 * Call from a mocha `before()` (with `function () {...}` so `this` is the context).
 * Missing tool: the suite is skipped with "skipped: <tool> not installed" — except when
 * JKBMS_REQUIRE_TOOLS=1 (set by .ci/run, where every tool is installed): then it fails.
 */
export function requireTool(ctx: Mocha.Context, name: string): string {
  const p = findTool(name);
  if (p) return p;
  if (process.env.JKBMS_REQUIRE_TOOLS === '1') {
    throw new Error(`${name} not installed, but JKBMS_REQUIRE_TOOLS=1 requires it`);
  }
  console.log(`      skipped: ${name} not installed`);
  ctx.skip();
  throw new Error('unreachable');
}
