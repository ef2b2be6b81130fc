import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { BusOptions, BusStats, PackState } from '../../src/bus/types';
import type { InfoPayload } from '../../src/protocol/types';
import { bmsIdentity, type BmsIdentity } from '../../src/messages/message';
import { getBus, type BusHandle, type BusListeners } from './bus-registry';
import { busPhases, invalidBus, phaseOf, type BusPhaseEvent, type BusState } from './bus-reporting';
import { asError } from './errors';

/**
 * The skeleton every node of this package is built on, so a node file reads as what it does:
 *
 *   const user = openUserNode(RED, node, { type: 'jkbms', bus: def.bus, problem: firstProblem });
 *   if (!user) return;                       // bad config: red status, an error to Catch, inputs refused
 *   user.connect({ frame: onFrame });        // opens the bus (BusHandle.register)
 *   user.show({ fill: 'green', ... }, { live: true });   // the node's own status
 *   user.onClose(() => timers.clear());      // then the bus is released, done() always called
 *
 * - **A config problem** (no bus selected, the bus node's invalid settings, a bad option of
 *   the node) is shown as a red status and reported to Catch nodes after the flows have
 *   started; every input is refused with done(err) saying the same. An invalid bus reports its
 *   reason itself, once (nodes/lib/bus-reporting.ts); its users only show it.
 * - **The bus's state is part of the node's status**: while a bus the node uses is down, in
 *   use by something else or invalid, the status is a red ring saying so, and live values the
 *   node showed are marked stale; when the bus is back, the node's own status returns.
 * - **Status nodes see every status**: one set while the flows are still starting is set again
 *   once they have started (Node-RED collects a flow's Status nodes at the end of its start).
 * - **The close handler** runs the node's clean-up, releases the bus and calls done() in a
 *   finally: within the 15 s Node-RED allows (the bus stops within 10 s, bus-registry.ts).
 */

/** Translation function (RED._ of the calling node set). */
export type Translate = (key: string, params?: Record<string, string | number>) => string;

export interface UserNodeOptions {
  /** The node type: the prefix of its catalog keys (`<type>.status.*`, `<type>.errors.*`, `<type>.bus.*`). */
  type: string;
  /** The id of the bus node it uses (undefined: a node without a bus of its own, e.g. jkbms-ha). */
  bus?: unknown;
  /** The first problem of the node's own options (translated), or null. */
  problem?: string | null;
}

/** A problem of the bus's state worth a red status, or null. */
function busTrouble(state: BusState, name: string, t: Translate, type: string): string | null {
  switch (state.phase) {
    case 'down':
      return t(`${type}.bus.disconnected`, { bus: name });
    case 'in-use':
      return t(`${type}.bus.in-use`, { bus: name });
    case 'invalid':
      return t(`${type}.bus.invalid`, { bus: name, reason: state.reason });
    default:
      return null;
  }
}

/**
 * Open a node on the skeleton: null when its configuration is unusable (then everything is
 * taken care of: status, error, refused inputs, close).
 */
export function openUserNode(RED: NodeAPI, node: Node, opts: UserNodeOptions): UserNode | null {
  const t: Translate = (key, params) => RED._(key, params);
  const type = opts.type;
  const usesBus = opts.bus !== undefined;
  const handle = usesBus ? getBus(RED, opts.bus) : null;
  const bad = usesBus ? invalidBus(opts.bus) : undefined;
  if (usesBus && !handle && bad) {
    // The bus reports its reason itself, once; this node shows it and refuses inputs with it.
    bad.users.add(node);
    const problem = t(`${type}.errors.bus-invalid`, { bus: bad.name, reason: bad.reason });
    refuse(node, problem, { fill: 'red', shape: 'dot', text: t(`${type}.bus.invalid`, { bus: bad.name, reason: bad.reason }) }, false, () => bad.users.remove(node));
    return null;
  }
  if (usesBus && !handle) {
    refuse(node, t(`${type}.errors.no-bus`), { fill: 'red', shape: 'ring', text: t(`${type}.status.no-bus`) }, true);
    return null;
  }
  if (opts.problem) {
    refuse(node, opts.problem, { fill: 'red', shape: 'dot', text: t(`${type}.status.config`) }, true);
    return null;
  }
  return new UserNode(node, t, type, handle ? new BusUse(handle) : null);
}

/** Red status (again once the flows started), the error to Catch (if `report`), every input refused. */
function refuse(node: Node, problem: string, status: NodeStatus, report: boolean, cleanup?: () => void): void {
  node.status(status);
  const timer = setImmediate(() => {
    node.status(status);
    if (report) node.error(problem, {});
  });
  node.on('input', (_msg, _send, done) => done(new Error(problem)));
  node.on('close', (_removed: boolean, done: () => void) => {
    try {
      clearImmediate(timer);
      cleanup?.();
    } finally {
      done();
    }
  });
}

/** A node of this package with a usable configuration. */
export class UserNode {
  private own: NodeStatus = {};
  private ownLive = false;
  private shown = '{}';
  private readonly watched = new Set<string>();
  private readonly onPhase = (e: BusPhaseEvent): void => {
    if (this.watched.has(e.id)) this.render();
  };
  private readonly closers: ((removed: boolean) => void)[] = [];

