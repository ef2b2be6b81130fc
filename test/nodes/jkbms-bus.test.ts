import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { MockBinding } from '@serialport/binding-mock';
import { SerialTransport } from '../../src/transport/serial';
import { BusSimulator, type SimHostEndpoint } from '../../src/sim';
import { busFactories, getBus } from '../../nodes/lib/bus-registry';
import { portListing } from '../../nodes/lib/admin';
import type { Transport } from '../../src/transport/transport';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import requestNode = require('../../nodes/jkbms-request');
import { busConfig, catchNode, collect, nodeTestHooks, RED, useSimulator, type FlowNode } from '../helpers/flows';
import { sleep, until } from '../helpers/wait';

helper.init(require.resolve('node-red'));
const statusNode = require('@node-red/nodes/core/common/25-status.js');

const bus = (id: string, over: Partial<FlowNode> = {}): FlowNode => busConfig({ id, name: `${id} bank`, ...over });
function pack(id: string, busId: string, address: number, z = 't1'): FlowNode {
  return { id, type: 'jkbms', z, bus: busId, address, serial: '', emitLive: true, emitSettings: false, emitInfo: false,
    emitAvailability: false, rate: 'all', interval: 10, wires: [[]] };
}

describe('jkbms-bus config node (test-helper)', function () {
  this.timeout(40_000);
  const savedDeps = portListing.deps;
  let sim: BusSimulator | null = null;
  let made: Transport[] = [];

  function useSim(packs = [1, 2]): BusSimulator {
    const s = new BusSimulator({ packs, seed: 3 });
    s.start();
    sim = s;
    useSimulator(s, made);
    return s;
  }

  nodeTestHooks(() => sim);
  beforeEach(() => {
    made = [];
  });
  afterEach(() => {
    portListing.deps = savedDeps;
    sim = null;
  });

  const base = (): FlowNode[] => [
    { id: 't1', type: 'tab' },
    { id: 'st', type: 'status', z: 't1', scope: null, wires: [['stOut']] },
    { id: 'stOut', type: 'helper', z: 't1' },
    { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
  ];
  async function load(nodes: FlowNode[]) {
    await helper.load([busNode, packNode, requestNode, catchNode, statusNode], [...base(), ...nodes]);
    return { statuses: collect('stOut'), errors: collect('caught') };
  }

  it("passes its status to the users' Status nodes: connecting, then master N/N", async () => {
    useSim([1, 2]);
    const { statuses } = await load([bus('bus1'), pack('p1', 'bus1', 1)]);
    const fromBus = () => statuses.filter((m) => m.status.source.type === 'jkbms-bus').map((m) => m.status);
    await until(() => fromBus().some((s) => s.text === 'jkbms-bus.status.master'), 20_000, 'master status in the Status node');
    const master = fromBus().find((s) => s.text === 'jkbms-bus.status.master')!;
    assert.equal(master.fill, 'green');
    assert.equal(master.shape, 'dot');
    assert.equal(master.source.id, 'bus1');
    const bus1 = helper.getNode('bus1') as any;
    const own = bus1.status.getCalls().filter((c: any) => c.thisValue === bus1).map((c: any) => `${c.args[0].fill} ${c.args[0].shape} ${c.args[0].text}`);
    assert.equal(own[0], 'yellow ring jkbms-bus.status.connecting');
    assert.ok(!own.some((s: string) => s.startsWith('red')), `never red while starting: ${own.join(' | ')}`);
    assert.ok(own.indexOf('green dot jkbms-bus.status.master') > 0);
  });

  it('opens the port with the first user, keeps it for the others and closes it with the last (modified-nodes redeploys)', async () => {
    useSim([1, 2]);
    const flow = [...base(), bus('bus1'), pack('p1', 'bus1', 1), pack('p2', 'bus1', 2)];
    await helper.load([busNode, packNode, requestNode, catchNode, statusNode], flow);
    await until(() => made[0]?.isOpen(), 10_000, 'open');
    assert.equal(made.length, 1);
    const handle = getBus(RED, 'bus1') ?? null;
    assert.equal(handle?.userCount, 2);
    // remove one user: the port stays open
    await helper.setFlows(flow.filter((n) => n.id !== 'p2'), 'nodes');
    assert.equal(made[0]!.isOpen(), true);
    // remove the last user: the port closes
    await helper.setFlows(flow.filter((n) => n.id !== 'p1' && n.id !== 'p2'), 'nodes');
    await until(() => !made[0]!.isOpen(), 5000, 'closed');
    const bus1 = helper.getNode('bus1') as any;
    assert.equal(bus1.status.getCalls().filter((c: any) => c.thisValue === bus1).at(-1).args[0].text, 'jkbms-bus.status.stopped');
    // a user again: a fresh transport opens
    await helper.setFlows(flow, 'nodes');
    await until(() => made[1]?.isOpen(), 10_000, 'reopened');
    assert.equal(made[0]!.isOpen(), false);
  });

  it('a full redeploy closes the old port before the new one opens, and unload leaves nothing running', async () => {
    useSim([1]);
    const flow = [...base(), bus('bus1'), pack('p1', 'bus1', 1)];
    await helper.load([busNode, packNode, requestNode, catchNode, statusNode], flow);
    await until(() => made[0]?.isOpen(), 10_000, 'open');
    const t0 = Date.now();
    await helper.setFlows(flow, 'full');
    assert.ok(Date.now() - t0 < 15_000, 'close handlers finished in time');
    await until(() => made[1]?.isOpen(), 10_000, 'new port open');
    assert.equal(made[0]!.isOpen(), false);
    const engine = getBus(RED, 'bus1')!.engine;
    await helper.unload();
    assert.equal(made[1]!.isOpen(), false);
    assert.equal(engine.status().role, 'stopped');
  });

  it('refuses a second bus node on the same port, naming the other one (Catch)', async () => {
    MockBinding.reset();
    MockBinding.createPort('/dev/ttyJK', { echo: false, record: true });
    busFactories.createTransport = (spec) => {
      if (spec.kind !== 'serial') throw new Error('serial only');
      const t = new SerialTransport({ path: spec.path, baudRate: spec.baudRate, binding: MockBinding });
      made.push(t);
      return t;
    };
    const first = [...base(), bus('busA'), pack('p1', 'busA', 1)];
    const { errors } = await load(first.slice(base().length));
    await until(() => made[0]?.isOpen(), 5000, 'busA open');
    await helper.setFlows([...first, bus('busB'), pack('p2', 'busB', 1)], 'nodes');
    const e = await until(() => errors.find((m) => /in use by/.test(m.error.message)), 5000, 'in-use error');
    assert.match(e.error.message, /^Error: jkbms-bus "bus[AB] bank" cannot open \/dev\/ttyJK: in use by bus "bus[AB] bank" \(bus[AB]\); use one bus node per adapter or gateway$/);
    assert.equal(e.error.source.type, 'jkbms-bus');
    assert.equal(e.error.source.id, 'busB');
    await until(() => made.filter((t) => t.isOpen()).length === 1, 5000, 'exactly one port open');
    await helper.unload();
    assert.ok(made.every((t) => !t.isOpen()), 'the mock port is closed after unload');
    MockBinding.reset();
  });

  it('an unplugged adapter turns red with a retry countdown and recovers when plugged back', async () => {
    useSim([1]);
    const { statuses } = await load([bus('bus1'), pack('p1', 'bus1', 1)]);
    const texts = () => statuses.filter((m) => m.status.source.type === 'jkbms-bus').map((m) => m.status);
    await until(() => texts().some((s) => s.fill === 'green'), 15_000, 'green');
    (made[0] as SimHostEndpoint).unplug();
    const red = await until(() => texts().find((s) => s.fill === 'red'), 5000, 'red');
    assert.equal(red.shape, 'ring');
    assert.match(red.text, /^jkbms-bus\.status\.(disconnected|retry)$/);
    const n = texts().length;
    (made[0] as SimHostEndpoint).replug();
    await until(() => texts().slice(n).some((s) => s.fill === 'green'), 20_000, 'green again');
  });

  it('invalid settings: red dot on the bus, its exact reason once at Catch and in the status of its users (Status node)', async () => {
    useSim([1]);
    const { errors, statuses } = await load([
      bus('bus1', { transport: 'tcp', host: 'gw', port: 70000 }), pack('p1', 'bus1', 1), pack('p2', 'bus1', 2), pack('p3', 'bus1', 3)]);
    const bus1 = helper.getNode('bus1') as any;
    assert.deepEqual(bus1.status.getCalls().filter((c: any) => c.thisValue === bus1)[0].args[0], {
      fill: 'red', shape: 'dot', text: 'jkbms-bus.status.invalid' });
    assert.equal(getBus(RED, 'bus1'), null);
    await until(() => errors.length > 0, 5000, 'the bus error');
    await sleep(200);
    assert.equal(errors.length, 1, 'one error for three users');
    assert.equal(errors[0]!.error.message, 'Error: jkbms-bus "bus1 bank": port must be a number from 1 to 65535, got 70000');
    assert.equal(errors[0]!.error.source.id, 'bus1');
    // The users show it (RED._ of test-helper gives the key), and a Status node receives it.
    const p1 = statuses.find((m) => m.status.source.id === 'p1');
    assert.deepEqual(p1 && { fill: p1.status.fill, shape: p1.status.shape, text: p1.status.text }, { fill: 'red', shape: 'dot', text: 'jkbms.bus.invalid' });
    assert.ok(statuses.some((m) => m.status.source.id === 'bus1' && m.status.text === 'jkbms-bus.status.invalid'), 'the bus status reaches the Status node');
    // An input is refused with the reason.
    helper.getNode('p2').receive({ payload: 'live' });
    const refused = await until(() => errors[1], 5000, 'input refused');
    assert.equal(refused.error.source.id, 'p2');
    assert.equal(refused.error.message, 'Error: jkbms.errors.bus-invalid');
  });

  describe('admin endpoints', () => {
    it('GET /jkbms/ports falls back to /dev when list() has no udevadm', async () => {
      portListing.deps = {
        list: () => Promise.reject(new Error('spawn udevadm ENOENT')),
        readdir: async (dir) => {
          if (dir === '/dev/serial/by-id') return ['usb-1a86_USB_Serial-if00-port0'];
          if (dir === '/dev') return ['ttyUSB0', 'ttyAMA0', 'zero'];
          throw new Error('ENOENT');
        },
        realpath: async (p) => (p.includes('by-id') ? '/dev/ttyUSB0' : p),
      };
      await load([bus('bus1')]);
      const res = await helper.request().get('/jkbms/ports').expect(200);
      assert.deepEqual(res.body, [
        { path: '/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0', device: '/dev/ttyUSB0', byId: true, source: 'scan' },
        { path: '/dev/ttyAMA0', device: '/dev/ttyAMA0', byId: false, source: 'scan' },
      ]);
    });

    it('GET /jkbms/packs lists the packs a running bus has seen, with their identity', async () => {
      const s = useSim([1, 2]);
      await load([bus('bus1'), pack('p1', 'bus1', 1)]);
      const body = await (async () => {
        const deadline = Date.now() + 25_000;
        for (;;) {
          const r = await helper.request().get('/jkbms/packs?bus=bus1').expect(200);
          if (r.body.packs.length === 2 && r.body.packs.every((p: any) => p.serial)) return r.body;
          if (Date.now() > deadline) throw new Error(`packs not identified: ${JSON.stringify(r.body)}`);
          await sleep(200);
        }
      })();
      assert.equal(body.deployed, true);
      assert.equal(body.running, true);
      assert.equal(body.role, 'master');
      assert.equal(body.masterPresent, false);
      assert.deepEqual(body.packs.map((p: any) => [p.address, p.serial, p.online, p.isMaster]), [
        [1, s.pack(1).serialNumber, true, false],
        [2, s.pack(2).serialNumber, true, false],
      ]);
      assert.equal(body.packs[0].model, s.pack(1).info().vendorId);
      // The bus's health counters ride along (the dialog shows them under the pack list).
      assert.ok(body.stats.framesDecoded >= 4, JSON.stringify(body.stats));
      assert.ok(body.stats.requestsSent >= body.stats.framesDecoded, 'master mode: every frame answered a request of ours');
      assert.equal(body.stats.collisions, 0);
      assert.equal(typeof body.stats.since, 'number');
      assert.deepEqual(Object.keys(body.stats.badFrames), []);
      const unknown = await helper.request().get('/jkbms/packs?bus=nope').expect(200);
      assert.deepEqual(unknown.body, {
        bus: 'nope', deployed: false, running: false, connected: false, role: 'stopped', masterPresent: false, packs: [], connection: '', simulated: false, stats: null,
      });
    });
  });
});
