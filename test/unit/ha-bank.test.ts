import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { BANK_ENTITIES, type BankView, bankDevice, bankState } from '../../src/ha/bank';
import { type AnnouncedDevice, HaBridge } from '../../src/ha/bridge';
import { type Announcement, deviceConfigPayload, entityConfig, entityConfigs } from '../../src/ha/discovery';
import { buildEntities } from '../../src/ha/entities';
import { HaInputError, parseInput } from '../../src/ha/input';
import type { EntityGroups, HaOptions, MqttMessage } from '../../src/ha/types';
import { ALL_GROUPS, BUS_ID, BUS_NAME, bankMsg, bankPayload, bms, live, msg } from './ha-fixtures';
import { checkConfig, PREFIX } from './ha-rules';

/** The bank id derived from the bus name "bus1" (no msg.bms.bankId in these messages). */
const DEV = 'jkbms_bank_bus1';
const STATE = 'jkbms/bus1/bank/state';
const AVAIL = 'jkbms/bus1/bank/availability';
const ORIGIN = { name: '@jkpb/node-red-jkbms', version: '0.1.0', url: 'https://github.com/jkpb/node-red-jkbms' };
const NO_GROUPS: EntityGroups = { cells: false, resistances: false, temperatures: false, details: false, device: false, energy: false };

const CORE_KEYS = [
  'packs_online', 'packs_expected', 'stale_packs', 'voltage', 'current', 'power', 'soc', 'remaining_capacity', 'full_capacity',
  'cell_min', 'cell_max', 'cell_delta', 'temperature_min', 'temperature_max', 'alarm', 'charging_enabled', 'discharging_enabled',
  'charging_mos', 'discharging_mos',
];

function view(payload = bankPayload()): BankView {
  return { busName: BUS_NAME, summary: payload };
}

function announcement(v: BankView): Announcement {
  return {
    discoveryPrefix: PREFIX,
    deviceId: DEV,
    device: bankDevice(DEV, v),
    origin: ORIGIN,
    stateTopic: STATE,
    availability: [AVAIL, 'jkbms/bridge/availability'],
    expireAfter: 120,
    qos: 1,
  };
}

