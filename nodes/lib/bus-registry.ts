import { EventEmitter } from 'node:events';
import type { Node, NodeAPI } from 'node-red';
import { claimPort, portKey, PortInUseError } from '../../src/transport/port-registry';
import type { ReplayTransport } from '../../src/transport/replay';
import type { Transport } from '../../src/transport/transport';
import type { BusEngineApi, BusOptions, BusRole, FrameEvent, PackState } from '../../src/bus/types';
import { busFactories, type EngineDeps, type TransportSpec } from './bus-factories';
import { BusRecording, type RecordSpec } from './bus-recording';
import { announcePhase, BusUsers, forgetPhase, plainMessage, type BusPhase } from './bus-reporting';
import { PackDirectory } from './pack-directory';

export type { RecordSpec } from './bus-recording';
export { busFactories, type BusFactories, type EngineDeps, type TransportSpec } from './bus-factories';

/**
 * The bus registry: how every node of this package reaches a `jkbms-bus` config node.
 *
 *   const bus = getBus(RED, config.bus);         // BusHandle | null (null: missing or misconfigured)
 *   bus.register(node, { frame: (e) => ..., pack: (e) => ... });   // in the constructor
 *   bus.engine.request(3, 'info');               // the running engine (BusEngineApi)
 *   node.on('close', (_removed, done) => { bus.unregister(node).finally(done) });
 * Nodes use it through their skeleton (nodes/lib/user-node.ts), which does all of this.
 * - The first register() opens the port and starts the engine; the last unregister() stops
 *   the engine and closes the port (its promise resolves when the port is free again).
 * - Listeners given to register() are attached to the handle, which forwards the events of
 *   the current engine ('frame', 'pack', 'role', 'connection'; see src/bus/types.ts), and are
 *   removed by unregister(). After the last user left, the next register() starts a fresh
 *   engine on a fresh transport: keep using `bus.engine` rather than a saved reference.
 * - `allowWrites` is the bus node's "allow writes" box; write nodes must refuse when false.
 * - Status and errors of the bus reach the Status and Catch nodes of its users' flows once per
 *   flow, and its phase their own status: nodes/lib/bus-reporting.ts.
 */

export interface BusListeners {
  frame: (e: FrameEvent) => void;
  pack: (e: { address: number; online: boolean; pack: PackState }) => void;
  role: (e: { role: BusRole; previous: BusRole; reason: string }) => void;
  connection: (e: { connected: boolean; error?: string }) => void;
}

export interface BusHandle {
  readonly id: string;
  /** The bus node's name, or a label derived from its port when the name is blank. */
  readonly name: string;
  readonly allowWrites: boolean;
  /** The engine of the current (or, between users, the last) run. */
  readonly engine: BusEngineApi;
  /** Which pack (serial number) is at which address, from info frames. */
  readonly directory: PackDirectory;
  /** Number of registered user nodes. */
  readonly userCount: number;
  register(user: Node, listeners?: Partial<BusListeners>): void;
  unregister(user: Node): Promise<void>;
}

const registry = new Map<string, BusController>();

/** The bus config node with this id, if it is deployed and usable. */
export function getBus(RED: NodeAPI, id: unknown): BusHandle | null {
  if (typeof id !== 'string' || id === '') return null;
  const bus = registry.get(id);
  if (!bus) return null;
  return RED.nodes.getNode(id) === bus.node ? bus : null;
}

/** Every deployed bus (admin endpoints). */
export function busById(id: string): BusController | undefined {
  return registry.get(id);
}

export type { BusPhase, PhaseExtras } from './bus-reporting';

export interface BusControllerOptions {
  id: string;
  name: string;
  allowWrites: boolean;
  transport: TransportSpec;
  engine: Partial<BusOptions>;
  /** The recording option (file, size limit) and whether it is on at start. */
  record?: RecordSpec & { enabled: boolean };
  /** Called on every state change. */
  onPhase(phase: BusPhase): void;
  /** A problem worth a Catch node. */
  onError(err: Error): void;
  log: NonNullable<EngineDeps['log']>;
  /** The config node (Node-RED forwards its status and errors to `node.users`). */
  node: Node & { users?: Record<string, Node> };
}

/** Stop and close never take longer than this (Node-RED gives a close handler 15 s). */
export const STOP_TIMEOUT_MS = 10_000;

const FORWARDED: readonly (keyof BusListeners)[] = ['frame', 'pack', 'role', 'connection'];

