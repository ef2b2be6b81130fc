import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sourceFiles } from '../helpers/imports';

/**
 * The maintainer docs stay true to the code (cheap: text only, no build):
 *  - docs/architecture.md: every repo path it names exists; every file its layer table names
 *    is in that folder; every folder of src/ and every layer of eslint.config.mjs is in it;
 *    every class, function and method it names is declared in src/, nodes/ or test/helpers.
 *  - every "docs/protocol.md §x.y" cited in the code, the tests and the docs is a heading of
 *    docs/protocol.md.
 */

const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const ARCH = 'docs/architecture.md';
/** Backticked spans of a text. */
const spans = (text: string) => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

describe('docs', () => {
  const arch = read(ARCH);

  describe('docs/architecture.md', () => {
    it('names only paths that exist', () => {
      const roots = /^(src|nodes|test|scripts|docs|resources|examples|\.ci)(\/|$)/;
      const named = new Set<string>();
      for (const s of spans(arch)) if (roots.test(s) && !/[*<>…]/.test(s)) named.add(s.replace(/\/$/, ''));
      // Plain-text paths too (e.g. in the frame's path), not only backticked ones.
      for (const m of arch.matchAll(/(?<![\w./-])((?:src|nodes|test|scripts|docs)\/[\w./-]*[\w/])/g)) named.add(m[1]!.replace(/\/$/, ''));
      assert.ok(named.size > 40, `only ${named.size} paths found: the pattern no longer matches the document`);
      const missing = [...named].filter((p) => !existsSync(join(ROOT, p)) && !existsSync(join(ROOT, `${p}.ts`)));
      assert.deepEqual(missing, [], `${ARCH} names paths that do not exist`);
    });

    it('the layer table: each file a row names is in that folder', () => {
      const missing: string[] = [];
      let rows = 0;
      for (const line of arch.split('\n')) {
        const m = /^\| `((?:src|nodes)\/[\w/-]*\/)`/.exec(line);
        if (!m) continue;
        rows += 1;
        for (const s of spans(line)) {
          if (/^[\w.-]+\.(ts|html)$/.test(s) && !existsSync(join(ROOT, m[1]!, s))) missing.push(`${m[1]}${s}`);
        }
      }
      assert.ok(rows >= 10, `only ${rows} layer rows found`);
      assert.deepEqual(missing, []);
    });

    it('lists every folder of src/ and every layer of the lint rule', () => {
      const folders = readdirSync(join(ROOT, 'src')).filter((f) => statSync(join(ROOT, 'src', f)).isDirectory() && f !== 'bench');
      assert.deepEqual(
        folders.filter((f) => !arch.includes(`| \`src/${f}/\``)),
        [],
        'a folder of src/ without its row in the layer table',
      );
      const table = /const LAYERS = \{([\s\S]*?)\n\};/.exec(read('eslint.config.mjs'));
      assert.ok(table, 'LAYERS not found in eslint.config.mjs');
      const layers = [...table[1]!.matchAll(/^\s*'?([\w./]+)'?:/gm)].map((m) => m[1]!);
      assert.ok(layers.length >= 10, `only ${layers.length} layers parsed`);
      const section = arch.slice(arch.indexOf('## 2.'), arch.indexOf('## 3.'));
      assert.deepEqual(
        layers.filter((l) => !section.includes(`\`${l}\``)),
        [],
        'a layer of LAYERS (eslint.config.mjs) missing from the dependency table',
      );
    });

    it('names only classes, functions and methods that are declared', () => {
      const code = sourceFiles(['src', 'nodes', 'test/helpers'])
        .map(read)
        .join('\n');
      const declared = new Set<string>();
      for (const m of code.matchAll(/\b(?:class|interface|type|function|const|let|enum)\s+([A-Za-z_]\w*)/g)) declared.add(m[1]!);
      // Methods, accessors and object-literal functions: `name(` or `name =` / `name:` at the start of a member.
      for (const m of code.matchAll(/^\s*(?:(?:private|protected|public|static|readonly|async|get|set|override)\s+)*([A-Za-z_]\w*)\s*(?:<[^>\n]*>)?\s*\(/gm)) declared.add(m[1]!);
      for (const m of code.matchAll(/^\s*(?:(?:private|protected|readonly)\s+)*([A-Za-z_]\w*)\s*[:=]\s*(?:\([^)\n]*\)|\w+)\s*=>/gm)) declared.add(m[1]!);
      // Not ours: JavaScript's and serialport's.
      for (const n of ['require', 'import', 'SerialPort']) declared.add(n);
      const unknown = new Set<string>();
      let checked = 0;
      for (const s of spans(arch)) {
        // `Class`, `Class.method()`, `function()`, `ctx.after()` — identifiers only.
        const m = /^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?(\(\))?$/.exec(s);
        if (!m) continue;
        const [, first, member, call] = m;
        const pascal = /^[A-Z]/.test(first!) && /[a-z]/.test(first!);
        const names = pascal ? [first!, ...(member ? [member] : [])] : call ? [member ?? first!] : [];
        for (const n of names) {
          checked += 1;
          if (!declared.has(n)) unknown.add(s);
        }
      }
      assert.ok(checked > 60, `only ${checked} names checked`);
      assert.deepEqual([...unknown], [], `${ARCH} names what the code does not declare`);
    });
  });

  it('every "docs/protocol.md §x.y" cited in the code, tests and docs is a heading of docs/protocol.md', () => {
    const headings = new Set([...read('docs/protocol.md').matchAll(/^#{2,3} (\d+(?:\.\d+)?)[. ]/gm)].map((m) => m[1]!));
    assert.ok(headings.has('2.8') && headings.has('6.3'), 'the numbered headings of docs/protocol.md were not found');
    const files = [...sourceFiles(['src', 'nodes', 'test']), 'README.md', ARCH, 'docs/protocol.md'];
    const bad: string[] = [];
    let cited = 0;
    for (const f of files) {
      const text = read(f);
      // "docs/protocol.md §2.1, §2.4 and §2.8": every section of the list.
      for (const m of text.matchAll(/docs\/protocol\.md((?:[ ,]*(?:and )?§\d+(?:\.\d+)?)+)/g)) {
        for (const s of m[1]!.matchAll(/§(\d+(?:\.\d+)?)/g)) {
          cited += 1;
          if (!headings.has(s[1]!)) bad.push(`${f}: §${s[1]}`);
        }
      }
      // Within docs/protocol.md itself, every "§x.y".
      if (f === 'docs/protocol.md') {
        for (const s of text.matchAll(/§(\d+(?:\.\d+)?)/g)) {
          if (!headings.has(s[1]!)) bad.push(`${f}: §${s[1]}`);
        }
      }
    }
    assert.ok(cited > 20, `only ${cited} citations found`);
    assert.deepEqual(bad, [], 'citations of sections docs/protocol.md does not have');
  });
});
