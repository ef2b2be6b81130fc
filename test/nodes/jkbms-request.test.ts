import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { BusSimulator } from '../../src/sim';
import { getBus } from '../../nodes/lib/bus-registry';
import busNode = require('../../nodes/jkbms-bus');
import requestNode = require('../../nodes/jkbms-request');
import { busConfig, loadWithCatch, nodeTestHooks, ownStatuses, RED, useSimulator, type FlowNode } from '../helpers/flows';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));

const req = (over: Record<string, unknown> = {}): FlowNode => ({
  id: 'r1', type: 'jkbms-request', z: 't1', bus: 'bus1', address: 'all', kind: 'info', timeout: 0, wires: [['out']], ...over });

describe('jkbms-request node (test-helper + in-process simulator)', function () {
  this.timeout(60_000);
  let sim: BusSimulator;

  async function load(nodes: FlowNode[], simOpts: { packs: number[]; master?: boolean } = { packs: [1, 2, 3] }) {
    sim = new BusSimulator({ ...simOpts, seed: 11 });
    sim.start();
    useSimulator(sim);
    const { got, errors } = await loadWithCatch([busNode, requestNode], nodes);
    return { got, errors, node: helper.getNode('r1') as any };
  }
  /** Wait until the bus polls every pack as master (so "all" knows them). */
  async function packsOnline(node: any, n: number): Promise<void> {
    await until(() => getBus(RED, 'bus1')?.engine.status().packsOnline === n, 20_000, `${n} packs online`);
    void node;
  }

  nodeTestHooks(() => sim);

  it('"all" + info: one message per pack, each with the identity of its pack', async () => {
    const { got, errors, node } = await load([busConfig(), req()]);
    await packsOnline(node, 3);
    node.receive({ payload: 1234, topic: 'ignored', keep: 'x' });
    await until(() => got.length === 3, 20_000, 'three answers');
    assert.deepEqual(got.map((m) => m.topic).sort(), ['bank/1/info', 'bank/2/info', 'bank/3/info']);
    for (const m of got) {
      assert.equal(m.keep, 'x', 'the input msg is reused');
      assert.equal(m.payload.type, 'info');
      assert.equal(m.payload.serialNumber, sim.pack(m.bms.address).serialNumber);
      assert.equal(m.bms.serialNumber, m.payload.serialNumber);
      assert.equal(m.frame.source, 'poll');
    }
    assert.equal(new Set(got.map((m) => m._msgid)).size, 1, 'same message id: clones of one request');
    const st = ownStatuses(node);
    assert.deepEqual(st.find((s) => s.fill === 'yellow'), { fill: 'yellow', shape: 'dot', text: 'jkbms-request.status.waiting' });
    assert.deepEqual(st.at(-1), { fill: 'green', shape: 'dot', text: 'jkbms-request.status.ok' });
    assert.deepEqual(errors, []);
  });

  it('msg.payload {address, kind} overrides the node defaults', async () => {
    const { got, node } = await load([busConfig(), req()]);
    await packsOnline(node, 3);
    node.receive({ payload: { address: 2, kind: 'settings' } });
    const m = await until(() => got[0], 15_000, 'answer');
    assert.equal(m.topic, 'bank/2/settings');
    assert.equal(m.payload.type, 'settings');
    assert.equal(got.length, 1);
  });

  it('bad address or kind in msg.payload: clear error to Catch, message kept', async () => {
    const { got, errors, node } = await load([busConfig(), req()]);
    node.receive({ payload: { address: 16 } });
    node.receive({ payload: { kind: 'cells' } });
    await until(() => errors.length === 2, 5000, 'two errors');
    assert.deepEqual(errors.map((e) => e.error.message).sort(), ['Error: jkbms-request.errors.bad-address', 'Error: jkbms-request.errors.bad-kind']);
    assert.deepEqual(errors.find((e) => e.error.message.includes('address'))!.payload, { address: 16 });
    assert.equal(got.length, 0);
  });

  it('kind "stats": the bus engine\'s counters at once, as msg.payload (node default or msg.payload.kind)', async () => {
    const { got, errors, node } = await load([busConfig(), req({ kind: 'stats' })]);
    await packsOnline(node, 3);
    node.receive({ payload: '', keep: 'x' });
    const m = await until(() => got[0], 5000, 'stats');
    const engine = getBus(RED, 'bus1')!.engine;
    assert.equal(m.topic, 'bank/stats');
    assert.equal(m.keep, 'x', 'the input msg is reused');
    assert.deepEqual(m.bms, { bus: 'bank', busId: 'bus1' });
    assert.deepEqual(Object.keys(m.payload).sort(), Object.keys(engine.stats()).sort());
    assert.ok(m.payload.framesDecoded >= 3 && m.payload.requestsSent >= 3, JSON.stringify(m.payload));
    assert.ok(m.payload.framesDecoded <= engine.stats().framesDecoded);
    assert.equal(m.payload.since, engine.stats().since);
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'green', shape: 'dot', text: 'jkbms-request.status.stats' });
    // From a node set to another kind, by msg.payload.kind.
    const decoded = m.payload.framesDecoded;
    await until(() => engine.stats().framesDecoded > decoded, 10_000, 'more frames');
    node.receive({ payload: { kind: 'stats' } });
    const m2 = await until(() => got[1], 5000, 'second snapshot');
    assert.ok(m2.payload.framesDecoded > decoded, 'a fresh snapshot, not a cached one');
    assert.deepEqual(errors, []);
  });

  it('a silent pack times out: red ring and an error naming the pack and the bus', async () => {
    const { errors, node } = await load([busConfig(), req({ address: 2, kind: 'live', timeout: 1500 })]);
    await packsOnline(node, 3);
    sim.pack(2).setSilent(true);
    node.receive({ payload: '' });
    const e = await until(() => errors[0], 15_000, 'timeout error');
    assert.match(e.error.message, /live request to pack 2 on bus "bank" failed: .*did not answer in time/);
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'red', shape: 'ring', text: 'jkbms-request.status.timeout' });
  });

  it('listen mode: refused with a text that says to change the mode', async () => {
    const { errors, node } = await load([busConfig({ mode: 'listen' }), req({ address: 1 })]);
    await new Promise((r) => setTimeout(r, 300));
    node.receive({ payload: '' });
    const e = await until(() => errors[0], 5000, 'error');
    assert.match(e.error.message, /listen mode/);
    assert.match(e.error.message, /set its Mode to "auto" or "master"/);
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'red', shape: 'ring', text: 'jkbms-request.status.failed' });
  });

  it('sniff mode: device info through the JK master\'s quiet gap', async function () {
    this.timeout(90_000);
    const { got, errors, node } = await load([busConfig({ masterSilence: 2000 }), req({ address: 1, kind: 'info' })], { packs: [1, 2], master: true });
    await until(() => getBus(RED, 'bus1')?.engine.status().role === 'sniffing' && getBus(RED, 'bus1')?.engine.pack(1)?.online, 30_000, 'sniffing');
    node.receive({ payload: '' });
    const m = await until(() => got[0] ?? (errors[0] ? { error: errors[0].error } : null), 60_000, 'answer');
    assert.equal(m.error, undefined, JSON.stringify(m.error));
    assert.equal(m.topic, 'bank/1/info');
    assert.equal(m.payload.serialNumber, sim.pack(1).serialNumber);
    assert.equal(getBus(RED, 'bus1')?.engine.status().role, 'sniffing', 'still sniffing: we never became a second master');
  });
});
