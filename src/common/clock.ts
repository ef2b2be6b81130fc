/**
 * The clock every timed part of the project uses (bus engine, transports' backoff,
 * simulator wire and packs). Production code gets `realClock`; tests, the benchmark and
 * the simulator's "as fast as possible" mode get a `FakeClock`, so hours of bus traffic
 * run in milliseconds and deterministically.
 *
 * Times are milliseconds and may be fractional (a byte at 115200 baud is 0.0868 ms).
 */

export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined | null): void;
}

class RealTimer implements TimerHandle {
  readonly __timer = true as const;
  constructor(readonly t: NodeJS.Timeout) {}
}

/** Wall-clock implementation backed by Node's timers (performance.now for sub-ms reads). */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return new RealTimer(t);
  },
  clearTimeout(handle) {
    if (handle instanceof RealTimer) clearTimeout(handle.t);
  },
};

class FakeTimer implements TimerHandle {
  readonly __timer = true as const;
  cancelled = false;
  constructor(
    readonly at: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

/**
 * Virtual time. Nothing happens until `advance()` / `runUntil()` is called; timers then
 * fire in order of their due time (ties in order of creation), each seeing `now()` equal
 * to its due time. A timer that throws does not stop the clock: the error is collected in
 * `errors` (tests assert it stays empty).
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: FakeTimer[] = [];
  readonly errors: unknown[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = new FakeTimer(this.t + Math.max(0, Number.isFinite(ms) ? ms : 0), this.seq++, fn);
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined | null): void {
    if (handle instanceof FakeTimer) handle.cancelled = true;
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.heap.filter((x) => !x.cancelled).length;
  }

  /** Due time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /**
   * The process was busy for `ms`: time passes and no timer runs. Timers that fell due run at
   * the next advance(), late — each sees the time it actually runs at, as after a stall of
   * Node's event loop.
   */
  block(ms: number): void {
    this.t += Math.max(0, ms);
  }

  /** Run every timer due up to `now() + ms`, then set the time to exactly that. */
  advance(ms: number): void {
    this.runUntil(this.t + ms);
  }

  /** Run every timer due up to `time` (inclusive), then set the time to `time`. */
  runUntil(time: number): void {
    for (;;) {
      this.dropCancelled();
      const next = this.heap[0];
      if (!next || next.at > time) break;
      this.pop();
      this.t = Math.max(this.t, next.at);
      try {
        next.fn();
      } catch (err) {
        this.errors.push(err);
      }
    }
    this.t = Math.max(this.t, time);
  }

  /** Run timers until none is due before `limit` ms from now; returns the time reached. */
  runAll(limit = 3_600_000): number {
    const end = this.t + limit;
    for (;;) {
      const at = this.nextAt();
      if (at === undefined || at > end) break;
      this.runUntil(at);
    }
    return this.t;
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: FakeTimer, b: FakeTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: FakeTimer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): FakeTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
