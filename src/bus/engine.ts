import { EventEmitter } from 'node:events';
import { byteTimeMs } from '../protocol/constants';
import { decodeFrame } from '../protocol/decode';
import { encodeTrigger } from '../protocol/encode';
import { Framer, type DataFrameEvent, type FramerEvent } from '../protocol/framer';
import { validateSetting } from '../protocol/settings';
import { implausible } from '../protocol/plausibility';
import type { DecodedFrame, FrameKind, InfoPayload } from '../protocol/types';
import { realClock, type Clock, type TimerHandle } from '../common/clock';
import { settingToBusError } from './errors';
import { GapLearner, gapKey, planInjection } from './gap-learner';
import type { Job, Outcome } from './jobs';
import { Operations, REQUEST_TIMEOUT_MS, type CheckedSetting } from './operations';
import { resolveBusOptions } from './options';
import { PackTable } from './packs';
import { RejectionStreaks } from './rejections';
import { PollPlan } from './poll-plan';
import type { Transport } from '../transport/transport';
import {
  BusError,
  type BusEngineApi,
  type BusOptions,
  type BusRole,
  type BusStats,
  type BusStatus,
  type FrameEvent,
  type PackState,
  type WriteResult,
} from './types';

export type BusLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type BusLog = (level: BusLogLevel, msg: string) => void;

export interface BusEngineDeps {
  clock?: Clock;
  log?: BusLog;
}

/** A tail-less frame is released after this much line silence (TCP gateways split frames a few ms apart). */
export const FLUSH_AFTER_MS = 25;
/** A trigger identical to our last transmission arriving this soon after it is our own echo. */
export const ECHO_WINDOW_MS = 30;
/** Stray bytes this soon after an answer belong to it (e.g. a 309th byte 0x00), not to a stranger. */
const STRAY_WINDOW_MS = 10;
/** A frame without tail address belongs to the last trigger of its kind seen within this time. */
const ATTRIBUTION_WINDOW_MS = 1000;
const HOUSEKEEPING_MS = 1000;
/** After an unanswered settings/info read, wait this long before trying that kind again. */
const RETRY_MASTER_MS = 60_000;
const RETRY_SNIFF_MS = 5_000;
const WATCHDOG_MAX_MS = 300_000;
/** Device-info reads that confirm a changed serial number: at most this many per pack … */
const CONFIRM_ATTEMPTS = 3;
/** … within this time. */
const CONFIRM_WINDOW_MS = 60_000;

interface Exchange {
  job: Job;
  sentAt: number;
  timer: TimerHandle;
}

/**
 * The bus engine: one per RS485 bus. Reads every byte through one protocol Framer, decodes
 * every frame, and decides who may talk:
 *
 *  - 'listening': nothing heard yet (auto mode start) or listen mode — never transmits.
 *  - 'sniffing' : a JK master (DIP 0000) polls the bus. We decode everything and place our own
 *                 requests (device info of the slaves, on-demand reads and writes) one at a time
 *                 into the master's quiet gaps, learned from its traffic (GapLearner).
 *  - 'master'   : no JK master: we poll the packs ourselves (PollPlan).
 *
 * Auto mode listens first, sniffs when a master is heard and becomes master after
 * `masterSilenceMs` without master traffic. Master mode starts polling at once (after a short
 * listen), but yields like auto mode when a JK master appears: two masters only collide.
 *
 * What it emits can be trusted as far as the protocol allows: a decoded frame that fails the
 * plausibility checks (src/protocol/plausibility.ts) is dropped like a bad frame, and a device
 * info with a serial number other than the pack's known one is held back until a second info
 * frame — read at the next moment we may talk — confirms it (no phantom packs).
 *
 * Never throws from event handlers or timers; errors go to the log and the 'error' event
 * (which has a default listener).
 */
export class BusEngine extends EventEmitter implements BusEngineApi {
  readonly options: BusOptions;
  private readonly clock: Clock;
  private readonly log: BusLog;
  private readonly byteMs: number;
  private readonly epochOffset: number;
  private readonly addresses: number[];
  private readonly holdOffMs: number;
  private readonly watchdogBaseMs: number;

  private readonly framer = new Framer();
  private readonly packs: PackTable;
  private readonly learner = new GapLearner();
  private readonly rejections: RejectionStreaks;
  private readonly plan: PollPlan;
  private readonly ops: Operations;
  private readonly statsData: BusStats = {
    bytesReceived: 0,
    bytesDiscarded: 0,
    framesDecoded: 0,
    requestsSent: 0,
    requestsInjected: 0,
    timeouts: 0,
    discards: {},
  };

  private started = false;
  private connected = false;
  private role: BusRole = 'stopped';
  private masterPresent = false;

