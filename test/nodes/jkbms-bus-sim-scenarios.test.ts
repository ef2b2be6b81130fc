import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { packsReply } from '../../nodes/lib/admin';
import { busFactories, getBus, type BusController } from '../../nodes/lib/bus-registry';
import { SimulatedBus } from '../../src/sim/connection';
import { TOUR_BALANCE_START_V } from '../../src/sim/tour';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import { busConfig, catchNode, collect, nodeTestHooks, ownStatuses, RED, type FlowNode, type Msg } from '../helpers/flows';
import { sleep, until } from '../helpers/wait';

/**
 * The simulator connection's scenario, day length and planted faults in test-helper's Node-RED,
 * with the real simulator on the real clock: what a user sets in the bus dialog reaches the
 * packs' live data, and a bad setting is a clear status and error without a simulator.
 */

helper.init(require.resolve('node-red'));
const statusNode = require('@node-red/nodes/core/common/25-status.js');

const simBus = (over: Partial<FlowNode> = {}): FlowNode =>
  busConfig({ id: 'bus1', name: 'sim bank', transport: 'simulator', path: '', mode: 'master', simPacks: '1-3', simMaster: false, simSeed: 7, simFaults: '', ...over });
const pack = (id: string, busId: string, address: number): FlowNode => ({
  id, type: 'jkbms', z: 't1', bus: busId, address, serial: '', emitLive: true, emitSettings: false, emitInfo: false, emitAvailability: false, rate: 'all', interval: 10, wires: [['out']],
});

