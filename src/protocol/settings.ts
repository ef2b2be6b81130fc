import { isAddress } from './constants';
import { encodeWrite } from './encode';
import { SETTINGS_FIELDS, SWITCH_BITS, readBits, type SettingsField } from './fields';
import type { SettingsPayload } from './types';

/**
 * Every writable setting (docs/protocol.md §4.1): name (= the SettingsPayload field it changes),
 * register, size, scale, signedness, range and step. Names, units and ranges are what users
 * type into `jkbms-write` and what Home Assistant number/switch entities use.
 *
 * Register = 0x1000 + (frame offset − 6) for the settings block; 4-byte fields are written as
 * two registers (13-byte frame), the switch word 0x1114 as one (11-byte frame). Ranges are
 * the JK app's limits (docs/protocol.md §4.1); the BMS still enforces its own and
 * answers exception 03 when a value is illegal for it.
 *
 * Deliberately NOT writable (docs/protocol.md §4.3, §7): DevAddr 0x1108 (DIP switches rule),
 * the RCV/RFV time word 0x1504 (byte order unverified), bytes 284–297 (halves of 16-bit
 * registers, never tested over RS485), the command block 0x1600 (emergency start, calibration:
 * offsets differ between register-map versions).
 */
export interface SettingDef {
  /** Field name in SettingsPayload. */
  name: SettingName;
  label: string;
  register: number;
  /** Registers written: 2 for 32-bit values (13-byte frame), 1 for the switch word. */
  quantity: 1 | 2;
  signed: boolean;
  /** value = raw × scale. */
  scale: number;
  unit: string;
  min: number;
  max: number;
  step: number;
  /** 'number', an on/off 'switch' register (0/1), or one 'bit' of the switch word 0x1114. */
  kind: 'number' | 'switch' | 'bit';
  bit?: number;
  /**
   * A protection threshold (or something that can disable a protection or the link): writing
   * it needs an explicit extra opt-in besides "allow writes".
   */
  protection: boolean;
}

export type SettingErrorCode = 'INVALID_SETTING' | 'OUT_OF_RANGE' | 'NEEDS_CURRENT' | 'INVALID_ADDRESS';

export class SettingError extends Error {
  constructor(
    readonly code: SettingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SettingError';
  }
}

const SWITCH_WORD = 0x1114;

/** A settings-table row (fields.ts) by its key; only keys of SETTINGS_FIELDS type-check. */
type TableRow = (typeof SETTINGS_FIELDS)[number];
type RowOf<K extends TableRow['key']> = Extract<TableRow, { key: K }>;
/** Settings-table fields that are numbers / on-off registers, and the bits of the switch word. */
type NumberName = Exclude<TableRow, { bool: true }>['key'];
type SwitchName = Extract<TableRow, { bool: true }>['key'];
type BitName = (typeof SWITCH_BITS)[number]['key'];
/** Every writable setting's name: a field of SettingsPayload. */
export type SettingName = NumberName | SwitchName | BitName;

type Spec = [name: NumberName, label: string, unit: string, min: number, max: number, step: number, protection: boolean];

const V = 'V';
const NUMBERS: Spec[] = [
  ['smartSleepVoltage', 'Smart sleep voltage', V, 1.2, 4.35, 0.001, false],
  ['cellUvp', 'Cell under-voltage protection', V, 1.2, 4.35, 0.001, true],
  ['cellUvpRecovery', 'Cell under-voltage recovery', V, 1.2, 4.35, 0.001, true],
  ['cellOvp', 'Cell over-voltage protection', V, 1.2, 4.35, 0.001, true],
  ['cellOvpRecovery', 'Cell over-voltage recovery', V, 1.2, 4.35, 0.001, true],
  ['balanceTriggerVoltage', 'Balance trigger voltage', V, 0.003, 1, 0.001, false],
  ['cellSoc100Voltage', 'Cell voltage at 100 % SOC', V, 1.2, 4.35, 0.001, false],
  ['cellSoc0Voltage', 'Cell voltage at 0 % SOC', V, 1.2, 4.35, 0.001, false],
  ['cellRequestChargeVoltage', 'Request charge voltage (per cell)', V, 1.2, 4.35, 0.001, false],
  ['cellRequestFloatVoltage', 'Request float voltage (per cell)', V, 1.2, 4.35, 0.001, false],
  ['powerOffVoltage', 'Auto power-off cell voltage', V, 1.2, 4.35, 0.001, true],
  ['maxChargeCurrent', 'Max charge current', 'A', 1, 600, 0.001, true],
  ['chargeOcpDelay', 'Charge over-current delay', 's', 2, 600, 1, true],
  ['chargeOcpRecoveryTime', 'Charge over-current recovery time', 's', 2, 600, 1, true],
  ['maxDischargeCurrent', 'Max discharge current', 'A', 1, 1200, 0.001, true],
  ['dischargeOcpDelay', 'Discharge over-current delay', 's', 2, 600, 1, true],
  ['dischargeOcpRecoveryTime', 'Discharge over-current recovery time', 's', 2, 600, 1, true],
  ['scpRecoveryTime', 'Short-circuit recovery time', 's', 2, 600, 1, true],
  ['maxBalanceCurrent', 'Max balance current', 'A', 0.3, 15, 0.001, false],
  ['chargeOtp', 'Charge over-temperature protection', '°C', 30, 80, 0.1, true],
  ['chargeOtpRecovery', 'Charge over-temperature recovery', '°C', 30, 80, 0.1, true],
  ['dischargeOtp', 'Discharge over-temperature protection', '°C', 30, 80, 0.1, true],
  ['dischargeOtpRecovery', 'Discharge over-temperature recovery', '°C', 30, 80, 0.1, true],
  ['chargeUtp', 'Charge under-temperature protection', '°C', -45, 20, 0.1, true],
  ['chargeUtpRecovery', 'Charge under-temperature recovery', '°C', -45, 20, 0.1, true],
  ['mosOtp', 'MOS over-temperature protection', '°C', 50, 110, 0.1, true],
  ['mosOtpRecovery', 'MOS over-temperature recovery', '°C', 50, 110, 0.1, true],
  ['cellCount', 'Cell count', 'cells', 2, 32, 1, true],
  ['nominalCapacityAh', 'Battery capacity', 'Ah', 2, 20000, 0.001, false],
  // Reported in µs; fw 19.x frames suggest a unit change (reference vectors README) — protection.
  ['scpDelay', 'Short-circuit protection delay', 's', 0, 1, 0.000001, true],
  ['balanceStartVoltage', 'Balancing start voltage', V, 1.2, 4.35, 0.001, false],
  ['prechargeTime', 'Discharge precharge time', 's', 0, 255, 1, false],
];

