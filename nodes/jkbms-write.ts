import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { checkWriteRequest, WriteRequestError, type WriteRequest } from '../src/bus/write-request';
import { parseTarget, type Target } from './lib/config';
import { asError } from './lib/errors';
import { openUserNode, type BusUse } from './lib/user-node';
import { coded, NOTHING_SENT } from './lib/write-outcome';
import { WriteQueue, type WriteOutput } from './lib/write-queue';

/**
 * `jkbms-write`: change one setting of one pack, or of every pack, safely.
 *
 * Every step is explicit: the request is checked (src/bus/write-request.ts: its shape, the
 * register table's name, range and step, and protection thresholds need the node's own
 * opt-in), the bus must allow writes and be able to transmit, and a request carrying `msg.bms`
 * must name this bus and the pack at the target address. Only then is it queued
 * (nodes/lib/write-queue.ts: one request at a time, in arrival order, each handed to the
 * engine's write orchestration — settings read first when unknown, sent when we may talk, in a
 * JK master's quiet gap when sniffing, confirmed by reading the settings back; 'all' one pack
 * after another — with this node's own deadline). Each pack's result is sent on the input
 * message; a failure goes to done(err), worded in nodes/lib/write-outcome.ts.
 */

interface WriteNodeDef extends NodeDef {
  bus: string;
  address: number | string;
  allowProtection: boolean | string;
  timeout: number | string;
}

const MAX_TIMEOUT_MS = 300_000;

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);

/** Everything checked before a request may be queued. Throws a coded error. */
function checkRequest(bus: BusUse, msg: NodeMessage, defaultTarget: Target, allowProtection: boolean): WriteRequest {
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

    // Each pack's result on the input message (a copy for all but the last of an 'all' write).
    const output: WriteOutput = (job, r, last) => {
      const out = (last ? job.msg : RED.util.cloneMessage(job.msg)) as NodeMessage;
      out.topic = `${bus.name}/${r.address}/write`;
      out.payload = r;
      out.bms = bus.identity(r.address);
      job.send(out);
    };
    const queue = new WriteQueue(user, timeoutMs, output);

    node.on('input', (msg, send, done) => {
      let plan: WriteRequest;
      try {
        plan = checkRequest(bus, msg, target, allowProtection);
      } catch (err) {
        user.show({ fill: 'red', shape: 'ring', text: t('jkbms-write.status.refused') });
        done(asError(err));
        return;
      }
      queue.enqueue({ msg, send, done, plan });
    });
    user.onClose(() => queue.close());
  }

  RED.nodes.registerType('jkbms-write', JkbmsWriteNode);
};
