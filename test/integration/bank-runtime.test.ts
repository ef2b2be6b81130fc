import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { startNodeRed, until, type DebugCapture, type DebugMessage, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';

/**
 * The jkbms-bank node in a real Node-RED 4 (the packed tarball, default settings: no context
 * store configured): the example "Whole bank summary" against the simulator's TCP gateway,
 * the status texts as the runtime translates them, and the energy counters across a full
 * redeploy (Node-RED deletes a restarted node's context when no context store is configured).
 */

type FlowNode = { id: string; type: string; z?: string } & Record<string, unknown>;
type StatusEvent = { id: string; text?: string; fill?: string; shape?: string };

const MODULE = '@jkpb/node-red-jkbms';
const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'Whole bank summary.json'), 'utf8')) as FlowNode[];
const BANK_ID = EXAMPLE.find((n) => n.type === 'jkbms-bank')!.id;
const SUMMARY_ID = EXAMPLE.find((n) => n.name === 'bank summary')!.id;

/** Status updates of every node over the editor's comms websocket. */
async function captureStatus(port: number): Promise<{ events: StatusEvent[]; close(): void }> {
  const WebSocket = require('ws') as new (url: string) => {
    on(ev: string, fn: (data: Buffer) => void): void;
    send(data: string): void;
    close(): void;
  };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  await new Promise<void>((res, rej) => {
    ws.on('open', () => res());
    ws.on('error', (e) => rej(e));
  });
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  const events: StatusEvent[] = [];
  ws.on('message', (data) => {
    for (const m of JSON.parse(data.toString()) as { topic: string; data: Omit<StatusEvent, 'id'> }[]) {
      if (m.topic?.startsWith('status/')) events.push({ id: m.topic.slice('status/'.length), ...m.data });
    }
  });
  return { events, close: () => ws.close() };
}

describe('jkbms-bank in a real Node-RED', function () {
  this.timeout(600_000);
  let red: NodeRedInstance;
  let sim: BusSimulator;
  let gw: TcpListener;
  let debug: DebugCapture;
  let status: Awaited<ReturnType<typeof captureStatus>>;

  const flow = (): FlowNode[] => {
    const tab = { id: 'bankrt00000tab01', type: 'tab', label: 'bank' };
    return [
      tab,
      ...EXAMPLE.map((n) =>
        n.type === 'jkbms-bus'
          ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000, offlineAfter: 5, responseTimeout: 1000 }
          : n.type === 'jkbms-bank'
            ? { ...n, rate: 1, z: tab.id }
            : { ...n, z: tab.id },
      ),
    ];
  };
  const summaries = (from: number, pred: (p: Record<string, any>) => boolean) => (m: DebugMessage) =>
    debug.messages.indexOf(m) >= from && m.id === SUMMARY_ID && pred(m.msg as Record<string, any>);

  before(async () => {
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3], seed: 9 }, (s) => [1, 2, 3].forEach((a) => s.pack(a).setCurrent(20))));
    red = await startNodeRed();
    debug = await red.debug();
    status = await captureStatus(red.port);
  });
  after(async () => {
    status?.close();
    await red?.stop();
    await sim?.stop();
  });

  it('is registered from the package with its catalog', async () => {
    const sets = await red.api.get<{ module: string; types: string[]; err?: string }[]>('/nodes');
    const set = sets.find((s) => s.module === MODULE && s.types.includes('jkbms-bank'));
    assert.ok(set, 'jkbms-bank registered');
    assert.equal(set.err, undefined);
    const catalog = await red.api.get<Record<string, any>>(`/locales/${MODULE}/jkbms-bank?lng=en-US`);
    assert.equal(catalog['jkbms-bank'].status.stale, '__online__/__expected__ stale __list__');
  });

  it('runs the example: bank summaries, translated status texts, a stale pack listed, energy kept across a full redeploy', async () => {
    await red.api.deploy(flow());
    const first = await debug.waitFor(summaries(0, (p) => p.packsOnline === 3 && p.energyChargedKwh > 0), 60_000);
    const p = first.msg as Record<string, any>;
    assert.equal(p.type, 'bank');
    assert.deepEqual(p.stale, []);
    await until(() => status.events.some((e) => e.id === BANK_ID && /^3\/3 \d{1,3}% \d+\.\dA$/.test(e.text ?? '')), 10_000, 'green status text');

    sim.pack(2).setSilent(true);
    let from = debug.messages.length;
    // Exactly pack 2 out (on a loaded machine another pack may miss a poll now and then).
    const out = await debug.waitFor(summaries(from, (x) => x.stale.length === 1 && x.stale[0] === 2), 60_000);
    assert.equal((out.msg as Record<string, any>).packsOnline, 2);
    await until(() => status.events.some((e) => e.id === BANK_ID && e.text === '2/3 stale 2' && e.fill === 'red'), 10_000, 'red "2/3 stale 2"');
    sim.pack(2).setSilent(false);
    from = debug.messages.length;
    const back = await debug.waitFor(summaries(from, (x) => x.packsOnline === 3), 60_000);

    const before = (back.msg as Record<string, any>).energyChargedKwh as number;
    assert.ok(before > 0);
    await red.api.deploy(flow(), 'full');
    from = debug.messages.length;
    const after = await debug.waitFor(summaries(from, (x) => x.packsOnline > 0), 60_000);
    assert.ok((after.msg as Record<string, any>).energyChargedKwh >= before, 'the counters continue after a full redeploy');
  });

  it('the runtime log shows no error from the bank node', () => {
    assert.deepEqual(red.output.split('\n').filter((l) => /\[error\].*jkbms-bank/.test(l)), []);
  });
});
