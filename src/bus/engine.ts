import { EventEmitter } from 'node:events';
import { byteTimeMs } from '../protocol/constants';
import type { DecodedFrame, FrameKind } from '../protocol/types';
import { realClock, type Clock } from '../common/clock';
import type { Transport } from '../transport/transport';
import { RoleArbiter } from './arbiter';
import { errorText, type BusLog, type EngineContext } from './context';
import { FrameReader } from './frame-reader';
import { GapInjector } from './injector';
import { Operations, REQUEST_TIMEOUT_MS } from './operations';
import { resolveBusOptions } from './options';
import { PackTable } from './packs';
import { PollPlan } from './poll-plan';
import { Scheduler } from './scheduler';
import { SerialConfirmation } from './serial-confirm';
import { BusCounters } from './stats';
import { Receiver } from './receiver';
import { ReceiveTimeline } from './timeline';
import { LinkWatchdog } from './watchdog';
import { LoopWatch, pendingInputDefer } from './loop-watch';
import { BusError, type BusEngineApi, type BusOptions, type BusRole, type BusStats, type BusStatus, type PackState, type WriteOptions, type WriteResult } from './types';

export type { BusLog, BusLogLevel } from './context';
export { FLUSH_AFTER_MS, ECHO_WINDOW_MS } from './timeline';

export interface BusEngineDeps {
  clock?: Clock;
  log?: BusLog;
  /**
   * Run a callback once the input waiting now has been handed over (default: after the next
   * poll phases on the real clock, a 0 ms timer on any other clock). Tests use it to hold bytes
   * back until the engine is about to decide.
   */
  afterPendingInput?: (fn: () => void) => void;
}

/**
 * The bus engine: one per RS485 bus. Reads every byte through one protocol Framer, decodes
 * every frame, and decides who may talk:
 *
 *  - 'listening': nothing heard yet (auto mode start) or listen mode — never transmits.
 *  - 'sniffing' : a JK master (DIP 0000) polls the bus. We decode everything and place our own
 *                 requests (device info of the slaves, on-demand reads and writes) one at a time
 *                 into the master's quiet gaps, learned from its traffic.
 *  - 'master'   : no JK master: we poll the packs ourselves (PollPlan).
 *
 * This file keeps the public API and the wiring of the parts, each with one job and its own
 * state and timers:
 *   ReceiveTimeline (timeline.ts)   bytes → framer events with wire times; echo; flush
 *   FrameReader (frame-reader.ts)   decode, plausibility, sender of tail-less frames
 *   RoleArbiter (arbiter.ts)        roles: master silence, yielding to a JK master, hold-off
 *   Scheduler (scheduler.ts)        demand queue, master poll pump, exchanges and timeouts
 *   GapInjector (injector.ts)       requests into a JK master's quiet gaps, decided at send time
 *   LoopWatch (loop-watch.ts)       is the event loop responsive? how late are our timers?
 *   SerialConfirmation              a changed serial number waits for a second info frame
 *   LinkWatchdog (watchdog.ts)      reopen a silent link; once-a-second housekeeping
 *   Operations (operations.ts)      request() and confirmed write() as jobs
 *   BusCounters (stats.ts)          the health counters of stats()
 *
 * What it emits can be trusted as far as the protocol allows: a decoded frame that fails the
 * plausibility checks is dropped like a bad frame, and a device info with a serial number
 * other than the pack's known one is held back until a second info frame confirms it.
 *
 * Never throws from event handlers or timers; errors go to the log and the 'error' event
 * (which has a default listener).
 */
export class BusEngine extends EventEmitter implements BusEngineApi {
  readonly options: BusOptions;
  private readonly ctx: EngineContext;
  private readonly epochOffset: number;
  private readonly counters = new BusCounters();
  private readonly packs: PackTable;
  private readonly plan: PollPlan;
  private readonly reader: FrameReader;
  private readonly timeline: ReceiveTimeline;
  private readonly arbiter: RoleArbiter;
  private readonly scheduler: Scheduler;
  private readonly loop: LoopWatch;
  private readonly injector: GapInjector;
  private readonly confirm: SerialConfirmation;
  private readonly watchdog: LinkWatchdog;
  private readonly ops: Operations;
  private readonly receiver: Receiver;

  /** Lifecycle, read by every part (ctx.link). */
  private readonly link = { started: false, connected: false };
  private everConnected = false;

  private readonly onData = (chunk: Buffer): void =>
    this.guard('data', () => {
      if (this.link.started && chunk.length) this.receiver.receive(chunk);
    });
  private readonly onOpen = (): void => this.guard('open', () => this.linkUp());
  private readonly onClose = (err?: Error): void => this.guard('close', () => this.linkDown(err));
  private readonly onTransportError = (err: Error): void => this.ctx.log('warn', `${this.transport.description}: ${err.message}`);