describe('HA bank device: entity table, state and configs', () => {
  it('every config follows HA rules, ids are unique, and every template and attribute template reads the state', () => {
    for (const payload of [bankPayload(), bankPayload({ one: false, two: false })]) {
      const v = view(payload);
      const state = bankState(v);
      const msgs = entityConfigs(announcement(v), buildEntities(BANK_ENTITIES, v, ALL_GROUPS));
      const ids = msgs.map((m) => {
        assert.deepEqual([m.retain, m.qos], [true, 1]);
        return checkConfig(m.topic, JSON.parse(m.payload) as Record<string, unknown>, state);
      });
      assert.deepEqual(ids, [...CORE_KEYS, 'energy_charged', 'energy_discharged', 'max_pack_delta'].map((k) => `${DEV}_${k}`));
      assert.equal(new Set(msgs.map((m) => m.topic)).size, 22);
    }
  });

  it('the state carries the bank figures in SI units, the pack/cell/sensor of each extreme and the alarm list as attributes', () => {
    assert.deepEqual(bankState(view()), {
      packs_online: 2,
      packs_expected: 3,
      stale_packs: 1,
      voltage: 52.822,
      current: -24.69,
      power: -1304.174,
      soc: 68.95,
      remaining_capacity: 263.2,
      full_capacity: 380,
      cell_min: 3.281,
      cell_max: 3.305,
      cell_delta: 0.024,
      max_pack_delta: 0.024,
      temperature_min: -3.5,
      temperature_max: 30,
      alarm: true,
      charging_enabled: true,
      discharging_enabled: true,
      charging_mos: true,
      discharging_mos: true,
      energy_charged: 12.5,
      energy_discharged: 3.25,
      attributes: {
        stale_packs: { packs: [3] },
        cell_min: { pack: 2, cell: 7 },
        cell_max: { pack: 1, cell: 2 },
        max_pack_delta: { pack: 2 },
        temperature_min: { pack: 1, sensor: 't2' },
        temperature_max: { pack: 2, sensor: 't1' },
        alarm: {
          alarms: [
            { pack: 2, alarm: 'cellUvp', label: 'Cell under-voltage' },
            { pack: 2, alarm: 'dischargeMos', label: 'Discharge MOS abnormal' },
          ],
        },
      },
    });
  });

  it('no pack counted: measured values null, attributes still objects (HA wants a dictionary)', () => {
    const s = bankState(view(bankPayload({ one: false, two: false })));
    assert.deepEqual(
      [s.packs_online, s.soc, s.cell_min, s.temperature_max, s.charging_enabled, s.alarm, s.energy_charged],
      [0, null, null, null, null, false, 12.5],
    );
    assert.deepEqual(s.attributes, {
      stale_packs: { packs: [1, 2, 3] },
      cell_min: { pack: null, cell: null },
      cell_max: { pack: null, cell: null },
      max_pack_delta: { pack: null },
      temperature_min: { pack: null, sensor: null },
      temperature_max: { pack: null, sensor: null },
      alarm: { alarms: [] },
    });
  });

  it('exact configs: capacity-weighted SOC, the alarm with its list as attributes, a nullable switch state, energy', () => {
    const v = view();
    const a = announcement(v);
    const byKey = (k: string) => buildEntities(BANK_ENTITIES, v, ALL_GROUPS).find((d) => d.key === k)!;
    const device = { identifiers: [DEV], name: 'JK-PB Bank bus1', manufacturer: 'Jikong', model: 'JK-PB bank' };
    const availability = [{ topic: AVAIL }, { topic: 'jkbms/bridge/availability' }];
    const origin = { name: '@jkpb/node-red-jkbms', sw_version: '0.1.0', support_url: 'https://github.com/jkpb/node-red-jkbms' };
    assert.deepEqual(entityConfig(a, byKey('soc')), {
      name: 'State of charge',
      unique_id: `${DEV}_soc`,
      default_entity_id: `sensor.${DEV.toLowerCase()}_soc`,
      state_topic: STATE,
      value_template: '{{ value_json.soc }}',
      device_class: 'battery',
      unit_of_measurement: '%',
      state_class: 'measurement',
      suggested_display_precision: 1,
      availability,
      availability_mode: 'all',
      expire_after: 120,
      device,
      origin,
    });
    assert.deepEqual(entityConfig(a, byKey('alarm')), {
      name: 'Alarm',
      unique_id: `${DEV}_alarm`,
      default_entity_id: `binary_sensor.${DEV.toLowerCase()}_alarm`,
      state_topic: STATE,
      value_template: "{{ 'ON' if value_json.alarm else 'OFF' }}",
      json_attributes_topic: STATE,
      json_attributes_template: '{{ value_json.attributes.alarm | tojson }}',
      device_class: 'problem',
      availability,
      availability_mode: 'all',
      expire_after: 120,
      device,
      origin,
    });
    const ch = entityConfig(a, byKey('charging_enabled'));
    assert.equal(ch.value_template, "{{ 'None' if value_json.charging_enabled is none else ('ON' if value_json.charging_enabled else 'OFF') }}");
    const e = entityConfig(a, byKey('energy_discharged'));
    assert.deepEqual([e.device_class, e.unit_of_measurement, e.state_class, e.value_template], ['energy', 'kWh', 'total_increasing', '{{ value_json.energy_discharged }}']);
    const cmin = entityConfig(a, byKey('cell_min'));
    assert.equal(cmin.json_attributes_template, '{{ value_json.attributes.cell_min | tojson }}');
    for (const k of ['packs_expected', 'stale_packs', 'cell_delta', 'max_pack_delta']) assert.equal(entityConfig(a, byKey(k)).entity_category, 'diagnostic', k);
  });

  it('device-based form: the bank device block and attributes per component', () => {
    const v = view();
    const p = deviceConfigPayload(announcement(v), buildEntities(BANK_ENTITIES, v, ALL_GROUPS));
    assert.deepEqual(p.dev, { ids: [DEV], name: 'JK-PB Bank bus1', mf: 'Jikong', mdl: 'JK-PB bank' });
    assert.equal(p.state_topic, STATE);
    const cmps = p.cmps as Record<string, Record<string, unknown>>;
    assert.equal(Object.keys(cmps).length, 22);
    assert.deepEqual([cmps.temperature_max!.json_attributes_topic, cmps.temperature_max!.json_attributes_template], [STATE, '{{ value_json.attributes.temperature_max | tojson }}']);
    assert.equal(cmps.voltage!.json_attributes_topic, undefined);
  });

  it('groups: energy and the largest pack delta (diagnostics) can be switched off; the core stays', () => {
    assert.deepEqual(buildEntities(BANK_ENTITIES, view(), NO_GROUPS).map((d) => d.key), CORE_KEYS);
  });
});

