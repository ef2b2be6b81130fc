/**
 * jkbms-write over a real TCP link: a jkbms-bus node with transport "tcp" connects to the
 * simulator's transparent TCP gateway on 127.0.0.1 (real clock, real sockets), as with an
 * RS485-to-Ethernet gateway. The gateway splits and merges packets (faults "fragment" and
 * "coalesce"), as real gateways do.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { BusSimulator, type TcpListener, type TransmitEvent } from '../../src/sim';
import { getBus } from '../../src/nodes/lib/bus';
import busNode = require('../../src/nodes/jkbms-bus');
import writeNode = require('../../src/nodes/jkbms-write');

helper.init(require.resolve('node-red'));
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

type Msg = Record<string, any>;
type FlowNode = { id: string; type: string; [k: string]: unknown };
const RED = { nodes: { getNode: (id: string) => helper.getNode(id) } } as any;

const isWrite = (t: TransmitEvent): boolean =>
  t.sender.startsWith('tcp') && t.bytes[1] === 0x10 && t.bytes.length >= 11 && t.bytes.readUInt16BE(2) < 0x161c;

async function until<T>(fn: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('jkbms-write over a TCP gateway (real sockets, real clock)', function () {
  this.timeout(60_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let tx: TransmitEvent[];

  beforeEach(async () => {
    sim = new BusSimulator({ packs: [1, 2], seed: 9, faults: { fragment: 0.3, coalesce: 0.2 } });
    tx = [];
    sim.on('transmit', (t: TransmitEvent) => tx.push(t));
    sim.start();
    gw = await sim.listenTcp(0, '127.0.0.1');
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  it('writes through the gateway, one pack after the other, each confirmed by read-back', async () => {
    const flow: FlowNode[] = [
      { id: 't1', type: 'tab' },
      { id: 'gw1', type: 'jkbms-bus', name: 'garage', transport: 'tcp', host: '127.0.0.1', port: gw.port, mode: 'master', minGap: 100,
        responseTimeout: 300, masterSilence: 2000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites: true },
      { id: 'w1', type: 'jkbms-write', z: 't1', name: '', bus: 'gw1', address: 'all', allowProtection: false, timeout: 20_000, wires: [['out']] },
      { id: 'out', type: 'helper', z: 't1' },
      { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 't1' },
    ];
    await helper.load([busNode, writeNode, catchNode], flow);
    const got: Msg[] = [];
    const errors: Msg[] = [];
    helper.getNode('out').on('input', (m: Msg) => got.push(m));
    helper.getNode('caught').on('input', (m: Msg) => errors.push(m));
    const engine = () => getBus(RED, 'gw1')!.engine;
    await until(() => [1, 2].every((a) => engine().pack(a)?.settings), 20_000, 'both packs with settings');
    const node = helper.getNode('w1') as any;

    node.receive({ payload: { cellRequestFloatVoltage: 3.36 } });
    await until(() => got.length === 2 || errors.length, 20_000, 'two results');
    node.receive({ payload: { address: 2, floatMode: false } });
    await until(() => got.length === 3 || errors.length, 20_000, 'third result');
    assert.deepEqual(errors.map((e) => e.error.message), []);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload.ok, m.payload.setting, m.payload.before, m.payload.after]),
      [
        ['garage/1/write', true, 'cellRequestFloatVoltage', 3.35, 3.36],
        ['garage/2/write', true, 'cellRequestFloatVoltage', 3.35, 3.36],
        ['garage/2/write', true, 'chargingFloatMode', true, false],
      ],
    );
    assert.deepEqual([sim.pack(1).settings().cellRequestFloatVoltage, sim.pack(2).settings().cellRequestFloatVoltage], [3.36, 3.36]);
    assert.equal(sim.pack(2).settings().switchMask, 0x0010, 'only bit 9 cleared');
    assert.equal(tx.filter(isWrite).length, 3);
    assert.ok(sim.stats().faults.fragment > 0, 'the gateway fragmented packets');
    assert.equal(sim.stats().collisions, 0);
  });
});
