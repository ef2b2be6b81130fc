import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { bankIdFrom, isBankId, parseBankSetting } from '../src/bank/config';
import { bankStatus } from '../src/bank/status';
import { SendThrottle } from '../src/common/throttle';
import { BankTracker } from '../src/bank/tracker';
import type { BankIdentity, BankPayload } from '../src/bank/types';
import { realClock, type TimerHandle } from '../src/common/clock';
import { DEFAULT_BUS_OPTIONS, type FrameEvent } from '../src/bus/types';
import { parseEnergy } from '../src/energy/integrator';
import { asError } from './lib/errors';
import { KeptState } from './lib/kept-state';
import { openUserNode, type UserNode } from './lib/user-node';

/**
 * `jkbms-bank`: the whole bank of one bus as one message (src/bank/types.ts). Listens to
 * every frame and online/offline change of the bus, keeps the bank's state in a BankTracker
 * (src/bank/tracker.ts) and sends `{topic: "<bus name>/bank", payload: {type: "bank", …}, bms: {bus, busId}}`
 * on every live frame, online/offline change and stale pack, at most once per `rate`
 * seconds (the latest state wins).
 *
 * Energy counters survive redeploys (and Node-RED restarts with a persistent context store):
 * nodes/lib/kept-state.ts.
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

/** A stale deadline is checked this long after it, so the pack is surely past it. */
const DEADLINE_SLACK_MS = 5;

export = function (RED: NodeAPI): void {
  /** The energy counters, in node context under this key (nodes/lib/kept-state.ts). */
  const kept = new KeptState('jkbms-bank-energy', (v) => parseEnergy(v));

  function JkbmsBankNode(this: Node, def: BankNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: BankNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const expected = parseBankSetting(def.expected, 'expected', true);
    const rate = parseBankSetting(def.rate, 'rate');
    const staleAfter = parseBankSetting(def.staleAfter, 'staleAfter');
    const bankId = typeof def.bankId === 'string' ? def.bankId.trim() : '';
    const problem =
      expected === null
        ? t('jkbms-bank.errors.bad-expected', { value: String(def.expected) })
        : rate === null
          ? t('jkbms-bank.errors.bad-rate', { value: String(def.rate) })
          : staleAfter === null
            ? t('jkbms-bank.errors.bad-stale', { value: String(def.staleAfter) })
            : bankId !== '' && !isBankId(bankId)
              ? t('jkbms-bank.errors.bad-bank-id', { value: bankId })
              : null;
    const user = openUserNode(RED, node, { type: 'jkbms-bank', bus: def.bus, problem });
    if (!user || expected === null || rate === null || staleAfter === null) return;
    const includeMaster = def.includeMaster === true || def.includeMaster === 'true';
    run(user, { includeMaster, expected, rate, staleAfter, bankId });
  }

  function run(user: UserNode, o: { includeMaster: boolean; expected: number; rate: number; staleAfter: number; bankId: string }): void {
    const { node, t, bus } = user;
    const topic = `${bus.name}/bank`;
    const identity: BankIdentity = { bus: bus.name, busId: bus.id, bankId: o.bankId || bankIdFrom(bus.name) };
    const offlineAfterS = bus.option('offlineAfterS');
    const staleAfterS = o.staleAfter > 0 ? o.staleAfter : typeof offlineAfterS === 'number' && offlineAfterS > 0 ? offlineAfterS : DEFAULT_BUS_OPTIONS.offlineAfterS;
    const tracker = new BankTracker({ includeMaster: o.includeMaster, expected: o.expected, staleAfterMs: staleAfterS * 1000 }, kept.load(node));
    const persist = (): void => kept.save(node, tracker.energySnapshot());

    const showStatus = (p: BankPayload): void => {
      const v = bankStatus(p);
      user.show({ fill: v.fill, shape: v.shape, text: v.text ?? t(`jkbms-bank.status.${v.key}`, v.params) }, { live: v.key !== 'waiting' });
    };

    const send = (): void => {
      const payload = tracker.summary(Date.now());
      showStatus(payload);
      node.send({ topic, payload, bms: { ...identity } } as NodeMessage);
    };
    const throttle = new SendThrottle(realClock, o.rate * 1000, () => guard(send));

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

    const guard = (fn: () => void): void => user.guard(fn, { topic });

    const onFrame = (e: FrameEvent): void =>
      guard(() => {
        if (tracker.frame(e.address, e.payload, Date.now())) changed();
      });
    const onPack = (e: { address: number; online: boolean }): void =>
      guard(() => {
        if (tracker.setOnline(e.address, e.online, Date.now())) changed();
      });

    guard(() => {
      tracker.seed(bus.packs(), Date.now());
      schedule();
      showStatus(tracker.summary(Date.now()));
    });
    user.connect({ frame: onFrame, pack: onPack });

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

    user.onClose((removed) => {
      throttle.cancel();
      realClock.clearTimeout(staleTimer);
      staleTimer = null;
      kept.close(node, removed, () => tracker.energySnapshot());
    });
  }

  RED.nodes.registerType('jkbms-bank', JkbmsBankNode);
};

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}
