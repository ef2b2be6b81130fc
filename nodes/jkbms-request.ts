import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { DecodedFrame, FrameKind } from '../src/protocol/types';
import { getBus } from './lib/bus-registry';
import { parseKind, parseTarget, type Target } from './lib/config';
import { requestError } from './lib/errors';
import { bmsIdentity, topicFor } from '../src/messages/message';

/**
 * `jkbms-request`: on input, request a frame kind from one pack or from all packs and send
 * the decoded answer(s), one message per pack, reusing the input message.
 */

interface RequestNodeDef extends NodeDef {
  bus: string;
  address: number | string;
  kind: FrameKind;
  timeout: number | string;
}

export = function (RED: NodeAPI): void {
  function JkbmsRequestNode(this: Node, def: RequestNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: RequestNodeDef): void {
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    const bus = getBus(RED, def.bus);
    const defTarget = parseTarget(def.address);
    const defKind = parseKind(def.kind);
    const timeoutMs = def.timeout === '' || def.timeout === undefined ? 0 : Number(def.timeout);

    const problem = !bus
      ? t('jkbms-request.errors.no-bus')
      : defTarget === null
        ? t('jkbms-request.errors.bad-address', { value: String(def.address) })
        : defKind === null
          ? t('jkbms-request.errors.bad-kind', { value: String(def.kind) })
          : !(Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 60_000)
            ? t('jkbms-request.errors.bad-timeout', { value: String(def.timeout) })
            : null;
    if (problem || !bus || defTarget === null || defKind === null) {
      node.status({ fill: 'red', shape: bus ? 'dot' : 'ring', text: bus ? t('jkbms-request.status.config') : t('jkbms-request.status.no-bus') });
      // After the flow has started, so Catch nodes created after this node see it.
      setImmediate(() => node.error(problem, {}));
      node.on('input', (_msg, _send, done) => done(new Error(problem ?? 'misconfigured')));
      return;
    }
    const handle = bus;
    handle.register(node);
    let pending = 0;

    node.on('input', (msg, send, done) => {
      let target: Target = defTarget;
      let kind: FrameKind = defKind;
      const p = msg.payload;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && !Buffer.isBuffer(p)) {
        const o = p as Record<string, unknown>;
        if (o.address !== undefined) {
          const a = parseTarget(o.address);
          if (a === null) {
            done(new Error(t('jkbms-request.errors.bad-address', { value: JSON.stringify(o.address) })));
            return;
          }
          target = a;
        }
        if (o.kind !== undefined) {
          const k = parseKind(o.kind);
          if (k === null) {
            done(new Error(t('jkbms-request.errors.bad-kind', { value: JSON.stringify(o.kind) })));
            return;
          }
          kind = k;
        }
      }
      pending += 1;
      node.status({ fill: 'yellow', shape: 'dot', text: t('jkbms-request.status.waiting') });
      const opts = timeoutMs > 0 ? { timeoutMs } : {};
      const asked: Promise<DecodedFrame[]> =
        target === 'all'
          ? handle.engine.request('all', kind, opts)
          : handle.engine.request(target, kind, opts).then((f) => [f]);
      asked.then(
        (frames) => {
          pending -= 1;
          const ts = Date.now();
          frames.forEach((payload, i) => {
            const address = payload.address ?? (target === 'all' ? -1 : target);
            const out = (i === frames.length - 1 ? msg : RED.util.cloneMessage(msg)) as NodeMessage;
            out.topic = topicFor(handle.name, address, kind);
            out.payload = structuredClone(payload);
            out.bms = bmsIdentity(handle, address, handle.directory.infoAt(address) ?? handle.engine.pack(address)?.info);
            out.frame = { source: 'poll', ts };
            send(out);
          });
          if (pending === 0) {
            node.status({ fill: 'green', shape: 'dot', text: t('jkbms-request.status.ok', { count: frames.length }) });
          }
          done();
        },
        (err: unknown) => {
          pending -= 1;
          const code = (err as { code?: string }).code;
          node.status({
            fill: 'red',
            shape: 'ring',
            text: t(code === 'TIMEOUT' ? 'jkbms-request.status.timeout' : 'jkbms-request.status.failed'),
          });
          done(requestError(err, { bus: handle.name, address: target, kind }));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      handle
        .unregister(node)
        .catch(() => undefined)
        .finally(() => done());
    });
  }

  RED.nodes.registerType('jkbms-request', JkbmsRequestNode);
};