export class BusController extends EventEmitter implements BusHandle {
  readonly id: string;
  readonly name: string;
  readonly allowWrites: boolean;
  readonly directory = new PackDirectory();
  readonly node: BusControllerOptions['node'];
  private readonly opts: BusControllerOptions;
  private readonly users = new Map<string, { user: Node; listeners: Partial<BusListeners> }>();
  private readonly reporters: BusUsers;
  private startScheduled = false;
  private transport: Transport;
  private current: BusEngineApi;
  private running = false;
  private used = false;
  private release: (() => void) | null = null;
  private detach: (() => void) | null = null;
  private stopping: Promise<void> = Promise.resolve();
  private closed = false;
  private lastError = '';
  private retryMs: number | null = null;
  private everConnected = false;
  private replayEnded = false;
  private lastPhase: BusPhase = { phase: 'stopped' };
  /** The recording option of this bus (null for a replay, which records nothing). */
  readonly recording: BusRecording | null;

  /** Throws (TypeError) when the transport settings are unusable. */
  constructor(opts: BusControllerOptions) {
    super();
    this.setMaxListeners(0);
    this.on('error', () => undefined);
    this.opts = opts;
    this.id = opts.id;
    this.name = opts.name;
    this.allowWrites = opts.allowWrites;
    this.node = opts.node;
    this.reporters = new BusUsers(opts.node);
    const record = opts.record;
    this.recording =
      record && opts.transport.kind !== 'replay'
        ? new BusRecording({
            spec: record,
            enabled: record.enabled,
            owner: `bus "${opts.name}" (${opts.id})`,
            meta: { bus: opts.name, recorder: '@jkpb/node-red-jkbms' },
            onError: (err) => opts.onError(err),
            onChange: () => this.phase(this.lastPhase),
          })
        : null;
    this.transport = busFactories.createTransport(opts.transport, opts.log);
    this.current = busFactories.createEngine(this.transport, opts.engine, { log: opts.log });
    registry.set(this.id, this);
  }

  get engine(): BusEngineApi {
    return this.current;
  }

  /** The transport of the current (or last) run: a SimulatedBus or ReplayTransport tells more about itself. */
  get currentTransport(): Transport {
    return this.transport;
  }

  /** 'serial' | 'tcp' | 'sim' | 'replay' */
  get connection(): TransportSpec['kind'] {
    return this.opts.transport.kind;
  }