  constructor(
    readonly transport: Transport,
    options: Partial<BusOptions> = {},
    deps: BusEngineDeps = {},
  ) {
    super();
    this.on('error', () => undefined);
    const resolved = resolveBusOptions(options);
    this.options = Object.freeze({ ...resolved, addresses: [...resolved.addresses] });
    const clock = deps.clock ?? realClock;
    const baud = (transport as { baudRate?: unknown }).baudRate;
    // Every timer tells the loop watch how late it ran.
    const after = (ms: number, fn: () => void) => {
      const due = clock.now() + Math.max(0, ms);
      return clock.setTimeout(() => {
        this.loop.record(clock.now() - due);
        this.guard('timer', fn);
      }, ms);
    };
    this.ctx = {
      clock,
      link: this.link,
      options: this.options,
      byteMs: byteTimeMs(typeof baud === 'number' && baud > 0 ? baud : 115200),
      counters: this.counters,
      log: deps.log ?? (() => undefined),
      after,
      cancel: (t) => clock.clearTimeout(t),
      afterPendingInput: deps.afterPendingInput
        ? (fn) => deps.afterPendingInput!(() => this.guard('timer', fn))
        : pendingInputDefer(clock, after, (fn) => this.guard('timer', fn)),
      fire: (event, payload) => this.fire(event, payload),
      fail: (err, where) => this.fail(err, where),
    };
    this.epochOffset = Date.now() - clock.now();
    this.packs = new PackTable((t) => t + this.epochOffset);
    this.plan = new PollPlan(resolved.addresses);
    this.reader = new FrameReader(this.ctx.log);
    this.timeline = new ReceiveTimeline(this.ctx, (events) => this.receiver.flushed(events));
    this.arbiter = new RoleArbiter(this.ctx, {
      roleChanged: (role, previous, reason) => this.roleChanged(role, previous, reason),
    });
    this.scheduler = new Scheduler(this.ctx, {
      transport,
      timeline: this.timeline,
      arbiter: this.arbiter,
      reader: this.reader,
      packs: this.packs,
      plan: this.plan,
      packGone: (address) => this.packEvent(address, false),
      transmitted: () => this.watchdog.transmitted(),
      exchangeEnded: (x, outcome, at) => this.injector.exchangeEnded(x, outcome, at),
      queued: () => this.injector.update(),
    });
    this.loop = new LoopWatch(this.ctx, (lateMs) => this.injector.stalled(lateMs));
    this.injector = new GapInjector(this.ctx, { timeline: this.timeline, scheduler: this.scheduler, arbiter: this.arbiter }, this.loop);
    this.confirm = new SerialConfirmation(this.ctx, {
      packs: this.packs,
      enqueue: (job, front) => this.scheduler.enqueue(job, front),
      hasQueued: (purpose, address) => this.scheduler.hasQueued(purpose, address),
    });
    this.watchdog = new LinkWatchdog(this.ctx, {
      transport,
      timeline: this.timeline,
      expectingBytes: (sentSinceRx) => {
        const role = this.arbiter.role;
        return (role === 'master' && sentSinceRx > 0) || role === 'sniffing' || this.arbiter.masterPresent;
      },
      sweep: (now) => this.sweep(now),
    });
    this.ops = new Operations({
      clock,
      packs: this.packs,
      options: this.options,
      transport,
      enqueue: (job, front) => this.scheduler.enqueue(job, front),
      after,
      fail: (err) => this.fail(err),
      state: () => this.link,
    });
    this.receiver = new Receiver({
      ctx: this.ctx,
      transport,
      timeline: this.timeline,
      reader: this.reader,
      arbiter: this.arbiter,
      scheduler: this.scheduler,
      injector: this.injector,
      confirm: this.confirm,
      watchdog: this.watchdog,
      ops: this.ops,
      packs: this.packs,
      plan: this.plan,
      epochOffset: this.epochOffset,
      packEvent: (address, online) => this.packEvent(address, online),
      holdOff: () => this.holdOff(),
    });
  }

  // ---------------------------------------------------------------------------------------
  // Public API

  start(): void {
    if (this.link.started) return;
    this.link.started = true;
    this.transport.on('data', this.onData);
    this.transport.on('open', this.onOpen);
    this.transport.on('close', this.onClose);
    this.transport.on('error', this.onTransportError);
    this.arbiter.started();
    this.watchdog.start();
    this.transport.open();
    if (this.transport.isOpen() && !this.link.connected) this.linkUp();
  }

