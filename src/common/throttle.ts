import type { Clock, TimerHandle } from './clock';

/**
 * "At most one message per interval, the latest state wins": the first request after a quiet
 * interval goes at once; requests inside the interval are folded into one `onDue` call at its
 * end (the caller then sends its state of that moment).
 *
 * While a deferred send is pending every request folds into it, even when the timer runs late
 * (a loaded event loop): a request can never send ahead of a due timer, so two messages are
 * never closer than the interval.
 *
 * The one "at most one per interval" of the package: used by the Home Assistant bridge (state
 * publishing per device), the bank node, and RateGate (src/messages: the jkbms node's
 * "interval" rate, one throttle per kind of frame).
 */
export class SendThrottle {
  private last = -Infinity;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onDue: () => void,
  ) {}

  /** True: send now (recorded as sent). False: `onDue` runs when the interval is over. */
  request(): boolean {
    if (this.timer !== null) return false;
    const now = this.clock.now();
    if (this.intervalMs <= 0 || now - this.last >= this.intervalMs) {
      this.last = now;
      return true;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.last = this.clock.now();
      this.onDue();
    }, this.last + this.intervalMs - now);
    return false;
  }

  /** Something was sent now outside the throttle (an urgent state): a pending send is dropped, the interval restarts. */
  markSent(): void {
    this.cancel();
    this.last = this.clock.now();
  }

  cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
