import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { bankIdFrom, isBankId, parseBankSetting } from '../src/bank/config';
import { bankStatus } from '../src/bank/status';
import { SendThrottle } from '../src/common/throttle';
import { BankTracker } from '../src/bank/tracker';
import type { BankIdentity, BankPayload } from '../src/bank/types';
import { realClock, type TimerHandle } from '../src/common/clock';
import { DEFAULT_BUS_OPTIONS, type FrameEvent, type PackState } from '../src/bus/types';
import { parseEnergy, type EnergySnapshot } from '../src/energy/integrator';
import { getBus, type BusHandle } from './lib/bus-registry';
import { safeGet } from './lib/context';
import { asError } from './lib/errors';

/**
 * `jkbms-bank`: the whole bank of one bus as one message (src/bank/types.ts). Listens to
 * every frame and online/offline change of the bus, keeps the bank's state in a BankTracker
 * (src/bank/tracker.ts) and sends `{topic: "<bus name>/bank", payload: {type: "bank", …}, bms: {bus, busId}}`
 * on every live frame, online/offline change and stale pack, at most once per `rate`
 * seconds (the latest state wins).
 *
 * Energy counters: stored in node context (they survive Node-RED restarts when a persistent
 * context store is configured) and in a map of this runtime, because Node-RED deletes a
 * restarted node's context on every redeploy unless `contextStorage` is configured.
 */

interface BankNodeDef extends NodeDef {
  bus: string;
  expected: number | string;
  includeMaster: boolean | string;
  rate: number | string;
  staleAfter: number | string;
  /** Id of the bank's Home Assistant device; blank = derived from the bus name. */
  bankId?: string;
}

/** Node-context key of the energy counters. */
const ENERGY_KEY = 'jkbms-bank-energy';

/** A stale deadline is checked this long after it, so the pack is surely past it. */
const DEADLINE_SLACK_MS = 5;

