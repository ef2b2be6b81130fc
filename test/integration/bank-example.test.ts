import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import type { BankPayload } from '../../src/bank/types';
import type { BusSimulator, TcpListener } from '../../src/sim';
import bankNode = require('../../nodes/jkbms-bank');
import busNode = require('../../nodes/jkbms-bus');
import { collect, exampleFlow, type FlowNode } from '../helpers/flows';
import { simGateway } from '../helpers/sim';
import { until } from '../helpers/wait';

/**
 * The shipped example "Whole bank summary" on the simulator's TCP gateway, through the real
 * TcpTransport (the bus node as a user configures it): the bank summary arrives, and two
 * packs raising alarms at once give exactly one notification naming both.
 */

helper.init(require.resolve('node-red'));
const core = (p: string) => require(`@node-red/nodes/core/${p}`);
const coreNodes = [core('function/15-change.js'), core('function/10-switch.js'), core('function/rbe.js'), core('common/90-comment.js')];

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'Whole bank summary.json');

describe('example "Whole bank summary" on the simulator TCP gateway', function () {
  this.timeout(90_000);
  let sim: BusSimulator;
  let gw: TcpListener;

  before(async () => {
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3], seed: 3 }, (s) => [1, 2, 3].forEach((a) => s.pack(a).setCurrent(-10))));
    await helper.startServer();
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
    assert.deepEqual(sim.errors, []);
  });

  it('sends the bank summary, and one notification naming both packs when two raise alarms at once', async () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[];
    assert.equal(example[0]!.type, 'comment', 'the example starts with a comment node');
    await helper.load([busNode, bankNode, ...coreNodes], exampleFlow(example, { transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000 }));
    const byName = (name: string) => example.find((n) => n.name === name)!.id;
    const summaries = collect(byName('bank summary'));
    const notes = collect(byName('notify'));

    // The simulated packs follow their fixed -10 A from their second 1-s step on.
    const settled = Date.now() + 1500;
    const first = await until(() => summaries.find((m) => m.payload.packsOnline === 3 && m.payload.ts >= settled), 40_000, 'a summary of three packs');
    const p = first.payload as BankPayload;
    assert.equal(first.topic, 'bus1/bank');
    assert.deepEqual(p.stale, []);
    assert.equal(p.current, -30);
    assert.equal(p.alarm, false);

    sim.pack(1).setAlarm('cellOvp');
    sim.pack(3).setAlarm('mosOtp');
    const note = await until(() => notes[0], 30_000, 'a notification');
    assert.equal(note.topic, 'JK-PB bank alarm');
    assert.equal(note.payload, 'Battery bank bus1: pack 1 cellOvp, pack 3 mosOtp');
    const n = summaries.length;
    await until(() => summaries.length >= n + 2, 20_000, 'two more summaries');
    assert.equal(notes.length, 1, 'a standing alarm is notified once');
  });
});
