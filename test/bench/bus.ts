/**
 * Bus engine figures (`npm run bench`):
 *  - master mode: live refresh interval per pack and full-bus sweep for 1 / 4 / 15 packs, and
 *    their ratio to the wire's floor (minGap + trigger + 308-byte answer at 115200 baud); the
 *    simulated packs add their 8 ms turnaround and 2 ms tail gap, settings re-reads (every 30 s)
 *    take a live slot;
 *  - sniff mode: share of the data frames on the wire that were decoded;
 *  - latency from a frame's last byte on the wire to the engine's 'frame' event, on the real
 *    clock, over the in-process endpoint and over TCP loopback;
 *  - RSS after 24 h of simulated polling (fake clock).
 * Everything runs against the simulator; the fake-clock parts are deterministic.
 */
import { FakeClock, realClock, type Clock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import { TcpTransport } from '../../src/transport/tcp';
import type { Transport } from '../../src/transport/transport';
import type { BusOptions, FrameEvent } from '../../src/bus/types';
import { byteTimeMs } from '../../src/protocol/constants';
import { BusSimulator, type BusSimulatorOptions, type TransmitEvent } from '../../src/sim';
import { table } from './table';

const BYTE_MS = byteTimeMs(115200);
const MIN_GAP_MS = 100;
/** The wire's floor for one poll: minGap + 11-byte trigger + 308-byte answer. */
const FLOOR_MS = MIN_GAP_MS + (11 + 308) * BYTE_MS;

const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

async function microtasks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

interface Rig {
  clock: FakeClock;
  sim: BusSimulator;
  engine: BusEngine;
  stop(): Promise<void>;
}

async function fakeRig(sim: Omit<BusSimulatorOptions, 'clock'>, options: Partial<BusOptions>): Promise<Rig> {
  const clock = new FakeClock();
  const s = new BusSimulator({ ...sim, clock });
  const engine = new BusEngine(s.createHostEndpoint(), options, { clock });
  s.start();
  engine.start();
  await microtasks();
  return {
    clock,
    sim: s,
    engine,
    stop: async () => {
      await engine.stop();
      await s.stop();
    },
  };
}

function intervals(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function masterRefresh(n: number, deadAddresses: boolean) {
  const packs = Array.from({ length: n }, (_, i) => i + 1);
  const rig = await fakeRig({ packs }, { mode: 'master', ...(deadAddresses ? {} : { addresses: packs }) });
  const lives = new Map<number, number[]>();
  const answers: number[] = [];
  rig.engine.on('frame', (f: FrameEvent) => {
    answers.push(f.at);
    if (f.kind === 'live' && f.address !== null) lives.set(f.address, [...(lives.get(f.address) ?? []), f.at]);
  });
  // Ten minutes; measure the last five (discovery and the first re-probes of dead addresses are over).
  const windowMs = 5 * 60_000;
  rig.clock.advance(10 * 60_000);
  const from = rig.clock.now() - windowMs;
  const all: number[] = [];
  for (const a of packs) all.push(...intervals((lives.get(a) ?? []).filter((t) => t >= from)));
  await rig.stop();
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  // A sweep reads every pack once (live data, or the settings/info re-read due instead).
  const sweep = (n * windowMs) / answers.filter((t) => t >= from).length;
  return {
    packs: n,
    addresses: deadAddresses ? '1–15' : 'packs only',
    liveMeanMs: r1(mean),
    liveMaxMs: r1(Math.max(...all)),
    liveVsFloor: r3(mean / (n * FLOOR_MS)),
    sweepMs: r1(sweep),
    sweepFloorMs: r1(n * FLOOR_MS),
    sweepVsFloor: r3(sweep / (n * FLOOR_MS)),
  };
}

async function sniffShare(faults: BusSimulatorOptions['faults']) {
  const rig = await fakeRig({ packs: [1, 2, 3], master: true, seed: 2, faults }, {});
  let onWire = 0;
  let decoded = 0;
  rig.sim.on('transmit', (t: TransmitEvent) => {
    if (t.bytes[0] === 0x55 && t.bytes.length >= 300) onWire++;
  });
  rig.engine.on('frame', () => decoded++);
  rig.clock.advance(3_600_000);
  const st = rig.engine.status().stats;
  const collisions = rig.sim.stats().collisions;
  await rig.stop();
  return {
    faults: faults ? JSON.stringify(faults) : 'none',
    framesOnWire: onWire,
    decoded,
    share: r3(decoded / onWire),
    injected: st.requestsInjected,
    collisions,
  };
}

/** Latency from the last byte of each pack answer (its ack tail) to the 'frame' event, real clock. */
async function latency(over: 'in-process' | 'tcp', seconds: number) {
  const sim = new BusSimulator({ packs: [1, 2, 3, 4], clock: realClock });
  const tailEnd = new Map<string, number>();
  sim.on('transmit', (t: TransmitEvent) => {
    if (t.bytes.length === 8 && t.sender.startsWith('pack ')) tailEnd.set(t.sender.slice(5), t.end);
  });
  sim.start();
  let transport: Transport;
  let closeListener = async () => undefined as void;
  if (over === 'tcp') {
    const l = await sim.listenTcp(0);
    transport = new TcpTransport({ host: '127.0.0.1', port: l.port });
    closeListener = () => l.close();
  } else {
    transport = sim.createHostEndpoint();
  }
  const clock: Clock = realClock;
  const engine = new BusEngine(transport, { mode: 'master', addresses: [1, 2, 3, 4] }, { clock });
  const wire: number[] = [];
  const own: number[] = [];
  // Registered before the engine's own listener: the arrival of the chunk that completes a frame.
  let chunkAt = 0;
  transport.on('data', () => (chunkAt = clock.now()));
  engine.on('frame', (f: FrameEvent) => {
    const now = clock.now();
    const end = tailEnd.get(String(f.address));
    if (end !== undefined && now - end < 1000) wire.push(now - end);
    own.push(now - chunkAt);
  });
  engine.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await engine.stop();
  await closeListener();
  await sim.stop();
  return {
    over,
    frames: wire.length,
    wireMedianMs: r3(quantile(wire, 0.5)),
    wireP99Ms: r3(quantile(wire, 0.99)),
    wireMaxMs: r3(Math.max(...wire)),
    engineMedianMs: r3(quantile(own, 0.5)),
    engineMaxMs: r3(Math.max(...own)),
  };
}

async function rssAfter24h() {
  const mb = (n: number) => r1(n / 1024 / 1024);
  const rig = await fakeRig({ packs: [1, 2, 3, 4], seed: 5 }, { mode: 'master' });
  let frames = 0;
  rig.engine.on('frame', () => frames++);
  const t0 = Date.now();
  rig.clock.advance(60_000);
  const after1min = process.memoryUsage();
  for (let h = 0; h < 24; h++) rig.clock.advance(3_600_000);
  const after = process.memoryUsage();
  const wallS = (Date.now() - t0) / 1000;
  await rig.stop();
  return { simulatedH: 24, frames, wallS: r1(wallS), rssAfter1minMB: mb(after1min.rss), rssAfter24hMB: mb(after.rss), heapUsedAfter24hMB: mb(after.heapUsed) };
}

export async function benchBus(): Promise<void> {
  const master = [];
  for (const n of [1, 4, 15]) master.push(await masterRefresh(n, false));
  for (const n of [1, 4]) master.push(await masterRefresh(n, true));
  table(`bus: master mode, live refresh per pack (wire floor per poll = ${r1(FLOOR_MS)} ms: minGap ${MIN_GAP_MS} + 319 bytes at 115200)`, master);

  const sniff = [await sniffShare(undefined), await sniffShare({ noise: 0.2 })];
  table('bus: sniff mode, JK master + 3 slaves, 1 h simulated: data frames decoded / on the wire', sniff);

  const lat = [await latency('in-process', 10), await latency('tcp', 10)];
  table(
    'bus: latency, real clock — wire: last byte of an answer on the simulated wire → frame event (includes the simulator\'s delivery timers; its TCP gateway packs bursts after 10 ms idle); engine: chunk received → frame event',
    lat,
  );

  const rss = [await rssAfter24h()];
  table('bus: memory, 24 h of master-mode polling of 4 packs (fake clock)', rss);

  console.log(JSON.stringify({ bench: 'bus', master, sniff, latency: lat, memory: rss[0] }));
}
