import assert from 'node:assert/strict';
import { DEFAULT_HA_OPTIONS } from '../bench/ha';
import { FakeClock } from '../../src/common/clock';
import { BANK_ENTITIES, type BankView, bankDevice, bankState } from '../../src/ha/bank';
import { HaBridge, type StoredState } from '../../src/ha/bridge';
import { type Announcement, deviceConfigPayload, entityConfig, entityConfigs } from '../../src/ha/discovery';
import { buildEntities, type EntityDef } from '../../src/ha/entities';
import type { BankHealthView, PackHealthView } from '../../src/ha/health';
import { checkPackHealth } from '../../src/ha/health-input';
import { HaInputError, parseInput } from '../../src/ha/input';
import { PACK_ENTITIES, type PackView, packDevice, packState } from '../../src/ha/pack';
import type { EntityGroups, HaOptions, MqttMessage } from '../../src/ha/types';
import { HealthMonitor } from '../../src/health';
import type { LivePayload } from '../../src/protocol/types';
import { BusSimulator } from '../../src/sim';
import {
  ALL_GROUPS,
  BUS_ID,
  BUS_NAME,
  bankHealthMsg,
  bankHealthPayload,
  bankMsg,
  bankPayload,
  bms,
  healthMsg,
  healthPayload,
  info,
  live,
  msg,
  resistanceFinding,
  SERIAL,
  settings,
} from './ha-fixtures';
import { checkConfig, PREFIX } from './ha-rules';

const SER = `jkbms_${SERIAL}`;
const BANK = 'jkbms_bank_bus1';
const STATE = `jkbms/bus1/${SERIAL}/state`;
const BANK_STATE = 'jkbms/bus1/bank/state';
const ORIGIN = { name: '@jkpb/node-red-jkbms', version: '0.1.0', url: 'https://github.com/jkpb/node-red-jkbms' };
const NO_GROUPS: EntityGroups = { cells: false, resistances: false, temperatures: false, details: false, device: false, energy: false };
const WALL0 = 1_700_000_000_000;

/** The pack health view the bridge keeps of a report (what parseInput makes of it). */
const packHealth = (over: Parameters<typeof healthPayload>[1] = {}): PackHealthView => checkPackHealth({ ...healthPayload(2, over) });

function packView(over: Partial<PackView> = {}): PackView {
  return { address: 2, identity: bms(2, true), live: live(), settings: settings(), info: info(), energy: { chargedKWh: 1, dischargedKWh: 0 }, health: packHealth(), ...over };
}

function announcement(deviceId: string, device: Announcement['device'], stateTopic: string, availability: string): Announcement {
  return { discoveryPrefix: PREFIX, deviceId, device, origin: ORIGIN, stateTopic, availability: [availability, 'jkbms/bridge/availability'], expireAfter: 120, qos: 1 };
}
const packAnnouncement = (v: PackView) => announcement(SER, packDevice(SER, v), STATE, `jkbms/bus1/${SERIAL}/availability`);

const HEALTH_KEYS = [
  'cell_health',
  ...Array.from({ length: 16 }, (_, i) => `cell_${String(i + 1).padStart(2, '0')}_resistance_deviation`),
  'end_of_charge_delta',
  'end_of_charge_delta_trend',
];
const isHealthKey = (k: string) => HEALTH_KEYS.includes(k);
const enabledCount = (defs: EntityDef[]): [number, number] => {
  const on = defs.filter((d) => !d.disabled).length;
  return [on, defs.length - on];
};

