import type { TimerHandle } from '../common/clock';
import type { RoleArbiter } from './arbiter';
import type { EngineContext } from './context';
import { GapLearner, planInjection } from './gap-learner';
import type { Scheduler } from './scheduler';
import type { ReceiveTimeline } from './timeline';

/** What the injector needs from the rest of the engine. */
export interface InjectorHost {
  readonly timeline: ReceiveTimeline;
  readonly scheduler: Scheduler;
  readonly arbiter: RoleArbiter;
}

/**
 * Gap injection while a JK master polls: one request at a time, in the master's quiet gaps.
 *
 * The GapLearner learns from every foreign message how long the master stays quiet after it.
 * When a message opens a gap long enough for one whole exchange (planInjection), a timer is set
 * for the moment to send; it sends unless any byte is heard before.
 *
 * Owns: the gap learner and the send timer.
 */
export class GapInjector {
  readonly learner = new GapLearner();
  private timer: TimerHandle | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: InjectorHost,
  ) {}

  /**
   * A foreign message occupied the wire from `start` to `end`: learn the silence before it;
   * `gap`: we are sniffing, it may open a gap for us.
   */
  message(key: string, start: number, end: number, gap: boolean): void {
    this.learner.message(key, start, end);
    if (gap) this.considerGap(key, end);
  }

  /**
   * Sniffing: a foreign message ended at `end`. If the master is known to stay quiet after such
   * a message long enough for one full exchange, send one request into that gap — unless any
   * byte is heard before we start.
   */
  private considerGap(key: string, end: number): void {
    // A gap planned earlier was cut short by this message: it would be abandoned anyway.
    this.cancel();
    const { timeline, scheduler, arbiter } = this.host;
    if (scheduler.exchange || !this.ctx.link.connected || !scheduler.hasSniffJob()) return;
    const now = this.ctx.clock.now();
    const quiet = this.learner.quietAfter(key, now);
    if (quiet === undefined) return;
    const plan = planInjection({
      afterTrigger: key.startsWith('t:'),
      end,
      quiet,
      turnaroundMs: this.learner.turnaroundMs(),
      byteMs: this.ctx.byteMs,
      minGapMs: this.ctx.options.minGapMs,
    });
    if (!plan) return;
    const { windowEnd } = plan;
    const heardAt = timeline.lastRxAt;
    const stillQuiet = () => arbiter.role === 'sniffing' && !scheduler.exchange && this.ctx.link.connected && timeline.lastRxAt === heardAt && timeline.buffered === 0;
    this.timer = this.ctx.after(Math.max(0, plan.sendAt - now), () => {
      this.timer = null;
      // Same check twice: before and after letting bytes that may be waiting unread come in.
      if (!stillQuiet()) return;
      const token = (this.timer = this.ctx.after(0, () => {
        if (this.timer !== token) return;
        this.timer = null;
        if (!stillQuiet()) return;
        const job = scheduler.takeSniffJob();
        if (job) scheduler.send(job, true, windowEnd);
      }));
    });
  }

  /** Drop the planned gap. */
  cancel(): void {
    this.ctx.cancel(this.timer);
    this.timer = null;
  }

  /** Forget what was learned (we became master, the link was down). */
  reset(): void {
    this.cancel();
    this.learner.reset();
  }
}
