import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { round } from '../../src/bank/aggregate';
import type { BankPayload } from '../../src/bank/types';
import { busById } from '../../nodes/lib/bus-registry';
import { BusSimulator, type BusSimulatorOptions, type SimHostEndpoint } from '../../src/sim';
import bankNode = require('../../nodes/jkbms-bank');
import busNode = require('../../nodes/jkbms-bus');
import { busConfig, lastStatus, loadWithCatch, nodeTestHooks, outputs, ownStatuses, useSimulator, withCatch, type FlowNode } from '../helpers/flows';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));

const ENERGY_KEY = 'jkbms-bank-energy';

/** The bus of these tests is called "house". */
const houseBus = (over: Partial<FlowNode> = {}): FlowNode => busConfig({ name: 'house', ...over });

function bankConfig(over: Record<string, unknown> = {}): FlowNode {
  return { id: 'b1', type: 'jkbms-bank', z: 't1', name: '', bus: 'bus1', expected: 0, includeMaster: false, rate: 0, staleAfter: 0,
    wires: [['out']], ...over };
}

/** The bank figures recomputed from the per-pack lines of the same message. */
function expectedFromPacks(p: BankPayload) {
  const counted = p.packs.filter((x) => !x.stale);
  const cap = counted.reduce((a, x) => a + x.fullChargeAh!, 0);
  return {
    current: round(counted.reduce((a, x) => a + x.current!, 0), 3),
    power: round(counted.reduce((a, x) => a + x.power!, 0), 3),
    soc: round(counted.reduce((a, x) => a + x.soc! * x.fullChargeAh!, 0) / cap, 2),
    remainingAh: round(counted.reduce((a, x) => a + x.remainingAh!, 0), 3),
  };
}

