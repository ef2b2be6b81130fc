import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { DecodedFrame, FrameKind } from '../src/protocol/types';
import { parseKind, parseTarget, type Target } from './lib/config';
import { asError, requestError } from './lib/errors';
import { openUserNode, type UserNode } from './lib/user-node';
import { topicFor } from '../src/messages/message';

/**
 * `jkbms-request`: on input, request a frame kind from one pack or from all packs and send
 * the decoded answer(s), one message per pack, reusing the input message. Kind `stats`
 * answers at once with the bus's health counters (engine.stats(), src/bus/types.ts BusStats).
 */

interface RequestNodeDef extends NodeDef {
  bus: string;
  address: number | string;
  kind: RequestKind;
  timeout: number | string;
}

/** What can be asked: a frame kind of the packs, or the bus's own counters. */
type RequestKind = FrameKind | 'stats';

const parseRequestKind = (raw: unknown): RequestKind | null => (raw === 'stats' ? 'stats' : parseKind(raw));

export = function (RED: NodeAPI): void {
  function JkbmsRequestNode(this: Node, def: RequestNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: RequestNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const target = parseTarget(def.address);
    const kind = parseRequestKind(def.kind);
    const timeoutMs = def.timeout === '' || def.timeout === undefined ? 0 : Number(def.timeout);
    const problem =
      target === null
        ? t('jkbms-request.errors.bad-address', { value: String(def.address) })
        : kind === null
          ? t('jkbms-request.errors.bad-kind', { value: String(def.kind) })
          : !(Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 60_000)
            ? t('jkbms-request.errors.bad-timeout', { value: String(def.timeout) })
            : null;
    const user = openUserNode(RED, node, { type: 'jkbms-request', bus: def.bus, problem });
    if (!user || target === null || kind === null) return;
    user.connect();
    run(user, target, kind, timeoutMs);
  }

  function run(user: UserNode, defTarget: Target, defKind: RequestKind, timeoutMs: number): void {
    const { node, t, bus } = user;
    let pending = 0;

    /** The request of `msg`: its payload's address and kind, else the node's. Throws a clear error. */
    const requestOf = (msg: NodeMessage): { target: Target; kind: RequestKind } => {
      let target = defTarget;
      let kind = defKind;
      const p = msg.payload;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && !Buffer.isBuffer(p)) {
        const o = p as Record<string, unknown>;
        if (o.address !== undefined) {
          const a = parseTarget(o.address);
          if (a === null) throw new Error(t('jkbms-request.errors.bad-address', { value: JSON.stringify(o.address) }));
          target = a;
        }
        if (o.kind !== undefined) {
          const k = parseRequestKind(o.kind);
          if (k === null) throw new Error(t('jkbms-request.errors.bad-kind', { value: JSON.stringify(o.kind) }));
          kind = k;
        }
      }
      return { target, kind };
    };

    /** The bus's counters, at once (whatever the address). */
    const sendStats = (msg: NodeMessage, send: (m: NodeMessage) => void): void => {
      const stats = bus.stats();
      if (!stats) throw new Error(t('jkbms-request.errors.no-stats', { bus: bus.name }));
      msg.topic = `${bus.name}/stats`;
      msg.payload = stats;
      msg.bms = { bus: bus.name, busId: bus.id };
      send(msg);
      if (pending === 0) user.show({ fill: 'green', shape: 'dot', text: t('jkbms-request.status.stats') });
    };

    node.on('input', (msg, send, done) => {
      let req: { target: Target; kind: RequestKind };
      try {
        req = requestOf(msg);
        if (req.kind === 'stats') {
          sendStats(msg, send);
          done();
          return;
        }
      } catch (err) {
        done(asError(err));
        return;
      }
      const { target } = req;
      const kind: FrameKind = req.kind;
      pending += 1;
      user.show({ fill: 'yellow', shape: 'dot', text: t('jkbms-request.status.waiting') });
      const opts = timeoutMs > 0 ? { timeoutMs } : {};
      const asked: Promise<DecodedFrame[]> =
        target === 'all' ? bus.engine.request('all', kind, opts) : bus.engine.request(target, kind, opts).then((f) => [f]);
      asked.then(
        (frames) => {
          pending -= 1;
          const ts = Date.now();
          frames.forEach((payload, i) => {
            const address = payload.address ?? (target === 'all' ? -1 : target);
            const out = (i === frames.length - 1 ? msg : RED.util.cloneMessage(msg)) as NodeMessage;
            out.topic = topicFor(bus.name, address, kind);
            out.payload = structuredClone(payload);
            out.bms = bus.identity(address);
            out.frame = { source: 'poll', ts };
            send(out);
          });
          if (pending === 0) user.show({ fill: 'green', shape: 'dot', text: t('jkbms-request.status.ok', { count: frames.length }) });
          done();
        },
        (err: unknown) => {
          pending -= 1;
          const code = (err as { code?: string }).code;
          user.show({ fill: 'red', shape: 'ring', text: t(code === 'TIMEOUT' ? 'jkbms-request.status.timeout' : 'jkbms-request.status.failed') });
          done(requestError(err, { bus: bus.name, address: target, kind }));
        },
      );
    });
  }

  RED.nodes.registerType('jkbms-request', JkbmsRequestNode);
};
