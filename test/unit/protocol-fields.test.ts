import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ALARMS } from '../../src/protocol/alarms';
import { findSetting } from '../../src/protocol/settings';
import {
  INFO_FIELDS,
  LIVE,
  LIVE_FIELDS,
  SETTINGS_FIELDS,
  SIZE,
  SWITCH_BITS,
  type Field,
  type InfoField,
  type LiveField,
  type SettingsField,
} from '../../src/protocol/fields';
import { FRAME_LEN } from '../../src/protocol/constants';
import { decodeSettings } from '../../src/protocol/decode';
import { encodeFrame } from '../../src/protocol/encode';

/**
 * The field tables are typed against the payload contract (src/protocol/types.ts). The rows
 * below must NOT compile: `tsc -p tsconfig.test.json` (run by `npm test`) fails on any
 * `@ts-expect-error` line that compiles, so each one proves a class of table mistake is caught.
 */
const REJECTED = [
  // @ts-expect-error 'voltge' is not a LivePayload field (a typo that used to drop a field silently)
  { key: 'voltge', off: 150, t: 'u32', div: 1000 } satisfies LiveField,
  // @ts-expect-error chargingMos is a boolean: its row needs `bool: true`
  { key: 'chargingMos', off: 198, t: 'u8' } satisfies LiveField,
  // @ts-expect-error voltage is a number: it cannot be an on/off row
  { key: 'voltage', off: 150, t: 'u32', bool: true } satisfies LiveField,
  // @ts-expect-error cellMin is computed in code (number | null), not a table row
  { key: 'cellMin', off: 6, t: 'u16' } satisfies LiveField,
  // @ts-expect-error type and address are not frame fields
  { key: 'address', off: 270, t: 'u32' } satisfies SettingsField,
  // @ts-expect-error a live field in the settings table
  { key: 'soc', off: 173, t: 'u8' } satisfies SettingsField,
  // @ts-expect-error serialNumber is text: it cannot be read as a number
  { key: 'serialNumber', off: 86, t: 'u32' } satisfies InfoField,
  // @ts-expect-error uptime is a number: it cannot be read as text
  { key: 'uptime', off: 38, t: 'str', len: 4 } satisfies InfoField,
];

const span = (f: Field): [number, number] => [f.off, f.off + (f.t === 'str' ? f.len : SIZE[f.t])];

describe('protocol: field tables', () => {
  it('rows that are not payload fields of the right kind are compile errors (see REJECTED)', () => {
    assert.equal(REJECTED.length, 8);
  });

  for (const [name, table] of [
    ['live', LIVE_FIELDS],
    ['settings', SETTINGS_FIELDS],
    ['info', INFO_FIELDS],
  ] as const) {
    it(`${name}: every row lies inside the payload bytes 6–298, no two rows share a key or a byte`, () => {
      const rows: readonly Field[] = table;
      const keys = new Set<string>();
      const sorted = [...rows].sort((a, b) => a.off - b.off);
      sorted.forEach((f, i) => {
        assert.ok(!keys.has(f.key), `${f.key} listed twice`);
        keys.add(f.key);
        const [from, to] = span(f);
        assert.ok(from >= 6 && to <= FRAME_LEN - 1, `${f.key} spans ${from}–${to - 1}`);
        const next = sorted[i + 1];
        if (next) assert.ok(to <= next.off, `${f.key} (${from}–${to - 1}) overlaps ${next.key} at ${next.off}`);
      });
    });
  }

  it('the live fields decoded in code do not overlap a table row', () => {
    const taken = LIVE_FIELDS.map((f) => span(f));
    const inCode: [string, number, number][] = [
      ['cells', LIVE.cells, LIVE.cells + 64],
      ['resistances', LIVE.resistances, LIVE.resistances + 64],
      ['maxIndex', LIVE.maxIndex, LIVE.maxIndex + 1],
      ['minIndex', LIVE.minIndex, LIVE.minIndex + 1],
      ['power', LIVE.power, LIVE.power + 4],
      ['balancing', LIVE.balancing, LIVE.balancing + 1],
      ['chargeStage', LIVE.chargeStage, LIVE.chargeStage + 1],
      ['dryContacts', LIVE.dryContacts, LIVE.dryContacts + 1],
      ...Object.entries(LIVE.temperatures).map(([k, t]): [string, number, number] => [k, t.off, t.off + 2]),
    ];
    for (const [name, from, to] of inCode) {
      for (const [a, b] of taken) assert.ok(to <= a || from >= b, `${name} (${from}–${to - 1}) overlaps a table row at ${a}`);
    }
  });

  it('the 16 switch-word bits are distinct and each decodes to its own boolean', () => {
    assert.deepEqual(
      SWITCH_BITS.map((s) => s.bit),
      Array.from({ length: 16 }, (_, i) => i),
    );
    for (const { key, bit } of SWITCH_BITS) {
      const p = decodeSettings(encodeFrame({ type: 'settings', switchMask: 1 << bit }));
      const on = SWITCH_BITS.filter((s) => p[s.key]).map((s) => s.key);
      assert.deepEqual(on, [key]);
    }
  });
});

