import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { BusError, type WriteResult } from '../src/bus/types';
import { checkWriteRequest, WriteRequestError, type WriteRequest } from '../src/bus/write-request';
import { readSetting } from '../src/protocol/settings';
import { parseTarget, type Target } from './lib/config';
import { asError } from './lib/errors';
import { plainMessage } from './lib/bus-reporting';
import { openUserNode, type BusUse, type UserNode } from './lib/user-node';

/**
 * `jkbms-write`: change one setting of one pack, or of every pack, safely.
 *
 * Every step is explicit: the request is checked (src/bus/write-request.ts: its shape, the
 * register table's name, range and step, and protection thresholds need the node's own
 * opt-in), the bus must allow writes and be able to transmit, and a request carrying `msg.bms`
 * must name this bus and the pack at the target address. Only then is it handed to the
 * engine's write orchestration (engine.write: settings read first when unknown, sent when we
 * may talk — in a JK master's quiet gap when sniffing —, confirmed by reading the settings
 * back; 'all' one pack after another). This node adds its own deadline and the messages.
 *
 * This node handles one request at a time, in arrival order: a bit of the switch word is
 * written read-modify-write, so two writes to one pack must never overlap.
 */

interface WriteNodeDef extends NodeDef {
  bus: string;
  address: number | string;
  allowProtection: boolean | string;
  timeout: number | string;
}

const MAX_TIMEOUT_MS = 300_000;
/** Requests waiting behind the one being written; more are refused (BUSY). */
const MAX_QUEUE = 50;

/** Error codes of this node: the bus engine's, plus the checks made here. */
type WriteCode = BusError['code'] | 'BAD_MESSAGE' | 'PROTECTED' | 'WRONG_BUS' | 'WRONG_PACK' | 'FAILED';

type CodedError = Error & { code: WriteCode };

function coded(code: WriteCode, message: string): CodedError {
  const e = new Error(message) as CodedError;
  e.code = code;
  return e;
}

const NOTHING_SENT = 'nothing was sent';

/** A checked request, ready for the engine. */
type Plan = WriteRequest;

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);

const shown = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));

/** Hints for the engine's refusals and failures. */
const HINTS: Partial<Record<WriteCode, string>> = {
  UNKNOWN_PACK: `check the pack address; ${NOTHING_SENT}`,
  PACK_OFFLINE: `no frame from it recently; ${NOTHING_SENT}`,
  NOT_CONNECTED: `the bus is not connected, check the adapter or gateway; ${NOTHING_SENT}`,
  STOPPED: 'the bus stopped (redeploy or shutdown) before the write was confirmed; check the setting',
  TIMEOUT: 'the write may or may not have been applied: check the setting (jkbms-request, settings)',
  BUSY: 'the bus is busy; try again later',
  WRITES_DISABLED: NOTHING_SENT,
  LISTEN_ONLY: NOTHING_SENT,
  INVALID_SETTING: NOTHING_SENT,
  OUT_OF_RANGE: NOTHING_SENT,
};

/** The outcome of one pack's write, as sent on the output. */
type PackResult = Omit<WriteResult, 'error'> & { error?: { code: WriteCode; message: string } };

/** Everything checked before a request may be queued. Throws a coded error. */
function checkRequest(bus: BusUse, msg: NodeMessage, defaultTarget: Target, allowProtection: boolean): Plan {
  let req: WriteRequest;
  try {
    req = checkWriteRequest(msg.payload, { defaultTarget, allowProtection, protectionHint: 'Tick "Allow protection settings" in this jkbms-write node to write it' });
  } catch (err) {
    if (err instanceof WriteRequestError) throw coded(err.code, `jkbms-write: ${err.message}; ${NOTHING_SENT}`);
    throw err;
  }
  if (!bus.allowWrites) {
    throw coded('WRITES_DISABLED', `jkbms-write: writes are disabled on bus "${bus.name}": tick "allow changing pack settings" in the bus node to enable them; ${NOTHING_SENT}`);
  }
  if (bus.listenOnly) {
    throw coded('LISTEN_ONLY', `jkbms-write: bus "${bus.name}" is in listen mode and never transmits: set its Mode to "auto" or "master" to write settings; ${NOTHING_SENT}`);
  }
  checkIdentity(bus, msg.bms, req.target);
  return req;
}

