import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { type AnnouncedDevice, HaBridge, type StoredState } from '../../src/ha/bridge';
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
  serialWait: 60,
  energyMaxGap: 60,
  origin: { name: '@jkpb/node-red-jkbms', version: '0.1.0' },
};

/**
 * A bridge on a fake clock. `serialExpected`: whether the pack's serial can be learned on its bus
 * (default: yes, as on a bus that asks for device info). `stored`: what a previous run left in the
 * node context (null: not read back yet).
 */
function setup(over: Partial<HaOptions> = {}, stored: StoredState | null = {}, serialExpected = true) {
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
      serialExpected: () => serialExpected,
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

  it('announces on the first live frame with a known serial: bridge online, configs, availability, then the state', () => {
    const { send, bridge } = setup();
    const out = send(msg(live(), bms(2, true)));
    assert.deepEqual(out[0], { topic: 'jkbms/bridge/availability', payload: 'online', retain: true, qos: 1 });
    const cfg = configs(out);
    // 20 core + 16 cells + 16 resistances + 3 temperatures + 2 energy + 36 details + 5 device info from msg.bms
    assert.equal(cfg.length, 98);
    for (const c of cfg) {
      assert.match(c.topic, new RegExp(`^homeassistant/(sensor|binary_sensor)/${SER}_[a-z0-9_]+/config$`));
      assert.equal(c.retain, true);
    }
    assert.deepEqual(avail(out), [`jkbms/bus1/${SERIAL}/availability=online`]);
    const last = out[out.length - 1]!;
    assert.equal(last.topic, `jkbms/bus1/${SERIAL}/state`);
    assert.equal(last.retain, false);
    assert.equal(stateOf(last).soc, 47);
    assert.equal(out.length, 1 + 98 + 1 + 1);
    assert.deepEqual(bridge.counts(), { packs: 1, offline: 0, banks: 0, banksOffline: 0 });
    // An unchanged pack only gets its state.
    const again = send(msg(live(2, { soc: 48 }), bms(2, true)));
    assert.deepEqual(again.map((m) => m.topic), [`jkbms/bus1/${SERIAL}/state`]);
    assert.equal(stateOf(again[0]!).soc, 48);
  });

  it('identity before announcement: a pack whose serial is not known yet is announced directly under it when it comes, with the energy counted meanwhile', () => {
    const { frame, clock, published } = setup();
    const p = (over = {}) => live(2, { power: -3600, current: -67.5, ...over }); // 1 Wh per second, discharging
    assert.deepEqual(frame(msg(p())), [], 'no provisional device');
    clock.advance(1000);
    assert.deepEqual(frame(msg(p())), []);
    clock.advance(1000);
    const out = frame(msg(info(), bms(2, true)));
    assert.deepEqual(deletions(out), [], 'nothing to delete');
    const cfg = configs(out);
    assert.equal(cfg.length, 98 + 5); // + the device info only the info frame has
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
    assert.deepEqual(avail(out), [`jkbms/bus1/${SERIAL}/availability=online`]);
    assert.equal(stateOf(states(out)[0]!).energy_discharged, 0.001);
    clock.advance(1000);
    const next = frame(msg(p(), bms(2, true)));
    assert.deepEqual(next.map((m) => m.topic), [`jkbms/bus1/${SERIAL}/state`]);
    assert.equal(stateOf(next[0]!).energy_discharged, 0.003); // every second since the first frame counts
    clock.advance(120_000);
    assert.deepEqual(published, [], 'the wait for the serial ended when it came');
  });

  it('a serial that does not come within serialWait: announced under the stable provisional id; when it comes, that device is replaced and its energy carried', () => {
    const { frame, clock, published } = setup();
    const p = (over = {}) => live(2, { power: -3600, current: -67.5, ...over });
    frame(msg(p()));
    clock.advance(59_999);
    assert.equal(published.length, 0);
    clock.advance(1);
    const first = published.flat();
    assert.equal(first[0]!.topic, 'jkbms/bridge/availability');
    const provisionalTopics = configs(first).map((m) => m.topic);
    assert.equal(provisionalTopics.length, 93); // no device info, no settings
    for (const t of provisionalTopics) assert.ok(t.includes(`/${PROV}_`), t);
    assert.deepEqual(avail(first), [`jkbms/bus1/${BUS_ID}_2/availability=online`]);
    assert.equal(states(first).length, 1);
    clock.advance(1000);
    frame(msg(p())); // the 61 s gap since the first frame adds nothing: longer than the max gap
    const switched = frame(msg(info(), bms(2, true)));
    assert.deepEqual(deletions(switched), [...provisionalTopics, `jkbms/bus1/${BUS_ID}_2/availability`]);
    assert.equal(configs(switched).length, 103);
    const lastDeletion = switched.map((m) => m.payload).lastIndexOf('');
    assert.ok(lastDeletion < switched.indexOf(configs(switched)[0]!), 'deletions precede the new configs');
    clock.advance(1000);
    const next = frame(msg(p(), bms(2, true)));
    assert.equal(stateOf(next[0]!).energy_discharged, 0.001); // the second after the gap, carried from the provisional id
  });

  it('a listen-only bus (no serial can be had): the provisional device at once, the same one again after a redeploy, nothing deleted', () => {
    const a = setup({}, {}, false);
    const out = a.send(msg(live()));
    assert.equal(configs(out).length, 93);
    assert.ok(configs(out).every((m) => m.topic.includes(`/${PROV}_`)));
    a.send(msg(settings()));
    // The next run (a redeploy hands the stored state over): the same device, the same configs.
    const b = setup({}, a.bridge.stored(), false);
    const again = b.send(msg(live()));
    assert.deepEqual(deletions(again), []);
    assert.deepEqual(configs(again).map((m) => m.topic), a.bridge.stored().announced[PROV]!.topics);
    assert.equal(configs(again).length, 93 + 15, 'with the settings sensors remembered from the first run');
  });

  it('a restart with the packs remembered: announced under the serial from the first live frame, with the same entities, before any info frame', () => {
    const a = setup();
    a.send(msg(live(), bms(2, true)));
    a.send(msg(info(), bms(2, true)));
    const before = a.send(msg(settings(), bms(2, true)));
    assert.equal(configs(before).length, 118);
    const stored = JSON.parse(JSON.stringify(a.bridge.stored())) as StoredState; // as a file context store keeps it
    assert.ok(!JSON.stringify(stored).includes(info().devicePasscode), 'no passcode in the stored state');
    const b = setup({}, stored);
    const out = b.send(msg(live())); // msg.bms without serial: the bus has not asked for device info yet
    assert.deepEqual(deletions(out), []);
    assert.equal(configs(out).length, 118);
    assert.ok(configs(out).every((m) => m.topic.includes(`/${SER}_`)));
    assert.deepEqual(JSON.parse(configs(out)[0]!.payload).device, JSON.parse(configs(before)[0]!.payload).device);
    // The info frame confirms the serial: nothing moves.
    assert.deepEqual(configs(b.send(msg(info(), bms(2, true)))), []);
  });

  it('nothing is announced before the stored state has been read back; restore() returns the announcement', () => {
    const { send, bridge } = setup({}, null);
    assert.deepEqual(send(msg(live(), bms(2, true))), []);
    const out = bridge.restore({});
    assert.equal(configs(out).length, 98);
    assert.equal(states(out).length, 1);
  });

  it('re-announces when the cell count or the present temperature sensors change, deleting dropped entities', () => {
    const { send } = setup();
    send(msg(live(), bms(2, true)));
    const cells15 = live().cells.slice(0, 15);
    const out = send(msg(live(2, { cells: cells15, cellCount: 15, cellResistances: live().cellResistances.slice(0, 15) }), bms(2, true)));
    assert.deepEqual(deletions(out), [`homeassistant/sensor/${SER}_cell_16/config`, `homeassistant/sensor/${SER}_cell_16_resistance/config`]);
    assert.equal(configs(out).length, 96);
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
    const { send } = setup({}, {}, false);
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
    const { send, persisted } = setup({}, {}, false);
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
    const s = (over: Parameters<typeof live>[1]) => send(msg(live(2, over), bms(2, true)));
    assert.equal(states(s({ soc: 40 })).length, 1);
    clock.advance(1000);
    assert.deepEqual(states(s({ soc: 41 })), []);
    clock.advance(1000);
    assert.deepEqual(states(s({ soc: 42 })), []);
    clock.advance(2999);
    assert.equal(published.length, 0);
    clock.advance(1);
    assert.equal(published.length, 1);
    assert.equal(stateOf(published[0]![0]!).soc, 42);
    clock.advance(500);
    assert.deepEqual(states(s({ soc: 43 })), []); // 5.5 s: the period restarted at 5 s
    clock.advance(4500);
    assert.equal(stateOf(published[1]![0]!).soc, 43);
    clock.advance(60_000);
    assert.equal(published.length, 2); // nothing pending, nothing sent
  });

  it('rate limit: alarm, MOS and switch changes are published at once, and restart the interval', () => {
    const { send, clock, published } = setup({ rateLimit: 5 });
    const s = (over: Parameters<typeof live>[1]) => states(send(msg(live(2, over), bms(2, true))));
    assert.equal(s({ soc: 40 }).length, 1);
    clock.advance(1000);
    assert.equal(s({ soc: 41 }).length, 0);
    clock.advance(1000);
    const alarm = s({ soc: 42, alarmMask: 0x00020801, alarms: ['wireResistance', 'cellUvp', 'dischargeMos'] });
    assert.equal(alarm.length, 1, 'a new alarm at once');
    assert.deepEqual((stateOf(alarm[0]!).attributes as any).alarm.alarms.map((a: { alarm: string }) => a.alarm), ['wireResistance', 'cellUvp', 'dischargeMos']);
    clock.advance(1000);
    assert.equal(s({ soc: 43, alarmMask: 0x00020801 }).length, 0, 'the same alarms: rate-limited again');
    assert.equal(s({ soc: 43, alarmMask: 0x00020801, chargingMos: false }).length, 1, 'a MOS change at once');
    assert.equal(states(send(msg(settings(2, { chargingEnabled: false }), bms(2, true)))).length, 1, 'a switch change in the settings at once');
    assert.equal(states(send(msg(settings(2, { chargingEnabled: false, cellOvp: 3.6 }), bms(2, true)))).length, 0, 'a threshold change waits for the end of the interval');
    clock.advance(4999);
    assert.equal(published.length, 0);
    clock.advance(1);
    assert.deepEqual(published.map((m) => (stateOf(m[0]!).settings as Record<string, unknown>).cell_ovp), [3.6]);
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
    const restored = late.bridge.restore({ energy: { [SER]: { chargedJ: 3_600_000, dischargedJ: 0, lastAt: WALL0 - 5000, lastPower: 100 } }, announced: 'garbage', packs: 42 });
    assert.equal(stateOf(states(restored)[0]!).energy_charged, 1.001);
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

  it('a pack swapped while Node-RED was stopped: announced under the remembered serial, then moved when its own serial comes', () => {
    const a = setup();
    a.send(msg(live(), bms(2, true)));
    const b = setup({}, a.bridge.stored());
    assert.ok(configs(b.send(msg(live()))).every((m) => m.topic.includes(`/${SER}_`)));
    const moved = b.send(msg(live(), bms(2, true, { serialNumber: 'NEW123' })));
    assert.deepEqual(avail(moved), [`jkbms/bus1/${SERIAL}/availability=offline`, `jkbms/bus1/NEW123/availability=online`]);
    assert.ok(configs(moved).every((m) => m.topic.includes('jkbms_NEW123_')));
    assert.equal((b.bridge.stored().packs as Record<string, { serialNumber: string }>)[`${BUS_ID}/2`]!.serialNumber, 'NEW123');
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

describe('HA bridge on the simulator tour: every enum value HA may see', () => {
  it('balancing off / charge / discharge, charge stage bulk / absorption / float, the alarm on and off: each a published state, each an option of its entity', () => {
    const { BusSimulator } = require('../../src/sim') as typeof import('../../src/sim');
    const { send, clock } = setup({}, {}, false);
    const sim = new BusSimulator({ packs: [2], seed: 3, clock, packDefaults: { tour: true } });
    const seen = { balancing: new Set<string>(), charge_stage: new Set<string>(), alarm: new Set<boolean>() };
    let options: Record<string, unknown[]> = {};
    for (let t = 0; t < 1200; t++) {
      clock.advance(1000);
      const out = send(msg(sim.pack(2).live(), bms(2)));
      for (const c of configs(out)) {
        const cfg = JSON.parse(c.payload) as { unique_id: string; options?: unknown[] };
        if (cfg.options) options = { ...options, [cfg.unique_id.replace(`${PROV}_`, '')]: cfg.options };
      }
      for (const s of states(out).map(stateOf)) {
        seen.balancing.add(s.balancing as string);
        seen.charge_stage.add(s.charge_stage as string);
        seen.alarm.add(s.alarm as boolean);
      }
    }
    void sim.stop();
    assert.deepEqual([...seen.balancing].sort(), ['charge', 'discharge', 'off']);
    assert.deepEqual([...seen.charge_stage].sort(), ['absorption', 'bulk', 'float']);
    assert.deepEqual([...seen.alarm].sort(), [false, true]);
    assert.deepEqual(options, { balancing: ['off', 'charge', 'discharge'], charge_stage: ['bulk', 'absorption', 'float'] });
  });
});
