import { encodeTrigger } from '../protocol/encode';
import type { FrameKind } from '../protocol/types';
import type { TimerHandle } from '../common/clock';
import type { Transport } from '../transport/transport';
import type { RoleArbiter } from './arbiter';
import type { EngineContext } from './context';
import { settingToBusError } from './errors';
import type { FrameReader } from './frame-reader';
import type { Job, Outcome } from './jobs';
import type { PackTable } from './packs';
import type { PollPlan } from './poll-plan';
import type { ReceiveTimeline } from './timeline';
import { BusError } from './types';

/** Stray bytes this soon after an answer belong to it (e.g. a 309th byte 0x00), not to a stranger. */
const STRAY_WINDOW_MS = 10;
/** After an unanswered settings/info read, wait this long before trying that kind again. */
const RETRY_MASTER_MS = 60_000;
const RETRY_SNIFF_MS = 5_000;

/** One transmission of ours and the wait for its answer. */
export interface Exchange {
  job: Job;
  sentAt: number;
  /** Placed into a JK master's quiet gap. */
  injected: boolean;
  /** Someone else talked during it (counted once). */
  collided: boolean;
  /** Bytes were dropped as garbage while we waited (a damaged answer, or two talkers at once). */
  garbled: boolean;
  timer: TimerHandle;
}

/** What the scheduler needs from the rest of the engine. */
export interface SchedulerHost {
  readonly transport: Transport;
  readonly timeline: ReceiveTimeline;
  readonly arbiter: RoleArbiter;
  readonly reader: FrameReader;
  readonly packs: PackTable;
  readonly plan: PollPlan;
  /** A pack stopped answering the master's polls: it went offline. */
  packGone(address: number): void;
  /** One of our transmissions went out (the watchdog expects bytes back). */
  transmitted(): void;
  /** An exchange ended: `outcome` at `at` (clock time of the answer's last byte, or now). */
  exchangeEnded(x: Exchange, outcome: Outcome, at: number): void;
  /** A job was queued (sniffing: there may be something to inject now). */
  queued(): void;
}

/**
 * The scheduler: what we send, when, and the wait for each answer. One exchange at a time.
 *
 *  - The demand queue holds on-demand jobs (requests, write steps, serial confirmations);
 *    jobs nobody waits for any more are dropped unsent.
 *  - Master role: the poll pump sends the next job as soon as the line allows (minGapMs after
 *    the last byte, longer while the arbiter holds off); demand first, then the PollPlan.
 *  - Sniffing: the gap injector (src/bus/injector.ts) takes one job at a time for a gap.
 *  - Every exchange has a timeout; expiry is decided only after the input that was waiting
 *    has been handed over (a busy event loop runs expired timers first).
 *
 * Owns: the exchange in flight, the demand queue, the pump timer, the end of our last
 * transmission, when our last exchange was answered and our last unanswered read.
 */
