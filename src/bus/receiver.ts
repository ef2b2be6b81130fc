import type { DataFrameEvent } from '../protocol/framer';
import type { Transport } from '../transport/transport';
import type { RoleArbiter } from './arbiter';
import type { EngineContext } from './context';
import type { FrameReader } from './frame-reader';
import { gapKey } from './gap-learner';
import type { GapInjector } from './injector';
import type { Operations } from './operations';
import type { PackTable } from './packs';
import type { PollPlan } from './poll-plan';
import type { Scheduler } from './scheduler';
import type { SerialConfirmation } from './serial-confirm';
import type { ReceiveTimeline, TimedEvent } from './timeline';
import type { FrameEvent } from './types';
import type { LinkWatchdog } from './watchdog';

/** The parts the receiver hands events to, and what it needs from the engine. */
export interface ReceiverParts {
  readonly ctx: EngineContext;
  readonly transport: Transport;
  readonly timeline: ReceiveTimeline;
  readonly reader: FrameReader;
  readonly arbiter: RoleArbiter;
  readonly scheduler: Scheduler;
  readonly injector: GapInjector;
  readonly confirm: SerialConfirmation;
  readonly watchdog: LinkWatchdog;
  readonly ops: Operations;
  readonly packs: PackTable;
  readonly plan: PollPlan;
  /** Clock time + this = epoch ms. */
  readonly epochOffset: number;
  /** A pack came online or went offline: emit it. */
  packEvent(address: number, online: boolean): void;
  /** Master role: someone else talks — stop and listen. */
  holdOff(): void;
}

/**
 * The receiving side of the engine: each chunk through the ReceiveTimeline, and every framer
 * event to the part it concerns — our echo and garbage to the counters, answers to the
 * scheduler's exchange, frames through the FrameReader to the pack table, the serial
 * confirmation, the waiting requests and the 'frame' event, and every foreign message to the
 * role arbiter and the gap injector. Holds no state of its own.
 */
export class Receiver {
  constructor(private readonly p: ReceiverParts) {}

  /** A chunk arrived (the engine is running). */
  receive(chunk: Buffer): void {
    const { ctx, timeline, watchdog, arbiter, scheduler } = this.p;
    const now = ctx.clock.now();
    const { events, heard } = timeline.push(chunk, now);
    if (heard) watchdog.heard();
    let foreign = false;
    for (const t of events) if (this.handle(t)) foreign = true;
    // Master role: a byte we did not cause (not our echo, not the answer we wait for) means
    // someone else is talking — stop at once, listen, and let the traffic tell who it is.
    if (arbiter.role === 'master' && (foreign || (timeline.buffered > 0 && !scheduler.ours(now)))) this.p.holdOff();
    timeline.armFlush();
  }

  /** The line went quiet and the timeline released what it held. */
  flushed(events: TimedEvent[]): void {
    let foreign = false;
    for (const t of events) if (this.handle(t)) foreign = true;
    if (this.p.arbiter.role === 'master' && foreign) this.p.holdOff();
  }

  /** Returns true when the event is foreign (not ours, not an answer to us). */
  private handle(t: TimedEvent): boolean {
    const e = t.event;
    switch (e.type) {
      case 'discard':
        return this.discarded(e.reason, e.bytes, t.now);
      case 'trigger':
        if (this.ownEcho(e.bytes, t.now)) return false;
        this.p.reader.trigger(e.address, e.kind, t.now);
        return this.foreign(gapKey.trigger(e.address, e.kind), t, true);
      case 'write':
        if (this.ownEcho(e.bytes, t.now)) return false;
        return this.foreign(gapKey.other('w', e.address), t, true);
      case 'ack':
      case 'exception': {
        const { scheduler } = this.p;
        const x = scheduler.exchange;
        if (x && x.job.address === e.address) {
          if (e.type === 'exception') {
            scheduler.complete(x, { type: 'exception', code: e.code }, t.now);
            return false;
          }
          if (x.job.expect.type === 'ack' && x.job.expect.register === e.register) {
            scheduler.complete(x, { type: 'ack' }, t.now);
            return false;
          }
        }
        return this.foreign(gapKey.other(e.type === 'ack' ? 'a' : 'x', e.address), t, false, e.address);
      }
      case 'frame':
        return this.frame(e, t);
    }
  }

  private discarded(reason: string, bytes: Buffer, now: number): boolean {
    const why = reason !== 'echo' && this.p.timeline.isEchoPrefix(bytes, now) ? 'echo' : reason;
    this.p.ctx.counters.discarded(why, bytes.length);
    this.p.ctx.fire('discard', { reason: why, bytes: bytes.length });
    if (why !== 'echo') this.p.scheduler.garbage();
    // Garbage while we wait for an answer is (most likely) a damaged answer, not a stranger.
    return why !== 'echo' && !this.p.scheduler.ours(now);
  }

  /** A trigger or write identical to our last transmission, heard right after it: our echo. */
  private ownEcho(bytes: Buffer, now: number): boolean {
    if (!this.p.timeline.isOwnEcho(bytes, now)) return false;
    this.p.ctx.counters.discarded('echo', bytes.length);
    this.p.ctx.fire('discard', { reason: 'echo', bytes: bytes.length });
    return true;
  }

  private frame(e: DataFrameEvent, t: TimedEvent): boolean {
    const { ctx, scheduler, packs } = this.p;
    const now = t.now;
    const read = this.p.reader.read(e, now);
    if ('rejected' in read) return this.discarded(read.rejected, e.bytes, now);
    const { address, payload } = read;
    const x = scheduler.exchange;
    const ours = !!x && x.job.expect.type === 'frame' && x.job.expect.kind === e.kind && x.job.address === address;
    const late = !ours && scheduler.lateAnswer(address, e.kind, now);
    const event: FrameEvent = {
      source: ours || late ? 'poll' : 'sniff',
      kind: e.kind,
      address,
      payload,
      at: now,
      ts: Math.round(now + this.p.epochOffset),
      raw: e.bytes,
    };
    if (address !== null) {
      this.p.transport.markHealthy();
      this.p.plan.answered(address);
    }
    // A changed serial number is held back: not emitted, the pack's state untouched; an awaited read waits for the confirmation.
    const accepted = payload.type !== 'info' || address === null || this.p.confirm.accept(address, payload);
    if (accepted) {
      ctx.counters.add('framesDecoded');
      if (address !== null && packs.frame(address, payload, now)) this.p.packEvent(address, true);
      ctx.fire('frame', event);
      this.p.ops.frameSeen(address, e.kind, event);
    }
    if (ours) {
      scheduler.complete(x, { type: 'frame', event }, now);
      return false;
    }
    if (late) return false;
    return this.foreign(gapKey.frame(address, e.kind), t, address === 0 && e.addressFrom === 'tail', address);
  }

  /**
   * A valid message we did not cause. `fromMaster`: it proves a master is polling (a trigger, a
   * write, or the JK master's own frame). `sender`: the pack that sent it (undefined for a
   * master's trigger or write). Returns true (it is foreign).
   */
  private foreign(key: string, t: TimedEvent, fromMaster: boolean, sender?: number | null): boolean {
    // While we wait for an answer: a master's message, or another pack's, talked over us. (Bytes
    // of the pack we asked — the tail of a truncated answer — are not someone else.)
    const x = this.p.scheduler.exchange;
    if (x && (sender === undefined || (sender !== null && sender !== x.job.address))) this.p.scheduler.talkedOver();
    const verdict = this.p.arbiter.foreign(fromMaster);
    this.p.injector.message(key, t.start, t.end, verdict === 'gap');
    return true;
  }
}
