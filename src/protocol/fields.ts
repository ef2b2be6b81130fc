/**
 * Field tables of the three data frames: one source for the decoder and the encoder.
 * Offsets are frame offsets (docs/protocol.md §1.3: frame offset = register offset + 6);
 * multi-byte values are little-endian. value = raw × mul ÷ div (SI units). Fields that need
 * more than a scale (cell arrays, temperatures with presence bits, enums, bit fields, the power
 * sign) are handled in decode.ts / encode.ts and are not listed here.
 *
 * The tables are typed against the payload contract (types.ts): a key that is not a field of
 * the payload, a boolean field without `bool: true` or a number field with it, and a string
 * field read as a number all fail to compile; the decoder then checks that the table and its
 * own code together produce every field of the payload (decode.ts).
 */
import type { DecodedBase, InfoPayload, LivePayload, SettingsPayload, Temperatures } from './types';

export type NumType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32';
export type IntType = Exclude<NumType, 'f32'>;

/** A numeric field: value = raw × mul ÷ div. */
export interface NumField<K extends string = string> {
  key: K;
  off: number;
  t: NumType;
  mul?: number;
  div?: number;
  bool?: false;
}

/** An on/off field: true when the raw integer is not 0. */
export interface BoolField<K extends string = string> {
  key: K;
  off: number;
  t: IntType;
  bool: true;
}

/** ASCII text of `len` bytes, up to the first NUL. */
export interface StrField<K extends string = string> {
  key: K;
  off: number;
  t: 'str';
  len: number;
}

export type Field = NumField | BoolField | StrField;

/** Payload fields (not `type` / `address`) whose value type is V. */
type KeysOf<P, V> = { [K in Exclude<keyof P, keyof DecodedBase>]-?: P[K] extends V ? (K extends string ? K : never) : never }[Exclude<
  keyof P,
  keyof DecodedBase
>];

/** A row of a table for payload P: numbers as NumField, booleans as BoolField, text as StrField. */
export type FieldOf<P> = NumField<KeysOf<P, number>> | BoolField<KeysOf<P, boolean>> | StrField<KeysOf<P, string>>;
export type LiveField = NumField<KeysOf<LivePayload, number>> | BoolField<KeysOf<LivePayload, boolean>>;
export type SettingsField = NumField<KeysOf<SettingsPayload, number>> | BoolField<KeysOf<SettingsPayload, boolean>>;
export type InfoField = FieldOf<InfoPayload>;

/** The object a table decodes to: one property per row, typed by the row's kind. */
export type TableValues<F extends Field> = {
  [R in F as R['key']]: R extends StrField ? string : R extends BoolField ? boolean : number;
};

/** A bit of a packed word, decoded to a boolean field of payload P. */
export interface BitField<K extends string = string> {
  key: K;
  bit: number;
}

export type BitValues<B extends BitField> = { [R in B as R['key']]: boolean };

export const SIZE: Record<NumType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4 };

const mV = { div: 1000 }; // 0.001 → V, A, Ah, Ω, W
const dC = { div: 10 }; // 0.1 °C

