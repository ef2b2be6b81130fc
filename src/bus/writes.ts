import { encodeSettingWrite, readSetting, validateSetting, type SettingDef } from '../protocol/settings';
import type { FrameKind } from '../protocol/types';
import type { Clock, TimerHandle } from '../common/clock';
import { WriteError, exceptionMeaning, settingToBusError } from './errors';
import { checkKnown, type TalkState } from './guards';
import type { Job } from './jobs';
import type { PackTable } from './packs';
import { BusError, type BusOptions, type FrameEvent, type WriteOptions, type WriteResult } from './types';

/** A validated setting and value, ready to be written. */
export interface CheckedSetting {
  def: SettingDef;
  value: number | boolean;
}

/** What the writes need from the engine. */
export interface WritesHost {
  readonly clock: Clock;
  readonly packs: PackTable;
  readonly options: BusOptions;
  /** Queue a job for the next moment we may talk. */
  enqueue(job: Job, front?: boolean): void;
  after(ms: number, fn: () => void): TimerHandle;
  /** Report an unexpected error (a throwing callback). */
  fail(err: unknown): void;
}

/** Read the next `kind` frame of a pack (Operations.read with the default deadline). */
export type ReadFn = (address: number, kind: FrameKind, purpose: 'write', cb: (r: FrameEvent | BusError) => void) => void;

/**
 * Confirmed writes — the one write orchestration: read the settings first when they are not
 * known yet (a bit of the switch word is written read-modify-write, and the result's `before`
 * must be known), send the write in a slot where we may talk, handle the acknowledgement or
 * exception, then read the settings back and compare. One write per pack at a time; 'all'
 * writes one pack after another and merges their results.
 *
 * Owns: the writes in flight and queued (to fail them on stop or link loss) and the per-pack
 * turns.
 */
export class ConfirmedWrites {
  /** In-flight and queued writes, to fail them on stop or link loss. */
  private readonly writes = new Set<(err: BusError) => void>();
  /** Writes waiting for their turn, per pack (see takeTurn). */
  private readonly writeTurns = new Map<number, Turn[]>();

  constructor(
    private readonly host: WritesHost,
    private readonly read: ReadFn,
    private readonly state: () => TalkState,
  ) {}

  abort(err: BusError): void {
    for (const fail of [...this.writes]) fail(err);
  }

  /** engine.write(): every check first (throws a BusError), then one pack or every online slave. */
  write(
    target: number | 'all',
    setting: string,
    value: number | boolean,
    opts: WriteOptions,
    resolve: (v: WriteResult | WriteResult[]) => void,
    reject: (e: unknown) => void,
  ): void {
    const s = this.state();
    const packs = this.host.packs;
    if (!s.started) throw new BusError('STOPPED', 'the bus engine is not running');
    if (!s.options.allowWrites) {
      throw new BusError('WRITES_DISABLED', 'settings writes are disabled on this bus (enable "allow writes" first)');
    }
    if (s.options.mode === 'listen') throw new BusError('LISTEN_ONLY', 'the bus is in listen mode: it never transmits');
    let checked: CheckedSetting;
    try {
      checked = validateSetting(setting, value);
    } catch (err) {
      throw settingToBusError(err);
    }
    if (!s.connected) throw new BusError('NOT_CONNECTED', `not connected to ${s.transport.description}`);
    if (target === 'all') {
      const targets = packs.onlineAddresses().filter((a) => a !== 0);
      if (!targets.length) throw new BusError('UNKNOWN_PACK', 'no slave pack is online on this bus');
      for (const a of targets) this.prevalidate(a, checked);
      this.writeAll(targets, checked, opts, resolve);
      return;
    }
    checkKnown(packs, target);
    if (target === 0) {
      throw new BusError('UNKNOWN_PACK', 'the JK master (address 0) does not accept writes on this bus; change its settings with the JK app', 0);
    }
    if (!packs.isOnline(target)) throw new BusError('PACK_OFFLINE', `pack ${target} is offline`, target);
    this.prevalidate(target, checked);
    this.call(() => opts.onStart?.(target, 0, 1));
    this.writeOne(target, checked, (err, result) => {
      this.call(() => opts.onResult?.(this.merged(target, checked, err, result), 0, 1));
      if (err) reject(err);
      else resolve(result!);
    });
  }

  /** Full validation against the pack's last known settings, before anything is queued. */
  private prevalidate(address: number, checked: CheckedSetting): void {
    const current = this.host.packs.settings(address);
    if (checked.def.kind === 'bit' && !current) return; // settings are read first, then the bit is set
    try {
      encodeSettingWrite(address, checked.def.name, checked.value, current);
    } catch (err) {
      throw settingToBusError(err, address);
    }
  }

  private writeAll(targets: number[], checked: CheckedSetting, opts: WriteOptions, resolve: (v: WriteResult[]) => void): void {
    const results: WriteResult[] = [];
    const step = (i: number): void => {
      if (i >= targets.length) {
        resolve(results);
        return;
      }
      const address = targets[i]!;
      this.call(() => opts.onStart?.(address, i, targets.length));
      this.writeOne(address, checked, (err, result) => {
        const r = this.merged(address, checked, err, result);
        results.push(r);
        this.call(() => opts.onResult?.(r, i, targets.length));
        step(i + 1);
      });
    };
    step(0);
  }

  /** One pack's outcome as a result: a failure has ok false and `error`. */
  private merged(address: number, checked: CheckedSetting, err: BusError | null, result?: WriteResult): WriteResult {
    if (!err) return result!;
    const r: WriteResult = err instanceof WriteError ? { ...err.result } : this.failedResult(address, checked);
    r.error = { code: err.code, message: err.message };
    return r;
  }

  /** A progress callback of the caller: its errors are reported, never thrown into the engine. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.host.fail(err);
    }
  }

  private failedResult(address: number, checked: CheckedSetting): WriteResult {
    const s = this.host.packs.settings(address);
    const before = s ? (readSetting(s, checked.def.name) ?? null) : null;
    return { ok: false, address, setting: checked.def.name, requested: checked.value, before, after: null };
  }

  /**
   * One confirmed write: read the settings first when they are not known, send the write in a
   * slot where we may talk, handle the acknowledgement or exception, then read the settings
   * back and compare.
   */
  private writeOne(
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
      this.read(address, 'settings', 'write', (r) => {
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
      if (!this.host.packs.settings(address)) {
        this.read(address, 'settings', 'write', (r) => {
          if (r instanceof BusError) {
            finish(new BusError(r.code, `the settings of pack ${address} could not be read before the write (${r.message}); nothing was sent`, address));
          } else if (!finished) sendWrite();
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
