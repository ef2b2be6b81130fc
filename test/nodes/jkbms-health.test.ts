import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { BankHealthPayload, PackHealthPayload } from '../../src/health';
import { MAX_STDERR_MOHM } from '../../src/health/pack';
import { BusSimulator, type BusSimulatorOptions, type SimHostEndpoint } from '../../src/sim';
import busNode = require('../../nodes/jkbms-bus');
import healthNode = require('../../nodes/jkbms-health');
import { busConfig, collect, lastStatus, loadWithCatch, nodeTestHooks, ownStatuses, useSimulator, withCatch, type FlowNode, type Msg } from '../helpers/flows';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));

const STATE_KEY = 'jkbms-health-state';

const houseBus = (over: Partial<FlowNode> = {}): FlowNode => busConfig({ name: 'house', ...over });

/** The health node "h1": packs to helper "out", the bank to helper "bank". */
function healthConfig(over: Record<string, unknown> = {}): FlowNode {
  return { id: 'h1', type: 'jkbms-health', z: 't1', name: '', bus: 'bus1', interval: 0, includeMaster: false, wires: [['out'], ['bank']], ...over };
}
const bankHelper: FlowNode = { id: 'bank', type: 'helper', z: 't1' };

/** Currents that swing ±60 A within seconds: the resistance shows in a few frames. */
const SWING = { profile: { offsetA: 0, amplitudeA: 60, periodS: 7, noiseA: 5 } };

