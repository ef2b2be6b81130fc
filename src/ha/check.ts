/**
 * Field checks for what the `jkbms-ha` node accepts (src/ha/input.ts, src/ha/control-input.ts).
 * A malformed message yields an `HaInputError` naming the first bad field; the node turns it
 * into `done(err)`, so a corrupted or hand-made message never creates a phantom device.
 */
import type { BmsIdentity } from '../messages/message';
import type { InfoPayload, SettingsPayload } from '../protocol/types';
import { isPackAddress } from '../common/address';

export class HaInputError extends Error {
  /**
   * @param code i18n key suffix under `jkbms-ha.errors.` (`unknown-input`, `bad-field`, `bad-command`, `unsupported-type`, `unknown-bus`).
   * @param field the offending property path (e.g. `msg.payload.cells[3]`), when there is one; for `unknown-bus` the bus name.
   */
  constructor(
    readonly code: 'unknown-input' | 'bad-field' | 'bad-command' | 'unsupported-type' | 'unknown-bus',
    readonly field?: string,
  ) {
    super(field ? `${code}: ${field}` : code);
    this.name = 'HaInputError';
  }
}

export type Obj = Record<string, unknown>;
export const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
export const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
export const isAddress = isPackAddress;
export const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

const bad = (at: string): HaInputError => new HaInputError('bad-field', at);

export function num(o: Obj, k: string, at: string): void {
  if (!isNum(o[k])) throw bad(`${at}.${k}`);
}
export function numOrNull(o: Obj, k: string, at: string): void {
  if (o[k] !== null && !isNum(o[k])) throw bad(`${at}.${k}`);
}
export function bool(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'boolean') throw bad(`${at}.${k}`);
}
export function boolOrNull(o: Obj, k: string, at: string): void {
  if (o[k] !== null && typeof o[k] !== 'boolean') throw bad(`${at}.${k}`);
}
export function str(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'string') throw bad(`${at}.${k}`);
}
export function strOrNull(o: Obj, k: string, at: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad(`${at}.${k}`);
  return v;
}
export function numArray(o: Obj, k: string, at: string, length?: number): number[] {
  const a = o[k];
  if (!Array.isArray(a) || (length !== undefined && a.length !== length)) throw bad(`${at}.${k}`);
  a.forEach((x, i) => {
    if (!isNum(x)) throw bad(`${at}.${k}[${i}]`);
  });
  return a as number[];
}
export function address(o: Obj, at: string): number {
  if (!isAddress(o.address)) throw bad(`${at}.address`);
  return o.address;
}

/** `msg.bms` of a jkbms node (or of a jkbms-write result): the pack's identity, checked and copied. */
export function checkBms(bms: unknown): BmsIdentity {
  if (!isObj(bms)) throw bad('msg.bms');
  if (typeof bms.busId !== 'string' || bms.busId === '') throw bad('msg.bms.busId');
  if (typeof bms.bus !== 'string') throw bad('msg.bms.bus');
  if (!isAddress(bms.address)) throw bad('msg.bms.address');
  return {
    bus: bms.bus,
    busId: bms.busId,
    address: bms.address,
    serialNumber: strOrNull(bms, 'serialNumber', 'msg.bms'),
    model: strOrNull(bms, 'model', 'msg.bms'),
    hardwareVersion: strOrNull(bms, 'hardwareVersion', 'msg.bms'),
    softwareVersion: strOrNull(bms, 'softwareVersion', 'msg.bms'),
    name: strOrNull(bms, 'name', 'msg.bms'),
  };
}

/** The settings fields the HA side reads (src/ha/pack-fields.ts, controls), checked. */
export function checkSettings(p: Obj, at = 'msg.payload'): SettingsPayload {
  for (const k of ['cellOvp', 'cellUvp', 'cellRequestChargeVoltage', 'cellRequestFloatVoltage', 'balanceStartVoltage', 'balanceTriggerVoltage', 'maxChargeCurrent', 'maxDischargeCurrent', 'maxBalanceCurrent', 'nominalCapacityAh', 'cellCount']) {
    num(p, k, at);
  }
  for (const k of ['chargingEnabled', 'dischargingEnabled', 'balancingEnabled', 'heatingEnabled']) bool(p, k, at);
  return p as unknown as SettingsPayload;
}

/** The device-info fields the HA side reads (PackInfo), checked. */
export function checkInfo(p: Obj, at = 'msg.payload'): InfoPayload {
  for (const k of ['vendorId', 'hardwareVersion', 'softwareVersion', 'deviceName', 'manufacturingDate', 'serialNumber']) str(p, k, at);
  for (const k of ['powerOnCount', 'uart1Protocol', 'uart2Protocol', 'canProtocol']) num(p, k, at);
  return p as unknown as InfoPayload;
}