const SWITCHES: [name: SwitchName, label: string][] = [
  ['chargingEnabled', 'Charging enabled'],
  ['dischargingEnabled', 'Discharging enabled'],
  ['balancingEnabled', 'Balancing enabled'],
];

const BITS: Record<BitName, [label: string, protection: boolean]> = {
  heatingEnabled: ['Heating enabled', false],
  disableTemperatureSensors: ['Disable temperature sensors', true],
  gpsHeartbeat: ['GPS heartbeat', false],
  portRs485: ['Multiplexed port is RS485 (off = CAN)', true],
  displayAlwaysOn: ['Display always on', false],
  specialCharger: ['Special charger', false],
  smartSleep: ['Smart sleep', false],
  disablePclModule: ['Disable parallel current-limit module', true],
  timedStoredData: ['Timed stored data', false],
  chargingFloatMode: ['Charging float mode', false],
  emergencyButton: ['Emergency triggered by button', false],
  dryContactIntermittent: ['Dry-contact alarm intermittent', false],
  dischargeOcp2: ['Discharge over-current II', true],
  dischargeOcp3: ['Discharge over-current III', true],
  gpsLockedCharging: ['GPS-locked charging', true],
  gpsLockedDischarging: ['GPS-locked discharging', true],
};

const ROWS = new Map<string, SettingsField>(SETTINGS_FIELDS.map((f) => [f.key, f]));
/** The table row of a setting (names are checked against the table at compile time). */
const fieldOf = <K extends TableRow['key']>(name: K): RowOf<K> => ROWS.get(name) as RowOf<K>;
const registerOf = (f: SettingsField) => 0x1000 + f.off - 6;
const scaleOf = (f: SettingsField) => (f.bool ? 1 : (f.mul ?? 1) / (f.div ?? 1));

export const SETTINGS: readonly SettingDef[] = [
  ...NUMBERS.map(([name, label, unit, min, max, step, protection]): SettingDef => {
    const f = fieldOf(name);
    return { name, label, register: registerOf(f), quantity: 2, signed: f.t === 'i32', scale: scaleOf(f), unit, min, max, step, kind: 'number', protection };
  }),
  ...SWITCHES.map(([name, label]): SettingDef => {
    const f = fieldOf(name);
    return { name, label, register: registerOf(f), quantity: 2, signed: false, scale: 1, unit: '', min: 0, max: 1, step: 1, kind: 'switch', protection: false };
  }),
  ...SWITCH_BITS.map(({ key, bit }): SettingDef => {
    const [label, protection] = BITS[key];
    return { name: key, label, register: SWITCH_WORD, quantity: 1, signed: false, scale: 1, unit: '', min: 0, max: 1, step: 1, kind: 'bit', bit, protection };
  }),
];

const BY_NAME = new Map<string, SettingDef>(SETTINGS.map((d) => [d.name, d]));

export function findSetting(name: string): SettingDef | undefined {
  return BY_NAME.get(name);
}

/** Decimal places of a step (0.001 → 3). */
function decimals(step: number): number {
  const s = String(step);
  if (s.includes('e-')) return Number(s.split('e-')[1]);
  return s.includes('.') ? s.split('.')[1]!.length : 0;
}

