/**
 * Bank test packs: real decoded payloads (our encoder → decoder, test/helpers/fixtures.ts)
 * with the values a test cares about overridden.
 */
import type { BankPackInput } from '../../src/bank/types';
import type { LivePayload, SettingsPayload } from '../../src/protocol/types';
import { live, settings } from '../helpers/fixtures';

export const NOW = 1_800_000_000_000;
export const STALE_MS = 30_000;

/** 16 cells at `base` V, with the given cells (1-based) set to other voltages. */
export function cells(base: number, set: Record<number, number> = {}): number[] {
  return Array.from({ length: 16 }, (_, i) => set[i + 1] ?? base);
}

/** Live values; temperatures left null are reported absent, alarms by name. */
export function liveOf(address: number, over: Partial<LivePayload> = {}): LivePayload {
  return live(address, {
    alarmMask: undefined as unknown as number,
    alarms: [],
    temperatureSensorMask: undefined as unknown as number,
    ...over,
  });
}

export interface PackOver {
  live?: Partial<LivePayload> | null;
  settings?: Partial<SettingsPayload> | null;
  online?: boolean;
  /** Age of the live frame at NOW, ms (default 1000). */
  age?: number;
  serialNumber?: string | null;
  /** Time since the bank first heard of it at NOW, ms (default 60 000). */
  known?: number;
}

export function pack(address: number, over: PackOver = {}): BankPackInput {
  const l = over.live === null ? null : liveOf(address, over.live ?? {});
  return {
    address,
    online: over.online ?? true,
    liveAt: l ? NOW - (over.age ?? 1000) : null,
    firstSeen: NOW - (over.known ?? 60_000),
    live: l,
    settings: over.settings === null ? null : settings(address, over.settings ?? {}),
    serialNumber: over.serialNumber === undefined ? `SN${address}` : over.serialNumber,
  };
}
