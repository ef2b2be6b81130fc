import assert from 'node:assert/strict';
import { DEFAULT_HA_OPTIONS, measureHaRate } from '../bench/ha';
import { BANK_ENTITIES } from '../../src/ha/bank';
import { buildEntities } from '../../src/ha/entities';
import { checkBankHealth, checkPackHealth } from '../../src/ha/health-input';
import { PACK_ENTITIES, type PackView } from '../../src/ha/pack';
import { findSetting } from '../../src/protocol/settings';
import { ALL_GROUPS, bankHealthPayload, bankPayload, bms, healthPayload, info, live, settings } from './ha-fixtures';
import { readmeFigures } from './ha-readme';

const view = (over: Partial<PackView> = {}): PackView => ({
  address: 2,
  identity: bms(2, true),
  live: live(),
  settings: settings(),
  info: info(),
  energy: { chargedKWh: 0, dischargedKWh: 0 },
  ...over,
});
const counts = (v: PackView): [number, number] => {
  const defs = buildEntities(PACK_ENTITIES, v, ALL_GROUPS);
  const enabled = defs.filter((d) => !d.disabled).length;
  return [enabled, defs.length - enabled];
};

describe('README "Home Assistant" matches what is published', () => {
  const f = readmeFigures();

  it('the enabled / disabled counts per pack', () => {
    assert.deepEqual(counts(view()), f.plain);
    assert.deepEqual(counts(view({ controls: { protection: false } })), f.controls);
    assert.deepEqual(counts(view({ controls: { protection: true } })), f.protection);
    const six = live(2, { temperatures: { mos: 25, t1: 21, t2: 22, t3: 23, t4: 24, t5: 25 } });
    assert.deepEqual(counts(view({ live: six })), f.simulatedPack);
    assert.deepEqual(counts(view({ live: six, health: checkPackHealth({ ...healthPayload() }) })), f.simulatedWithHealth);
  });

  it('the default state interval', () => {
    assert.equal(f.rateS, DEFAULT_HA_OPTIONS.rateLimit);
    const html = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../nodes/jkbms-ha.html'), 'utf8') as string;
    assert.match(html, new RegExp(`rateLimit: \\{\\s*value: ${f.rateS},`), 'the editor default');
  });

  it('every entity of a pack has the name the README tables give it; controls carry their register-table label', () => {
    const defs = buildEntities(PACK_ENTITIES, view({ controls: { protection: true }, health: checkPackHealth({ ...healthPayload() }) }), ALL_GROUPS);
    const missing: string[] = [];
    for (const d of defs) {
      if (d.command) {
        if (d.name !== findSetting(d.command.setting)!.label) missing.push(`${d.key}: ${d.name}`);
        continue;
      }
      const name = d.name
        .replace(/^Cell \d+ voltage$/, 'Cell N voltage')
        .replace(/^Cell \d+ resistance$/, 'Cell N resistance')
        .replace(/^Cell \d+ resistance deviation$/, 'Cell N resistance deviation')
        .replace(/^Temperature \d$/, 'Temperature 1 … 5')
        .replace(/^Alarm: .+$/, 'Alarm: &lt;name&gt;');
      const table = f.section.slice(f.section.indexOf('### Entities'), f.section.indexOf('### The bank device'));
      if (!table.split('\n').some((l) => l.startsWith('| ') && l.split(' | ')[0]!.includes(name))) missing.push(`${d.key}: ${name}`);
    }
    assert.deepEqual(missing, []);
  });

  it('the bank\'s health entities have the names of the bank table', () => {
    const v = { busName: 'bus1', summary: bankPayload(), health: checkBankHealth({ ...bankHealthPayload() }) };
    const table = f.section.slice(f.section.indexOf('### The bank device'), f.section.indexOf('### Health entities'));
    const rows = table.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.split(' | ')[0]!);
    const health = buildEntities(BANK_ENTITIES, v, ALL_GROUPS).filter((d) => /health|offset/.test(d.key));
    assert.equal(health.length, 5);
    const missing = health.map((d) => d.name.replace(/^Pack \d+ /, 'Pack N ')).filter((n) => !rows.some((r) => r.includes(n)));
    assert.deepEqual(missing, []);
  });

  it('the recorder load: state messages and bytes per pack per hour, measured on the simulator (10 simulated minutes, within 5 % of the hour the README quotes)', async function () {
    this.timeout(120_000);
    const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= want * 0.05, `${what}: measured ${got}, README ${want}`);
    const d = await measureHaRate(f.rateS, 10);
    near(d.statesPerPackHour, f.statesPerHour, 'states per pack per hour');
    near(d.kBPerPackHour, f.kBPerHour, 'kB per pack per hour');
    const every = await measureHaRate(0, 10);
    near(every.statesPerPackHour, f.everyFrame.statesPerHour, 'every frame: states per pack per hour');
    near(every.kBPerPackHour, f.everyFrame.kBPerHour, 'every frame: kB per pack per hour');
  });
});
