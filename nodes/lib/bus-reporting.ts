import { EventEmitter } from 'node:events';
import type { Node, NodeStatus } from 'node-red';
import type { BusRole } from '../../src/bus/types';
import type { RecordingState } from './bus-recording';
import type { TransportSpec } from './bus-factories';

/**
 * How a bus tells the flows about itself, once per event:
 *
 * - **Errors and status of the bus node** go through Node-RED's own forwarding of a config
 *   node's `node.error()` / `node.status()` to the flows of its `node.users`. Node-RED forwards
 *   once per entry, so `users` holds one *reporter* per flow (the user node with the smallest
 *   id there): a Catch node gets each bus error once, however many nodes use the bus.
 * - **The bus's phase** (connected, down, in use, invalid settings) is announced on
 *   `busPhases` for the user nodes, which show it in their own status (nodes/lib/user-node.ts).
 * - **A bus node with invalid settings** has no engine: `InvalidBus` keeps its reason, reports
 *   it once (after the flows started, so Catch and Status nodes get it) and tells its users.
 */

/** What the bus shows as its status (mapped to a Node-RED status by the bus node). */
export type BusPhase = (
  | { phase: 'stopped' }
  | { phase: 'connecting' }
  | { phase: 'in-use'; owner: string }
  | { phase: 'down'; retryMs: number | null }
  | { phase: 'up'; role: BusRole; packsOnline: number; packsKnown: number }
) &
  PhaseExtras;

/** What the status adds to every phase: a simulated or replayed bus, a recording. */
export interface PhaseExtras {
  connection?: TransportSpec['kind'];
  recording?: RecordingState;
  /** A replay (without loop) played its whole file. */
  replayEnded?: boolean;
}

/** What a user node needs to know of its bus's state. */
export type BusState = BusPhase | { phase: 'invalid'; reason: string };

export interface BusPhaseEvent {
  id: string;
  name: string;
  state: BusState;
}

/** Every bus's state changes ('phase', BusPhaseEvent), for the user nodes. */
export const busPhases = new EventEmitter();
busPhases.setMaxListeners(0);

const states = new Map<string, BusPhaseEvent>();

/** Announce the state of bus `id`. */
export function announcePhase(id: string, name: string, state: BusState): void {
  const e = { id, name, state };
  states.set(id, e);
  for (const fn of busPhases.listeners('phase') as ((e: BusPhaseEvent) => void)[]) {
    try {
      fn(e);
    } catch {
      // a user node's status must never break the bus
    }
  }
}

/** The last announced state of bus `id`, if any. */
export function phaseOf(id: string): BusPhaseEvent | undefined {
  return states.get(id);
}

/** The bus node `id` is gone. */
export function forgetPhase(id: string): void {
  states.delete(id);
}

type ConfigNode = Node & { users?: Record<string, Node> };

/** The users of one bus node, and its reporters (one per flow) in `node.users`. */
export class BusUsers {
  private readonly all = new Map<string, Node>();

  constructor(private readonly node: ConfigNode) {
    node.users = {};
  }

  get size(): number {
    return this.all.size;
  }

  add(user: Node): void {
    this.all.set(user.id, user);
    this.elect();
  }

  /** False when `user` was not (or no longer) a user. */
  remove(user: Node): boolean {
    if (this.all.get(user.id) !== user) return false;
    this.all.delete(user.id);
    this.elect();
    return true;
  }

  clear(): void {
    this.all.clear();
    this.node.users = {};
  }

  /** One reporter per flow: the user with the smallest id (the same one on every start). */
  private elect(): void {
    const byFlow = new Map<string, Node>();
    for (const user of this.all.values()) {
      const flow = (user as Node & { z?: string }).z ?? '';
      const best = byFlow.get(flow);
      if (!best || user.id < best.id) byFlow.set(flow, user);
    }
    const users: Record<string, Node> = {};
    for (const user of byFlow.values()) users[user.id] = user;
    this.node.users = users;
  }
}

const invalid = new Map<string, InvalidBus>();

/** A bus node whose settings are unusable: why, and who would have used it. */
export class InvalidBus {
  readonly users: BusUsers;

  constructor(
    readonly node: ConfigNode,
    readonly name: string,
    readonly reason: string,
  ) {
    this.users = new BusUsers(node);
  }
}

/**
 * The bus node `node` cannot run: `reason` says why. Shows `status` on it and, once the flows
 * have started (its users known), reports the reason once to the Catch nodes of its users'
 * flows (or the log when it has none) and tells the users, which show it.
 */
export function registerInvalidBus(node: ConfigNode, name: string, reason: string, status: NodeStatus): void {
  const bus = new InvalidBus(node, name, reason);
  invalid.set(node.id, bus);
  node.status(status);
  const timer = setImmediate(() => {
    if (invalid.get(node.id) !== bus) return;
    node.status(status);
    node.error(new Error(`jkbms-bus "${name}": ${reason}`), { topic: `${name}/error`, payload: reason });
    announcePhase(node.id, name, { phase: 'invalid', reason });
  });
  announcePhase(node.id, name, { phase: 'invalid', reason });
  node.on('close', () => {
    clearImmediate(timer);
    bus.users.clear();
    if (invalid.get(node.id) === bus) {
      invalid.delete(node.id);
      forgetPhase(node.id);
    }
  });
}

/** The invalid bus node `id`, if it is one. */
export function invalidBus(id: unknown): InvalidBus | undefined {
  return typeof id === 'string' ? invalid.get(id) : undefined;
}

/** A message without the "Error: " prefixes some libraries put in it (Node-RED adds its own). */
export function plainMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^(?:Error: )+/, '');
}
