import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as acorn from 'acorn';
import { builtDist } from './helpers/nodered';

/**
 * The local rules of the flows.nodered.org scorecard (node-red-dev validate: P01–P07, N01,
 * N02, D01), applied to the built package. The real tool needs network access; these checks
 * do not.
 */

const ROOT = resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

interface TypeDef {
  type: string;
  file: string;
  props: Map<string, acorn.Node>;
}

/** The registerType calls of an editor .html, as the scorecard's parser sees them. */
function registeredTypes(htmlFile: string): TypeDef[] {
  const html = readFileSync(htmlFile, 'utf8');
  const out: TypeDef[] = [];
  const blocks = [...html.matchAll(/<script[^>]*type=["']text\/javascript["'][^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!);
  for (const code of blocks) {
    const ast = acorn.parse(code, { ecmaVersion: 2020 });
    const walk = (n: any): void => {
      if (!n || typeof n.type !== 'string') return;
      if (n.type === 'CallExpression' && n.callee?.type === 'MemberExpression' && n.callee.property?.name === 'registerType' &&
        n.callee.object?.type === 'MemberExpression' && n.callee.object.property?.name === 'nodes' && n.callee.object.object?.name === 'RED') {
        const [name, def] = n.arguments;
        assert.equal(name?.type, 'Literal', `${htmlFile}: registerType's first argument must be a string literal`);
        assert.equal(def?.type, 'ObjectExpression', `${htmlFile}: registerType's definition must be an object literal`);
        const props = new Map<string, acorn.Node>();
        for (const p of def.properties) props.set(p.key.name ?? p.key.value, p.value);
        out.push({ type: name.value, file: htmlFile, props });
      }
      for (const v of Object.values(n)) {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') walk(v);
      }
    };
    walk(ast);
  }
  return out;
}

function examples(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...examples(p));
    else if (f.endsWith('.json')) out.push(p);
  }
  return out;
}

describe('scorecard (node-red-dev local rules) on the built package', function () {
  this.timeout(300_000);
  let dist: string;
  let types: TypeDef[];

  before(async () => {
    dist = await builtDist();
    types = Object.values(pkg['node-red'].nodes as Record<string, string>).flatMap((js) => {
      const file = join(dist, '..', js);
      assert.ok(existsSync(file), `${js} is built`);
      const html = file.replace(/\.js$/, '.html');
      assert.ok(existsSync(html), `${js} has its .html next to it`);
      return registeredTypes(html);
    });
  });

  it('every node set has a .js with a same-named .html holding a literal registerType', () => {
    const sets = Object.keys(pkg['node-red'].nodes);
    assert.ok(sets.includes('jkbms-bus') && sets.includes('jkbms') && sets.includes('jkbms-request'));
    for (const set of sets) assert.ok(types.some((t) => t.file.endsWith(`/${set}.html`)), `${set}.html registers a type`);
  });

  it('category, color, icon, inputs and outputs are literals; defaults is an inline object; icons exist', () => {
    for (const t of types) {
      for (const key of ['category', 'color', 'icon', 'inputs', 'outputs']) {
        const v = t.props.get(key);
        if (v) assert.equal(v.type, 'Literal', `${t.type}.${key} must be a literal`);
      }
      assert.equal(t.props.get('defaults')?.type, 'ObjectExpression', `${t.type}.defaults must be an inline object`);
      const cat = (t.props.get('category') as any)?.value;
      if (cat !== 'config') {
        const icon = (t.props.get('icon') as any).value as string;
        assert.ok(existsSync(join(dist, 'nodes', 'icons', icon)), `icon ${icon} of ${t.type} is shipped`);
      }
    }
  });

  it('N01: every type name starts with jkbms; each set has its en-US catalog and help', () => {
    for (const t of types) assert.match(t.type, /^jkbms(-|$)/);
    for (const set of Object.keys(pkg['node-red'].nodes)) {
      assert.ok(existsSync(join(dist, 'nodes', 'locales', 'en-US', `${set}.json`)), `${set}.json`);
      assert.ok(existsSync(join(dist, 'nodes', 'locales', 'en-US', `${set}.html`)), `${set}.html help`);
    }
  });

  it('N02: examples are JSON arrays starting with a comment, and cover every non-config type', () => {
    const files = examples(join(ROOT, 'examples'));
    assert.ok(files.length >= 5);
    const used = new Set<string>();
    for (const f of files) {
      const flow = JSON.parse(readFileSync(f, 'utf8')) as { type: string }[];
      assert.ok(Array.isArray(flow), `${f} is a JSON array`);
      assert.equal(flow[0]!.type, 'comment', `${f} starts with a comment node`);
      flow.forEach((n) => used.add(n.type));
    }
    const nonConfig = types.filter((t) => (t.props.get('category') as any)?.value !== 'config').map((t) => t.type);
    assert.deepEqual(nonConfig.filter((t) => !used.has(t)), [], 'types missing from every example');
  });

  it('P01-P07 and D01: package.json fields', () => {
    assert.equal(pkg.license, 'MIT');
    assert.ok(existsSync(join(ROOT, 'LICENSE')));
    assert.match(pkg.repository?.url ?? '', /^git\+https:\/\//);
    assert.ok(pkg.bugs?.url);
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-/);
    assert.ok(pkg.keywords.includes('node-red'));
    assert.match(pkg['node-red'].version, /^>=(3\.1|4)\./);
    assert.match(pkg.engines.node, /^>=20/);
    const deps = Object.keys(pkg.dependencies ?? {});
    assert.ok(deps.length <= 6, `D01: ${deps.length} dependencies`);
    assert.ok(!deps.includes('node-red'));
    assert.deepEqual([...pkg.files].sort(), ['!dist/**/*.map', '!dist/nodes/**/*.d.ts', 'CHANGELOG.md', 'dist/', 'examples/', 'resources/']);
  });

  it('the editor scripts the .html files load are relative URLs: static files shipped in resources/, or a script an admin endpoint of ours builds', () => {
    const loaded = new Set<string>();
    const served = new Set<string>();
    const admin = readFileSync(join(ROOT, 'nodes', 'lib', 'admin.ts'), 'utf8');
    for (const js of Object.values(pkg['node-red'].nodes as Record<string, string>)) {
      const html = readFileSync(join(dist, '..', js).replace(/\.js$/, '.html'), 'utf8');
      for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]*)"/g)) {
        const url = m[1]!;
        const prefix = `resources/${pkg.name}/`;
        assert.ok(!url.startsWith('/') && !/^[a-z]+:/i.test(url), `${js}: ${url} is relative (Node-RED may run under a path prefix)`);
        if (url.startsWith(prefix)) loaded.add(url.slice(prefix.length));
        else {
          // Built at run time (e.g. the simulator's parsers from the compiled library), behind a permission.
          assert.ok(admin.includes(`RED.httpAdmin.get('/${url}', read,`), `${js}: ${url} is neither under ${prefix} nor a GET endpoint of nodes/lib/admin.ts with the read permission`);
          served.add(url);
        }
      }
    }
    assert.deepEqual([...loaded], ['editor.js']);
    assert.deepEqual([...served], ['jkbms/sim-spec.js']);
    for (const f of loaded) assert.ok(existsSync(join(ROOT, 'resources', f)), `resources/${f} exists`);
  });
});