// ------------------------------------------------------------------------------------- bridge

const WALL0 = 1_700_000_000_000;
const OPTS: HaOptions = {
  discoveryPrefix: 'homeassistant',
  baseTopic: 'jkbms',
  mode: 'entity',
  groups: ALL_GROUPS,
  expireAfter: 120,
  qos: 1,
  rateLimit: 0,
  serialWait: 60,
  energyMaxGap: 60,
  origin: { name: '@jkpb/node-red-jkbms', version: '0.1.0' },
};

function setup(over: Partial<HaOptions> = {}, stored: { announced?: unknown } = {}) {
  const clock = new FakeClock(0);
  const published: MqttMessage[][] = [];
  const persisted: Record<string, unknown> = {};
  const bridge = new HaBridge({ ...OPTS, ...over }, { clock, wallNow: () => WALL0 + clock.now(), publish: (m) => published.push(m), persist: (k, v) => (persisted[k] = v) });
  bridge.restore(stored);
  const busIdOf = (name: string) => (name === BUS_NAME || name === 'garage' ? BUS_ID : null);
  const send = (m: unknown) => bridge.handle(parseInput(m as Parameters<typeof parseInput>[0], { busIdOf }));
  return { clock, bridge, published, persisted, send };
}

const configs = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
const deletions = (out: MqttMessage[]) => out.filter((m) => m.payload === '').map((m) => m.topic);
const states = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/state'));
const stateOf = (m: MqttMessage) => JSON.parse(m.payload) as Record<string, unknown>;
const avail = (out: MqttMessage[]) =>
  out.filter((m) => m.topic.endsWith('/availability') && m.topic !== 'jkbms/bridge/availability' && m.payload !== '').map((m) => `${m.topic}=${m.payload}`);
const bankKeys = (out: MqttMessage[]) => configs(out).map((m) => m.topic.split('/')[2]!.slice(DEV.length + 1));