export function describeRange(def: SettingDef): string {
  if (def.kind !== 'number') return 'true/false (or 1/0)';
  const unit = def.unit ? ` ${def.unit}` : '';
  return `${def.min}–${def.max}${unit} in steps of ${def.step}`;
}

/** Validate a user value for a setting and return it normalised (number, or boolean for switches/bits). */
export function validateSetting(name: string, value: unknown): { def: SettingDef; value: number | boolean } {
  const def = findSetting(name);
  if (!def) {
    throw new SettingError('INVALID_SETTING', `unknown setting "${name}"; writable settings: ${SETTINGS.map((d) => d.name).join(', ')}`);
  }
  if (def.kind !== 'number') {
    if (typeof value === 'boolean') return { def, value };
    if (value === 0 || value === 1 || value === '0' || value === '1') return { def, value: Number(value) === 1 };
    if (value === 'true' || value === 'false' || value === 'on' || value === 'off') return { def, value: value === 'true' || value === 'on' };
    throw new SettingError('OUT_OF_RANGE', `${name} must be ${describeRange(def)}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  const v = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    // NaN and ±Infinity by name (JSON would say null).
    const got = typeof value === 'number' ? String(value) : JSON.stringify(value);
    throw new SettingError('OUT_OF_RANGE', `${name} must be a number, ${describeRange(def)}; got ${got}`);
  }
  const d = decimals(def.step);
  const rounded = Number(v.toFixed(d));
  const eps = def.step / 1000;
  if (rounded < def.min - eps || rounded > def.max + eps) {
    throw new SettingError('OUT_OF_RANGE', `${name} = ${v} is out of range: valid ${describeRange(def)}`);
  }
  const steps = (rounded - def.min) / def.step;
  if (Math.abs(steps - Math.round(steps)) > 1e-6 || Math.abs(rounded - v) > eps) {
    throw new SettingError('OUT_OF_RANGE', `${name} = ${v} is not a multiple of its step: valid ${describeRange(def)}`);
  }
  return { def, value: rounded };
}

/** Current value of a setting in a decoded settings payload. */
export function readSetting(settings: SettingsPayload, name: string): number | boolean | undefined {
  const def = findSetting(name);
  if (!def) return undefined;
  const v: unknown = settings[def.name];
  return typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

/**
 * Build the Modbus write for one setting on one pack. Validation happens here, before anything
 * can be queued: unknown names and out-of-range values throw a SettingError that names the
 * valid range. A bit of the switch word is written as read-modify-write of the last known
 * settings (`current`), never clearing the other bits (docs/protocol.md §4.2, mistake Q8 of §7).
 */
export function encodeSettingWrite(
  address: number,
  name: string,
  value: unknown,
  current?: SettingsPayload,
): { bytes: Buffer; def: SettingDef; register: number; quantity: 1 | 2; raw: number; value: number | boolean } {
  if (!isAddress(address)) throw new SettingError('INVALID_ADDRESS', `address must be an integer 0–15, got ${JSON.stringify(address)}`);
  const { def, value: v } = validateSetting(name, value);
  let raw: number;
  if (def.kind === 'bit') {
    if (!current || typeof current.switchMask !== 'number') {
      throw new SettingError('NEEDS_CURRENT', `${name} is one bit of the switch word 0x1114: the pack's current settings must be known first (read its settings)`);
    }
    const bit = 1 << def.bit!;
    raw = v ? current.switchMask | bit : current.switchMask & ~bit;
    raw &= 0xffff;
  } else if (def.kind === 'switch') {
    raw = v ? 1 : 0;
  } else {
    raw = Math.round((v as number) / def.scale);
  }
  return { bytes: encodeWrite(address, def.register, def.quantity, raw), def, register: def.register, quantity: def.quantity, raw, value: v };
}

/** Engineering value of a raw register value for a setting. */
export function rawToValue(def: SettingDef, raw: number): number | boolean {
  if (def.kind === 'bit') return ((raw >>> def.bit!) & 1) === 1;
  if (def.kind === 'switch') return raw !== 0;
  const r = def.signed ? raw | 0 : raw >>> 0;
  return Number((r * def.scale).toFixed(decimals(def.step)));
}

/**
 * What a pack does with a write it accepts: the updated settings, or null when the register
 * (or its quantity) is not a writable setting. Range checks are the caller's (a pack answers
 * exception 03 for values it refuses).
 */
export function applyRegisterWrite(settings: SettingsPayload, register: number, quantity: number, raw: number): SettingsPayload | null {
  if (register === SWITCH_WORD) {
    if (quantity !== 1) return null;
    const word = raw & 0xffff;
    return readBits(word, SWITCH_BITS, { ...settings, switchMask: word });
  }
  const def = SETTINGS.find((d) => d.register === register && d.kind !== 'bit');
  if (!def || def.quantity !== quantity) return null;
  return { ...settings, [def.name]: rawToValue(def, raw) };
}

/** Setting definitions written through a register (the switch word maps to all its bits). */
export function settingsForRegister(register: number): SettingDef[] {
  return SETTINGS.filter((d) => d.register === register);
}