describe('HA health: the pack device', () => {
  it('no report, no health entity; with one: Cell health (enabled) and per-cell resistance deviation, end-of-charge delta and trend (disabled diagnostics)', () => {
    const without = buildEntities(PACK_ENTITIES, packView({ health: null }), ALL_GROUPS);
    assert.deepEqual(without.filter((d) => isHealthKey(d.key)), []);
    assert.ok(!('cell_health' in packState(packView({ health: null }))));
    const withHealth = buildEntities(PACK_ENTITIES, packView(), ALL_GROUPS);
    const health = withHealth.filter((d) => isHealthKey(d.key));
    assert.deepEqual(health.map((d) => d.key), HEALTH_KEYS);
    assert.deepEqual(health.filter((d) => !d.disabled).map((d) => d.key), ['cell_health']);
    assert.ok(health.filter((d) => d.key !== 'cell_health').every((d) => d.diagnostic && d.disabled && d.stateClass === 'measurement'));
    // 1 more enabled and 18 more disabled than the same pack without a report.
    const [on0, off0] = enabledCount(without);
    assert.deepEqual(enabledCount(withHealth), [on0 + 1, off0 + 18]);
    const names = withHealth.map((d) => d.name);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'one name per entity');
  });

  it('every config follows HA rules, and every template and attribute template reads the state', () => {
    for (const v of [packView(), packView({ health: packHealth({ findings: [] }) })]) {
      const state = packState(v);
      const defs = buildEntities(PACK_ENTITIES, v, ALL_GROUPS).filter((d) => isHealthKey(d.key));
      for (const m of entityConfigs(packAnnouncement(v), defs)) checkConfig(m.topic, JSON.parse(m.payload) as Record<string, unknown>, state);
    }
  });

  it('exact configs: the problem sensor with its findings as attributes, a resistance deviation with its confidence and standard error', () => {
    const v = packView();
    const byKey = (k: string) => buildEntities(PACK_ENTITIES, v, ALL_GROUPS).find((d) => d.key === k)!;
    const a = packAnnouncement(v);
    const common = {
      state_topic: STATE,
      availability: [{ topic: `jkbms/bus1/${SERIAL}/availability` }, { topic: 'jkbms/bridge/availability' }],
      availability_mode: 'all',
      expire_after: 120,
      device: packDevice(SER, v),
      origin: { name: ORIGIN.name, sw_version: ORIGIN.version, support_url: ORIGIN.url },
    };
    assert.deepEqual(entityConfig(a, byKey('cell_health')), {
      name: 'Cell health',
      unique_id: `${SER}_cell_health`,
      default_entity_id: `binary_sensor.${SER}_cell_health`,
      value_template: "{{ 'ON' if value_json.cell_health else 'OFF' }}",
      json_attributes_topic: STATE,
      json_attributes_template: '{{ value_json.attributes.cell_health | tojson }}',
      device_class: 'problem',
      icon: 'mdi:heart-pulse',
      ...common,
    });
    assert.deepEqual(entityConfig(a, byKey('cell_07_resistance_deviation')), {
      name: 'Cell 7 resistance deviation',
      unique_id: `${SER}_cell_07_resistance_deviation`,
      default_entity_id: `sensor.${SER}_cell_07_resistance_deviation`,
      value_template: '{{ value_json.resistance_deviations[6] }}',
      json_attributes_topic: STATE,
      json_attributes_template: '{{ value_json.attributes.resistance_deviations[6] | tojson }}',
      unit_of_measurement: 'mΩ',
      state_class: 'measurement',
      suggested_display_precision: 2,
      icon: 'mdi:omega',
      entity_category: 'diagnostic',
      enabled_by_default: false,
      ...common,
    });
    const trend = entityConfig(a, byKey('end_of_charge_delta_trend'));
    assert.deepEqual([trend.name, trend.unit_of_measurement, trend.state_class, trend.entity_category, trend.enabled_by_default], ['End-of-charge delta trend', 'mV/day', 'measurement', 'diagnostic', false]);
    const delta = entityConfig(a, byKey('end_of_charge_delta'));
    assert.deepEqual([delta.name, delta.device_class, delta.unit_of_measurement, delta.value_template], ['End-of-charge cell delta', 'voltage', 'mV', '{{ value_json.end_of_charge_delta }}']);
  });

  it('the state: on with findings, their texts and details as attributes; mΩ per cell (null = unknown) with confidence and standard error, rounded', () => {
    const s = packState(packView()) as Record<string, any>;
    assert.equal(s.cell_health, true);
    assert.equal(s.resistance_deviations.length, 16);
    assert.deepEqual([s.resistance_deviations[0], s.resistance_deviations[6], s.resistance_deviations[15]], [-0.08, 3.12, null]);
    assert.deepEqual([s.end_of_charge_delta, s.end_of_charge_delta_trend], [38.5, 1.23]);
    assert.deepEqual(s.attributes.cell_health, {
      findings: ['pack 2 cell 7: +3.1 mΩ above its neighbours — check its bus bar'],
      details: [{ kind: 'resistance', cell: 7, value: 3.12, unit: 'mΩ' }],
    });
    assert.deepEqual(s.attributes.resistance_deviations[6], { confidence: 1, std_err: 0.051 });
    assert.deepEqual(s.attributes.resistance_deviations[15], { confidence: 0, std_err: null });
    assert.deepEqual(s.attributes.alarm.alarms.length, 2, 'the alarm attributes stay');
    const clear = packState(packView({ health: packHealth({ findings: [], endOfChargeDeltaMv: null, endOfChargeTrendMvPerDay: null }) })) as Record<string, any>;
    assert.equal(clear.cell_health, false);
    assert.deepEqual(clear.attributes.cell_health, { findings: [], details: [] });
    assert.deepEqual([clear.end_of_charge_delta, clear.end_of_charge_delta_trend], [null, null]);
  });

  it('groups: Diagnostics off keeps only the problem sensor; device-based form carries the attributes per component', () => {
    const keys = buildEntities(PACK_ENTITIES, packView(), NO_GROUPS).map((d) => d.key);
    assert.deepEqual(keys.filter(isHealthKey), ['cell_health']);
    const v = packView();
    const p = deviceConfigPayload(packAnnouncement(v), buildEntities(PACK_ENTITIES, v, ALL_GROUPS));
    const cmps = p.cmps as Record<string, Record<string, unknown>>;
    assert.equal(cmps.cell_health!.json_attributes_template, '{{ value_json.attributes.cell_health | tojson }}');
    assert.equal(cmps.cell_health!.p, 'binary_sensor');
    assert.equal(cmps.cell_16_resistance_deviation!.enabled_by_default, false);
  });
});