describe('HA bridge: the bank device', () => {
  it('announces with the first bank message: bridge online, configs, availability, then the state', () => {
    const { send, bridge } = setup();
    assert.deepEqual(bridge.counts(), { packs: 0, offline: 0, banks: 0, banksOffline: 0 });
    const out = send(bankMsg());
    assert.deepEqual(out[0], { topic: 'jkbms/bridge/availability', payload: 'online', retain: true, qos: 1 });
    assert.deepEqual(bankKeys(out), [...CORE_KEYS, 'energy_charged', 'energy_discharged', 'max_pack_delta']);
    assert.deepEqual(out.at(-2), { topic: AVAIL, payload: 'online', retain: true, qos: 1 });
    assert.deepEqual([out.at(-1)!.topic, out.at(-1)!.retain, stateOf(out.at(-1)!).soc], [STATE, false, 68.95]);
    assert.equal(out.length, 1 + 22 + 2);
    assert.deepEqual(bridge.counts(), { packs: 0, offline: 0, banks: 1, banksOffline: 0 });
    // Unchanged: only the state.
    const p = bankPayload();
    p.soc = 70;
    assert.deepEqual(send(bankMsg(p)).map((m) => [m.topic, stateOf(m).soc]), [[STATE, 70]]);
  });

  it('offline while no pack is counted, online again with the next counted pack', () => {
    const { send, bridge } = setup();
    send(bankMsg());
    const none = send(bankMsg(bankPayload({ one: false, two: false })));
    assert.deepEqual(avail(none), [`${AVAIL}=offline`]);
    assert.equal(stateOf(states(none)[0]!).packs_online, 0);
    assert.deepEqual(bridge.counts(), { packs: 0, offline: 0, banks: 1, banksOffline: 1 });
    assert.deepEqual(avail(send(bankMsg(bankPayload({ one: false, two: false })))), [], 'said once');
    assert.deepEqual(avail(send(bankMsg(bankPayload({ one: false })))), [`${AVAIL}=online`]);
  });

  it('a first summary that counts no pack announces the bank offline', () => {
    const { send } = setup();
    const out = send(bankMsg(bankPayload({ one: false, two: false })));
    assert.equal(configs(out).length, 22);
    assert.deepEqual(avail(out), [`${AVAIL}=offline`]);
  });

  it('goes offline when no bank message comes for "expire after" (its node or bus stopped); never with expire after 0', () => {
    const { send, clock, published, bridge } = setup();
    send(bankMsg());
    clock.advance(119_000);
    send(bankMsg());
    clock.advance(119_999);
    assert.equal(published.length, 0);
    clock.advance(1);
    assert.deepEqual(published, [[{ topic: AVAIL, payload: 'offline', retain: true, qos: 1 }]]);
    assert.equal(bridge.counts().banksOffline, 1);
    assert.deepEqual(avail(send(bankMsg())), [`${AVAIL}=online`]);

    const never = setup({ expireAfter: 0 });
    never.send(bankMsg());
    never.clock.advance(24 * 3600_000);
    assert.deepEqual(never.published, []);
  });

  it('stop() cancels the silence timer', () => {
    const { send, clock, published, bridge } = setup();
    send(bankMsg());
    bridge.stop();
    clock.advance(600_000);
    assert.deepEqual(published, []);
  });

  it("re-announces the bank (and the packs) on HA's birth message", () => {
    const { send } = setup();
    send(bankMsg());
    send(msg(live(), bms(2, true)));
    const out = send({ topic: 'homeassistant/status', payload: 'online' });
    assert.equal(configs(out).length, 98 + 22);
    assert.deepEqual(avail(out), ['jkbms/bus1/4062840158/availability=online', `${AVAIL}=online`]);
  });

  it('remove: {bank: true} deletes the bank only; address "all" the bank too; a pack address leaves it; the next summary announces it again', () => {
    const { send, persisted } = setup();
    const bankTopics = configs(send(bankMsg())).map((m) => m.topic);
    const packTopics = configs(send(msg(live(), bms(2, true)))).map((m) => m.topic);
    assert.deepEqual(deletions(send({ payload: { command: 'remove', address: 2 } })), packTopics);
    const r = send({ payload: { command: 'remove', bank: true } });
    assert.deepEqual(deletions(r), bankTopics);
    assert.deepEqual(avail(r), [`${AVAIL}=offline`]);
    assert.deepEqual(persisted.announced, {});
    assert.deepEqual(send({ payload: { command: 'remove', bank: true } }), []);
    assert.equal(configs(send(bankMsg())).length, 22);
    send(msg(live(), bms(2, true)));
    const all = send({ payload: { command: 'remove', address: 'all' } });
    assert.deepEqual(deletions(all).sort(), [...bankTopics, ...packTopics].sort());
  });

  it('the registry records the bank (kind "bank", no address) and is restored: configs no longer wanted are deleted', () => {
    const { send, persisted } = setup();
    send(bankMsg());
    const entry = (persisted.announced as Record<string, AnnouncedDevice>)[DEV]!;
    assert.deepEqual([entry.kind, entry.busId, entry.address, entry.availability, entry.topics.length], ['bank', BUS_ID, null, AVAIL, 22]);
    // The next run announces one device config instead: the stored per-entity configs are deleted.
    const next = setup({ mode: 'device' }, { announced: structuredClone(persisted.announced) });
    const out = next.send(bankMsg());
    assert.deepEqual(deletions(out), entry.topics);
    assert.deepEqual(configs(out).map((m) => m.topic), [`homeassistant/device/${DEV}/config`]);
    assert.deepEqual((next.persisted.announced as Record<string, AnnouncedDevice>)[DEV]!.kind, 'bank');
  });

  it('rate limit: at most one bank state per period, the latest published at its end; availability and alarm changes are never held back', () => {
    const { send, clock, published } = setup({ rateLimit: 5 });
    const at = (soc: number, counted = true) => {
      const p = bankPayload(counted ? {} : { one: false, two: false });
      p.soc = soc;
      return bankMsg(p);
    };
    assert.equal(states(send(at(40))).length, 1);
    clock.advance(1000);
    assert.deepEqual(send(at(41)), []);
    clock.advance(1000);
    assert.deepEqual(send(at(42)), []);
    clock.advance(2999);
    assert.equal(published.length, 0);
    clock.advance(1);
    assert.deepEqual(published.map((b) => b.map((m) => [m.topic, stateOf(m).soc])), [[[STATE, 42]]]);
    clock.advance(1000);
    // No pack counted any more: offline, and the state (alarms gone, packs online 0) at once.
    const out = send(at(43, false));
    assert.deepEqual(out.map((m) => [m.topic, m.topic === STATE ? stateOf(m).packs_online : m.payload]), [
      [AVAIL, 'offline'],
      [STATE, 0],
    ]);
  });

  it('a renamed bus moves the topics and the device name, keeps the device (its bank id), and clears the old retained availability', () => {
    const { send } = setup();
    send(bankMsg(bankPayload(), 'bus1', { bankId: 'bus1' }));
    const out = send(bankMsg(bankPayload(), 'garage', { bankId: 'bus1' }));
    assert.deepEqual(deletions(out), [AVAIL]);
    const cfg = JSON.parse(configs(out)[0]!.payload) as { state_topic: string; device: { name: string; identifiers: string[] } };
    assert.deepEqual([cfg.state_topic, cfg.device.name, cfg.device.identifiers], ['jkbms/garage/bank/state', 'JK-PB Bank garage', [DEV]]);
    assert.deepEqual(avail(out), ['jkbms/garage/bank/availability=online']);
  });

  it('the bank id names the device: a copied flow (another bus node id) keeps it; a changed bank id replaces the device (the old one deleted)', () => {
    const a = setup();
    const first = configs(a.send(bankMsg(bankPayload(), 'bus1', { bankId: 'house' }))).map((m) => m.topic);
    assert.ok(first.every((t) => t.startsWith('homeassistant/') && t.includes('/jkbms_bank_house_')), first[0]);
    // A copy of the flow: new node ids everywhere, the same bank id: the same configs, nothing deleted.
    const copy = setup({}, { announced: a.bridge.stored().announced });
    const again = copy.send(bankMsg(bankPayload(), 'bus1', { busId: 'copied-bus-id', bankId: 'house' }));
    assert.deepEqual(deletions(again), []);
    assert.deepEqual(configs(again).map((m) => m.topic), first);
    // The user changes the bank id: a new device, and the old one is deleted from HA.
    const changed = a.send(bankMsg(bankPayload(), 'bus1', { bankId: 'garage_bank' }));
    assert.deepEqual(deletions(changed), [...first, AVAIL]);
    assert.ok(configs(changed).every((m) => m.topic.includes('/jkbms_bank_garage_bank_')));
    assert.deepEqual(Object.keys(a.bridge.stored().announced), ['jkbms_bank_garage_bank']);
  });

  it('a bank message for a bus that is not deployed is refused (no device, nothing published)', () => {
    const { send, bridge } = setup();
    assert.throws(
      () => send(bankMsg(bankPayload(), 'attic')),
      (e: unknown) => e instanceof HaInputError && e.code === 'unknown-bus' && e.field === 'attic',
    );
    assert.deepEqual(bridge.counts().banks, 0);
  });
});
