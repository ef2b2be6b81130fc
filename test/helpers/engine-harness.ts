/**
 * Bus engine + in-process simulator on one FakeClock, for the engine's tests and benchmark
 * style measurements. Everything on the bus is timer driven, so hours of traffic run
 * synchronously; promises (engine.request/write, the endpoint's open) need `run()`, which
 * advances in steps and lets microtasks settle in between.
 */
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { BusOptions, BusRole, FrameEvent } from '../../src/bus/types';
import { BusSimulator, type BusSimulatorOptions, type HostEndpointOptions, type SimHostEndpoint, type TransmitEvent } from '../../src/sim';

export interface Harness {
  clock: FakeClock;
  sim: BusSimulator;
  endpoint: SimHostEndpoint;
  engine: BusEngine;
  frames: FrameEvent[];
  roles: { role: BusRole; previous: BusRole; reason: string; at: number }[];
  packEvents: { address: number; online: boolean; at: number }[];
  connections: { connected: boolean; at: number }[];
  transmissions: TransmitEvent[];
  errors: Error[];
  logs: string[];
  /** Advance `ms` of virtual time in `stepMs` steps, letting promises settle after each. */
  run(ms: number, stepMs?: number): Promise<void>;
  /** Advance until `p` settles (or fail after `limitMs` of virtual time); returns its outcome. */
  settle<T>(p: Promise<T>, limitMs?: number): Promise<{ value?: T; error?: unknown }>;
  /** Transmissions by sender ('host 1', 'master', 'pack 3', 'noise'). */
  sent(sender: string): TransmitEvent[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  sim: Omit<BusSimulatorOptions, 'clock'>;
  engine?: Partial<BusOptions>;
  endpoint?: HostEndpointOptions;
  /** Do not start the engine (default: started). */
  manual?: boolean;
  /** Keep transmit events (default true; long runs may turn it off). */
  recordTransmissions?: boolean;
}

export async function microtasks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

export async function createHarness(opts: HarnessOptions): Promise<Harness> {
  const clock = new FakeClock(1_000);
  const sim = new BusSimulator({ ...opts.sim, clock });
  const endpoint = sim.createHostEndpoint(opts.endpoint ?? {});
  const logs: string[] = [];
  const engine = new BusEngine(endpoint, opts.engine ?? {}, { clock, log: (level, msg) => logs.push(`${clock.now().toFixed(1)} ${level} ${msg}`) });
  const h: Harness = {
    clock,
    sim,
    endpoint,
    engine,
    frames: [],
    roles: [],
    packEvents: [],
    connections: [],
    transmissions: [],
    errors: [],
    logs,
    async run(ms, stepMs = 50) {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        clock.advance(Math.min(stepMs, end - clock.now()));
        await microtasks();
      }
    },
    async settle<T>(p: Promise<T>, limitMs = 60_000) {
      let out: { value?: T; error?: unknown } | undefined;
      p.then(
        (value) => (out = { value }),
        (error: unknown) => (out = { error }),
      );
      const end = clock.now() + limitMs;
      await microtasks();
      while (!out && clock.now() < end) {
        clock.advance(10);
        await microtasks();
      }
      if (!out) throw new Error(`promise still pending after ${limitMs} ms of virtual time`);
      return out;
    },
    sent: (sender) => h.transmissions.filter((t) => t.sender === sender),
    async stop() {
      await engine.stop();
      await sim.stop();
    },
  };
  engine.on('frame', (e: FrameEvent) => h.frames.push(e));
  engine.on('role', (e: { role: BusRole; previous: BusRole; reason: string }) => h.roles.push({ ...e, at: clock.now() }));
  engine.on('pack', (e: { address: number; online: boolean }) => h.packEvents.push({ address: e.address, online: e.online, at: clock.now() }));
  engine.on('connection', (e: { connected: boolean }) => h.connections.push({ connected: e.connected, at: clock.now() }));
  engine.on('error', (e: Error) => h.errors.push(e));
  if (opts.recordTransmissions !== false) sim.on('transmit', (e: TransmitEvent) => h.transmissions.push(e));
  sim.start();
  if (!opts.manual) {
    engine.start();
    await microtasks();
  }
  return h;
}

/** Intervals between successive live frames of one pack, ms. */
export function liveIntervals(frames: FrameEvent[], address: number, from = -Infinity): number[] {
  const at = frames.filter((f) => f.kind === 'live' && f.address === address && f.at >= from).map((f) => f.at);
  return at.slice(1).map((t, i) => t - at[i]!);
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Every frame the engine emitted must be one that pack really transmitted (300 frame bytes
 * identical): no frame invented from noise, truncation, echo or a wrong attribution.
 */
export function falseFrames(h: Harness): FrameEvent[] {
  const sentBy = new Map<string, Set<string>>();
  for (const t of h.transmissions) {
    if (t.bytes.length < 300) continue;
    const key = t.sender === 'master' ? '0' : t.sender.replace(/^pack /, '');
    let set = sentBy.get(key);
    if (!set) sentBy.set(key, (set = new Set()));
    set.add(t.bytes.subarray(0, 300).toString('hex'));
  }
  return h.frames.filter((f) => f.address === null || !sentBy.get(String(f.address))?.has(f.raw.subarray(0, 300).toString('hex')));
}

/**
 * Split the frames that were not transmitted as such into those the wire garbled (a noise burst
 * overlapped ≤ 17 consecutive bytes of a frame the same pack sent just then, and the 8-bit sum
 * happened to still match — 1 in 256 garbled frames, a limit of the protocol's checksum) and
 * phantoms (anything else: invented, misattributed or mis-framed — the engine's fault).
 */
export function classifyFalseFrames(h: Harness): { garbled: FrameEvent[]; phantom: FrameEvent[] } {
  const garbled: FrameEvent[] = [];
  const phantom: FrameEvent[] = [];
  for (const f of falseFrames(h)) {
    const sender = f.address === 0 ? 'master' : `pack ${f.address}`;
    const twin = h.transmissions.find((t) => {
      if (t.sender !== sender || t.bytes.length < 300 || Math.abs(t.start + 300 * (t.end - t.start) / t.bytes.length - f.at) > 5) return false;
      const diff: number[] = [];
      for (let i = 0; i < 300; i++) if (t.bytes[i] !== f.raw[i]) diff.push(i);
      return diff.length > 0 && diff.at(-1)! - diff[0]! <= 16;
    });
    (twin ? garbled : phantom).push(f);
  }
  return { garbled, phantom };
}
