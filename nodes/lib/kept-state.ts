import type { Node } from 'node-red';
import { safeGet } from './context';

/**
 * A node's state that survives redeploys, and Node-RED restarts when a persistent context store
 * is configured: kept in node context under `key`, and in a map of this runtime by node id,
 * because Node-RED deletes a restarted node's context on every redeploy unless
 * `contextStorage` is configured. What is read back goes through `parse`, so a corrupted or
 * foreign value is never used (parse returns null for it).
 *
 *   const kept = new KeptState('my-key', parseMyState);      // once per node type
 *   const state = kept.load(node);                             // in the constructor
 *   kept.save(node, snapshot());                               // whenever worth keeping
 *   kept.close(node, removed, snapshot);                       // in the close handler
 */
export class KeptState<T> {
  private readonly carried = new Map<string, T>();

  constructor(
    readonly key: string,
    private readonly parse: (value: unknown) => T | null,
  ) {}

  /** The stored state (node context first, then this runtime's copy), or null. */
  load(node: Node): T | null {
    return this.parse(safeGet(node.context(), this.key)) ?? this.parse(this.carried.get(node.id)) ?? null;
  }

  save(node: Node, value: T): void {
    this.carried.set(node.id, value);
    try {
      node.context().set(this.key, value);
    } catch (err) {
      node.debug(`could not store ${this.key}: ${String(err)}`);
    }
  }

  /** The node closes: keep its state for the next deploy, or forget it when the node was removed. */
  close(node: Node, removed: boolean, value: () => T): void {
    if (removed) this.carried.delete(node.id);
    else this.save(node, value());
  }
}
