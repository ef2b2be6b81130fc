/**
 * jkbms-write over a real TCP link: a jkbms-bus node with transport "tcp" connects to the
 * simulator's transparent TCP gateway on 127.0.0.1 (real clock, real sockets), as with an
 * RS485-to-Ethernet gateway. The gateway splits and merges packets (faults "fragment" and
 * "coalesce"), as real gateways do.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { BusSimulator, TcpListener, TransmitEvent } from '../../src/sim';
import { getBus } from '../../nodes/lib/bus-registry';
import busNode = require('../../nodes/jkbms-bus');
import writeNode = require('../../nodes/jkbms-write');
import { busConfig, loadWithCatch, RED, settingsWriteFrom } from '../helpers/flows';
import { simGateway } from '../helpers/sim';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));

const isWrite = settingsWriteFrom('tcp');

describe('jkbms-write over a TCP gateway (real sockets, real clock)', function () {
  this.timeout(60_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let tx: TransmitEvent[];

  beforeEach(async () => {
    tx = [];
    ({ sim, gw } = await simGateway({ packs: [1, 2], seed: 9, faults: { fragment: 0.3, coalesce: 0.2 } }, (s) => s.on('transmit', (t: TransmitEvent) => tx.push(t))));
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  it('writes through the gateway, one pack after the other, each confirmed by read-back', async () => {
    const { got, errors } = await loadWithCatch([busNode, writeNode], [
      busConfig({ id: 'gw1', name: 'garage', transport: 'tcp', host: '127.0.0.1', port: gw.port, mode: 'master', masterSilence: 2000, allowWrites: true }),
      { id: 'w1', type: 'jkbms-write', z: 't1', name: '', bus: 'gw1', address: 'all', allowProtection: false, timeout: 20_000, wires: [['out']] },
    ]);
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