/** A request that names a pack (msg.bms, e.g. from jkbms-ha) must name this bus and the pack at the target. */
function checkIdentity(bus: BusUse, bms: unknown, target: Target): void {
  if (!isPlainObject(bms)) return;
  if (typeof bms.busId === 'string' && bms.busId !== bus.id) {
    throw coded(
      'WRONG_BUS',
      `jkbms-write: msg.bms names bus "${String(bms.bus ?? bms.busId)}" but this node writes to bus "${bus.name}": send it to the jkbms-write node of that bus; ${NOTHING_SENT}`,
    );
  }
  if (typeof bms.address === 'number' && bms.address !== target) {
    const to = target === 'all' ? 'all packs' : `pack ${target}`;
    throw coded('WRONG_PACK', `jkbms-write: msg.bms names pack ${bms.address} but the write targets ${to}: make them agree or delete msg.bms; ${NOTHING_SENT}`);
  }
  const serial = typeof bms.serialNumber === 'string' && bms.serialNumber !== '' ? bms.serialNumber : null;
  const there = target === 'all' ? undefined : bus.directory.infoAt(target)?.serialNumber;
  if (serial && there && there !== serial) {
    throw coded('WRONG_PACK', `jkbms-write: msg.bms names the pack with serial number ${serial}, but pack ${String(target)} is ${there}; ${NOTHING_SENT}`);
  }
}

/** The failure of one pack's write, with this node's wording and hint. */
function failure(err: unknown, bus: string, address: number, p: Plan): { code: WriteCode; message: string } {
  const what = `jkbms-write: ${p.def.name} = ${shown(p.value)} on pack ${address} of bus "${bus}"`;
  if (err instanceof BusError) {
    const hint = err.message.endsWith(NOTHING_SENT) ? undefined : HINTS[err.code];
    return { code: err.code, message: `${what} failed: ${err.message}${hint ? `; ${hint}` : ''}` };
  }
  return { code: 'FAILED', message: `${what} failed: ${plainMessage(err)}` };
}

/** The engine's result for one pack, a failure with this node's wording and hint. */
function fromEngine(r: WriteResult, bus: string, p: Plan): PackResult {
  const { error, ...rest } = r;
  if (!error) return rest;
  return { ...rest, ok: false, error: failure(new BusError(error.code as BusError['code'], error.message, r.address), bus, r.address, p) };
}

