import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { type AnnouncedDevice, HaBridge } from '../../src/ha/bridge';
import { parseInput } from '../../src/ha/input';
import type { HaOptions, MqttMessage } from '../../src/ha/types';
import { ALL_GROUPS, availability, BUS_ID, bms, info, live, msg, SERIAL, settings } from './ha-fixtures';

const WALL0 = 1_700_000_000_000;
const PROV = `jkbms_${BUS_ID}_2`;
const SER = `jkbms_${SERIAL}`;
const OPTS: HaOptions = {
  discoveryPrefix: 'homeassistant',
  baseTopic: 'jkbms',
  mode: 'entity',
  groups: ALL_GROUPS,
  expireAfter: 120,
  qos: 1,
  rateLimit: 0,
  energyMaxGap: 60,
  origin: { name: '@jkpb/node-red-jkbms', version: '0.1.0' },
};

function setup(over: Partial<HaOptions> = {}, stored: { energy?: unknown; announced?: unknown } | null = {}) {
  const clock = new FakeClock(0);
  const published: MqttMessage[][] = [];
  const persisted: Record<string, unknown> = {};
  const persistCalls: string[] = [];
  const bridge = new HaBridge(
    { ...OPTS, ...over },
    {
      clock,
      wallNow: () => WALL0 + clock.now(),
      publish: (m) => published.push(m),
      persist: (k, v) => {
        persisted[k] = v;
        persistCalls.push(k);
      },
    },
  );
  if (stored) bridge.restore(stored);
  const send = (m: unknown) => bridge.handle(parseInput(m as Parameters<typeof parseInput>[0]));
  /** A live frame stamped with the fake clock's wall time. */
  const frame = (m: ReturnType<typeof msg>) => send({ ...m, frame: { source: 'poll', ts: WALL0 + clock.now() } });
  return { clock, bridge, published, persisted, persistCalls, send, frame };
}

const configs = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
const deletions = (out: MqttMessage[]) => out.filter((m) => m.payload === '').map((m) => m.topic);
const states = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/state'));
const stateOf = (m: MqttMessage) => JSON.parse(m.payload) as Record<string, unknown>;
/** Pack availability messages (the bridge's own is checked separately). */
const avail = (out: MqttMessage[]) =>
  out.filter((m) => m.topic.endsWith('/availability') && m.topic !== 'jkbms/bridge/availability' && m.payload !== '').map((m) => `${m.topic}=${m.payload}`);

