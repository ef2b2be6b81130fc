/**
 * The last health report of each HA device (a pack or a bank), persisted in the node's context
 * like the pack memory (src/ha/pack-memory.ts), by device id. After a redeploy or a restart a
 * device is announced from its first message with its health entities and their last values,
 * before the `jkbms-health` node speaks again (up to its *Send every*, 60 s by default): Home
 * Assistant sees the same configs again (nothing deleted and re-created) and no health entity
 * flickers to unknown. Bounded: the devices last reported, at most MAX_DEVICES.
 */
import { isObj } from './check';
import type { BankHealthView, PackHealthView } from './health';
import { checkBankHealth, checkPackHealth } from './health-input';

export type RememberedHealth = { kind: 'pack'; health: PackHealthView } | { kind: 'bank'; health: BankHealthView };

/** Devices remembered at most (16 packs on each of several buses, their banks, swapped packs); the least recently reported go first. */
export const MAX_DEVICES = 256;

/** A stored entry, checked; null when malformed. */
function parseRemembered(v: unknown): RememberedHealth | null {
  if (!isObj(v) || !isObj(v.health)) return null;
  try {
    if (v.kind === 'pack') return { kind: 'pack', health: checkPackHealth({ ...v.health }, 'health') };
    if (v.kind === 'bank') return { kind: 'bank', health: checkBankHealth({ ...v.health }, 'health') };
  } catch {
    // malformed: left out
  }
  return null;
}

export class HealthMemory {
  private readonly devices = new Map<string, RememberedHealth>();

  constructor(private readonly onChange: () => void) {}

  pack(deviceId: string): PackHealthView | null {
    const r = this.devices.get(deviceId);
    return r?.kind === 'pack' ? structuredClone(r.health) : null;
  }

  bank(deviceId: string): BankHealthView | null {
    const r = this.devices.get(deviceId);
    return r?.kind === 'bank' ? structuredClone(r.health) : null;
  }

  /** Remember the latest report of a device. */
  set(deviceId: string, r: RememberedHealth): void {
    const prev = this.devices.get(deviceId);
    if (prev && JSON.stringify(prev) === JSON.stringify(r)) return;
    this.devices.delete(deviceId);
    this.devices.set(deviceId, structuredClone(r));
    for (const id of this.devices.keys()) {
      if (this.devices.size <= MAX_DEVICES) break;
      this.devices.delete(id);
    }
    this.onChange();
  }

  /** Forget devices (deleted from HA, or replaced). */
  forget(deviceIds: readonly string[]): void {
    let changed = false;
    for (const id of deviceIds) changed = this.devices.delete(id) || changed;
    if (changed) this.onChange();
  }

  /** Merge a stored map: what was reported in this session wins. */
  merge(stored: unknown): void {
    if (!isObj(stored)) return;
    const older = new Map<string, RememberedHealth>();
    for (const [id, v] of Object.entries(stored)) {
      const r = parseRemembered(v);
      if (r && !this.devices.has(id)) older.set(id, r);
    }
    // The stored ones are older than this session's: first in the eviction order.
    const current = [...this.devices];
    this.devices.clear();
    for (const [id, r] of [...older, ...current].slice(-MAX_DEVICES)) this.devices.set(id, r);
  }

  toJSON(): Record<string, RememberedHealth> {
    return Object.fromEntries([...this.devices].map(([k, v]) => [k, structuredClone(v)]));
  }
}
