/**
 * Capped exponential backoff with jitter, as pure state (no timers): the transports ask it
 * for the next delay and schedule that delay on their own injected Clock.
 *
 * The n-th delay after a reset (n = 0, 1, 2, ...) is
 *   base  = min(maxMs, initialMs × factor^n)
 *   delay = round(min(maxMs, base × (1 + jitter × (2r − 1))))   with r = random() in [0, 1)
 * so with the defaults: ~500, ~1000, ~2000, ... ms, each ±20 %, never more than 30 s.
 */

export interface BackoffOptions {
  /** First delay, ms (default 500). */
  initialMs?: number;
  /** Largest delay, ms (default 30000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Relative spread, 0–1: 0.2 means ±20 % (default 0.2). */
  jitter?: number;
  /** Source of randomness in [0, 1) (default Math.random); tests pass a fixed sequence. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private n = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    if (!(Number.isFinite(this.initialMs) && this.initialMs > 0)) {
      throw new RangeError(`backoff initialMs must be a positive number of ms, got ${String(options.initialMs)}`);
    }
    if (!(Number.isFinite(this.maxMs) && this.maxMs >= this.initialMs)) {
      throw new RangeError(`backoff maxMs must be at least initialMs (${this.initialMs}), got ${String(options.maxMs)}`);
    }
    if (!(Number.isFinite(this.factor) && this.factor >= 1)) {
      throw new RangeError(`backoff factor must be at least 1, got ${String(options.factor)}`);
    }
    if (!(Number.isFinite(this.jitter) && this.jitter >= 0 && this.jitter <= 1)) {
      throw new RangeError(`backoff jitter must be between 0 and 1, got ${String(options.jitter)}`);
    }
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.n;
  }

  /** The next delay in ms (an integer ≥ 0); each call counts as one attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.n);
    this.n += 1;
    const r = Math.min(1, Math.max(0, this.random()));
    const delay = base * (1 + this.jitter * (2 * r - 1));
    return Math.round(Math.min(this.maxMs, delay));
  }

  /** Start again from initialMs (the link proved healthy). */
  reset(): void {
    this.n = 0;
  }
}
