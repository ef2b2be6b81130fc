/**
 * What every node using a bus shows and reports about the bus (nodes/lib/user-node.ts,
 * nodes/lib/bus-reporting.ts), in node-red-node-test-helper with the real en-US catalogs:
 * the bus's trouble in each user's status (live values marked stale), normal statuses when
 * it is back, one error per bus event at a Catch node, Status nodes receiving it all, and
 * the same bad-config behaviour in every node type.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import { MockBinding } from '@serialport/binding-mock';
import { BusSimulator, type SimHostEndpoint } from '../../src/sim';
import { SerialTransport } from '../../src/transport/serial';
import type { Transport } from '../../src/transport/transport';
import { busFactories } from '../../nodes/lib/bus-registry';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import requestNode = require('../../nodes/jkbms-request');
import writeNode = require('../../nodes/jkbms-write');
import bankNode = require('../../nodes/jkbms-bank');
import healthNode = require('../../nodes/jkbms-health');
import haNode = require('../../nodes/jkbms-ha');
import { busConfig, catchNode, collect, nodeTestHooks, ownStatuses, useSimulator, type FlowNode, type Msg } from '../helpers/flows';
import { sleep, until } from '../helpers/wait';

helper.init(require.resolve('node-red'));
const statusNode = require('@node-red/nodes/core/common/25-status.js');

/** RED._ with our en-US catalogs (test-helper's returns the key), so the tests see the texts users see. */
const catalog: Record<string, unknown> = {};
const dir = join(__dirname, '..', '..', 'nodes', 'locales', 'en-US');
for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) Object.assign(catalog, JSON.parse(readFileSync(join(dir, f), 'utf8')));
function translate(key: string, params: Record<string, unknown> = {}): string {
  const text = key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalog);
  if (typeof text !== 'string') return key;
  return text.replace(/__(\w+)__/g, (_m, p: string) => (p in params ? String(params[p]) : _m));
}
const withCatalog = (RED: { _: unknown }): void => {
  RED._ = translate;
};

const MODULES = [withCatalog, busNode, packNode, requestNode, writeNode, bankNode, healthNode, haNode, catchNode, statusNode];

const pack = (id: string, over: Partial<FlowNode> = {}): FlowNode => ({
  id, type: 'jkbms', z: 't1', bus: 'bus1', address: 1, serial: '', emitLive: true, emitSettings: false, emitInfo: false,
  emitAvailability: false, rate: 'all', interval: 10, wires: [[]], ...over });
const users = (busId = 'bus1'): FlowNode[] => [
  pack('p1', { bus: busId, wires: [['ha']] }),
  { id: 'r1', type: 'jkbms-request', z: 't1', bus: busId, address: 'all', kind: 'info', timeout: 0, wires: [[]] },
  { id: 'w1', type: 'jkbms-write', z: 't1', bus: busId, address: 1, allowProtection: false, timeout: 0, wires: [[]] },
  { id: 'b1', type: 'jkbms-bank', z: 't1', bus: busId, expected: 0, includeMaster: false, rate: 0, staleAfter: 0, wires: [[]] },
  { id: 'h1', type: 'jkbms-health', z: 't1', bus: busId, interval: 0, includeMaster: false, wires: [[], []] },
  { id: 'ha', type: 'jkbms-ha', z: 't1', discoveryPrefix: 'homeassistant', baseTopic: 'jkbms', mode: 'entity', wires: [[], []] },
];
const USERS = ['p1', 'r1', 'w1', 'b1', 'h1', 'ha'];