describe('HA health: the bank device', () => {
  const bankView = (health: BankHealthView | null): BankView => ({ busName: BUS_NAME, summary: bankPayload(), health });
  const bankHealth = (): BankHealthView => {
    const p = parseInput(bankHealthMsg());
    assert.equal(p.kind, 'health-bank');
    return (p as { health: BankHealthView }).health;
  };
  const bankAnnouncement = (v: BankView) => announcement(BANK, bankDevice(BANK, v), BANK_STATE, 'jkbms/bus1/bank/availability');

  it('Health (enabled, every finding of the bank) and each pack\'s SOC and SOH offset (disabled diagnostics), valid configs reading the state', () => {
    assert.deepEqual(buildEntities(BANK_ENTITIES, bankView(null), ALL_GROUPS).filter((d) => /health|offset/.test(d.key)), []);
    const v = bankView(bankHealth());
    const defs = buildEntities(BANK_ENTITIES, v, ALL_GROUPS);
    const added = defs.filter((d) => /health|offset/.test(d.key));
    assert.deepEqual(added.map((d) => [d.key, d.name, d.disabled === true]), [
      ['health', 'Health', false],
      ['pack_01_soc_offset', 'Pack 1 SOC offset', true],
      ['pack_01_soh_offset', 'Pack 1 SOH offset', true],
      ['pack_02_soc_offset', 'Pack 2 SOC offset', true],
      ['pack_02_soh_offset', 'Pack 2 SOH offset', true],
    ]);
    const state = bankState(v);
    for (const m of entityConfigs(bankAnnouncement(v), defs)) checkConfig(m.topic, JSON.parse(m.payload) as Record<string, unknown>, state);
    const names = defs.map((d) => d.name);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
    assert.deepEqual(buildEntities(BANK_ENTITIES, v, NO_GROUPS).filter((d) => /health|offset/.test(d.key)).map((d) => d.key), ['health']);
  });

  it('the state: Health on, the texts and details (with the pack) as attributes, the offsets per pack (null = unknown)', () => {
    const s = bankState(bankView(bankHealth())) as Record<string, any>;
    assert.equal(s.health, true);
    assert.deepEqual(s.pack_offsets, { pack_01: { soc: 12.3, soh: 0 }, pack_02: { soc: -12.3, soh: null } });
    assert.deepEqual(s.attributes.health.details, [
      { pack: 2, kind: 'resistance', cell: 7, value: 3.12, unit: 'mΩ' },
      { pack: 1, kind: 'soc', cell: null, value: 12.3, unit: '%' },
    ]);
    assert.equal(s.attributes.health.findings.length, 2);
    assert.match(s.attributes.health.findings[1], /^pack 1: SOC 12 % above the other packs/);
    assert.deepEqual(Object.keys(s.attributes).slice(0, 1), ['stale_packs'], 'the bank attributes stay');
    assert.equal(s.soc, 68.95);
  });
});