  /** Clock times. */
  private lastRxAt = -Infinity;
  private lastForeignAt = -Infinity;
  private lastTxEnd = -Infinity;
  private lastTx: { bytes: Buffer; end: number } | null = null;
  private lastTrigger: { address: number; kind: FrameKind; at: number } | null = null;
  private lastMiss: { address: number; kind: FrameKind; at: number } | null = null;
  /** When our last exchange was answered. */
  private lastDoneAt = -Infinity;
  /** Stream bookkeeping for the end time of each framer event inside a chunk. */
  private rxTotal = 0;
  private consumed = 0;
  /** Master role: foreign bytes were heard, stay quiet until the line has been quiet for holdOffMs. */
  private held = false;
  private sentSinceRx = 0;
  private watchdogMs: number;

  private exchange: Exchange | null = null;
  private readonly demand: Job[] = [];
  /** Clock times of the recent serial-confirmation reads, per address. */
  private readonly confirmations = new Map<number, number[]>();

  private sendTimer: TimerHandle | null = null;
  private injectTimer: TimerHandle | null = null;
  private flushTimer: TimerHandle | null = null;
  private silenceTimer: TimerHandle | null = null;
  private houseTimer: TimerHandle | null = null;

  private readonly onData = (chunk: Buffer): void => this.guard('data', () => this.receive(chunk));
  private readonly onOpen = (): void => this.guard('open', () => this.linkUp());
  private readonly onClose = (err?: Error): void => this.guard('close', () => this.linkDown(err));
  private readonly onTransportError = (err: Error): void => this.log('warn', `${this.transport.description}: ${err.message}`);

  constructor(
    readonly transport: Transport,
    options: Partial<BusOptions> = {},
    deps: BusEngineDeps = {},
  ) {
    super();
    this.on('error', () => undefined);
    const resolved = resolveBusOptions(options);
    this.addresses = resolved.addresses;
    this.options = Object.freeze({ ...resolved, addresses: [...resolved.addresses] });
    this.clock = deps.clock ?? realClock;
    this.log = deps.log ?? (() => undefined);
    const baud = (transport as { baudRate?: unknown }).baudRate;
    this.byteMs = byteTimeMs(typeof baud === 'number' && baud > 0 ? baud : 115200);
    this.epochOffset = Date.now() - this.clock.now();
    this.packs = new PackTable((t) => t + this.epochOffset);
    this.plan = new PollPlan(this.addresses);
    this.rejections = new RejectionStreaks((msg) => this.log('warn', msg));
    this.ops = new Operations({
      clock: this.clock,
      packs: this.packs,
      enqueue: (job, front) => this.enqueue(job, front),
      after: (ms, fn) => this.after(ms, fn),
      fail: (err) => this.fail(err),
    });
    this.holdOffMs = Math.min(this.options.masterSilenceMs, Math.max(this.options.minGapMs, 500));
    this.watchdogBaseMs = Math.max(5000, 10 * this.options.responseTimeoutMs);
    this.watchdogMs = this.watchdogBaseMs;
  }

  // ---------------------------------------------------------------------------------------
  // Public API

