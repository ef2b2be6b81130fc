import type { TimerHandle } from '../common/clock';
import type { RoleArbiter } from './arbiter';
import type { EngineContext } from './context';
import { GapLearner, injectionVerdict, planInjection, type InjectionPlan } from './gap-learner';
import type { Outcome } from './jobs';
import type { LoopWatch } from './loop-watch';
import type { Exchange, Scheduler } from './scheduler';
import type { ReceiveTimeline } from './timeline';

/** Durations of our own recent exchanges kept (send → the answer's last byte) … */
const EXCHANGE_SAMPLES = 8;
/** … for at most this long, ms … */
const EXCHANGE_SAMPLE_AGE_MS = 300_000;
/** … and only when at most this much longer than the wire time of the longest exchange, ms. */
const EXCHANGE_SAMPLE_EXCESS_MS = 100;
/** The wire time of the longest exchange we inject: an 11-byte trigger and a 310-byte answer. */
const EXCHANGE_BYTES = 11 + 310;
/** Assumed variation of the link's delays until two of our exchanges have been measured, ms. */
const UNMEASURED_JITTER_MS = 10;

/** What the injector needs from the rest of the engine. */
export interface InjectorHost {
  readonly timeline: ReceiveTimeline;
  readonly scheduler: Scheduler;
  readonly arbiter: RoleArbiter;
}

interface Planned {
  plan: InjectionPlan;
  /** The last byte heard when the gap was planned. */
  heardAt: number;
  /** The send timer fired: we are deciding (waiting for the input that was pending). */
  deciding: boolean;
}

/**
 * Gap injection while a JK master polls: one request at a time, in the master's quiet gaps,
 * never over anyone.
 *
 * The GapLearner learns from every foreign message how long the master stays quiet after it.
 * When a message opens a gap long enough for one whole exchange (planInjection), a timer is set
 * for the moment to send. The decision is taken only then, and only after the input that may
 * have been waiting meanwhile has been handed over (after a busy spell, Node.js runs expired
 * timers before it delivers bytes that arrived during it): we send if no byte was heard since
 * the gap began, the event loop has been responsive (LoopWatch), and the rest of the gap —
 * measured from now — still holds the exchange and its margin (injectionVerdict). Otherwise the
 * request waits for the next gap (counted as injectionsDeferred). A stall of the loop drops a
 * planned gap at once; a message that arrived during one opens none.
 *
 * The exchange duration is the larger of the computed wire time and our own recent exchanges
 * as measured (which include the adapter's or gateway's delays in both directions); the margin
 * grows with the loop's recent lateness, the staleness of the message's arrival time and the
 * spread of our measured exchanges (how much the link's delays vary).
 *
 * Owns: the gap learner, the send timer and the planned gap, and the measured exchange
 * durations. The LoopWatch it consults is the engine's.
 */
