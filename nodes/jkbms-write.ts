import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { WriteError } from '../src/bus/errors';
import { BusError, type WriteResult } from '../src/bus/types';
import { readSetting, SettingError, validateSetting, type SettingDef } from '../src/protocol/settings';
import { getBus, type BusHandle } from './lib/bus-registry';
import { parseTarget, type Target } from './lib/config';
import { asError } from './lib/errors';
import { bmsIdentity } from '../src/messages/message';

/**
 * `jkbms-write`: change one setting of one pack, or of every pack, safely.
 *
 * Every step is explicit: the request is checked against the register table (name, range,
 * step), protection thresholds need the node's own opt-in, the bus must allow writes and be
 * able to transmit, and a request carrying `msg.bms` must name this bus and the pack at the
 * target address. Only then is it queued; the engine sends it when it may talk (in a JK
 * master's quiet gap when sniffing) and confirms it by reading the settings back.
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

/** Shorthand keys (`{charging: false}`) and the settings they stand for. */
const SHORTHANDS: Readonly<Record<string, string>> = {
  charging: 'chargingEnabled',
  discharging: 'dischargingEnabled',
  balancing: 'balancingEnabled',
  balancer: 'balancingEnabled',
  heating: 'heatingEnabled',
  floatMode: 'chargingFloatMode',
};

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

/** A checked request, ready to be queued. */
interface Plan {
  target: Target;
  def: SettingDef;
  value: number | boolean;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);

const shown = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));

/** Read `msg.payload` into (target, setting, raw value); throws a BAD_MESSAGE / INVALID_SETTING error. */
function readRequest(payload: unknown, defaultTarget: Target): { target: Target; name: string; raw: unknown } {
  const usage = 'msg.payload must be an object: {setting, value}, {address, setting, value} or a shorthand such as {charging: false}';
  if (!isPlainObject(payload)) throw coded('BAD_MESSAGE', `jkbms-write: ${usage}; ${NOTHING_SENT}`);
  let target = defaultTarget;
  if (payload.address !== undefined) {
    const t = parseTarget(payload.address);
    if (t === null) {
      throw coded('BAD_MESSAGE', `jkbms-write: msg.payload.address must be "all" or a whole number 0-15, got ${JSON.stringify(payload.address)}; ${NOTHING_SENT}`);
    }
    target = t;
  }
  let name: string;
  let raw: unknown;
  if (payload.setting !== undefined) {
    const extra = Object.keys(payload).filter((k) => k !== 'address' && k !== 'setting' && k !== 'value');
    if (extra.length) {
      throw coded('BAD_MESSAGE', `jkbms-write: unexpected ${extra.map((k) => `msg.payload.${k}`).join(', ')} next to msg.payload.setting (one setting per message); ${NOTHING_SENT}`);
    }
    if (typeof payload.setting !== 'string' || payload.setting.trim() === '') {
      throw coded('BAD_MESSAGE', `jkbms-write: msg.payload.setting must be a setting name, got ${JSON.stringify(payload.setting)}; ${NOTHING_SENT}`);
    }
    if (!('value' in payload) || payload.value === undefined || payload.value === null) {
      throw coded('BAD_MESSAGE', `jkbms-write: msg.payload.value is missing (the new value of ${payload.setting}); ${NOTHING_SENT}`);
    }
    name = payload.setting.trim();
    raw = payload.value;
  } else {
    const keys = Object.keys(payload).filter((k) => k !== 'address');
    if (keys.length !== 1) {
      throw coded(
        'BAD_MESSAGE',
        keys.length === 0
          ? `jkbms-write: no setting in msg.payload; ${usage}; ${NOTHING_SENT}`
          : `jkbms-write: exactly one setting per message, got ${keys.length} (${keys.join(', ')}); ${NOTHING_SENT}`,
      );
    }
    name = keys[0]!;
    raw = payload[name];
  }
  return { target, name: SHORTHANDS[name] ?? name, raw };
}

/** Name, range and step against the register table; throws INVALID_SETTING / OUT_OF_RANGE. */
function checkValue(name: string, raw: unknown): { def: SettingDef; value: number | boolean } {
  try {
    return validateSetting(name, raw);
  } catch (err) {
    if (err instanceof SettingError) {
      const code: WriteCode = err.code === 'OUT_OF_RANGE' ? 'OUT_OF_RANGE' : 'INVALID_SETTING';
      const hint = code === 'INVALID_SETTING' ? ` (shorthands: ${Object.keys(SHORTHANDS).join(', ')})` : '';
      throw coded(code, `jkbms-write: ${err.message}${hint}; ${NOTHING_SENT}`);
    }
    throw err;
  }
}

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