export class Scheduler {
  private current: Exchange | null = null;
  private readonly demand: Job[] = [];
  private sendTimer: TimerHandle | null = null;
  private lastTxEnd = -Infinity;
  private lastDoneAt = -Infinity;
  private lastMiss: { address: number; kind: FrameKind; at: number } | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: SchedulerHost,
  ) {}

  get exchange(): Exchange | null {
    return this.current;
  }

  /** Jobs waiting in the demand queue (after dropping those nobody waits for). */
  get queued(): number {
    this.pruneDemand();
    return this.demand.length;
  }

  /** Bytes arriving at `at` are part of our own exchange (awaited, or stray bytes right after it). */
  ours(at: number): boolean {
    return !!this.current || at - this.lastDoneAt <= STRAY_WINDOW_MS;
  }

  /** A frame of `kind` from `address` arrived at `at` after its exchange timed out: our late answer. */
  lateAnswer(address: number | null, kind: FrameKind, at: number): boolean {
    const miss = this.lastMiss;
    return !!miss && miss.address === address && miss.kind === kind && at - miss.at <= 2 * this.ctx.options.responseTimeoutMs;
  }

  /** A foreign message while we wait for an answer: someone talked over us (counted once per exchange). */
  talkedOver(x = this.current): void {
    if (!x || x.collided) return;
    x.collided = true;
    this.ctx.counters.add('collisions');
  }

  /** Bytes were dropped as garbage: while we wait for an answer, it was damaged. */
  garbage(): void {
    if (this.current) this.current.garbled = true;
  }

  enqueue(job: Job, front = false): void {
    this.pruneDemand();
    if (front) this.demand.unshift(job);
    else this.demand.push(job);
    if (this.host.arbiter.role === 'master' && !this.current) {
      // A far-off wake-up (nothing due until an absent address' next probe) must not delay it.
      this.restart();
    } else {
      this.host.queued();
    }
  }

  /** Is a job of this purpose for `address` already queued? */
  hasQueued(purpose: Job['purpose'], address: number): boolean {
    return this.demand.some((j) => j.purpose === purpose && j.address === address);
  }

  /** Stop the pump timer and decide again (a role change, a hold-off, new demand). */
  restart(): void {
    this.stopPump();
    if (!this.current) this.pump();
  }

  stopPump(): void {
    this.ctx.cancel(this.sendTimer);
    this.sendTimer = null;
  }

  /** Master role: send the next job as soon as the line allows. */
  pump(): void {
    const { arbiter, timeline } = this.host;
    if (arbiter.role !== 'master' || !this.ctx.link.connected || this.current || this.sendTimer) return;
    const now = this.ctx.clock.now();
    const at = Math.max(timeline.lastRxAt, this.lastTxEnd) + this.ctx.options.minGapMs;
    const earliest = Math.max(at, arbiter.mayTalkFrom(timeline.lastRxAt));
    if (earliest > now + 1e-6) {
      this.wakeAt(earliest, now);
      return;
    }
    arbiter.talking();
    const job = this.takeDemand() ?? this.pollJob(now);
    if (typeof job === 'number') {
      if (Number.isFinite(job)) this.wakeAt(job, now, 1);
      return;
    }
    this.send(job, false, Infinity);
  }

  private wakeAt(at: number, now: number, least = 0): void {
    this.sendTimer = this.ctx.after(Math.max(least, at - now), () => {
      this.sendTimer = null;
      this.pump();
    });
  }

  private pollJob(now: number): Job | number {
    const { plan, packs } = this.host;
    const next = plan.next(now, (a) => this.dueKind(a, now, RETRY_MASTER_MS) ?? 'live');
    if ('waitUntil' in next) return next.waitUntil;
    const { address, kind, probe } = next;
    return {
      address,
      expect: { type: 'frame', kind },
      purpose: probe ? 'probe' : 'poll',
      build: () => encodeTrigger(address, kind),
      wanted: () => true,
      done: (o) => {
        if (o.type !== 'timeout') return;
        if (plan.failed(address, this.ctx.clock.now(), kind === 'live') && packs.setOffline(address)) this.host.packGone(address);
      },
    };
  }

  /** Device info or settings when due for `address` (retries of unanswered reads spaced by retryMs). */
  private dueKind(address: number, now: number, retryMs: number): FrameKind | undefined {
    const o = this.ctx.options;
    if (this.isDue(address, 'info', o.infoIntervalS * 1000, retryMs, now)) return 'info';
    if (this.isDue(address, 'settings', o.settingsIntervalS * 1000, retryMs, now)) return 'settings';
    return undefined;
  }

  /** Not read for `intervalMs`; an unanswered attempt is retried only after `retryMs`. */
  private isDue(address: number, kind: FrameKind, intervalMs: number, retryMs: number, now: number): boolean {
    const got = this.host.packs.kindAt(address, kind);
    const tried = this.host.packs.triedAt(address, kind);
    return now - got >= intervalMs && (tried <= got || now - tried >= retryMs);
  }

  private takeDemand(): Job | undefined {
    while (this.demand.length) {
      const job = this.demand.shift()!;
      if (job.wanted()) return job;
    }
    return undefined;
  }

  /** Drop queued jobs nobody waits for any more (a request answered by a sniffed frame). */
  private pruneDemand(): void {
    for (let i = this.demand.length - 1; i >= 0; i--) if (!this.demand[i]!.wanted()) this.demand.splice(i, 1);
  }

  /** Sniffing: something to place into a gap (queued demand, or a slave's device info that is due). */
  hasSniffJob(): boolean {
    this.pruneDemand();
    return this.demand.length > 0 || this.dueInfoAddress(this.ctx.clock.now()) !== undefined;
  }

  /** Sniffing: the job for the gap at hand. */
  takeSniffJob(): Job | undefined {
    return this.takeDemand() ?? this.sniffInfoJob(this.ctx.clock.now());
  }

  private dueInfoAddress(now: number): number | undefined {
    for (const a of this.host.packs.onlineAddresses()) {
      if (a !== 0 && this.isDue(a, 'info', this.ctx.options.infoIntervalS * 1000, RETRY_SNIFF_MS, now)) return a;
    }
    return undefined;
  }

  private sniffInfoJob(now: number): Job | undefined {
    const address = this.dueInfoAddress(now);
    if (address === undefined) return undefined;
    return {
      address,
      expect: { type: 'frame', kind: 'info' },
      purpose: 'info',
      build: () => encodeTrigger(address, 'info'),
      wanted: () => true,
      done: () => undefined,
    };
  }

  /** Transmit `job`; its answer must be complete by `windowEnd` (injected) or within responseTimeoutMs. */
  send(job: Job, injected: boolean, windowEnd: number): void {
    const { transport, timeline, arbiter } = this.host;
    let bytes: Buffer;
    try {
      bytes = job.build();
    } catch (err) {
      this.finishJob(job, { type: 'failed', error: settingToBusError(err, job.address) });
      this.pump();
      return;
    }
    // Answers to a trigger start with 55 AA: an echo expectation cannot eat them. A write's
    // acknowledgement starts with the write's own first six bytes, so for writes the echo is
    // recognised afterwards instead (isOwnEcho / prefix rule).
    if (job.expect.type === 'frame') timeline.expectEcho(bytes);
    if (arbiter.role === 'master') transport.flushInput?.();
    if (!transport.write(bytes)) {
      this.finishJob(job, { type: 'failed', error: new BusError('NOT_CONNECTED', `not connected to ${transport.description}`, job.address) });
      return;
    }
    const now = this.ctx.clock.now();
    const txEnd = now + bytes.length * this.ctx.byteMs;
    timeline.sent(bytes, txEnd);
    this.lastTxEnd = txEnd;
    this.host.transmitted();
    if (job.expect.type === 'frame') {
      this.host.reader.trigger(job.address, job.expect.kind, txEnd);
      this.host.packs.tried(job.address, job.expect.kind, now);
    }
    this.ctx.counters.add('requestsSent');
    if (injected) this.ctx.counters.add('requestsInjected');
    const timeout = Math.max(1, Math.min(this.ctx.options.responseTimeoutMs, windowEnd - txEnd));
    const x: Exchange = { job, sentAt: now, injected, collided: false, garbled: false, timer: this.ctx.after(txEnd - now + timeout, () => this.expired(x)) };
    this.current = x;
  }

  /** The exchange got its answer (a frame, an acknowledgement or an exception) at `at`. */
  complete(x: Exchange, outcome: Outcome, at = this.ctx.clock.now()): void {
    if (this.current !== x) return;
    this.ctx.cancel(x.timer);
    this.current = null;
    this.lastDoneAt = this.ctx.clock.now();
    this.host.packs.latency(x.job.address, this.lastDoneAt - x.sentAt);
    if (outcome.type === 'exception') this.host.packs.error(x.job.address);
    this.host.exchangeEnded(x, outcome, at);
    this.finishJob(x.job, outcome);
    this.pump();
  }

  /** The timeout ran out — but an answer may be waiting unread behind a busy event loop: look first. */
  private expired(x: Exchange): void {
    this.ctx.afterPendingInput(() => {
      if (this.current === x) this.timedOut(x);
    });
  }

  private timedOut(x: Exchange): void {
    this.current = null;
    const job = x.job;
    const now = this.ctx.clock.now();
    if (job.expect.type === 'frame') this.lastMiss = { address: job.address, kind: job.expect.kind, at: now };
    if (job.purpose !== 'probe') {
      this.ctx.counters.add('timeouts');
      this.host.packs.error(job.address);
    }
    // Master role: bytes came but no valid answer — a collision with someone we do not know
    // yet: listen first. Sniffing: garbage instead of the answer (dropped, or bytes heard and
    // nothing left of them) — the JK master or one of its slaves talked over our exchange. An
    // answer still arriving (held by the framer) is late, not garbled.
    const { arbiter, timeline } = this.host;
    const heard = timeline.lastRxAt > x.sentAt;
    if (arbiter.role === 'master' && heard) arbiter.holdOff();
    else if (arbiter.role === 'sniffing' && (x.garbled || (heard && timeline.buffered === 0))) this.talkedOver(x);
    this.host.exchangeEnded(x, { type: 'timeout' }, now);
    this.finishJob(job, { type: 'timeout' });
    this.pump();
  }

  private finishJob(job: Job, outcome: Outcome): void {
    try {
      job.done(outcome);
    } catch (err) {
      this.ctx.fail(err);
    }
  }

  /** Cancel the exchange and every queued job (stop, link down). */
  abort(): void {
    this.stopPump();
    const x = this.current;
    this.current = null;
    if (x) this.ctx.cancel(x.timer);
    this.demand.length = 0;
  }
}
