import assert from 'node:assert/strict';
import { BusEngine } from '../../src/bus/engine';
import { SerialTransport } from '../../src/transport/serial';
import { TcpTransport } from '../../src/transport/tcp';
import type { BusRole, FrameEvent } from '../../src/bus/types';
import { BusSimulator, type TcpListener, type TransmitEvent } from '../../src/sim';
import { startPtyPair, type PtyPair } from '../helpers/socat';
import { requireTool } from '../helpers/tools';
import { waitFor } from '../helpers/transport-recorder';

interface Watch {
  frames: FrameEvent[];
  connections: boolean[];
  roles: BusRole[];
  errors: Error[];
}

function watch(engine: BusEngine): Watch {
  const w: Watch = { frames: [], connections: [], roles: [], errors: [] };
  engine.on('frame', (f: FrameEvent) => w.frames.push(f));
  engine.on('connection', (e: { connected: boolean }) => w.connections.push(e.connected));
  engine.on('role', (e: { role: BusRole }) => w.roles.push(e.role));
  engine.on('error', (e: Error) => w.errors.push(e));
  return w;
}

const livesFrom = (w: Watch, address: number, since = 0) => w.frames.filter((f) => f.address === address && f.kind === 'live' && f.at > since).length;

describe('bus engine over a real pty (socat): unplug and replug', function () {
  this.timeout(60_000);
  let pair: PtyPair | undefined;
  let sim: BusSimulator | undefined;
  let engine: BusEngine | undefined;

  before(function () {
    requireTool(this, 'socat');
  });

  after(async () => {
    await engine?.stop();
    await sim?.stop();
    await pair?.stop();
  });

  it('polls over the pty, survives socat being killed, and reconnects when it is back', async () => {
    pair = await startPtyPair();
    sim = new BusSimulator({ packs: [1, 2] });
    sim.start();
    await sim.attachPty(pair.a);
    engine = new BusEngine(new SerialTransport({ path: pair.b }), { mode: 'master', addresses: [1, 2] });
    const w = watch(engine);
    engine.start();
    await waitFor(() => livesFrom(w, 1) >= 3 && livesFrom(w, 2) >= 3, 10_000, 'live frames of packs 1 and 2');
    assert.equal(engine.status().role, 'master');
    assert.deepEqual(w.connections, [true]);

    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await pair.stop();
    await waitFor(() => w.connections.at(-1) === false, 2_000, 'connection lost');
    assert.ok(performance.now() - t0 < 3_000, 'noticed within a few seconds');
    assert.equal(engine.status().connected, false);

    await new Promise((r) => setTimeout(r, 1_000));
    await pair.restart();
    await sim.attachPty(pair.a);
    const back = performance.now();
    await waitFor(() => w.connections.at(-1) === true, 20_000, 'reconnected');
    await waitFor(() => livesFrom(w, 1, back) >= 3 && livesFrom(w, 2, back) >= 3, 10_000, 'data flows again');
    assert.deepEqual(w.connections, [true, false, true]);
    assert.deepEqual(w.errors, []);
  });
});

describe('bus engine over TCP loopback (transparent gateway)', function () {
  this.timeout(60_000);
  let sim: BusSimulator | undefined;
  let engine: BusEngine | undefined;
  let listener: TcpListener | undefined;

  afterEach(async () => {
    await engine?.stop();
    await sim?.stop();
    engine = sim = listener = undefined;
  });

  it('sniffs a JK master and gets every slave’s device info through the gateway', async () => {
    sim = new BusSimulator({ packs: [1, 2, 3], master: true, timing: { master: { probeTimeoutMs: 150 } } });
    sim.start();
    listener = await sim.listenTcp(0);
    engine = new BusEngine(new TcpTransport({ host: '127.0.0.1', port: listener.port }));
    const w = watch(engine);
    engine.start();
    await waitFor(() => [1, 2, 3].every((a) => engine!.pack(a)?.info), 20_000, 'device info of packs 1–3');
    assert.deepEqual(w.roles, ['listening', 'sniffing']);
    for (const a of [0, 1, 2, 3]) assert.ok(engine.pack(a)?.live && engine.pack(a)?.settings, `pack ${a}`);
    assert.equal(engine.status().stats.requestsInjected >= 3, true);
    assert.deepEqual(w.errors, []);
  });

  it('gateway restart: reconnects with backoff, nothing thrown, data flows again', async () => {
    sim = new BusSimulator({ packs: [1, 2] });
    sim.start();
    listener = await sim.listenTcp(0);
    const port = listener.port;
    engine = new BusEngine(new TcpTransport({ host: '127.0.0.1', port }), { mode: 'master', addresses: [1, 2] });
    const w = watch(engine);
    engine.start();
    await waitFor(() => livesFrom(w, 1) >= 3 && livesFrom(w, 2) >= 3, 10_000, 'live frames');
    await listener.close();
    await waitFor(() => w.connections.at(-1) === false, 3_000, 'connection lost');
    await new Promise((r) => setTimeout(r, 1_500));
    listener = await sim.listenTcp(port);
    const back = performance.now();
    await waitFor(() => w.connections.at(-1) === true, 20_000, 'reconnected');
    await waitFor(() => livesFrom(w, 1, back) >= 3 && livesFrom(w, 2, back) >= 3, 10_000, 'data flows again');
    assert.deepEqual(w.connections, [true, false, true]);
    assert.deepEqual(w.errors, []);
  });

  it('fragmenting and coalescing gateway: every frame it delivers is decoded, none is false', async () => {
    sim = new BusSimulator({ packs: [1, 2, 3], faults: { fragment: 0.5, coalesce: 0.2 }, seed: 4 });
    const sent = new Set<string>();
    sim.on('transmit', (t: TransmitEvent) => t.bytes.length === 300 && sent.add(`${t.sender.replace('pack ', '')}:${t.bytes.toString('hex')}`));
    sim.start();
    listener = await sim.listenTcp(0);
    engine = new BusEngine(new TcpTransport({ host: '127.0.0.1', port: listener.port }), { mode: 'master', addresses: [1, 2, 3] });
    const w = watch(engine);
    engine.start();
    await waitFor(() => w.frames.length >= 40 && sim!.stats().faults.coalesce >= 3, 30_000, '40 frames and 3 coalesced packets');
    const faults = sim.stats().faults;
    assert.ok(faults.fragment > 10, JSON.stringify(faults));
    const unknown = w.frames.filter((f) => !sent.has(`${f.address}:${f.raw.subarray(0, 300).toString('hex')}`));
    assert.deepEqual(unknown, []);
    assert.equal(engine.status().stats.bytesDiscarded, 0);
  });
});