export class GapInjector {
  readonly learner = new GapLearner();
  private timer: TimerHandle | null = null;
  private planned: Planned | null = null;
  private readonly exchanges: { ms: number; at: number }[] = [];

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: InjectorHost,
    readonly loop: LoopWatch,
  ) {}

  /** The event loop stalled (LoopWatch): everything planned on the timing before it is void. */
  stalled(lateMs: number): void {
    this.learner.interrupt();
    if (!this.planned) return;
    this.ctx.log('debug', `event loop stalled (a timer ran ${Math.round(lateMs)} ms late): planned injection dropped`);
    this.cancel(true);
  }

  /**
   * A foreign message occupied the wire from `start` to `end`. Its silence before it is learned
   * (unless a stall may have delayed it); `gap`: we are sniffing, it may open a gap for us.
   */
  message(key: string, start: number, end: number, gap: boolean): void {
    const now = this.ctx.clock.now();
    // Without the loop watch running nobody knows better: learn as before (the learner keeps
    // the smallest of several samples). With it, a message handed over late is not learned from.
    const trusted = !this.loop.watching || this.loop.fresh(now);
    this.learner.message(key, start, end, trusted);
    if (gap) this.considerGap(key, end, now);
  }

  private considerGap(key: string, end: number, now: number): void {
    // A gap planned earlier was cut short by this message: it would be abandoned anyway.
    this.cancel(this.planned?.deciding ?? false);
    this.update();
    if (!this.mayInject() || !this.loop.fresh(now)) return;
    const quiet = this.learner.quietAfter(key, now);
    if (quiet === undefined) return;
    const link = this.measured();
    const plan = planInjection({
      afterTrigger: key.startsWith('t:'),
      end,
      quiet,
      turnaroundMs: this.learner.turnaroundMs(),
      byteMs: this.ctx.byteMs,
      minGapMs: this.ctx.options.minGapMs,
      exchangeMs: link.exchangeMs,
      // The loop's recent lateness, how stale this message's arrival time may be, and how much
      // the link's delays vary.
      extraMarginMs: this.loop.lagMs() + this.loop.staleness(now) + link.jitterMs,
    });
    if (!plan) return;
    const planned: Planned = { plan, heardAt: this.host.timeline.lastRxAt, deciding: false };
    this.planned = planned;
    this.timer = this.ctx.after(Math.max(0, plan.sendAt - now), () => {
      this.timer = null;
      planned.deciding = true;
      this.ctx.afterPendingInput(() => this.decide(planned));
    });
  }

  /** The moment to send: decide now, on what is known now. */
  private decide(p: Planned): void {
    if (this.planned !== p) return;
    this.planned = null;
    if (!this.mayInject()) return;
    const { timeline, scheduler } = this.host;
    const now = this.ctx.clock.now();
    const verdict = injectionVerdict({ now, plan: p.plan, heardAt: p.heardAt, lastRxAt: timeline.lastRxAt, buffered: timeline.buffered, fresh: this.loop.fresh(now) });
    if (verdict !== 'send') {
      this.ctx.counters.add('injectionsDeferred');
      this.ctx.log('debug', `injection deferred to the next gap (${verdict}, ${Math.round(now - p.plan.sendAt)} ms after the planned time)`);
      return;
    }
    const job = scheduler.takeSniffJob();
    if (job) scheduler.send(job, true, p.plan.windowEnd);
    this.update();
  }

  /** Sniffing, linked, nothing in flight. */
  private mayInject(): boolean {
    return this.host.arbiter.role === 'sniffing' && this.ctx.link.connected && !this.host.scheduler.exchange;
  }

  /** Watch the event loop while there is something to inject, or an injected exchange to time. */
  update(): void {
    const { arbiter, scheduler } = this.host;
    this.loop.watch(arbiter.role === 'sniffing' && this.ctx.link.connected && (!!scheduler.exchange || scheduler.hasSniffJob()));
  }

  /** An exchange of ours ended; an answered, injected one tells how long ours take. */
  exchangeEnded(x: Exchange, outcome: Outcome, at: number): void {
    const ms = at - x.sentAt;
    if (x.injected && (outcome.type === 'frame' || outcome.type === 'ack') && this.loop.fresh() && ms <= EXCHANGE_BYTES * this.ctx.byteMs + EXCHANGE_SAMPLE_EXCESS_MS) {
      this.exchanges.push({ ms, at });
      if (this.exchanges.length > EXCHANGE_SAMPLES) this.exchanges.shift();
    }
    this.update();
  }

  /**
   * Our recent answered exchanges, from our send to the answer's last byte as handed to us: the
   * longest (0 when none yet), and their spread — how much the adapter's or gateway's delays vary
   * (a FTDI latency timer, a gateway packing bytes, a busy machine) — ms.
   */
  private measured(): { exchangeMs: number; jitterMs: number } {
    const now = this.ctx.clock.now();
    const recent = this.exchanges.filter((s) => now - s.at <= EXCHANGE_SAMPLE_AGE_MS).map((s) => s.ms);
    if (!recent.length) return { exchangeMs: 0, jitterMs: UNMEASURED_JITTER_MS };
    const max = Math.max(...recent);
    return { exchangeMs: max, jitterMs: recent.length > 1 ? max - Math.min(...recent) : UNMEASURED_JITTER_MS };
  }

  /** Drop the planned gap; `deferred`: we were about to send (counted as a deferred injection). */
  cancel(deferred = false): void {
    this.ctx.cancel(this.timer);
    this.timer = null;
    if (this.planned && deferred) this.ctx.counters.add('injectionsDeferred');
    this.planned = null;
  }

  /** Forget what was learned (we became master, the link was down) and stop watching. */
  reset(): void {
    this.cancel();
    this.learner.reset();
    this.exchanges.length = 0;
  }

  stop(): void {
    this.cancel();
    this.loop.watch(false);
  }
}
