import type { NodeDef } from 'node-red';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { BusMode, BusOptions } from '../../src/bus/types';
import { BUS_SETTING_LIMITS } from '../../src/bus/options';
import type { FrameKind } from '../../src/protocol/types';
import { parseSimulatedBus } from '../../src/sim/spec';
import { parseAddress } from '../../src/common/address';
import type { RecordSpec, TransportSpec } from './bus-registry';

/** Parsing and validation of the nodes' editor properties (the editor checks the same ranges, LIMITS). */

/** The bus node's Connection choices. */
export type Connection = 'serial' | 'tcp' | 'simulator' | 'replay';

export interface BusNodeDef extends NodeDef {
  transport: Connection;
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
  /** simulator: pack addresses ("1-4,7"), a JK master at 0, the seed, a fault mix ("noise=0.05"). */
  simPacks?: string;
  simMaster?: boolean;
  simSeed?: number | string;
  simFaults?: string;
  /** simulator: what the packs do (steady, a household day of a bank, a tour of every state), how long a day lasts (minutes), planted faults ("cell 2.7: +3 mΩ"). */
  simScenario?: string;
  simDayMinutes?: number | string;
  simPlant?: string;
  /** replay: the capture file (relative to the Node-RED user directory), loop, speed 1 or 10. */
  replayFile?: string;
  replayLoop?: boolean;
  replaySpeed?: number | string;
  /** serial/tcp/simulator: record the received bytes to recordFile (blank: default), at most recordLimit MB per file. */
  record?: boolean;
  recordFile?: string;
  recordLimit?: number | string;
}

/** Replay speeds offered. */
export const REPLAY_SPEEDS: readonly number[] = [1, 10];
/** Rotated recordings kept beside the current file. */
export const RECORD_KEEP = 2;

/**
 * Allowed ranges of the bus node's numeric properties: the bus options' ones come from the
 * library (src/bus/options.ts BUS_SETTING_LIMITS). The edit dialog validates the same ranges:
 * it gets this table from the runtime as the exported node setting `jkbmsBusLimits`
 * (RED.settings.jkbmsBusLimits; see nodes/jkbms-bus.ts).
 */
export const LIMITS = {
  baud: [1200, 4_000_000],
  port: [1, 65535],
  minGap: BUS_SETTING_LIMITS.minGapMs,
  responseTimeout: BUS_SETTING_LIMITS.responseTimeoutMs,
  masterSilence: BUS_SETTING_LIMITS.masterSilenceMs,
  settingsInterval: BUS_SETTING_LIMITS.settingsIntervalS,
  infoInterval: BUS_SETTING_LIMITS.infoIntervalS,
  offlineAfter: BUS_SETTING_LIMITS.offlineAfterS,
  /** MB per recording file. */
  recordLimit: [1, 1000],
} as const satisfies Record<string, readonly [number, number]>;

/** The node settings jkbms-bus exports to the editor (names must start with the type in camelCase). */
export const EDITOR_SETTINGS = {
  jkbmsBusLimits: { value: LIMITS, exportable: true },
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

/** Name used in topics and msg.bms.bus: the node's name, else a short label of its connection. */
export function busLabel(def: Pick<BusNodeDef, 'name' | 'transport' | 'path' | 'host' | 'port' | 'replayFile'>): string {
  const name = (def.name ?? '').trim();
  if (name) return name;
  if (def.transport === 'tcp') return `${(def.host ?? '').trim()}:${String(def.port ?? '')}`;
  if (def.transport === 'simulator') return 'simulator';
  if (def.transport === 'replay') return `replay ${basename((def.replayFile ?? '').trim()) || '?'}`;
  return basename((def.path ?? '').trim()) || 'jkbms-bus';
}

/** Where relative file paths and the default recording live. */
export interface BusEnv {
  /** RED.settings.userDir (default ~/.node-red). */
  userDir?: string | undefined;
}

function userDirOf(env: BusEnv): string {
  return env.userDir && env.userDir.trim() ? env.userDir : join(homedir(), '.node-red');
}

/** A path as typed: relative ones are taken from the Node-RED user directory. */
export function resolveUserPath(path: string, env: BusEnv): string {
  return isAbsolute(path) ? path : resolve(userDirOf(env), path);
}

/** `<userDir>/jkbms-recordings/<bus name or id>.jkcap` */
export function defaultRecordFile(def: Pick<BusNodeDef, 'id' | 'name' | 'transport' | 'path' | 'host' | 'port' | 'replayFile'>, env: BusEnv): string {
  const label = ((def.name ?? '').trim() || busLabel(def)).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|_+$/g, '');
  return join(userDirOf(env), 'jkbms-recordings', `${label || def.id}.jkcap`);
}

