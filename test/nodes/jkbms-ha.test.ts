import assert from 'node:assert/strict';
import type * as sinon from 'sinon';
import helper = require('node-red-node-test-helper');
import busNode = require('../../nodes/jkbms-bus');
import haNode = require('../../nodes/jkbms-ha');
import { busConfig } from '../helpers/flows';
import { availability, BUS_ID, bankMsg, bankPayload, bms, info, live, msg, SERIAL } from '../unit/ha-fixtures';

helper.init(require.resolve('node-red'));

type Out = { topic: string; payload: string; retain: boolean; qos: number };
type AnyNode = ReturnType<typeof helper.getNode> & { receive(m: unknown): void };

const SER = `jkbms_${SERIAL}`;
const PROV = `jkbms_${BUS_ID}_2`;
const WALL0 = 1_700_000_000_000;

/** A fresh node id per test: a stopped node hands its state to the next node with its id. */
let seq = 0;
let HA = 'ha0';

/** The node under test; `rateLimit: 0` (every live frame) unless a test is about the rate. */
function flow(haConfig: Record<string, unknown> = {}) {
  return [
    { id: 't1', type: 'tab' },
    { id: HA, type: 'jkbms-ha', z: 't1', name: '', rateLimit: 0, wires: [['out']], ...haConfig },
    { id: 'out', type: 'helper', z: 't1' },
    { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
  ];
}

/** Collect what arrives at a helper node. */
function collect(id: string): unknown[] {
  const got: unknown[] = [];
  helper.getNode(id).on('input', (m: unknown) => got.push(m));
  return got;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Send inputs in order (the runtime delivers them asynchronously, in order). */
async function feed(node: AnyNode, ...msgs: unknown[]): Promise<void> {
  for (const m of msgs) node.receive(m);
  await new Promise((r) => setImmediate(r));
}

const stamp = (m: ReturnType<typeof msg>, t: number) => ({ ...m, frame: { source: 'sniff', ts: WALL0 + t } });
const outs = (got: unknown[]) => got as Out[];
const lastState = (got: unknown[]) => JSON.parse(outs(got).filter((m) => m.topic.endsWith('/state')).at(-1)!.payload) as Record<string, unknown>;

describe('jkbms-ha node', () => {
  beforeEach(async () => {
    HA = `ha${++seq}`;
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it('starts with the bridge online and a yellow "waiting" status', async () => {
    await helper.load(haNode, flow());
    const got = collect('out');
    const n = helper.getNode(HA);
    await until(() => got.length >= 1);
    assert.deepEqual(got[0], { topic: 'jkbms/bridge/availability', payload: 'online', retain: true, qos: 1, _msgid: (got[0] as { _msgid: string })._msgid });
    const status = (n.status as unknown as sinon.SinonSpy).args.map((a) => a[0]);
    assert.deepEqual(status[0], { fill: 'yellow', shape: 'ring', text: 'jkbms-ha.status.waiting' });
  });

  it('announces a pack on its first live frame with exact topics, payloads and retain flags', async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 1 + 101);
    const o = outs(got).slice(1);
    assert.deepEqual(
      o.slice(0, 2).map((m) => [m.topic, m.retain, m.qos]),
      [
        ['jkbms/bridge/availability', true, 1],
        [`homeassistant/sensor/${SER}_voltage/config`, true, 1],
      ],
    );
    assert.deepEqual(JSON.parse(o[1]!.payload), {
      name: 'Voltage',
      unique_id: `${SER}_voltage`,
      default_entity_id: `sensor.${SER}_voltage`,
      state_topic: `jkbms/bus1/${SERIAL}/state`,
      value_template: '{{ value_json.voltage }}',
      device_class: 'voltage',
      unit_of_measurement: 'V',
      state_class: 'measurement',
      suggested_display_precision: 2,
      availability: [{ topic: `jkbms/bus1/${SERIAL}/availability` }, { topic: 'jkbms/bridge/availability' }],
      availability_mode: 'all',
      expire_after: 120,
      device: { identifiers: [SER], name: 'JK-PB Battery 2', manufacturer: 'Jikong', model: 'JK_PB2A16S20P', sw_version: '15.38', hw_version: '15A', serial_number: SERIAL },
      origin: { name: '@jkpb/node-red-jkbms', sw_version: require('../../package.json').version, support_url: 'https://github.com/jkpb/node-red-jkbms' },
    });
    assert.deepEqual(o.at(-2), { topic: `jkbms/bus1/${SERIAL}/availability`, payload: 'online', retain: true, qos: 1, _msgid: (o.at(-2) as unknown as { _msgid: string })._msgid });
    const state = o.at(-1)!;
    assert.equal(state.topic, `jkbms/bus1/${SERIAL}/state`);
    assert.equal(state.retain, false);
    assert.equal(typeof state.payload, 'string');
    assert.equal((JSON.parse(state.payload) as { voltage: number }).voltage, 52.822);
    const status = (n.status as unknown as sinon.SinonSpy).lastCall.args[0];
    assert.deepEqual(status, { fill: 'green', shape: 'dot', text: 'jkbms-ha.status.packs' });
  });

  it('waits for the serial number: no provisional device; announced under the serial when the info arrives', async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live()), msg(live()));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 1, 'nothing before the serial number is known');
    await feed(n, msg(info(), bms(2, true)));
    await until(() => outs(got).some((m) => m.topic === `jkbms/bus1/${SERIAL}/availability`));
    const o = outs(got).slice(1);
    assert.deepEqual(o.filter((m) => m.payload === ''), [], 'nothing deleted');
    assert.ok(o.every((m) => !m.topic.includes(PROV)), 'nothing provisional');
    const v = o.find((m) => m.topic === `homeassistant/sensor/${SER}_voltage/config`)!;
    assert.equal((JSON.parse(v.payload) as { device: { serial_number: string } }).device.serial_number, SERIAL);
  });

  it('a listen-only bus (no serial can be had): announced at once under the provisional id', async () => {
    await helper.load([busNode, haNode], [...flow(), busConfig({ id: BUS_ID, name: 'bus1', mode: 'listen' })]);
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live()));
    await until(() => got.length === 1 + 96);
    assert.ok(outs(got).slice(2, -2).every((m) => m.topic.startsWith(`homeassistant/`) && m.topic.includes(`/${PROV}_`)));
    assert.equal(outs(got).at(-1)!.topic, `jkbms/bus1/${BUS_ID}_2/state`);
  });

  it("re-announces on HA's birth message routed from an mqtt in node", async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 1 + 1 + 98 + 2);
    got.length = 0;
    await feed(n, { topic: 'homeassistant/status', payload: 'online', qos: 0, retain: false });
    await until(() => got.length === 1 + 98 + 1);
    const o = outs(got);
    assert.equal(o[0]!.topic, 'jkbms/bridge/availability');
    assert.equal(o.filter((m) => m.topic.endsWith('/config') && m.payload !== '').length, 98);
    assert.deepEqual([o.at(-1)!.topic, o.at(-1)!.payload], [`jkbms/bus1/${SERIAL}/availability`, 'online']);
  });

  it('remove command: empty retained configs and offline', async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 102);
    const announced = outs(got).filter((m) => m.topic.endsWith('/config')).map((m) => m.topic);
    got.length = 0;
    await feed(n, { payload: { command: 'remove', serialNumber: SERIAL } });
    await until(() => got.length === announced.length + 1);
    const o = outs(got);
    assert.deepEqual(o.slice(0, -1).map((m) => [m.topic, m.payload, m.retain]), announced.map((t) => [t, '', true]));
    assert.deepEqual([o.at(-1)!.topic, o.at(-1)!.payload, o.at(-1)!.retain], [`jkbms/bus1/${SERIAL}/availability`, 'offline', true]);
  });

  it('availability offline from the jkbms node: retained offline and a yellow "offline" status', async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 102);
    got.length = 0;
    await feed(n, msg(availability(2, false), bms(2, true)));
    await until(() => got.length === 1);
    assert.deepEqual([outs(got)[0]!.topic, outs(got)[0]!.payload], [`jkbms/bus1/${SERIAL}/availability`, 'offline']);
    assert.deepEqual((n.status as unknown as sinon.SinonSpy).lastCall.args[0], { fill: 'yellow', shape: 'dot', text: 'jkbms-ha.status.packs-offline' });
  });

  it('a malformed message reaches a Catch node via done(err), sends nothing, and loses nothing after it', async () => {
    await helper.load(haNode, flow());
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    const caught = collect('caught');
    await until(() => got.length === 1);
    const bad = live();
    bad.cells[3] = Number.NaN;
    await feed(n, msg(bad));
    await until(() => caught.length === 1);
    const err = (caught[0] as { error: { message: string; source: { id: string } } }).error;
    assert.equal(err.message, 'Error: jkbms-ha.errors.bad-field');
    assert.equal(err.source.id, HA);
    await feed(n, { payload: 'hello' });
    await until(() => caught.length === 2);
    assert.equal((caught[1] as { error: { message: string } }).error.message, 'Error: jkbms-ha.errors.unknown-input');
    assert.equal(got.length, 1); // only the start message
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 1 + 101);
  });

  it('keeps the energy counters across a redeploy and continues integrating (no context store configured)', async () => {
    await helper.load(haNode, flow());
    let n = helper.getNode(HA) as AnyNode;
    let got = collect('out');
    await until(() => got.length === 1);
    const charging = (t: number) => stamp(msg(live(2, { power: 3600, current: 68 }), bms(2, true)), t);
    await feed(n, charging(0), charging(1000), charging(2000)); // 2 s × 3600 W = 2 Wh
    await until(() => (lastState(got).energy_charged as number) === 0.002);
    const stored = (n.context().get('energy') as Record<string, { chargedJ: number }>)[SER]!;
    assert.equal(stored.chargedJ, 7200);

    // Node-RED deletes the node context on this redeploy (no contextStorage in settings.js).
    await helper.setFlows(flow(), 'full');
    n = helper.getNode(HA) as AnyNode;
    got = collect('out');
    await feed(n, charging(3000)); // 1 s after the last sample: still within the max gap
    await until(() => outs(got).some((m) => m.topic.endsWith('/state')));
    assert.equal(lastState(got).energy_charged, 0.003);
    assert.equal((n.context().get('energy') as Record<string, { chargedJ: number }>)[SER]!.chargedJ, 10_800);

    // A node that was deleted hands nothing to a new node that reuses its id.
    await helper.setFlows(flow().filter((x) => x.id !== HA), 'full');
    await helper.setFlows(flow(), 'full');
    n = helper.getNode(HA) as AnyNode;
    got = collect('out');
    await feed(n, charging(4000));
    await until(() => outs(got).some((m) => m.topic.endsWith('/state')));
    assert.equal(lastState(got).energy_charged, 0);
  });

  it('restores what a previous run stored in the node context, and ignores a gap longer than the maximum', async () => {
    const noCatch = (c: Record<string, unknown>) => flow(c).filter((x) => x.type !== 'catch' && x.id !== 'caught');
    await helper.load(haNode, noCatch({}).filter((x) => x.id !== HA));
    // As a persistent store holds it when Node-RED starts: the node's context, before the node exists.
    const context = require('@node-red/runtime/lib/nodes/context') as { get(id: string, flow: string): { set(k: string, v: unknown): void } };
    context.get(HA, 't1').set('energy', { [SER]: { chargedJ: 36_000_000, dischargedJ: 1_800_000, lastAt: WALL0, lastPower: 3600 } });
    context.get(HA, 't1').set('announced', {
      [PROV]: { busId: BUS_ID, address: 2, topics: [`homeassistant/sensor/${PROV}_voltage/config`], components: {}, availability: `jkbms/bus1/${BUS_ID}_2/availability` },
    });
    await helper.setFlows(noCatch({ energyMaxGap: 30 }), 'full');
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await feed(n, stamp(msg(live(2, { power: 3600 }), bms(2, true)), 31_000)); // 31 s gap > 30 s: nothing added
    await until(() => outs(got).some((m) => m.topic.endsWith('/state')));
    assert.equal(lastState(got).energy_charged, 10);
    assert.equal(lastState(got).energy_discharged, 0.5);
    // The stale provisional device of the previous run is deleted.
    assert.ok(outs(got).some((m) => m.topic === `homeassistant/sensor/${PROV}_voltage/config` && m.payload === ''));
    await feed(n, stamp(msg(live(2, { power: 3600 }), bms(2, true)), 32_000));
    await until(() => lastState(got).energy_charged === 10.001);
  });

  it('rate limit: the state of the latest frame is published at the end of the interval', async () => {
    await helper.load(haNode, flow({ rateLimit: 0.2 }));
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    const m = (soc: number) => msg(live(2, { soc }), bms(2, true));
    await feed(n, m(50), m(51), m(52));
    const states = () => outs(got).filter((x) => x.topic.endsWith('/state'));
    assert.equal(states().length, 1);
    await until(() => states().length === 2, 2000);
    assert.equal((JSON.parse(states()[1]!.payload) as { soc: number }).soc, 52);
  });

  it('the default rate is a few seconds per pack, but an alarm change is published at once', async () => {
    const f = flow();
    delete (f[1] as Record<string, unknown>).rateLimit; // as a node dragged from the palette before this option existed
    await helper.load(haNode, f);
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    const states = () => outs(got).filter((x) => x.topic.endsWith('/state')).map((x) => JSON.parse(x.payload) as { soc: number; alarm: boolean });
    await feed(n, msg(live(2, { soc: 50 }), bms(2, true)), msg(live(2, { soc: 51 }), bms(2, true)), msg(live(2, { soc: 52, alarmMask: 0, alarms: [] }), bms(2, true)));
    await until(() => states().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(states().map((s) => [s.soc, s.alarm]), [[50, true], [52, false]]);
  });

  it('device-based mode publishes one retained device config', async () => {
    await helper.load(haNode, flow({ mode: 'device', qos: '2' }));
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    await until(() => got.length === 1);
    await feed(n, msg(live(), bms(2, true)));
    await until(() => got.length === 1 + 4);
    const cfg = outs(got).filter((m) => m.topic.endsWith('/config'));
    assert.deepEqual(cfg.map((m) => [m.topic, m.retain, m.qos]), [[`homeassistant/device/${SER}/config`, true, 2]]);
  });

  it('warns when entities would expire between two rate-limited states', async () => {
    await helper.load(haNode, flow({ expireAfter: 30, rateLimit: 30 }));
    const n = helper.getNode(HA) as AnyNode;
    assert.equal((n.warn as unknown as sinon.SinonSpy).firstCall.args[0], 'jkbms-ha.warn.expire-rate');
    await helper.unload();
    await helper.load(haNode, flow({ expireAfter: 31, rateLimit: 30 }));
    assert.equal((helper.getNode(HA).warn as unknown as sinon.SinonSpy).callCount, 0);
  });

  it('an invalid option: the error reaches a Catch node, red status, each input refused with done(err) and nothing sent', async () => {
    await helper.load(haNode, flow({ discoveryPrefix: 'home/#' }));
    const n = helper.getNode(HA) as AnyNode;
    const got = collect('out');
    const caught = collect('caught');
    // Reported after the flow is built (deferred), so the Catch node of the flow sees it.
    await until(() => caught.length === 1);
    assert.equal((caught[0] as { error: { message: string; source: { id: string } } }).error.message, 'jkbms-ha.errors.bad-topic');
    assert.equal((caught[0] as { error: { source: { id: string } } }).error.source.id, HA);
    assert.deepEqual((n.status as unknown as sinon.SinonSpy).lastCall.args[0], { fill: 'red', shape: 'dot', text: 'jkbms-ha.status.config' });
    await feed(n, msg(live(), bms(2, true)));
    await until(() => caught.length === 2);
    assert.equal((caught[1] as { error: { message: string } }).error.message, 'Error: jkbms-ha.errors.bad-topic');
    assert.equal(got.length, 0);
  });

  it('every message key the node uses exists in the en-US catalog', () => {
    const catalog = require('../../nodes/locales/en-US/jkbms-ha.json') as { 'jkbms-ha': Record<string, Record<string, string>> };
    const c = catalog['jkbms-ha'];
    const used = {
      status: ['waiting', 'packs', 'packs-offline', 'banks', 'banks-offline', 'config'],
      bus: ['disconnected', 'in-use', 'invalid', 'stale'],
      warn: ['expire-rate', 'not-writable'],
      errors: [
        'unknown-input', 'bad-field', 'bad-command', 'unsupported-type', 'unknown-bus', 'bad-topic', 'bad-option',
        'bad-command-topic', 'unknown-pack', 'controls-off', 'not-a-control', 'retained-command',
      ],
    };
    for (const [section, keys] of Object.entries(used)) for (const k of keys) assert.equal(typeof c[section]![k], 'string', `${section}.${k}`);
    assert.match(c.errors!['unknown-bus']!, /__field__/);
  });

  describe('with a jkbms-bank node routed in', () => {
    /** The bank id derived from the bus name (these bank messages carry no msg.bms). */
    const BANK = 'jkbms_bank_bus1';
    /** A jkbms-bus config node (never started: no node uses it) whose name the bank messages carry. */
    const bus = (id: string, name: string) => busConfig({ id, name });

    async function loadWithBus(buses = [bus(BUS_ID, 'bus1')], haConfig: Record<string, unknown> = {}) {
      await helper.load([busNode, haNode], [...flow(haConfig), ...buses]);
      const n = helper.getNode(HA) as AnyNode;
      const got = collect('out');
      const caught = collect('caught');
      await until(() => got.length === 1);
      return { n, got, caught };
    }

    it('publishes the bank device: retained configs, online, then its JSON state; status "bank: 1"', async () => {
      const { n, got, caught } = await loadWithBus();
      await feed(n, bankMsg());
      await until(() => got.length === 1 + 1 + 22 + 2);
      const o = outs(got).slice(1);
      assert.deepEqual([o[0]!.topic, o[0]!.payload], ['jkbms/bridge/availability', 'online']);
      const cfg = o.filter((m) => m.topic.endsWith('/config'));
      assert.equal(cfg.length, 22);
      assert.ok(cfg.every((m) => m.retain && m.qos === 1 && new RegExp(`^homeassistant/(sensor|binary_sensor)/${BANK}_[a-z_]+/config$`).test(m.topic)));
      const soc = JSON.parse(cfg.find((m) => m.topic === `homeassistant/sensor/${BANK}_soc/config`)!.payload) as Record<string, unknown>;
      assert.deepEqual(soc.device, { identifiers: [BANK], name: 'JK-PB Bank bus1', manufacturer: 'Jikong', model: 'JK-PB bank' });
      assert.deepEqual(soc.availability, [{ topic: 'jkbms/bus1/bank/availability' }, { topic: 'jkbms/bridge/availability' }]);
      assert.deepEqual([o.at(-2)!.topic, o.at(-2)!.payload, o.at(-2)!.retain], ['jkbms/bus1/bank/availability', 'online', true]);
      assert.deepEqual([o.at(-1)!.topic, o.at(-1)!.retain], ['jkbms/bus1/bank/state', false]);
      const state = JSON.parse(o.at(-1)!.payload) as Record<string, any>;
      assert.equal(state.soc, 68.95);
      assert.deepEqual(state.attributes.cell_min, { pack: 2, cell: 7 });
      assert.deepEqual((n.status as unknown as sinon.SinonSpy).lastCall.args[0], { fill: 'green', shape: 'dot', text: 'jkbms-ha.status.banks' });

      // No pack counted: offline (retained), yellow status.
      got.length = 0;
      await feed(n, bankMsg(bankPayload({ one: false, two: false })));
      await until(() => got.length === 2);
      assert.deepEqual(outs(got).map((m) => [m.topic, m.topic.endsWith('/state') ? 'state' : m.payload]), [
        ['jkbms/bus1/bank/availability', 'offline'],
        ['jkbms/bus1/bank/state', 'state'],
      ]);
      assert.deepEqual((n.status as unknown as sinon.SinonSpy).lastCall.args[0], { fill: 'yellow', shape: 'dot', text: 'jkbms-ha.status.banks-offline' });

      // remove {bank: true}: every bank config deleted, offline.
      got.length = 0;
      await feed(n, { payload: { command: 'remove', bank: true } });
      await until(() => got.length === 23);
      assert.deepEqual(outs(got).slice(0, 22).map((m) => [m.topic, m.payload]), cfg.map((m) => [m.topic, '']));
      assert.deepEqual(caught, []);
    });

    it('a bank message naming a bus that is not deployed, or two buses of that name, reaches a Catch node and publishes nothing', async () => {
      const { n, got, caught } = await loadWithBus([bus(BUS_ID, 'bus1'), bus('b2', 'bus2'), bus('b3', 'bus2')]);
      await feed(n, bankMsg(bankPayload(), 'attic'));
      await feed(n, bankMsg(bankPayload(), 'bus2'));
      await until(() => caught.length === 2);
      assert.deepEqual(
        caught.map((m) => (m as { error: { message: string } }).error.message),
        ['Error: jkbms-ha.errors.unknown-bus', 'Error: jkbms-ha.errors.unknown-bus'],
      );
      const bad = bankPayload();
      (bad as unknown as Record<string, unknown>).soc = 'full';
      await feed(n, bankMsg(bad));
      await until(() => caught.length === 3);
      assert.equal((caught[2] as { error: { message: string } }).error.message, 'Error: jkbms-ha.errors.bad-field');
      assert.equal(got.length, 1); // only the start message
      await feed(n, bankMsg());
      await until(() => got.length === 1 + 25);
    });

    it('packs and the bank side by side: status "packs: 1, bank: 1"; HA\'s birth message re-announces both', async () => {
      const { n, got } = await loadWithBus();
      await feed(n, msg(live(), bms(2, true)), bankMsg());
      await until(() => outs(got).some((m) => m.topic === 'jkbms/bus1/bank/state'));
      assert.deepEqual((n.status as unknown as sinon.SinonSpy).lastCall.args[0], { fill: 'green', shape: 'dot', text: 'jkbms-ha.status.packs, jkbms-ha.status.banks' });
      got.length = 0;
      await feed(n, { topic: 'homeassistant/status', payload: 'online' });
      await until(() => outs(got).filter((m) => m.topic.endsWith('/config')).length === 98 + 22);
    });
  });
});
