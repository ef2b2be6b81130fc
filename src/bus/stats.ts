import type { BusStats } from './types';

type Counter = Exclude<keyof BusStats, 'discards'>;

/**
 * The engine's health counters (BusStats). Every part counts what it sees here; `snapshot()`
 * is what `status().stats` returns.
 */
export class BusCounters {
  private readonly counts: Record<Counter, number> = {
    bytesReceived: 0,
    bytesDiscarded: 0,
    framesDecoded: 0,
    requestsSent: 0,
    requestsInjected: 0,
    injectionsDeferred: 0,
    timeouts: 0,
  };
  private readonly discards: Record<string, number> = {};

  add(counter: Counter, n = 1): void {
    this.counts[counter] += n;
  }

  /** `bytes` bytes dropped for `reason` (echo: our own bytes, not counted as discarded). */
  discarded(reason: string, bytes: number): void {
    this.discards[reason] = (this.discards[reason] ?? 0) + bytes;
    if (reason !== 'echo') this.counts.bytesDiscarded += bytes;
  }

  snapshot(): BusStats {
    return { ...this.counts, discards: { ...this.discards } };
  }
}
