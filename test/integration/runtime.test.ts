import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { startNodeRed, until, type DebugCapture, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';

/**
 * The packed tarball in a real Node-RED 4: loads cleanly, lists its examples, and each of our
 * examples deployed against the simulator's TCP gateway produces decoded messages.
 */

const MODULE = '@jkpb/node-red-jkbms';
const OUR_EXAMPLES = ['01 Read one pack', '02 Several packs on one bus', '03 Device info on demand', '04 TCP gateway', '05 Demo (simulator)'];
/** Every example file shipped (the others are exercised by their own feature's tests). */
const ALL_EXAMPLES = readdirSync(join(__dirname, '..', '..', 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5));
const ALL_TYPES = ['jkbms-bus', 'jkbms', 'jkbms-request', 'jkbms-write', 'jkbms-ha', 'jkbms-bank', 'jkbms-health'];

type FlowNode = { id: string; type: string; z?: string; [k: string]: unknown };

/** Put the example on a tab and point its bus at the simulator. */
function prepare(example: FlowNode[], gw: TcpListener): FlowNode[] {
  const tab = { id: 'rt0000000000tab1', type: 'tab', label: 'test' };
  return [
    tab,
    ...example.map((n) =>
      n.type === 'jkbms-bus' ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000 } : n.type === 'tab' ? n : { ...n, z: tab.id },
    ),
  ];
}

describe('runtime: packed tarball in a real Node-RED', function () {
  this.timeout(600_000);
  let red: NodeRedInstance;
  let sim: BusSimulator;
  let gw: TcpListener;
  let debug: DebugCapture;

  before(async () => {
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3, 4], seed: 5 }));
    red = await startNodeRed();
    debug = await red.debug();
  });
  after(async () => {
    await red?.stop();
    await sim?.stop();
  });

  it('GET /nodes lists every type of the module, enabled, with no load error', async () => {
    const sets = await red.api.get<{ module: string; types: string[]; enabled: boolean; err?: string; name: string }[]>('/nodes');
    const ours = sets.filter((s) => s.module === MODULE);
    const types = ours.flatMap((s) => s.types);
    for (const t of ALL_TYPES) assert.ok(types.includes(t), `${t} registered`);
    for (const s of ours) {
      assert.equal(s.enabled, true, `${s.name} enabled`);
      assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
    }
  });

  it('lists every example and serves the admin endpoints', async () => {
    const list = await red.api.get<{ f?: string[]; d?: Record<string, unknown> } | { fn: string }[]>(`/library/examples/flows/${MODULE}/`);
    const names = (Array.isArray(list) ? list : ((list as { f?: string[] }).f ?? []).map((fn) => ({ fn }))).map((e) => e.fn);
    assert.ok(ALL_EXAMPLES.length >= 10);
    for (const e of ALL_EXAMPLES) assert.ok(names.includes(e), `example "${e}" listed (got ${names.join(', ')})`);
    const ports = await red.api.get<unknown[]>('/jkbms/ports');
    assert.ok(Array.isArray(ports));
    const packs = await red.api.get<{ deployed: boolean }>('/jkbms/packs?bus=none');
    assert.equal(packs.deployed, false);
  });

  it('serves the editor\'s shared script from the package\'s resources/ folder', async () => {
    const script = await red.api.get<string>(`/resources/${MODULE}/editor.js`);
    assert.equal(typeof script, 'string');
    assert.match(script, /window\.JKBMS = \{/);
  });

  for (const name of OUR_EXAMPLES) {
    it(`example "${name}" deployed against the simulator produces decoded messages`, async () => {
      const example = await red.api.get<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
      assert.ok(Array.isArray(example));
      const flow = prepare(example, gw);
      const busId = flow.find((n) => n.type === 'jkbms-bus')!.id;
      const from = debug.messages.length;
      await red.api.deploy(flow);
      const mine = (pred: (m: Record<string, any>) => boolean) => (m: { msg: unknown; topic?: string }) =>
        debug.messages.indexOf(m as never) >= from && pred({ topic: m.topic, ...(m.msg as object) });
      if (example.some((n) => n.type === 'jkbms-request')) {
        await until(
          async () => (await red.api.get<{ packs: { online: boolean }[] }>(`/jkbms/packs?bus=${busId}`)).packs.filter((p) => p.online).length >= 2,
          30_000,
          'packs online',
        );
        const inject = flow.find((n) => n.type === 'inject')!;
        await red.api.inject(inject.id);
        const info = await debug.waitFor(mine((m) => /\/\d+\/info$/.test(m.topic ?? '')), 30_000);
        const msg = info.msg as Record<string, any>;
        assert.equal(msg.payload.type, 'info');
        assert.equal(msg.payload.serialNumber, sim.pack(msg.bms.address).serialNumber);
        assert.equal(msg.frame.source, 'poll');
      }
      if (example.some((n) => n.type === 'jkbms')) {
        const live = await debug.waitFor(mine((m) => /\/\d+\/live$/.test(m.topic ?? '')), 30_000);
        const text = JSON.stringify(live.msg);
        assert.match(text, /"voltage":\d/);
        assert.match(live.topic!, new RegExp(`^(${example.find((n) => n.type === 'jkbms-bus')!.name})/[1-4]/live$`));
      }
    });
  }

  it('example "Alarm notifications": a pack raising an alarm produces one notification naming the pack and the alarm', async () => {
    const example = await red.api.get<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent('Alarm notifications')}`);
    const flow = prepare(example, gw);
    const from = debug.messages.length;
    await red.api.deploy(flow);
    const notify = flow.find((n) => n.type === 'debug' && n.name === 'notify')!;
    const fromNotify = (m: { id?: string; msg: unknown }) => debug.messages.indexOf(m as never) >= from && m.id === notify.id;
    sim.pack(2).setAlarm('cellOvp');
    try {
      const m = await debug.waitFor(fromNotify, 30_000);
      assert.match(String(m.msg), /^JK-PB 2 \(.+\): cellOvp$/);
    } finally {
      sim.pack(2).clearAlarms();
    }
  });

  it('the runtime log shows no error from our nodes', () => {
    const bad = red.output.split('\n').filter((l) => /\[error\].*jkbms/.test(l));
    assert.deepEqual(bad, []);
  });
});
