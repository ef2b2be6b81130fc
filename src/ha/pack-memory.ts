/**
 * What the bridge last knew about the pack at each bus + address — its serial number, its
 * device info (never the passcodes) and its settings — persisted in the node's context. After a
 * redeploy or a restart a pack is announced from its first live frame under its serial-based id
 * and with the same entities as before (device info, settings sensors, controls), before its
 * info and settings frames come again (or when they never can: a listen-only bus never asks for
 * device info). So HA sees the same configs again: nothing provisional, nothing deleted.
 */
import type { SettingsPayload } from '../protocol/types';
import { checkInfo, checkSettings, isObj } from './check';
import { type PackInfo, packInfo } from './pack-fields';

export interface KnownPack {
  serialNumber: string | null;
  info: PackInfo | null;
  settings: SettingsPayload | null;
}

const key = (busId: string, address: number) => `${busId}/${address}`;

/** A stored entry, checked; null when malformed. */
function parseKnown(v: unknown): KnownPack | null {
  if (!isObj(v)) return null;
  const serial = v.serialNumber;
  if (serial !== null && (typeof serial !== 'string' || serial.trim() === '')) return null;
  try {
    const info = v.info === null || v.info === undefined ? null : isObj(v.info) ? packInfo(checkInfo(v.info)) : null;
    const settings = v.settings === null || v.settings === undefined ? null : isObj(v.settings) ? checkSettings({ ...v.settings }) : null;
    return { serialNumber: serial === null ? null : serial.trim(), info, settings };
  } catch {
    return null;
  }
}

export class PackMemory {
  private readonly packs = new Map<string, KnownPack>();

  constructor(private readonly onChange: () => void) {}

  get(busId: string, address: number): KnownPack | undefined {
    return this.packs.get(key(busId, address));
  }

  /** Remember what is known now about the pack at this bus + address. */
  set(busId: string, address: number, known: KnownPack): void {
    const k = key(busId, address);
    const next: KnownPack = { serialNumber: known.serialNumber, info: known.info && packInfo(known.info), settings: known.settings && { ...known.settings } };
    if (JSON.stringify(this.packs.get(k)) === JSON.stringify(next)) return;
    this.packs.set(k, next);
    this.onChange();
  }

  /** Merge a stored map: what was learned in this session wins. */
  merge(stored: unknown): void {
    if (!isObj(stored)) return;
    for (const [k, v] of Object.entries(stored)) {
      const known = parseKnown(v);
      if (!/^.+\/(\d|1[0-5])$/.test(k) || !known || this.packs.has(k)) continue;
      this.packs.set(k, known);
    }
  }

  toJSON(): Record<string, KnownPack> {
    return Object.fromEntries([...this.packs].map(([k, v]) => [k, structuredClone(v)]));
  }
}
