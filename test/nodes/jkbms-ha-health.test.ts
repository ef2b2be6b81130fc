/**
 * jkbms-ha with a jkbms-health node wired in (test-helper, the in-process simulator): the
 * health entities join the pack and bank devices only once the health node has reported, under
 * the pack's serial-based id; a redeploy announces them again from the node context at once,
 * nothing deleted; a malformed health message reaches a Catch node and loses nothing.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { BusSimulator } from '../../src/sim';
import bankNode = require('../../nodes/jkbms-bank');
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import haNode = require('../../nodes/jkbms-ha');
import healthNode = require('../../nodes/jkbms-health');
import { busConfig, catchNode, collect, nodeTestHooks, useSimulator, withCatch, type FlowNode, type Msg } from '../helpers/flows';
import { until } from '../helpers/wait';
import { BUS_ID, bankHealthMsg, bankHealthPayload, bms, healthMsg, healthPayload, live, msg, SERIAL } from '../unit/ha-fixtures';

helper.init(require.resolve('node-red'));

/** Currents that swing ±60 A within seconds (the health analysis sees the resistance in minutes). */
const SWING = { profile: { offsetA: 0, amplitudeA: 60, periodS: 7, noiseA: 5 } };
const PACKS = [1, 2];

let seq = 0;

/** Packs 1 and 2, the bank and the health node (only on input) into jkbms-ha; its output to helper "out". */
function flow(ha: string): FlowNode[] {
  return withCatch([
    busConfig({ id: 'busA', name: 'bus1', mode: 'master', settingsInterval: 3600 }),
    ...PACKS.map((a) => ({ id: `p${a}`, type: 'jkbms', z: 't1', bus: 'busA', address: a, serial: '', emitLive: true, emitSettings: true, emitInfo: true, emitAvailability: true, rate: 'all', interval: 0, wires: [[ha]] })),
    { id: 'bank', type: 'jkbms-bank', z: 't1', bus: 'busA', expected: 2, includeMaster: false, rate: 1, staleAfter: 0, bankId: 'bus1', wires: [[ha]] },
    { id: 'h1', type: 'jkbms-health', z: 't1', name: '', bus: 'busA', interval: 0, includeMaster: false, wires: [[ha], [ha]] },
    { id: ha, type: 'jkbms-ha', z: 't1', name: '', rateLimit: 0, wires: [['out']] },
  ]);
}

const MODULES = [busNode, packNode, bankNode, healthNode, haNode, catchNode] as Parameters<typeof helper.load>[0];
const configsOf = (got: Msg[]) => got.filter((m) => m.topic.startsWith('homeassistant/') && m.payload !== '');
const deletionsOf = (got: Msg[]) => got.filter((m) => m.topic.startsWith('homeassistant/') && m.payload === '');
const deviceOf = (m: Msg): string => JSON.parse(m.payload).device.identifiers[0];