export = function (RED: NodeAPI): void {
  function JkbmsWriteNode(this: Node, def: WriteNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: WriteNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const bus = getBus(RED, def.bus);
    const defTarget = parseTarget(def.address);
    const allowProtection = def.allowProtection === true || def.allowProtection === 'true';
    const timeoutMs = def.timeout === '' || def.timeout === undefined || def.timeout === null ? 0 : Number(def.timeout);

    const problem = !bus
      ? t('jkbms-write.errors.no-bus')
      : defTarget === null
        ? t('jkbms-write.errors.bad-address', { value: String(def.address) })
        : !(Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_TIMEOUT_MS)
          ? t('jkbms-write.errors.bad-timeout', { value: String(def.timeout) })
          : null;
    if (problem || !bus || defTarget === null) {
      node.status({ fill: 'red', shape: bus ? 'dot' : 'ring', text: bus ? t('jkbms-write.status.config') : t('jkbms-write.status.no-bus') });
      // After the flow has started, so Catch nodes created after this node see it.
      setImmediate(() => node.error(problem, {}));
      node.on('input', (_msg, _send, done) => done(new Error(problem ?? 'misconfigured')));
      return;
    }
    const handle: BusHandle = bus;
    handle.register(node);
    const listenOnly = (): boolean => handle.engine.options.mode === 'listen';
    const idle = (): void => {
      if (!handle.allowWrites) node.status({ fill: 'grey', shape: 'ring', text: t('jkbms-write.status.writes-off') });
      else if (listenOnly()) node.status({ fill: 'grey', shape: 'ring', text: t('jkbms-write.status.listen') });
    };
    idle();

    /** Everything checked before a request may be queued. Throws a coded error. */
    const plan = (msg: NodeMessage): Plan => {
      const req = readRequest(msg.payload, defTarget);
      const { def: setting, value } = checkValue(req.name, req.raw);
      if (setting.protection && !allowProtection) {
        throw coded(
          'PROTECTED',
          `jkbms-write: ${setting.name} (${setting.label}) is a protection setting: a wrong value can disable a protection of the pack. ` +
            `Tick "Allow protection settings" in this jkbms-write node to write it; ${NOTHING_SENT}`,
        );
      }
      if (!handle.allowWrites) {
        throw coded('WRITES_DISABLED', `jkbms-write: writes are disabled on bus "${handle.name}": tick "allow changing pack settings" in the bus node to enable them; ${NOTHING_SENT}`);
      }
      if (listenOnly()) {
        throw coded('LISTEN_ONLY', `jkbms-write: bus "${handle.name}" is in listen mode and never transmits: set its Mode to "auto" or "master" to write settings; ${NOTHING_SENT}`);
      }
      checkIdentity(msg.bms, req.target);
      return { target: req.target, def: setting, value };
    };

    /** A request that names a pack (msg.bms, e.g. from jkbms-ha) must name this bus and the pack at the target. */
    const checkIdentity = (bms: unknown, target: Target): void => {
      if (!isPlainObject(bms)) return;
      if (typeof bms.busId === 'string' && bms.busId !== handle.id) {
        throw coded(
          'WRONG_BUS',
          `jkbms-write: msg.bms names bus "${String(bms.bus ?? bms.busId)}" but this node writes to bus "${handle.name}": send it to the jkbms-write node of that bus; ${NOTHING_SENT}`,
        );
      }
      if (typeof bms.address === 'number' && bms.address !== target) {
        const to = target === 'all' ? 'all packs' : `pack ${target}`;
        throw coded('WRONG_PACK', `jkbms-write: msg.bms names pack ${bms.address} but the write targets ${to}: make them agree or delete msg.bms; ${NOTHING_SENT}`);
      }
      const serial = typeof bms.serialNumber === 'string' && bms.serialNumber !== '' ? bms.serialNumber : null;
      const there = target === 'all' ? undefined : handle.directory.infoAt(target)?.serialNumber;
      if (serial && there && there !== serial) {
        throw coded('WRONG_PACK', `jkbms-write: msg.bms names the pack with serial number ${serial}, but pack ${String(target)} is ${there}; ${NOTHING_SENT}`);
      }
    };

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

    const failure = (err: unknown, address: number, p: Plan): { code: WriteCode; message: string } => {
      const what = `jkbms-write: ${p.def.name} = ${shown(p.value)} on pack ${address} of bus "${handle.name}"`;
      if (err instanceof BusError) {
        const hint = err.message.endsWith(NOTHING_SENT) ? undefined : HINTS[err.code];
        return { code: err.code, message: `${what} failed: ${err.message}${hint ? `; ${hint}` : ''}` };
      }
      return { code: 'FAILED', message: `${what} failed: ${asError(err).message}` };
    };

    const knownValue = (address: number, name: string): number | boolean | null => {
      try {
        const s = handle.engine.pack(address)?.settings;
        return s ? (readSetting(s, name) ?? null) : null;
      } catch {
        return null;
      }
    };

    const packInfo = (address: number) => {
      try {
        return handle.engine.pack(address)?.info;
      } catch {
        return undefined;
      }
    };

    /** An online pack whose settings were never read: read them first, so `before` is known. */
    const needsSettings = (address: number): boolean => {
      try {
        const pack = handle.engine.pack(address);
        return !!pack && pack.online && !pack.isMaster && !pack.settings;
      } catch {
        return false;
      }
    };

    /**
     * One pack: the engine's confirmed write, reported at its outcome or at this node's
     * deadline, whichever comes first. `settled` resolves when the engine is done with it
     * (the next write waits for that, deadline or not).
     */
    const attempt = (address: number, p: Plan): { outcome: Promise<PackResult>; settled: Promise<void> } => {
      const first = needsSettings(address)
        ? handle.engine.request(address, 'settings').then(
            () => undefined,
            (err: unknown) => {
              const code = err instanceof BusError ? err.code : 'TIMEOUT';
              throw new BusError(code, `the settings of pack ${address} could not be read before the write (${asError(err).message}); ${NOTHING_SENT}`, address);
            },
          )
        : Promise.resolve();
      const engine = first.then(() => handle.engine.write(address, p.def.name, p.value));
      const fromEngine = engine.then(
        // A single-pack write resolves only on success (no error field).
        ({ error: _none, ...r }): PackResult => r,
        (err: unknown): PackResult => {
          const base: WriteResult =
            err instanceof WriteError
              ? err.result
              : { ok: false, address, setting: p.def.name, requested: p.value, before: knownValue(address, p.def.name), after: null };
          return { ...base, ok: false, error: failure(err, address, p) };
        },
      );
      const settled = fromEngine.then(() => undefined);
      if (!(timeoutMs > 0)) return { outcome: fromEngine, settled };
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<PackResult>((resolve) => {
        timer = setTimeout(() => {
          timers.delete(timer!);
          resolve({
            ok: false,
            address,
            setting: p.def.name,
            requested: p.value,
            before: knownValue(address, p.def.name),
            after: null,
            error: failure(new BusError('TIMEOUT', `no confirmation within ${timeoutMs} ms`, address), address, p),
          });
        }, timeoutMs);
        timers.add(timer);
      });
      const outcome = Promise.race([fromEngine, deadline]).finally(() => {
        if (timer) {
          clearTimeout(timer);
          timers.delete(timer);
        }
      });
      return { outcome, settled };
    };

    const output = (job: Job, r: PackResult, last: boolean): void => {
      if (closed) return;
      const out = (last ? job.msg : RED.util.cloneMessage(job.msg)) as NodeMessage;
      out.topic = `${handle.name}/${r.address}/write`;
      out.payload = r;
      out.bms = bmsIdentity(handle, r.address, handle.directory.infoAt(r.address) ?? packInfo(r.address));
      job.send(out);
    };

    const runOne = async (job: Job, address: number): Promise<void> => {
      const { outcome, settled } = attempt(address, job.plan);
      const r = await outcome;
      const s = job.plan.def;
      if (r.ok) {
        output(job, r, true);
        node.status({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(r.after)} ✓` });
        job.done();
      } else {
        node.status({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed', { setting: s.name }) });
        job.done(coded(r.error!.code, r.error!.message));
      }
      await settled;
    };

    const runAll = async (job: Job): Promise<void> => {
      const { def: s, value } = job.plan;
      let targets: number[];
      try {
        targets = handle.engine.status().packs.filter((p) => p.online && !p.isMaster).map((p) => p.address).sort((a, b) => a - b);
      } catch {
        targets = [];
      }
      if (!targets.length) {
        node.status({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed', { setting: s.name }) });
        job.done(coded('UNKNOWN_PACK', `jkbms-write: ${s.name} = ${shown(value)} on all packs of bus "${handle.name}": no pack is online; ${NOTHING_SENT}`));
        return;
      }
      const failed: PackResult[] = [];
      for (const [i, address] of targets.entries()) {
        node.status({ fill: 'yellow', shape: 'dot', text: t('jkbms-write.status.writing-all', { setting: s.name, n: i + 1, count: targets.length }) });
        const { outcome, settled } = attempt(address, job.plan);
        const r = await outcome;
        if (!r.ok) failed.push(r);
        output(job, r, i === targets.length - 1);
        await settled;
      }
      if (!failed.length) {
        node.status({ fill: 'green', shape: 'dot', text: `${s.name}=${shown(value)} ✓ ${targets.length}/${targets.length}` });
        job.done();
        return;
      }
      node.status({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.failed-some', { setting: s.name, failed: failed.length, count: targets.length }) });
      const list = failed.map((r) => `pack ${r.address}: ${r.error!.message.replace(/^jkbms-write: /, '')}`).join('; ');
      job.done(coded(failed[0]!.error!.code, `jkbms-write: ${s.name} = ${shown(value)} failed on ${failed.length} of ${targets.length} packs of bus "${handle.name}" (${failed.map((r) => r.address).join(', ')}): ${list}`));
    };

    const pump = (): void => {
      if (running || closed) return;
      const job = queue.shift();
      if (!job) return;
      running = job;
      const { def: s } = job.plan;
      node.status({ fill: 'yellow', shape: 'dot', text: t('jkbms-write.status.writing', { setting: s.name }) });
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
        node.status({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.refused') });
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

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      try {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const job of queue.splice(0)) {
          job.done(coded('STOPPED', `jkbms-write: the node stopped before ${job.plan.def.name} was written; ${NOTHING_SENT}`));
        }
      } finally {
        handle
          .unregister(node)
          .catch(() => undefined)
          .finally(() => done());
      }
    });
  }

  RED.nodes.registerType('jkbms-write', JkbmsWriteNode);
};
