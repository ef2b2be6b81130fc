import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import { getBus, type BusController } from '../../nodes/lib/bus-registry';
import { packsReply } from '../../nodes/lib/admin';
import type { BusError, FrameEvent } from '../../src/bus/types';
import { SimulatedBus } from '../../src/sim/connection';
import { parseCapture } from '../../src/transport/capture';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import requestNode = require('../../nodes/jkbms-request');
import { busConfig, catchNode, collect, nodeTestHooks, ownStatuses, RED, type FlowNode, type Msg } from '../helpers/flows';
import { sleep, until } from '../helpers/wait';

/**
 * The bus node's own connections in test-helper's Node-RED: "simulator" (src/sim inside the
 * runtime), "replay" (a capture file), and the recording option — with the real simulator, real
 * files and the real clock, never a stubbed transport.
 */

helper.init(require.resolve('node-red'));
const statusNode = require('@node-red/nodes/core/common/25-status.js');

const simBus = (over: Partial<FlowNode> = {}): FlowNode =>
  busConfig({ id: 'bus1', name: 'sim bank', transport: 'simulator', path: '', simPacks: '1-3', simMaster: false, simSeed: 7, simFaults: '', ...over });
const replayBus = (file: string, over: Partial<FlowNode> = {}): FlowNode =>
  busConfig({ id: 'bus2', name: 'replayed', transport: 'replay', path: '', replayFile: file, replayLoop: false, replaySpeed: 1, ...over });
function pack(id: string, busId: string, address: number): FlowNode {
  return { id, type: 'jkbms', z: 't1', bus: busId, address, serial: '', emitLive: true, emitSettings: false, emitInfo: true,
    emitAvailability: false, rate: 'all', interval: 10, wires: [['out']] };
}
const base = (): FlowNode[] => [
  { id: 't1', type: 'tab' },
  { id: 'out', type: 'helper', z: 't1' },
  { id: 'st', type: 'status', z: 't1', scope: null, wires: [['stOut']] },
  { id: 'stOut', type: 'helper', z: 't1' },
  { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper', z: 't1' },
];

async function load(nodes: FlowNode[]): Promise<{ got: Msg[]; statuses: Msg[]; errors: Msg[] }> {
  await helper.load([busNode, packNode, requestNode, catchNode, statusNode], [...base(), ...nodes]);
  return { got: collect('out'), statuses: collect('stOut'), errors: collect('caught') };
}

const controller = (id: string): BusController => getBus(RED, id) as BusController;
const simOf = (id: string) => (controller(id).currentTransport as SimulatedBus).simulator;
const texts = (node: any): string[] => ownStatuses(node).map((s) => String(s.text));

/** Timers (setTimeout/setInterval) created from now on and still pending, with where they were made. */
function trackTimers(): { pending(): string[]; restore(): void } {
  const live = new Map<unknown, string>();
  const g = globalThis as any;
  const saved = { st: g.setTimeout, ct: g.clearTimeout, si: g.setInterval, ci: g.clearInterval };
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = saved.st(() => {
      live.delete(t);
      fn(...args);
    }, ms);
    live.set(t, `setTimeout ${ms} ms ${new Error().stack!.split('\n').slice(2, 5).join(' | ')}`);
    return t;
  };
  g.clearTimeout = (t: unknown) => {
    live.delete(t);
    saved.ct(t);
  };
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = saved.si(fn, ms, ...args);
    live.set(t, `setInterval ${ms} ms ${new Error().stack!.split('\n').slice(2, 5).join(' | ')}`);
    return t;
  };
  g.clearInterval = (t: unknown) => {
    live.delete(t);
    saved.ci(t);
  };
  return {
    pending: () => [...live.values()],
    restore: () => Object.assign(g, { setTimeout: saved.st, clearTimeout: saved.ct, setInterval: saved.si, clearInterval: saved.ci }),
  };
}

