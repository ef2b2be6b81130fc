/**
 * What the `jkbms-ha` node accepts, checked field by field. A malformed message yields an
 * `HaInputError` naming the first bad field (the node turns it into `done(err)`), so a
 * corrupted or hand-made message can never create a phantom device or a broken entity.
 */
import type { BalancingState, ChargeStage, InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import type { PackIdentity } from './pack';

export class HaInputError extends Error {
  /**
   * @param code i18n key suffix under `jkbms-ha.errors.` (`unknown-input`, `bad-field`, `bad-command`, `unsupported-type`).
   * @param field the offending property path (e.g. `msg.payload.cells[3]`), when there is one.
   */
  constructor(
    readonly code: 'unknown-input' | 'bad-field' | 'bad-command' | 'unsupported-type',
    readonly field?: string,
  ) {
    super(field ? `${code}: ${field}` : code);
    this.name = 'HaInputError';
  }
}

export interface BmsRef {
  bus: string;
  busId: string;
  address: number;
  identity: PackIdentity;
}

export type RemoveTarget = { all: true } | { all?: false; address?: number; serialNumber?: string };

export type HaInput =
  | { kind: 'birth'; online: boolean }
  | { kind: 'remove'; target: RemoveTarget }
  /** `at`: the frame's wall-clock time (msg.frame.ts, epoch ms) when the message carries it. */
  | { kind: 'live'; bms: BmsRef; payload: LivePayload; at: number | null }
  | { kind: 'settings'; bms: BmsRef; payload: SettingsPayload }
  | { kind: 'info'; bms: BmsRef; payload: InfoPayload }
  | { kind: 'availability'; bms: BmsRef; online: boolean };

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isAddress = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 15;

function num(o: Obj, k: string, at: string): void {
  if (!isNum(o[k])) throw new HaInputError('bad-field', `${at}.${k}`);
}
function numOrNull(o: Obj, k: string, at: string): void {
  if (o[k] !== null && !isNum(o[k])) throw new HaInputError('bad-field', `${at}.${k}`);
}
function bool(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'boolean') throw new HaInputError('bad-field', `${at}.${k}`);
}
function str(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'string') throw new HaInputError('bad-field', `${at}.${k}`);
}
function strOrNull(o: Obj, k: string, at: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new HaInputError('bad-field', `${at}.${k}`);
  return v;
}
function numArray(o: Obj, k: string, at: string, length?: number): number[] {
  const a = o[k];
  if (!Array.isArray(a) || (length !== undefined && a.length !== length)) throw new HaInputError('bad-field', `${at}.${k}`);
  a.forEach((x, i) => {
    if (!isNum(x)) throw new HaInputError('bad-field', `${at}.${k}[${i}]`);
  });
  return a as number[];
}

const BALANCING: readonly BalancingState[] = ['off', 'charge', 'discharge'];
const STAGES: readonly (ChargeStage | null)[] = ['bulk', 'absorption', 'float', null];

function checkLive(p: Obj): LivePayload {
  const at = 'msg.payload';
  for (const k of ['voltage', 'current', 'power', 'soc', 'soh', 'remainingAh', 'fullChargeAh', 'cycles', 'cycleAh', 'cellAvg', 'cellDelta', 'cellMinIndex', 'cellMaxIndex', 'balancingCurrent', 'heatingCurrent']) {
    num(p, k, at);
  }
  numOrNull(p, 'cellMin', at);
  numOrNull(p, 'cellMax', at);
  const cells = numArray(p, 'cells', at);
  if (cells.length > 32) throw new HaInputError('bad-field', `${at}.cells`);
  if (p.cellCount !== cells.length) throw new HaInputError('bad-field', `${at}.cellCount`);
  numArray(p, 'cellResistances', at, cells.length);
  if (!Number.isInteger(p.alarmMask) || (p.alarmMask as number) < 0 || (p.alarmMask as number) > 0xffffffff) {
    throw new HaInputError('bad-field', `${at}.alarmMask`);
  }
  const t = p.temperatures;
  if (!isObj(t)) throw new HaInputError('bad-field', `${at}.temperatures`);
  for (const k of ['mos', 't1', 't2', 't3', 't4', 't5']) numOrNull(t, k, `${at}.temperatures`);
  if (!BALANCING.includes(p.balancing as BalancingState)) throw new HaInputError('bad-field', `${at}.balancing`);
  if (!STAGES.includes(p.chargeStage as ChargeStage | null)) throw new HaInputError('bad-field', `${at}.chargeStage`);
  for (const k of ['chargingMos', 'dischargingMos', 'precharging', 'heating', 'chargerPlugged', 'emergency']) bool(p, k, at);
  return p as unknown as LivePayload;
}

