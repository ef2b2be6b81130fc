import type { NodeDef } from 'node-red';
import { basename } from 'node:path';
import type { BusMode, BusOptions } from '../../src/bus/types';
import type { FrameKind } from '../../src/protocol/types';
import type { TransportSpec } from './bus-registry';

/** Parsing and validation of the nodes' editor properties (the editor checks the same ranges). */

export interface BusNodeDef extends NodeDef {
  transport: 'serial' | 'tcp';
  path: string;
  baud: number | string;
  host: string;
  port: number | string;
  mode: BusMode;
  minGap: number | string;
  responseTimeout: number | string;
  masterSilence: number | string;
  settingsInterval: number | string;
  infoInterval: number | string;
  offlineAfter: number | string;
  allowWrites: boolean;
}

/** Allowed ranges; the editor validates the same ones. */
export const LIMITS = {
  baud: [1200, 4_000_000],
  port: [1, 65535],
  minGap: [20, 5000],
  responseTimeout: [50, 10_000],
  masterSilence: [500, 60_000],
  settingsInterval: [5, 86_400],
  infoInterval: [60, 604_800],
  offlineAfter: [5, 3600],
} as const;

type Limited = keyof typeof LIMITS;

function num(def: BusNodeDef, key: Limited, fallback: number): number {
  const raw = def[key];
  const v = raw === '' || raw === undefined || raw === null ? fallback : Number(raw);
  const [lo, hi] = LIMITS[key];
  if (!Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${key} must be a number from ${lo} to ${hi}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** Name used in topics and msg.bms.bus: the node's name, else a short label of its port. */
export function busLabel(def: Pick<BusNodeDef, 'name' | 'transport' | 'path' | 'host' | 'port'>): string {
  const name = (def.name ?? '').trim();
  if (name) return name;
  if (def.transport === 'tcp') return `${(def.host ?? '').trim()}:${String(def.port ?? '')}`;
  return basename((def.path ?? '').trim()) || 'jkbms-bus';
}

/** Throws a RangeError/TypeError with a clear message when the configuration is unusable. */
export function parseBusConfig(def: BusNodeDef): { transport: TransportSpec; engine: Partial<BusOptions>; allowWrites: boolean } {
  const mode: BusMode = def.mode === 'master' || def.mode === 'listen' ? def.mode : 'auto';
  if (def.mode !== undefined && def.mode !== mode) throw new RangeError(`mode must be auto, master or listen, got ${JSON.stringify(def.mode)}`);
  let transport: TransportSpec;
  if (def.transport === 'tcp') {
    const host = (def.host ?? '').trim();
    if (!host) throw new TypeError('a TCP bus needs the gateway host name or IP address');
    const port = num(def, 'port', NaN);
    if (!Number.isInteger(port)) throw new RangeError(`port must be an integer 1-65535, got ${JSON.stringify(def.port)}`);
    transport = { kind: 'tcp', host, port };
  } else {
    const path = (def.path ?? '').trim();
    if (!path) throw new TypeError('a serial bus needs the adapter path, e.g. /dev/serial/by-id/usb-...');
    transport = { kind: 'serial', path, baudRate: Math.round(num(def, 'baud', 115200)) };
  }
  return {
    transport,
    allowWrites: def.allowWrites === true || (def.allowWrites as unknown) === 'true',
    engine: {
      mode,
      minGapMs: num(def, 'minGap', 100),
      responseTimeoutMs: num(def, 'responseTimeout', 300),
      masterSilenceMs: num(def, 'masterSilence', 2000),
      settingsIntervalS: num(def, 'settingsInterval', 30),
      infoIntervalS: num(def, 'infoInterval', 3600),
      offlineAfterS: num(def, 'offlineAfter', 30),
      allowWrites: def.allowWrites === true || (def.allowWrites as unknown) === 'true',
    },
  };
}


/** A pack address 0–15 (number or numeric string), else null. */
export function parseAddress(raw: unknown): number | null {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 15 ? n : null;
}

export type Target = number | 'all';

/** "all" or a pack address. */
export function parseTarget(raw: unknown): Target | null {
  if (raw === 'all') return 'all';
  return parseAddress(raw);
}

const KINDS: readonly FrameKind[] = ['live', 'settings', 'info'];

export function parseKind(raw: unknown): FrameKind | null {
  return typeof raw === 'string' && (KINDS as readonly string[]).includes(raw) ? (raw as FrameKind) : null;
}