describe('jkbms-bus connections: simulator, replay, recording (test-helper)', function () {
  this.timeout(60_000);
  let dir: string;
  nodeTestHooks(() => null);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jkbms-conn-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('simulator: live data and device info from every simulated pack, status and pack list say simulated; requests and writes work', async () => {
    const { got } = await load([
      simBus({ allowWrites: true, mode: 'auto', masterSilence: 500 }),
      pack('p1', 'bus1', 1),
      pack('p2', 'bus1', 2),
      pack('p3', 'bus1', 3),
    ]);
    const bus = controller('bus1');
    assert.ok(bus.currentTransport instanceof SimulatedBus);
    for (const a of [1, 2, 3]) {
      await until(() => got.some((m) => m.bms?.address === a && m.payload.type === 'live'), 20_000, `live data of pack ${a}`);
      await until(() => got.some((m) => m.bms?.address === a && m.payload.type === 'info'), 20_000, `device info of pack ${a}`);
    }
    const info = got.find((m) => m.bms?.address === 2 && m.payload.type === 'info')!;
    assert.equal(info.payload.serialNumber, simOf('bus1').pack(2).serialNumber);
    const node = helper.getNode('bus1') as any;
    await until(() => texts(node).includes('jkbms-bus.status.simulated'), 5000, 'simulated status');
    assert.ok(!texts(node).includes('jkbms-bus.status.master'), 'never a bare "master N/N" status');
    const reply = packsReply('bus1');
    assert.equal(reply.simulated, true);
    assert.equal(reply.connection, 'sim');
    assert.deepEqual(
      reply.packs.map((p) => p.address),
      [1, 2, 3],
    );
    assert.equal(reply.sim!.packs, '1-3');
    assert.equal(reply.sim!.seed, 7);
    // On-demand request and a confirmed write, as on a real bus.
    const settings = await bus.engine.request(3, 'settings');
    assert.equal(settings.type, 'settings');
    const w = await bus.engine.write(1, 'cellOvp', 3.6);
    assert.deepEqual({ ...w, before: undefined }, { ok: true, address: 1, setting: 'cellOvp', requested: 3.6, before: undefined, after: 3.6 });
    assert.equal(simOf('bus1').pack(1).settings().cellOvp, 3.6);
  });

  it('simulator with a JK master: the bus sniffs, every slave\'s device info arrives, 0 collisions; close stops the simulator and its timers', async () => {
    const tracked = trackTimers();
    after(() => tracked.restore());
    const { got } = await load([simBus({ simPacks: '1-3', simMaster: true }), pack('p1', 'bus1', 1), pack('p2', 'bus1', 2), pack('p3', 'bus1', 3)]);
    for (const a of [1, 2, 3]) await until(() => got.some((m) => m.bms?.address === a && m.payload.type === 'info'), 30_000, `device info of slave ${a}`);
    const bus = controller('bus1');
    assert.equal(bus.engine.status().role, 'sniffing');
    const sim = simOf('bus1');
    assert.equal(sim.stats().collisions, 0);
    assert.equal(packsReply('bus1').sim!.master, true);
    assert.equal(packsReply('bus1').sim!.collisions, 0);
    const t0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t0 < 15_000, 'closed within the limit');
    assert.equal(sim.isRunning, false);
    // Every timer the simulator, the engine, the transport and the nodes made is gone.
    await until(() => tracked.pending().length === 0, 3000, 'no timer left behind', { detail: () => tracked.pending() });
    tracked.restore();
  });

  it('recording + replay: the bus records a capture; a replay bus plays it listen-only, says so, refuses requests and writes, and ends', async () => {
    const file = join(dir, 'rec', 'bus.jkcap');
    const { got } = await load([simBus({ record: true, recordFile: file, recordLimit: 5 }), pack('p1', 'bus1', 1)]);
    const node1 = helper.getNode('bus1') as any;
    await until(() => got.filter((m) => m.payload.type === 'live').length >= 3, 20_000, 'live frames while recording');
    await until(() => texts(node1).includes('jkbms-bus.status.recording'), 5000, 'recording status');
    assert.equal(packsReply('bus1').recording!.state, 'recording');
    await helper.unload();
    const cap = parseCapture(readFileSync(file));
    assert.equal(cap.format, 'capture');
    assert.ok(cap.chunks.length > 10, `${cap.chunks.length} chunks recorded`);
    assert.equal(cap.header!.meta.bus, 'sim bank');
    assert.match(String(cap.header!.meta.source), /^simulated bus \(packs 1-3, seed 7\)$/);

    await helper.startServer();
    const frames: FrameEvent[] = [];
    const r = await load([replayBus(file, { replaySpeed: 10, allowWrites: true, mode: 'master' }), pack('p1', 'bus2', 1)]);
    controller('bus2').on('frame', (e: FrameEvent) => frames.push(e));
    const node2 = helper.getNode('bus2') as any;
    await until(() => r.got.some((m) => m.payload.type === 'live'), 10_000, 'live data from the replay');
    assert.equal(controller('bus2').engine.options.mode, 'listen');
    assert.equal(controller('bus2').allowWrites, false);
    await assert.rejects(controller('bus2').engine.request(1, 'info'), (e: BusError) => e.code === 'LISTEN_ONLY');
    await assert.rejects(controller('bus2').engine.write(1, 'cellOvp', 3.5), (e: BusError) => e.code === 'WRITES_DISABLED');
    await until(() => texts(node2).includes('jkbms-bus.status.replay-ended'), 15_000, 'replay finished');
    assert.ok(texts(node2).includes('jkbms-bus.status.replay'));
    assert.ok(frames.length >= 3 && frames.every((f) => f.address !== null && [1, 2, 3].includes(f.address)));
    assert.equal(packsReply('bus2').replay!.passes, 1);
    assert.equal(packsReply('bus2').recording, undefined);
  });

  it('replay with loop starts over', async () => {
    const file = join(dir, 'short.jkcap');
    await load([simBus({ record: true, recordFile: file }), pack('p1', 'bus1', 1)]);
    await sleep(3000);
    await helper.unload();
    await helper.startServer();
    await load([replayBus(file, { replaySpeed: 10, replayLoop: true }), pack('p1', 'bus2', 1)]);
    await until(() => packsReply('bus2').replay!.passes >= 2, 10_000, 'two passes');
    const node2 = helper.getNode('bus2') as any;
    assert.ok(!texts(node2).includes('jkbms-bus.status.replay-ended'));
  });

  it('admin endpoint: starts and stops the recording of a deployed bus; refuses a bad action, an unknown bus and a replay', async () => {
    const file = join(dir, 'admin.jkcap');
    await load([simBus({ record: false, recordFile: file }), pack('p1', 'bus1', 1)]);
    await until(() => controller('bus1').engine.status().connected, 5000, 'connected');
    assert.equal(packsReply('bus1').recording!.state, 'off');
    const on = await helper.request().post('/jkbms/recording').send({ bus: 'bus1', action: 'start' }).expect(200);
    assert.equal(on.body.enabled, true);
    await until(() => packsReply('bus1').recording!.totalBytes > 1000, 10_000, 'bytes recorded');
    const off = await helper.request().post('/jkbms/recording').send({ bus: 'bus1', action: 'stop' }).expect(200);
    assert.equal(off.body.state, 'off');
    const size = statSync(file).size;
    await sleep(1000);
    assert.equal(statSync(file).size, size, 'nothing written after stop');
    assert.ok(parseCapture(readFileSync(file)).chunks.length > 0);
    await helper.request().post('/jkbms/recording').send({ bus: 'bus1', action: 'pause' }).expect(400);
    await helper.request().post('/jkbms/recording').send({ bus: 'nope', action: 'start' }).expect(404);
  });

  describe('bad input: a clear status and error, Node-RED and the bus keep running', () => {
    it('an invalid address list', async () => {
      const { errors } = await load([simBus({ simPacks: '0-3' }), pack('p1', 'bus1', 1)]);
      const node = helper.getNode('bus1') as any;
      assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'dot', text: 'jkbms-bus.status.invalid' });
      // Reported once, by the bus; the pack node shows the reason and refuses inputs with it.
      const e = await until(() => errors.find((m) => m.error.source.id === 'bus1'), 5000, 'the bus error at Catch');
      assert.ok(
        node.error.getCalls().some((c: any) => /simulator pack addresses: "0-3" must lie within 1–15 \(0 is the JK master: turn on the JK master option\)/.test(String(c.args[0]))),
      );
      assert.match(e.error.message, /simulator pack addresses: "0-3" must lie within 1–15/);
      assert.equal(errors.length, 1);
      assert.match(ownStatuses(helper.getNode('p1')).at(-1)!.text, /^jkbms\.bus\.invalid$/);
    });

    it('an invalid fault mix and seed', async () => {
      await load([simBus({ simFaults: 'lightning=1' }), simBus({ id: 'bus3', simSeed: '1.5' }), pack('p1', 'bus1', 1)]);
      await until(() => (helper.getNode('bus3') as any).error.called, 5000, 'reported after the flows started');
      const e1 = (helper.getNode('bus1') as any).error.getCalls().map((c: any) => String(c.args[0])).join('\n');
      assert.match(e1, /simulator faults: unknown fault "lightning"/);
      const e3 = (helper.getNode('bus3') as any).error.getCalls().map((c: any) => String(c.args[0])).join('\n');
      assert.match(e3, /simulator seed: expected an integer/);
    });

    const badReplays: [string, (dir: string) => string, RegExp][] = [
      ['a missing replay file', (d) => join(d, 'nothing.jkcap'), /cannot read the capture .*nothing\.jkcap: no such file/],
      ['an unreadable replay file (a folder)', (d) => (mkdirSync(join(d, 'folder.jkcap')), join(d, 'folder.jkcap')), /it is a folder, not a capture file/],
      ['a garbage replay file', (d) => (writeFileSync(join(d, 'photo.jkcap'), Buffer.from('\x89PNG\r\n\x1a\n not a capture at all', 'latin1')), join(d, 'photo.jkcap')), /not a capture: no jkbms capture header and no JK-PB traffic/],
      ['a damaged capture header', (d) => (writeFileSync(join(d, 'v9.jkcap'), Buffer.concat([Buffer.from('JKBMSCAP'), Buffer.from([9, 0]), Buffer.alloc(14)])), join(d, 'v9.jkcap')), /capture format version 9 is not supported/],
    ];
    for (const [what, make, message] of badReplays) {
      it(what, async () => {
        const file = make(dir);
        const { errors } = await load([replayBus(file), pack('p1', 'bus2', 1)]);
        const e = await until(() => errors.find((m) => m.error.source.id === 'bus2'), 10_000, 'bus error at Catch');
        assert.match(e.error.message, message);
        const node = helper.getNode('bus2') as any;
        await until(() => ownStatuses(node).some((s) => s.fill === 'red'), 5000, 'red status');
        assert.match(texts(node).at(-1)!, /jkbms-bus.status.replay/);
      });
    }

    it('a recording path that cannot be written: error and status, the bus goes on', async () => {
      writeFileSync(join(dir, 'afile'), 'x');
      const { got, errors } = await load([simBus({ record: true, recordFile: join(dir, 'afile', 'rec.jkcap') }), pack('p1', 'bus1', 1)]);
      const e = await until(() => errors.find((m) => /recording to/.test(m.error.message)), 10_000, 'recording error at Catch');
      assert.match(e.error.message, /recording to .*afile\/rec\.jkcap stopped: a part of the path is a file, not a folder \(ENOTDIR\)$/);
      const node = helper.getNode('bus1') as any;
      await until(() => texts(node).at(-1) === 'jkbms-bus.status.recording-failed', 5000, 'recording failed status');
      const n = got.length;
      await until(() => got.length > n + 2, 10_000, 'frames keep coming');
      assert.equal(packsReply('bus1').recording!.state, 'failed');
    });

    it('a full disk (/dev/full): error and status, the bus goes on', async () => {
      const { got, errors } = await load([simBus({ record: true, recordFile: '/dev/full' }), pack('p1', 'bus1', 1)]);
      const e = await until(() => errors.find((m) => /recording to/.test(m.error.message)), 10_000, 'recording error at Catch');
      assert.match(e.error.message, /recording to \/dev\/full stopped: the disk is full \(ENOSPC\)$/);
      const n = got.length;
      await until(() => got.length > n + 2, 10_000, 'frames keep coming');
    });

    it('two buses recording to one file: the second is refused', async () => {
      const file = join(dir, 'same.jkcap');
      const { errors } = await load([simBus({ record: true, recordFile: file }), simBus({ id: 'bus3', record: true, recordFile: file }), pack('p1', 'bus1', 1), pack('p3', 'bus3', 2)]);
      const e = await until(() => errors.find((m) => /cannot record to/.test(m.error.message)), 10_000, 'refusal');
      assert.match(e.error.message, /cannot record to .*same\.jkcap: the file is in use by bus "sim bank" \(bus[13]\)/);
    });
  });
});
