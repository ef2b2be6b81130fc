import type { FrameKind } from '../protocol/types';

/** Implausible frames of one pack and kind in a row before it is worth a warning. */
export const REJECTION_WARN_AFTER = 3;

/**
 * Implausible frames are dropped quietly (debug log): one now and then is a corrupted frame
 * that passed sum8. A pack whose frames of one kind keep failing is different — firmware that
 * reports something the plausibility checks do not expect would lose that data for good
 * without anyone knowing — so the REJECTION_WARN_AFTER-th rejection in a row is reported,
 * once per streak. Bounded: one entry per address and kind.
 */
export class RejectionStreaks {
  private readonly streaks = new Map<string, number>();

  constructor(private readonly warn: (msg: string) => void) {}

  /** A decoded frame of `kind` from `address` was judged: `problem` is the reason it was rejected, or null. */
  count(address: number | null, kind: FrameKind, problem: string | null): void {
    const key = `${address ?? '?'}:${kind}`;
    if (!problem) {
      this.streaks.delete(key);
      return;
    }
    const n = (this.streaks.get(key) ?? 0) + 1;
    this.streaks.set(key, n);
    if (n === REJECTION_WARN_AFTER) {
      const who = address === null ? 'a pack of unknown address' : `pack ${address}`;
      this.warn(`the last ${n} ${kind} frames of ${who} were dropped as implausible (${problem}); if this goes on, its firmware reports something unexpected: please report it with a capture`);
    }
  }
}
