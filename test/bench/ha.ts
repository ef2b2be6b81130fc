/**
 * Home Assistant figures (`npm run bench`, and the README's "Recorder load" numbers, which a
 * test checks against this): what `jkbms-ha` publishes per pack and hour on the simulator.
 *
 * The example's setup on a fake clock: four simulated packs (default profile: ±30 A over an
 * hour, so charge over-current trips now and then), the bus engine as master, each frame turned
 * into the message a `jkbms` node sends (rate "all", as in the example), a `jkbms-health`
 * analysis of every live frame whose reports come in every 60 s (its default, as in the
 * example), and a bridge with the node's default options. One simulated hour after a two-minute
 * warm-up, deterministic.
 */
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { FrameEvent } from '../../src/bus/types';
import { HaBridge } from '../../src/ha/bridge';
import { parseInput } from '../../src/ha/input';
import { HealthMonitor } from '../../src/health';
import type { HaOptions, MqttMessage } from '../../src/ha/types';
import { bmsIdentity } from '../../src/messages/message';
import { BusSimulator } from '../../src/sim';

/** The jkbms-ha node's defaults (nodes/jkbms-ha.ts, nodes/jkbms-ha.html). */
export const DEFAULT_HA_OPTIONS: HaOptions = {
  discoveryPrefix: 'homeassistant',
  baseTopic: 'jkbms',
  mode: 'entity',
  groups: { cells: true, resistances: true, temperatures: true, details: true, device: true, energy: true },
  expireAfter: 120,
  qos: 1,
  rateLimit: 5,
  serialWait: 60,
  energyMaxGap: 60,
  origin: { name: '@jkpb/node-red-jkbms', version: '0' },
};

export interface HaRate {
  rateLimitS: number;
  packs: number;
  /** State messages per pack per hour (mean over the packs). */
  statesPerPackHour: number;
  /** Bytes of those states per pack per hour (topic + payload), kB. */
  kBPerPackHour: number;
  /** Mean size of one state message (topic + payload), bytes. */
  bytesPerState: number;
  /** Live frames per pack per hour the bridge got. */
  liveFramesPerPackHour: number;
}

const PACKS = [1, 2, 3, 4];

/** The jkbms-health node's default "Send every", ms. */
const HEALTH_EVERY_MS = 60_000;

/**
 * @param rateLimitS the node's "State at most every"
 * @param minutes simulated time measured (60 for the README figures; the test measures less and scales)
 * @param health with the jkbms-health reports (the example has them)
 */
export async function measureHaRate(rateLimitS = DEFAULT_HA_OPTIONS.rateLimit, minutes = 60, seed = 1, health = true): Promise<HaRate> {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: PACKS, seed, clock });
  const engine = new BusEngine(sim.createHostEndpoint(), { mode: 'master', addresses: PACKS }, { clock });
  let counting = false;
  let states = 0;
  let bytes = 0;
  let lives = 0;
  const count = (msgs: MqttMessage[]) => {
    if (!counting) return;
    for (const m of msgs) {
      if (!m.topic.endsWith('/state')) continue;
      states++;
      bytes += Buffer.byteLength(m.topic) + Buffer.byteLength(m.payload);
    }
  };
  const bridge = new HaBridge({ ...DEFAULT_HA_OPTIONS, rateLimit: rateLimitS }, { clock, wallNow: () => Date.now(), publish: count, persist: () => undefined });
  bridge.restore({});
  const bus = { name: 'bus1', id: 'f1a00000000000b1' };
  const monitor = new HealthMonitor();
  engine.on('frame', (e: FrameEvent) => {
    if (e.address === null || !PACKS.includes(e.address)) return;
    if (e.kind === 'live' && counting) lives++;
    const bms = bmsIdentity(bus, e.address, engine.pack(e.address)?.info);
    if (health && e.kind === 'live' && e.payload.type === 'live') monitor.frame(e.address, e.payload, e.ts, bms.serialNumber);
    count(bridge.handle(parseInput({ topic: `bus1/${e.address}/${e.kind}`, payload: e.payload, bms, frame: { source: e.source, ts: e.ts } })));
  });
  // The jkbms-health node's messages, every HEALTH_EVERY_MS: one per pack, then the bank's.
  const report = (): void => {
    const now = clock.now();
    const packs = monitor.packReports(now);
    for (const p of packs) count(bridge.handle(parseInput({ topic: `bus1/${p.address}/health`, payload: p, bms: bmsIdentity(bus, p.address, engine.pack(p.address)?.info) })));
    count(bridge.handle(parseInput({ topic: 'bus1/health', payload: monitor.bankReport(now, packs), bms: { bus: bus.name, busId: bus.id } })));
    clock.setTimeout(report, HEALTH_EVERY_MS);
  };
  if (health) clock.setTimeout(report, HEALTH_EVERY_MS);
  sim.start();
  engine.start();
  for (let i = 0; i < 20; i++) await Promise.resolve(); // the engine opens its transport
  clock.advance(120_000);
  counting = true;
  clock.advance(minutes * 60_000);
  counting = false;
  bridge.stop();
  await engine.stop();
  await sim.stop();
  const perPackHour = (x: number) => (x / PACKS.length) * (60 / minutes);
  return {
    rateLimitS,
    packs: PACKS.length,
    statesPerPackHour: Math.round(perPackHour(states)),
    kBPerPackHour: Math.round(perPackHour(bytes) / 1000),
    bytesPerState: Math.round(bytes / states),
    liveFramesPerPackHour: Math.round(perPackHour(lives)),
  };
}

/** Cost of one live frame in the bridge (check, energy, state when due), µs, real clock. */
export function bridgeCostUs(frames = 20_000): number {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1], seed: 1, clock });
  const bridge = new HaBridge(DEFAULT_HA_OPTIONS, { clock, wallNow: () => clock.now(), publish: () => undefined, persist: () => undefined });
  bridge.restore({});
  const bms = { ...bmsIdentity({ name: 'bus1', id: 'b1' }, 1, sim.pack(1).info()) };
  const msg = (type: 'live' | 'settings' | 'info') => ({ topic: `bus1/1/${type}`, payload: sim.pack(1)[type](), bms });
  bridge.handle(parseInput(msg('info')));
  bridge.handle(parseInput(msg('settings')));
  const live = msg('live');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) {
    clock.advance(500);
    bridge.handle(parseInput(live));
  }
  bridge.stop();
  return Math.round(Number(process.hrtime.bigint() - t0) / frames / 100) / 10;
}

export async function benchHa(): Promise<void> {
  const rows = [await measureHaRate(DEFAULT_HA_OPTIONS.rateLimit), await measureHaRate(0)];
  const costUs = bridgeCostUs();
  console.log('\nha: state messages per pack and hour, 4 simulated packs (example setup with jkbms-health reports every 60 s, fake clock)');
  for (const r of rows) {
    console.log(
      `  State at most every ${r.rateLimitS} s: ${r.statesPerPackHour} states, ${r.kBPerPackHour} kB per pack per hour (${r.bytesPerState} B each; ${r.liveFramesPerPackHour} live frames)`,
    );
  }
  console.log(`  bridge: ${costUs} µs per live frame (check, energy, announcement check, state when due)`);
  console.log(JSON.stringify({ bench: 'ha', rates: rows, bridgeUsPerFrame: costUs }));
}
