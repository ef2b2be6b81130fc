import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import type { PacksReply } from '../../nodes/lib/admin';
import { startNodeRed, until, type DebugCapture, type NodeRedInstance } from '../helpers/nodered';

/**
 * What a user gets from the palette: the packed tarball only, in a fresh Node-RED; example
 * "05 Demo (simulator)" imported through the admin API and deployed as it is — no simulator
 * process of ours, no TCP port: the bus node's simulator connection. Live data from every
 * simulated pack; with the JK master option every slave's device info, with 0 collisions on the
 * simulated wire.
 */

const MODULE = '@jkpb/node-red-jkbms';
type FlowNode = { id: string; type: string; z?: string; [k: string]: unknown };

describe('simulator connection: example 05 from the packed tarball in a fresh Node-RED', function () {
  this.timeout(300_000);
  let red: NodeRedInstance;
  let debug: DebugCapture;
  let example: FlowNode[];
  let busId: string;

  before(async () => {
    red = await startNodeRed();
    debug = await red.debug();
    example = await red.api.get<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent('05 Demo (simulator)')}`);
    busId = example.find((n) => n.type === 'jkbms-bus')!.id;
  });
  after(async () => {
    await red?.stop();
  });

  /** The example on a tab, its bus changed by `bus`; deployed; resolves with the index of the first debug message after it. */
  async function deploy(bus: Record<string, unknown> = {}): Promise<number> {
    const tab = { id: 'simtab000000001', type: 'tab', label: 'demo' };
    const flow = [tab, ...example.map((n) => (n.type === 'jkbms-bus' ? { ...n, ...bus } : { ...n, z: tab.id }))];
    const from = debug.messages.length;
    await red.api.deploy(flow);
    return from;
  }

  it('deployed as shipped: live data from every simulated pack within seconds, and everything says "simulated"', async () => {
    const bus = example.find((n) => n.type === 'jkbms-bus')!;
    assert.equal(bus.transport, 'simulator', 'the example uses the simulator connection');
    const t0 = Date.now();
    const from = await deploy();
    const seen = new Map<number, number>();
    for (const a of [1, 2, 3, 4]) {
      const m = await debug.waitFor((d) => debug.messages.indexOf(d) >= from && d.topic === `demo bus/${a}/live`, 30_000);
      seen.set(a, Date.now() - t0);
      assert.match(JSON.stringify(m.msg), /"voltage":\d/);
    }
    console.log(`      live data after deploy: ${[...seen].map(([a, ms]) => `pack ${a} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    const packs = await red.api.get<PacksReply>(`/jkbms/packs?bus=${busId}`);
    assert.equal(packs.simulated, true);
    assert.equal(packs.connection, 'sim');
    assert.equal(packs.role, 'master');
    assert.equal(packs.sim!.packs, '1-4');
    assert.deepEqual(packs.packs.filter((p) => p.online).map((p) => p.address), [1, 2, 3, 4]);
  });

  it('with the JK master option: the bus sniffs, every slave\'s device info arrives, 0 simulator collisions', async () => {
    const from = await deploy({ simMaster: true });
    for (const a of [1, 2, 3, 4]) {
      const m = await debug.waitFor((d) => debug.messages.indexOf(d) >= from && d.topic === `demo bus/${a}/info`, 60_000);
      assert.match(String((m.msg as { payload: { serialNumber: string } }).payload.serialNumber), /^\d{11}$/);
    }
    const packs = await until(async () => {
      const r = await red.api.get<PacksReply>(`/jkbms/packs?bus=${busId}`);
      return r.sim?.master && r.role === 'sniffing' ? r : null;
    }, 10_000, 'sniffing a simulated master');
    assert.equal(packs.masterPresent, true);
    assert.equal(packs.sim!.collisions, 0);
    assert.ok(packs.sim!.requestsReceived >= 4, `${packs.sim!.requestsReceived} requests reached the packs`);
    console.log(`      JK master + 4 slaves: device info of every slave, ${packs.sim!.requestsReceived} requests, ${packs.sim!.collisions} collisions`);
  });

  it('a redeploy stops the old simulator, and the runtime log shows no error from our nodes', async () => {
    await red.api.deploy([]);
    await until(() => /\[jkbms-bus:demo bus\] role sniffing → stopped/.test(red.output), 15_000, 'the old bus stopped');
    const bad = red.output.split('\n').filter((l) => /\[(error|warn)\].*jkbms/.test(l));
    assert.deepEqual(bad, []);
  });

  it('household day with a planted fault, as the dialog saves it; the dialog gets the runtime\'s parsers from jkbms/sim-spec.js', async () => {
    const from = await deploy({ simScenario: 'day', simDayMinutes: 2.4, simPlant: 'cell 2.7: +3 mΩ' });
    await debug.waitFor((d) => debug.messages.indexOf(d) >= from && d.topic === 'demo bus/2/live', 30_000);
    const packs = await red.api.get<PacksReply>(`/jkbms/packs?bus=${busId}`);
    assert.deepEqual([packs.sim!.scenario, packs.sim!.dayMinutes, packs.sim!.plant], ['day', 2.4, 'cell 2.7: +3 mΩ']);
    assert.equal(typeof packs.sim!.hour, 'number');
    // The script the bus dialog loads, from the installed package's compiled modules.
    const script = await red.api.get<string>('/jkbms/sim-spec.js');
    const window: { JKBMS_SIM?: Record<string, (...a: unknown[]) => unknown> | null } = {};
    runInNewContext(script, { window });
    assert.ok(window.JKBMS_SIM, script.slice(0, 200));
    assert.equal(window.JKBMS_SIM.formatPlantedFaults!(window.JKBMS_SIM.parsePlantedFaults!('2.7 +3 mohm')), 'cell 2.7: +3 mΩ');
    assert.throws(() => window.JKBMS_SIM!.parsePlantedFaultsFor!('cell 5.1: +3 mΩ', [1, 2, 3, 4], false), /no pack 5 is simulated \(pack addresses 1-4\)/);
    await red.api.deploy([]);
  });
});