async function load(nodes: FlowNode[]): Promise<{ got: Msg[]; errors: Msg[] }> {
  await helper.load([busNode, packNode, catchNode, statusNode], [
    { id: 't1', type: 'tab' },
    { id: 'out', type: 'helper', z: 't1' },
    { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
    ...nodes,
  ]);
  return { got: collect('out'), errors: collect('caught') };
}

const controller = (id: string): BusController => getBus(RED, id) as BusController;
const simOf = (id: string) => (controller(id).currentTransport as SimulatedBus).simulator;
/** The live data of `address` in `got` from index `from` on. */
const liveOf = (got: Msg[], address: number, from: number) => got.slice(from).filter((m) => m.bms?.address === address && m.payload.type === 'live').map((m) => m.payload);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('jkbms-bus simulator: scenario, day length, planted faults (test-helper)', function () {
  this.timeout(30_000);
  nodeTestHooks(() => null);

  it('household day with planted faults: one bus voltage, the planted cell off its neighbours by I × 3 mΩ, the aged pack\'s SOH; the day runs at the set speed', async () => {
    const { got } = await load([
      simBus({ simScenario: 'day', simDayMinutes: '2.4', simPlant: 'cell 2.7: +3 mΩ; pack 3: -10 % capacity' }),
      pack('p1', 'bus1', 1),
      pack('p2', 'bus1', 2),
      pack('p3', 'bus1', 3),
    ]);
    const sim = simOf('bus1');
    assert.ok(sim.bank, 'the packs form a bank');
    // The inverter discharges the bank at 60 A: each pack carries its share, cell 2.7 drops 3 mΩ × its current more.
    sim.bank.setCurrent(-60);
    await sleep(1500);
    const from = got.length;
    await until(() => [1, 2, 3].every((a) => liveOf(got, a, from).length >= 1), 15_000, 'live data of every pack under load');
    const [l1, l2, l3] = [1, 2, 3].map((a) => liveOf(got, a, from).at(-1)!);
    // One bus voltage: the packs differ only by their link resistance × current (2 mΩ × ~20 A).
    const volts = [l1!.voltage, l2!.voltage, l3!.voltage];
    assert.ok(Math.max(...volts) - Math.min(...volts) < 0.1, `pack voltages ${volts}`);
    const amps = [l1!.current, l2!.current, l3!.current];
    assert.ok(Math.abs(amps.reduce((s, a) => s + a, 0) + 60) < 3, `pack currents ${amps} add up to the bank's -60 A`);
    // Pack 2, cell 7: below the median of its other cells by about |I| × 3 mΩ (≈ 60 mV at 20 A); the others stay together.
    const cells2 = l2!.cells as number[];
    const others = cells2.filter((_, i) => i !== 6);
    const drop = median(others) - cells2[6]!;
    const expected = Math.abs(l2!.current) * 0.003;
    assert.ok(drop > 0.6 * expected && drop < 1.4 * expected + 0.01, `cell 2.7 ${cells2[6]} V vs median ${median(others)} V: ${drop * 1000} mV, expected about ${expected * 1000} mV`);
    assert.ok(Math.max(...others) - Math.min(...others) < drop / 2, `the other cells of pack 2 stay together: ${others}`);
    for (const l of [l1!, l3!]) assert.ok(l.cellMax - l.cellMin < drop / 2, `no planted cell in pack ${l === l1 ? 1 : 3}: spread ${(l.cellMax - l.cellMin) * 1000} mV`);
    // Pack 3 aged by 10 %: its SOH (95–100 % drawn) × 0.9.
    assert.ok(l3!.soh <= 90 && l1!.soh >= 95 && l2!.soh >= 95, `SOH ${[l1!.soh, l2!.soh, l3!.soh]}`);
    // The admin reply (the dialog's pack list): scenario, day length, the simulated hour, the planted faults.
    const r1 = packsReply('bus1').sim!;
    assert.equal(r1.scenario, 'day');
    assert.equal(r1.dayMinutes, 2.4);
    assert.equal(r1.plant, 'cell 2.7: +3 mΩ; pack 3: -10 % capacity');
    // A day in 2.4 minutes: 10 simulated minutes per second.
    await sleep(2000);
    const r2 = packsReply('bus1').sim!;
    const advanced = ((r2.hour! - r1.hour! + 24) % 24) * 60;
    assert.ok(advanced >= 10 && advanced <= 30, `the simulated clock advanced ${advanced} min in 2 s (steps of 10 min)`);
    assert.match(controller('bus1').currentTransport.description, /household day \(a day lasts 2\.4 min\), planted cell 2\.7: \+3 mΩ; pack 3: -10 % capacity/);
  });

  it('a flow saved without the new properties runs the simulator as before: packs on their own, no planted faults', async () => {
    const old = simBus();
    for (const k of ['simScenario', 'simDayMinutes', 'simPlant']) assert.equal(k in old, false);
    const { got } = await load([old, pack('p1', 'bus1', 1), pack('p2', 'bus1', 2)]);
    const sim = simOf('bus1');
    assert.equal(sim.bank, null);
    assert.deepEqual(sim.cellFaults, []);
    assert.equal(controller('bus1').currentTransport.description, 'simulated bus (packs 1-3, seed 7)');
    await until(() => liveOf(got, 1, 0).length && liveOf(got, 2, 0).length, 15_000, 'live data');
    const settings = await controller('bus1').engine.request(1, 'settings');
    assert.equal(settings.type === 'settings' && settings.balanceStartVoltage, 3.45, 'not the tour');
    const r = packsReply('bus1').sim!;
    assert.deepEqual([r.scenario, r.dayMinutes, r.hour, r.plant], ['steady', null, null, '']);
  });

  it('tour: the packs follow the tour (its balance start voltage in their settings), the pack list and the description say so', async () => {
    const { got } = await load([simBus({ simScenario: 'tour', simPacks: '1' }), pack('p1', 'bus1', 1)]);
    await until(() => liveOf(got, 1, 0).length, 15_000, 'live data');
    const settings = await controller('bus1').engine.request(1, 'settings');
    assert.equal(settings.type === 'settings' && settings.balanceStartVoltage, TOUR_BALANCE_START_V);
    assert.equal(packsReply('bus1').sim!.scenario, 'tour');
    assert.match(controller('bus1').currentTransport.description, /tour of every state/);
  });

  describe('bad settings: a clear status and error, no simulator, Node-RED and other buses keep running', () => {
    const bad: [string, Partial<FlowNode>, RegExp][] = [
      ['planted faults it cannot read', { simPlant: 'cell 2.7 +3 ohm' }, /^jkbms-bus "sim bank": simulator planted faults: planted fault "cell 2\.7 \+3 ohm" not understood; write e\.g\. "cell 2\.7: \+3 mΩ"/],
      ['a planted fault on a pack that is not simulated', { simPlant: 'cell 9.1: -8 % capacity' }, /simulator planted faults: "cell 9\.1: -8 % capacity": no pack 9 is simulated \(pack addresses 1-3\)$/],
      ['a day too short', { simScenario: 'day', simDayMinutes: '1' }, /simulator day length: expected minutes from 2\.4 to 1440 \(1440 = real time\), got "1"$/],
      ['an unknown scenario', { simScenario: 'week' }, /simulator scenario: expected steady, day, tour, got "week"$/],
    ];
    for (const [what, over, message] of bad) {
      it(what, async () => {
        const made: string[] = [];
        const create = busFactories.createTransport;
        busFactories.createTransport = (spec, log) => {
          made.push(spec.kind);
          return create(spec, log);
        };
        const { got, errors } = await load([simBus(over), simBus({ id: 'bus2', name: 'good', simPacks: '4' }), pack('p1', 'bus1', 1), pack('p4', 'bus2', 4)]);
        const node = helper.getNode('bus1') as any;
        assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'dot', text: 'jkbms-bus.status.invalid' });
        // The bus reports its exact reason itself, once the flows have started (so Catch nodes see it).
        const logged = () => node.error.getCalls().map((c: any) => String(c.args[0].message ?? c.args[0]));
        await until(() => logged().some((m: string) => message.test(m)), 5000, 'the exact reason');
        assert.equal(getBus(RED, 'bus1'), null, 'no bus');
        assert.deepEqual(made, ['sim'], 'only the good bus built a simulator');
        await until(() => errors.find((m) => m.error.source.id === 'bus1' && message.test(m.error.message.replace(/^Error: /, ''))), 5000, 'the reason at Catch');
        await until(() => (helper.getNode('p1') as any).status.getCalls().some((c: any) => c.args[0].fill === 'red'), 5000, 'the pack node says its bus is unusable');
        await until(() => liveOf(got, 4, 0).length, 15_000, 'the other bus runs');
      });
    }
  });
});