describe('HA health: input checks', () => {
  const busIdOf = (name: string) => (name === BUS_NAME ? BUS_ID : null);
  const parse = (m: unknown) => parseInput(m as Parameters<typeof parseInput>[0], { busIdOf });
  const badField = (m: unknown): string => {
    try {
      parse(m);
    } catch (e) {
      assert.ok(e instanceof HaInputError);
      return `${e.code}: ${e.field ?? ''}`;
    }
    return 'accepted';
  };

  it('takes a pack report with its identity, and only the fields the entities use', () => {
    const p = parse(healthMsg());
    assert.equal(p.kind, 'health');
    const h = p as Extract<typeof p, { kind: 'health' }>;
    assert.deepEqual([h.bms.address, h.bms.serialNumber, h.serialNumber], [2, SERIAL, SERIAL]);
    assert.deepEqual(Object.keys(h.health), ['cells', 'endOfChargeDeltaMv', 'endOfChargeTrendMvPerDay', 'findings']);
    assert.deepEqual(h.health.cells[6], { cell: 7, resistanceMohm: 3.12, stdErrMohm: 0.0512, confidence: 0.99987 });
    assert.deepEqual(h.health.findings, [{ kind: 'resistance', address: 2, cell: 7, value: 3.12, unit: 'mΩ', text: resistanceFinding().text }]);
  });

  it('takes a bank report: the bus from msg.bms, or from its topic "<bus name>/health" among the deployed buses', () => {
    for (const m of [bankHealthMsg(), bankHealthMsg(bankHealthPayload(), false)]) {
      const p = parse(m);
      assert.equal(p.kind, 'health-bank');
      const h = p as Extract<typeof p, { kind: 'health-bank' }>;
      assert.deepEqual(h.bus, { bus: BUS_NAME, busId: BUS_ID });
      assert.deepEqual(h.health.packs, [
        { address: 1, socOffset: 12.3, sohOffset: 0 },
        { address: 2, socOffset: -12.3, sohOffset: null },
      ]);
      assert.equal(h.health.findings.length, 2);
    }
    assert.equal(badField({ topic: 'attic/health', payload: bankHealthPayload() }), 'unknown-bus: attic');
    assert.equal(badField({ topic: 'health', payload: bankHealthPayload() }), 'bad-field: msg.topic');
  });

  it('names the first bad field of a malformed report', () => {
    const pack = (mutate: (p: Record<string, any>) => void, b = bms(2, true)) => {
      const p = healthPayload() as unknown as Record<string, any>;
      mutate(p);
      return { topic: 'bus1/2/health', payload: p, bms: b };
    };
    const bank = (mutate: (p: Record<string, any>) => void) => {
      const p = bankHealthPayload() as unknown as Record<string, any>;
      mutate(p);
      return bankHealthMsg(p as never);
    };
    const cases: [unknown, string][] = [
      [pack((p) => (p.cells = 'none')), 'bad-field: msg.payload.cells'],
      [pack((p) => (p.cells[0].cell = 5)), 'bad-field: msg.payload.cells[0].cell'],
      [pack((p) => (p.cells[3].confidence = 1.5)), 'bad-field: msg.payload.cells[3].confidence'],
      [pack((p) => (p.cells[4].resistanceMohm = '0.2')), 'bad-field: msg.payload.cells[4].resistanceMohm'],
      [pack((p) => (p.endOfChargeDeltaMv = NaN)), 'bad-field: msg.payload.endOfChargeDeltaMv'],
      [pack((p) => (p.findings = {})), 'bad-field: msg.payload.findings'],
      [pack((p) => (p.findings[0].kind = 'fire')), 'bad-field: msg.payload.findings[0].kind'],
      [pack((p) => (p.findings[0].cell = 0)), 'bad-field: msg.payload.findings[0].cell'],
      [pack((p) => (p.findings[0].unit = 'mA')), 'bad-field: msg.payload.findings[0].unit'],
      [pack((p) => delete p.findings[0].text), 'bad-field: msg.payload.findings[0].text'],
      [pack((p) => (p.address = 3)), 'bad-field: msg.payload.address'],
      [pack((p) => (p.serialNumber = 'OTHER')), 'bad-field: msg.payload.serialNumber'],
      [pack(() => undefined, { ...bms(2, true), address: 16 }), 'bad-field: msg.bms.address'],
      [{ topic: 'bus1/2/health', payload: healthPayload() }, 'unknown-input: '],
      [bank((p) => (p.packs[1].address = 1)), 'bad-field: msg.payload.packs[1].address'],
      [bank((p) => (p.packs[0].socOffset = '12')), 'bad-field: msg.payload.packs[0].socOffset'],
      [bank((p) => (p.findings[1].address = 20)), 'bad-field: msg.payload.findings[1].address'],
      [bank((p) => delete p.packs), 'bad-field: msg.payload.packs'],
    ];
    for (const [m, want] of cases) assert.equal(badField(m), want, JSON.stringify(m).slice(0, 120));
  });
});