describe('HA bridge', () => {
  it('publishes nothing for a pack before its first live frame (no phantom devices)', () => {
    const { send, bridge } = setup();
    assert.deepEqual(send(msg(settings())), []);
    assert.deepEqual(send(msg(availability(2, true))), []);
    assert.deepEqual(bridge.counts(), { packs: 0, offline: 0, banks: 0, banksOffline: 0 });
  });

  it('announces on the first live frame: bridge online, configs, availability, then the state', () => {
    const { send, bridge } = setup();
    const out = send(msg(live()));
    assert.deepEqual(out[0], { topic: 'jkbms/bridge/availability', payload: 'online', retain: true, qos: 1 });
    const cfg = configs(out);
    // 19 core + 16 cells + 16 resistances + 3 temperatures + 2 energy + 8 details + 29 alarms (no settings, no device info yet)
    assert.equal(cfg.length, 93);
    for (const c of cfg) {
      assert.match(c.topic, new RegExp(`^homeassistant/(sensor|binary_sensor)/${PROV}_[a-z0-9_]+/config$`));
      assert.equal(c.retain, true);
    }
    assert.deepEqual(avail(out), [`jkbms/bus1/${BUS_ID}_2/availability=online`]);
    const last = out[out.length - 1]!;
    assert.equal(last.topic, `jkbms/bus1/${BUS_ID}_2/state`);
    assert.equal(last.retain, false);
    assert.equal(stateOf(last).soc, 47);
    assert.equal(out.length, 1 + 93 + 1 + 1);
    assert.deepEqual(bridge.counts(), { packs: 1, offline: 0, banks: 0, banksOffline: 0 });
    // An unchanged pack only gets its state.
    const again = send(msg(live(2, { soc: 48 })));
    assert.deepEqual(again.map((m) => m.topic), [`jkbms/bus1/${BUS_ID}_2/state`]);
    assert.equal(stateOf(again[0]!).soc, 48);
  });

  it('moves from the provisional id to the serial: deletes the provisional entities, announces under jkbms_<serial>, carries the energy', () => {
    const { frame, clock } = setup();
    const p = (over = {}) => live(2, { power: -3600, current: -67.5, ...over }); // 1 Wh per second, discharging
    const first = frame(msg(p()));
    const provisionalTopics = configs(first).map((m) => m.topic);
    clock.advance(1000);
    frame(msg(p()));
    clock.advance(1000);
    const switched = frame(msg(info(), bms(2, true)));
    // Each provisional config deleted, and its retained availability cleared.
    assert.deepEqual(deletions(switched), [...provisionalTopics, `jkbms/bus1/${BUS_ID}_2/availability`]);
    const cfg = configs(switched);
    assert.equal(cfg.length, 93 + 10); // + device info
    for (const c of cfg) assert.ok(c.topic.includes(`/${SER}_`), c.topic);
    const volt = JSON.parse(cfg.find((c) => c.topic.endsWith(`${SER}_voltage/config`))!.payload) as Record<string, unknown>;
    assert.deepEqual(volt.device, {
      identifiers: [SER],
      name: 'JK-PB Battery 2',
      manufacturer: 'Jikong',
      model: 'JK_PB2A16S20P',
      sw_version: '15.38',
      hw_version: '15A',
      serial_number: SERIAL,
    });
    assert.deepEqual(avail(switched), [`jkbms/bus1/${SERIAL}/availability=online`]);
    // Deletions precede the new configs.
    const lastDeletion = switched.map((m) => m.payload).lastIndexOf('');
    assert.ok(lastDeletion < switched.indexOf(cfg[0]!));
    clock.advance(1000);
    const next = frame(msg(p(), bms(2, true)));
    assert.deepEqual(next.map((m) => m.topic), [`jkbms/bus1/${SERIAL}/state`]);
    assert.equal(stateOf(next[0]!).energy_discharged, 0.003); // 2 s provisional + 1 s under the serial
    assert.equal(stateOf(next[0]!).energy_charged, 0);
  });

  it('re-announces when the cell count or the present temperature sensors change, deleting dropped entities', () => {
    const { send } = setup();
    send(msg(live(), bms(2, true)));
    const cells15 = live().cells.slice(0, 15);
    const out = send(msg(live(2, { cells: cells15, cellCount: 15, cellResistances: live().cellResistances.slice(0, 15) }), bms(2, true)));
    assert.deepEqual(deletions(out), [`homeassistant/sensor/${SER}_cell_16/config`, `homeassistant/sensor/${SER}_cell_16_resistance/config`]);
    assert.equal(configs(out).length, 91 + 5); // 16→15 cells and resistances; device info from msg.bms (model, firmware, hardware, serial, name)
    assert.equal(out[0]!.topic, 'jkbms/bridge/availability');
    const t = send(msg(live(2, { cells: cells15, cellCount: 15, cellResistances: live().cellResistances.slice(0, 15), temperatures: { mos: 25, t1: 21, t2: null, t3: null, t4: null, t5: null } }), bms(2, true)));
    assert.deepEqual(deletions(t), [`homeassistant/sensor/${SER}_temperature_2/config`]);
    assert.deepEqual(stateOf(states(t)[0]!).temps, { mos: 25, t1: 21 });
  });

  it('availability follows the jkbms node: offline once, online again with the next live frame', () => {
    const { send, bridge } = setup();
    send(msg(live(), bms(2, true)));
    assert.deepEqual(send(msg(availability(2, false), bms(2, true))), [
      { topic: `jkbms/bus1/${SERIAL}/availability`, payload: 'offline', retain: true, qos: 1 },
    ]);
    assert.deepEqual(bridge.counts(), { packs: 1, offline: 1, banks: 0, banksOffline: 0 });
    assert.deepEqual(send(msg(availability(2, false), bms(2, true))), []);
    const back = send(msg(live(), bms(2, true)));
    assert.deepEqual(avail(back), [`jkbms/bus1/${SERIAL}/availability=online`]);
    assert.deepEqual(bridge.counts(), { packs: 1, offline: 0, banks: 0, banksOffline: 0 });
  });

  it("re-announces every pack on HA's birth message, nothing on its will", () => {
    const { send } = setup();
    send(msg(live(), bms(2, true)));
    send(msg(live(5), bms(5)));
    assert.deepEqual(send({ topic: 'homeassistant/status', payload: 'offline' }), []);
    const out = send({ topic: 'homeassistant/status', payload: 'online' });
    assert.equal(out[0]!.topic, 'jkbms/bridge/availability');
    assert.equal(out.filter((m) => m.topic === 'jkbms/bridge/availability').length, 1);
    assert.equal(configs(out).length, 98 + 93);
    assert.deepEqual(avail(out), [`jkbms/bus1/${SERIAL}/availability=online`, `jkbms/bus1/${BUS_ID}_5/availability=online`]);
    assert.deepEqual(deletions(out), []);
  });

  it('remove command: empty retained configs and offline, by address, serial or all; a live pack comes back with its next frame', () => {
    const { send, persisted } = setup();
    const a = configs(send(msg(live(), bms(2, true)))).map((m) => m.topic);
    const b = configs(send(msg(live(5), bms(5)))).map((m) => m.topic);
    assert.deepEqual(send({ payload: { command: 'remove', address: 9 } }), []);
    const r = send({ payload: { command: 'remove', address: 2 } });
    assert.deepEqual(deletions(r), a);
    assert.deepEqual(avail(r), [`jkbms/bus1/${SERIAL}/availability=offline`]);
    assert.deepEqual(Object.keys(persisted.announced as object), [`jkbms_${BUS_ID}_5`]);
    assert.equal(configs(send(msg(live(), bms(2, true)))).length, 98);
    const s = send({ payload: { command: 'remove', serialNumber: SERIAL } });
    assert.deepEqual(deletions(s), a);
    const all = send({ payload: { command: 'remove', address: 'all' } });
    assert.deepEqual(deletions(all), b);
    assert.deepEqual(persisted.announced, {});
  });

  it('rate limit: at most one state per period, the latest frame published at its end', () => {
    const { send, clock, published } = setup({ rateLimit: 5 });
    assert.equal(states(send(msg(live(2, { soc: 40 })))).length, 1);
    clock.advance(1000);
    assert.deepEqual(states(send(msg(live(2, { soc: 41 })))), []);
    clock.advance(1000);
    assert.deepEqual(states(send(msg(live(2, { soc: 42 })))), []);
    clock.advance(2999);
    assert.equal(published.length, 0);
    clock.advance(1);
    assert.equal(published.length, 1);
    assert.equal(stateOf(published[0]![0]!).soc, 42);
    clock.advance(500);
    assert.deepEqual(states(send(msg(live(2, { soc: 43 })))), []); // 5.5 s: the period restarted at 5 s
    clock.advance(4500);
    assert.equal(stateOf(published[1]![0]!).soc, 43);
    clock.advance(60_000);
    assert.equal(published.length, 2); // nothing pending, nothing sent
  });

  it('device-based discovery: one config; a dropped component is sent with its platform only, once', () => {
    const { send } = setup({ mode: 'device' });
    const first = send(msg(live(), bms(2, true)));
    const cfg = configs(first);
    assert.deepEqual(cfg.map((m) => m.topic), [`homeassistant/device/${SER}/config`]);
    assert.equal(Object.keys((JSON.parse(cfg[0]!.payload) as { cmps: object }).cmps).length, 98);
    const cells15 = { cells: live().cells.slice(0, 15), cellCount: 15, cellResistances: live().cellResistances.slice(0, 15) };
    const c = JSON.parse(configs(send(msg(live(2, cells15), bms(2, true))))[0]!.payload) as { cmps: Record<string, unknown> };
    assert.deepEqual(c.cmps.cell_16, { p: 'sensor' });
    assert.deepEqual(c.cmps.cell_16_resistance, { p: 'sensor' });
    const again = send(msg(live(2, { ...cells15, temperatures: { ...live().temperatures, t2: null } }), bms(2, true)));
    const c2 = JSON.parse(configs(again)[0]!.payload) as { cmps: Record<string, unknown> };
    assert.equal(c2.cmps.cell_16, undefined);
    assert.deepEqual(c2.cmps.temperature_2, { p: 'sensor' });
  });

  it('deletes what an earlier run published that is no longer wanted (mode switch, stale provisional device)', () => {
    const earlier: Record<string, AnnouncedDevice> = {
      [SER]: {
        kind: 'pack',
        busId: BUS_ID,
        address: 2,
        topics: [`homeassistant/sensor/${SER}_voltage/config`, `homeassistant/sensor/${SER}_old_thing/config`],
        components: {},
        availability: `jkbms/bus1/${SERIAL}/availability`,
      },
      [PROV]: { kind: 'pack', busId: BUS_ID, address: 2, topics: [`homeassistant/sensor/${PROV}_voltage/config`], components: {}, availability: `jkbms/bus1/${BUS_ID}_2/availability` },
    };
    const { send, persisted } = setup({ mode: 'device' }, { announced: earlier });
    const out = send(msg(live(), bms(2, true)));
    assert.deepEqual(deletions(out), [
      `homeassistant/sensor/${PROV}_voltage/config`,
      `jkbms/bus1/${BUS_ID}_2/availability`,
      `homeassistant/sensor/${SER}_voltage/config`,
      `homeassistant/sensor/${SER}_old_thing/config`,
    ]);
    assert.deepEqual(configs(out).map((m) => m.topic), [`homeassistant/device/${SER}/config`]);
    assert.deepEqual(Object.keys(persisted.announced as object), [SER]);
  });

  it('continues stored energy counters (restart) and merges counters restored late (asynchronous store)', () => {
    const stored = { energy: { [SER]: { chargedJ: 3_600_000, dischargedJ: 7_200_000, lastAt: WALL0 - 1000, lastPower: 3600 } } };
    const { frame } = setup({}, stored);
    const out = frame(msg(live(2, { power: 3600 }), bms(2, true)));
    assert.equal(stateOf(states(out)[0]!).energy_charged, 1.001); // 1 kWh + 1 s at 3600 W
    assert.equal(stateOf(states(out)[0]!).energy_discharged, 2);

    const late = setup({}, null);
    late.frame(msg(live(2, { power: 3600 }), bms(2, true)));
    late.clock.advance(1000);
    late.frame(msg(live(2, { power: 3600 }), bms(2, true)));
    assert.deepEqual(late.persistCalls, [], 'nothing persisted before the stored values were read');
    late.bridge.restore({ energy: { [SER]: { chargedJ: 3_600_000, dischargedJ: 0, lastAt: WALL0 - 5000, lastPower: 100 } }, announced: 'garbage' });
    late.clock.advance(1000);
    const o = late.frame(msg(live(2, { power: 3600 }), bms(2, true)));
    assert.equal(stateOf(states(o)[0]!).energy_charged, 1.002);
    assert.deepEqual((late.persisted.energy as Record<string, { chargedJ: number }>)[SER]!.chargedJ, 3_607_200);
  });

  it('a different serial at the same address: the old pack goes offline, the new one is announced with its first live frame', () => {
    const { send } = setup();
    send(msg(live(), bms(2, true)));
    const other = bms(2, true, { serialNumber: 'NEW123' });
    const moved = send(msg(info(2, { serialNumber: 'NEW123' }), other));
    assert.deepEqual(moved, [{ topic: `jkbms/bus1/${SERIAL}/availability`, payload: 'offline', retain: true, qos: 1 }]);
    const out = send(msg(live(), other));
    assert.ok(configs(out).every((m) => m.topic.includes('jkbms_NEW123_')));
    assert.deepEqual(deletions(out), []); // the old pack's entities stay (it may show up elsewhere)
  });

  it('a renamed bus moves the topics and clears the old retained availability', () => {
    const { send } = setup();
    send(msg(live(), bms(2, true)));
    const out = send(msg(live(), bms(2, true, { bus: 'garage' })));
    assert.ok(deletions(out).includes(`jkbms/bus1/${SERIAL}/availability`));
    assert.deepEqual(avail(out), [`jkbms/garage/${SERIAL}/availability=online`]);
    assert.equal(JSON.parse(configs(out)[0]!.payload).state_topic, `jkbms/garage/${SERIAL}/state`);
  });

  it('with the energy group off: no energy entities, nothing integrated or persisted', () => {
    const { send, persistCalls } = setup({ groups: { ...ALL_GROUPS, energy: false } });
    const out = send(msg(live(), bms(2, true)));
    assert.ok(!configs(out).some((m) => m.topic.includes('energy_')));
    assert.ok(!('energy_charged' in stateOf(states(out)[0]!)));
    assert.ok(!persistCalls.includes('energy'));
  });
});