  get userCount(): number {
    return this.users.size;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** What the bus shows now. */
  get phaseNow(): BusPhase {
    return this.lastPhase;
  }

  register(user: Node, listeners: Partial<BusListeners> = {}): void {
    if (this.closed) return;
    const old = this.users.get(user.id);
    if (old) this.removeListeners(old.listeners);
    this.users.set(user.id, { user, listeners });
    this.reporters.add(user);
    for (const ev of FORWARDED) {
      const fn = listeners[ev];
      if (fn) this.on(ev, fn as (...a: unknown[]) => void);
    }
    // Start once the flows have started: Node-RED collects a flow's Catch and Status nodes only
    // at the end of its start, and the first status and errors must reach them.
    // One start for all the users registering now: a bus event (e.g. port in use) is reported once.
    if (!this.running && !this.startScheduled) {
      this.startScheduled = true;
      void this.stopping.then(() =>
        setImmediate(() => {
          this.startScheduled = false;
          this.start();
        }),
      );
    }
  }

  async unregister(user: Node): Promise<void> {
    const entry = this.users.get(user.id);
    if (!entry || entry.user !== user) return this.stopping;
    this.users.delete(user.id);
    this.reporters.remove(user);
    this.removeListeners(entry.listeners);
    if (this.users.size === 0) await this.stop();
    else await this.stopping;
  }

  /** The config node is closing: stop whatever users remain. */
  async close(): Promise<void> {
    this.closed = true;
    if (registry.get(this.id) === this) registry.delete(this.id);
    for (const { listeners } of this.users.values()) this.removeListeners(listeners);
    this.users.clear();
    this.reporters.clear();
    await this.stop();
    forgetPhase(this.id);
  }

  private removeListeners(listeners: Partial<BusListeners>): void {
    for (const ev of FORWARDED) {
      const fn = listeners[ev];
      if (fn) this.off(ev, fn as (...a: unknown[]) => void);
    }
  }

  private start(): void {
    if (this.running || this.closed || this.users.size === 0) return;
    const spec = this.opts.transport;
    // A simulator or a replay owns no port: any number of them can run side by side.
    if (spec.kind === 'serial' || spec.kind === 'tcp') {
      const key = portKey(spec.kind === 'serial' ? { path: spec.path } : spec);
      try {
        this.release = claimPort(key, `bus "${this.name}" (${this.id})`);
      } catch (err) {
        const owner = err instanceof PortInUseError ? err.owner : err instanceof Error ? err.message : String(err);
        this.phase({ phase: 'in-use', owner });
        this.reportError(new Error(`jkbms-bus "${this.name}" cannot open ${key}: in use by ${owner}; use one bus node per adapter or gateway`));
        return;
      }
    }
    if (this.used) {
      // A stopped engine is not reused: a fresh transport and engine for every run.
      this.transport = busFactories.createTransport(this.opts.transport, this.opts.log);
      this.current = busFactories.createEngine(this.transport, this.opts.engine, { log: this.opts.log });
    }
    this.used = true;
    this.running = true;
    this.lastError = '';
    this.retryMs = null;
    this.everConnected = false;
    this.replayEnded = false;
    const engine = this.current;
    const transport = this.transport;
    const forward = (ev: keyof BusListeners) => (e: unknown) => {
      if (ev === 'frame') this.learn(e as FrameEvent);
      this.safeEmit(ev, e);
      if (ev !== 'frame') this.publishPhase();
    };
    const handlers = FORWARDED.map((ev) => [ev, forward(ev)] as const);
    for (const [ev, fn] of handlers) engine.on(ev, fn);
    const onError = (err: Error): void => this.reportError(err);
    const onReconnect = (info: { delayMs: number }): void => {
      this.retryMs = info.delayMs;
      if (!transport.isOpen()) this.phase({ phase: 'down', retryMs: info.delayMs });
    };
    const onEnd = (e: { passes: number }): void => {
      this.opts.log('info', `replay of ${(transport as ReplayTransport).file} finished (pass ${e.passes})`);
      if (!(transport as ReplayTransport).loop) {
        this.replayEnded = true;
        this.publishPhase();
      }
    };
    engine.on('error', onError);
    // The transport reports each distinct failure once (ENOENT, ECONNREFUSED...) until the link is up again.
    transport.on('error', onError);
    transport.on('reconnect', onReconnect);
    transport.on('end', onEnd);
    this.detach = () => {
      for (const [ev, fn] of handlers) engine.off(ev, fn);
      engine.off('error', onError);
      transport.off('error', onError);
      transport.off('reconnect', onReconnect);
      transport.off('end', onEnd);
    };
    this.phase({ phase: 'connecting' });
    this.recording?.attach(transport);
    try {
      engine.start();
    } catch (err) {
      this.reportError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private stop(): Promise<void> {
    if (!this.running) {
      if (this.release) {
        this.release();
        this.release = null;
      }
      if (this.users.size === 0) {
        this.lastError = '';
        this.phase({ phase: 'stopped' });
      }
      return this.stopping;
    }
    this.running = false;
    const engine = this.current;
    const transport = this.transport;
    const detach = this.detach;
    this.detach = null;
    const release = this.release;
    this.release = null;
    this.stopping = (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          (async () => {
            await engine.stop();
            await Promise.all([transport.close(), this.recording?.detach()]);
          })(),
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              this.opts.log('warn', `stopping the bus took longer than ${STOP_TIMEOUT_MS} ms; going on`);
              resolve();
            }, STOP_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        this.opts.log('warn', `stopping the bus: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        if (timer) clearTimeout(timer);
        detach?.();
        release?.();
        this.phase({ phase: 'stopped' });
      }
    })();
    return this.stopping;
  }

  private learn(e: FrameEvent): void {
    if (e.kind === 'info' && e.address !== null && e.payload.type === 'info') this.directory.learn(e.address, e.payload);
  }

  /** Each distinct error once (until the bus is up again or stopped), without doubled "Error: " prefixes. */
  private reportError(err: Error): void {
    const message = plainMessage(err);
    if (message === this.lastError) return;
    this.lastError = message;
    if (message === err.message) this.opts.onError(err);
    else {
      const e = new Error(message, { cause: err });
      const code = (err as Error & { code?: unknown }).code;
      if (code !== undefined) (e as Error & { code?: unknown }).code = code;
      this.opts.onError(e);
    }
  }

  private publishPhase(): void {
    if (!this.running) return;
    let status;
    try {
      status = this.current.status();
    } catch {
      return;
    }
    if (!status.connected) {
      // Not up yet after a start: still connecting, unless a failed attempt scheduled a retry.
      this.phase(this.everConnected || this.retryMs !== null ? { phase: 'down', retryMs: this.retryMs } : { phase: 'connecting' });
      return;
    }
    this.everConnected = true;
    this.retryMs = null;
    this.lastError = '';
    const packs = status.packs.filter((p) => !p.isMaster);
    this.phase({
      phase: 'up',
      role: status.role,
      packsOnline: packs.filter((p) => p.online).length,
      packsKnown: packs.length,
    });
  }

  /** Report a phase with this bus's extras (simulated, replay, recording). */
  private phase(p: BusPhase): void {
    const full: BusPhase = { ...p, connection: this.opts.transport.kind, recording: this.recording?.state ?? 'off', replayEnded: this.replayEnded };
    this.lastPhase = full;
    this.opts.onPhase(full);
    if (!this.closed) announcePhase(this.id, this.name, full);
  }

  /** A throwing user listener must not break the engine's event loop or the other users. */
  private safeEmit(ev: string, e: unknown): void {
    for (const fn of this.listeners(ev) as ((x: unknown) => void)[]) {
      try {
        fn(e);
      } catch (err) {
        this.opts.log('error', `a '${ev}' listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
