import { FakeClock } from '../../src/common/clock';
import { HealthMonitor } from '../../src/health';
import type { LivePayload } from '../../src/protocol/types';
import { BusSimulator } from '../../src/sim';

/**
 * CPU of the health analysis (src/health) per live frame: 16-cell frames of a simulated bank
 * of two packs (household day, planted faults), recorded first, then fed to a HealthMonitor —
 * so only the analysis is timed, not the simulator. Also the cost of one report of every pack
 * and the bank (what the node sends at each interval) and the stored state's size.
 */

export interface HealthBench {
  /** µs of CPU per live frame (16 cells). */
  frameUs: number;
  /** µs for the reports of both packs and the bank. */
  reportUs: number;
  /** Bytes of the stored state (JSON) after a simulated day. */
  stateBytes: number;
}

export function benchHealth(): HealthBench {
  const clock = new FakeClock(0);
  const sim = new BusSimulator({ packs: [1, 2], seed: 1, clock, bank: true, stepS: 5, cellFaults: 'cell 2.7: +3 mΩ; cell 1.12: -8 % capacity' });
  const frames: { address: number; live: LivePayload; at: number }[] = [];
  for (let t = 0; t < 86_400; t += 5) {
    clock.advance(5000);
    for (const a of [1, 2]) frames.push({ address: a, live: sim.pack(a).live(), at: clock.now() });
  }
  const day = 86_400_000;
  const monitor = new HealthMonitor();
  // Warm-up on the first day, then timed on the same day's frames shifted by whole days.
  for (const f of frames) monitor.frame(f.address, f.live, f.at, `S${f.address}`);
  let n = 0;
  const start = process.hrtime.bigint();
  for (let d = 1; d <= 4; d++) {
    for (const f of frames) {
      monitor.frame(f.address, f.live, f.at + d * day, `S${f.address}`);
      n++;
    }
  }
  const frameUs = Number(process.hrtime.bigint() - start) / 1000 / n;
  const now = 5 * day;
  const r0 = process.hrtime.bigint();
  const reports = 200;
  for (let i = 0; i < reports; i++) monitor.bankReport(now);
  const reportUs = Number(process.hrtime.bigint() - r0) / 1000 / reports;
  return { frameUs, reportUs, stateBytes: JSON.stringify(monitor.snapshot()).length };
}

export function printHealthBench(h: HealthBench): void {
  console.log(
    `health analysis: ${h.frameUs.toFixed(2)} µs CPU per live frame (16 cells); reports of 2 packs + bank ${h.reportUs.toFixed(0)} µs; stored state ${(h.stateBytes / 1000).toFixed(1)} kB for 2 packs`,
  );
}