function checkSettings(p: Obj): SettingsPayload {
  const at = 'msg.payload';
  for (const k of ['cellOvp', 'cellUvp', 'cellRequestChargeVoltage', 'cellRequestFloatVoltage', 'balanceStartVoltage', 'balanceTriggerVoltage', 'maxChargeCurrent', 'maxDischargeCurrent', 'maxBalanceCurrent', 'nominalCapacityAh', 'cellCount']) {
    num(p, k, at);
  }
  for (const k of ['chargingEnabled', 'dischargingEnabled', 'balancingEnabled', 'heatingEnabled']) bool(p, k, at);
  return p as unknown as SettingsPayload;
}

function checkInfo(p: Obj): InfoPayload {
  const at = 'msg.payload';
  for (const k of ['vendorId', 'hardwareVersion', 'softwareVersion', 'deviceName', 'manufacturingDate', 'serialNumber']) str(p, k, at);
  for (const k of ['powerOnCount', 'uart1Protocol', 'uart2Protocol', 'canProtocol']) num(p, k, at);
  return p as unknown as InfoPayload;
}

export function checkBms(bms: unknown): BmsRef {
  if (!isObj(bms)) throw new HaInputError('bad-field', 'msg.bms');
  if (typeof bms.busId !== 'string' || bms.busId === '') throw new HaInputError('bad-field', 'msg.bms.busId');
  if (typeof bms.bus !== 'string') throw new HaInputError('bad-field', 'msg.bms.bus');
  if (!isAddress(bms.address)) throw new HaInputError('bad-field', 'msg.bms.address');
  return {
    bus: bms.bus,
    busId: bms.busId,
    address: bms.address,
    identity: {
      serialNumber: strOrNull(bms, 'serialNumber', 'msg.bms'),
      model: strOrNull(bms, 'model', 'msg.bms'),
      hardwareVersion: strOrNull(bms, 'hardwareVersion', 'msg.bms'),
      softwareVersion: strOrNull(bms, 'softwareVersion', 'msg.bms'),
      name: strOrNull(bms, 'name', 'msg.bms'),
    },
  };
}

function checkRemove(p: Obj): RemoveTarget {
  if (p.address === 'all') return { all: true };
  const t: RemoveTarget = {};
  if (p.address !== undefined) {
    if (!isAddress(p.address)) throw new HaInputError('bad-command', 'msg.payload.address');
    t.address = p.address;
  }
  if (p.serialNumber !== undefined) {
    if (typeof p.serialNumber !== 'string' || p.serialNumber.trim() === '') throw new HaInputError('bad-command', 'msg.payload.serialNumber');
    t.serialNumber = p.serialNumber.trim();
  }
  if (t.address === undefined && t.serialNumber === undefined) throw new HaInputError('bad-command', 'msg.payload');
  return t;
}

/** Classify and check an input message. Throws `HaInputError`. */
export function parseInput(msg: { topic?: unknown; payload?: unknown; bms?: unknown; frame?: unknown }): HaInput {
  const p = msg.payload;
  // HA's birth / last-will message, from an `mqtt in` node on `homeassistant/status`.
  if (typeof msg.topic === 'string' && msg.topic.endsWith('/status') && (typeof p === 'string' || Buffer.isBuffer(p))) {
    const text = p.toString().trim();
    if (text === 'online' || text === 'offline') return { kind: 'birth', online: text === 'online' };
  }
  if (isObj(p) && p.command !== undefined) {
    if (p.command !== 'remove') throw new HaInputError('bad-command', 'msg.payload.command');
    return { kind: 'remove', target: checkRemove(p) };
  }
  if (!isObj(p) || msg.bms === undefined) throw new HaInputError('unknown-input');
  if (!['live', 'settings', 'info', 'availability'].includes(p.type as string)) throw new HaInputError('unsupported-type', 'msg.payload.type');
  const bms = checkBms(msg.bms);
  // The payload's own address (null = unknown) must not contradict msg.bms.
  if (p.address !== undefined && p.address !== null && p.address !== bms.address) throw new HaInputError('bad-field', 'msg.payload.address');
  switch (p.type) {
    case 'live':
      return { kind: 'live', bms, payload: checkLive(p), at: isObj(msg.frame) && isNum(msg.frame.ts) ? msg.frame.ts : null };
    case 'settings':
      return { kind: 'settings', bms, payload: checkSettings(p) };
    case 'info':
      return { kind: 'info', bms, payload: checkInfo(p) };
    default:
      if (typeof p.online !== 'boolean') throw new HaInputError('bad-field', 'msg.payload.online');
      return { kind: 'availability', bms, online: p.online };
  }
}