describe('jkbms-ha with a jkbms-health node (test-helper + in-process simulator)', function () {
  this.timeout(60_000);
  let sim: BusSimulator | null = null;
  nodeTestHooks(() => sim);
  afterEach(() => {
    sim = null;
  });

  it('health entities appear only after the health node reports, under each pack\'s serial-based device and on the bank; a redeploy announces them again at once, nothing deleted', async () => {
    const HA = `hh${++seq}`;
    sim = new BusSimulator({ packs: PACKS, seed: 21, packDefaults: SWING, cellFaults: 'cell 2.3: +5 mΩ' });
    sim.start();
    useSimulator(sim);
    await helper.load(MODULES, flow(HA));
    let got = collect('out');
    const caught = collect('caught');
    const serials = PACKS.map((a) => sim!.pack(a).serialNumber);
    const devices = serials.map((s) => `jkbms_${s}`);
    const has = (from: Msg[], topic: string) => configsOf(from).some((m) => m.topic === topic);

    // The packs and the bank are announced; no health entity before the health node has spoken.
    await until(() => devices.every((d) => has(got, `homeassistant/sensor/${d}_voltage/config`)) && has(got, 'homeassistant/sensor/jkbms_bank_bus1_soc/config'), 30_000, 'packs and bank announced');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(configsOf(got).filter((m) => /_(cell_health|health|resistance_deviation|soc_offset)\/config$/.test(m.topic)), []);

    // Its report (on input): Cell health on each pack's device, Health on the bank's.
    helper.getNode('h1').receive({});
    await until(() => devices.every((d) => has(got, `homeassistant/binary_sensor/${d}_cell_health/config`)) && has(got, 'homeassistant/binary_sensor/jkbms_bank_bus1_health/config'), 10_000, 'the health entities');
    for (const [i, d] of devices.entries()) {
      const health = configsOf(got).filter((m) => m.topic.includes(`/${d}_`) && /_(cell_health|resistance_deviation|end_of_charge_delta(_trend)?)\/config$/.test(m.topic));
      assert.equal(health.length, 1 + 16 + 2, d);
      assert.ok(health.every((m) => deviceOf(m) === d), 'the pack\'s own device');
      const cfg = JSON.parse(health.find((m) => m.topic.endsWith('_cell_health/config'))!.payload);
      assert.deepEqual([cfg.device_class, cfg.state_topic, cfg.enabled_by_default], ['problem', `jkbms/bus1/${serials[i]}/state`, undefined]);
      assert.ok(health.filter((m) => !m.topic.endsWith('_cell_health/config')).every((m) => JSON.parse(m.payload).enabled_by_default === false));
    }
    await until(() => got.some((m) => m.topic === `jkbms/bus1/${serials[1]}/state` && 'cell_health' in JSON.parse(m.payload)), 5000, 'a state with the health');
    const state = JSON.parse(got.filter((m) => m.topic === `jkbms/bus1/${serials[1]}/state`).at(-1)!.payload);
    assert.equal(typeof state.cell_health, 'boolean');
    assert.equal(state.resistance_deviations.length, 16);
    assert.deepEqual(Object.keys(state.attributes.cell_health), ['findings', 'details']);
    assert.equal(state.attributes.resistance_deviations.length, 16);
    const stored = (helper.getNode(HA) as any).context().get('health');
    assert.deepEqual(Object.keys(stored).sort(), [...devices, 'jkbms_bank_bus1'].sort());

    // A full redeploy: the health entities come back with the first announcement (the health node sends nothing on its own).
    await helper.setFlows(flow(HA), 'full');
    got = collect('out');
    await until(() => devices.every((d) => has(got, `homeassistant/binary_sensor/${d}_cell_health/config`)) && has(got, 'homeassistant/binary_sensor/jkbms_bank_bus1_health/config'), 30_000, 'announced again with their health');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(deletionsOf(got).map((m) => m.topic), []);
    assert.deepEqual(caught, []);
  });

  it('a malformed health message reaches a Catch node and publishes nothing; the next good one is taken', async () => {
    const HA = `hh${++seq}`;
    await helper.load([busNode, haNode, catchNode] as Parameters<typeof helper.load>[0], withCatch([busConfig({ id: BUS_ID, name: 'bus1' }), { id: HA, type: 'jkbms-ha', z: 't1', name: '', rateLimit: 0, wires: [['out']] }]));
    const n = helper.getNode(HA);
    const got = collect('out');
    const caught = collect('caught');
    await until(() => got.length === 1, 5000, 'the start message');
    const bad = healthPayload() as unknown as Record<string, any>;
    bad.cells[2].confidence = 7;
    n.receive({ ...healthMsg(), payload: bad });
    const badBank = bankHealthPayload() as unknown as Record<string, any>;
    badBank.findings[0].kind = 'gremlins';
    n.receive(bankHealthMsg(badBank as never));
    n.receive({ topic: 'attic/health', payload: bankHealthPayload() });
    await until(() => caught.length === 3, 5000, 'three errors');
    assert.deepEqual(
      caught.map((m) => m.error.message),
      ['Error: jkbms-ha.errors.bad-field', 'Error: jkbms-ha.errors.bad-field', 'Error: jkbms-ha.errors.unknown-bus'],
    );
    assert.equal(got.length, 1, 'nothing published');
    n.receive(healthMsg());
    n.receive(msg(live(), bms(2, true)));
    await until(() => got.some((m) => m.topic === `homeassistant/binary_sensor/jkbms_${SERIAL}_cell_health/config`), 5000, 'the good one');
    assert.equal(caught.length, 3);
  });
});