  start(): void {
    if (this.started) return;
    this.started = true;
    this.transport.on('data', this.onData);
    this.transport.on('open', this.onOpen);
    this.transport.on('close', this.onClose);
    this.transport.on('error', this.onTransportError);
    this.setRole('listening', 'started');
    this.houseTimer = this.after(HOUSEKEEPING_MS, () => this.housekeeping());
    this.transport.open();
    if (this.transport.isOpen() && !this.connected) this.linkUp();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const t of [this.sendTimer, this.injectTimer, this.flushTimer, this.silenceTimer, this.houseTimer]) this.clock.clearTimeout(t);
    this.sendTimer = this.injectTimer = this.flushTimer = this.silenceTimer = this.houseTimer = null;
    this.transport.off('data', this.onData);
    this.transport.off('open', this.onOpen);
    this.transport.off('close', this.onClose);
    this.transport.off('error', this.onTransportError);
    this.abortAll(new BusError('STOPPED', 'the bus engine was stopped'));
    const wasConnected = this.connected;
    this.connected = false;
    this.setRole('stopped', 'stopped');
    if (wasConnected) this.fire('connection', { connected: false });
    try {
      await this.transport.close();
    } catch (err) {
      this.log('warn', `closing ${this.transport.description} failed: ${errorText(err)}`);
    }
  }

  status(): BusStatus {
    return {
      mode: this.options.mode,
      role: this.role,
      connected: this.connected,
      masterPresent: this.masterPresent,
      packsOnline: this.packs.onlineCount,
      packs: this.packs.all(),
      stats: { ...this.statsData, discards: { ...this.statsData.discards } },
    };
  }

  pack(address: number): PackState | undefined {
    return this.packs.get(address);
  }

  request(target: number, kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame>;
  request(target: 'all', kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame[]>;
  request(target: number | 'all', kind: FrameKind, opts: { timeoutMs?: number } = {}): Promise<DecodedFrame | DecodedFrame[]> {
    return new Promise<DecodedFrame | DecodedFrame[]>((resolve, reject) => {
      try {
        const timeoutMs = opts?.timeoutMs ?? REQUEST_TIMEOUT_MS;
        if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
          throw new RangeError(`request timeoutMs must be a positive number of ms, got ${JSON.stringify(opts?.timeoutMs)}`);
        }
        if (kind !== 'live' && kind !== 'settings' && kind !== 'info') {
          throw new RangeError(`request kind must be 'live', 'settings' or 'info', got ${JSON.stringify(kind)}`);
        }
        this.checkCanTalk();
        if (target === 'all') {
          const targets = this.packs.onlineAddresses().filter((a) => a !== 0 || kind !== 'info');
          if (!targets.length) throw new BusError('UNKNOWN_PACK', 'no pack is online on this bus yet');
          this.ops.requestAll(targets, kind, timeoutMs, resolve, reject);
          return;
        }
        this.checkKnown(target);
        if (target === 0 && kind === 'info') {
          throw new BusError('UNKNOWN_PACK', 'the JK master (address 0) never sends its device info on this bus', 0);
        }
        this.ops.read(target, kind, timeoutMs, 'request', (r) => (r instanceof BusError ? reject(r) : resolve(r.payload)));
      } catch (err) {
        reject(err);
      }
    });
  }

  write(target: number, setting: string, value: number | boolean): Promise<WriteResult>;
  write(target: 'all', setting: string, value: number | boolean): Promise<WriteResult[]>;
  write(target: number | 'all', setting: string, value: number | boolean): Promise<WriteResult | WriteResult[]> {
    return new Promise<WriteResult | WriteResult[]>((resolve, reject) => {
      try {
        if (!this.started) throw new BusError('STOPPED', 'the bus engine is not running');
        if (!this.options.allowWrites) {
          throw new BusError('WRITES_DISABLED', 'settings writes are disabled on this bus (enable "allow writes" first)');
        }
        if (this.options.mode === 'listen') throw new BusError('LISTEN_ONLY', 'the bus is in listen mode: it never transmits');
        let checked: CheckedSetting;
        try {
          checked = validateSetting(setting, value);
        } catch (err) {
          throw settingToBusError(err);
        }
        if (!this.connected) throw new BusError('NOT_CONNECTED', `not connected to ${this.transport.description}`);
        if (target === 'all') {
          const targets = this.packs.onlineAddresses().filter((a) => a !== 0);
          if (!targets.length) throw new BusError('UNKNOWN_PACK', 'no slave pack is online on this bus');
          for (const a of targets) this.ops.prevalidate(a, checked);
          this.ops.writeAll(targets, checked, resolve);
          return;
        }
        this.checkKnown(target);
        if (target === 0) {
          throw new BusError('UNKNOWN_PACK', 'the JK master (address 0) does not accept writes on this bus; change its settings with the JK app', 0);
        }
        if (!this.packs.isOnline(target)) throw new BusError('PACK_OFFLINE', `pack ${target} is offline`, target);
        this.ops.prevalidate(target, checked);
        this.ops.writeOne(target, checked, (err, result) => (err ? reject(err) : resolve(result!)));
      } catch (err) {
        reject(err);
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private receive(chunk: Buffer): void {
    if (!this.started || !chunk.length) return;
    const now = this.clock.now();
    this.statsData.bytesReceived += chunk.length;
    this.rxTotal += chunk.length;
    const events = this.framer.push(chunk);
    let echoBytes = 0;
    for (const e of events) if (e.type === 'discard' && e.reason === 'echo') echoBytes += e.bytes.length;
    if (chunk.length > echoBytes) {
      this.lastRxAt = now;
      this.sentSinceRx = 0;
      this.watchdogMs = this.watchdogBaseMs;
    }
    const foreign = this.handleEvents(events, now);
    this.consumed = this.rxTotal - this.framer.buffered;
    // Master role: a byte we did not cause (not our echo, not the answer we wait for) means
    // someone else is talking — stop at once, listen, and let the traffic tell who it is.
    if (this.role === 'master' && (foreign || (this.framer.buffered > 0 && !this.ours(now)))) this.holdOff();
    if (this.framer.buffered > 0) this.armFlush();
  }

  /** Handle framer events that ended at or before `now`; returns true when any was foreign. */
  private handleEvents(events: FramerEvent[], now: number): boolean {
    let pos = this.consumed;
    let foreign = false;
    for (const e of events) {
      pos += e.bytes.length;
      const end = Math.min(now, now - (this.rxTotal - pos) * this.byteMs);
      const start = end - e.bytes.length * this.byteMs;
      if (this.handleEvent(e, start, end, now)) foreign = true;
    }
    return foreign;
  }

  /** `now`: when the event's last byte arrived (the chunk's arrival, or the last byte before a flush). */
  private handleEvent(e: FramerEvent, start: number, end: number, now: number): boolean {
    switch (e.type) {
      case 'discard':
        return this.handleDiscard(e.reason, e.bytes, now);
      case 'trigger':
        if (this.isOwnEcho(e.bytes, now)) return false;
        this.lastTrigger = { address: e.address, kind: e.kind, at: now };
        return this.foreignMessage(gapKey.trigger(e.address, e.kind), start, end, true);
      case 'write':
        if (this.isOwnEcho(e.bytes, now)) return false;
        return this.foreignMessage(gapKey.other('w', e.address), start, end, true);
      case 'ack':
      case 'exception': {
        const x = this.exchange;
        if (x && x.job.address === e.address) {
          if (e.type === 'exception') {
            this.complete(x, { type: 'exception', code: e.code });
            return false;
          }
          if (x.job.expect.type === 'ack' && x.job.expect.register === e.register) {
            this.complete(x, { type: 'ack' });
            return false;
          }
        }
        return this.foreignMessage(gapKey.other(e.type === 'ack' ? 'a' : 'x', e.address), start, end, false);
      }
      case 'frame':
        return this.handleFrame(e, start, end, now);
    }
  }

  private handleDiscard(reason: string, bytes: Buffer, now: number): boolean {
    let why = reason;
    // A prefix of our own last transmission (CH341-style partial echo) that the framer could not
    // be told about in advance (writes: their acknowledgement starts with the same bytes).
    const tx = this.lastTx;
    if (why !== 'echo' && tx && now - tx.end <= ECHO_WINDOW_MS && bytes.length <= tx.bytes.length && tx.bytes.subarray(0, bytes.length).equals(bytes)) {
      why = 'echo';
    }
    const n = bytes.length;
    this.statsData.discards[why] = (this.statsData.discards[why] ?? 0) + n;
    if (why !== 'echo') this.statsData.bytesDiscarded += n;
    this.fire('discard', { reason: why, bytes: n });
    // Garbage while we wait for an answer is (most likely) a damaged answer, not a stranger.
    return why !== 'echo' && !this.ours(now);
  }

  /** Bytes arriving at `at` are part of our own exchange (awaited, or stray bytes right after it). */
  private ours(at: number): boolean {
    return !!this.exchange || at - this.lastDoneAt <= STRAY_WINDOW_MS;
  }

  private handleFrame(e: DataFrameEvent, start: number, end: number, now: number): boolean {
    let address = e.address;
    if (address === null) {
      const t = this.lastTrigger;
      if (t && t.kind === e.kind && now - t.at <= ATTRIBUTION_WINDOW_MS) address = t.address;
    }
    let payload: DecodedFrame;
    try {
      payload = decodeFrame(e.frame, address);
    } catch (err) {
      this.log('debug', `frame rejected: ${errorText(err)}`);
      return this.handleDiscard('bad-frame', e.bytes, now);
    }
    const problem = implausible(payload, e.addressFrom === 'tail' ? e.address : null, e.frame);
    this.rejections.count(address, e.kind, problem);
    if (problem) {
      this.log('debug', `${e.kind} frame${address === null ? '' : ` of pack ${address}`} rejected as implausible: ${problem}`);
      return this.handleDiscard('implausible', e.bytes, now);
    }
    const x = this.exchange;
    const ours = !!x && x.job.expect.type === 'frame' && x.job.expect.kind === e.kind && x.job.address === address;
    const miss = this.lastMiss;
    const late =
      !ours && !!miss && miss.address === address && miss.kind === e.kind && now - miss.at <= 2 * this.options.responseTimeoutMs;
    const event: FrameEvent = {
      source: ours || late ? 'poll' : 'sniff',
      kind: e.kind,
      address,
      payload,
      at: now,
      ts: Math.round(now + this.epochOffset),
      raw: e.bytes,
    };
    if (address !== null) {
      this.transport.markHealthy();
      this.plan.answered(address);
    }
    // A changed serial number is held back: not emitted, the pack's state untouched; an awaited read waits for the confirmation.
    const accepted = payload.type !== 'info' || address === null || this.acceptSerial(address, payload);
    if (accepted) {
      this.statsData.framesDecoded += 1;
      if (address !== null && this.packs.frame(address, payload, now)) this.packEvent(address, true);
      this.fire('frame', event);
      this.ops.frameSeen(address, e.kind, event);
    }
    if (ours) {
      this.complete(x, { type: 'frame', event });
      return false;
    }
    if (late) return false;
    const fromMaster = address === 0 && e.addressFrom === 'tail';
    return this.foreignMessage(gapKey.frame(address, e.kind), start, end, fromMaster);
  }

  /**
   * A device-info frame of a known pack with a different serial number is held back until a
   * second info frame confirms it (PackTable.serialVerdict); we ask for that one at the next
   * moment we may talk. Returns false while it is held back.
   */
  private acceptSerial(address: number, info: InfoPayload): boolean {
    const known = this.packs.get(address)?.info?.serialNumber;
    const wasPending = this.packs.serialPending(address);
    if (this.packs.serialVerdict(address, info.serialNumber) === 'accept') {
      if (known !== undefined && known !== info.serialNumber) {
        this.log('info', `pack ${address}: serial number changed from ${known} to ${info.serialNumber} (confirmed by a second info frame)`);
      } else if (wasPending) {
        this.log('info', `pack ${address}: serial number ${info.serialNumber} confirmed again; the different one was not`);
      }
      return true;
    }
    this.log('info', `pack ${address}: info frame with a new serial number ${info.serialNumber} (known: ${known}) held back until another info frame confirms it`);
    this.requestConfirmation(address);
    return false;
  }

  /**
   * Queue a device-info read of `address`, retried when unanswered; at most CONFIRM_ATTEMPTS
   * per pack within CONFIRM_WINDOW_MS, so a pack whose serial number never settles cannot crowd
   * out the polling (its regular info reads go on deciding). Not in listen mode: there the next
   * info frame someone else causes decides.
   */
  private requestConfirmation(address: number): void {
    if (this.options.mode === 'listen' || !this.packs.serialPending(address)) return;
    if (this.demand.some((j) => j.purpose === 'confirm' && j.address === address)) return;
    const now = this.clock.now();
    const recent = (this.confirmations.get(address) ?? []).filter((t) => now - t < CONFIRM_WINDOW_MS);
    this.confirmations.set(address, recent);
    if (recent.length >= CONFIRM_ATTEMPTS) return;
    recent.push(now);
    this.enqueue(
      {
        address,
        expect: { type: 'frame', kind: 'info' },
        purpose: 'confirm',
        build: () => encodeTrigger(address, 'info'),
        wanted: () => this.packs.serialPending(address),
        done: (o) => {
          if (o.type === 'timeout' || o.type === 'exception') this.requestConfirmation(address);
        },
      },
      true,
    );
  }

  /** A trigger or write identical to our last transmission, heard right after it: our echo. */
  private isOwnEcho(bytes: Buffer, now: number): boolean {
    const tx = this.lastTx;
    if (!tx || now - tx.end > ECHO_WINDOW_MS || !bytes.equals(tx.bytes)) return false;
    this.statsData.discards.echo = (this.statsData.discards.echo ?? 0) + bytes.length;
    this.fire('discard', { reason: 'echo', bytes: bytes.length });
    return true;
  }

  /**
   * A valid message we did not cause. `master`: it proves a master is polling (a trigger, a
   * write, or the JK master's own frame). Returns true (it is foreign).
   */
  private foreignMessage(key: string, start: number, end: number, master: boolean): boolean {
    const now = this.clock.now();
    this.learner.message(key, start, end);
    this.lastForeignAt = now;
    if (master && !this.masterPresent) {
      this.masterPresent = true;
      this.log('info', 'JK master traffic heard');
    }
    this.armSilence();
    if (this.options.mode === 'listen') return true;
    if (master && (this.role === 'master' || this.role === 'listening')) {
      this.setRole('sniffing', this.role === 'master' ? 'a JK master started polling: we stopped transmitting' : 'JK master traffic heard');
    } else if (this.role === 'sniffing') {
      this.considerGap(key, end);
    }
    return true;
  }

  private armFlush(): void {
    if (this.flushTimer) return;
    const due = this.lastRxAt + FLUSH_AFTER_MS - this.clock.now();
    this.flushTimer = this.after(Math.max(1, due), () => {
      this.flushTimer = null;
      if (this.framer.buffered === 0) return;
      const now = this.clock.now();
      if (now - this.lastRxAt < FLUSH_AFTER_MS - 1e-6) {
        this.armFlush();
        return;
      }
      // Quiet as far as we know — but after a busy spell of the event loop, bytes may be waiting
      // unread: let pending I/O in first (a 0 ms timer runs after the poll phase), then decide.
      const heard = this.lastRxAt;
      this.flushTimer = this.after(0, () => {
        this.flushTimer = null;
        if (this.lastRxAt !== heard) this.armFlush();
        else this.flushNow();
      });
    });
  }

  /** The line went quiet: a frame whose tail never came is released, partial bytes dropped. */
  private flushNow(): void {
    const events = this.framer.flush();
    const at = this.lastRxAt;
    let foreign = false;
    for (const e of events) if (this.handleEvent(e, at - e.bytes.length * this.byteMs, at, at)) foreign = true;
    this.consumed = this.rxTotal - this.framer.buffered;
    if (this.role === 'master' && foreign) this.holdOff();
  }

  // ---------------------------------------------------------------------------------------
  // Roles

  private setRole(role: BusRole, reason: string): void {
    const previous = this.role;
    if (role === previous) return;
    this.role = role;
    this.clock.clearTimeout(this.sendTimer);
    this.clock.clearTimeout(this.injectTimer);
    this.sendTimer = this.injectTimer = null;
    this.log('info', `role ${previous} → ${role} (${reason})`);
    if (role === 'master') {
      this.masterPresent = false;
      this.learner.reset();
      this.plan.begin(this.packs.onlineAddresses());
    }
    this.fire('role', { role, previous, reason });
    if (role === 'master') this.pump();
  }

  /** Arm the timer that notices the master going quiet (lazy: re-armed only when it fires early). */
  private armSilence(): void {
    if (this.silenceTimer || !this.started) return;
    const due = this.lastForeignAt + this.options.masterSilenceMs - this.clock.now();
    this.silenceTimer = this.after(Math.max(1, due), () => {
      this.silenceTimer = null;
      this.checkSilence();
    });
  }

  private checkSilence(): void {
    const now = this.clock.now();
    const quiet = now - this.lastForeignAt;
    if (quiet < this.options.masterSilenceMs - 1e-6) {
      this.armSilence();
      return;
    }
    if (this.masterPresent) {
      this.masterPresent = false;
      this.log('info', `no JK master traffic for ${this.options.masterSilenceMs} ms`);
    }
    if (this.options.mode !== 'listen' && this.connected && (this.role === 'listening' || this.role === 'sniffing')) {
      this.setRole('master', `no JK master traffic for ${this.options.masterSilenceMs} ms`);
    }
  }

  private holdOff(): void {
    this.held = true;
    this.clock.clearTimeout(this.sendTimer);
    this.sendTimer = null;
    if (!this.exchange) this.pump();
  }

  // ---------------------------------------------------------------------------------------
  // Talking

  /** Master role: send the next job as soon as the line allows. */
  private pump(): void {
    if (this.role !== 'master' || !this.connected || this.exchange || this.sendTimer) return;
    const now = this.clock.now();
    let at = Math.max(this.lastRxAt, this.lastTxEnd) + this.options.minGapMs;
    if (this.held) at = Math.max(at, this.lastRxAt + this.holdOffMs);
    if (at > now + 1e-6) {
      this.sendTimer = this.after(at - now, () => {
        this.sendTimer = null;
        this.pump();
      });
      return;
    }
    this.held = false;
    const job = this.takeDemand() ?? this.pollJob(now);
    if (typeof job === 'number') {
      if (Number.isFinite(job)) {
        this.sendTimer = this.after(Math.max(1, job - now), () => {
          this.sendTimer = null;
          this.pump();
        });
      }
      return;
    }
    this.send(job, false, Infinity);
  }

  private pollJob(now: number): Job | number {
    const next = this.plan.next(now, (a) => this.dueKind(a, now, RETRY_MASTER_MS) ?? 'live');
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
        if (this.plan.failed(address, this.clock.now(), kind === 'live') && this.packs.setOffline(address)) {
          this.packEvent(address, false);
        }
      },
    };
  }

  /** Device info or settings when due for `address` (retries of unanswered reads spaced by retryMs). */
  private dueKind(address: number, now: number, retryMs: number): FrameKind | undefined {
    const due = (kind: FrameKind, intervalMs: number) => this.isDue(address, kind, intervalMs, retryMs, now);
    if (due('info', this.options.infoIntervalS * 1000)) return 'info';
    if (due('settings', this.options.settingsIntervalS * 1000)) return 'settings';
    return undefined;
  }

  /** Not read for `intervalMs`; an unanswered attempt is retried only after `retryMs`. */
  private isDue(address: number, kind: FrameKind, intervalMs: number, retryMs: number, now: number): boolean {
    const got = this.packs.kindAt(address, kind);
    const tried = this.packs.triedAt(address, kind);
    return now - got >= intervalMs && (tried <= got || now - tried >= retryMs);
  }

  private takeDemand(): Job | undefined {
    while (this.demand.length) {
      const job = this.demand.shift()!;
      if (job.wanted()) return job;
    }
    return undefined;
  }

  private enqueue(job: Job, front = false): void {
    this.pruneDemand();
    if (front) this.demand.unshift(job);
    else this.demand.push(job);
    if (this.role === 'master' && !this.exchange) {
      // A far-off wake-up (nothing due until an absent address' next probe) must not delay it.
      this.clock.clearTimeout(this.sendTimer);
      this.sendTimer = null;
      this.pump();
    }
  }

  /**
   * Sniffing: a foreign message ended at `end`. If the master is known to stay quiet after such
   * a message long enough for one full exchange, send one request into that gap — unless any
   * byte is heard before we start.
   */
  private considerGap(key: string, end: number): void {
    // A gap planned earlier was cut short by this message: it would be abandoned anyway.
    this.clock.clearTimeout(this.injectTimer);
    this.injectTimer = null;
    if (this.exchange || !this.connected || !this.hasSniffJob()) return;
    const now = this.clock.now();
    const quiet = this.learner.quietAfter(key, now);
    if (quiet === undefined) return;
    const plan = planInjection({
      afterTrigger: key.startsWith('t:'),
      end,
      quiet,
      turnaroundMs: this.learner.turnaroundMs(),
      byteMs: this.byteMs,
      minGapMs: this.options.minGapMs,
    });
    if (!plan) return;
    const { windowEnd } = plan;
    const heardAt = this.lastRxAt;
    const stillQuiet = () => this.role === 'sniffing' && !this.exchange && this.connected && this.lastRxAt === heardAt && this.framer.buffered === 0;
    this.injectTimer = this.after(Math.max(0, plan.sendAt - now), () => {
      // Same check twice: before and after letting bytes that may be waiting unread come in.
      this.injectTimer = stillQuiet()
        ? this.after(0, () => {
            this.injectTimer = null;
            if (!stillQuiet()) return;
            const job = this.takeDemand() ?? this.sniffInfoJob(this.clock.now());
            if (job) this.send(job, true, windowEnd);
          })
        : null;
    });
  }

  private hasSniffJob(): boolean {
    this.pruneDemand();
    return this.demand.length > 0 || this.dueInfoAddress(this.clock.now()) !== undefined;
  }

  /** Drop queued jobs nobody waits for any more (a request answered by a sniffed frame). */
  private pruneDemand(): void {
    for (let i = this.demand.length - 1; i >= 0; i--) if (!this.demand[i]!.wanted()) this.demand.splice(i, 1);
  }

  private dueInfoAddress(now: number): number | undefined {
    for (const a of this.packs.onlineAddresses()) {
      if (a !== 0 && this.isDue(a, 'info', this.options.infoIntervalS * 1000, RETRY_SNIFF_MS, now)) return a;
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

  private send(job: Job, injected: boolean, windowEnd: number): void {
    let bytes: Buffer;
    try {
      bytes = job.build();
    } catch (err) {
      this.finishJob(job, { type: 'failed', error: settingToBusError(err, job.address) });
      this.pump();
      return;
    }
    const isRead = job.expect.type === 'frame';
    // Answers to a trigger start with 55 AA: an echo expectation cannot eat them. A write's
    // acknowledgement starts with the write's own first six bytes, so for writes the echo is
    // recognised afterwards instead (isOwnEcho / prefix rule).
    if (isRead) this.framer.expectEcho(bytes);
    if (this.role === 'master') this.transport.flushInput?.();
    if (!this.transport.write(bytes)) {
      this.finishJob(job, { type: 'failed', error: new BusError('NOT_CONNECTED', `not connected to ${this.transport.description}`, job.address) });
      return;
    }
    const now = this.clock.now();
    const txEnd = now + bytes.length * this.byteMs;
    this.lastTx = { bytes, end: txEnd };
    this.lastTxEnd = txEnd;
    this.sentSinceRx += 1;
    if (job.expect.type === 'frame') {
      this.lastTrigger = { address: job.address, kind: job.expect.kind, at: txEnd };
      this.packs.tried(job.address, job.expect.kind, now);
    }
    this.statsData.requestsSent += 1;
    if (injected) this.statsData.requestsInjected += 1;
    const timeout = Math.max(1, Math.min(this.options.responseTimeoutMs, windowEnd - txEnd));
    const x: Exchange = { job, sentAt: now, timer: this.after(txEnd - now + timeout, () => this.timedOut(x)) };
    this.exchange = x;
  }

  private complete(x: Exchange, outcome: Outcome): void {
    if (this.exchange !== x) return;
    this.clock.clearTimeout(x.timer);
    this.exchange = null;
    this.lastDoneAt = this.clock.now();
    this.packs.latency(x.job.address, this.lastDoneAt - x.sentAt);
    if (outcome.type === 'exception') this.packs.error(x.job.address);
    this.finishJob(x.job, outcome);
    this.pump();
  }

  private timedOut(x: Exchange): void {
    if (this.exchange !== x) return;
    this.exchange = null;
    const job = x.job;
    const now = this.clock.now();
    if (job.expect.type === 'frame') this.lastMiss = { address: job.address, kind: job.expect.kind, at: now };
    if (job.purpose !== 'probe') {
      this.statsData.timeouts += 1;
      this.packs.error(job.address);
    }
    // Bytes came but no valid answer: a collision with someone we do not know yet — listen first.
    if (this.role === 'master' && this.lastRxAt > x.sentAt) this.held = true;
    this.finishJob(job, { type: 'timeout' });
    this.pump();
  }

  private finishJob(job: Job, outcome: Outcome): void {
    try {
      job.done(outcome);
    } catch (err) {
      this.fail(err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Requests and writes

  private checkCanTalk(): void {
    if (!this.started) throw new BusError('STOPPED', 'the bus engine is not running');
    if (this.options.mode === 'listen') throw new BusError('LISTEN_ONLY', 'the bus is in listen mode: it never transmits');
    if (!this.connected) throw new BusError('NOT_CONNECTED', `not connected to ${this.transport.description}`);
  }

  private checkKnown(target: unknown): asserts target is number {
    if (!Number.isInteger(target) || (target as number) < 0 || (target as number) > 15) {
      throw new BusError('UNKNOWN_PACK', `pack address must be an integer 0–15 or 'all', got ${JSON.stringify(target)}`);
    }
    const address = target as number;
    if (!this.packs.has(address)) {
      const seen = this.packs.addresses();
      throw new BusError('UNKNOWN_PACK', `pack ${address} has never been seen on this bus (seen: ${seen.length ? seen.join(', ') : 'none yet'})`, address);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Link, housekeeping, plumbing

  private linkUp(): void {
    if (!this.started) return;
    const now = this.clock.now();
    this.connected = true;
    this.framer.reset();
    this.rxTotal = this.consumed = 0;
    this.lastRxAt = now;
    this.lastForeignAt = now;
    this.sentSinceRx = 0;
    this.learner.reset();
    this.log('info', `connected to ${this.transport.description}`);
    this.fire('connection', { connected: true });
    if (this.options.mode === 'master') {
      // Listen briefly before the first transmission: a JK master may already be talking.
      this.held = true;
      this.setRole('master', 'link up (master mode)');
    } else {
      this.setRole('listening', this.options.mode === 'listen' ? 'link up (listen mode)' : 'link up: listening for a JK master');
      this.armSilence();
    }
  }

  private linkDown(err?: Error): void {
    if (!this.started || !this.connected) return;
    this.connected = false;
    this.abortAll(new BusError('NOT_CONNECTED', `lost the connection to ${this.transport.description}${err ? `: ${err.message}` : ''}`));
    this.framer.reset();
    this.rxTotal = this.consumed = 0;
    this.log('warn', `disconnected from ${this.transport.description}${err ? ` (${err.message})` : ''}`);
    this.fire('connection', { connected: false, ...(err ? { error: err.message } : {}) });
    this.setRole('listening', 'link down');
  }

  /** Cancel the exchange and every queued job, request and write. */
  private abortAll(err: BusError): void {
    for (const t of [this.sendTimer, this.injectTimer, this.flushTimer]) this.clock.clearTimeout(t);
    this.sendTimer = this.injectTimer = this.flushTimer = null;
    const x = this.exchange;
    this.exchange = null;
    if (x) this.clock.clearTimeout(x.timer);
    this.demand.length = 0;
    this.ops.abort(err);
  }

  private housekeeping(): void {
    this.houseTimer = this.after(HOUSEKEEPING_MS, () => this.housekeeping());
    const now = this.clock.now();
    for (const address of this.packs.sweep(now, this.options.offlineAfterS * 1000)) {
      this.plan.markAbsent(address, now);
      this.packEvent(address, false);
    }
    if (!this.connected) return;
    // Packs should be talking but the port is dead quiet: serialport's zero-byte-read bug or a
    // half-open TCP gateway. Reopen, and back off if that does not bring bytes either.
    const expecting = (this.role === 'master' && this.sentSinceRx > 0) || this.role === 'sniffing' || this.masterPresent;
    if (expecting && now - this.lastRxAt >= this.watchdogMs) {
      const s = Math.round((now - this.lastRxAt) / 1000);
      this.log('warn', `no bytes from ${this.transport.description} for ${s} s while packs should be talking: reopening`);
      this.lastRxAt = now;
      this.watchdogMs = Math.min(WATCHDOG_MAX_MS, this.watchdogMs * 2);
      this.transport.reopen(`no bytes received for ${s} s`);
    }
  }

  private packEvent(address: number, online: boolean): void {
    const pack = this.packs.get(address);
    if (!pack) return;
    this.log('info', `pack ${address} ${online ? 'online' : 'offline'}`);
    this.fire('pack', { address, online, pack });
  }

  /** setTimeout on the engine's clock; the callback never throws. */
  private after(ms: number, fn: () => void): TimerHandle {
    return this.clock.setTimeout(() => this.guard('timer', fn), ms);
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
    this.log('error', `bus engine ${where}: ${e.message}`);
    this.fire('error', e);
  }

  /** emit() that a throwing listener cannot turn into a crash. */
  private fire(event: string, payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (err) {
      this.log('error', `a '${event}' listener threw: ${errorText(err)}`);
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


function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

