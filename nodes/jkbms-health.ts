import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { realClock, type TimerHandle } from '../src/common/clock';
import type { FrameEvent } from '../src/bus/types';
import { HealthMonitor, parseHealthSnapshot, type BankHealthPayload, type PackHealthPayload } from '../src/health';
import { asError } from './lib/errors';
import { KeptState } from './lib/kept-state';
import { openUserNode, type UserNode } from './lib/user-node';

/**
 * `jkbms-health`: cell and pack health of every pack of one bus (src/health). Listens to every
 * live frame of the bus like the bank node, keeps bounded statistics per pack, and sends at
 * every `interval` seconds and on any input message one message per pack on output 1
 * (`<bus>/<address>/health`, payload {type: "health", …}, msg.bms its identity) and one for
 * the bank on output 2 (`<bus>/health`, payload {type: "health-bank", …, findings}).
 *
 * The statistics survive redeploys (and Node-RED restarts with a persistent context store):
 * nodes/lib/kept-state.ts.
 */

interface HealthNodeDef extends NodeDef {
  bus: string;
  interval: number | string;
  includeMaster: boolean | string;
}

/** The statistics are stored at least this often, ms. */
const PERSIST_MS = 300_000;

export = function (RED: NodeAPI): void {
  /** The statistics, in node context under this key. */
  const kept = new KeptState('jkbms-health-state', (v) => parseHealthSnapshot(v));

  function JkbmsHealthNode(this: Node, def: HealthNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: HealthNodeDef): void {
    const interval = parseInterval(def.interval);
    const problem = interval === null ? RED._('jkbms-health.errors.bad-interval', { value: String(def.interval) }) : null;
    const user = openUserNode(RED, node, { type: 'jkbms-health', bus: def.bus, problem });
    if (!user || interval === null) return;
    run(user, interval, def.includeMaster === true || def.includeMaster === 'true');
  }

  function run(user: UserNode, interval: number, includeMaster: boolean): void {
    const { node, t, bus } = user;
    const monitor = new HealthMonitor({}, kept.load(node));
    const persist = (): void => kept.save(node, monitor.snapshot());

    const showStatus = (packs: PackHealthPayload[], bank: BankHealthPayload): void => {
      const n = bank.findings.length;
      const status =
        packs.length === 0
          ? { fill: 'yellow' as const, shape: 'ring' as const, text: t('jkbms-health.status.waiting') }
          : n === 0
            ? { fill: 'green' as const, shape: 'dot' as const, text: t('jkbms-health.status.ok', { packs: packs.length }) }
            : { fill: 'red' as const, shape: 'ring' as const, text: t('jkbms-health.status.findings', { packs: packs.length, findings: n }) };
      user.show(status, { live: packs.length > 0 });
    };

    /** The messages of this moment for both outputs: one per pack, the bank's (`bankMsg` reused when given). */
    const messages = (bankMsg: NodeMessage = {} as NodeMessage): [NodeMessage[], NodeMessage] => {
      const now = Date.now();
      const packs = monitor.packReports(now);
      const bank = monitor.bankReport(now, packs);
      showStatus(packs, bank);
      const perPack: NodeMessage[] = packs.map(
        (p) =>
          ({
            topic: `${bus.name}/${p.address}/health`,
            payload: p,
            bms: bus.identity(p.address),
          }) as NodeMessage,
      );
      const m = bankMsg as NodeMessage & { bms?: unknown };
      m.topic = `${bus.name}/health`;
      m.payload = bank;
      m.bms = { bus: bus.name, busId: bus.id };
      return [perPack, m];
    };

    const guard = (fn: () => void): void => user.guard(fn, { topic: `${bus.name}/health` });

    let emitTimer: TimerHandle | null = null;
    let persistTimer: TimerHandle | null = null;
    const every = (ms: number, fn: () => void, set: (h: TimerHandle) => void): void => {
      set(
        realClock.setTimeout(() => {
          guard(fn);
          every(ms, fn, set);
        }, ms),
      );
    };
    if (interval > 0) {
      every(interval * 1000, () => {
        node.send(messages());
        persist();
      }, (h) => (emitTimer = h));
    }
    // Sending stores the statistics too; without frequent sends they are stored every PERSIST_MS.
    if (interval === 0 || interval * 1000 > PERSIST_MS) every(PERSIST_MS, persist, (h) => (persistTimer = h));

    const onFrame = (e: FrameEvent): void =>
      guard(() => {
        if (e.kind !== 'live' || e.payload.type !== 'live' || e.address === null || (e.address === 0 && !includeMaster)) return;
        const serial = bus.directory.infoAt(e.address)?.serialNumber || null;
        const fresh = monitor.size === 0;
        monitor.frame(e.address, e.payload, e.ts, serial);
        if (fresh) guard(() => showStatus(monitor.packReports(e.ts), monitor.bankReport(e.ts)));
      });
    user.connect({ frame: onFrame });
    guard(() => {
      const now = Date.now();
      showStatus(monitor.packReports(now), monitor.bankReport(now));
    });

    node.on('input', (msg, send, done) => {
      try {
        const m = msg as NodeMessage & { reset?: unknown };
        const reset = m.reset;
        if (reset !== undefined && reset !== true && reset !== false && !(Number.isInteger(reset) && (reset as number) >= 0 && (reset as number) <= 15)) {
          done(new Error(t('jkbms-health.errors.bad-reset', { value: describe(reset) })));
          return;
        }
        if (reset === true || typeof reset === 'number') {
          const forgot = monitor.reset(reset === true ? undefined : reset);
          persist();
          node.log(reset === true ? t('jkbms-health.log.reset-all') : t(forgot ? 'jkbms-health.log.reset' : 'jkbms-health.log.reset-none', { address: reset }));
        }
        delete m.reset;
        send(messages(m));
        persist();
        done();
      } catch (err) {
        done(asError(err));
      }
    });

    user.onClose((removed) => {
      realClock.clearTimeout(emitTimer);
      realClock.clearTimeout(persistTimer);
      emitTimer = persistTimer = null;
      kept.close(node, removed, () => monitor.snapshot());
    });
  }

  RED.nodes.registerType('jkbms-health', JkbmsHealthNode);
};

/** "At most every" seconds: 0 (only on input) to 86400; blank = 60. */
function parseInterval(v: unknown): number | null {
  const s = String(v ?? '').trim();
  if (s === '') return 60;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 && n <= 86_400 && (n === 0 || n >= 1) ? n : null;
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}
