/**
 * `jkbms-ha`: Home Assistant MQTT discovery for the packs of `jkbms` nodes (and the bank of a
 * `jkbms-bank` node, as a device of its own; the reports of a `jkbms-health` node join the
 * pack and bank devices). Emits messages
 * for the core `mqtt out` node ({ topic, payload, retain, qos }) on its first output; we ship
 * no MQTT client. With the "controls" option, HA commands become write requests on the second
 * output, for a `jkbms-write` node whose results come back in.
 * The logic lives in src/ha (HaBridge) and src/energy; this file is the Node-RED glue:
 * options, node context, status, errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type Clock, realClock } from '../src/common/clock';
import { HaBridge, type PersistKey, type StoredState } from '../src/ha/bridge';
import { parseControl } from '../src/ha/control-input';
import { topicPrefixProblem } from '../src/ha/ids';
import { HaInputError, type InputOptions, parseInput } from '../src/ha/input';
import type { DiscoveryMode, HaOptions, MqttMessage, Origin, Qos, WriteRequest } from '../src/ha/types';
import { getBus } from './lib/bus-registry';
import { openUserNode } from './lib/user-node';

interface JkbmsHaDef extends NodeDef {
  discoveryPrefix: string;
  baseTopic: string;
  mode: DiscoveryMode;
  groupCells: boolean;
  groupResistances: boolean;
  groupTemperatures: boolean;
  groupDetails: boolean;
  groupDevice: boolean;
  groupEnergy: boolean;
  expireAfter: number | string;
  qos: number | string;
  rateLimit: number | string;
  energyMaxGap: number | string;
  controls?: boolean | string;
  protection?: boolean | string;
}

/**
 * Our package name, version and project URL, for HA's origin block. package.json is one level
 * above nodes/ in the sources and two above dist/nodes/ when built and installed.
 */
