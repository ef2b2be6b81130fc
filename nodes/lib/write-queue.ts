import type { NodeMessage } from 'node-red';
import { BusError, type WriteResult } from '../../src/bus/types';
import type { WriteRequest } from '../../src/bus/write-request';
import { readSetting } from '../../src/protocol/settings';
import { asError } from './errors';
import type { BusUse, UserNode } from './user-node';
import { coded, failure, fromEngine, HINTS, NOTHING_SENT, shown, type PackResult } from './write-outcome';

/**
 * The queue of a `jkbms-write` node: one checked request at a time, in arrival order (a bit of
 * the switch word is written read-modify-write, so two writes to one pack must never overlap).
 *
 * Each request goes to the engine's write orchestration (engine.write: settings read first when
 * unknown, sent when we may talk, confirmed by read-back; 'all' one pack after another). Each
 * pack is reported at its result or at the node's deadline, whichever comes first; the next
 * request waits until the engine is done with every pack. The queue shows the node's status
 * and ends every job with `done()`: with nothing when every pack was confirmed, or with a coded
 * error. At most MAX_QUEUE requests wait; close() refuses the waiting ones (STOPPED).
 */

/** Requests waiting behind the one being written; more are refused (BUSY). */
export const MAX_QUEUE = 50;

/** One checked request and the input handler's callbacks. */
export interface WriteJob {
  msg: NodeMessage;
  send: (msg: NodeMessage) => void;
  done: (err?: Error) => void;
  plan: WriteRequest;
}

/** Sends one pack's result on the job's message; `last` when no other result of it follows. */
export type WriteOutput = (job: WriteJob, r: PackResult, last: boolean) => void;

interface WriteHooks {
  start(index: number, count: number): void;
  report(r: PackResult, index: number, count: number): void;
}

export class WriteQueue {
  private readonly waiting: WriteJob[] = [];
  private running: WriteJob | null = null;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly bus: BusUse;

  constructor(
    private readonly user: UserNode,
    /** This node's deadline per pack, in ms (0: none, the engine's own timeouts only). */
    private readonly timeoutMs: number,
    private readonly output: WriteOutput,
  ) {
    this.bus = user.bus;
  }

  /** Queues a checked request; refuses it (BUSY) when MAX_QUEUE are waiting already. */
  enqueue(job: WriteJob): void {
    if (this.waiting.length >= MAX_QUEUE) {
      job.done(coded('BUSY', `jkbms-write: ${MAX_QUEUE} writes are already waiting; ${job.plan.def.name} was refused, ${NOTHING_SENT}`));
      return;
    }
    this.waiting.push(job);
    this.pump();
  }