/** Frame type 0x02 — docs/protocol.md §3.2. */
export const LIVE_FIELDS = [
  { key: 'cellMask', off: 70, t: 'u32' },
  { key: 'cellAvg', off: 74, t: 'u16', ...mV },
  { key: 'cellDelta', off: 76, t: 'u16', ...mV },
  { key: 'wireResistanceAlarmMask', off: 146, t: 'u32' },
  { key: 'voltage', off: 150, t: 'u32', ...mV },
  { key: 'current', off: 158, t: 'i32', ...mV },
  { key: 'alarmMask', off: 166, t: 'u32' },
  { key: 'balancingCurrent', off: 170, t: 'i16', ...mV },
  { key: 'soc', off: 173, t: 'u8' },
  { key: 'remainingAh', off: 174, t: 'i32', ...mV },
  { key: 'fullChargeAh', off: 178, t: 'u32', ...mV },
  { key: 'cycles', off: 182, t: 'u32' },
  { key: 'cycleAh', off: 186, t: 'u32', ...mV },
  { key: 'soh', off: 190, t: 'u8' },
  { key: 'precharging', off: 191, t: 'u8', bool: true },
  { key: 'userAlarm', off: 192, t: 'u16' },
  { key: 'runtime', off: 194, t: 'u32' },
  { key: 'chargingMos', off: 198, t: 'u8', bool: true },
  { key: 'dischargingMos', off: 199, t: 'u8', bool: true },
  { key: 'userAlarm2', off: 200, t: 'u16' },
  { key: 'dischargeOcpReleaseTime', off: 202, t: 'u16' },
  { key: 'dischargeScpReleaseTime', off: 204, t: 'u16' },
  { key: 'chargeOcpReleaseTime', off: 206, t: 'u16' },
  { key: 'chargeScpReleaseTime', off: 208, t: 'u16' },
  { key: 'cellUvpReleaseTime', off: 210, t: 'u16' },
  { key: 'cellOvpReleaseTime', off: 212, t: 'u16' },
  { key: 'temperatureSensorMask', off: 214, t: 'u8' },
  { key: 'heating', off: 215, t: 'u8', bool: true },
  { key: 'emergencyTime', off: 218, t: 'u16' },
  { key: 'dischargeCurrentCorrection', off: 220, t: 'u16' },
  { key: 'chargeCurrentSensorVoltage', off: 222, t: 'u16', ...mV },
  { key: 'dischargeCurrentSensorVoltage', off: 224, t: 'u16', ...mV },
  { key: 'voltageCorrection', off: 226, t: 'f32' },
  { key: 'balancerChargePwm', off: 230, t: 'u16' },
  { key: 'balancerDischargePwm', off: 232, t: 'u16' },
  { key: 'voltageLowRes', off: 234, t: 'u16', div: 100 },
  { key: 'heatingCurrent', off: 236, t: 'i16', ...mV },
  { key: 'chargerPlugged', off: 245, t: 'u8', bool: true },
  { key: 'systemUptime', off: 246, t: 'u32', div: 10 },
  { key: 'pvdTime', off: 250, t: 'u32', div: 10 },
  { key: 'rtcTime', off: 262, t: 'u32' },
  { key: 'logCount', off: 266, t: 'u32' },
  { key: 'sleepCountdown', off: 270, t: 'u32' },
  { key: 'pclActive', off: 274, t: 'u8', bool: true },
  { key: 'chemistryCode', off: 275, t: 'u8' },
  { key: 'chargeStageTime', off: 278, t: 'u16' },
] as const satisfies readonly LiveField[];

/** Live-frame offsets handled in code. */
export const LIVE = {
  cells: 6, // 32 × u16, 0.001 V
  resistances: 80, // 32 × u16, 0.001 Ω
  maxIndex: 78, // u8, 0-based
  minIndex: 79,
  power: 154, // u32 0.001 W, magnitude
  balancing: 172, // u8 enum
  chargeStage: 280, // u8 enum
  dryContacts: 281, // bits 1, 2
  /**
   * fw 19 reports an unplugged sensor as −200.0 °C (raw −2000) with its presence bit still set;
   * decoded as null like an absent sensor.
   */
  unpluggedRaw: -2000,
  /** Each temperature sensor: its i16 (0.1 °C) and its presence bit in byte 214 (docs/protocol.md §3.4). */
  temperatures: {
    mos: { off: 144, bit: 0 },
    t1: { off: 162, bit: 1 },
    t2: { off: 164, bit: 2 },
    t3: { off: 254, bit: 3 },
    t4: { off: 256, bit: 4 },
    t5: { off: 258, bit: 5 },
  } as const satisfies { readonly [K in keyof Temperatures]: { readonly off: number; readonly bit: number } },
};