/** The rows of the markdown table under `### <section>` of docs/protocol.md, as cell arrays. */
function docTable(section: string): string[][] {
  const doc = readFileSync(resolve(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
  const start = doc.indexOf(`\n### ${section} `);
  assert.ok(start >= 0, `docs/protocol.md has a section ${section}`);
  const end = doc.indexOf('\n### ', start + 1);
  return doc
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-: |]+\|$/.test(l))
    .slice(1)
    .map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
}

const scaleText = (f: Field): string => (f.t === 'str' ? '–' : f.bool ? 'on/off' : f.mul ? String(f.mul) : f.div ? String(1 / f.div) : '1');
const typeText = (f: Field): string => (f.t === 'str' ? `text ${f.len}` : f.t);

describe('docs/protocol.md agrees with the code', () => {
  for (const [section, table] of [
    ['3.2', LIVE_FIELDS],
    ['4.1', SETTINGS_FIELDS],
    ['5.1', INFO_FIELDS],
  ] as const) {
    it(`§${section}: every table row is documented with its offset, type and scale`, () => {
      const rows = new Map(
        docTable(section)
          .map((c): [string, string[]] => [/^`(\w+)`$/.exec(c[4] ?? '')?.[1] ?? '', c])
          .filter(([k]) => k !== ''),
      );
      const fields: readonly Field[] = table;
      for (const f of fields) {
        const row = rows.get(f.key);
        assert.ok(row, `${f.key} is missing from §${section}`);
        assert.deepEqual([row[0], row[1], row[2]], [String(f.off), typeText(f), scaleText(f)], `§${section} row of ${f.key}`);
      }
      assert.deepEqual([...rows.keys()].filter((k) => !fields.some((f) => f.key === k)), [], `§${section} documents fields the table does not have`);
    });
  }

  it('§4.1: the write register and range of every writable setting', () => {
    for (const c of docTable('4.1')) {
      const key = /^`(\w+)`$/.exec(c[4] ?? '')?.[1];
      if (!key) continue;
      const def = findSetting(key);
      const m = /^(0x[0-9A-F]{4})(?:, ([−\d.]+)–([−\d.]+) \/ ([\d.]+)|, 0\/1)?/.exec((c[5] ?? '').replace(/\*/g, ''));
      if (!def || def.kind === 'bit') {
        assert.ok(!m || key === 'switchMask', `§4.1: ${key} is not writable but has a register`);
        continue;
      }
      assert.ok(m, `§4.1: ${key} is writable: its register belongs in the last column`);
      assert.equal(m[1], `0x${def.register.toString(16).toUpperCase()}`, `${key} register`);
      if (def.kind === 'number') {
        const n = (t: string | undefined) => Number((t ?? '').replace('−', '-'));
        assert.deepEqual([n(m[2]), n(m[3]), n(m[4])], [def.min, def.max, def.step], `${key} range`);
        assert.equal(/protection/.test(c[5]!), def.protection, `${key} protection`);
      }
    }
  });

  it('§3.3 lists every alarm bit under its name, §4.2 every switch-word bit', () => {
    const alarms = docTable('3.3').filter((c) => /^\d+$/.test(c[0]!)).map((c) => [Number(c[0]), c[1]!.replace(/`/g, '')]);
    assert.deepEqual(alarms, ALARMS.filter((a) => a.bit < 29).map((a) => [a.bit, a.name]));
    const bits = docTable('4.2').map((c) => [Number(c[0]), c[1]!.replace(/`/g, '')]);
    assert.deepEqual(bits, SWITCH_BITS.map((b) => [b.bit, b.key]));
  });
});