  /** The node closes: no more output, deadlines cancelled, the waiting requests refused. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const job of this.waiting.splice(0)) {
      job.done(coded('STOPPED', `jkbms-write: the node stopped before ${job.plan.def.name} was written; ${NOTHING_SENT}`));
    }
  }

  private pump(): void {
    if (this.running || this.closed) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    this.user.show({ fill: 'yellow', shape: 'dot', text: this.user.t('jkbms-write.status.writing', { setting: job.plan.def.name }) });
    const target = job.plan.target;
    const work = target === 'all' ? this.runAll(job) : this.runOne(job, target);
    work
      .catch((err: unknown) => job.done(asError(err)))
      .finally(() => {
        this.running = null;
        this.pump();
      });
  }

  private async runOne(job: WriteJob, address: number): Promise<void> {
    const { user } = this;
    const p = job.plan;
    const s = p.def;
    const finish = (r: PackResult): void => {
      if (r.ok) {
        this.send(job, r, true);
        user.show({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(r.after)} ✓` });
        job.done();
      } else {
        user.show({ fill: 'red', shape: 'ring', text: user.t('jkbms-write.status.failed', { setting: s.name }) });
        job.done(coded(r.error!.code, r.error!.message));
      }
    };
    try {
      await this.write(p, { start: () => undefined, report: (r) => finish(r) });
    } catch (err) {
      finish({ ok: false, address, setting: s.name, requested: p.value, before: this.knownValue(address, s.name), after: null, error: failure(err, this.bus.name, address, p) });
    }
  }

  private async runAll(job: WriteJob): Promise<void> {
    const { user } = this;
    const { def: s, value } = job.plan;
    const bus = this.bus.name;
    const failed: PackResult[] = [];
    let count = 0;
    try {
      await this.write(job.plan, {
        start: (i, n) => user.show({ fill: 'yellow', shape: 'dot', text: user.t('jkbms-write.status.writing-all', { setting: s.name, n: i + 1, count: n }) }),
        report: (r, i, n) => {
          count = n;
          if (!r.ok) failed.push(r);
          this.send(job, r, i === n - 1);
        },
      });
    } catch (err) {
      user.show({ fill: 'red', shape: 'ring', text: user.t('jkbms-write.status.failed', { setting: s.name }) });
      job.done(refusedAll(err, `jkbms-write: ${s.name} = ${shown(value)} on all packs of bus "${bus}"`));
      return;
    }
    if (!failed.length) {
      user.show({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(value)} ✓ ${count}/${count}` });
      job.done();
      return;
    }
    user.show({ fill: 'red', shape: 'ring', text: user.t('jkbms-write.status.failed-some', { setting: s.name, failed: failed.length, count }) });
    const list = failed.map((r) => `pack ${r.address}: ${r.error!.message.replace(/^jkbms-write: /, '')}`).join('; ');
    job.done(coded(failed[0]!.error!.code, `jkbms-write: ${s.name} = ${shown(value)} failed on ${failed.length} of ${count} packs of bus "${bus}" (${failed.map((r) => r.address).join(', ')}): ${list}`));
  }

  /**
   * The engine's write orchestration, each pack reported at its result or at this node's
   * deadline, whichever comes first. Resolves when the engine is done with every pack (the
   * next write waits for that, deadline or not); rejects when the engine refused the whole
   * request before any pack was written.
   */
  private write(p: WriteRequest, on: WriteHooks): Promise<void> {
    const { bus } = this;
    const cancels = new Map<number, () => void>();
    const reported = new Set<number>();
    const report = (r: PackResult, index: number, count: number): void => {
      if (reported.has(r.address)) return;
      reported.add(r.address);
      cancels.get(r.address)?.();
      on.report(r, index, count);
    };
    const opts = {
      onStart: (address: number, index: number, count: number) => {
        on.start(index, count);
        cancels.set(address, this.deadline(address, p, (r) => report(r, index, count)));
      },
      onResult: (r: WriteResult, index: number, count: number) => report(fromEngine(r, bus.name, p), index, count),
    };
    const target = p.target;
    const done: Promise<unknown> = target === 'all' ? bus.engine.write('all', p.def.name, p.value, opts) : bus.engine.write(target, p.def.name, p.value, opts);
    return done.then(
      () => undefined,
      (err: unknown) => {
        // A pack's failure was reported already; only a refusal of the whole request is left.
        if (!reported.size) throw err;
      },
    );
  }

  /** This node's deadline for one pack: a TIMEOUT result after `timeoutMs` (none when 0); returns its cancel. */
  private deadline(address: number, p: WriteRequest, report: (r: PackResult) => void): () => void {
    const { timeoutMs } = this;
    if (!(timeoutMs > 0)) return () => undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const error = failure(new BusError('TIMEOUT', `no confirmation within ${timeoutMs} ms`, address), this.bus.name, address, p);
      report({ ok: false, address, setting: p.def.name, requested: p.value, before: this.knownValue(address, p.def.name), after: null, error });
    }, timeoutMs);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  private knownValue(address: number, name: string): number | boolean | null {
    const s = this.bus.pack(address)?.settings;
    return s ? (readSetting(s, name) ?? null) : null;
  }

  private send(job: WriteJob, r: PackResult, last: boolean): void {
    if (!this.closed) this.output(job, r, last);
  }
}

/** The error of an 'all' request the engine refused as a whole (before any pack was written). */
function refusedAll(err: unknown, what: string): Error {
  if (err instanceof BusError && err.code === 'UNKNOWN_PACK') return coded('UNKNOWN_PACK', `${what}: no pack is online; ${NOTHING_SENT}`);
  const e = err instanceof BusError ? err : new BusError('INVALID_SETTING', asError(err).message);
  const hint = e.message.endsWith(NOTHING_SENT) ? undefined : HINTS[e.code];
  return coded(e.code, `${what} failed: ${e.message}${hint ? `; ${hint}` : ''}`);
}
