import { realClock, type Clock, type TimerHandle } from '../common/clock';
import type { EngineContext } from './context';

/** While watching, the loop is probed this often, ms. */
export const TICK_MS = 10;
/** A tick later than this is a stall of the event loop, ms. */
export const LATE_MS = 8;
/** Lateness samples kept (engine timers and ticks). */
const SAMPLES = 64;
/** The lag allowance (90th percentile of the samples) never exceeds this, ms. */
export const MAX_LAG_ALLOWANCE_MS = 30;

/**
 * Watches the event loop of the process the engine runs in, for the decisions that depend on
 * it being responsive (gap injection).
 *
 * A busy Node-RED delays everything: timers fire late and bytes that arrived meanwhile are
 * handed over late — after the expired timers — with arrival times that are too late by as
 * much. While an injection is wanted (`watch(true)`) a light ticker runs every TICK_MS; a tick
 * more than LATE_MS late reveals a stall. Input is `fresh()` — its arrival time is right to
 * within TICK_MS + LATE_MS — only while the ticks come on time; a message that arrives during
 * or right after a stall, whether the stall was in a timer or in another I/O callback, is not.
 *
 * It also keeps how late the engine's timers ran lately (every timer reports its lateness):
 * `lagMs()` is their 90th percentile (capped), added to the safety margin of injections — a
 * loop that is often late gets more room, never less.
 *
 * Owns: the ticker, the time of the last on-time tick and the lateness samples.
 */
export class LoopWatch {
  private ticker: TimerHandle | null = null;
  private due = 0;
  /** Clock time of the last tick that came on time (−∞ after a late one or while not watching). */
  private onTimeAt = -Infinity;
  private readonly samples: number[] = [];

  constructor(
    private readonly ctx: EngineContext,
    /** A stall was seen (a tick `lateMs` late): plans made on older timing must be dropped. */
    private readonly onStall: (lateMs: number) => void,
  ) {}

  get watching(): boolean {
    return this.ticker !== null;
  }

  /** Start (or keep) ticking while `on`, stop otherwise. */
  watch(on: boolean): void {
    if (on && !this.ticker) this.tick(TICK_MS);
    else if (!on && this.ticker) {
      this.ctx.cancel(this.ticker);
      this.ticker = null;
      this.onTimeAt = -Infinity;
    }
  }

  /**
   * Input handed over now arrived when it says, to within TICK_MS + LATE_MS: we are watching
   * and the last tick came on time, recently.
   */
  fresh(now = this.ctx.clock.now()): boolean {
    return this.ticker !== null && now - this.onTimeAt <= TICK_MS + LATE_MS;
  }

  /** How stale input handed over now may be, ms (how long ago the last on-time tick was). */
  staleness(now = this.ctx.clock.now()): number {
    return Math.max(0, now - this.onTimeAt);
  }

  /** An engine timer ran `lateMs` after it was due. */
  record(lateMs: number): void {
    this.samples.push(Math.max(0, lateMs));
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  /** How late the engine's timers ran lately: 90th percentile of the last samples, capped, ms. */
  lagMs(): number {
    if (!this.samples.length) return 0;
    const s = [...this.samples].sort((a, b) => a - b);
    return Math.min(MAX_LAG_ALLOWANCE_MS, s[Math.min(s.length - 1, Math.floor(0.9 * s.length))]!);
  }

  private tick(ms: number): void {
    this.due = this.ctx.clock.now() + ms;
    this.ticker = this.ctx.after(ms, () => {
      const now = this.ctx.clock.now();
      const late = now - this.due;
      this.ticker = null;
      this.tick(TICK_MS);
      if (late > LATE_MS) {
        this.onTimeAt = -Infinity;
        this.onStall(late);
      } else {
        this.onTimeAt = now;
      }
    });
  }
}

/**
 * The default EngineContext.afterPendingInput. On the real clock: after the poll phase has
 * run twice, the second time blocking up to 1 ms (serialport reads through libuv's thread pool:
 * bytes seen by one poll are handed over by a later one). On another clock (tests, the
 * simulator's fast mode): a 0 ms timer, which runs after everything already due.
 */
export function pendingInputDefer(clock: Clock, after: (ms: number, fn: () => void) => void, guard: (fn: () => void) => void): (fn: () => void) => void {
  if (clock !== realClock) return (fn) => after(0, fn);
  return (fn) => setImmediate(() => setTimeout(() => setImmediate(() => guard(fn)), 1));
}