/** Frame type 0x01 — docs/protocol.md §4.1. */
export const SETTINGS_FIELDS = [
  { key: 'smartSleepVoltage', off: 6, t: 'u32', ...mV },
  { key: 'cellUvp', off: 10, t: 'u32', ...mV },
  { key: 'cellUvpRecovery', off: 14, t: 'u32', ...mV },
  { key: 'cellOvp', off: 18, t: 'u32', ...mV },
  { key: 'cellOvpRecovery', off: 22, t: 'u32', ...mV },
  { key: 'balanceTriggerVoltage', off: 26, t: 'u32', ...mV },
  { key: 'cellSoc100Voltage', off: 30, t: 'u32', ...mV },
  { key: 'cellSoc0Voltage', off: 34, t: 'u32', ...mV },
  { key: 'cellRequestChargeVoltage', off: 38, t: 'u32', ...mV },
  { key: 'cellRequestFloatVoltage', off: 42, t: 'u32', ...mV },
  { key: 'powerOffVoltage', off: 46, t: 'u32', ...mV },
  { key: 'maxChargeCurrent', off: 50, t: 'u32', ...mV },
  { key: 'chargeOcpDelay', off: 54, t: 'u32' },
  { key: 'chargeOcpRecoveryTime', off: 58, t: 'u32' },
  { key: 'maxDischargeCurrent', off: 62, t: 'u32', ...mV },
  { key: 'dischargeOcpDelay', off: 66, t: 'u32' },
  { key: 'dischargeOcpRecoveryTime', off: 70, t: 'u32' },
  { key: 'scpRecoveryTime', off: 74, t: 'u32' },
  { key: 'maxBalanceCurrent', off: 78, t: 'u32', ...mV },
  { key: 'chargeOtp', off: 82, t: 'i32', ...dC },
  { key: 'chargeOtpRecovery', off: 86, t: 'i32', ...dC },
  { key: 'dischargeOtp', off: 90, t: 'i32', ...dC },
  { key: 'dischargeOtpRecovery', off: 94, t: 'i32', ...dC },
  { key: 'chargeUtp', off: 98, t: 'i32', ...dC },
  { key: 'chargeUtpRecovery', off: 102, t: 'i32', ...dC },
  { key: 'mosOtp', off: 106, t: 'i32', ...dC },
  { key: 'mosOtpRecovery', off: 110, t: 'i32', ...dC },
  { key: 'cellCount', off: 114, t: 'u32' },
  { key: 'chargingEnabled', off: 118, t: 'u32', bool: true },
  { key: 'dischargingEnabled', off: 122, t: 'u32', bool: true },
  { key: 'balancingEnabled', off: 126, t: 'u32', bool: true },
  { key: 'nominalCapacityAh', off: 130, t: 'u32', ...mV },
  { key: 'scpDelay', off: 134, t: 'u32', div: 1_000_000 },
  { key: 'balanceStartVoltage', off: 138, t: 'u32', ...mV },
  { key: 'deviceAddress', off: 270, t: 'u32' },
  { key: 'prechargeTime', off: 274, t: 'u32' },
  { key: 'switchMask', off: 282, t: 'u16' },
  { key: 'heatingStartTemperature', off: 284, t: 'i8' },
  { key: 'heatingStopTemperature', off: 285, t: 'i8' },
  { key: 'smartSleepDelay', off: 286, t: 'u8', mul: 3600 },
  { key: 'dataFieldEnable0', off: 287, t: 'u8' },
  { key: 'dischargeUtp', off: 296, t: 'i8' },
  { key: 'dischargeUtpRecovery', off: 297, t: 'i8' },
] as const satisfies readonly SettingsField[];

/** Settings offsets handled in code. */
export const SETTINGS = {
  wireResistances: 142, // 32 × u32, 0.001 Ω
};