export = function (RED: NodeAPI): void {
  /** Energy counters by node id, carried across redeploys within this runtime. */
  const carried = new Map<string, EnergySnapshot>();

  function JkbmsBankNode(this: Node, def: BankNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: BankNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const bus = getBus(RED, def.bus);
    const expected = parseBankSetting(def.expected, 'expected', true);
    const rate = parseBankSetting(def.rate, 'rate');
    const staleAfter = parseBankSetting(def.staleAfter, 'staleAfter');
    const rawBankId = typeof def.bankId === 'string' ? def.bankId.trim() : '';
    const problem = !bus
      ? t('jkbms-bank.errors.no-bus')
      : expected === null
        ? t('jkbms-bank.errors.bad-expected', { value: String(def.expected) })
        : rate === null
          ? t('jkbms-bank.errors.bad-rate', { value: String(def.rate) })
          : staleAfter === null
            ? t('jkbms-bank.errors.bad-stale', { value: String(def.staleAfter) })
            : rawBankId !== '' && !isBankId(rawBankId)
              ? t('jkbms-bank.errors.bad-bank-id', { value: rawBankId })
              : null;
    if (problem || !bus || expected === null || rate === null || staleAfter === null) {
      node.status({ fill: 'red', shape: bus ? 'dot' : 'ring', text: bus ? t('jkbms-bank.status.config') : t('jkbms-bank.status.no-bus') });
      // Deferred: Catch nodes of the flow are only known once every node of it is constructed.
      setImmediate(() => node.error(problem, {}));
      node.on('input', (_msg, _send, done) => done(new Error(problem ?? 'misconfigured')));
      return;
    }
    const handle: BusHandle = bus;
    const topic = `${handle.name}/bank`;
    const identity: BankIdentity = { bus: handle.name, busId: handle.id, bankId: rawBankId || bankIdFrom(handle.name) };
    const context = node.context();
    const tracker = new BankTracker(
      {
        includeMaster: def.includeMaster === true || def.includeMaster === 'true',
        expected,
        staleAfterMs: (staleAfter > 0 ? staleAfter : busOfflineAfterS(handle)) * 1000,
      },
      parseEnergy(safeGet(context, ENERGY_KEY)) ?? carried.get(node.id) ?? null,
    );

    const persist = (): void => {
      const snapshot = tracker.energySnapshot();
      carried.set(node.id, snapshot);
      try {
        context.set(ENERGY_KEY, snapshot);
      } catch (err) {
        node.debug(`could not store the energy counters: ${String(err)}`);
      }
    };

    let shown = '';
    const showStatus = (p: BankPayload): void => {
      const v = bankStatus(p);
      const status: NodeStatus = { fill: v.fill, shape: v.shape, text: v.text ?? t(`jkbms-bank.status.${v.key}`, v.params) };
      const key = JSON.stringify([status, v.params]);
      if (key === shown) return;
      shown = key;
      node.status(status);
    };

    const send = (): void => {
      const payload = tracker.summary(Date.now());
      showStatus(payload);
      node.send({ topic, payload, bms: { ...identity } } as NodeMessage);
    };
    const throttle = new SendThrottle(realClock, rate * 1000, () => guard(send));

    let staleTimer: TimerHandle | null = null;
    const schedule = (): void => {
      realClock.clearTimeout(staleTimer);
      staleTimer = null;
      const at = tracker.nextDeadline(Date.now());
      if (at === null) return;
      staleTimer = realClock.setTimeout(() => {
        staleTimer = null;
        guard(() => {
          if (tracker.tick(Date.now())) changed();
          else schedule();
        });
      }, at - Date.now() + DEADLINE_SLACK_MS);
    };

    /** The bank changed: store the counters, show it, send it (rate permitting), watch for the next stale pack. */
    const changed = (): void => {
      persist();
      schedule();
      if (throttle.request()) send();
      else showStatus(tracker.summary(Date.now()));
    };

    function guard(fn: () => void): void {
      try {
        fn();
      } catch (err) {
        node.error(asError(err), { topic, payload: asError(err).message });
      }
    }

    const onFrame = (e: FrameEvent): void =>
      guard(() => {
        if (tracker.frame(e.address, e.payload, Date.now())) changed();
      });
    const onPack = (e: { address: number; online: boolean }): void =>
      guard(() => {
        if (tracker.setOnline(e.address, e.online, Date.now())) changed();
      });

    guard(() => {
      tracker.seed(busPacks(handle), Date.now());
      schedule();
      showStatus(tracker.summary(Date.now()));
    });
    handle.register(node, { frame: onFrame, pack: onPack });

    node.on('input', (msg, sendMsg, done) => {
      try {
        const m = msg as NodeMessage & { resetEnergy?: unknown };
        const reset = m.resetEnergy;
        if (reset !== undefined && typeof reset !== 'boolean') {
          done(new Error(t('jkbms-bank.errors.bad-reset', { value: describe(reset) })));
          return;
        }
        if (reset) {
          tracker.resetEnergy();
          persist();
          node.log(t('jkbms-bank.log.reset'));
        }
        delete m.resetEnergy;
        m.topic = topic;
        m.payload = tracker.summary(Date.now());
        m.bms = { ...identity };
        showStatus(m.payload as BankPayload);
        sendMsg(m);
        done();
      } catch (err) {
        done(asError(err));
      }
    });

    node.on('close', (removed: boolean, done: () => void) => {
      try {
        throttle.cancel();
        realClock.clearTimeout(staleTimer);
        staleTimer = null;
        if (removed) carried.delete(node.id);
        else persist();
      } finally {
        handle
          .unregister(node)
          .catch(() => undefined)
          .finally(() => done());
      }
    });
  }

  RED.nodes.registerType('jkbms-bank', JkbmsBankNode);
};

/** The bus's "pack offline after", s (the default stale time). */
function busOfflineAfterS(bus: BusHandle): number {
  try {
    const s = bus.engine.options.offlineAfterS;
    return typeof s === 'number' && s > 0 ? s : DEFAULT_BUS_OPTIONS.offlineAfterS;
  } catch {
    return DEFAULT_BUS_OPTIONS.offlineAfterS;
  }
}

function busPacks(bus: BusHandle): PackState[] {
  try {
    return bus.engine.status().packs;
  } catch {
    return [];
  }
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}