describe('jkbms-bank node (test-helper + in-process simulator)', function () {
  this.timeout(60_000);
  let sim: BusSimulator;
  let endpoints: SimHostEndpoint[];

  /** `prepare` runs before the simulator starts (e.g. to fix the packs' currents). */
  async function load(nodes: FlowNode[], simOptions: Partial<BusSimulatorOptions> = {}, prepare: (s: BusSimulator) => void = () => undefined) {
    sim = new BusSimulator({ packs: [1, 2, 3], seed: 11, ...simOptions });
    prepare(sim);
    sim.start();
    endpoints = [];
    useSimulator(sim, endpoints);
    return loadWithCatch([busNode, bankNode], nodes);
  }

  nodeTestHooks(() => sim);
  afterEach(() => {
    assert.deepEqual(sim.errors, []);
  });

  it('sums the bank and weights SOC by capacity: 280 Ah at 90 % + 100 Ah at 10 % is about 69 %, not 50 % nor 10 %', async () => {
    const { got, errors } = await load(
      [houseBus(), bankConfig()],
      { packs: [1, 2], packOptions: { 1: { capacityAh: 280, soc: 90 }, 2: { capacityAh: 100, soc: 10 } } },
      (s) => [1, 2].forEach((a) => s.pack(a).setCurrent(0)),
    );
    // The packs' first second of data still follows their current profile: wait for 0 A.
    const m = await until(
      () => got.find((x) => x.payload.packsOnline === 2 && x.payload.current === 0 && x.payload.packs.every((p: any) => p.serialNumber !== null)),
      25_000,
      'both packs counted and identified',
    );
    const p = m.payload as BankPayload;
    assert.equal(m.topic, 'house/bank');
    // The bank id (blank in this node) is derived from the bus name: it names the HA bank device.
    assert.deepEqual(m.bms, { bus: 'house', busId: 'bus1', bankId: 'house' });
    assert.equal(p.type, 'bank');
    assert.equal(p.packsExpected, 2);
    assert.deepEqual(p.stale, []);
    assert.deepEqual(p.packs.map((x) => [x.address, x.serialNumber, x.soc]), [
      [1, sim.pack(1).serialNumber, 90],
      [2, sim.pack(2).serialNumber, 10],
    ]);
    assert.ok(p.packs[0]!.fullChargeAh! > 260 && p.packs[1]!.fullChargeAh! < 101, 'simulated capacities (design × SOH)');
    const want = expectedFromPacks(p);
    assert.equal(p.soc, want.soc);
    assert.ok(Math.abs(p.soc! - 68.95) < 0.5, `weighted SOC ${p.soc}`);
    assert.equal(p.current, want.current);
    assert.equal(p.power, want.power);
    assert.equal(p.remainingAh, want.remainingAh);
    assert.equal(p.fullChargeAh, round(p.packs[0]!.fullChargeAh! + p.packs[1]!.fullChargeAh!, 3));
    assert.equal(p.voltage, round((p.packs[0]!.voltage! + p.packs[1]!.voltage!) / 2, 3));
    assert.equal(p.cellDelta, round(p.cellMax!.voltage - p.cellMin!.voltage, 3));
    assert.equal(p.alarm, false);
    const node = helper.getNode('b1') as any;
    await until(() => lastStatus(node)?.text === '2/2 69% 0.0A', 5000, 'status with the bank figures', { detail: () => lastStatus(node) });
    assert.deepEqual(lastStatus(node), { fill: 'green', shape: 'dot', text: '2/2 69% 0.0A' });
    assert.deepEqual(errors, []);
  });

  it('a pack going silent is excluded and flagged (red status), and counted again when it is back', async () => {
    const { got, errors } = await load([houseBus(), bankConfig({ expected: 3 })]);
    const node = helper.getNode('b1') as any;
    assert.deepEqual(ownStatuses(node)[0], { fill: 'yellow', shape: 'ring', text: 'jkbms-bank.status.waiting' });
    await until(() => got.some((x) => x.payload.packsOnline === 3), 20_000, 'three packs');
    const silencedAt = got.length;
    sim.pack(2).setSilent(true);
    const out = await until(() => got.slice(silencedAt).find((x) => x.payload.stale.includes(2)), 20_000, 'pack 2 stale');
    const p = out.payload as BankPayload;
    assert.deepEqual(p.stale, [2]);
    assert.equal(p.packsOnline, 2);
    assert.equal(p.packsExpected, 3);
    const two = p.packs.find((x) => x.address === 2)!;
    assert.equal(two.stale, true);
    assert.equal(two.online, false);
    assert.equal(p.current, expectedFromPacks(p).current, 'the sum leaves pack 2 out');
    assert.notEqual(p.current, round(p.packs.reduce((a, x) => a + x.current!, 0), 3), 'pack 2 would change the sum');
    await until(() => lastStatus(node)?.fill === 'red', 5000, 'red status', { detail: () => ownStatuses(node).slice(-5) });
    assert.deepEqual(lastStatus(node), { fill: 'red', shape: 'ring', text: 'jkbms-bank.status.stale' });

    const n = got.length;
    sim.pack(2).setSilent(false);
    const back = await until(() => got.slice(n).find((x) => x.payload.packsOnline === 3), 30_000, 'pack 2 back');
    assert.deepEqual(back.payload.stale, []);
    assert.equal(back.payload.current, expectedFromPacks(back.payload).current);
    await until(() => lastStatus(node)?.fill === 'green', 5000, 'green again');
    assert.deepEqual(errors, []);
  });

  it('with a JK master: a pack whose live data stops goes stale after "stale after" even while the bus still has it online', async () => {
    const { got } = await load([houseBus({ mode: 'listen', offlineAfter: 60 }), bankConfig({ staleAfter: 10, includeMaster: true })], {
      master: true,
    });
    await until(() => got.some((x) => x.payload.packsOnline === 4), 25_000, 'master and three packs counted');
    const first = got.find((x) => x.payload.packsOnline === 4)!.payload as BankPayload;
    assert.deepEqual(first.packs.map((x) => x.address), [0, 1, 2, 3], 'the master (address 0) is a pack of the bank');
    const silencedAt = Date.now();
    const n = got.length;
    sim.pack(3).setSilent(true);
    const out = await until(() => got.slice(n).find((x) => x.payload.stale.includes(3)), 25_000, 'pack 3 stale');
    const p = out.payload as BankPayload;
    assert.ok(out.payload.ts - silencedAt >= 5_000, 'not before its last live frame is 10 s old');
    assert.deepEqual(p.stale, [3]);
    assert.equal(p.packsOnline, 3);
    const three = p.packs.find((x) => x.address === 3)!;
    assert.deepEqual([three.online, three.stale], [true, true], 'the bus (offline after 60 s) still has it online');
    assert.equal(p.power, expectedFromPacks(p).power);
  });

  it('lists the alarms of two packs raised at once', async () => {
    const { got } = await load([houseBus(), bankConfig()], {}, (s) => [1, 2, 3].forEach((a) => s.pack(a).setCurrent(0)));
    await until(() => got.some((x) => x.payload.packsOnline === 3), 20_000, 'three packs');
    assert.equal(got.at(-1)!.payload.alarm, false);
    sim.pack(1).setAlarm('cellOvp');
    sim.pack(3).setAlarm('mosOtp');
    const m = await until(() => got.find((x) => x.payload.alarms.length === 2), 20_000, 'both alarms', { detail: () => got.at(-1)?.payload.alarms });
    assert.equal(m.payload.alarm, true);
    assert.deepEqual(m.payload.alarms, [
      { address: 1, alarm: 'cellOvp', label: 'Cell over-voltage' },
      { address: 3, alarm: 'mosOtp', label: 'MOS over-temperature' },
    ]);
  });

  it('sends at most one message per "at most every" seconds', async () => {
    const { got } = await load([houseBus(), bankConfig({ rate: 2 })]);
    await until(() => got.length >= 4, 30_000, 'four messages');
    const ts = got.map((m) => m.payload.ts as number);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! - ts[i - 1]! >= 1950, `gap ${ts[i]! - ts[i - 1]!} ms`);
  });

  it('keeps the energy counters across redeploys and resets them on msg.resetEnergy', async () => {
    const nodes = (name: string): FlowNode[] => [houseBus(), bankConfig({ name })];
    let { got, errors } = await load(nodes('A'), {}, (s) => [1, 2, 3].forEach((a) => s.pack(a).setCurrent(20)));
    await until(() => got.some((x) => x.payload.packsOnline === 3 && x.payload.energyChargedKwh > 0.0005), 30_000, 'energy counted');
    const before = (helper.getNode('b1') as any).context().get(ENERGY_KEY);
    assert.ok(before.chargedJ > 1800, `stored ${before.chargedJ} J`);

    // "Modified nodes" deploy: only the bank node restarts, onto the running bus.
    await helper.setFlows(withCatch(nodes('B')), 'nodes');
    let n = got.length;
    const afterNodes = await until(() => got.slice(n).find((x) => x.payload.packsOnline === 3), 20_000, 'message after the redeploy');
    assert.ok(afterNodes.payload.energyChargedKwh >= round(before.chargedJ / 3_600_000, 6), 'continued, not restarted from 0');

    // Full deploy: everything restarts (new helper nodes too).
    const mid = (helper.getNode('b1') as any).context().get(ENERGY_KEY);
    await helper.setFlows(withCatch(nodes('C')), 'full');
    ({ got, errors } = outputs());
    const afterFull = await until(() => got.find((x) => x.payload.packsOnline === 3), 30_000, 'message after the full redeploy');
    assert.ok(afterFull.payload.energyChargedKwh >= round(mid.chargedJ / 3_600_000, 6), 'continued after a full deploy');

    const bank = helper.getNode('b1') as any;
    bank.receive({ resetEnergy: 'yes' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'Error: jkbms-bank.errors.bad-reset');
    assert.ok(bank.context().get(ENERGY_KEY).chargedJ >= mid.chargedJ, 'a bad reset changes nothing');

    n = got.length;
    bank.receive({ resetEnergy: true, keep: 7 });
    const reply = await until(() => got.slice(n).find((x) => x.keep === 7), 5000, 'reply');
    assert.equal(reply.topic, 'house/bank');
    assert.deepEqual(reply.bms, { bus: 'house', busId: 'bus1', bankId: 'house' });
    assert.equal(reply.payload.energyChargedKwh, 0);
    assert.equal(reply.resetEnergy, undefined);
    assert.deepEqual(bank.context().get(ENERGY_KEY), { chargedJ: 0, dischargedJ: 0, lastAt: null, lastPower: null });
  });

  it('registers as a bus user (the port opens) and unregisters when removed', async () => {
    const { got } = await load([houseBus(), bankConfig()]);
    await until(() => got.length > 0, 20_000, 'a message');
    assert.equal(endpoints[0]!.isOpen(), true);
    assert.equal(busById('bus1')!.userCount, 1);
    await helper.setFlows(withCatch([houseBus()]), 'nodes');
    await until(() => !busById('bus1')!.isRunning, 10_000, 'bus stopped after its last user left');
    assert.equal(busById('bus1')!.userCount, 0);
    await until(() => !endpoints[0]!.isOpen(), 10_000, 'port closed');
  });

  for (const [what, over, key] of [
    ['packs', { expected: 2.5 }, 'bad-expected'],
    ['rate', { rate: -1 }, 'bad-rate'],
    ['stale after', { staleAfter: 'soon' }, 'bad-stale'],
    ['bank id', { bankId: 'house battery' }, 'bad-bank-id'],
  ] as const) {
    it(`refuses a bad "${what}" setting: red status, error to Catch, input refused, bus not opened`, async () => {
      const { errors } = await load([houseBus(), bankConfig(over)]);
      const node = helper.getNode('b1') as any;
      assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'dot', text: 'jkbms-bank.status.config' });
      const e = await until(() => errors[0], 5000, 'catch');
      assert.equal(e.error.message, `jkbms-bank.errors.${key}`);
      node.receive({ payload: 1 });
      await until(() => errors[1], 5000, 'second catch');
      assert.equal(errors[1]!.error.message, `Error: jkbms-bank.errors.${key}`);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(endpoints.every((t) => !t.isOpen()), 'the bus was not opened');
    });
  }

  it('sends its bank id as set (not a node id), so a copied flow keeps the HA bank device', async () => {
    const { got } = await load([houseBus(), bankConfig({ bankId: 'garage-rack_2' })]);
    const m = await until(() => got[0], 20_000, 'a message');
    assert.deepEqual(m.bms, { bus: 'house', busId: 'bus1', bankId: 'garage-rack_2' });
  });

  it('without a bus it reports the problem', async () => {
    const { errors } = await load([houseBus(), bankConfig({ bus: 'nope' })]);
    assert.deepEqual(ownStatuses(helper.getNode('b1'))[0], { fill: 'red', shape: 'ring', text: 'jkbms-bank.status.no-bus' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'jkbms-bank.errors.no-bus');
  });
});