export interface BusConfig {
  transport: TransportSpec;
  engine: Partial<BusOptions>;
  allowWrites: boolean;
  /** Where a recording goes (the configured file, or the default), and whether it is on at start. */
  record: RecordSpec & { enabled: boolean };
}

/** Throws a RangeError/TypeError with a clear message when the configuration is unusable. */
export function parseBusConfig(def: BusNodeDef, env: BusEnv = {}): BusConfig {
  const mode: BusMode = def.mode === 'master' || def.mode === 'listen' ? def.mode : 'auto';
  if (def.mode !== undefined && def.mode !== mode) throw new RangeError(`mode must be auto, master or listen, got ${JSON.stringify(def.mode)}`);
  const kind = def.transport ?? 'serial';
  if (!['serial', 'tcp', 'simulator', 'replay'].includes(kind)) {
    throw new RangeError(`connection must be serial, tcp, simulator or replay, got ${JSON.stringify(def.transport)}`);
  }
  let transport: TransportSpec;
  if (kind === 'tcp') {
    const host = (def.host ?? '').trim();
    if (!host) throw new TypeError('a TCP bus needs the gateway host name or IP address');
    const port = num(def, 'port', NaN);
    if (!Number.isInteger(port)) throw new RangeError(`port must be an integer 1-65535, got ${JSON.stringify(def.port)}`);
    transport = { kind: 'tcp', host, port };
  } else if (kind === 'simulator') {
    transport = {
      kind: 'sim',
      ...parseSimulatedBus({
        packs: def.simPacks,
        master: def.simMaster,
        seed: def.simSeed,
        faults: def.simFaults,
        scenario: def.simScenario,
        dayMinutes: def.simDayMinutes,
        plant: def.simPlant,
      }),
    };
  } else if (kind === 'replay') {
    const file = (def.replayFile ?? '').trim();
    if (!file) throw new TypeError('a replay needs the capture file, e.g. jkbms-recordings/bank.jkcap');
    const raw = def.replaySpeed;
    const speed = raw === '' || raw === undefined || raw === null ? 1 : Number(raw);
    if (!REPLAY_SPEEDS.includes(speed)) throw new RangeError(`replay speed must be ${REPLAY_SPEEDS.join(' or ')}, got ${JSON.stringify(raw)}`);
    transport = { kind: 'replay', file: resolveUserPath(file, env), loop: def.replayLoop === true || (def.replayLoop as unknown) === 'true', speed };
  } else {
    const path = (def.path ?? '').trim();
    if (!path) throw new TypeError('a serial bus needs the adapter path, e.g. /dev/serial/by-id/usb-...');
    transport = { kind: 'serial', path, baudRate: Math.round(num(def, 'baud', 115200)) };
  }
  // A replay only listens: it never transmits, so no polling and no writes.
  const replay = transport.kind === 'replay';
  const allowWrites = !replay && (def.allowWrites === true || (def.allowWrites as unknown) === 'true');
  const recordFile = (def.recordFile ?? '').trim();
  return {
    transport,
    allowWrites,
    record: {
      enabled: !replay && (def.record === true || (def.record as unknown) === 'true'),
      file: recordFile ? resolveUserPath(recordFile, env) : defaultRecordFile(def, env),
      maxBytes: Math.round(num(def, 'recordLimit', 5) * 1_000_000),
      keep: RECORD_KEEP,
    },
    engine: {
      mode: replay ? 'listen' : mode,
      minGapMs: num(def, 'minGap', 100),
      responseTimeoutMs: num(def, 'responseTimeout', 300),
      masterSilenceMs: num(def, 'masterSilence', 2000),
      settingsIntervalS: num(def, 'settingsInterval', 30),
      infoIntervalS: num(def, 'infoInterval', 3600),
      offlineAfterS: num(def, 'offlineAfter', 30),
      allowWrites,
    },
  };
}

export { parseAddress };

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
