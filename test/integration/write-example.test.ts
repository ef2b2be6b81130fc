/**
 * The shipped example "Safe writes" on the simulator (in-process, real clock): as shipped it
 * writes nothing (the bus has writes off); once "allow writes" is ticked its injects change
 * pack 1, write all packs one after another, and the protection threshold is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import { BusSimulator, type TransmitEvent } from '../../src/sim';
import { getBus } from '../../nodes/lib/bus-registry';
import busNode = require('../../nodes/jkbms-bus');
import requestNode = require('../../nodes/jkbms-request');
import writeNode = require('../../nodes/jkbms-write');
import { collect, exampleFlow, nodeTestHooks, RED, settingsWriteFrom, useSimulator, type FlowNode, type Msg } from '../helpers/flows';
import { until } from '../helpers/wait';

helper.init(require.resolve('node-red'));
const core = (p: string) => require(`@node-red/nodes/core/${p}`);
const coreNodes = [core('common/20-inject.js'), core('common/25-catch.js'), core('common/90-comment.js')];

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'Safe writes.json');
const isWrite = settingsWriteFrom('host');

describe('example "Safe writes" on the simulator', function () {
  this.timeout(60_000);
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[];
  const byName = (name: string) => example.find((n) => n.name === name)!.id;
  let sim: BusSimulator;
  let tx: TransmitEvent[];

  async function load(allowWrites: boolean) {
    sim = new BusSimulator({ packs: [1, 2], seed: 4 });
    tx = [];
    sim.on('transmit', (t: TransmitEvent) => tx.push(t));
    sim.start();
    useSimulator(sim);
    await helper.load([busNode, writeNode, requestNode, ...coreNodes], exampleFlow(example, { allowWrites, masterSilence: 1000 }));
    const out: Record<string, Msg[]> = Object.fromEntries(['confirmed', 'refused or failed', 'settings'].map((name) => [name, collect(byName(name))]));
    const bus = example.find((n) => n.type === 'jkbms-bus')!.id;
    await until(() => [1, 2].every((a) => getBus(RED, bus)?.engine.pack(a)?.settings), 30_000, 'packs 1 and 2 with settings');
    const click = (name: string) => (helper.getNode(byName(name)) as unknown as { receive(m: unknown): void }).receive({});
    return { out, click };
  }

  nodeTestHooks(() => sim);

  it('starts with the comment, and as shipped writes nothing: the bus has writes off', async () => {
    assert.equal(example[0]!.type, 'comment');
    const { out, click } = await load(false);
    click('charging off (pack 1)');
    const e = await until(() => out['refused or failed']![0], 5_000, 'the refusal');
    assert.equal(e.error.code, 'WRITES_DISABLED');
    assert.deepEqual(out.confirmed, []);
    assert.deepEqual(tx.filter(isWrite), []);
    assert.equal(sim.pack(1).settings().chargingEnabled, true);
  });

  it('with writes allowed: charging off and on, float voltage on all packs, protection refused', async () => {
    const { out, click } = await load(true);
    click('read settings (pack 1)');
    const s = await until(() => out.settings![0], 10_000, 'settings of pack 1');
    assert.equal(s.payload.chargingEnabled, true);

    click('charging off (pack 1)');
    await until(() => out.confirmed!.length === 1, 10_000, 'charging off');
    assert.equal(sim.pack(1).settings().chargingEnabled, false);
    click('charging on (pack 1)');
    await until(() => out.confirmed!.length === 2, 10_000, 'charging on');
    click('float voltage 3.375 V, all packs');
    await until(() => out.confirmed!.length === 4, 20_000, 'float voltage on both packs');
    click('float mode on (pack 1)');
    await until(() => out.confirmed!.length === 5, 10_000, 'float mode');
    click('cell OVP 3.65 V (refused: protection)');
    const e = await until(() => out['refused or failed']![0], 5_000, 'the protection refusal');
    assert.equal(e.error.code, 'PROTECTED');
    assert.deepEqual(
      out.confirmed!.map((m) => [m.payload.address, m.payload.setting, m.payload.ok, m.payload.after]),
      [
        [1, 'chargingEnabled', true, false],
        [1, 'chargingEnabled', true, true],
        [1, 'cellRequestFloatVoltage', true, 3.375],
        [2, 'cellRequestFloatVoltage', true, 3.375],
        [1, 'chargingFloatMode', true, true],
      ],
    );
    assert.equal(tx.filter(isWrite).length, 5, 'the refused protection write never reached the wire');
    assert.equal(sim.pack(1).settings().cellOvp, 3.61);
  });
});