/** The node's defaults: state at most every 5 s, every group. */
const OPTS: HaOptions = DEFAULT_HA_OPTIONS;

/** A bridge on a fake clock with the node's default rate (5 s); `stored`: what a previous run left. */
function setup(stored: StoredState = {}) {
  const clock = new FakeClock(0);
  const published: MqttMessage[][] = [];
  const persisted: Record<string, unknown> = {};
  const bridge = new HaBridge(OPTS, { clock, wallNow: () => WALL0 + clock.now(), publish: (m) => published.push(m), persist: (k, v) => (persisted[k] = v) });
  bridge.restore(stored);
  const busIdOf = (name: string) => (name === BUS_NAME ? BUS_ID : null);
  const send = (m: unknown) => bridge.handle(parseInput(m as Parameters<typeof parseInput>[0], { busIdOf }));
  return { clock, bridge, published, persisted, send };
}

const configs = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
const deletions = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/config') && m.payload === '').map((m) => m.topic);
const statesOf = (out: MqttMessage[], topic = STATE) => out.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload) as Record<string, any>);
const keysOf = (out: MqttMessage[], device = SER) => configs(out).map((m) => m.topic.split('/')[2]!.slice(device.length + 1));

describe('HA health: the bridge', () => {
  it('a report alone announces nothing (no empty shell); the pack\'s first live frame announces it with its health entities, under its serial id', () => {
    const { send } = setup();
    assert.deepEqual(send(healthMsg()), []);
    const out = send(msg(live(), bms(2, true)));
    const keys = keysOf(out);
    assert.ok(HEALTH_KEYS.every((k) => keys.includes(k)), 'the health entities');
    assert.ok(keys.includes('voltage'));
    assert.ok(configs(out).every((m) => (JSON.parse(m.payload) as { device: { identifiers: string[] } }).device.identifiers[0] === SER), 'one device');
    const [state] = statesOf(out);
    assert.equal(state!.cell_health, true);
    assert.equal(state!.attributes.cell_health.findings.length, 1);
  });

  it('a report for an announced pack adds its entities (nothing deleted) and publishes the state at once; later reports follow the rate unless the findings change', () => {
    const { send, clock, published } = setup();
    const first = send(msg(live(), bms(2, true)));
    assert.ok(keysOf(first).every((k) => !isHealthKey(k)));
    const added = send(healthMsg());
    // Announced again (as for any change of the entity set): the same configs, and the health entities.
    assert.deepEqual(keysOf(added), [...keysOf(first), ...HEALTH_KEYS]);
    assert.deepEqual(deletions(added), []);
    assert.equal(statesOf(added).length, 1, 'at once: the findings list changed');
    // The same findings with other figures: with the next rate-limited state.
    clock.advance(1000);
    const slower = healthPayload(2, { endOfChargeDeltaMv: 40 });
    assert.deepEqual(send(healthMsg(slower)), []);
    clock.advance(4000);
    assert.equal(statesOf(published.flat()).at(-1)!.end_of_charge_delta, 40);
    // A finding cleared: at once, like an alarm.
    clock.advance(1000);
    const cleared = send(healthMsg(healthPayload(2, { findings: [] })));
    assert.deepEqual(statesOf(cleared).map((s) => s.cell_health), [false]);
    // A new one: at once.
    clock.advance(1000);
    assert.deepEqual(statesOf(send(healthMsg())).map((s) => s.cell_health), [true]);
    // Live frames between reports carry the last report.
    clock.advance(5000);
    assert.equal(statesOf(send(msg(live(), bms(2, true))))[0]!.cell_health, true);
  });

  it('a redeploy or restart: announced from the first live frame with the health entities and their last values, the same configs, nothing deleted', () => {
    const a = setup();
    a.send(msg(live(), bms(2, true)));
    const before = configs(a.send(healthMsg())).map((m) => m.topic);
    a.send(bankMsg());
    a.send(bankHealthMsg());
    const stored = a.bridge.stored();
    assert.deepEqual(Object.keys(stored.health).sort(), [BANK, SER].sort());
    assert.deepEqual(a.persisted.health, stored.health, 'persisted as it changed');
    a.bridge.stop();

    const b = setup(JSON.parse(JSON.stringify(stored)) as StoredState);
    const out = b.send(msg(live(), bms(2, true)));
    assert.deepEqual(deletions(out), []);
    const keys = keysOf(out);
    assert.ok(HEALTH_KEYS.every((k) => keys.includes(k)));
    assert.ok(configs(out).every((m) => before.includes(m.topic) || !isHealthKey(m.topic.split('/')[2]!.slice(SER.length + 1))));
    assert.equal(statesOf(out)[0]!.cell_health, true, 'the last report, not unknown');
    const bank = b.send(bankMsg());
    assert.deepEqual(deletions(bank), []);
    assert.ok(keysOf(bank, BANK).includes('health') && keysOf(bank, BANK).includes('pack_02_soh_offset'));
    assert.equal(statesOf(bank, BANK_STATE)[0]!.health, true);
  });

  it('the bank: a report before its first summary waits for it; later reports publish at once when the findings change', () => {
    const { send, clock } = setup();
    assert.deepEqual(send(bankHealthMsg()), []);
    const out = send(bankMsg());
    assert.ok(['health', 'pack_01_soc_offset', 'pack_02_soh_offset'].every((k) => keysOf(out, BANK).includes(k)));
    assert.equal(statesOf(out, BANK_STATE)[0]!.health, true);
    clock.advance(1000);
    assert.deepEqual(send(bankHealthMsg()), [], 'same findings: with the next state');
    clock.advance(1000);
    const cleared = send(bankHealthMsg(bankHealthPayload({ findings: [], problem: false })));
    assert.deepEqual(statesOf(cleared, BANK_STATE).map((s) => [s.health, s.attributes.health.findings]), [[false, []]]);
    // A third pack in the report: its offsets join the device.
    clock.advance(1000);
    const three = bankHealthPayload({ findings: [], problem: false });
    three.packs.push({ address: 3, serialNumber: null, soc: 50, soh: 100, socOffset: 1, sohOffset: 0 });
    const again = send(bankHealthMsg(three));
    assert.deepEqual(keysOf(again, BANK).filter((k) => /health|offset/.test(k)), ['health', ...[1, 2, 3].flatMap((a) => [`pack_0${a}_soc_offset`, `pack_0${a}_soh_offset`])]);
    assert.deepEqual(deletions(again), []);
  });

  it('another pack at the address (a swap) starts without health entities; remove forgets the remembered report', () => {
    const { send, bridge } = setup();
    send(msg(live(), bms(2, true)));
    send(healthMsg());
    send(msg(info(2, { serialNumber: 'NEW' }), bms(2, true, { serialNumber: 'NEW' })));
    const out = send(msg(live(), bms(2, true, { serialNumber: 'NEW' })));
    assert.ok(keysOf(out, 'jkbms_NEW').length > 0);
    assert.ok(keysOf(out, 'jkbms_NEW').every((k) => !isHealthKey(k)));
    assert.ok(SER in bridge.stored().health, 'the old pack\'s report is kept (it may come back)');
    send({ payload: { command: 'remove', serialNumber: SERIAL } });
    assert.ok(!(SER in bridge.stored().health));
  });
});