function flow(nodes: FlowNode[]): FlowNode[] {
  return [
    { id: 't1', type: 'tab' },
    ...nodes,
    { id: 'st', type: 'status', z: 't1', scope: null, wires: [['stOut']] },
    { id: 'stOut', type: 'helper', z: 't1' },
    { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
  ];
}

async function load(nodes: FlowNode[]): Promise<{ errors: Msg[]; statuses: Msg[] }> {
  await helper.load(MODULES as Parameters<typeof helper.load>[0], flow(nodes));
  return { errors: collect('caught'), statuses: collect('stOut') };
}

const last = (id: string): Record<string, any> => ownStatuses(helper.getNode(id)).at(-1) ?? {};

describe('every node shows its bus (test-helper, en-US texts)', function () {
  this.timeout(60_000);
  let sim: BusSimulator | null = null;

  nodeTestHooks(() => sim);
  afterEach(() => {
    sim = null;
    MockBinding.reset();
  });

  it('a bus that cannot connect: every user red; live values marked stale in an outage; normal again when it is back', async () => {
    sim = new BusSimulator({ packs: [1], seed: 5 });
    sim.start();
    const made: Transport[] = [];
    useSimulator(sim, made);
    const create = busFactories.createTransport;
    // The adapter is out when the bus starts: it cannot connect.
    busFactories.createTransport = (spec, log) => {
      const t = create(spec, log) as SimHostEndpoint;
      t.unplug();
      return t;
    };
    const { statuses } = await load([busConfig({ mode: 'master', masterSilence: 500, allowWrites: true }), ...users()]);
    const endpoint = (): SimHostEndpoint => made[0] as SimHostEndpoint;
    const down = 'bus bank disconnected';
    await until(() => ['p1', 'r1', 'w1', 'b1', 'h1'].every((id) => last(id).text === down), 10_000, 'every bus user red');
    for (const id of ['p1', 'r1', 'w1', 'b1', 'h1']) assert.deepEqual(last(id), { fill: 'red', shape: 'ring', text: down }, id);
    assert.ok(statuses.some((m) => m.status.source.id === 'p1' && m.status.text === down), 'a Status node receives it');

    endpoint().replug();
    await until(() => last('p1').fill === 'green' && last('b1').fill === 'green' && last('ha').fill === 'green', 20_000, 'live values shown');
    const live = String(last('p1').text);
    assert.match(live, /V/);
    assert.equal(last('r1').text, undefined, 'the request node has no status of its own yet: cleared');
    assert.equal(last('w1').fill, undefined);

    // An outage: live values are marked stale, whatever was shown.
    endpoint().unplug();
    await until(() => last('p1').fill === 'red', 10_000, 'pack node red');
    assert.deepEqual(last('p1'), { fill: 'red', shape: 'ring', text: `${down}; stale: ${live}` });
    await until(() => last('ha').fill === 'red' && last('b1').fill === 'red', 5000, 'bank and HA red');
    assert.match(String(last('b1').text), /^bus bank disconnected; stale: 1\/1 /);
    assert.equal(last('ha').text, `${down}; stale: packs: 1`);

    endpoint().replug();
    await until(() => USERS.every((id) => last(id).fill !== 'red'), 20_000, 'every user back to normal');
    assert.equal(last('p1').fill, 'green');
    assert.doesNotMatch(String(last('p1').text), /stale/);
  });

  it('3 pack nodes on a failing bus, 3 on a bus refused (port in use): exactly one error per bus event at Catch', async () => {
    MockBinding.reset();
    busFactories.createTransport = (spec) => {
      if (spec.kind !== 'serial') throw new Error('serial only');
      return new SerialTransport({ path: spec.path, baudRate: spec.baudRate, binding: MockBinding });
    };
    const { errors, statuses } = await load([
      busConfig({ id: 'busA', name: 'A' }),
      busConfig({ id: 'busB', name: 'B' }),
      pack('a1', { bus: 'busA' }), pack('a2', { bus: 'busA', address: 2 }), pack('a3', { bus: 'busA', address: 3 }),
      pack('b1', { bus: 'busB' }), pack('b2', { bus: 'busB', address: 2 }), pack('b3', { bus: 'busB', address: 3 }),
    ]);
    await until(() => ['a1', 'a2', 'a3'].every((id) => last(id).text === 'bus A disconnected'), 10_000, 'users of A red');
    await until(() => ['b1', 'b2', 'b3'].every((id) => last(id).text === 'bus B: port in use'), 5000, 'users of B red');
    await sleep(1500); // a reconnect attempt or two of A
    const fromA = errors.filter((m) => m.error.source.id === 'busA');
    const fromB = errors.filter((m) => m.error.source.id === 'busB');
    assert.equal(fromA.length, 1, fromA.map((m) => m.error.message).join(' | '));
    assert.equal(fromB.length, 1, fromB.map((m) => m.error.message).join(' | '));
    assert.match(fromB[0]!.error.message, /^Error: jkbms-bus "B" cannot open \/dev\/ttyJK: in use by bus "A" \(busA\)/);
    assert.doesNotMatch(fromA[0]!.error.message, /Error: Error:/);
    assert.deepEqual(errors.length, 2, 'nothing from the pack nodes themselves');
    assert.ok(statuses.some((m) => m.status.source.id === 'a1' && m.status.text === 'bus A disconnected'));
    assert.ok(statuses.some((m) => m.status.source.id === 'b2' && m.status.text === 'bus B: port in use'));

    // The adapter appears: A connects, its users show their own status again.
    MockBinding.createPort('/dev/ttyJK', { echo: false, record: true });
    await until(() => ['a1', 'a2', 'a3'].every((id) => last(id).fill === 'yellow'), 20_000, 'users of A waiting for data');
    assert.equal(last('a1').text, 'waiting for data');
  });

  it('a bad config in every node type: red status, one error at Catch after the start, every input refused with done(err)', async () => {
    sim = new BusSimulator({ packs: [1], seed: 5 });
    sim.start();
    useSimulator(sim);
    const { errors, statuses } = await load([
      busConfig(),
      busConfig({ id: 'badBus', name: 'bad', transport: 'tcp', host: 'gw', port: 70000 }),
      pack('p1', { address: 16 }),
      { id: 'r1', type: 'jkbms-request', z: 't1', bus: 'bus1', address: 'all', kind: 'everything', timeout: 0, wires: [[]] },
      { id: 'w1', type: 'jkbms-write', z: 't1', bus: 'nope', address: 1, timeout: 0, wires: [[]] },
      { id: 'b1', type: 'jkbms-bank', z: 't1', bus: 'bus1', expected: 99, rate: 0, staleAfter: 0, wires: [[]] },
      { id: 'h1', type: 'jkbms-health', z: 't1', bus: 'badBus', interval: 60, wires: [[], []] },
      { id: 'ha', type: 'jkbms-ha', z: 't1', discoveryPrefix: 'home/#', baseTopic: 'jkbms', wires: [[], []] },
    ]);
    const expected: Record<string, string> = {
      p1: 'jkbms: the address must be a whole number 0-15, got 16',
      r1: 'jkbms-request: the request must be "info", "settings", "live" or "stats", got everything',
      w1: 'jkbms-write: no bus selected (open the node and pick a jkbms-bus)',
      b1: 'jkbms-bank: the number of packs must be a whole number 0-16 (0 = every pack seen), got 99',
      ha: 'Invalid topic option discoveryPrefix: no + or #, no empty levels, no leading or trailing /',
    };
    await until(() => errors.length >= 6, 5000, 'the config errors');
    await sleep(100);
    const bySource = new Map(errors.map((m) => [m.error.source.id, m.error.message]));
    for (const [id, text] of Object.entries(expected)) assert.equal(bySource.get(id), text, id);
    // The bus with invalid settings reports its reason itself, once; its user shows it.
    assert.equal(bySource.get('badBus'), 'Error: jkbms-bus "bad": port must be a number from 1 to 65535, got 70000');
    assert.equal(errors.length, 6);
    assert.deepEqual(last('h1'), { fill: 'red', shape: 'dot', text: 'bus bad invalid: port must be a number from 1 to 65535, got 70000' });
    assert.ok(statuses.some((m) => m.status.source.id === 'h1' && m.status.fill === 'red'), 'the Status node sees the deferred status');
    assert.ok(statuses.some((m) => m.status.source.id === 'w1' && m.status.text === 'no bus'));

    const n = errors.length;
    for (const id of USERS) helper.getNode(id).receive({ payload: 'live' });
    await until(() => errors.length === n + USERS.length, 5000, 'every input refused');
    const refused = new Map(errors.slice(n).map((m) => [m.error.source.id, m.error.message]));
    for (const [id, text] of Object.entries(expected)) assert.equal(refused.get(id), `Error: ${text}`, id);
    assert.equal(refused.get('h1'), 'Error: jkbms-health: bus "bad" has invalid settings: port must be a number from 1 to 65535, got 70000 (open the bus node and correct it)');
    assert.ok(errors.every((m) => !/Error: Error:/.test(m.error.message)));
  });
});
