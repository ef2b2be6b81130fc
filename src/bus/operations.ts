import { encodeTrigger } from '../protocol/encode';
import { encodeSettingWrite, readSetting, type SettingDef } from '../protocol/settings';
import type { DecodedFrame, FrameKind } from '../protocol/types';
import type { Clock, TimerHandle } from '../common/clock';
import { WriteError, exceptionMeaning, settingToBusError } from './errors';
import type { Job } from './jobs';
import type { PackTable } from './packs';
import { BusError, type FrameEvent, type WriteResult } from './types';

/** Default overall deadline of request() and of each step of write(). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Sends per on-demand read before it fails with TIMEOUT. */
const REQUEST_ATTEMPTS = 2;

/** What the operations need from the engine. */
export interface OperationsHost {
  readonly clock: Clock;
  readonly packs: PackTable;
  /** Queue a job for the next moment we may talk (front: before the others). */
  enqueue(job: Job, front?: boolean): void;
  /** A timer on the engine's clock whose callback never throws. */
  after(ms: number, fn: () => void): TimerHandle;
  /** Report an unexpected error (a throwing callback). */
  fail(err: unknown): void;
}

/** A validated setting and value, ready to be written. */
export interface CheckedSetting {
  def: SettingDef;
  value: number | boolean;
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
 * sniffed), and confirmed writes (write → acknowledgement or exception → read-back). Every
 * step is a Job the engine sends when it may talk; everything here is callback-driven on the
 * engine's clock, so a fake clock runs it without waiting for promises.
 */
export class Operations {
  private readonly waiters = new Set<Waiter>();
  /** In-flight and queued writes, to fail them on stop or link loss. */
  private readonly writes = new Set<(err: BusError) => void>();
  /** Writes waiting for their turn, per pack (see takeTurn). */
  private readonly writeTurns = new Map<number, Turn[]>();

  constructor(private readonly host: OperationsHost) {}

