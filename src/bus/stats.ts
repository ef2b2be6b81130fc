import type { BusStats } from './types';

type Counter = Exclude<keyof BusStats, 'since' | 'badFrames' | 'discards' | 'queued' | 'loopLagMs'>;

/**
 * The engine's health counters (BusStats). Every part counts what it sees here; `snapshot()`
 * is what `engine.stats()` returns. Values that are states rather than counts (the queue,
 * the loop lag) come from their owners at snapshot time.
 */
export class BusCounters {
  private readonly since: number;
  private readonly counts: Record<Counter, number> = {
    bytesReceived: 0,
    bytesDiscarded: 0,
    framesDecoded: 0,
    requestsSent: 0,
    requestsInjected: 0,
    injectionsDeferred: 0,
    timeouts: 0,
    collisions: 0,
    reconnects: 0,
    watchdogReopens: 0,
  };
  private readonly discards: Record<string, number> = {};
  private readonly badFrames: Record<string, number> = {};

  constructor(sinceEpochMs = Date.now()) {
    this.since = sinceEpochMs;
  }

  add(counter: Counter, n = 1): void {
    this.counts[counter] += n;
  }

  /** `bytes` bytes dropped for `reason`; one run of them (echo: our own bytes, not a bad frame). */
  discarded(reason: string, bytes: number): void {
    this.discards[reason] = (this.discards[reason] ?? 0) + bytes;
    if (reason === 'echo') return;
    this.counts.bytesDiscarded += bytes;
    this.badFrames[reason] = (this.badFrames[reason] ?? 0) + 1;
  }

  snapshot(state: { queued: number; loopLagMs: number }): BusStats {
    return {
      since: this.since,
      ...this.counts,
      badFrames: { ...this.badFrames },
      discards: { ...this.discards },
      queued: state.queued,
      loopLagMs: state.loopLagMs,
    };
  }
}
