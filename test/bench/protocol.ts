import { decodeFrame } from '../../src/protocol/decode';
import { encodeFrame, encodeResponse, encodeTrigger } from '../../src/protocol/encode';
import { Framer } from '../../src/protocol/framer';
import type { FrameKind } from '../../src/protocol/types';

/** Realistic payloads for the benchmark (16 cells, all sensors present). */
const LIVE = {
  type: 'live' as const,
  cells: Array.from({ length: 16 }, (_, i) => 3.3 + (i % 5) / 1000),
  cellResistances: Array.from({ length: 16 }, () => 0.073),
  temperatures: { mos: 25.3, t1: 21.5, t2: 22.1, t3: 25.3, t4: 21.2, t5: 20.8 },
  voltage: 52.822,
  current: -12.345,
  soc: 47,
  remainingAh: 131.6,
  fullChargeAh: 280,
  alarmMask: 0x800,
};
const SETTINGS = { type: 'settings' as const, cellCount: 16, cellOvp: 3.61, cellUvp: 2.6, switchMask: 0x210, nominalCapacityAh: 280 };
const INFO = { type: 'info' as const, vendorId: 'JK_PB2A16S20P', hardwareVersion: '15A', softwareVersion: '15.38', serialNumber: '4062840158' };

function timeIt(fn: () => void, minMs = 300): { perOpNs: number; ops: number } {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  const limit = BigInt(minMs) * 1_000_000n;
  while (elapsed < limit) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  return { perOpNs: Number(elapsed) / ops, ops };
}

export interface ProtocolBench {
  decodeUs: Record<FrameKind, number>;
  framerMBps: { chunks4k: number; byteByByte: number; noisy4k: number };
  framesPerSecond: number;
}

export function benchProtocol(): ProtocolBench {
  const frames: Record<FrameKind, Buffer> = { live: encodeFrame(LIVE), settings: encodeFrame(SETTINGS), info: encodeFrame(INFO) };
  const decodeUs = {} as Record<FrameKind, number>;
  for (const k of ['live', 'settings', 'info'] as FrameKind[]) {
    decodeUs[k] = timeIt(() => decodeFrame(frames[k], 1)).perOpNs / 1000;
  }

  // A bus sweep as a JK master produces it: triggers and 308-byte answers of 4 packs.
  const sweep = Buffer.concat(
    [1, 2, 3, 4].flatMap((a) => [encodeTrigger(a, 'live'), encodeResponse(LIVE, a), encodeTrigger(a, 'settings'), encodeResponse(SETTINGS, a)]),
  );
  const big = Buffer.concat(Array.from({ length: Math.ceil((8 << 20) / sweep.length) }, () => sweep));
  const framesInBig = (big.length / sweep.length) * 8;
  const throughput = (buf: Buffer, chunk: number): number => {
    const f = new Framer();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < buf.length; i += chunk) f.push(buf.subarray(i, i + chunk));
    f.flush();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return buf.length / s / (1 << 20);
  };
  const chunks4k = Math.max(throughput(big, 4096), throughput(big, 4096));
  const small = big.subarray(0, 1 << 20);
  const byteByByte = throughput(small, 1);
  // 5 % of the bytes flipped: resync work.
  const noisy = Buffer.from(big);
  let x = 12345;
  for (let i = 0; i < noisy.length; i += 20) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    noisy[i] = x & 0xff;
  }
  const noisy4k = throughput(noisy, 4096);
  const framesPerSecond = (framesInBig / (big.length / (chunks4k * (1 << 20)))) | 0;
  return { decodeUs, framerMBps: { chunks4k, byteByByte, noisy4k }, framesPerSecond };
}

export function printProtocolBench(b: ProtocolBench): void {
  const f = (n: number, d = 2) => n.toFixed(d);
  console.log('protocol');
  console.log(`  decode, per frame      live ${f(b.decodeUs.live)} µs   settings ${f(b.decodeUs.settings)} µs   info ${f(b.decodeUs.info)} µs`);
  console.log(`  framer throughput      ${f(b.framerMBps.chunks4k, 1)} MB/s (4 KiB chunks)   ${f(b.framerMBps.byteByByte, 1)} MB/s (1 byte per push)   ${f(b.framerMBps.noisy4k, 1)} MB/s (5 % of bytes corrupted)`);
  console.log(`  framing rate           ${b.framesPerSecond} data frames/s (a 115200-baud bus carries at most ~37 per second)`);
}