/** Bits of the switch word 0x1114 (settings bytes 282–283, docs/protocol.md §4.2). */
export const SWITCH_BITS = [
  { key: 'heatingEnabled', bit: 0 },
  { key: 'disableTemperatureSensors', bit: 1 },
  { key: 'gpsHeartbeat', bit: 2 },
  { key: 'portRs485', bit: 3 },
  { key: 'displayAlwaysOn', bit: 4 },
  { key: 'specialCharger', bit: 5 },
  { key: 'smartSleep', bit: 6 },
  { key: 'disablePclModule', bit: 7 },
  { key: 'timedStoredData', bit: 8 },
  { key: 'chargingFloatMode', bit: 9 },
  { key: 'emergencyButton', bit: 10 },
  { key: 'dryContactIntermittent', bit: 11 },
  { key: 'dischargeOcp2', bit: 12 },
  { key: 'dischargeOcp3', bit: 13 },
  { key: 'gpsLockedCharging', bit: 14 },
  { key: 'gpsLockedDischarging', bit: 15 },
] as const satisfies readonly BitField<KeysOf<SettingsPayload, boolean>>[];

/** Frame type 0x03 — docs/protocol.md §5.1. */
export const INFO_FIELDS = [
  { key: 'vendorId', off: 6, t: 'str', len: 16 },
  { key: 'hardwareVersion', off: 22, t: 'str', len: 8 },
  { key: 'softwareVersion', off: 30, t: 'str', len: 8 },
  { key: 'uptime', off: 38, t: 'u32' },
  { key: 'powerOnCount', off: 42, t: 'u32' },
  { key: 'deviceName', off: 46, t: 'str', len: 16 },
  { key: 'devicePasscode', off: 62, t: 'str', len: 16 },
  { key: 'manufacturingDate', off: 78, t: 'str', len: 8 },
  // 11 bytes in older decoders, up to 16 on fw 19 (overlapping the legacy passcode at 97).
  { key: 'serialNumber', off: 86, t: 'str', len: 16 },
  { key: 'userData', off: 102, t: 'str', len: 16 },
  { key: 'setupPasscode', off: 118, t: 'str', len: 16 },
  { key: 'userData2', off: 134, t: 'str', len: 16 },
  { key: 'uart1Protocol', off: 184, t: 'u8' },
  { key: 'canProtocol', off: 185, t: 'u8' },
  { key: 'uart1ProtocolEnable', off: 186, t: 'u32' },
  { key: 'hardwareOption', off: 190, t: 'str', len: 12 },
  { key: 'canProtocolEnable', off: 202, t: 'u32' },
  { key: 'uart2Protocol', off: 218, t: 'u8' },
  { key: 'uart2ProtocolEnable', off: 219, t: 'u8' },
  { key: 'lcdBuzzerTrigger', off: 234, t: 'u8' },
  { key: 'dry1Trigger', off: 235, t: 'u8' },
  { key: 'dry2Trigger', off: 236, t: 'u8' },
  { key: 'uartProtocolLibraryVersion', off: 237, t: 'u8' },
  { key: 'lcdBuzzerTriggerValue', off: 238, t: 'i32' },
  { key: 'lcdBuzzerReleaseValue', off: 242, t: 'i32' },
  { key: 'dry1TriggerValue', off: 246, t: 'i32' },
  { key: 'dry1ReleaseValue', off: 250, t: 'i32' },
  { key: 'dry2TriggerValue', off: 254, t: 'i32' },
  { key: 'dry2ReleaseValue', off: 258, t: 'i32' },
  { key: 'dataStoredPeriod', off: 262, t: 'i32' },
  { key: 'rcvTime', off: 266, t: 'u8', mul: 360 }, // 0.1 h → s
  { key: 'rfvTime', off: 267, t: 'u8', mul: 360 },
  { key: 'canProtocolLibraryVersion', off: 268, t: 'u8' },
  { key: 'emergencyDurationRaw', off: 269, t: 'u8' },
  { key: 'uart3Protocol', off: 270, t: 'u8' },
  { key: 'reBulkSoc', off: 278, t: 'u8' },
] as const satisfies readonly InfoField[];

export function readRaw(b: Uint8Array, off: number, t: NumType): number {
  switch (t) {
    case 'u8':
      return b[off]!;
    case 'i8':
      return (b[off]! << 24) >> 24;
    case 'u16':
      return b[off]! | (b[off + 1]! << 8);
    case 'i16':
      return ((b[off]! | (b[off + 1]! << 8)) << 16) >> 16;
    case 'u32':
      return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
    case 'i32':
      return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24);
    case 'f32':
      return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat32(off, true);
  }
}