describe('HA health: the jkbms-health analysis on the simulator, through the bridge', () => {
  it('a day of the household day with a planted +3 mΩ cell: Cell health on for pack 2 naming cell 7, the bank\'s Health on, every state field read by an entity present', function () {
    this.timeout(60_000);
    const clock = new FakeClock(Date.UTC(2025, 5, 1));
    const sim = new BusSimulator({ packs: [1, 2], seed: 1, clock, bank: true, stepS: 10, cellFaults: 'cell 2.7: +3 mΩ' });
    const monitor = new HealthMonitor();
    const serial = (a: number) => sim.pack(a).serialNumber;
    for (let i = 0; i < 8640; i++) {
      clock.advance(10_000);
      for (const a of [1, 2]) monitor.frame(a, sim.pack(a).live() as LivePayload, clock.now(), serial(a));
    }
    const packs = monitor.packReports(clock.now());
    const bank = monitor.bankReport(clock.now(), packs);
    const { send } = setup();
    const identity = (a: number) => bms(a, true, { serialNumber: serial(a) });
    const out: MqttMessage[] = [];
    for (const p of packs) {
      out.push(...send({ topic: `bus1/${p.address}/health`, payload: p, bms: identity(p.address) }));
      out.push(...send({ ...msg(sim.pack(p.address).live() as LivePayload, identity(p.address)) }));
    }
    out.push(...send(bankMsg()), ...send({ topic: 'bus1/health', payload: bank, bms: { bus: BUS_NAME, busId: BUS_ID } }));
    const two = `jkbms/bus1/${serial(2)}/state`;
    const s2 = statesOf(out, two).at(-1)!;
    assert.equal(s2.cell_health, true);
    assert.ok(s2.attributes.cell_health.findings.some((t: string) => /^pack 2 cell 7: \+\d\.\d mΩ above its neighbours/.test(t)), JSON.stringify(s2.attributes.cell_health));
    assert.ok(Math.abs(s2.resistance_deviations[6] - 3) < 1, `cell 2.7: ${s2.resistance_deviations[6]} mΩ`);
    assert.equal(statesOf(out, `jkbms/bus1/${serial(1)}/state`).at(-1)!.cell_health, false);
    assert.equal(statesOf(out, BANK_STATE).at(-1)!.health, true);
    // Every config of the health entities follows HA's rules and reads a present value of the latest state.
    const healthConfigs = configs(out).filter((c) => c.topic.includes(serial(2)) && /(health|deviation|end_of_charge)/.test(c.topic));
    assert.equal(healthConfigs.length, HEALTH_KEYS.length);
    for (const m of healthConfigs) checkConfig(m.topic, JSON.parse(m.payload) as Record<string, unknown>, s2);
  });
});
