import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The editor help of every node type follows Node-RED's help style guide
 * (nodered.org docs/creating-nodes/help-style-guide.md): the first paragraph is the palette
 * tooltip; Inputs / Outputs / Details / References as <h3>; message properties in
 * <dl class="message-properties">; the outputs as an <ol class="node-ports"> with one item per
 * output; subsections as <h4> under Details; no inline styles. Palette labels and default node
 * labels come from the message catalog.
 */

const NODES = resolve(__dirname, '..', '..', 'nodes');
const LOCALE = join(NODES, 'locales', 'en-US');
/** Non-config types and their outputs (jkbms: the optional cell-chart output counts). */
const OUTPUTS: Record<string, number> = { jkbms: 2, 'jkbms-request': 1, 'jkbms-write': 1, 'jkbms-bank': 1, 'jkbms-ha': 2 };

const help = (type: string): string => {
  const html = readFileSync(join(LOCALE, `${type}.html`), 'utf8');
  const m = /<script type="text\/html" data-help-name="([^"]+)">([\s\S]*)<\/script>/.exec(html);
  assert.ok(m, `${type}.html holds a data-help-name script`);
  assert.equal(m[1], type);
  return m[2]!;
};
/** The top-level <li> items of a list's inner HTML (nested lists stay inside their item). */
function topLevelItems(inner: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = -1;
  for (const m of inner.matchAll(/<(\/?)(ul|ol|li)\b[^>]*>/g)) {
    const close = m[1] === '/';
    if (m[2] === 'li') {
      if (depth === 0 && !close) start = m.index! + m[0].length;
      if (depth === 0 && close) items.push(inner.slice(start, m.index));
    } else depth += close ? -1 : 1;
  }
  return items;
}
const headings = (h: string): string[] => [...h.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]!);

describe('editor help follows the Node-RED help style guide', () => {
  for (const type of [...Object.keys(OUTPUTS), 'jkbms-bus']) {
    it(`${type}: tooltip paragraph first, the standard sections, no inline styles`, () => {
      const h = help(type);
      assert.match(h, /^\s*<p>[^<]/, 'the first element is the tooltip paragraph');
      assert.doesNotMatch(h, /\sstyle=/, 'no inline styles');
      const sections = headings(h);
      if (type === 'jkbms-bus') assert.deepEqual(sections, ['Details', 'References']);
      else assert.deepEqual(sections, ['Inputs', 'Outputs', 'Details', 'References']);
      const details = h.slice(h.indexOf('<h3>Details</h3>'), h.indexOf('<h3>References</h3>'));
      assert.doesNotMatch(details, /<h[125]/, 'Details has only <h4> subsections');
      assert.match(details, /<h4>/, 'Details is split into <h4> subsections');
    });
  }

  for (const [type, n] of Object.entries(OUTPUTS)) {
    it(`${type}: Inputs as message properties, ${n} output(s) listed as node ports`, () => {
      const h = help(type);
      const inputs = h.slice(h.indexOf('<h3>Inputs</h3>'), h.indexOf('<h3>Outputs</h3>'));
      assert.match(inputs, /<dl class="message-properties">/);
      const outputs = h.slice(h.indexOf('<h3>Outputs</h3>'), h.indexOf('<h3>Details</h3>'));
      const ports = /<ol class="node-ports">([\s\S]*?)<\/ol>/.exec(outputs);
      assert.ok(ports, 'an <ol class="node-ports">');
      const items = topLevelItems(ports[1]!);
      assert.equal(items.length, n, 'one <li> per output');
      for (const li of items) assert.match(li, /^[^<]*\S[\s\S]*<dl class="message-properties">[\s\S]*<dt/, 'each output: a name, then its message properties');
    });
  }

  it('palette labels and default node labels come from the message catalog', () => {
    for (const type of [...Object.keys(OUTPUTS), 'jkbms-bus']) {
      const html = readFileSync(join(NODES, `${type}.html`), 'utf8');
      const catalog = JSON.parse(readFileSync(join(LOCALE, `${type}.json`), 'utf8'))[type];
      if (type !== 'jkbms-bus') {
        assert.match(html, new RegExp(`paletteLabel: function \\(\\) \\{\\s*return this\\._\\('${type}\\.paletteLabel'\\);?\\s*\\}`), `${type}: paletteLabel from the catalog`);
        assert.equal(typeof catalog.paletteLabel, 'string');
      }
      const label = /\blabel: function \(\) \{([\s\S]*?)\n {4,8}\},/.exec(html);
      assert.ok(label, `${type}: a label function`);
      assert.doesNotMatch(label[1]!, /'[A-Za-z][^']*\s[^']*'|'JK|'jkbms-bus'/, `${type}: no hard-coded label text`);
      assert.match(label[1]!, /this\._\(/, `${type}: the default label is translated`);
    }
  });

  it('no plural keys: i18next 21 (Node-RED < 4.1) and 23+ resolve them differently', () => {
    for (const type of [...Object.keys(OUTPUTS), 'jkbms-bus']) {
      const keys: string[] = [];
      const walk = (o: Record<string, unknown>, at: string): void => {
        for (const [k, v] of Object.entries(o)) {
          if (v && typeof v === 'object') walk(v as Record<string, unknown>, `${at}${k}.`);
          else keys.push(at + k);
        }
      };
      walk(JSON.parse(readFileSync(join(LOCALE, `${type}.json`), 'utf8')), '');
      assert.deepEqual(keys.filter((k) => /_(zero|one|two|few|many|other|plural)$/.test(k)), [], type);
    }
  });
});
