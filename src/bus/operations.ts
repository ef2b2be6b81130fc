import { encodeTrigger } from '../protocol/encode';
import type { DecodedFrame, FrameKind } from '../protocol/types';
import type { Clock, TimerHandle } from '../common/clock';
import type { Transport } from '../transport/transport';
import { exceptionMeaning } from './errors';
import { checkCanTalk, checkKnown, REQUEST_TIMEOUT_MS } from './guards';
import type { Job } from './jobs';
import type { PackTable } from './packs';
import { BusError, type BusOptions, type FrameEvent, type WriteOptions, type WriteResult } from './types';
import { ConfirmedWrites } from './writes';

export { REQUEST_TIMEOUT_MS } from './guards';

/** Sends per on-demand read before it fails with TIMEOUT. */
const REQUEST_ATTEMPTS = 2;

/** What the operations need from the engine. */
export interface OperationsHost {
  readonly clock: Clock;
  readonly packs: PackTable;
  readonly options: BusOptions;
  readonly transport: Pick<Transport, 'description'>;
  /** Queue a job for the next moment we may talk (front: before the others). */
  enqueue(job: Job, front?: boolean): void;
  /** A timer on the engine's clock whose callback never throws. */
  after(ms: number, fn: () => void): TimerHandle;
  /** Report an unexpected error (a throwing callback). */
  fail(err: unknown): void;
  /** The engine is running / linked. */
  state(): { started: boolean; connected: boolean };
}

interface Waiter {
  address: number;
  kind: FrameKind;
  since: number;
  timer: TimerHandle;
  settle(result: FrameEvent | BusError): void;
}

/**
 * The engine's on-demand operations: reads that resolve with the next matching frame (ours or
 * sniffed), and confirmed writes (src/bus/writes.ts). Every step is a Job the engine sends when
 * it may talk; everything here is callback-driven on the engine's clock, so a fake clock runs it
 * without waiting for promises. The checks of request() and write() happen here, before
 * anything is queued.
 *
 * Owns: the reads waiting for a frame.
 */
export class Operations {
  private readonly waiters = new Set<Waiter>();
  private readonly writes: ConfirmedWrites;

  constructor(private readonly host: OperationsHost) {
    this.writes = new ConfirmedWrites(host, (address, kind, purpose, cb) => this.read(address, kind, REQUEST_TIMEOUT_MS, purpose, cb), () =>
      this.talkState(),
    );
  }

  private talkState() {
    const { started, connected } = this.host.state();
    return { started, connected, options: this.host.options, transport: this.host.transport };
  }

  /** Fail every pending read and write (stop, link down). */
  abort(err: BusError): void {
    for (const w of [...this.waiters]) this.settle(w, err);
    this.writes.abort(err);
  }

  /** engine.request(): checked (throws), then one read, or one per online pack for 'all'. */
  request(target: number | 'all', kind: FrameKind, timeoutMs: number, resolve: (v: DecodedFrame | DecodedFrame[]) => void, reject: (e: unknown) => void): void {
    if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`request timeoutMs must be a positive number of ms, got ${JSON.stringify(timeoutMs)}`);
    }
    if (kind !== 'live' && kind !== 'settings' && kind !== 'info') {
      throw new RangeError(`request kind must be 'live', 'settings' or 'info', got ${JSON.stringify(kind)}`);
    }
    checkCanTalk(this.talkState());
    const packs = this.host.packs;
    if (target === 'all') {
      const targets = packs.onlineAddresses().filter((a) => a !== 0 || kind !== 'info');
      if (!targets.length) throw new BusError('UNKNOWN_PACK', 'no pack is online on this bus yet');
      this.requestAll(targets, kind, timeoutMs, resolve, reject);
      return;
    }
    checkKnown(packs, target);
    if (target === 0 && kind === 'info') {
      throw new BusError('UNKNOWN_PACK', 'the JK master (address 0) never sends its device info on this bus', 0);
    }
    this.read(target, kind, timeoutMs, 'request', (r) => (r instanceof BusError ? reject(r) : resolve(r.payload)));
  }

  /** engine.write(): see ConfirmedWrites.write. */
  write(
    target: number | 'all',
    setting: string,
    value: number | boolean,
    opts: WriteOptions,
    resolve: (v: WriteResult | WriteResult[]) => void,
    reject: (e: unknown) => void,
  ): void {
    this.writes.write(target, setting, value, opts, resolve, reject);
  }

  /**
   * Wait for the next `kind` frame from `address` (ours or sniffed) and, unless the pack is the
   * JK master (whose frames come by themselves), ask for it.
   */
  read(address: number, kind: FrameKind, timeoutMs: number, purpose: 'request' | 'write', cb: (r: FrameEvent | BusError) => void): void {
    let attempts = 0;
    const w: Waiter = {
      address,
      kind,
      since: this.host.clock.now(),
      timer: this.host.after(timeoutMs, () =>
        this.settle(w, new BusError('TIMEOUT', `no ${kind} frame from pack ${address} within ${Math.round(timeoutMs)} ms`, address)),
      ),
      settle: cb,
    };
    this.waiters.add(w);
    if (address === 0) return;
    const job: Job = {
      address,
      expect: { type: 'frame', kind },
      purpose,
      build: () => encodeTrigger(address, kind),
      wanted: () => this.waiters.has(w),
      done: (o) => {
        if (!this.waiters.has(w)) return;
        if (o.type === 'failed') this.settle(w, o.error);
        else if (o.type === 'timeout' || o.type === 'exception') {
          attempts += 1;
          if (attempts < REQUEST_ATTEMPTS) this.host.enqueue(job, true);
          else {
            const why = o.type === 'timeout' ? 'did not answer' : `answered exception ${o.code} (${exceptionMeaning(o.code)})`;
            this.settle(w, new BusError(o.type === 'timeout' ? 'TIMEOUT' : 'PACK_EXCEPTION', `pack ${address} ${why} to ${attempts} ${kind} requests`, address));
          }
        }
      },
    };
    this.host.enqueue(job);
  }

  private settle(w: Waiter, result: FrameEvent | BusError): void {
    if (!this.waiters.delete(w)) return;
    this.host.clock.clearTimeout(w.timer);
    try {
      w.settle(result);
    } catch (err) {
      this.host.fail(err);
    }
  }

  frameSeen(address: number | null, kind: FrameKind, event: FrameEvent): void {
    if (address === null || !this.waiters.size) return;
    for (const w of [...this.waiters]) if (w.address === address && w.kind === kind && event.at >= w.since) this.settle(w, event);
  }

  private requestAll(
    targets: number[],
    kind: FrameKind,
    timeoutMs: number,
    resolve: (v: DecodedFrame[]) => void,
    reject: (e: unknown) => void,
  ): void {
    const results = new Map<number, DecodedFrame>();
    let firstError: BusError | null = null;
    let left = targets.length;
    for (const a of targets) {
      this.read(a, kind, timeoutMs, 'request', (r) => {
        if (r instanceof BusError) firstError ??= r;
        else results.set(a, r.payload);
        if (--left > 0) return;
        if (results.size) resolve(targets.filter((t) => results.has(t)).map((t) => results.get(t)!));
        else reject(firstError ?? new BusError('TIMEOUT', `no pack answered the ${kind} request`));
      });
    }
  }
}
