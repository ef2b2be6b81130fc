import type { FramerEvent } from '../../src/protocol/framer';

/** Deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Split bytes into chunks at random points (1–400 bytes each), deterministic per seed. */
export function splitAt(bytes: Buffer, seed: number): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(r() * 400);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

export interface EventSummary {
  trigger: number;
  write: number;
  ack: number;
  exception: number;
  live: number;
  settings: number;
  info: number;
  discarded: number;
  reasons: Record<string, number>;
  addresses: number[];
}

export function summarize(events: readonly FramerEvent[]): EventSummary {
  const s: EventSummary = { trigger: 0, write: 0, ack: 0, exception: 0, live: 0, settings: 0, info: 0, discarded: 0, reasons: {}, addresses: [] };
  for (const e of events) {
    if (e.type === 'frame') {
      s[e.kind]++;
      if (e.address !== null) s.addresses.push(e.address);
    } else if (e.type === 'discard') {
      s.discarded += e.bytes.length;
      s.reasons[e.reason] = (s.reasons[e.reason] ?? 0) + e.bytes.length;
    } else {
      s[e.type]++;
    }
  }
  return s;
}
