/**
 * The simulated bus of the busy-loop rig (test/bench/busy-loop.ts), run as a child process:
 * a JK master and slaves 1–3 on the real clock, reached through a TCP gateway on loopback
 * (`tcp`) or a pty made by socat (`pty PATH`).
 *
 *   node busy-loop-sim.js tcp|pty [PATH] [SEED]
 *
 * Prints `{"listening": {"tcp": "127.0.0.1:PORT"} | {"pty": PATH}}` once ready; on SIGTERM
 * `{"busySim": {...}}` with every collision on the wire (the two senders and their times) and
 * whether this process itself was stalled around it. A simulator that stalls answers late —
 * a pack 100 ms after the trigger instead of 8 ms — and puts bytes that arrived meanwhile on the
 * wire together with what its timers send: collisions a real bus never has. The rig reports
 * them apart, so that a loaded test machine cannot be mistaken for a fault of the engine.
 */
import { BusSimulator, startSocat, type SocatPair, type TransmitEvent } from '../../src/sim';

/** This process's own event loop is probed this often, ms … */
const PROBE_MS = 2;
/** … and a probe this late is a stall of the simulator, ms. */
const SIM_STALL_MS = 10;
/** A collision within this long after a stall of the simulator may be its doing, ms. */
const STALL_REACH_MS = 250;

export interface SimCollision {
  first: { sender: string; start: number; end: number };
  second: { sender: string; start: number; end: number };
  /** The simulator itself was stalled shortly before or during it. */
  simStalled: boolean;
}

export interface BusySimReport {
  collisions: SimCollision[];
  /** Stalls of the simulator process (probes later than SIM_STALL_MS), and the longest, ms. */
  simStalls: number;
  simStallMaxMs: number;
  transmissions: number;
  /** The wire's own collision count (the same collisions, counted by the simulator). */
  wireCollisions: number;
  /** Epoch ms of this process's clock zero (performance.timeOrigin): to line up with the engine's log. */
  timeOrigin: number;
}

async function main(): Promise<void> {
  const [link = 'tcp', path = '', seed = '1'] = process.argv.slice(2);
  const sim = new BusSimulator({ packs: [1, 2, 3], master: true, seed: Number(seed) });
  const tx: TransmitEvent[] = [];
  sim.on('transmit', (e: TransmitEvent) => tx.push({ ...e, bytes: Buffer.alloc(0) }));
  let socat: SocatPair | null = null;
  let listening: Record<string, string>;
  if (link === 'pty') {
    socat = await startSocat(path);
    await sim.attachPty(socat.simPath);
    listening = { pty: socat.hostPath };
  } else {
    const gw = await sim.listenTcp(0, '127.0.0.1');
    listening = { tcp: `127.0.0.1:${gw.port}` };
  }
  const stalls: { from: number; to: number }[] = [];
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    const late = now - last - PROBE_MS;
    last = now;
    if (late > SIM_STALL_MS) stalls.push({ from: now - late, to: now });
  }, PROBE_MS);
  sim.start();
  console.log(JSON.stringify({ listening }));
  const stop = async (): Promise<void> => {
    clearInterval(probe);
    await sim.stop();
    await socat?.stop();
    const collisions: SimCollision[] = [];
    const sorted = tx.filter((t) => t.sender !== 'noise').sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j]!.start < sorted[i]!.end; j++) {
        const [a, b] = [sorted[i]!, sorted[j]!];
        if (a.sender === b.sender) continue;
        const simStalled = stalls.some((s) => s.to >= a.start - STALL_REACH_MS && s.from <= b.end);
        collisions.push({ first: { sender: a.sender, start: a.start, end: a.end }, second: { sender: b.sender, start: b.start, end: b.end }, simStalled });
      }
    }
    const st = sim.stats();
    const report: BusySimReport = {
      collisions,
      simStalls: stalls.length,
      simStallMaxMs: Math.round(Math.max(0, ...stalls.map((s) => s.to - s.from))),
      transmissions: st.transmissions,
      wireCollisions: st.collisions,
      timeOrigin: performance.timeOrigin,
    };
    console.log(JSON.stringify({ busySim: report }));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
