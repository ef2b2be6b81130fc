import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { BusSimulator, type SimHostEndpoint } from '../../src/sim';
import { liveSummary } from '../../src/messages/message';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import { busConfig, lastStatus, loadWithCatch, nodeTestHooks, ownStatuses, useSimulator, type FlowNode } from '../helpers/flows';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));

function packConfig(over: Record<string, unknown> = {}): FlowNode {
  return { id: 'p1', type: 'jkbms', z: 't1', bus: 'bus1', address: 1, serial: '', emitLive: true, emitSettings: true, emitInfo: true,
    emitAvailability: true, rate: 'all', interval: 10, wires: [['out']], ...over };
}

describe('jkbms node (test-helper + in-process simulator)', function () {
  this.timeout(40_000);
  let sim: BusSimulator;
  let endpoints: SimHostEndpoint[];

  async function load(nodes: FlowNode[], packs = [1, 2, 3]) {
    sim = new BusSimulator({ packs, seed: 7 });
    sim.start();
    endpoints = [];
    useSimulator(sim, endpoints);
    return loadWithCatch([busNode, packNode], nodes);
  }

  nodeTestHooks(() => sim);

  it('sends live, settings and info of its pack with topic, payload, bms and frame', async () => {
    const { got } = await load([busConfig(), packConfig()]);
    await until(() => (['live', 'settings', 'info'] as const).every((k) => got.some((m) => m.payload.type === k)), 20_000, 'all three kinds');
    const info = got.find((m) => m.payload.type === 'info')!;
    assert.equal(info.topic, 'bank/1/info');
    assert.equal(info.payload.serialNumber, sim.pack(1).serialNumber);
    assert.deepEqual(info.bms, {
      bus: 'bank', busId: 'bus1', address: 1, serialNumber: sim.pack(1).serialNumber, model: info.payload.vendorId,
      hardwareVersion: info.payload.hardwareVersion, softwareVersion: info.payload.softwareVersion, name: info.payload.deviceName || null,
    });
    assert.equal(info.frame.source, 'poll');
    assert.ok(Math.abs(info.frame.ts - Date.now()) < 30_000);
    const live = got.find((m) => m.payload.type === 'live')!;
    assert.equal(live.topic, 'bank/1/live');
    assert.equal(live.payload.address, 1);
    assert.equal(live.payload.cells.length, live.payload.cellCount);
    assert.ok(got.every((m) => m.topic.startsWith('bank/1/')), 'only pack 1');
    const settings = got.find((m) => m.payload.type === 'settings')!;
    assert.equal(settings.topic, 'bank/1/settings');
    // the status is the summary of the last live frame
    const node = helper.getNode('p1') as any;
    const lastLive = [...got].reverse().find((m) => m.payload.type === 'live')!;
    await until(() => lastStatus(node)?.fill === 'green', 5000, 'green status');
    const st = lastStatus(node)!;
    assert.equal(st.shape, 'dot');
    assert.match(st.text, /^\d{1,3}% \d+\.\dV -?\d+\.\dA$/);
    assert.ok(st.text.length < 20);
    assert.ok(got.some((m) => m.payload.type === 'live' && liveSummary(m.payload) === st.text) || liveSummary(lastLive.payload) === st.text);
  });

  it('learns the serial number into node context and reports availability', async () => {
    const { got } = await load([busConfig(), packConfig({ emitSettings: false, emitLive: false })]);
    await until(() => got.some((m) => m.payload.type === 'info'), 20_000, 'info');
    const node = helper.getNode('p1') as any;
    assert.deepEqual(node.context().get('jkbms-learned-serial'), { address: 1, serial: sim.pack(1).serialNumber });
    const avail = got.find((m) => m.payload.type === 'availability')!;
    assert.deepEqual(avail.payload, { type: 'availability', address: 1, online: true });
    assert.equal(avail.topic, 'bank/1/availability');
    assert.ok(got.every((m) => m.payload.type !== 'live' && m.payload.type !== 'settings'), 'live and settings switched off');
  });

  it('a pack going silent turns the status red and sends online:false', async function () {
    this.timeout(60_000);
    const { got } = await load([busConfig({ offlineAfter: 5 }), packConfig({ address: 2, emitLive: false, emitSettings: false, emitInfo: false })]);
    await until(() => got.some((m) => m.payload.online === true), 20_000, 'online');
    sim.pack(2).setSilent(true);
    const off = await until(() => got.find((m) => m.payload.online === false), 30_000, 'offline message');
    assert.deepEqual(off.payload, { type: 'availability', address: 2, online: false });
    const node = helper.getNode('p1') as any;
    assert.deepEqual(lastStatus(node), { fill: 'red', shape: 'ring', text: 'jkbms.status.offline' });
  });

  it('follows a configured serial number to the address it is found at', async () => {
    const probe = new BusSimulator({ packs: [1, 2, 3], seed: 7 });
    const serial2 = probe.pack(2).serialNumber;
    const { got } = await load([busConfig(), packConfig({ address: 1, serial: serial2 })]);
    await until(() => got.some((m) => m.payload.type === 'live' && m.topic === 'bank/2/live'), 25_000, 'live of the pack at address 2');
    const firstAt2 = got.findIndex((m) => m.topic.startsWith('bank/2/'));
    assert.ok(got.slice(firstAt2).every((m) => m.topic.startsWith('bank/2/')), 'once found, only address 2');
    assert.ok(got.every((m) => m.bms.serialNumber === null || m.bms.serialNumber === serial2));
  });

  it('re-requests a kind on input and replies with the input msg', async () => {
    const { got, errors } = await load([busConfig(), packConfig({ emitLive: false, emitSettings: false, emitInfo: false, emitAvailability: false })]);
    const node = helper.getNode('p1') as any;
    await until(() => lastStatus(node)?.fill === 'green', 20_000, 'pack seen');
    node.receive({ payload: 'settings', keep: 42 });
    const reply = await until(() => got.find((m) => m.payload.type === 'settings'), 15_000, 'reply');
    assert.equal(reply.keep, 42);
    assert.equal(reply.topic, 'bank/1/settings');
    assert.equal(reply.frame.source, 'poll');
    assert.equal(got.length, 1, 'exactly one message: the answer is not sent twice');
    assert.deepEqual(errors, []);
  });

  it('a bad input payload ends in a clear error that reaches the Catch node', async () => {
    const { got, errors } = await load([busConfig(), packConfig()]);
    helper.getNode('p1').receive({ payload: 'cells' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'Error: jkbms.errors.bad-input');
    assert.equal(e.error.source.id, 'p1');
    assert.equal(e.payload, 'cells', 'the message is kept');
    assert.ok(got.every((m) => m.payload !== 'cells'));
  });

  it('a request on a listen-only bus fails with a text that says what to change', async () => {
    const { errors } = await load([busConfig({ mode: 'listen' }), packConfig()]);
    await new Promise((r) => setTimeout(r, 300));
    helper.getNode('p1').receive({ payload: 'info' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.match(e.error.message, /info request to pack 1 on bus "bank" failed: .*listen mode.*set its Mode to "auto" or "master"/);
  });

  it('without a bus it reports the problem and refuses input', async () => {
    const { errors } = await load([busConfig(), packConfig({ bus: 'nope' })]);
    const node = helper.getNode('p1') as any;
    assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'ring', text: 'jkbms.status.no-bus' });
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'jkbms.errors.no-bus');
    node.receive({ payload: 'live' });
    await until(() => errors[1], 5000, 'second catch');
    assert.equal(errors[1].error.message, 'Error: jkbms.errors.no-bus');
  });

  it('an address outside 0-15 is refused at start', async () => {
    const { errors } = await load([busConfig(), packConfig({ address: 16 })]);
    const e = await until(() => errors[0], 5000, 'catch');
    assert.equal(e.error.message, 'jkbms.errors.bad-address');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(endpoints.every((t) => !t.isOpen()), 'the bus was not opened for a misconfigured node');
  });
});
