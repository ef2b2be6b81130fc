/**
 * Seeded pseudo-random numbers for the simulator (mulberry32). Every random choice the
 * simulator makes goes through an Rng forked from the simulator's seed, so a run on a
 * FakeClock is identical for a given seed. `fork(label)` derives an independent stream
 * (one per pack, one for faults, one for the wire), so adding draws in one place does not
 * shift the numbers seen elsewhere.
 */
export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = hash32(`${seed}`) ^ 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  /** True with probability p. Always draws, so the stream advances identically either way. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An independent stream derived from this one's seed and a label. */
  fork(label: string | number): Rng {
    return new Rng(hash32(`${this.seed}/${label}`));
  }
}

/** FNV-1a, 32 bit. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