  async stop(): Promise<void> {
    if (!this.link.started) return;
    this.link.started = false;
    this.watchdog.stop();
    this.transport.off('data', this.onData);
    this.transport.off('open', this.onOpen);
    this.transport.off('close', this.onClose);
    this.transport.off('error', this.onTransportError);
    this.abortAll(new BusError('STOPPED', 'the bus engine was stopped'));
    const wasConnected = this.link.connected;
    this.link.connected = false;
    this.arbiter.stopped();
    if (wasConnected) this.fire('connection', { connected: false });
    try {
      await this.transport.close();
    } catch (err) {
      this.ctx.log('warn', `closing ${this.transport.description} failed: ${errorText(err)}`);
    }
  }

  status(): BusStatus {
    return {
      mode: this.options.mode,
      role: this.arbiter.role,
      connected: this.link.connected,
      masterPresent: this.arbiter.masterPresent,
      packsOnline: this.packs.onlineCount,
      packs: this.packs.all(),
      stats: this.stats(),
    };
  }

  stats(): BusStats {
    return this.counters.snapshot({ queued: this.scheduler.queued, loopLagMs: Math.round(this.loop.lagMs() * 10) / 10 });
  }

  pack(address: number): PackState | undefined {
    return this.packs.get(address);
  }

  request(target: number, kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame>;
  request(target: 'all', kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame[]>;
  request(target: number | 'all', kind: FrameKind, opts: { timeoutMs?: number } = {}): Promise<DecodedFrame | DecodedFrame[]> {
    return new Promise<DecodedFrame | DecodedFrame[]>((resolve, reject) => {
      try {
        this.ops.request(target, kind, opts?.timeoutMs ?? REQUEST_TIMEOUT_MS, resolve, reject);
      } catch (err) {
        reject(err);
      }
    });
  }

  write(target: number, setting: string, value: number | boolean, opts?: WriteOptions): Promise<WriteResult>;
  write(target: 'all', setting: string, value: number | boolean, opts?: WriteOptions): Promise<WriteResult[]>;
  write(target: number | 'all', setting: string, value: number | boolean, opts: WriteOptions = {}): Promise<WriteResult | WriteResult[]> {
    return new Promise<WriteResult | WriteResult[]>((resolve, reject) => {
      try {
        this.ops.write(target, setting, value, opts ?? {}, resolve, reject);
      } catch (err) {
        reject(err);
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Wiring of the parts

  private roleChanged(role: BusRole, previous: BusRole, reason: string): void {
    this.scheduler.stopPump();
    this.injector.cancel();
    if (role === 'master') {
      this.injector.reset();
      this.plan.begin(this.packs.onlineAddresses());
    }
    this.fire('role', { role, previous, reason });
    if (role === 'master') this.scheduler.pump();
    this.injector.update();
  }

  private holdOff(): void {
    this.arbiter.holdOff();
    this.scheduler.restart();
  }

  private linkUp(): void {
    if (!this.link.started) return;
    const now = this.ctx.clock.now();
    this.link.connected = true;
    if (this.everConnected) this.counters.add('reconnects');
    this.everConnected = true;
    this.timeline.reset(now);
    this.watchdog.linkUp();
    this.injector.reset();
    this.ctx.log('info', `connected to ${this.transport.description}`);
    this.fire('connection', { connected: true });
    this.arbiter.linkUp(now);
  }

  private linkDown(err?: Error): void {
    if (!this.link.started || !this.link.connected) return;
    this.link.connected = false;
    this.abortAll(new BusError('NOT_CONNECTED', `lost the connection to ${this.transport.description}${err ? `: ${err.message}` : ''}`));
    this.timeline.reset();
    this.ctx.log('warn', `disconnected from ${this.transport.description}${err ? ` (${err.message})` : ''}`);
    this.fire('connection', { connected: false, ...(err ? { error: err.message } : {}) });
    this.arbiter.linkDown();
  }

  /** Cancel the exchange and every queued job, request and write. */
  private abortAll(err: BusError): void {
    this.scheduler.abort();
    this.injector.stop();
    this.timeline.stop();
    this.ops.abort(err);
  }

  private sweep(now: number): void {
    for (const address of this.packs.sweep(now, this.options.offlineAfterS * 1000)) {
      this.plan.markAbsent(address, now);
      this.packEvent(address, false);
    }
  }

  private packEvent(address: number, online: boolean): void {
    const pack = this.packs.get(address);
    if (!pack) return;
    this.ctx.log('info', `pack ${address} ${online ? 'online' : 'offline'}`);
    this.fire('pack', { address, online, pack });
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(err, what);
    }
  }

  private fail(err: unknown, where = 'handler'): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.ctx.log('error', `bus engine ${where}: ${e.message}`);
    this.fire('error', e);
  }

  /** emit() that a throwing listener cannot turn into a crash. */
  private fire(event: string, payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (err) {
      this.ctx.log('error', `a '${event}' listener threw: ${errorText(err)}`);
      if (event !== 'error') {
        try {
          this.emit('error', err instanceof Error ? err : new Error(String(err)));
        } catch {
          // nothing more we can do
        }
      }
    }
  }
}
