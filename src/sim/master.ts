import type { TimerHandle } from '../common/clock';
import { Framer, MAX_ADDRESS, encodeResponse, encodeTrigger, type FrameKind, type FramerEvent } from '../protocol';
import type { SimContext } from './context';
import type { SimPack } from './pack';
import type { WireNode } from './wire';

export interface MasterStats {
  /** Cycles started. */
  cycles: number;
  /** Triggers sent (live probes and settings requests). */
  requestsSent: number;
  /** Addresses that answered their last live probe, ascending. */
  present: number[];
}

/** Counter byte (offset 5) of the master's own frames in every RS485 capture (docs/protocol.md §2.4). */
const MASTER_COUNTER = 0x00;

/**
 * A JK-PB with DIP switches 0000: the bus master, as measured on real hardware
 * (docs/protocol.md §2.7, §6.2). One cycle:
 *
 *   own live frame (type 0x02, tail address 0), selfSpacingMs later own settings frame (type
 *   0x01, tail address 0), selfSpacingMs later: for each address 1…15 a live trigger (0x1620);
 *   an address that answers gets, gapAfterAnswerMs after the end of the answer, a settings
 *   trigger (0x161E), and gapAfterAnswerMs after that answer the master moves on; an address
 *   that stays silent for probeTimeoutMs after the trigger is marked absent and the master
 *   moves on at once. The next cycle starts cycleMs after this one started (or at once when the
 *   sequence took longer).
 *
 * The master never sends a device-info trigger (0x161C) and answers nothing addressed to it.
 * It learns which slaves are present from their answers (`present`). Its own frames come from
 * the SimPack at address 0, so setAlarm / setCurrent / setSilent on pack(0) act on the master
 * (a silent master sends nothing at all: the bus goes quiet, as with no master).
 */
export class JkMaster implements WireNode {
  readonly name = 'master';
  private readonly framer = new Framer();
  private timer: TimerHandle | undefined;
  private awaiting: { address: number; kind: FrameKind } | null = null;
  private cycleStart = 0;
  private running = false;
  private readonly presentSet = new Set<number>();
  private cycles = 0;
  private requestsSent = 0;

  constructor(
    private readonly ctx: SimContext,
    readonly pack: SimPack,
  ) {}

  stats(): MasterStats {
    return { cycles: this.cycles, requestsSent: this.requestsSent, present: [...this.presentSet].sort((a, b) => a - b) };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.after(0, () => this.startCycle());
  }

  stop(): void {
    this.running = false;
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.awaiting = null;
    this.framer.reset();
  }

  receive(chunk: Buffer): void {
    for (const e of this.framer.push(chunk)) this.handle(e);
  }

  idle(): void {
    for (const e of this.framer.flush()) this.handle(e);
  }

  private handle(e: FramerEvent): void {
    const w = this.awaiting;
    if (e.type !== 'frame' || !w || e.address !== w.address || e.kind !== w.kind) return;
    this.awaiting = null;
    this.presentSet.add(w.address);
    this.after(this.ctx.timing.master.gapAfterAnswerMs, () =>
      w.kind === 'live' ? this.trigger(w.address, 'settings') : this.poll(w.address + 1),
    );
  }

  /** Run `fn` after `ms` on the clock (replacing any pending step); never throws out of the timer. */
  private after(ms: number, fn: () => void): void {
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      try {
        fn();
      } catch (err) {
        this.ctx.error(err);
      }
    }, ms);
  }

  /** Transmit now, or — in 'defer' mode — once the line has been quiet for deferGuardMs. */
  private send(bytes: Buffer, then: (end: number) => void): void {
    const m = this.ctx.timing.master;
    const now = this.ctx.clock.now();
    if (m.foreignTraffic === 'defer') {
      const quietAt = this.ctx.wire.busyUntil() + m.deferGuardMs;
      if (quietAt > now) {
        this.after(quietAt - now, () => this.send(bytes, then));
        return;
      }
    }
    this.ctx.transmit(this, bytes);
    then(now + bytes.length * this.ctx.wire.byteTime);
  }

  private startCycle(): void {
    const m = this.ctx.timing.master;
    this.cycleStart = this.ctx.clock.now();
    if (this.pack.silent) {
      this.after(m.cycleMs, () => this.startCycle());
      return;
    }
    this.cycles += 1;
    this.selfFrame('live', () => this.selfFrame('settings', () => this.poll(1)));
  }

  private selfFrame(kind: 'live' | 'settings', next: () => void): void {
    const payload = kind === 'live' ? this.pack.live() : this.pack.settings();
    this.send(encodeResponse(payload, 0, { counter: MASTER_COUNTER }), () => {
      this.pack.counters.framesSent += 1;
      this.after(this.ctx.timing.master.selfSpacingMs, next);
    });
  }

  private poll(address: number): void {
    if (address > MAX_ADDRESS) {
      const m = this.ctx.timing.master;
      const now = this.ctx.clock.now();
      this.after(Math.max(0, this.cycleStart + m.cycleMs - now), () => this.startCycle());
      return;
    }
    this.trigger(address, 'live');
  }

  private trigger(address: number, kind: 'live' | 'settings'): void {
    if (this.pack.silent) {
      this.poll(MAX_ADDRESS + 1);
      return;
    }
    this.send(encodeTrigger(address, kind), (end) => {
      this.requestsSent += 1;
      this.awaiting = { address, kind };
      this.after(end - this.ctx.clock.now() + this.ctx.timing.master.probeTimeoutMs, () => {
        this.awaiting = null;
        if (kind === 'live') this.presentSet.delete(address);
        this.poll(address + 1);
      });
    });
  }
}