const LIMITS: Record<Exclude<NumType, 'f32'>, [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Writes a raw integer (clamped to the type's range; never throws). */
export function writeRaw(b: Uint8Array, off: number, t: NumType, raw: number): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (t === 'f32') {
    v.setFloat32(off, Number.isFinite(raw) ? raw : 0, true);
    return;
  }
  const [lo, hi] = LIMITS[t];
  const x = Number.isFinite(raw) ? Math.min(hi, Math.max(lo, Math.round(raw))) : 0;
  switch (t) {
    case 'u8':
      v.setUint8(off, x);
      break;
    case 'i8':
      v.setInt8(off, x);
      break;
    case 'u16':
      v.setUint16(off, x, true);
      break;
    case 'i16':
      v.setInt16(off, x, true);
      break;
    case 'u32':
      v.setUint32(off, x, true);
      break;
    case 'i32':
      v.setInt32(off, x, true);
      break;
  }
}

export function writeFieldValue(f: NumField | BoolField, b: Uint8Array, value: number | boolean): void {
  if (typeof value === 'boolean') {
    writeRaw(b, f.off, f.t, value ? 1 : 0);
    return;
  }
  if (typeof value !== 'number') return;
  writeRaw(b, f.off, f.t, f.bool || f.t === 'f32' ? value : (value * (f.div ?? 1)) / (f.mul ?? 1));
}

/** A row in one fixed shape (every property present), so the decoding loop stays monomorphic. */
interface Row {
  key: string;
  off: number;
  t: NumType | 'str';
  mul: number;
  div: number;
  bool: boolean;
  len: number;
}

/** A field table prepared for decoding (once, at module load). */
export class TableReader<F extends Field> {
  private readonly rows: readonly Row[];

  constructor(fields: readonly F[]) {
    this.rows = fields.map(
      (f): Row =>
        f.t === 'str'
          ? { key: f.key, off: f.off, t: f.t, mul: 1, div: 1, bool: false, len: f.len }
          : { key: f.key, off: f.off, t: f.t, mul: f.bool ? 1 : (f.mul ?? 1), div: f.bool ? 1 : (f.div ?? 1), bool: f.bool === true, len: 0 },
    );
  }

  /**
   * Decode every row from `b` onto `head`, which is returned: the payload keeps its property
   * order (head first, then the rows in table order). Numbers are raw × mul ÷ div, f32 rounded
   * to 9 significant digits (an exact round trip through writeFieldValue), on/off fields raw ≠ 0.
   */
  read<H extends Record<string, unknown>>(b: Uint8Array, head: H): H & TableValues<F> {
    const o: Record<string, unknown> = head;
    for (const r of this.rows) {
      if (r.t === 'str') {
        o[r.key] = readString(b, r.off, r.len);
      } else {
        const raw = readRaw(b, r.off, r.t);
        o[r.key] = r.bool ? raw !== 0 : r.t === 'f32' ? Number(raw.toPrecision(9)) : (raw * r.mul) / r.div;
      }
    }
    return head as H & TableValues<F>;
  }
}

/** Set one boolean property per bit of `word` on `target` (returned). */
export function readBits<T extends Record<string, unknown>, B extends BitField>(word: number, bits: readonly B[], target: T): T & BitValues<B> {
  const o: Record<string, unknown> = target;
  for (const s of bits) o[s.key] = ((word >>> s.bit) & 1) === 1;
  return target as T & BitValues<B>;
}

/** ASCII up to the first NUL; non-printable bytes dropped, trailing spaces trimmed. */
export function readString(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len && i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) break;
    if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
  }
  return s.trimEnd();
}

/** Writes ASCII and one NUL terminator if there is room; bytes after the terminator are left as they are. */
export function writeString(b: Uint8Array, off: number, len: number, s: string): void {
  const n = Math.min(s.length, len);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    b[off + i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  if (n < len) b[off + n] = 0;
}
