import type { Clock, TimerHandle } from '../bus/clock';

/**
 * "At most every N ms, and never drop the last one": the first request in a quiet period
 * goes at once; requests inside the period are folded into one call of `onDue` at the end
 * of the period (the caller then publishes its latest data).
 */
export class Throttle {
  private last = -Infinity;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onDue: () => void,
  ) {}

  /** True: go now (recorded as sent). False: `onDue` runs at the end of the current period. */
  request(): boolean {
    const now = this.clock.now();
    if (this.intervalMs <= 0 || now - this.last >= this.intervalMs) {
      this.last = now;
      return true;
    }
    if (this.timer === null) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        this.last = this.clock.now();
        this.onDue();
      }, this.last + this.intervalMs - now);
    }
    return false;
  }

  cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
