import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { realClock } from '../src/common/clock';
import type { FrameEvent } from '../src/bus/types';
import type { FrameKind } from '../src/protocol/types';
import { CellChart } from './lib/cell-chart';
import { parseAddress, parseKind } from './lib/config';
import { safeGet } from './lib/context';
import { requestError } from './lib/errors';
import { shouldRelearn, targetAddress } from './lib/follow';
import { openUserNode, type UserNode } from './lib/user-node';
import { liveSummary, RateGate, topicFor, type AvailabilityPayload, type Rate } from '../src/messages/message';

/**
 * `jkbms`: one pack on a bus. Emits its decoded live / settings / info frames and its
 * availability (message format: src/messages/message.ts), follows the pack by serial
 * number when its DIP address changes, and re-requests a frame kind on input. With the
 * "Cell chart" option a second output carries a Dashboard 2.0 bar chart of the cells with
 * each live message (nodes/lib/cell-chart.ts).
 */

interface PackNodeDef extends NodeDef {
  bus: string;
  address: number | string;
  serial: string;
  emitLive: boolean;
  emitSettings: boolean;
  emitInfo: boolean;
  emitAvailability: boolean;
  rate: Rate;
  interval: number | string;
  cellChart?: boolean | string;
}

const LEARNED_KEY = 'jkbms-learned-serial';

interface Learned {
  address: number;
  serial: string;
}

const flag = (v: unknown): boolean => v === undefined || v === true || v === 'true';
const optIn = (v: unknown): boolean => v === true || v === 'true';

export = function (RED: NodeAPI): void {
  function JkbmsNode(this: Node, def: PackNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: PackNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const configured = parseAddress(def.address);
    const rate: Rate = def.rate === 'change' || def.rate === 'interval' ? def.rate : 'all';
    const intervalS = Number(def.interval);
    const problem =
      configured === null
        ? t('jkbms.errors.bad-address', { value: String(def.address) })
        : rate === 'interval' && !(intervalS > 0)
          ? t('jkbms.errors.bad-interval', { value: String(def.interval) })
          : null;
    const user = openUserNode(RED, node, { type: 'jkbms', bus: def.bus, problem });
    if (!user || configured === null) return;
    run(user, def, configured, rate, intervalS);
  }

  function run(user: UserNode, def: PackNodeDef, configured: number, rate: Rate, intervalS: number): void {
    const { node, t } = user;
    const bus = user.bus;
    const emit: Record<FrameKind, boolean> = { live: flag(def.emitLive), settings: flag(def.emitSettings), info: flag(def.emitInfo) };
    const emitAvailability = flag(def.emitAvailability);
    const configuredSerial = typeof def.serial === 'string' && def.serial.trim() !== '' ? def.serial.trim() : null;

    const context = node.context();
    const stored = safeGet(context, LEARNED_KEY) as Learned | undefined;
    let learned: string | null =
      stored && stored.address === configured && typeof stored.serial === 'string' && stored.serial ? stored.serial : null;
    const follow = (): string | null => configuredSerial ?? learned;
    const learn = (serial: string): void => {
      learned = serial;
      try {
        context.set(LEARNED_KEY, { address: configured, serial } satisfies Learned);
      } catch (err) {
        node.debug(`could not store the learned serial number: ${String(err)}`);
      }
    };

    let current: number | null = targetAddress(configured, follow(), bus.directory);
    const inflight: Record<FrameKind, number> = { live: 0, settings: 0, info: 0 };
    const chart = optIn(def.cellChart) ? new CellChart() : null;
    /** With the cell chart, two outputs: the message and (live data only) its chart. */
    const outputs = (m: NodeMessage): NodeMessage | (NodeMessage | null)[] => (chart ? [m, chart.chartFor(m)] : m);
    const gate = new RateGate<NodeMessage>(rate, intervalS * 1000, realClock, (m) => node.send(outputs(m)));

    const identity = (address: number) => bus.identity(address);
    const frameMessage = (e: FrameEvent, address: number): NodeMessage => ({
      topic: topicFor(bus.name, address, e.kind),
      payload: structuredClone(e.payload),
      bms: identity(address),
      frame: { source: e.source, ts: e.ts },
    });

    const showWaiting = (): void => user.show({ fill: 'yellow', shape: 'ring', text: t(current === null ? 'jkbms.status.searching' : 'jkbms.status.waiting') });
    const showPack = (): void => {
      if (current === null) return showWaiting();
      const pack = bus.pack(current);
      if (pack && !pack.online && pack.lastSeen !== null) {
        user.show({ fill: 'red', shape: 'ring', text: t('jkbms.status.offline') });
      } else if (pack?.live) {
        user.show({ fill: 'green', shape: 'dot', text: liveSummary(pack.live) }, { live: true });
      } else showWaiting();
    };

    const onFrame = (e: FrameEvent): void => {
      if (e.address === null) return;
      if (e.kind === 'info' && !configuredSerial && e.payload.type === 'info') {
        if (!learned && e.address === current && e.payload.serialNumber) learn(e.payload.serialNumber);
        else if (learned && shouldRelearn(configured, learned, bus.onlineAddresses(), bus.directory)) {
          const now = bus.directory.infoAt(configured)?.serialNumber;
          if (now) {
            node.warn(t('jkbms.warn.relearned', { address: configured, old: learned, serial: now }));
            learn(now);
          }
        }
      }
      const before = current;
      current = targetAddress(configured, follow(), bus.directory);
      if (current !== before) {
        if (current !== null && before !== null) node.log(t('jkbms.log.moved', { from: before, to: current }));
        showPack();
      }
      if (e.address !== current) return;
      if (e.kind === 'live' && e.payload.type === 'live') user.show({ fill: 'green', shape: 'dot', text: liveSummary(e.payload) }, { live: true });
      if (!emit[e.kind]) return;
      if (e.source === 'poll' && inflight[e.kind] > 0) return; // our own request: its answer is sent by the input handler
      gate.offer(e.kind, e.payload, frameMessage(e, current));
    };

    const onPack = (e: { address: number; online: boolean }): void => {
      if (e.address !== current) return;
      showPack();
      if (!emitAvailability) return;
      const payload: AvailabilityPayload = { type: 'availability', address: e.address, online: e.online };
      node.send(outputs({ topic: topicFor(bus.name, e.address, 'availability'), payload, bms: identity(e.address) }));
    };

    user.connect({ frame: onFrame, pack: onPack, connection: () => showPack() });
    showPack();

    node.on('input', (msg, send, done) => {
      const k = parseKind(msg.payload);
      if (k === null) {
        done(new Error(t('jkbms.errors.bad-input', { value: describe(msg.payload) })));
        return;
      }
      const address = current;
      if (address === null) {
        done(new Error(t('jkbms.errors.not-located', { serial: follow() ?? '' })));
        return;
      }
      inflight[k] += 1;
      bus.engine.request(address, k).then(
        (payload) => {
          inflight[k] -= 1;
          gate.noteSent(k, payload);
          const out = msg as NodeMessage;
          out.topic = topicFor(bus.name, address, k);
          out.payload = structuredClone(payload);
          out.bms = identity(address);
          out.frame = { source: 'poll', ts: Date.now() };
          send(outputs(out));
          done();
        },
        (err: unknown) => {
          inflight[k] -= 1;
          done(requestError(err, { bus: bus.name, address, kind: k }));
        },
      );
    });

    user.onClose(() => gate.dispose());
  }

  RED.nodes.registerType('jkbms', JkbmsNode);
};

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}