function readOrigin(): Origin {
  try {
    const file = [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')].find((f) => existsSync(f));
    if (!file) throw new Error('package.json not found');
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; homepage?: string };
    const origin: Origin = { name: pkg.name ?? '@jkpb/node-red-jkbms', version: pkg.version ?? '0.0.0' };
    if (pkg.homepage) origin.url = pkg.homepage.replace(/#.*$/, '');
    return origin;
  } catch {
    return { name: '@jkpb/node-red-jkbms', version: '0.0.0' };
  }
}

const ORIGIN = readOrigin();

/** Default "State at most every", s: a few seconds per pack keeps Home Assistant's recorder small. */
const DEFAULT_RATE_S = 5;

/** How long a pack waits for its serial number before it is announced under its provisional id, s. */
const SERIAL_WAIT_S = 60;

/** Node options → HaOptions, or the i18n key of the first invalid option. */
function haOptions(c: JkbmsHaDef): HaOptions | { error: string; option: string } {
  const discoveryPrefix = String(c.discoveryPrefix ?? 'homeassistant').trim();
  const baseTopic = String(c.baseTopic ?? 'jkbms').trim();
  const num = (v: unknown, dflt: number): number => (v === '' || v === undefined || v === null ? dflt : Number(v));
  const expireAfter = num(c.expireAfter, 120);
  const qos = num(c.qos, 1);
  const rateLimit = num(c.rateLimit, DEFAULT_RATE_S);
  const energyMaxGap = num(c.energyMaxGap, 60);
  if (topicPrefixProblem(discoveryPrefix)) return { error: 'bad-topic', option: 'discoveryPrefix' };
  if (topicPrefixProblem(baseTopic)) return { error: 'bad-topic', option: 'baseTopic' };
  if (c.mode !== undefined && c.mode !== 'entity' && c.mode !== 'device') return { error: 'bad-option', option: 'mode' };
  if (!Number.isInteger(expireAfter) || expireAfter < 0) return { error: 'bad-option', option: 'expireAfter' };
  if (qos !== 0 && qos !== 1 && qos !== 2) return { error: 'bad-option', option: 'qos' };
  if (!Number.isFinite(rateLimit) || rateLimit < 0) return { error: 'bad-option', option: 'rateLimit' };
  if (!Number.isFinite(energyMaxGap) || energyMaxGap <= 0) return { error: 'bad-option', option: 'energyMaxGap' };
  const on = (v: unknown) => v !== false;
  const opted = (v: unknown) => v === true || v === 'true';
  return {
    discoveryPrefix,
    baseTopic,
    mode: c.mode ?? 'entity',
    groups: {
      cells: on(c.groupCells),
      resistances: on(c.groupResistances),
      temperatures: on(c.groupTemperatures),
      details: on(c.groupDetails),
      device: on(c.groupDevice),
      energy: on(c.groupEnergy),
    },
    expireAfter,
    qos: qos as Qos,
    rateLimit,
    serialWait: SERIAL_WAIT_S,
    energyMaxGap,
    origin: ORIGIN,
    controls: opted(c.controls),
    protection: opted(c.protection),
  };
}

/**
 * State handed from a closing node to its next instance in this process. Without a
 * configured context store, Node-RED deletes a node's context whenever the node is stopped,
 * so a redeploy would otherwise reset the energy counters.
 */
const carried = new Map<string, StoredState>();

const toNodeMsg = (m: MqttMessage): NodeMessage => ({ topic: m.topic, payload: m.payload, retain: m.retain, qos: m.qos }) as NodeMessage;
const toRequestMsg = (r: WriteRequest): NodeMessage => ({ topic: r.topic, payload: r.payload, bms: r.bms }) as NodeMessage;

export = function (RED: NodeAPI) {
  function JkbmsHaNode(this: Node, config: JkbmsHaDef) {
    RED.nodes.createNode(this, config);

    const opts = haOptions(config);
    const user = openUserNode(RED, this, { type: 'jkbms-ha', problem: 'error' in opts ? RED._(`jkbms-ha.errors.${opts.error}`, { option: opts.option }) : null });
    if (!user || 'error' in opts) return;

    if (opts.expireAfter > 0 && opts.rateLimit > 0 && opts.expireAfter <= opts.rateLimit) {
      this.warn(RED._('jkbms-ha.warn.expire-rate', { expire: opts.expireAfter, rate: opts.rateLimit }));
    }

    // Timer callbacks must never throw into the event loop: report through this.error instead.
    const clock: Clock = {
      now: () => realClock.now(),
      clearTimeout: (h) => realClock.clearTimeout(h),
      setTimeout: (fn, ms) =>
        realClock.setTimeout(() => {
          try {
            fn();
          } catch (err) {
            this.error(err, {});
          }
        }, ms),
    };

    // Controls need a bus that allows writes and may transmit; say once per bus when it does not.
    const refusedBuses = new Set<string>();
    const writable = (busId: string): boolean => {
      const bus = getBus(RED, busId);
      const ok = !!bus && bus.allowWrites && bus.engine.options.mode !== 'listen';
      if (!ok && !refusedBuses.has(busId)) {
        refusedBuses.add(busId);
        this.warn(RED._('jkbms-ha.warn.not-writable', { bus: bus?.name ?? busId }));
      }
      return ok;
    };

    const ctx = this.context();
    const bridge = new HaBridge(opts, {
      clock,
      wallNow: () => Date.now(),
      publish: (msgs) => {
        this.send([msgs.map(toNodeMsg)]);
        updateStatus(); // a bank may have gone silent
      },
      persist: (key: PersistKey, value: unknown) =>
        ctx.set(key, value, (err?: Error) => {
          if (err) this.error(err, {});
        }),
      writable,
      // A listen-only bus never asks for device info; the JK master (address 0) never tells its serial.
      serialExpected: (busId, address) => address !== 0 && getBus(RED, busId)?.engine.options.mode !== 'listen',
    });

    // A bank message names its bus only in its topic: find the one deployed jkbms-bus of that name.
    const input: InputOptions = {
      busIdOf: (name) => {
        const ids: string[] = [];
        RED.nodes.eachNode((n) => {
          if (n.type === 'jkbms-bus' && getBus(RED, n.id)?.name === name) ids.push(n.id);
        });
        return ids.length === 1 ? ids[0]! : null;
      },
    };

    let lastStatus = '';
    const updateStatus = () => {
      const c = bridge.counts();
      const parts: string[] = [];
      if (c.packs > 0) parts.push(RED._(`jkbms-ha.status.${c.offline ? 'packs-offline' : 'packs'}`, { count: c.packs, offline: c.offline }));
      if (c.banks > 0) parts.push(RED._(`jkbms-ha.status.${c.banksOffline ? 'banks-offline' : 'banks'}`, { count: c.banks, offline: c.banksOffline }));
      const s =
        parts.length === 0
          ? { fill: 'yellow' as const, shape: 'ring' as const, text: RED._('jkbms-ha.status.waiting') }
          : { fill: c.offline + c.banksOffline === 0 ? ('green' as const) : ('yellow' as const), shape: 'dot' as const, text: parts.join(', ') };
      const key = JSON.stringify([s, c]);
      if (key !== lastStatus) {
        lastStatus = key;
        user.show(s, { live: parts.length > 0 });
      }
    };
    updateStatus();

    // Restore the energy counters, the announced-config registry, what is known of each pack
    // (serial, device info, settings) and each device's last health report: from the node context (default store; persistent when
    // settings.js configures contextStorage), else from the previous instance of this node in
    // this process (a redeploy). Nothing is announced before this has run.
    const previous = carried.get(this.id);
    carried.delete(this.id);
    const keys = ['energy', 'announced', 'packs', 'health'] as const;
    const read = (i: number, got: StoredState, failed: Error | null): void => {
      if (i < keys.length) {
        ctx.get(keys[i]!, (err: Error, value: unknown) => read(i + 1, { ...got, [keys[i]!]: value }, failed ?? err ?? null));
        return;
      }
      if (failed) this.error(failed, {});
      const inContext = !failed && keys.some((k) => got[k] !== undefined);
      try {
        const out = bridge.restore(inContext ? got : (previous ?? {}));
        if (out.length) this.send([out.map(toNodeMsg)]);
        updateStatus();
      } catch (err) {
        this.error(err, {});
      }
    };
    read(0, {}, null);

    // The bridge is online: sent once the flow is wired (the broker node's Birth message
    // should say the same on reconnects; see the help).
    const startTimer = clock.setTimeout(() => this.send([bridge.start().map(toNodeMsg)]), 0);

    this.on('input', (msg, send, done) => {
      try {
        const control = parseControl(msg as Parameters<typeof parseControl>[0]);
        if (control) {
          const r = bridge.control(control);
          if (r.publish.length || r.request) send([r.publish.length ? r.publish.map(toNodeMsg) : null, r.request ? toRequestMsg(r.request) : null]);
          done(r.error ? new Error(RED._(`jkbms-ha.errors.${r.error.code}`, { topic: r.error.topic, setting: r.error.setting })) : undefined);
          return;
        }
        const parsed = parseInput(msg, input);
        // Its status says so when a bus of these packs is down.
        const busId = 'bms' in parsed ? parsed.bms.busId : 'bank' in parsed ? parsed.bank.busId : 'bus' in parsed ? parsed.bus.busId : null;
        if (busId) user.watch(busId);
        const out = bridge.handle(parsed);
        if (out.length) send([out.map(toNodeMsg)]);
        updateStatus();
        done();
      } catch (err) {
        if (err instanceof HaInputError) {
          done(new Error(RED._(`jkbms-ha.errors.${err.code}`, { field: err.field ?? '' })));
        } else {
          done(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });

    user.onClose((removed) => {
      clock.clearTimeout(startTimer);
      bridge.stop();
      if (removed) carried.delete(this.id);
      else carried.set(this.id, bridge.stored());
    });
  }

  RED.nodes.registerType('jkbms-ha', JkbmsHaNode);
};