  constructor(
    readonly node: Node,
    readonly t: Translate,
    private readonly type: string,
    /** The bus (null for a node without one). */
    private readonly use: BusUse | null,
  ) {
    busPhases.on('phase', this.onPhase);
    if (use) this.watched.add(use.id);
    // Set while the flows are starting, a status is set again once they have (for Status nodes).
    const timer = setImmediate(() => {
      if (this.shown !== '{}') this.render(true);
    });
    this.closers.push(() => clearImmediate(timer));
    node.on('close', (removed: boolean, done: () => void) => {
      busPhases.off('phase', this.onPhase);
      let released: Promise<void> = Promise.resolve();
      try {
        for (const fn of this.closers) {
          try {
            fn(removed);
          } catch (err) {
            node.warn(`closing: ${asError(err).message}`);
          }
        }
      } finally {
        if (this.use) released = this.use.handle.unregister(node).catch(() => undefined);
        void released.finally(() => done());
      }
    });
  }

  /** The node's bus (for a node with one). */
  get bus(): BusUse {
    if (!this.use) throw new Error(`${this.type} has no bus`);
    return this.use;
  }

  /** Start using the bus (opens it for the first user); `listeners` get its events. */
  connect(listeners: Partial<BusListeners> = {}): void {
    this.bus.handle.register(this.node, listeners);
  }

  /** Also show the state of bus `id` (a node that hears of buses from its input, e.g. jkbms-ha). */
  watch(id: string): void {
    if (this.watched.has(id)) return;
    this.watched.add(id);
    this.render();
  }

  /** Clean-up at close (before the bus is released); a throw is logged, never kept from done(). */
  onClose(fn: (removed: boolean) => void): void {
    this.closers.push(fn);
  }

  /**
   * The node's own status. `live`: the text shows live values (marked stale while the bus is
   * down). Unchanged statuses are not set again.
   */
  show(status: NodeStatus, opts: { live?: boolean } = {}): void {
    this.own = status;
    this.ownLive = opts.live === true;
    this.render();
  }

  /** Run `fn`; a throw becomes a node error (with an object msg, so Catch nodes see it). */
  guard(fn: () => void, msg: Record<string, unknown> = {}): void {
    try {
      fn();
    } catch (err) {
      this.node.error(asError(err), { ...msg, payload: asError(err).message });
    }
  }

  /** The first bus in trouble among those watched, as a text. */
  private trouble(): string | null {
    for (const id of this.watched) {
      const e = phaseOf(id);
      const text = e ? busTrouble(e.state, e.name, this.t, this.type) : null;
      if (text) return text;
    }
    return null;
  }

  private render(again = false): void {
    const trouble = this.trouble();
    const text = String(this.own.text ?? '');
    const status: NodeStatus = trouble
      ? { fill: 'red', shape: 'ring', text: this.ownLive && text ? this.t(`${this.type}.bus.stale`, { bus: trouble, text }) : trouble }
      : this.own;
    const key = JSON.stringify(status);
    if (key === this.shown && !again) return;
    this.shown = key;
    this.node.status(status);
  }
}

/** A bus as a node uses it: every read is safe (it never throws, whatever the engine's state). */
export class BusUse {
  constructor(readonly handle: BusHandle) {}

  get id(): string {
    return this.handle.id;
  }

  get name(): string {
    return this.handle.name;
  }

  get allowWrites(): boolean {
    return this.handle.allowWrites;
  }

  get directory(): BusHandle['directory'] {
    return this.handle.directory;
  }

  /** The running engine (requests, writes). */
  get engine(): BusHandle['engine'] {
    return this.handle.engine;
  }

  pack(address: number): PackState | undefined {
    try {
      return this.handle.engine.pack(address);
    } catch {
      return undefined;
    }
  }

  /** The pack's device info: from the info frames seen on the bus, else the engine's. */
  packInfo(address: number): InfoPayload | undefined {
    return this.handle.directory.infoAt(address) ?? this.pack(address)?.info;
  }

  /** msg.bms of the pack at `address`. */
  identity(address: number): BmsIdentity {
    return bmsIdentity(this.handle, address, this.packInfo(address));
  }

  packs(): PackState[] {
    try {
      return this.handle.engine.status().packs;
    } catch {
      return [];
    }
  }

  onlineAddresses(): number[] {
    return this.packs()
      .filter((p) => p.online)
      .map((p) => p.address);
  }

  option<K extends keyof BusOptions>(key: K): BusOptions[K] | undefined {
    try {
      return this.handle.engine.options[key];
    } catch {
      return undefined;
    }
  }

  /** The bus never transmits (listen mode or a replay). */
  get listenOnly(): boolean {
    return this.option('mode') === 'listen';
  }

  /** The engine's health counters (a snapshot), or null when it cannot give them. */
  stats(): BusStats | null {
    try {
      return this.handle.engine.stats();
    } catch {
      return null;
    }
  }
}