export = function (RED: NodeAPI): void {
  function JkbmsWriteNode(this: Node, def: WriteNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: WriteNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const target = parseTarget(def.address);
    const allowProtection = def.allowProtection === true || def.allowProtection === 'true';
    const timeoutMs = def.timeout === '' || def.timeout === undefined || def.timeout === null ? 0 : Number(def.timeout);
    const problem =
      target === null
        ? t('jkbms-write.errors.bad-address', { value: String(def.address) })
        : !(Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_TIMEOUT_MS)
          ? t('jkbms-write.errors.bad-timeout', { value: String(def.timeout) })
          : null;
    const user = openUserNode(RED, node, { type: 'jkbms-write', bus: def.bus, problem });
    if (!user || target === null) return;
    user.connect();
    const bus = user.bus;
    if (!bus.allowWrites) user.show({ fill: 'grey', shape: 'ring', text: t('jkbms-write.status.writes-off') });
    else if (bus.listenOnly) user.show({ fill: 'grey', shape: 'ring', text: t('jkbms-write.status.listen') });
    const plan = (msg: NodeMessage): Plan => checkRequest(bus, msg, target, allowProtection);
    run(user, plan, timeoutMs);
  }

  function run(user: UserNode, plan: (msg: NodeMessage) => Plan, timeoutMs: number): void {
    const { node, t, bus } = user;
    // ------------------------------------------------------------------ the queue

    interface Job {
      msg: NodeMessage;
      send: (msg: NodeMessage) => void;
      done: (err?: Error) => void;
      plan: Plan;
    }
    const queue: Job[] = [];
    let running: Job | null = null;
    let closed = false;
    const timers = new Set<NodeJS.Timeout>();

    const knownValue = (address: number, name: string): number | boolean | null => {
      const s = bus.pack(address)?.settings;
      return s ? (readSetting(s, name) ?? null) : null;
    };

    /** This node's deadline for one pack: a TIMEOUT result after `timeoutMs` (none when 0); returns its cancel. */
    const deadline = (address: number, p: Plan, report: (r: PackResult) => void): (() => void) => {
      if (!(timeoutMs > 0)) return () => undefined;
      const timer = setTimeout(() => {
        timers.delete(timer);
        const error = failure(new BusError('TIMEOUT', `no confirmation within ${timeoutMs} ms`, address), bus.name, address, p);
        report({ ok: false, address, setting: p.def.name, requested: p.value, before: knownValue(address, p.def.name), after: null, error });
      }, timeoutMs);
      timers.add(timer);
      return () => {
        clearTimeout(timer);
        timers.delete(timer);
      };
    };

    /**
     * The engine's write orchestration (src/bus: settings read first when unknown, sent when we
     * may talk, confirmed by read-back; 'all' one pack after another), each pack reported at its
     * result or at this node's deadline, whichever comes first. Resolves when the engine is done
     * with every pack (the next write waits for that, deadline or not); rejects when the engine
     * refused the whole request before any pack was written.
     */
    const write = (p: Plan, on: { start(index: number, count: number): void; report(r: PackResult, index: number, count: number): void }): Promise<void> => {
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
          cancels.set(address, deadline(address, p, (r) => report(r, index, count)));
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
    };

    const output = (job: Job, r: PackResult, last: boolean): void => {
      if (closed) return;
      const out = (last ? job.msg : RED.util.cloneMessage(job.msg)) as NodeMessage;
      out.topic = `${bus.name}/${r.address}/write`;
      out.payload = r;
      out.bms = bus.identity(r.address);
      job.send(out);
    };

    const runOne = async (job: Job, address: number): Promise<void> => {
      const p = job.plan;
      const s = p.def;
      const finish = (r: PackResult): void => {
        if (r.ok) {
          output(job, r, true);
          user.show({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(r.after)} ✓` });
          job.done();
        } else {
          user.show({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed', { setting: s.name }) });
          job.done(coded(r.error!.code, r.error!.message));
        }
      };
      try {
        await write(p, { start: () => undefined, report: (r) => finish(r) });
      } catch (err) {
        finish({ ok: false, address, setting: s.name, requested: p.value, before: knownValue(address, s.name), after: null, error: failure(err, bus.name, address, p) });
      }
    };

    const runAll = async (job: Job): Promise<void> => {
      const { def: s, value } = job.plan;
      const failed: PackResult[] = [];
      let count = 0;
      try {
        await write(job.plan, {
          start: (i, n) => user.show({ fill: 'yellow', shape: 'dot', text: t('jkbms-write.status.writing-all', { setting: s.name, n: i + 1, count: n }) }),
          report: (r, i, n) => {
            count = n;
            if (!r.ok) failed.push(r);
            output(job, r, i === n - 1);
          },
        });
      } catch (err) {
        user.show({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed', { setting: s.name }) });
        const what = `jkbms-write: ${s.name} = ${shown(value)} on all packs of bus "${bus.name}"`;
        if (err instanceof BusError && err.code === 'UNKNOWN_PACK') {
          job.done(coded('UNKNOWN_PACK', `${what}: no pack is online; ${NOTHING_SENT}`));
        } else {
          const e = err instanceof BusError ? err : new BusError('INVALID_SETTING', asError(err).message);
          const hint = e.message.endsWith(NOTHING_SENT) ? undefined : HINTS[e.code];
          job.done(coded(e.code, `${what} failed: ${e.message}${hint ? `; ${hint}` : ''}`));
        }
        return;
      }
      if (!failed.length) {
        user.show({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(value)} ✓ ${count}/${count}` });
        job.done();
        return;
      }
      user.show({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed-some', { setting: s.name, failed: failed.length, count }) });
      const list = failed.map((r) => `pack ${r.address}: ${r.error!.message.replace(/^jkbms-write: /, '')}`).join('; ');
      job.done(coded(failed[0]!.error!.code, `jkbms-write: ${s.name} = ${shown(value)} failed on ${failed.length} of ${count} packs of bus "${bus.name}" (${failed.map((r) => r.address).join(', ')}): ${list}`));
    };

    const pump = (): void => {
      if (running || closed) return;
      const job = queue.shift();
      if (!job) return;
      running = job;
      const { def: s } = job.plan;
      user.show({ fill: 'yellow', shape: 'dot', text: t('jkbms-write.status.writing', { setting: s.name }) });
      const work = job.plan.target === 'all' ? runAll(job) : runOne(job, job.plan.target);
      work
        .catch((err: unknown) => job.done(asError(err)))
        .finally(() => {
          running = null;
          pump();
        });
    };

    node.on('input', (msg, send, done) => {
      let p: Plan;
      try {
        p = plan(msg);
      } catch (err) {
        user.show({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.refused') });
        done(asError(err));
        return;
      }
      if (queue.length >= MAX_QUEUE) {
        done(coded('BUSY', `jkbms-write: ${MAX_QUEUE} writes are already waiting; ${p.def.name} was refused, ${NOTHING_SENT}`));
        return;
      }
      queue.push({ msg, send, done, plan: p });
      pump();
    });

    user.onClose(() => {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const job of queue.splice(0)) {
        job.done(coded('STOPPED', `jkbms-write: the node stopped before ${job.plan.def.name} was written; ${NOTHING_SENT}`));
      }
    });
  }

  RED.nodes.registerType('jkbms-write', JkbmsWriteNode);
};