  /** Fail every pending read and write (stop, link down). */
  abort(err: BusError): void {
    for (const w of [...this.waiters]) this.settle(w, err);
    for (const fail of [...this.writes]) fail(err);
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

  requestAll(
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

  /** Full validation against the pack's last known settings, before anything is queued. */
  prevalidate(address: number, checked: CheckedSetting): void {
    const current = this.host.packs.settings(address);
    if (checked.def.kind === 'bit' && !current) return; // settings are read first, then the bit is set
    try {
      encodeSettingWrite(address, checked.def.name, checked.value, current);
    } catch (err) {
      throw settingToBusError(err, address);
    }
  }

  writeAll(targets: number[], checked: CheckedSetting, resolve: (v: WriteResult[]) => void): void {
    const results: WriteResult[] = [];
    const step = (i: number): void => {
      if (i >= targets.length) {
        resolve(results);
        return;
      }
      const address = targets[i]!;
      this.writeOne(address, checked, (err, result) => {
        if (err) {
          const r: WriteResult = err instanceof WriteError ? { ...err.result } : this.failedResult(address, checked);
          r.error = { code: err.code, message: err.message };
          results.push(r);
        } else {
          results.push(result!);
        }
        step(i + 1);
      });
    };
    step(0);
  }

  private failedResult(address: number, checked: CheckedSetting): WriteResult {
    const s = this.host.packs.settings(address);
    const before = s ? (readSetting(s, checked.def.name) ?? null) : null;
    return { ok: false, address, setting: checked.def.name, requested: checked.value, before, after: null };
  }

  /**
   * One confirmed write: (read the settings first when a bit of the switch word needs them),
   * send the write in a slot where we may talk, handle the acknowledgement or exception, then
   * read the settings back and compare.
   */
  writeOne(
    address: number,
    checked: CheckedSetting,
    cb: (err: BusError | null, result?: WriteResult) => void,
  ): void {
    const { def, value } = checked;
    let before: number | boolean | null = null;
    let finished = false;
    let release = (): void => {};
    const fail = (err: BusError): void => finish(err);
    const finish = (err: BusError | null, result?: WriteResult): void => {
      if (finished) return;
      finished = true;
      this.writes.delete(fail);
      release();
      cb(err, result);
    };
    this.writes.add(fail);
    const result = (after: number | boolean | null, ok: boolean): WriteResult => ({ ok, address, setting: def.name, requested: value, before, after });

    const readBack = (acked: boolean): void => {
      this.read(address, 'settings', REQUEST_TIMEOUT_MS, 'write', (r) => {
        if (r instanceof BusError) {
          const msg = acked
            ? `pack ${address} acknowledged the write of ${def.name} but its settings could not be read back (${r.message})`
            : `pack ${address} did not acknowledge the write of ${def.name} and its settings could not be read back (${r.message})`;
          finish(new WriteError(r.code === 'TIMEOUT' ? 'TIMEOUT' : r.code, msg, address, result(null, false)));
          return;
        }
        const after = readSetting(r.payload as Parameters<typeof readSetting>[0], def.name) ?? null;
        if (after !== null && sameValue(def, after, value)) {
          finish(null, result(after, true));
          return;
        }
        const msg = acked
          ? `pack ${address} acknowledged ${def.name} = ${String(value)} but reads back ${String(after)}`
          : `pack ${address} did not acknowledge the write of ${def.name}; it reads back ${String(after)}`;
        finish(new WriteError(acked ? 'READBACK_MISMATCH' : 'TIMEOUT', msg, address, result(after, false)));
      });
    };

    const sendWrite = (): void => {
      const job: Job = {
        address,
        expect: { type: 'ack', register: def.register },
        purpose: 'write',
        build: () => {
          const current = this.host.packs.settings(address);
          const enc = encodeSettingWrite(address, def.name, value, current);
          before = current ? (readSetting(current, def.name) ?? null) : null;
          return enc.bytes;
        },
        wanted: () => !finished,
        done: (o) => {
          if (finished) return;
          if (o.type === 'ack') readBack(true);
          else if (o.type === 'timeout') readBack(false);
          else if (o.type === 'exception') {
            finish(
              new WriteError(
                'PACK_EXCEPTION',
                `pack ${address} refused ${def.name} = ${String(value)}: Modbus exception ${o.code} (${exceptionMeaning(o.code)})`,
                address,
                result(before, false),
              ),
            );
          } else if (o.type === 'failed') finish(o.error);
        },
      };
      this.host.enqueue(job);
    };

    // One write per pack at a time: the next one is built from the settings the previous one
    // read back (two switch-word bits written back to back must not undo each other).
    const turn = this.takeTurn(address);
    release = turn.release;
    turn.run(() => {
      if (finished) return;
      if (def.kind === 'bit' && !this.host.packs.settings(address)) {
        this.read(address, 'settings', REQUEST_TIMEOUT_MS, 'write', (r) => {
          if (r instanceof BusError) finish(new BusError(r.code, `cannot write ${def.name}: the settings of pack ${address} could not be read first (${r.message})`, address));
          else if (!finished) sendWrite();
        });
      } else {
        sendWrite();
      }
    });
  }

  /**
   * A place in the per-pack FIFO of writes. `run(start)` calls `start` now if no earlier write
   * to this pack is unfinished, else when the last of them is released; `release()` (idempotent)
   * lets the next one start.
   */
  private takeTurn(address: number): { run(start: () => void): void; release(): void } {
    let queue = this.writeTurns.get(address);
    if (!queue) {
      queue = [];
      this.writeTurns.set(address, queue);
    }
    const q = queue;
    const entry: Turn = { start: null, released: false };
    q.push(entry);
    return {
      run: (start) => {
        entry.start = start;
        if (q[0] === entry) start();
      },
      release: () => {
        if (entry.released) return;
        entry.released = true;
        const i = q.indexOf(entry);
        if (i >= 0) q.splice(i, 1);
        if (!q.length) this.writeTurns.delete(address);
        else if (i === 0) q[0]!.start?.();
      },
    };
  }
}

interface Turn {
  start: (() => void) | null;
  released: boolean;
}

function sameValue(def: SettingDef, a: number | boolean, b: number | boolean): boolean {
  if (typeof a === 'boolean' || typeof b === 'boolean') return Boolean(a) === Boolean(b);
  return Math.abs(a - b) <= def.step / 2 + 1e-9;
}