describe('jkbms-health node (test-helper + in-process simulator)', function () {
  this.timeout(60_000);
  let sim: BusSimulator;
  let endpoints: SimHostEndpoint[];

  async function load(nodes: FlowNode[], simOptions: Partial<BusSimulatorOptions> = {}) {
    sim = new BusSimulator({ packs: [1, 2], seed: 21, packDefaults: SWING, cellFaults: 'cell 2.3: +5 mΩ', ...simOptions });
    sim.start();
    endpoints = [];
    useSimulator(sim, endpoints);
    const { got, errors } = await loadWithCatch([busNode, healthNode], [...nodes, bankHelper]);
    return { got, errors, bank: collect('bank') };
  }

  nodeTestHooks(() => sim);
  afterEach(() => {
    assert.deepEqual(sim.errors, []);
  });

  /** Ask for the health until `ok` holds for the pack messages and the bank message of one answer. */
  async function askUntil(got: Msg[], bank: Msg[], ok: (packs: Msg[], bank: Msg) => boolean, what: string, timeoutMs = 30_000) {
    const node = helper.getNode('h1') as any;
    return until(
      async () => {
        const from = got.length;
        const fromBank = bank.length;
        node.receive({ ask: true });
        await until(() => bank.length > fromBank, 5000, 'an answer');
        const packs = got.slice(from);
        const b = bank[fromBank]!;
        return ok(packs, b) ? { packs, bank: b } : null;
      },
      timeoutMs,
      what,
    );
  }

  it('on input: one message per pack on output 1 (its cells, identity, the planted +5 mΩ cell), then the bank on output 2, reusing the input message', async () => {
    const { got, bank, errors } = await load([houseBus(), healthConfig()]);
    const node = helper.getNode('h1') as any;
    assert.deepEqual(ownStatuses(node)[0], { fill: 'yellow', shape: 'ring', text: 'jkbms-health.status.waiting' });
    const answer = await askUntil(
      got,
      bank,
      (packs) => packs.length === 2 && packs.every((m) => m.bms.serialNumber !== null && m.payload.cells.every((c: { resistanceMohm: number | null }) => c.resistanceMohm !== null)),
      'both packs identified, every cell with a resistance estimate',
    );
    const [one, two] = answer.packs as { topic: string; payload: PackHealthPayload; bms: any }[];
    assert.equal(one!.topic, 'house/1/health');
    assert.equal(two!.topic, 'house/2/health');
    assert.deepEqual(two!.bms, { bus: 'house', busId: 'bus1', address: 2, serialNumber: sim.pack(2).serialNumber, model: 'JK_PB2A16S20P', hardwareVersion: '15A', softwareVersion: '15.38', name: 'JK_PB2A16S20P' });
    const p = two!.payload;
    assert.equal(p.type, 'health');
    assert.equal(p.address, 2);
    assert.equal(p.serialNumber, sim.pack(2).serialNumber);
    assert.equal(p.cellCount, 16);
    assert.equal(p.cells.length, 16);
    assert.deepEqual(Object.keys(p.cells[0]!), ['cell', 'resistanceMohm', 'stdErrMohm', 'confidence', 'endOfChargeMv', 'endOfDischargeMv', 'kneeFirst', 'fallFirst']);
    // An estimate needs 20 degrees of freedom (frames less one per window, less the slope).
    assert.ok(p.frames >= 22 && one!.payload.frames >= 22, `frames ${one!.payload.frames}, ${p.frames}`);
    const three = p.cells[2]!;
    assert.ok(Math.abs(three.resistanceMohm! - 5) < 1.5, `cell 2.3: ${three.resistanceMohm} mΩ`);
    for (const c of [...one!.payload.cells, ...p.cells.filter((x) => x.cell !== 3)]) assert.ok(Math.abs(c.resistanceMohm!) < 0.6, `${c.cell}: ${c.resistanceMohm} mΩ`);
    for (const c of [...one!.payload.cells, ...p.cells]) assert.ok(c.stdErrMohm! <= MAX_STDERR_MOHM && c.confidence > 0, `an estimate is shown with its standard error: ${JSON.stringify(c)}`);
    assert.ok(three.confidence < 0.9, 'not confident after seconds: no finding yet');
    const b = answer.bank as { topic: string; payload: BankHealthPayload; bms: unknown; ask: boolean };
    assert.equal(b.topic, 'house/health');
    assert.deepEqual(b.bms, { bus: 'house', busId: 'bus1' });
    assert.equal(b.ask, true, 'the input message is reused');
    assert.equal(b.payload.type, 'health-bank');
    assert.deepEqual(b.payload.packs.map((x) => [x.address, x.serialNumber]), [
      [1, sim.pack(1).serialNumber],
      [2, sim.pack(2).serialNumber],
    ]);
    assert.deepEqual(b.payload.findings, []);
    assert.equal(b.payload.problem, false);
    assert.deepEqual(lastStatus(node), { fill: 'green', shape: 'dot', text: 'jkbms-health.status.ok' });
    assert.deepEqual(errors, []);
  });

  it('sends every "send every" seconds without input', async () => {
    const { bank } = await load([houseBus(), healthConfig({ interval: 1 })]);
    await until(() => bank.length >= 3, 20_000, 'three bank messages');
    const ts = bank.map((m) => m.payload.ts as number);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! - ts[i - 1]! >= 900, `gap ${ts[i]! - ts[i - 1]!} ms`);
  });

  it('keeps its statistics across redeploys (modified nodes and full), in node context', async () => {
    const nodes = (name: string): FlowNode[] => [houseBus(), healthConfig({ name }), bankHelper];
    let { got, bank } = await load(nodes('A').slice(0, 2));
    const first = await askUntil(got, bank, (packs) => packs.length === 2 && packs.every((m) => m.payload.frames >= 10), 'ten frames of each pack');
    const framesBefore = first.packs.map((m) => m.payload.frames as number);
    const stored = (helper.getNode('h1') as any).context().get(STATE_KEY);
    assert.equal(stored.version, 1);
    assert.equal(stored.packs.length, 2);

    // "Modified nodes" deploy: only the health node restarts, onto the running bus.
    await helper.setFlows(withCatch(nodes('B')), 'nodes');
    got = collect('out');
    bank = collect('bank');
    let again = await askUntil(got, bank, (packs) => packs.length === 2, 'an answer after the redeploy');
    again.packs.forEach((m, i) => assert.ok(m.payload.frames >= framesBefore[i]!, `pack ${m.payload.address}: ${m.payload.frames} frames, ${framesBefore[i]} before`));
    assert.equal(again.packs[1]!.payload.since, first.packs[1]!.payload.since, 'the same statistics, not new ones');

    // Full deploy: everything restarts (new helper nodes too).
    const mid = again.packs.map((m) => m.payload.frames as number);
    await helper.setFlows(withCatch(nodes('C')), 'full');
    got = collect('out');
    bank = collect('bank');
    again = await askUntil(got, bank, (packs) => packs.length === 2, 'an answer after the full redeploy');
    again.packs.forEach((m, i) => assert.ok(m.payload.frames >= mid[i]!, `after a full deploy: ${m.payload.frames} ≥ ${mid[i]}`));
    assert.equal(again.packs[0]!.payload.since, first.packs[0]!.payload.since);
  });

  it('msg.reset forgets one pack or all; a bad msg.reset is a clear error that forgets nothing', async () => {
    const { got, bank, errors } = await load([houseBus(), healthConfig()]);
    const node = helper.getNode('h1') as any;
    await askUntil(got, bank, (packs) => packs.length === 2 && packs.every((m) => m.payload.frames >= 5), 'five frames of each pack');
    const before = JSON.stringify(node.context().get(STATE_KEY).packs.map((p: any) => p.serialNumber));

    node.receive({ reset: 'yes' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'Error: jkbms-health.errors.bad-reset');
    for (const bad of [16, -1, 1.5, { address: 1 }]) node.receive({ reset: bad });
    await until(() => errors.length === 5, 5000, 'four more errors');
    assert.equal(JSON.stringify(node.context().get(STATE_KEY).packs.map((p: any) => p.serialNumber)), before);

    let n = got.length;
    let nb = bank.length;
    node.receive({ reset: 2, keep: 7 });
    await until(() => bank.length > nb, 5000, 'the answer');
    const after = got.slice(n);
    const framesOf = (a: number) => after.find((m) => m.payload.address === a)?.payload.frames ?? 0;
    assert.ok(framesOf(2) <= 2, `pack 2 starts over: ${framesOf(2)} frames`);
    assert.ok(framesOf(1) >= 5, 'pack 1 keeps its statistics');
    assert.equal(bank.at(-1)!.keep, 7);
    assert.equal(bank.at(-1)!.reset, undefined, 'msg.reset is not passed on');

    n = got.length;
    nb = bank.length;
    node.receive({ reset: true });
    await until(() => bank.length > nb, 5000, 'the answer');
    assert.ok(got.slice(n).every((m) => m.payload.frames <= 2), 'every pack starts over');
    assert.equal(errors.length, 5);
  });

  it('counts the JK master\'s own pack only when asked to', async () => {
    for (const includeMaster of [false, true]) {
      const { got, bank } = await load([houseBus({ mode: 'listen' }), healthConfig({ includeMaster })], { master: true });
      // Three master cycles: its own frames (address 0) came with every one of them.
      const answer = await askUntil(got, bank, (packs) => packs.length >= 2 && packs.every((m) => m.payload.frames >= 3), 'three cycles of frames', 25_000);
      assert.deepEqual(answer.packs.map((m) => m.payload.address), includeMaster ? [0, 1, 2] : [1, 2]);
      await helper.unload();
      await sim.stop();
    }
  });

  for (const [what, over, key] of [['send every', { interval: -1 }, 'bad-interval'], ['send every', { interval: 0.5 }, 'bad-interval']] as const) {
    it(`refuses a bad "${what}" (${JSON.stringify(over)}): red status, error to Catch, input refused, bus not opened`, async () => {
      const { errors } = await load([houseBus(), healthConfig(over)]);
      const node = helper.getNode('h1') as any;
      assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'dot', text: 'jkbms-health.status.config' });
      const e = await until(() => errors[0], 5000, 'catch');
      assert.equal(e.error.message, `jkbms-health.errors.${key}`);
      node.receive({ payload: 1 });
      await until(() => errors[1], 5000, 'second catch');
      assert.equal(errors[1]!.error.message, `Error: jkbms-health.errors.${key}`);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(endpoints.every((t) => !t.isOpen()), 'the bus was not opened');
    });
  }

  it('without a bus it reports the problem', async () => {
    const { errors } = await load([houseBus(), healthConfig({ bus: 'nope' })]);
    assert.deepEqual(ownStatuses(helper.getNode('h1'))[0], { fill: 'red', shape: 'ring', text: 'jkbms-health.status.no-bus' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'jkbms-health.errors.no-bus');
  });
});
